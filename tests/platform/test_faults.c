/* test_faults.c: what a user sees when the system fails under Tessera,
 * with the faults injected through the platform's table of system calls
 * (tsp_sys, tsp.h) and the status this platform's own call would give
 * (tsp_fault_status): a full disk during an atomic write, a directory
 * that refuses us, a refused connection. Each failure must be an error
 * that names the path or the host and port, says why and what to do, and
 * must leave nothing changed behind it. Runs on Linux and under wine. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_httpd.h"
#include "ts_project.h"
#include "tsp.h"

static apr_pool_t *pool;
static const char *dir;
static int calls;               /* how often the injected fault was hit */

/* DIR and the files in it, two levels deep. */
static void
remove_tree(const char *path)
{
  apr_dir_t *d;
  apr_finfo_t fi;

  if (apr_dir_open(&d, path, pool) != APR_SUCCESS)
    return;
  while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
         == APR_SUCCESS) {
    const char *p = ts_path_join(path, fi.name, pool);
    if (fi.filetype == APR_DIR && strcmp(fi.name, ".") != 0
        && strcmp(fi.name, "..") != 0)
      remove_tree(p);
    else if (fi.filetype != APR_DIR)
      apr_file_remove(p, pool);
  }
  apr_dir_close(d);
  apr_dir_remove(path, pool);
}

static void
setup(void)
{
  const char *tmp;
  unsigned char r[4];

  apr_initialize();
  ts_http_client_init();
  apr_pool_create(&pool, NULL);
  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  cr_assert_eq(apr_generate_random_bytes(r, sizeof(r)), APR_SUCCESS);
  dir = ts_path_join(tmp, apr_psprintf(pool, "tessera-test-faults-%02x%02x"
                                       "%02x%02x", r[0], r[1], r[2], r[3]),
                     pool);
  cr_assert_eq(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool),
               APR_SUCCESS);
  calls = 0;
}

static void
teardown(void)
{
  tsp_sys_reset();
  remove_tree(dir);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(faults, .init = setup, .fini = teardown, .timeout = 30);

static int
by_name(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names in PATH (not . and ..), sorted, joined by " ". */
static const char *
listing(const char *path)
{
  apr_array_header_t *names = apr_array_make(pool, 4, sizeof(char *));
  apr_dir_t *d;
  apr_finfo_t fi;
  const char *text = "";

  cr_assert_eq(apr_dir_open(&d, path, pool), APR_SUCCESS);
  while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS)
    if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0)
      APR_ARRAY_PUSH(names, char *) = apr_pstrdup(pool, fi.name);
  apr_dir_close(d);
  qsort(names->elts, (size_t)names->nelts, sizeof(char *), by_name);
  for (int i = 0; i < names->nelts; i++)
    text = apr_pstrcat(pool, text, i ? " " : "",
                       APR_ARRAY_IDX(names, i, char *), NULL);
  return text;
}

static const char *
content(const char *path)
{
  const char *text;
  apr_size_t len;
  ts_error_t *err = ts_file_read_all(&text, &len, path, pool);

  cr_assert_null(err, "%s", ts_error_text(err, pool));
  return text;
}

/* ---- a full disk -------------------------------------------------------- */

/* The disk fills up halfway through the write. */
static apr_status_t
write_fills_the_disk(apr_file_t *f, const void *buf, apr_size_t n,
                     apr_size_t *written)
{
  calls++;
  tsp_sys_real.file_write_full(f, buf, n / 2, written);
  return tsp_fault_status(TSP_FAULT_DISK_FULL);
}

/* The data was accepted, but the disk has no room when it is flushed
 * (delayed allocation; NFS). */
static apr_status_t
sync_fills_the_disk(apr_file_t *f)
{
  calls++;
  (void)f;
  return tsp_fault_status(TSP_FAULT_DISK_FULL);
}

static apr_status_t
close_fills_the_disk(apr_file_t *f)
{
  calls++;
  tsp_sys_real.file_close(f);
  return tsp_fault_status(TSP_FAULT_DISK_FULL);
}

