/* test_links.c: links planted where a server writes, and the files it
 * writes there. Run as root, the server followed symbolic links planted
 * in INOLIC: its logs and the audit log appended to, its pid file
 * overwrote, whatever file the link named. Here, with real links: the
 * platform's file_open refuses them and the log says what to do; an
 * atomic write replaces a planted link, never its target; and a
 * directory other accounts may write in is named with the command that
 * makes it private. The server's own refusals (pid file, INOLIC) are
 * tested end to end in test_license_files.c.
 *
 * Under wine only the directory judgement and what file_open does with
 * ordinary files (create, truncate, append, a log renamed while open) can
 * run: wine 8 has no reparse points (CreateSymbolicLinkW is a stub that
 * returns TRUE and makes nothing, FSCTL_SET_REPARSE_POINT gives
 * ERROR_NOT_SUPPORTED, and a Unix symlink is followed whatever the
 * flags), so the tests that plant a link are built for Linux only, and the
 * Windows refusal (FILE_FLAG_OPEN_REPARSE_POINT, the attributes checked)
 * is not exercised by CI. */
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#else
#include <sys/stat.h>
#include <unistd.h>
#endif
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_log.h"
#include "tsp.h"

static apr_pool_t *pool;
static const char *dir, *victim;
static const char precious[] = "precious: not a log\n";
static int calls;

static const char *
content(const char *path)
{
  const char *text;
  apr_size_t len;
  ts_error_t *err = ts_file_read_all(&text, &len, path, pool);

  cr_assert_null(err, "%s", ts_error_text(err, pool));
  return text;
}

#ifndef _WIN32
/* A symbolic link at LINK to TARGET, as another account would plant it. */
static void
plant_link(const char *link, const char *target)
{
  cr_assert_eq(symlink(target, link), 0, "symlink(%s)", link);
}
#endif

static void
setup(void)
{
  const char *tmp;
  unsigned char r[4];

  apr_initialize();
  apr_pool_create(&pool, NULL);
  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  cr_assert_eq(apr_generate_random_bytes(r, sizeof(r)), APR_SUCCESS);
  dir = ts_path_join(tmp, apr_psprintf(pool, "tessera-test-links-%02x%02x"
                                       "%02x%02x", r[0], r[1], r[2], r[3]),
                     pool);
  cr_assert_eq(apr_dir_make_recursive(ts_path_join(dir, "logs", pool),
                                      APR_FPROT_OS_DEFAULT, pool),
               APR_SUCCESS);
  victim = ts_path_join(dir, "victim.txt", pool);
  cr_assert_null(ts_file_replace(victim, precious, strlen(precious),
                                 APR_FPROT_UREAD | APR_FPROT_UWRITE, pool));
  calls = 0;
}

