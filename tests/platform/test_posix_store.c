/* test_posix_store.c: the Linux settings store against real files, real
 * processes and a real sh: injected roots, provenance, quoting that sh
 * reads back unchanged, concurrent writers, writers killed with SIGKILL,
 * and unreadable or malformed files. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_env.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_envfile.h"
#include "ts_file.h"
#include "ts_settings.h"

static apr_pool_t *pool;
static char root[] = "/tmp/tessera-store-XXXXXX";
static tsp_settings_roots_t roots;

static void
setup(void)
{
  apr_initialize();
  apr_pool_create(&pool, NULL);
  cr_assert_not_null(mkdtemp(root));
  roots.sysconfdir = apr_pstrcat(pool, root, "/etc", NULL);
  roots.home = apr_pstrcat(pool, root, "/home", NULL);
  roots.xdg_config_home = NULL;
  mkdir(roots.sysconfdir, 0755);
  mkdir(roots.home, 0755);
  /* The process environment must not leak into what the tests expect. */
  for (const char *const *n = (const char *const[]){ "INOHOST", "INOPRJ",
       "INOLIC", "INODIR", "INOLANG", "INONOTIFY", "INOAGENTPORT",
       "XDG_CONFIG_HOME", NULL }; *n; n++)
    unsetenv(*n);
}

static void
teardown(void)
{
  char *cmd = apr_psprintf(pool, "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(posix_store, .init = setup, .fini = teardown, .timeout = 120);

static tsp_settings_t *
open_store(void)
{
  tsp_settings_t *store;
  ts_error_t *err = tsp_settings_open(&store, &roots, pool);

  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
  return store;
}

static void
ok(ts_error_t *err)
{
  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
}

static const char *
read_file(const char *path)
{
  const char *data;
  apr_size_t len;

  ok(ts_file_read_all(&data, &len, path, pool));
  return data;
}

Test(posix_store, round_trip_in_injected_roots)
{
  tsp_settings_t *store = open_store();
  apr_hash_t *values;
  const char *user = apr_pstrcat(pool, root,
                                 "/home/.config/tessera/environment", NULL);
  const char *all = apr_pstrcat(pool, root, "/etc/tessera/environment", NULL);

  cr_assert_str_eq(tsp_settings_location(store, TS_SCOPE_USER), user);
  cr_assert_str_eq(tsp_settings_location(store, TS_SCOPE_ALL), all);
  ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
  cr_assert_eq(apr_hash_count(values), 0, "nothing stored yet");

  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOHOST", "lic1.17000",
                        pool));
  ok(tsp_settings_write(store, TS_SCOPE_ALL, "INOHOST", "lic2.17000", pool));
  ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
  cr_assert_str_eq(apr_hash_get(values, "INOHOST", APR_HASH_KEY_STRING),
                   "lic1.17000");
  ok(tsp_settings_read(&values, store, TS_SCOPE_ALL, pool, pool));
  cr_assert_str_eq(apr_hash_get(values, "INOHOST", APR_HASH_KEY_STRING),
                   "lic2.17000");

  /* the companions: profile.d for login shells, environment.d for the
   * user's systemd session */
  cr_assert(strstr(read_file(apr_pstrcat(pool, root,
                   "/etc/profile.d/tessera.sh", NULL)), all));
  cr_assert(strstr(read_file(apr_pstrcat(pool, root,
                   "/home/.config/environment.d/60-tessera.conf", NULL)),
                   "INOHOST=\"lic1.17000\""));

  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOHOST", NULL, pool));
  ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
  cr_assert_null(apr_hash_get(values, "INOHOST", APR_HASH_KEY_STRING));
}

Test(posix_store, xdg_config_home_moves_the_user_file)
{
  tsp_settings_t *store;

  roots.xdg_config_home = apr_pstrcat(pool, root, "/xdg", NULL);
  store = open_store();
  cr_assert_str_eq(tsp_settings_location(store, TS_SCOPE_USER),
                   apr_pstrcat(pool, root, "/xdg/tessera/environment", NULL));
}

