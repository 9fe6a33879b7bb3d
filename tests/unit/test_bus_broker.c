/* test_bus_broker.c: what the bus broker's start says when it cannot
 * start (core/bus/ts_bus_broker.c), on Linux: a broker program that is
 * not installed, a bus port a running server's broker serves, a broker
 * that exits at once.
 *
 * Whole sentences (issue 16): spoken in the made-up language "xx"
 * (tests/i18n/pseudo.sh: every message the code marks, in capitals), a
 * message shows no word of ours in small letters; only what it quotes
 * (paths, names, ports, what ts_proc is given as the child's name and
 * the server's) keeps them. The log's English stays. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "pseudo_lang.h"
#include "ts_bus.h"
#include "ts_file.h"
#include "tsp.h"

static apr_pool_t *pool;
static char root[] = "/tmp/tessera-bus-broker-XXXXXX";
static const char *logdir;
static ts_log_t *log_;

static void
setup(void)
{
  apr_initialize();
  apr_pool_create(&pool, NULL);
  cr_assert_not_null(mkdtemp(root));
  chmod(root, 0711);   /* a broker run as another account reaches in */
  logdir = apr_pstrcat(pool, root, "/bus.17901", NULL);
  cr_assert_null(ts_log_open(&log_, apr_pstrcat(pool, root, "/server.log",
                                                NULL), 0, 0, pool));
}

static void
teardown(void)
{
  cr_assert_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(bus_broker, .init = setup, .fini = teardown, .timeout = 60);

/* TEXT contains WANT and no word of ours in small letters besides VALUES
 * (NULL-terminated). */
static void
whole(const char *text, const char *want, const char *const *values)
{
  const char *leak = pseudo_lang_leak(text, values, pool);

  cr_assert(strstr(text, want), "'%s' is not in: %s", want, text);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
}

Test(bus_broker, a_broker_that_is_not_installed_is_told_in_whole_sentences)
{
  const char *path = NULL;
  ts_error_t *err;

  pseudo_lang_speak(pool);
  err = ts_bus_find_program(&path, "no-such-broker", 17901, pool);
  cr_assert_not_null(err);
  whole(ts_error_message(err, pool), "THE BUS BROKER 'no-such-broker' (FOR "
        "PORT 17901) IS NOT INSTALLED: NOT FOUND ON PATH, NOR IN /usr/sbin, "
        "/usr/local/sbin, /sbin; INSTALL IT", (const char *const[]){
        "'no-such-broker'", "/usr/sbin", "/usr/local/sbin", "/sbin",
        NULL });
  cr_assert(strstr(ts_error_text(err, pool), "is not installed: not found "
                   "on PATH, nor in /usr/sbin"), "%s",
            ts_error_text(err, pool));
  ts_error_clear(err);
}

/* A "broker" that is this process's child, as a running server's is:
 * /bin/sh waiting in its built-in read, its command line naming the
 * broker's configuration; the pid file names this process as the
 * license server that started it. */
Test(bus_broker, the_bus_port_of_a_running_server_is_told_in_whole_sentences)
{
  const char *conf = ts_path_join(logdir, "mosquitto.conf", pool);
  const char *const argv[] = { "/bin/sh", "-c", "read line", "sh", conf,
                               NULL };
  const char *owner = "the license server on port 17900", *pidfile, *text;
  apr_procattr_t *attr;
  apr_proc_t broker;
  long stale = 0;
  ts_error_t *err;

  pseudo_lang_speak(pool);
  cr_assert_null(ts_dir_make(logdir, TS_FPROT_DIR, pool));
  cr_assert_eq(apr_procattr_create(&attr, pool), APR_SUCCESS);
  cr_assert_eq(apr_procattr_io_set(attr, APR_FULL_BLOCK, APR_NO_PIPE,
                                   APR_NO_PIPE), APR_SUCCESS);
  cr_assert_eq(apr_proc_create(&broker, argv[0], argv, NULL, attr, pool),
               APR_SUCCESS);
  pidfile = apr_psprintf(pool, "%ld\n%ld %s\n", (long)broker.pid,
                         (long)getpid(), owner);
  cr_assert_null(ts_file_replace(ts_path_join(logdir, "mosquitto.pid",
                                              pool), pidfile,
                                 strlen(pidfile), TS_FPROT_FILE, pool));
  /* until it runs /bin/sh, the child is a copy of this test */
  for (int i = 0; i < 500; i++) {
    err = ts_bus_broker_judge_port(&stale, NULL, "/bin/sh", logdir,
                                   "127.0.0.1", 17901, log_, pool);
    if (err)
      break;
    apr_sleep(apr_time_from_msec(10));
  }
  apr_proc_kill(&broker, 9);
  apr_proc_wait(&broker, NULL, NULL, APR_WAIT);
  cr_assert_not_null(err, "the broker of a running server was not seen");
  text = ts_error_message(err, pool);
  whole(text, "THE BUS PORT 17901 (P+1) ON 127.0.0.1 IS SERVED ALREADY: ",
        (const char *const[]){ "127.0.0.1", "the bus broker on port 17901",
        "/bin/sh", owner, NULL });
  cr_assert(strstr(text, "; STOP THAT SERVER FIRST"), "%s", text);
  cr_assert(strstr(ts_error_text(err, pool), "is served already: the bus "
                   "broker on port 17901 (pid "), "%s",
            ts_error_text(err, pool));
  ts_error_clear(err);
}

/* ready means accepting connections, said whole on the bus's side */
Test(bus_broker, a_broker_that_exits_at_once_is_told_in_whole_sentences)
{
  ts_bus_login_t login = { TS_BUS_SERVER_USER, "secret" };
  ts_bus_broker_options_t o = { 0 };
  const char *log = ts_path_join(logdir, "mosquitto.log", pool), *text;
  ts_bus_broker_t *broker = NULL;
  ts_error_t *err;

  pseudo_lang_speak(pool);
  o.program = "/bin/false";
  o.port = 17901;
  o.logdir = logdir;
  o.server = &login;
  o.owner = "the license server on port 17900";
  err = ts_bus_broker_start(&broker, &o, log_, pool);
  cr_assert_not_null(err, "/bin/false served as a broker");
  text = ts_error_message(err, pool);
  whole(text, "NO BUS BROKER ACCEPTS CONNECTIONS ON 127.0.0.1 PORT 17901 "
        "(P+1): the bus broker on port 17901 (/bin/false) EXITED WITH "
        "STATUS 1 AT ONCE: SEE ", (const char *const[]){ "127.0.0.1",
        "the bus broker on port 17901", "/bin/false", log, NULL });
  cr_assert(strstr(ts_error_text(err, pool), "no bus broker accepts "
                   "connections on 127.0.0.1 port 17901 (p+1): the bus "
                   "broker on port 17901 (/bin/false) exited with status 1 "
                   "at once: see "), "%s", ts_error_text(err, pool));
  ts_error_clear(err);
}