Test(faults, a_full_disk_keeps_the_old_file_and_leaves_no_temporary_one)
{
  const char *path = ts_path_join(dir, "environment", pool);
  const char *old = "INOHOST=lic1.17000\n", *next = "INOHOST=lic2.17000\n";

  cr_assert_null(ts_file_replace(path, old, strlen(old), TS_FPROT_FILE,
                                 pool));
  for (int step = 0; step < 3; step++) {
    const char *text;
    ts_error_t *err;

    tsp_sys_reset();
    if (step == 0)
      tsp_sys.file_write_full = write_fills_the_disk;
    else if (step == 1)
      tsp_sys.file_sync = sync_fills_the_disk;
    else
      tsp_sys.file_close = close_fills_the_disk;
    calls = 0;
    err = ts_file_replace(path, next, strlen(next), TS_FPROT_FILE, pool);
    tsp_sys_reset();
    cr_assert_eq(calls, 1, "step %d: the fault was not reached", step);
    cr_assert_not_null(err, "step %d: a full disk went unnoticed", step);
    text = ts_error_text(err, pool);
    cr_assert_eq(ts_error_code(err), TS_EIO, "%s", text);
    cr_assert(strstr(text, apr_pstrcat(pool, "cannot write ", path, " (",
                                       NULL)), "%s", text);
    cr_assert(strstr(text, apr_pstrcat(pool, "the disk holding ", dir,
                                       " is full; free space on it", NULL)),
              "%s", text);
    cr_assert(strstr(text, "is unchanged"), "%s", text);
    ts_error_clear(err);
    cr_assert_str_eq(content(path), old, "step %d", step);
    cr_assert_str_eq(listing(dir), "environment",
                     "step %d: a temporary file is left", step);
  }
}

/* ---- a directory that refuses us ----------------------------------------- */

static apr_status_t
mkdir_denied(const char *path, apr_fileperms_t perms, apr_pool_t *p)
{
  (void)path;
  (void)perms;
  (void)p;
  calls++;
  return tsp_fault_status(TSP_FAULT_ACCESS_DENIED);
}

static apr_status_t
mktemp_denied(apr_file_t **file, char *templ, apr_int32_t flags,
              apr_pool_t *p)
{
  (void)file;
  (void)templ;
  (void)flags;
  (void)p;
  calls++;
  return tsp_fault_status(TSP_FAULT_ACCESS_DENIED);
}