Test(posix_store, provenance_and_precedence)
{
  tsp_settings_t *store = open_store();
  ts_settings_t *s;
  const ts_setting_value_t *v;

  ok(ts_settings_resolve(&s, store, pool, pool));
  v = ts_settings_get(s, "INOHOST");
  cr_assert_str_eq(v->value, "localhost.17000");
  cr_assert_eq(v->source, TSP_SRC_DEFAULT);
  cr_assert_str_eq(ts_settings_get(s, "INOAGENTPORT")->value, "17003");

  ok(ts_settings_set(store, TS_SCOPE_ALL, "INOHOST", "lic2.20000", pool));
  ok(ts_settings_resolve(&s, store, pool, pool));
  v = ts_settings_get(s, "INOHOST");
  cr_assert_eq(v->source, TSP_SRC_SYSTEM_FILE);
  cr_assert_str_eq(v->location, tsp_settings_location(store, TS_SCOPE_ALL));
  cr_assert_str_eq(ts_settings_get(s, "INOAGENTPORT")->value, "20003",
                   "the agent port follows INOHOST");

  ok(ts_settings_set(store, TS_SCOPE_USER, "INOHOST", "lic1.17000", pool));
  ok(ts_settings_resolve(&s, store, pool, pool));
  cr_assert_eq(ts_settings_get(s, "INOHOST")->source, TSP_SRC_USER_FILE);

  setenv("INOHOST", "env1.18000", 1);
  ok(ts_settings_resolve(&s, store, pool, pool));
  v = ts_settings_get(s, "INOHOST");
  cr_assert_str_eq(v->value, "env1.18000");
  cr_assert_eq(v->source, TSP_SRC_PROCESS_ENV);
  cr_assert_str_eq(ts_source_name(v->source), "process environment");
  unsetenv("INOHOST");
}

Test(posix_store, invalid_stored_value_is_reported_not_fatal)
{
  tsp_settings_t *store = open_store();
  ts_settings_t *s;

  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOHOST", "lic1.80", pool));
  ok(ts_settings_resolve(&s, store, pool, pool));
  cr_assert(strstr(ts_settings_get(s, "INOHOST")->problem, "1024..64000"));
  cr_assert_eq(ts_settings_port(s), 0);
}

Test(posix_store, agent_port_must_not_take_another_components_port)
{
  tsp_settings_t *store = open_store();
  ts_error_t *err;

  err = ts_settings_set(store, TS_SCOPE_USER, "INOAGENTPORT", "17002", pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "the port of the hub"));
  ts_error_clear(err);
  ok(ts_settings_set(store, TS_SCOPE_USER, "INOAGENTPORT", "17100", pool));
  /* moving p so that 17100 becomes p+1 would break the agent: refused */
  err = ts_settings_set(store, TS_SCOPE_USER, "INOHOST", "lic1.17099", pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "would make INOAGENTPORT "
                   "invalid"), "%s", ts_error_text(err, pool));
  ts_error_clear(err);
}

/* What sh sees after sourcing FILE. */
static const char *
sh_value(const char *file, const char *name)
{
  char *cmd = apr_psprintf(pool, "sh -c '. \"$0\"; printf %%s \"$%s\"' '%s'",
                           name, file);
  FILE *p = popen(cmd, "r");
  char buf[4096];
  size_t n;

  cr_assert_not_null(p);
  n = fread(buf, 1, sizeof(buf) - 1, p);
  buf[n] = '\0';
  cr_assert_eq(pclose(p), 0, "sh could not source %s", file);
  return apr_pstrdup(pool, buf);
}

Test(posix_store, sh_reads_back_every_value_unchanged)
{
  static const char *const values[] = {
    "/srv/my projects/it's \"quoted\" $HOME ${X} `id` \\back\\slash",
    "plain", "", "semi;colon&amp|pipe>gt<lt", "tab\there", "# not a comment",
    "trailing space ", "äöü UTF-8 ✓" };
  tsp_settings_t *store = open_store();
  const char *file = tsp_settings_location(store, TS_SCOPE_USER);

  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    if (strchr(values[i], '\t'))
      continue;   /* a control character: refused, tested elsewhere */
    ok(tsp_settings_write(store, TS_SCOPE_USER, "INOPRJ", values[i], pool));
    cr_assert_str_eq(sh_value(file, "INOPRJ"), values[i]);
  }
}

Test(posix_store, environment_d_leaves_out_values_it_would_expand)
{
  tsp_settings_t *store = open_store();
  const char *text;

  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOPRJ", "/srv/$x", pool));
  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOHOST", "lic1.17000",
                        pool));
  text = read_file(apr_pstrcat(pool, root,
                   "/home/.config/environment.d/60-tessera.conf", NULL));
  cr_assert(strstr(text, "# INOPRJ is not mirrored"));
  cr_assert(strstr(text, "INOHOST=\"lic1.17000\""));
}

