/* test_proc.c: supervised children (core/proc), with proc_child as the
 * child: a child that keeps ending, or that exits at once each time it is
 * started again, is started again after pauses that double up to the
 * maximum, and every end is logged with its exit status and the last
 * lines of its log (quoted, bounded); a child that lasted starts over at
 * the first pause; a child that exits at once or is never ready is an
 * error naming it and quoting its log, and nothing is left running; stop
 * ends the child and removes its pid file; a child whose server has ended
 * is stopped, while the child of a server that still runs is not (an
 * error names that server), and a fake pid in the pid file (a process
 * that only names the child's files), a pid file other accounts may write
 * and one that is a symbolic link signal nothing (Linux). The restart
 * policy's times are scaled down so the suite runs in seconds. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "ts_file.h"
#include "ts_log.h"
#include "ts_proc.h"
#include "tsp.h"

static apr_pool_t *pool;
static const char *dir;
static ts_log_t *log_;

static void
setup(void)
{
  const char *tmp;
  unsigned char r[4];

  apr_initialize();
  apr_pool_create(&pool, NULL);
  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  cr_assert_eq(apr_generate_random_bytes(r, sizeof(r)), APR_SUCCESS);
  dir = apr_psprintf(pool, "%s/tessera-test-proc-%02x%02x%02x%02x", tmp,
                     r[0], r[1], r[2], r[3]);
  cr_assert_eq(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool),
               APR_SUCCESS);
  cr_assert_null(ts_log_open(&log_, ts_path_join(dir, "server.log", pool), 0,
                             0, pool));
}

/* DIR and the files in it. */
static void
remove_dir(const char *path)
{
  apr_dir_t *d;
  apr_finfo_t fi;

  if (apr_dir_open(&d, path, pool) != APR_SUCCESS)
    return;
  while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
         == APR_SUCCESS)
    if (fi.filetype == APR_REG)
      apr_file_remove(ts_path_join(path, fi.name, pool), pool);
  apr_dir_close(d);
  apr_dir_remove(path, pool);
}