Test(faults, a_directory_that_refuses_us_is_named_and_nothing_changes)
{
  const char *prj = ts_path_join(dir, "prj", pool), *uuid = NULL, *text;
  const char *logs = ts_path_join(prj, "ivm/logs", pool);
  const char *settings = ts_path_join(dir, "environment", pool);
  const char *old = "INOPRJ=/srv/prj\n";
  ts_error_t *err;

  /* `project init` cannot create INOPRJ/ivm/logs */
  cr_assert_eq(apr_dir_make(prj, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
  tsp_sys.dir_make_recursive = mkdir_denied;
  err = ts_project_init(&uuid, prj, "demo", pool);
  tsp_sys_reset();
  cr_assert_eq(calls, 1);
  cr_assert_not_null(err, "a refused directory went unnoticed");
  text = ts_error_text(err, pool);
  cr_assert_eq(ts_error_code(err), TS_EPERM, "%s", text);
  cr_assert(strstr(text, apr_pstrcat(pool, "cannot create the directory ",
                                     logs, ": permission denied; give the "
                                     "account ", NULL)), "%s", text);
  cr_assert(strstr(text, apr_pstrcat(pool, " write access to ", prj,
                                     ", or run this as an account that has "
                                     "it", NULL)), "%s", text);
  ts_error_clear(err);
  cr_assert_str_eq(listing(prj), "", "INOPRJ was changed");

  /* a settings file whose directory refuses new files */
  cr_assert_null(ts_file_replace(settings, old, strlen(old), TS_FPROT_FILE,
                                 pool));
  calls = 0;
  tsp_sys.file_mktemp = mktemp_denied;
  err = ts_file_replace(settings, "INOPRJ=/x\n", 10, TS_FPROT_FILE, pool);
  tsp_sys_reset();
  cr_assert_eq(calls, 1);
  cr_assert_not_null(err);
  text = ts_error_text(err, pool);
  cr_assert_eq(ts_error_code(err), TS_EPERM, "%s", text);
  cr_assert(strstr(text, apr_pstrcat(pool, "cannot write ", settings,
                                     " (creating the temporary file ",
                                     NULL)), "%s", text);
  cr_assert(strstr(text, apr_pstrcat(pool, "permission denied; give the "
                                     "account ", NULL)), "%s", text);
  cr_assert(strstr(text, apr_pstrcat(pool, " write access to ", dir, NULL)),
            "%s", text);
  ts_error_clear(err);
  cr_assert_str_eq(content(settings), old);
  cr_assert_str_eq(listing(dir), "environment prj");
}

/* ---- a refused connection ------------------------------------------------ */

static apr_status_t
connect_refused(apr_socket_t *sock, apr_sockaddr_t *sa)
{
  (void)sock;
  (void)sa;
  calls++;
  return tsp_fault_status(TSP_FAULT_CONNECTION_REFUSED);
}

static void
assert_refused(ts_error_t *err, const char *host, int port)
{
  const char *text;

  cr_assert_not_null(err, "a refused connection went unnoticed");
  text = ts_error_text(err, pool);
  cr_assert_eq(ts_error_code(err), TS_EUNAVAIL, "%s", text);
  cr_assert(strstr(text, apr_psprintf(pool, "%s port %d does not answer GET "
                                      "/health: the connection was refused "
                                      "(nothing listens on that port: is the "
                                      "server running", host, port)),
            "%s", text);
  ts_error_clear(err);
}

/* A TCP port on 127.0.0.1 that nothing listens on (just now). */
static int
closed_port(void)
{
  apr_sockaddr_t *sa;
  apr_socket_t *s;
  int port;

  cr_assert_eq(apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0,
                                     pool), APR_SUCCESS);
  cr_assert_eq(apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP,
                                 pool), APR_SUCCESS);
  cr_assert_eq(apr_socket_bind(s, sa), APR_SUCCESS);
  cr_assert_eq(apr_socket_addr_get(&sa, APR_LOCAL, s), APR_SUCCESS);
  port = sa->port;
  apr_socket_close(s);
  return port;
}

Test(faults, a_refused_connection_names_host_and_port)
{
  const char *body;
  int status, port = closed_port();

  tsp_sys.socket_connect = connect_refused;
  assert_refused(ts_http_get(&status, &body, "127.0.0.1", 17999, "/health",
                             apr_time_from_sec(2), pool), "127.0.0.1",
                 17999);
  tsp_sys_reset();
  cr_assert_eq(calls, 1, "the HTTP client did not connect through the "
               "platform's table");
  /* and the system's own refusal reads the same (Windows retries a
   * refused SYN for about 2 s) */
  assert_refused(ts_http_get(&status, &body, "127.0.0.1", port, "/health",
                             apr_time_from_sec(5), pool), "127.0.0.1", port);
}

#ifndef _WIN32
/* ---- whole sentences (issue 16) ------------------------------------------
 * In the made-up language "xx" (pseudo_lang.h) Tessera's own words come
 * out in capitals: the step of a write that failed and the advice that
 * follows are part of the sentence, not English phrases put into it.
 * VALUES are what the messages may quote as they are. */
#include <apr_user.h>
#include "pseudo_lang.h"
#include "ts_log.h"