Test(posix_store, comments_and_unknown_lines_are_kept)
{
  tsp_settings_t *store = open_store();
  const char *file = tsp_settings_location(store, TS_SCOPE_ALL);
  const char *before = "# site settings, see ticket 42\nPROXY_OPTS=x\n"
                       "INOHOST=old.17000\n";

  ok(ts_dir_make(apr_pstrcat(pool, root, "/etc/tessera", NULL), TS_FPROT_DIR,
                 pool));
  ok(ts_file_replace(file, before, strlen(before), TS_FPROT_FILE, pool));
  ok(tsp_settings_write(store, TS_SCOPE_ALL, "INOHOST", "lic1.17000", pool));
  cr_assert_str_eq(read_file(file), "# site settings, see ticket 42\n"
                   "PROXY_OPTS=x\nINOHOST=\"lic1.17000\"\n");
}

static void
writer(tsp_settings_t *store, const char *name, int rounds)
{
  for (int i = 0; i < rounds; i++) {
    ts_error_t *err = tsp_settings_write(store, TS_SCOPE_USER, name,
                                         apr_itoa(pool, i), pool);
    if (err)
      _exit(1);
  }
  _exit(0);
}

Test(posix_store, concurrent_writers_lose_nothing)
{
  tsp_settings_t *store = open_store();
  static const char *const names[] = { "INOHOST", "INOPRJ", "INOLIC",
                                       "INODIR" };
  pid_t pids[4];
  apr_hash_t *values;
  int status;

  for (int i = 0; i < 4; i++)
    if ((pids[i] = fork()) == 0)
      writer(store, names[i], 100);
  for (int i = 0; i < 4; i++) {
    cr_assert_eq(waitpid(pids[i], &status, 0), pids[i]);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
  for (int i = 0; i < 4; i++)
    cr_assert_str_eq(apr_hash_get(values, names[i], APR_HASH_KEY_STRING),
                     "99", "%s lost", names[i]);
}

Test(posix_store, kill_9_mid_write_leaves_old_or_new_file)
{
  tsp_settings_t *store = open_store();
  const char *file = tsp_settings_location(store, TS_SCOPE_USER);
  /* Big values make every write take long enough to be interrupted. */
  char *a = apr_palloc(pool, 200001), *b = apr_palloc(pool, 200001);

  memset(a, 'a', 200000); a[200000] = '\0';
  memset(b, 'b', 200000); b[200000] = '\0';
  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOPRJ", a, pool));
  for (int round = 0; round < 40; round++) {
    pid_t pid = fork();
    apr_hash_t *values;
    const char *v;

    if (pid == 0) {
      for (int i = 0;; i++)
        if (tsp_settings_write(store, TS_SCOPE_USER, "INOPRJ",
                               i % 2 ? a : b, pool))
          _exit(1);
    }
    usleep(1000 + (round * 997) % 20000);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
    v = apr_hash_get(values, "INOPRJ", APR_HASH_KEY_STRING);
    cr_assert_not_null(v, "round %d: %s has no INOPRJ", round, file);
    cr_assert(strcmp(v, a) == 0 || strcmp(v, b) == 0,
              "round %d: partial value of %zu bytes", round, strlen(v));
  }
}

Test(posix_store, malformed_file_names_file_and_line_and_blocks_writes)
{
  tsp_settings_t *store = open_store();
  const char *file = tsp_settings_location(store, TS_SCOPE_USER);
  const char *bad = "INOHOST=lic1.17000\nINOPRJ=\"/srv/$x\"\n";
  apr_hash_t *values;
  ts_error_t *err;

  ok(ts_dir_make(apr_pstrcat(pool, root, "/home/.config/tessera", NULL),
                 TS_FPROT_DIR, pool));
  ok(ts_file_replace(file, bad, strlen(bad), TS_FPROT_FILE, pool));
  err = tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool),
                   apr_psprintf(pool, "%s line 2 is malformed", file)),
            "%s", ts_error_text(err, pool));
  ts_error_clear(err);
  err = tsp_settings_write(store, TS_SCOPE_USER, "INOLANG", "de", pool);
  cr_assert_not_null(err, "a write over a malformed file must fail");
  ts_error_clear(err);
  cr_assert_str_eq(read_file(file), bad, "the file was changed");
}