static void
teardown(void)
{
  const char *names[] = { "logs/server.log", "logs/b.log", "logs/b.log.1",
                          "state.json", "victim.txt", "logs", "open", NULL };

  tsp_sys_reset();
#ifndef _WIN32
  cr_assert_eq(system(apr_psprintf(pool, "rm -rf '%s/whole'", dir)), 0);
#endif
  for (int i = 0; names[i]; i++) {
    const char *p = ts_path_join(dir, names[i], pool);
    if (apr_file_remove(p, pool) != APR_SUCCESS)
      apr_dir_remove(p, pool);
  }
  apr_dir_remove(dir, pool);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(links, .init = setup, .fini = teardown, .timeout = 30);

#ifndef _WIN32
Test(links, a_link_where_a_log_goes_is_refused_and_its_target_untouched)
{
  const char *link = ts_path_join(dir, "logs/server.log", pool), *text;
  apr_file_t *f = NULL;
  apr_status_t s;
  ts_log_t *log;
  ts_error_t *err;

  plant_link(link, victim);
  err = ts_log_open(&log, link, 0, 0, pool);
  cr_assert_not_null(err, "the log was opened through a planted link");
  text = ts_error_text(err, pool);
  cr_assert_eq(ts_error_code(err), TS_EPERM, "%s", text);
  cr_assert(strstr(text, apr_pstrcat(pool, "cannot open the log file ", link,
                                     ": it is a symbolic link, and a server "
                                     "does not write through links", NULL)),
            "%s", text);
  cr_assert(strstr(text, "remove it, and check who else may write in its "
                   "directory"), "%s", text);
  ts_error_clear(err);
  /* the platform's call itself, even when asked to truncate */
  s = tsp_sys.file_open(&f, link, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                        | APR_FOPEN_TRUNCATE, APR_FPROT_OS_DEFAULT, pool);
  cr_assert(tsp_status_is_link(s), "status %d", s);
  cr_assert_null(f);
  cr_assert_str_eq(content(victim), precious);
}

/* Rotation: the log was moved away, a link planted where it was, then
 * the server told to reopen: it keeps its old file. */
Test(links, a_reopen_onto_a_planted_link_keeps_the_old_file)
{
  const char *path = ts_path_join(dir, "logs/b.log", pool);
  const char *moved = ts_path_join(dir, "logs/b.log.1", pool);
  ts_log_t *log;
  ts_error_t *err;

  cr_assert_null(ts_log_open(&log, path, 0, 0, pool));
  ts_log(log, TS_LOG_INFO, "first");
  cr_assert_eq(apr_file_rename(path, moved, pool), APR_SUCCESS);
  plant_link(path, victim);
  err = ts_log_reopen(log);
  cr_assert_not_null(err, "reopened through a planted link");
  cr_assert(strstr(ts_error_text(err, pool), "is a symbolic link"), "%s",
            ts_error_text(err, pool));
  ts_error_clear(err);
  ts_log(log, TS_LOG_INFO, "second");
  cr_assert_str_eq(content(victim), precious);
  cr_assert(strstr(content(moved), " info  first\n"), "%s", content(moved));
  cr_assert(strstr(content(moved), " info  second\n"), "%s", content(moved));
}

#endif

Test(links, a_log_is_created_then_appended_to)
{
  const char *path = ts_path_join(dir, "logs/server.log", pool), *text;
  ts_log_t *log;

  for (int i = 0; i < 2; i++) {
    cr_assert_null(ts_log_open(&log, path, 0, 0, pool));
    ts_log(log, TS_LOG_INFO, "line %d", i);
    cr_assert_null(ts_log_reopen(log));
    ts_log(log, TS_LOG_INFO, "after reopen %d", i);
  }
  text = content(path);
  cr_assert(strstr(text, " info  line 0\n"), "%s", text);
  cr_assert(strstr(text, " info  after reopen 1\n"), "%s", text);
  cr_assert(strstr(text, "line 0") < strstr(text, "line 1"), "%s", text);
}

/* Rotation: the open log is renamed away (Windows: the file was opened
 * with FILE_SHARE_DELETE), the server reopens, and the new lines go to a
 * new file. */
Test(links, a_log_renamed_while_open_is_followed_by_a_new_one)
{
  const char *path = ts_path_join(dir, "logs/b.log", pool);
  const char *moved = ts_path_join(dir, "logs/b.log.1", pool);
  ts_log_t *log;

  cr_assert_null(ts_log_open(&log, path, 0, 0, pool));
  ts_log(log, TS_LOG_INFO, "before");
  cr_assert_eq(apr_file_rename(path, moved, pool), APR_SUCCESS);
  ts_log(log, TS_LOG_INFO, "still the old file");
  cr_assert_null(ts_log_reopen(log));
  ts_log(log, TS_LOG_INFO, "after");
  cr_assert(strstr(content(moved), " info  still the old file\n"), "%s",
            content(moved));
  cr_assert_null(strstr(content(moved), "after"), "%s", content(moved));
  cr_assert(strstr(content(path), " info  after\n"), "%s", content(path));
  cr_assert_null(strstr(content(path), "before"), "%s", content(path));
}

/* The platform's file_open on an ordinary file does what apr_file_open
 * would: truncate, append, or neither, as asked. */
Test(links, file_open_truncates_and_appends_as_asked)
{
  const char *path = ts_path_join(dir, "state.json", pool);
  apr_file_t *f;

  for (int i = 0; i < 3; i++) {
    apr_int32_t how[] = { APR_FOPEN_APPEND, 0, APR_FOPEN_TRUNCATE };
    const char *want[] = { "0123456789ab", "ab23456789", "ab" };

    cr_assert_null(ts_file_replace(path, "0123456789", 10, TS_FPROT_FILE,
                                   pool));
    cr_assert_eq(tsp_sys.file_open(&f, path, APR_FOPEN_CREATE
                                   | APR_FOPEN_WRITE | how[i],
                                   APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
    cr_assert_eq(apr_file_write_full(f, "ab", 2, NULL), APR_SUCCESS);
    cr_assert_eq(apr_file_close(f), APR_SUCCESS);
    cr_assert_str_eq(content(path), want[i], "case %d", i);
  }
}

#ifndef _WIN32
static int
open_descriptors(void)
{
  apr_dir_t *d;
  apr_finfo_t fi;
  int n = 0;

  cr_assert_eq(apr_dir_open(&d, "/proc/self/fd", pool), APR_SUCCESS);
  while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS)
    n++;
  apr_dir_close(d);
  return n;
}

/* A log reopened on every HUP: the files file_open gave are closed with
 * their pool, or by apr_file_close and then not again. */
Test(links, file_open_leaves_no_descriptor_behind)
{
  const char *path = ts_path_join(dir, "state.json", pool);
  int before = open_descriptors();

  for (int i = 0; i < 100; i++) {
    apr_pool_t *sub;
    apr_file_t *f;
    apr_pool_create(&sub, pool);
    cr_assert_eq(tsp_sys.file_open(&f, path, APR_FOPEN_CREATE
                                   | APR_FOPEN_WRITE, APR_FPROT_OS_DEFAULT,
                                   sub), APR_SUCCESS);
    if (i % 2)
      cr_assert_eq(apr_file_close(f), APR_SUCCESS);
    apr_pool_destroy(sub);
  }
  cr_assert_eq(open_descriptors(), before);
}
#endif

#ifndef _WIN32
Test(links, an_atomic_write_replaces_a_planted_link_not_its_target)
{
  const char *path = ts_path_join(dir, "state.json", pool);
  apr_file_t *f = NULL;

  plant_link(path, victim);
  cr_assert_null(ts_file_replace(path, "{}\n", 3, TS_FPROT_FILE, pool));
  cr_assert_str_eq(content(victim), precious);
  cr_assert_str_eq(content(path), "{}\n");
  /* PATH is a file of its own now, no link */
  cr_assert_eq(tsp_sys.file_open(&f, path, APR_FOPEN_WRITE,
                                 APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
  apr_file_close(f);
}

/* Another account swaps the temporary file of an atomic write for a link
 * after it was written and before its permissions are set (Windows sets
 * none): chmod() would have made the link's target rw-r--r--. */
static apr_status_t
close_then_swap(apr_file_t *f)
{
  const char *name = NULL;
  apr_status_t s;

  calls++;
  apr_file_name_get(&name, f);
  name = apr_pstrdup(pool, name);
  s = tsp_sys_real.file_close(f);
  cr_assert_eq(apr_file_remove(name, pool), APR_SUCCESS);
  plant_link(name, victim);
  return s;
}

Test(links, a_temporary_file_swapped_for_a_link_lends_it_no_permissions)
{
  const char *path = ts_path_join(dir, "state.json", pool), *text;
  struct stat st;
  ts_error_t *err;

  tsp_sys.file_close = close_then_swap;
  err = ts_file_replace(path, "{}\n", 3, TS_FPROT_FILE, pool);
  tsp_sys_reset();
  cr_assert_eq(calls, 1);
  cr_assert_not_null(err, "the swapped temporary file was not noticed");
  text = ts_error_text(err, pool);
  cr_assert(strstr(text, "setting the permissions of "), "%s", text);
  cr_assert(strstr(text, apr_pstrcat(pool, path, " is unchanged", NULL)),
            "%s", text);
  ts_error_clear(err);
  cr_assert_eq(stat(victim, &st), 0);
  cr_assert_eq(st.st_mode & 07777, 0600, "the link's target became %04o",
               (unsigned)(st.st_mode & 07777));
  cr_assert_str_eq(content(victim), precious);
}
#endif

/* ---- directories other accounts may write in ----------------------- */

/* DIR/open, made writable by every account as that platform does it. */
static const char *
open_to_everyone(void)
{
  const char *d = ts_path_join(dir, "open", pool);

  cr_assert_eq(apr_dir_make(d, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
#ifdef _WIN32
  {
    PSECURITY_DESCRIPTOR sd;
    BOOL present, defaulted;
    PACL dacl;
    wchar_t wd[MAX_PATH];

    /* Everyone: modify (what icacls /grant Everyone:M gives) */
    cr_assert(ConvertStringSecurityDescriptorToSecurityDescriptorA(
                "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;0x1301bf;;;WD)",
                SDDL_REVISION_1, &sd, NULL));
    cr_assert(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
    cr_assert(MultiByteToWideChar(CP_UTF8, 0, d, -1, wd, MAX_PATH));
    cr_assert_eq(SetNamedSecurityInfoW(wd, SE_FILE_OBJECT,
                                       DACL_SECURITY_INFORMATION
                                       | PROTECTED_DACL_SECURITY_INFORMATION,
                                       NULL, NULL, dacl, NULL), 0);
    LocalFree(sd);
  }
#else
  cr_assert_eq(chmod(d, 0777), 0);
#endif
  return d;
}

Test(links, a_directory_others_may_write_is_named_with_its_fix)
{
  const char *fix = NULL, *why, *d = open_to_everyone();
  ts_error_t *err;

  cr_assert_null(tsp_dir_others_may_write(&fix, dir, pool),
                 "a directory of our own was judged open");
  cr_assert_null(tsp_dir_others_may_write(&fix, ts_path_join(dir, "none",
                                                             pool), pool));
  err = tsp_dir_others_may_write(&fix, d, pool);
  cr_assert_not_null(err, "%s is open to every account, unnoticed", d);
  cr_assert_eq(ts_error_code(err), TS_ECONFIG);
  why = ts_error_text(err, pool);
  ts_error_clear(err);
#ifdef _WIN32
  cr_assert(strstr(why, "its ACL lets Everyone"), "%s", why);
  cr_assert(strstr(fix, apr_psprintf(pool, "icacls \"%s\" /inheritance:r "
                                     "/grant:r ", d)), "%s", fix);
#else
  cr_assert_str_eq(why, "every account may write it (mode 0777)");
  cr_assert(strstr(fix, apr_psprintf(pool, "&& chmod go-w '%s'", d)), "%s",
            fix);
  cr_assert_eq(chmod(d, 0775), 0);
  err = tsp_dir_others_may_write(&fix, d, pool);
  cr_assert_not_null(err);
  why = ts_error_text(err, pool);
  ts_error_clear(err);
  cr_assert(strstr(why, "may write it (mode 0775)"), "%s", why);
  /* the fix it gives makes it private */
  cr_assert_eq(system(fix), 0, "%s", fix);
  cr_assert_null(tsp_dir_others_may_write(&fix, d, pool));
#endif
}

#ifndef _WIN32
/* ---- whole sentences (issue 16) ------------------------------------------
 * In the made-up language "xx" (pseudo_lang.h) Tessera's own words come
 * out in capitals: why a directory or a pid file is not trusted is part
 * of the sentence, not an English phrase put into it. Files under
 * DIR/whole. */
#include <pwd.h>
#include "pseudo_lang.h"
#include "ts_role_bus.h"
#include "ts_server.h"

/* TEXT of ERR for people: no English besides VALUES, and MUST in it. */
static void
assert_whole(ts_error_t *err, const char *must, const char *const *values)
{
  const char *text, *leak;

  cr_assert_not_null(err);
  text = ts_error_message(err, pool);
  cr_assert(strstr(text, must), "no \"%s\" in: %s", must, text);
  leak = pseudo_lang_leak(text, values, pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  ts_error_clear(err);
}

Test(links, pid_files_not_believed_are_told_in_whole_sentences)
{
  const char *whole = ts_path_join(dir, "whole", pool);
  const char *pidfile = ts_path_join(whole, "broker.pid", pool);
  const char *text;

  pseudo_lang_speak(pool);
  cr_assert_eq(apr_dir_make(whole, APR_FPROT_OS_DEFAULT, pool),
               APR_SUCCESS);
  cr_assert_null(ts_file_replace(pidfile, "1\n", 2, TS_FPROT_FILE, pool));
  cr_assert_eq(chmod(pidfile, 0666), 0);
  assert_whole(tsp_pidfile_read(&text, pidfile, pool), ": OTHER ACCOUNTS "
               "MAY WRITE IT (MODE 0666), SO IT MAY NAME ANY PROCESS",
               (const char *const[]){ pidfile, NULL });
  cr_assert_eq(unlink(pidfile), 0);
  cr_assert_eq(mkdir(pidfile, 0700), 0);
  assert_whole(tsp_pidfile_read(&text, pidfile, pool), ": IT IS NOT A "
               "REGULAR FILE, SO", (const char *const[]){ pidfile, NULL });
  cr_assert_eq(rmdir(pidfile), 0);
  plant_link(pidfile, victim);
  assert_whole(tsp_pidfile_read(&text, pidfile, pool), "IS A SYMBOLIC LINK, "
               "WHICH IS NOT FOLLOWED", (const char *const[]){ pidfile,
               NULL });
  /* handing a file to an account: a link is refused, saying what for */
  assert_whole(tsp_file_hand_over(pidfile, "nobody", 1, pool),
               "(HANDING IT TO THE ACCOUNT nobody)", (const char *const[]){
               pidfile, "nobody", NULL });
}

/* The settings of a server of the test's own (sysconfdir DIR/whole/etc):
 * INOHOST and INOLIC as given, INODIR beside. */
static tsp_settings_t *
server_settings(const char *inohost, const char *inolic)
{
  const char *whole = ts_path_join(dir, "whole", pool);
  tsp_settings_roots_t *roots = apr_pcalloc(pool, sizeof(*roots));
  tsp_settings_t *store;

  roots->sysconfdir = ts_path_join(whole, "etc", pool);
  roots->home = whole;
  cr_assert_null(tsp_settings_open(&store, roots, pool));
  cr_assert_null(tsp_settings_write(store, TS_SCOPE_ALL, "INOHOST", inohost,
                                    pool));
  cr_assert_null(tsp_settings_write(store, TS_SCOPE_ALL, "INOLIC", inolic,
                                    pool));
  cr_assert_null(tsp_settings_write(store, TS_SCOPE_ALL, "INODIR",
                                    ts_path_join(whole, "params", pool),
                                    pool));
  return store;
}

Test(links, a_server_that_cannot_start_says_why_in_whole_sentences)
{
  const char *whole = ts_path_join(dir, "whole", pool);
  const char *inolic = ts_path_join(whole, "lic", pool);
  struct passwd *me = getpwuid(geteuid());
  ts_server_t *server;

  /* the process environment must not override the test's settings */
  for (const char *const *n = (const char *const[]){ "INOHOST", "INOPRJ",
       "INOLIC", "INODIR", "INOLANG", "INOAGENTPORT", "XDG_CONFIG_HOME",
       NULL }; *n; n++)
    unsetenv(*n);
  pseudo_lang_speak(pool);
  cr_assert_eq(apr_dir_make(whole, APR_FPROT_OS_DEFAULT, pool),
               APR_SUCCESS);
  cr_assert_eq(mkdir(inolic, 0700), 0);
  cr_assert_eq(mkdir(ts_path_join(inolic, "logs", pool), 0777), 0);
  cr_assert_eq(chmod(ts_path_join(inolic, "logs", pool), 0777), 0);
  /* a directory in INOLIC others may write in */
  assert_whole(ts_server_create(&server, &ts_role_bus, NULL, NULL,
                                server_settings("localhost.17000", inolic),
                                0, 0, pool),
               ": EVERY ACCOUNT MAY WRITE IT (MODE 0777); ANOTHER ACCOUNT",
               (const char *const[]){ inolic, "/logs", "bus", "chown *",
               me->pw_name, "'*", "chmod go-w", NULL });
  /* a setting that is not valid */
  assert_whole(ts_server_create(&server, &ts_role_bus, NULL, NULL,
                                server_settings("localhost", inolic), 0, 0,
                                pool),
               "INOHOST 'localhost' FROM THE SYSTEM FILE: ",
               (const char *const[]){ "localhost", "bus", "env set", NULL });
}
#endif

#ifndef _WIN32
/* What the doctor reports of an account's access: whole sentences made
 * from what the scan found (the scan runs as the account: root only). */
Test(links, an_access_report_is_told_in_whole_sentences)
{
  const char *whole = ts_path_join(dir, "whole", pool);
  const char *shut = ts_path_join(whole, "shut", pool), *example;
  tsp_access_report_t *report;

  cr_assert_eq(geteuid(), 0, "the access scan becomes another account: "
               "run as root");
  pseudo_lang_speak(pool);
  cr_assert_eq(apr_dir_make(whole, APR_FPROT_OS_DEFAULT, pool),
               APR_SUCCESS);
  cr_assert_eq(chmod(whole, 0755), 0);
  cr_assert_eq(mkdir(shut, 0700), 0);
  cr_assert_null(tsp_access_scan(&report, whole, "nobody",
                                 (const char *const[]){ shut, NULL }, pool));
  cr_assert_geq(report->examples->nelts, 1);
  example = APR_ARRAY_IDX(report->examples, report->examples->nelts - 1,
                          const char *);
  cr_assert_str_eq(example, apr_pstrcat(pool, shut, ": NO READ/WRITE/SEARCH",
                                        NULL));
  cr_assert_eq(report->probes->nelts, 1);
  cr_assert(strstr(APR_ARRAY_IDX(report->probes, 0, const char *),
                   ": CANNOT CREATE A FILE: "), "%s",
            APR_ARRAY_IDX(report->probes, 0, const char *));
  cr_assert(strstr(report->identity, "nobody (GROUPS "), "%s",
            report->identity);
  cr_assert(strstr(tsp_access_fix(whole, "nobody", pool), " (OR A GROUP "
                   "SHARED BY THE AGENTS' ACCOUNTS WITH CHMOD -R G+RWX)"));
}
#endif