static void
assert_whole(ts_error_t *err, const char *must, const char *const *values)
{
  char os[120];
  const char *text, *leak;
  const char *all[8] = { dir, apr_strerror(tsp_fault_status(
                         TSP_FAULT_DISK_FULL), os, sizeof(os)) };
  int n = 2;

  cr_assert_not_null(err);
  for (int i = 0; values[i] && n < 7; i++)
    all[n++] = values[i];
  all[n] = NULL;
  text = ts_error_message(err, pool);
  cr_assert(strstr(text, must), "no \"%s\" in: %s", must, text);
  leak = pseudo_lang_leak(text, all, pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  ts_error_clear(err);
}

static apr_status_t
open_denied(apr_file_t **file, const char *path, apr_int32_t flags,
            apr_fileperms_t perms, apr_pool_t *p)
{
  (void)file;
  (void)path;
  (void)flags;
  (void)perms;
  (void)p;
  return tsp_fault_status(TSP_FAULT_ACCESS_DENIED);
}

/* The account this test runs as, which the advice names. */
static const char *
me(void)
{
  apr_uid_t uid;
  apr_gid_t gid;
  char *name;

  cr_assert_eq(apr_uid_current(&uid, &gid, pool), APR_SUCCESS);
  cr_assert_eq(apr_uid_name_get(&name, uid, pool), APR_SUCCESS);
  return name;
}

Test(faults, a_failed_write_is_told_in_whole_sentences)
{
  const char *path = ts_path_join(dir, "environment", pool);
  char os[120];
  const char *denied = apr_strerror(tsp_fault_status(
                         TSP_FAULT_ACCESS_DENIED), os, sizeof(os));
  ts_log_t *log;

  pseudo_lang_speak(pool);
  tsp_sys.file_write_full = write_fills_the_disk;
  assert_whole(ts_file_replace(path, "A=1\n", 4, TS_FPROT_FILE, pool),
               "IS UNCHANGED): THE DISK HOLDING ", (const char *const[]){
               path, ".tmp.*", NULL });
  tsp_sys_reset();
  tsp_sys.file_mktemp = mktemp_denied;
  assert_whole(ts_file_replace(path, "A=1\n", 4, TS_FPROT_FILE, pool),
               " (CREATING THE TEMPORARY FILE ", (const char *const[]){
               path, ".tmp.*", denied, me(), NULL });
  tsp_sys_reset();
  tsp_sys.dir_make_recursive = mkdir_denied;
  assert_whole(ts_dir_make(ts_path_join(dir, "a/b", pool), TS_FPROT_DIR,
                           pool), ": PERMISSION DENIED; GIVE THE ACCOUNT ",
               (const char *const[]){ "/a/b", me(), denied, NULL });
  tsp_sys_reset();
  tsp_sys.file_open = open_denied;
  assert_whole(ts_log_open(&log, path, 0, 0, pool), ": PERMISSION DENIED; "
               "GIVE THIS SERVER'S ACCOUNT", (const char *const[]){ path,
               denied, NULL });
  tsp_sys_reset();
  /* a log on a full disk */
  cr_assert_null(ts_log_open(&log, "/dev/full", 0, 0, pool));
  assert_whole(ts_log_record(log, "x"), ": THE DISK IS FULL; MAKE ROOM",
               (const char *const[]){ "/dev/full", NULL });
}

Test(faults, a_refused_connection_is_told_in_whole_sentences)
{
  const char *body;
  char os[120];
  int status;

  pseudo_lang_speak(pool);
  tsp_sys.socket_connect = connect_refused;
  assert_whole(ts_http_get(&status, &body, "127.0.0.1", 17999, "/health",
                           apr_time_from_sec(2), pool),
               "PORT 17999 DOES NOT ANSWER GET /health: THE CONNECTION WAS "
               "REFUSED", (const char *const[]){ "/health",
               apr_strerror(tsp_fault_status(TSP_FAULT_CONNECTION_REFUSED),
                            os, sizeof(os)), NULL });
}
#endif

#ifndef _WIN32
#include "ts_project_records.h"

/* What the doctor says about a record in INOPRJ that is not one. */
Test(faults, a_broken_record_is_told_in_whole_sentences)
{
  const char *agents = ts_path_join(dir, "ivm/agents", pool);
  const char *path = ts_path_join(agents, "bad.1.json", pool);
  apr_array_header_t *records, *rejects;
  const char *why;

  pseudo_lang_speak(pool);
  cr_assert_null(ts_dir_make(agents, TS_FPROT_DIR, pool));
  cr_assert_null(ts_file_replace(path, "{\"version\": 2}", 14, TS_FPROT_FILE,
                                 pool));
  cr_assert_null(ts_project_records_read(&records, &rejects, dir,
                                         TS_PROJECT_AGENT, pool, pool));
  cr_assert_eq(rejects->nelts, 1);
  why = APR_ARRAY_IDX(rejects, 0, ts_project_reject_t).why;
  cr_assert_str_eq(why, apr_pstrcat(pool, path, " IS NOT A VERSION-1 AGENT "
                                    "RECORD", NULL));
}
#endif