static void
teardown(void)
{
  remove_dir(dir);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(proc, .init = setup, .fini = teardown, .timeout = 30);

/* proc_child with ARGS (up to four). */
static ts_proc_spec_t
spec_for4(const char *a1, const char *a2, const char *a3, const char *a4)
{
  ts_proc_spec_t spec = { 0 };
  const char **argv = apr_pcalloc(pool, 6 * sizeof(*argv));

  argv[0] = PROC_CHILD;
  argv[1] = a1;
  argv[2] = a2;
  argv[3] = a3;
  argv[4] = a4;
  spec.name = "the test child";
  spec.argv = argv;
  spec.logfile = ts_path_join(dir, "child.log", pool);
  spec.pidfile = ts_path_join(dir, "child.pid", pool);
  return spec;
}

static ts_proc_spec_t
spec_for(const char *a1, const char *a2, const char *a3)
{
  return spec_for4(a1, a2, a3, NULL);
}

/* The server log's lines that contain NEEDLE, once there are N of them
 * (or after 10 s). */
static apr_array_header_t *
await_lines(const char *needle, int n)
{
  apr_array_header_t *lines = NULL;

  for (int tries = 0; tries < 200; tries++) {
    const char *text;
    apr_size_t len;
    char *copy, *save = NULL;
    ts_error_t *err = ts_file_read_all(&text, &len,
                                       ts_path_join(dir, "server.log", pool),
                                       pool);
    cr_assert_null(err);
    lines = apr_array_make(pool, 8, sizeof(const char *));
    copy = apr_pstrdup(pool, text);
    for (char *l = apr_strtok(copy, "\n", &save); l;
         l = apr_strtok(NULL, "\n", &save))
      if (strstr(l, needle))
        APR_ARRAY_PUSH(lines, const char *) = l;
    if (lines->nelts >= n)
      break;
    apr_sleep(apr_time_from_msec(50));
  }
  return lines;
}

static int
never_ready(void *baton, apr_pool_t *scratch_pool)
{
  (void)baton;
  (void)scratch_pool;
  return 0;
}

static int
ready_on_third_call(void *baton, apr_pool_t *scratch_pool)
{
  int *calls = baton;
  (void)scratch_pool;
  return ++*calls >= 3;
}

static long
pid_in_file(const char *path)
{
  const char *text;
  apr_size_t len;
  ts_error_t *err = ts_file_read_all(&text, &len, path, pool);

  if (err) {
    ts_error_clear(err);
    return 0;
  }
  return atol(text);
}

Test(proc, a_child_that_keeps_ending_waits_longer_each_time)
{
  ts_proc_spec_t spec = spec_for("sleep", "200", "3");
  static const char *const want[] = { "100 ms", "200 ms", "400 ms",
                                      "400 ms", "400 ms" };
  apr_array_header_t *lines;
  ts_proc_t *proc;

  spec.restart.first = apr_time_from_msec(100);
  spec.restart.max = apr_time_from_msec(400);
  spec.restart.stable = apr_time_from_sec(10);
  cr_assert_null(ts_proc_start(&proc, &spec, log_, pool));
  lines = await_lines("starting it again in", 5);
  ts_proc_stop(proc);
  cr_assert_geq(lines->nelts, 5, "only %d restarts logged", lines->nelts);
  for (int i = 0; i < 5; i++) {
    const char *l = APR_ARRAY_IDX(lines, i, const char *);
    cr_assert(strstr(l, "the test child (pid "), "%s", l);
    cr_assert(strstr(l, "exited with status 3 after"), "%s", l);
    cr_assert(strstr(l, apr_pstrcat(pool, "again in ", want[i], NULL)),
              "restart %d: want a pause of %s: %s", i + 1, want[i], l);
  }
}

/* A child that ran once and then exits at once whenever it is started
 * again: the pause doubles all the same (whether the end is seen while
 * the restart waits for it to be ready or after), and each line says why,
 * in the child's own words from its log. */
Test(proc, a_child_that_exits_at_once_waits_longer_each_time)
{
  ts_proc_spec_t spec = spec_for4("first", ts_path_join(dir, "ran", pool),
                                  "300", "3");
  static const char *const want[] = { "100 ms", "200 ms", "400 ms",
                                      "800 ms" };
  apr_array_header_t *lines;
  ts_proc_t *proc;

  spec.restart.first = apr_time_from_msec(100);
  spec.restart.max = apr_time_from_sec(1);
  spec.restart.stable = apr_time_from_sec(10);
  cr_assert_null(ts_proc_start(&proc, &spec, log_, pool));
  lines = await_lines("starting it again in", 4);
  ts_proc_stop(proc);
  cr_assert_geq(lines->nelts, 4, "only %d restarts logged", lines->nelts);
  for (int i = 0; i < 4; i++) {
    const char *l = APR_ARRAY_IDX(lines, i, const char *);
    cr_assert(strstr(l, "exited with status 3"), "%s", l);
    cr_assert(strstr(l, apr_pstrcat(pool, "again in ", want[i], NULL)),
              "restart %d: want a pause of %s: %s", i + 1, want[i], l);
    cr_assert(strstr(l, "child.log, which ends: proc_child: "), "%s", l);
    /* the log of this start, not of the one before */
    if (i == 0)
      cr_assert(strstr(l, "ends: proc_child: sleep 300 ms, then exit 3;"),
                "%s", l);
    else
      cr_assert(strstr(l, "ends: proc_child: exit 3 at once;"), "%s", l);
  }
}

/* What a child wrote is outside text: the last three lines that are not
 * empty, control characters escaped, a long line cut. */
Test(proc, the_reason_from_the_log_is_quoted_and_bounded)
{
  ts_proc_spec_t spec = spec_for("noisy", "100", "5");
  apr_array_header_t *lines;
  const char *l;
  ts_proc_t *proc;

  spec.restart.first = apr_time_from_msec(100);
  cr_assert_null(ts_proc_start(&proc, &spec, log_, pool));
  lines = await_lines("starting it again in", 1);
  ts_proc_stop(proc);
  cr_assert_geq(lines->nelts, 1);
  l = APR_ARRAY_IDX(lines, 0, const char *);
  cr_assert(strstr(l, "exited with status 5 after"), "%s", l);
  cr_assert(strstr(l, "which ends: \\x1b[31mred\\x1b[0m | xxxx"), "%s", l);
  cr_assert(strstr(l, "x\xe2\x80\xa6(300 bytes) | proc_child: sleep 100 ms, "
                   "then exit 5; starting it again in 100 ms"), "%s", l);
  cr_assert_null(strstr(l, "noise"), "more than three lines: %s", l);
  cr_assert_null(strchr(l, '\x1b'), "an escape reached the log: %s", l);
  {
    char run[162];   /* 161 x: the long line was not cut at 160 bytes */
    memset(run, 'x', 161);
    run[161] = '\0';
    cr_assert_null(strstr(l, run), "a line longer than 160 bytes: %s", l);
  }
}

Test(proc, a_child_that_lasted_starts_over_at_the_first_pause)
{
  ts_proc_spec_t spec = spec_for("sleep", "400", "0");
  apr_array_header_t *lines;
  ts_proc_t *proc;

  spec.restart.first = apr_time_from_msec(100);
  spec.restart.max = apr_time_from_sec(1);
  spec.restart.stable = apr_time_from_msec(300);
  cr_assert_null(ts_proc_start(&proc, &spec, log_, pool));
  lines = await_lines("starting it again in", 3);
  ts_proc_stop(proc);
  cr_assert_geq(lines->nelts, 3);
  for (int i = 0; i < 3; i++) {
    const char *l = APR_ARRAY_IDX(lines, i, const char *);
    cr_assert(strstr(l, "exited with status 0 after"), "%s", l);
    cr_assert(strstr(l, "again in 100 ms"), "%s", l);
  }
  cr_assert_geq(await_lines("the test child runs again (pid", 2)->nelts, 2);
}

Test(proc, a_child_that_exits_at_once_is_an_error_with_its_status)
{
  ts_proc_spec_t spec = spec_for("exit", "7", NULL);
  ts_proc_t *proc = NULL;
  ts_error_t *err;
  const char *text;

  spec.ready = never_ready;
  spec.ready_what = "listening on port 1";
  err = ts_proc_start(&proc, &spec, log_, pool);
  cr_assert_not_null(err);
  text = ts_error_text(err, pool);
  cr_assert_eq(ts_error_code(err), TS_EUNAVAIL);
  cr_assert(strstr(text, "the test child (" PROC_CHILD ") exited with "
                   "status 7 at once instead of listening on port 1: see "),
            "%s", text);
  cr_assert(strstr(text, "child.log, which ends: proc_child: exit 7"), "%s",
            text);
  cr_assert_null(proc);
  ts_error_clear(err);
}

Test(proc, a_child_never_ready_is_stopped_and_an_error)
{
  ts_proc_spec_t spec = spec_for("sleep", "20000", "0");
  ts_proc_t *proc = NULL;
  apr_time_t began = apr_time_now();
  ts_error_t *err;
  const char *text;
  long pid;

  spec.ready = never_ready;
  spec.ready_what = "ready";
  spec.ready_wait = apr_time_from_msec(300);
  err = ts_proc_start(&proc, &spec, log_, pool);
  cr_assert_not_null(err);
  text = ts_error_text(err, pool);
  cr_assert(strstr(text, "the test child (" PROC_CHILD ") was not ready "
                   "within 300 ms, so it was stopped"), "%s", text);
  cr_assert_lt(apr_time_now() - began, apr_time_from_sec(6));
  pid = pid_in_file(spec.pidfile);
  cr_assert_gt(pid, 0);
  cr_assert_not(tsp_process_runs_with(pid, PROC_CHILD, NULL),
                "the child (pid %ld) still runs", pid);
  ts_error_clear(err);
}

Test(proc, stop_ends_the_child_and_removes_its_pid_file)
{
  ts_proc_spec_t spec = spec_for("sleep", "20000", "0");
  ts_proc_t *proc;
  int calls = 0;
  long pid;

  spec.ready = ready_on_third_call;
  spec.ready_baton = &calls;
  cr_assert_null(ts_proc_start(&proc, &spec, log_, pool));
  cr_assert_eq(calls, 3, "ready after %d probes", calls);
  pid = pid_in_file(spec.pidfile);
  cr_assert_eq(pid, ts_proc_pid(proc));
  ts_proc_stop(proc);
  cr_assert_eq(pid_in_file(spec.pidfile), 0, "the pid file is left");
  cr_assert_not(tsp_process_runs_with(pid, PROC_CHILD, NULL),
                "the child (pid %ld) still runs", pid);
}

#ifndef _WIN32
/* ---- a child an earlier run left behind --------------------------------
 * Linux only: on Windows a child cannot outlive the server (its job
 * object), and ts_proc_stop_stale does nothing there. */
#include <stdio.h>
#include <unistd.h>

/* ARGV as a process of the test's own, not started through ts_proc: as
 * an earlier run's child, or a stranger, would be. */
static apr_proc_t
start_process(const char *const *argv)
{
  apr_procattr_t *attr;
  apr_proc_t p;

  cr_assert_eq(apr_procattr_create(&attr, pool), APR_SUCCESS);
  cr_assert_eq(apr_procattr_cmdtype_set(attr, APR_PROGRAM), APR_SUCCESS);
  /* its stdin a pipe the test holds: `read` in a shell waits on it */
  cr_assert_eq(apr_procattr_io_set(attr, APR_FULL_BLOCK, APR_NO_PIPE,
                                   APR_NO_PIPE), APR_SUCCESS);
  cr_assert_eq(apr_proc_create(&p, argv[0], argv, NULL, attr, pool),
               APR_SUCCESS, "cannot start %s", argv[0]);
  return p;
}

/* Wait until process PID's command line holds NEEDLE: it runs its
 * program (until then it is a copy of the test, as fork made it). */
static void
await_exec(long pid, const char *needle)
{
  for (int i = 0; i < 500; i++) {
    char path[64], buf[4096];
    FILE *f;
    size_t n = 0;

    snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
    if ((f = fopen(path, "r"))) {
      n = fread(buf, 1, sizeof(buf) - 1, f);
      fclose(f);
    }
    for (size_t k = 0; k < n; k++)
      if (buf[k] == '\0')
        buf[k] = ' ';
    buf[n] = '\0';
    if (strstr(buf, needle))
      return;
    apr_sleep(apr_time_from_msec(10));
  }
  cr_assert_fail("pid %ld never ran with '%s' on its command line", pid,
                 needle);
}

/* Whether P has ended (reaped then): a signal ended it, as nothing else
 * would within the test. */
static int
has_ended(apr_proc_t *p)
{
  int code;
  apr_exit_why_e why;

  return apr_proc_wait(p, &code, &why, APR_NOWAIT) == APR_CHILD_DONE;
}

static void
end_process(apr_proc_t *p)
{
  int code;
  apr_exit_why_e why;

  apr_proc_kill(p, 9);
  apr_proc_wait(p, &code, &why, APR_WAIT);
}

static void
write_pid(const char *path, long pid, apr_fileperms_t perms)
{
  const char *text = apr_psprintf(pool, "%ld\n", pid);

  apr_file_remove(path, pool);
  cr_assert_null(ts_file_replace(path, text, strlen(text), perms, pool));
  cr_assert_eq(apr_file_perms_set(path, perms), APR_SUCCESS);
}

Test(proc, a_fake_pid_in_the_pid_file_signals_no_other_program)
{
  ts_proc_spec_t spec = spec_for("sleep", "20000", "0");
  const char *conf = ts_path_join(dir, "broker.conf", pool);
  /* a stranger that names the child's file on its command line (one
   * process: the shell waits in its built-in read) */
  apr_proc_t decoy = start_process((const char *const[]){ "/bin/sh", "-c",
                                   "read line", "sh", conf, NULL });

  spec.stale_match = conf;
  await_exec((long)decoy.pid, conf);
  write_pid(spec.pidfile, (long)decoy.pid, TS_FPROT_FILE);
  cr_assert_null(ts_proc_stop_stale(&spec, log_, pool));
  cr_assert_not(has_ended(&decoy), "pid %ld (/bin/sh, not %s) was "
                "signalled because its command line names %s",
                (long)decoy.pid, PROC_CHILD, conf);
  end_process(&decoy);
}

Test(proc, a_pid_file_others_could_have_written_is_not_believed)
{
  ts_proc_spec_t spec = spec_for("sleep", "20000", "0");
  apr_proc_t left = start_process((const char *const[]){ PROC_CHILD,
                                  "sleep", "20000", "0", NULL });
  const char *elsewhere = ts_path_join(dir, "elsewhere.pid", pool);

  spec.stale_match = "sleep 20000";
  await_exec((long)left.pid, spec.stale_match);
  /* writable by every account: anyone could have put the pid there */
  write_pid(spec.pidfile, (long)left.pid, TS_FPROT_FILE | APR_FPROT_WWRITE
            | APR_FPROT_GWRITE);
  cr_assert_null(ts_proc_stop_stale(&spec, log_, pool));
  cr_assert_not(has_ended(&left), "a pid file others may write was "
                "believed");
  cr_assert_geq(await_lines("other accounts may write it", 1)->nelts, 1);

  /* a symbolic link to a file of ours: not followed */
  write_pid(elsewhere, (long)left.pid, TS_FPROT_FILE);
  apr_file_remove(spec.pidfile, pool);
  cr_assert_eq(symlink(elsewhere, spec.pidfile), 0);
  cr_assert_null(ts_proc_stop_stale(&spec, log_, pool));
  cr_assert_not(has_ended(&left), "a pid file that is a link was "
                "followed");
  cr_assert_geq(await_lines("is a symbolic link", 1)->nelts, 1);
  end_process(&left);
}

/* A server that starts ARGV and ends at once, as a killed server would,
 * leaving the child behind: its pid (an orphan now) in *CHILD, the
 * server's in *SERVER. */
static void
orphan(long *child, long *server, const char *const *argv)
{
  const char *pidof = ts_path_join(dir, "orphan.pid", pool);
  const char *script = apr_psprintf(pool, "\"$0\" \"$@\" </dev/null "
                                    ">/dev/null 2>&1 & echo $! > '%s'",
                                    pidof);
  const char *sh[8] = { "/bin/sh", "-c", script };
  apr_proc_t p;
  int i = 0, code;
  apr_exit_why_e why;

  while (argv[i] && i < 5) {
    sh[3 + i] = argv[i];
    i++;
  }
  sh[3 + i] = NULL;
  p = start_process(sh);
  cr_assert_eq(apr_proc_wait(&p, &code, &why, APR_WAIT), APR_CHILD_DONE);
  cr_assert_eq(code, 0);
  *server = (long)p.pid;
  *child = pid_in_file(pidof);
  cr_assert_gt(*child, 1);
}

Test(proc, a_child_whose_server_ended_is_stopped)
{
  ts_proc_spec_t spec = spec_for("sleep", "20000", "0");
  long child, server;
  const char *text;

  orphan(&child, &server, (const char *const[]){ PROC_CHILD, "sleep",
                                                 "20000", "0", NULL });
  spec.stale_match = "sleep 20000";
  await_exec(child, spec.stale_match);
  text = apr_psprintf(pool, "%ld\n%ld the test server on port 1\n", child,
                      server);
  cr_assert_null(ts_file_replace(spec.pidfile, text, strlen(text),
                                 TS_FPROT_FILE, pool));
  cr_assert_null(ts_proc_stop_stale(&spec, log_, pool));
  cr_assert_not(tsp_process_runs_with(child, PROC_CHILD, NULL),
                "the child left behind (pid %ld) still runs", child);
  cr_assert_geq(await_lines(apr_psprintf(pool, "left behind by the test "
                                         "server on port 1 (pid %ld), which "
                                         "has ended", server), 1)->nelts, 1);
}

/* Another server, with the same files, runs the child: the child is that
 * server's (the bus broker of a running license server is not left
 * behind when `tesserad bus` starts beside it). */
Test(proc, the_child_of_a_server_that_runs_is_not_stopped)
{
  ts_proc_spec_t spec = spec_for("sleep", "20000", "0");
  apr_proc_t child = start_process((const char *const[]){ PROC_CHILD,
                                   "sleep", "20000", "0", NULL });
  long self = tsp_process_self();
  const char *text;
  ts_error_t *err;

  spec.stale_match = "sleep 20000";
  await_exec((long)child.pid, spec.stale_match);
  /* this process started it: the server that runs */
  text = apr_psprintf(pool, "%ld\n%ld the license server on port 17000\n",
                      (long)child.pid, self);
  cr_assert_null(ts_file_replace(spec.pidfile, text, strlen(text),
                                 TS_FPROT_FILE, pool));
  err = ts_proc_stop_stale(&spec, log_, pool);
  cr_assert_not(has_ended(&child), "the child of a server that runs was "
                "stopped");
  cr_assert_not_null(err, "no error: the caller would take its port");
  cr_assert_eq(ts_error_code(err), TS_EUNAVAIL);
  text = ts_error_text(err, pool);
  cr_assert(strstr(text, apr_psprintf(pool, "the test child (pid %ld, "
                                      PROC_CHILD ") belongs to the license "
                                      "server on port 17000 (pid %ld), which "
                                      "still runs", (long)child.pid, self)),
            "%s", text);
  ts_error_clear(err);

  /* a pid file without the server (an older version's): a parent that
   * runs, other than init, counts as its server */
  write_pid(spec.pidfile, (long)child.pid, TS_FPROT_FILE);
  err = ts_proc_stop_stale(&spec, log_, pool);
  cr_assert_not_null(err);
  cr_assert_not(has_ended(&child));
  ts_error_clear(err);
  end_process(&child);
}

/* The pid file names the child and the server that started it. */
Test(proc, the_pid_file_names_the_child_and_its_server)
{
  ts_proc_spec_t spec = spec_for("sleep", "20000", "0");
  ts_proc_t *proc;
  const char *text, *want;
  apr_size_t len;

  spec.owner = "the test server on port 1";
  cr_assert_null(ts_proc_start(&proc, &spec, log_, pool));
  cr_assert_null(ts_file_read_all(&text, &len, spec.pidfile, pool));
  want = apr_psprintf(pool, "%ld\n%ld the test server on port 1\n",
                      ts_proc_pid(proc), tsp_process_self());
  ts_proc_stop(proc);
  cr_assert_str_eq(text, want);
}
#endif

#ifndef _WIN32
/* ---- whole sentences (issue 16) ----------------------------------------
 * In the made-up language "xx" (pseudo_lang.h) Tessera's own words come
 * out in capitals: how the child ended and where to look are part of
 * the sentence, not English phrases put into it. */
#include "pseudo_lang.h"

Test(proc, a_child_that_exits_at_once_is_told_in_whole_sentences)
{
  ts_proc_spec_t spec = spec_for("exit", "7", NULL);
  ts_proc_t *proc = NULL;
  ts_error_t *err;
  const char *text, *leak;

  pseudo_lang_speak(pool);
  spec.ready = never_ready;
  spec.ready_what = "listening on port 1";
  err = ts_proc_start(&proc, &spec, log_, pool);
  cr_assert_not_null(err);
  text = ts_error_message(err, pool);
  cr_assert(strstr(text, "EXITED WITH STATUS 7 AT ONCE INSTEAD OF "
                   "listening on port 1: SEE "), "%s", text);
  leak = pseudo_lang_leak(text, (const char *const[]){ spec.name,
                          PROC_CHILD, spec.ready_what, spec.logfile,
                          "proc_child: exit 7", NULL }, pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  /* the log keeps English */
  cr_assert(strstr(ts_error_text(err, pool), "exited with status 7 at once "
                   "instead of listening on port 1: see "));
  ts_error_clear(err);
}

Test(proc, a_child_never_ready_is_told_in_whole_sentences)
{
  ts_proc_spec_t spec = spec_for("sleep", "20000", "0");
  ts_proc_t *proc = NULL;
  ts_error_t *err;
  const char *text, *leak;

  pseudo_lang_speak(pool);
  spec.ready = never_ready;
  spec.ready_wait = apr_time_from_msec(300);
  err = ts_proc_start(&proc, &spec, log_, pool);
  cr_assert_not_null(err);
  text = ts_error_message(err, pool);
  cr_assert(strstr(text, "WAS NOT READY WITHIN 300 MS, SO IT WAS STOPPED: "
                   "SEE "), "%s", text);
  leak = pseudo_lang_leak(text, (const char *const[]){ spec.name,
                          PROC_CHILD, spec.logfile,
                          "proc_child: sleep 20000 ms, then exit 0", NULL },
                          pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  ts_error_clear(err);
}

Test(proc, the_child_of_a_running_server_is_told_in_whole_sentences)
{
  ts_proc_spec_t spec = spec_for("sleep", "20000", "0");
  apr_proc_t child = start_process((const char *const[]){ PROC_CHILD,
                                   "sleep", "20000", "0", NULL });
  ts_error_t *err;
  const char *text, *leak;

  pseudo_lang_speak(pool);
  spec.stale_match = "sleep 20000";
  await_exec((long)child.pid, spec.stale_match);
  write_pid(spec.pidfile, (long)child.pid, TS_FPROT_FILE);   /* no owner */
  err = ts_proc_stop_stale(&spec, log_, pool);
  cr_assert_not_null(err);
  text = ts_error_message(err, pool);
  leak = pseudo_lang_leak(text, (const char *const[]){ spec.name,
                          PROC_CHILD, NULL }, pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  cr_assert(strstr(text, "BELONGS TO THE SERVER THAT STARTED IT"), "%s",
            text);
  ts_error_clear(err);
  end_process(&child);
}
#endif