Test(posix_store, file_that_is_a_directory_is_a_clear_error)
{
  tsp_settings_t *store = open_store();
  const char *file = tsp_settings_location(store, TS_SCOPE_USER);
  apr_hash_t *values;
  ts_error_t *err;

  ok(ts_dir_make(file, TS_FPROT_DIR, pool));
  err = tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), file));
  cr_assert(strstr(ts_error_text(err, pool), "not a regular file"));
  ts_error_clear(err);
}

/* Real permissions need a process that is not root: the child drops to
 * nobody, then reads a file only root may read and writes the all-users
 * scope. */
Test(posix_store, unreadable_file_and_unwritable_scope_as_nobody)
{
  tsp_settings_t *store = open_store();
  const char *file = tsp_settings_location(store, TS_SCOPE_USER);
  pid_t pid;
  int status;

  cr_assert_eq(geteuid(), 0, "this test needs root to create a user "
               "context it can drop to (CI runs as root)");
  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOHOST", "lic1.17000",
                        pool));
  chmod(file, 0600);
  chmod(root, 0755);
  pid = fork();
  if (pid == 0) {
    apr_hash_t *values;
    ts_error_t *err;
    if (setgid(65534) || setuid(65534))
      _exit(10);
    err = tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool);
    if (!err || ts_error_exit_status(err) != TS_EX_NOPERM
        || !strstr(ts_error_text(err, pool), file))
      _exit(11);
    ts_error_clear(err);
    err = tsp_settings_write(store, TS_SCOPE_ALL, "INOHOST", "lic1.17000",
                             pool);
    if (!err || ts_error_code(err) != TS_EPERM
        || !strstr(ts_error_text(err, pool), "no permission to change the "
                   "all-users settings"))
      _exit(12);
    ts_error_clear(err);
    _exit(0);
  }
  cr_assert_eq(waitpid(pid, &status, 0), pid);
  cr_assert(WIFEXITED(status));
  cr_assert_eq(WEXITSTATUS(status), 0, "child step %d failed",
               WEXITSTATUS(status));
  cr_assert_eq(access(apr_pstrcat(pool, root, "/etc/tessera/environment",
                                  NULL), F_OK), -1, "nothing written");
}

/* ---- whole sentences (issue 16) ------------------------------------------
 * In the made-up language "xx" (pseudo_lang.h) Tessera's own words come
 * out in capitals: which settings could not be changed is part of the
 * sentence, not an English phrase put into it. */
#include <apr_user.h>
#include "pseudo_lang.h"

static apr_status_t
mktemp_denied(apr_file_t **file, char *templ, apr_int32_t flags,
              apr_pool_t *p)
{
  (void)file;
  (void)templ;
  (void)flags;
  (void)p;
  return tsp_fault_status(TSP_FAULT_ACCESS_DENIED);
}

Test(posix_store, no_permission_is_told_in_whole_sentences)
{
  tsp_settings_t *store = open_store();
  const char *text, *leak, *all = tsp_settings_location(store, TS_SCOPE_ALL);
  char os[120], *me;
  apr_uid_t uid;
  apr_gid_t gid;
  ts_error_t *err;

  pseudo_lang_speak(pool);
  cr_assert_eq(apr_uid_current(&uid, &gid, pool), APR_SUCCESS);
  cr_assert_eq(apr_uid_name_get(&me, uid, pool), APR_SUCCESS);
  tsp_sys.file_mktemp = mktemp_denied;
  err = tsp_settings_write(store, TS_SCOPE_ALL, "INOHOST", "lic1.17000",
                           pool);
  tsp_sys_reset();
  cr_assert_not_null(err);
  cr_assert_eq(ts_error_code(err), TS_EPERM);
  text = ts_error_message(err, pool);
  cr_assert(strstr(text, "NO PERMISSION TO CHANGE THE ALL-USERS SETTINGS "
                   "IN "), "%s", text);
  leak = pseudo_lang_leak(text, (const char *const[]){ all, ".tmp.*",
                          roots.sysconfdir, "/tessera", me, apr_strerror(
                          tsp_fault_status(TSP_FAULT_ACCESS_DENIED), os,
                          sizeof(os)), NULL }, pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  ts_error_clear(err);
}

/* The agent's port that a change of INOHOST would make the bus's: said
 * with the change (setting, removing) and the component in the
 * sentence, and as the setting's problem for people. */
Test(posix_store, breaking_the_agent_port_is_told_in_whole_sentences)
{
  tsp_settings_t *store = open_store();
  const ts_setting_value_t *agent;
  const char *text, *leak;
  ts_settings_t *s;
  ts_error_t *err;
  int removed;

  pseudo_lang_speak(pool);
  ok(ts_settings_set(store, TS_SCOPE_USER, "INOAGENTPORT", "17100", pool));
  /* the all-users INOHOST (written past the check) takes it */
  ok(tsp_settings_write(store, TS_SCOPE_ALL, "INOHOST", "lic1.17099",
                        pool));
  ok(ts_settings_resolve(&s, store, pool, pool));
  agent = ts_settings_get(s, "INOAGENTPORT");
  cr_assert(strstr(agent->problem, "INOAGENTPORT 17100 is the port of the "
                   "bus (p+1 with p = 17099 from INOHOST)"), "%s",
            agent->problem);
  cr_assert(strstr(agent->problem_message, "INOAGENTPORT 17100 IS THE PORT "
                   "OF THE BUS (P+1 WITH P = 17099 FROM INOHOST)"), "%s",
            agent->problem_message);
  ok(ts_settings_set(store, TS_SCOPE_USER, "INOHOST", "lic1.17000", pool));

  err = ts_settings_set(store, TS_SCOPE_USER, "INOHOST", "lic1.17099", pool);
  cr_assert_not_null(err);
  text = ts_error_message(err, pool);
  cr_assert(strstr(text, "SETTING INOHOST 'lic1.17099' WOULD MAKE "
                   "INOAGENTPORT INVALID: INOAGENTPORT 17100 IS THE PORT OF "
                   "THE BUS"), "%s", text);
  leak = pseudo_lang_leak(text, (const char *const[]){ "'lic1.17099'",
                          NULL }, pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  cr_assert(strstr(ts_error_text(err, pool), "setting INOHOST 'lic1.17099' "
                   "would make INOAGENTPORT invalid: INOAGENTPORT 17100 is "
                   "the port of the bus"), "%s", ts_error_text(err, pool));
  ts_error_clear(err);

  err = ts_settings_unset(&removed, store, TS_SCOPE_USER, "INOHOST", pool);
  cr_assert_not_null(err);
  text = ts_error_message(err, pool);
  cr_assert(strstr(text, "REMOVING INOHOST WOULD MAKE INOAGENTPORT INVALID: "
                   "INOAGENTPORT 17100 IS THE PORT OF THE BUS"), "%s", text);
  leak = pseudo_lang_leak(text, NULL, pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  ts_error_clear(err);
}

/* An invalid stored value said for people: where it came from is part
 * of the sentence (was the English label "user file" put in). */
Test(posix_store, an_invalid_setting_is_told_in_whole_sentences)
{
  tsp_settings_t *store = open_store();
  const char *file = tsp_settings_location(store, TS_SCOPE_USER);
  const char *text, *leak;
  ts_settings_t *s;
  ts_error_t *err;

  pseudo_lang_speak(pool);
  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOHOST", "lic1.80", pool));
  ok(ts_settings_resolve(&s, store, pool, pool));
  cr_assert_null(ts_setting_invalid(s, ts_settings_get(s, "INOLIC"), pool));
  err = ts_setting_invalid(s, ts_settings_get(s, "INOHOST"), pool);
  cr_assert_not_null(err);
  cr_assert_eq(ts_error_exit_status(err), TS_EX_CONFIG);
  text = ts_error_message(err, pool);
  cr_assert(strstr(text, apr_psprintf(pool, "INOHOST 'lic1.80' FROM THE "
                   "USER FILE (%s) IS INVALID: THE PORT 80 MUST LIE IN "
                   "1024..64000", file)), "%s", text);
  leak = pseudo_lang_leak(text, (const char *const[]){ "'lic1.80'", file,
                          NULL }, pool);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
  cr_assert(strstr(ts_error_text(err, pool), apr_psprintf(pool, "INOHOST "
                   "'lic1.80' from the user file (%s) is invalid: the port "
                   "80 must lie in 1024..64000", file)), "%s",
            ts_error_text(err, pool));
  ts_error_clear(err);
}
