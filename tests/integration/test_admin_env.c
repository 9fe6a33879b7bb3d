/* test_admin_env.c: `tessera-admin env` and `ports` end to end through the
 * real binary, as an administrator uses them: exit codes, the JSON output
 * parsed, and nothing written when a change is refused. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <apr_general.h>

#include "run.h"

static char root[] = "/tmp/tessera-admin-XXXXXX";
static char home[256], etc[256], userfile[300], sysfile[300];

static void
setup(void)
{
  apr_initialize();
  cr_assert_not_null(mkdtemp(root));
  chmod(root, 0755);
  snprintf(home, sizeof(home), "%s/home", root);
  snprintf(etc, sizeof(etc), "%s/etc", root);
  snprintf(userfile, sizeof(userfile), "%s/.config/tessera/environment",
           home);
  snprintf(sysfile, sizeof(sysfile), "%s/tessera/environment", etc);
  mkdir(home, 0755);
  mkdir(etc, 0755);
}

static void
teardown(void)
{
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_terminate();
}

TestSuite(admin_env, .init = setup, .fini = teardown, .timeout = 60);

/* Run tessera-admin with ARGS as USER (NULL: as we are), in the test's
 * HOME and /etc, plus EXTRA ("NAME=value" or NULL). */
static run_result_t
admin_as(const char *user, const char *extra, const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN };
  char h[300], e[300], a[512], u[512];
  const char *env[8] = { "PATH=/usr/bin:/bin", h, e };
  int n = 3, i;

  snprintf(h, sizeof(h), "HOME=%s", home);
  snprintf(e, sizeof(e), "TESSERA_SYSCONFDIR=%s", etc);
  if (getenv("ASAN_OPTIONS")) {
    snprintf(a, sizeof(a), "ASAN_OPTIONS=%s", getenv("ASAN_OPTIONS"));
    env[n++] = a;
  }
  if (getenv("UBSAN_OPTIONS")) {
    snprintf(u, sizeof(u), "UBSAN_OPTIONS=%s", getenv("UBSAN_OPTIONS"));
    env[n++] = u;
  }
  if (extra)
    env[n++] = extra;
  for (i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  return run(argv, env, user);
}

#define ADMIN(...) admin_as(NULL, NULL, (const char *[]){ __VA_ARGS__, NULL })

static char *
slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;

  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  rewind(f);
  buf = calloc(1, (size_t)n + 1);
  cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return buf;
}

static json_t *
setting(json_t *show, const char *name)
{
  size_t i;
  json_t *v;

  json_array_foreach(json_object_get(show, "settings"), i, v)
    if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
      return v;
  cr_assert_fail("no %s in env show --json", name);
  return NULL;
}

static json_t *
show_json(void)
{
  run_result_t r = ADMIN("env", "show", "--json");
  json_error_t jerr;
  json_t *j;

  cr_assert_eq(r.status, 0, "env show: %d %s", r.status, r.err);
  j = json_loads(r.out, 0, &jerr);
  cr_assert_not_null(j, "env show --json is not JSON: %s\n%s", jerr.text,
                     r.out);
  run_free(&r);
  return j;
}

Test(admin_env, set_user_then_show_json_names_the_user_file)
{
  run_result_t r = ADMIN("env", "set", "INOHOST", "lic1.17000", "--scope",
                         "user");
  json_t *show, *v;

  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, userfile), "%s", r.out);
  run_free(&r);
  show = show_json();
  v = setting(show, "INOHOST");
  cr_assert_str_eq(json_string_value(json_object_get(v, "value")),
                   "lic1.17000");
  cr_assert_str_eq(json_string_value(json_object_get(v, "source")),
                   "user file");
  cr_assert_str_eq(json_string_value(json_object_get(v, "location")),
                   userfile);
  cr_assert(json_is_true(json_object_get(v, "restart_required")));
  cr_assert_str_eq(json_string_value(json_object_get(
                   setting(show, "INOLANG"), "source")), "default");
  json_decref(show);
}

Test(admin_env, bad_port_is_refused_and_nothing_is_written)
{
  run_result_t r = ADMIN("env", "set", "INOHOST", "lic1.17000", "--scope",
                         "user");
  char *before, *after;

  cr_assert_eq(r.status, 0);
  run_free(&r);
  before = slurp(userfile);
  r = ADMIN("env", "set", "INOHOST", "lic1.80", "--scope", "user");
  cr_assert_eq(r.status, 65, "exit %d, want EX_DATAERR", r.status);
  cr_assert(strstr(r.err, "must lie in 1024..64000"), "%s", r.err);
  cr_assert(strstr(r.err, "example: tessera-admin env set INOHOST "
                   "lic1.17000"), "%s", r.err);
  after = slurp(userfile);
  cr_assert_str_eq(after, before);
  free(before);
  free(after);
  run_free(&r);

  /* with no file yet, a refusal creates none */
  r = ADMIN("env", "set", "INOLIC", "relative/dir", "--scope", "all");
  cr_assert_eq(r.status, 65);
  cr_assert(strstr(r.err, "not an absolute path"), "%s", r.err);
  cr_assert_eq(access(sysfile, F_OK), -1);
  run_free(&r);
}

Test(admin_env, all_users_scope_without_rights_is_ex_noperm)
{
  run_result_t r;

  chown(home, 65534, 65534);
  r = admin_as("nobody", NULL, (const char *[]){ "env", "set", "INOHOST",
               "lic1.17000", "--scope", "all", NULL });
  cr_assert_eq(r.status, 77, "exit %d, want EX_NOPERM: %s", r.status,
               r.err);
  cr_assert(strstr(r.err, "sudo tessera-admin env set INOHOST lic1.17000 "
                   "--scope all"), "%s", r.err);
  cr_assert(strstr(r.err, "--scope user"), "%s", r.err);
  cr_assert_eq(access(sysfile, F_OK), -1, "nothing may be written");
  run_free(&r);

  /* the same user may keep the setting for themselves */
  r = admin_as("nobody", NULL, (const char *[]){ "env", "set", "INOHOST",
               "lic1.17000", NULL });
  cr_assert_eq(r.status, 0, "default scope of a normal user: %s", r.err);
  cr_assert_eq(access(userfile, F_OK), 0);
  run_free(&r);
}

Test(admin_env, process_environment_overrides_and_says_so)
{
  run_result_t r = ADMIN("env", "set", "INOHOST", "lic1.17000", "--scope",
                         "user");
  run_free(&r);
  r = admin_as(NULL, "INOHOST=env1.18000",
               (const char *[]){ "env", "show", "--json", NULL });
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "\"value\": \"env1.18000\""), "%s", r.out);
  cr_assert(strstr(r.out, "\"source\": \"process environment\""), "%s",
            r.out);
  run_free(&r);
  r = admin_as(NULL, "INOHOST=env1.18000",
               (const char *[]){ "env", "set", "INOHOST", "lic2.17000",
                                 "--scope", "user", NULL });
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.err, "process environment"), "%s", r.err);
  run_free(&r);
}

Test(admin_env, get_unset_and_scopes)
{
  run_result_t r = ADMIN("env", "set", "INOLANG", "de", "--scope", "all");
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  r = ADMIN("env", "get", "INOLANG");
  cr_assert_eq(r.status, 0);
  cr_assert_str_eq(r.out, "de\n");
  run_free(&r);
  /* the stored INOLANG=de is spoken until it is gone: this run still
   * answers in German */
  r = ADMIN("env", "unset", "INOLANG", "--scope", "all");
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "INOLANG aus ") && strstr(r.out, " entfernt"),
            "%s", r.out);
  run_free(&r);
  r = ADMIN("env", "get", "INOLANG");
  cr_assert_str_eq(r.out, "en\n");
  run_free(&r);
  r = ADMIN("env", "unset", "INOLANG", "--scope", "all");
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "nothing changed"), "%s", r.out);
  run_free(&r);
}

Test(admin_env, invalid_stored_value_shows_with_ex_config)
{
  run_result_t r;

  {
    char dir[300];
    FILE *f;
    snprintf(dir, sizeof(dir), "%s/tessera", etc);
    mkdir(dir, 0755);
    f = fopen(sysfile, "w");
    fputs("INOHOST=lic1.80\n", f);
    fclose(f);
  }
  r = ADMIN("env", "show");
  cr_assert_eq(r.status, 78, "exit %d, want EX_CONFIG", r.status);
  cr_assert(strstr(r.out, "! invalid: the port 80 must lie"), "%s", r.out);
  run_free(&r);
  r = ADMIN("ports");
  cr_assert_eq(r.status, 78);
  cr_assert(strstr(r.err, "INOHOST 'lic1.80' from the system file"), "%s",
            r.err);
  run_free(&r);
}

Test(admin_env, malformed_file_is_named_with_its_line)
{
  char dir[300];
  FILE *f;
  run_result_t r;

  snprintf(dir, sizeof(dir), "%s/tessera", etc);
  mkdir(dir, 0755);
  f = fopen(sysfile, "w");
  fputs("# ok\nINOHOST=lic1 17000\n", f);
  fclose(f);
  r = ADMIN("env", "show");
  cr_assert_eq(r.status, 78, "EX_CONFIG, as for an invalid stored value: "
               "%d %s", r.status, r.err);
  cr_assert(strstr(r.err, "line 2 is malformed"), "%s", r.err);
  cr_assert(strstr(r.err, sysfile), "%s", r.err);
  run_free(&r);
  r = ADMIN("env", "get", "INOLANG");
  cr_assert_eq(r.status, 78, "%d %s", r.status, r.err);
  run_free(&r);
}

/* A valid value is not blamed for the file's fault: the refusal names the
 * malformed file and its line, and nothing is written. */
Test(admin_env, set_with_a_malformed_file_names_the_file_not_the_value)
{
  char dir[300], *before, *after;
  FILE *f;
  run_result_t r;

  snprintf(dir, sizeof(dir), "%s/tessera", etc);
  mkdir(dir, 0755);
  f = fopen(sysfile, "w");
  fputs("# ok\nINOHOST=lic1 17000\n", f);
  fclose(f);
  before = slurp(sysfile);
  r = ADMIN("env", "set", "INOLANG", "en", "--scope", "user");
  cr_assert_eq(r.status, 78, "%d %s", r.status, r.err);
  cr_assert(strstr(r.err, "cannot set INOLANG: nothing was written"), "%s",
            r.err);
  cr_assert(strstr(r.err, sysfile) && strstr(r.err, "line 2 is malformed"),
            "%s", r.err);
  cr_assert_null(strstr(r.err, "format:"), "the value is blamed: %s",
                 r.err);
  cr_assert_null(strstr(r.err, "a language code"), "%s", r.err);
  run_free(&r);
  cr_assert_null(slurp(userfile), "the user file was written");
  after = slurp(sysfile);
  cr_assert_str_eq(after, before);
  free(before);
  free(after);
}

Test(admin_env, ports_plan_json)
{
  run_result_t r = ADMIN("env", "set", "INOHOST", "lic1.20000", "--scope",
                         "user");
  json_t *j, *ports;

  run_free(&r);
  r = ADMIN("ports", "--json", "--models", "10");
  cr_assert_eq(r.status, 0, "%s", r.err);
  j = json_loads(r.out, 0, NULL);
  cr_assert_not_null(j, "%s", r.out);
  cr_assert_eq(json_integer_value(json_object_get(j, "p")), 20000);
  ports = json_object_get(j, "ports");
  cr_assert_eq(json_array_size(ports), 7);
  cr_assert_eq(json_integer_value(json_object_get(json_array_get(ports, 1),
                                                  "first")), 20001);
  cr_assert_eq(json_integer_value(json_array_get(json_object_get(j,
               "firewall"), 1)), 20015);
  json_decref(j);
  run_free(&r);
}

Test(admin_env, usage_errors_and_help)
{
  static const char *const helps[][4] = {
    { "--help" }, { "env", "--help" }, { "ports", "--help" },
    { "env", "show", "--help" }, { "env", "set", "--help" } };
  run_result_t r;

  for (size_t i = 0; i < sizeof(helps) / sizeof(helps[0]); i++) {
    r = admin_as(NULL, NULL, (const char *const *)helps[i]);
    cr_assert_eq(r.status, 0, "help %zu", i);
    cr_assert(strstr(r.out, "usage: tessera-admin"), "help %zu: %s", i,
              r.out);
    run_free(&r);
  }
  r = ADMIN("frobnicate");
  cr_assert_eq(r.status, 64);
  cr_assert(strstr(r.err, "unknown command 'frobnicate'"));
  run_free(&r);
  r = ADMIN("env", "set", "INOHOST");
  cr_assert_eq(r.status, 64);
  run_free(&r);
  r = ADMIN("env", "set", "NOPE", "x");
  cr_assert_eq(r.status, 64);
  cr_assert(strstr(r.err, "'NOPE' is not a Tessera setting"));
  run_free(&r);
  r = ADMIN("env", "show", "--scope", "everyone");
  cr_assert_eq(r.status, 64);
  run_free(&r);
}

/* The firewall rules load into a real nftables (in a network namespace of
 * the test's own, so the machine's rules are untouched). */
Test(admin_env, firewall_rules_load_into_nftables)
{
  run_result_t r = ADMIN("ports", "--firewall", "nftables", "--models",
                         "10");
  char path[400], cmd[1200];
  FILE *f;

  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "tcp dport { 17000-17015 } accept"), "%s", r.out);
  snprintf(path, sizeof(path), "%s/tessera.nft", root);
  f = fopen(path, "w");
  fputs(r.out, f);
  fclose(f);
  /* as printed, into a machine without any rules: the table and the
   * chain the rule needs are created */
  snprintf(cmd, sizeof(cmd), "unshare -n sh -c 'nft -c -f %s && nft -f %s "
           "&& nft list ruleset' | grep -q 'tcp dport 17000-17015 accept "
           "comment \"Tessera\"'", path, path);
  cr_assert_eq(system(cmd), 0, "nft refused or lost the rule:\n%s", r.out);
  /* beside an existing table inet filter whose input chain drops: the
   * rule joins it, the chain's policy stays */
  snprintf(cmd, sizeof(cmd), "unshare -n sh -c 'nft \"add table inet filter; "
           "add chain inet filter input { type filter hook input priority "
           "filter; policy drop; }\" && nft -f %s && nft list ruleset' > "
           "%s/ruleset", path, root);
  cr_assert_eq(system(cmd), 0, "nft refused the rules:\n%s", r.out);
  {
    char rs[400], *text;
    snprintf(rs, sizeof(rs), "%s/ruleset", root);
    text = slurp(rs);
    cr_assert(strstr(text, "policy drop;") && strstr(text, "tcp dport "
              "17000-17015 accept comment \"Tessera\""), "%s", text);
    free(text);
  }
  /* and where the rule is printed, what it needs is said */
  cr_assert(strstr(r.out, "# inet filter; the two lines before it create "
                   "the table and the chain where"), "%s", r.out);
  run_free(&r);

  r = ADMIN("ports", "--models", "1");
  cr_assert(strstr(r.out, "(p..p+5 and 1 model server)."), "%s", r.out);
  run_free(&r);
  r = ADMIN("ports", "--firewall", "ufw");
  cr_assert(strstr(r.out, "ufw allow 17000:17025/tcp"), "%s", r.out);
  run_free(&r);
  r = ADMIN("ports", "--firewall", "netsh");
  cr_assert(strstr(r.out, "localport=17000-17025"), "%s", r.out);
  run_free(&r);
  r = ADMIN("ports", "--firewall", "iptables");
  cr_assert_eq(r.status, 64);
  run_free(&r);
}

/* license import through the real binary: a good license is installed in
 * INOLIC; a tampered one or one for another host is refused and the
 * installed file stays as it was. */
Test(admin_env, license_import_installs_only_valid_licenses)
{
  char lic[300], out[400], bad[400], env_lic[320];
  char *before, *after, *text;
  run_result_t r;
  FILE *f;

  snprintf(lic, sizeof(lic), "%s/lic", root);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s", lic);
  snprintf(out, sizeof(out), "%s/demo.lic", root);
  r = ADMIN("license", "issue", "--demo-key", "--host", "localhost",
            "--licensee", "Demo", "--product", "demo:10:2099-12-31",
            "--out", out);
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  r = admin_as(NULL, env_lic, (const char *[]){ "license", "import", out,
                                                NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  snprintf(bad, sizeof(bad), "%s/tessera.lic", lic);
  before = slurp(bad);
  cr_assert_not_null(before);

  /* tampered: more seats */
  text = slurp(out);
  strstr(text, "seats=\"10\"")[8] = '9';
  snprintf(bad, sizeof(bad), "%s/tampered.lic", root);
  f = fopen(bad, "w");
  fputs(text, f);
  fclose(f);
  free(text);
  r = admin_as(NULL, env_lic, (const char *[]){ "license", "import", bad,
                                                NULL });
  cr_assert_eq(r.status, 65, "%s", r.err);
  cr_assert(strstr(r.err, "the installed license is unchanged"), "%s",
            r.err);
  cr_assert(strstr(r.err, "has been changed since it was signed"), "%s",
            r.err);
  run_free(&r);

  /* another host */
  r = admin_as(NULL, "INOHOST=lic9.17000", (const char *[]){ "license",
               "show", out, NULL });
  cr_assert_eq(r.status, 65);
  cr_assert(strstr(r.err, "bound to host localhost, this is lic9"), "%s",
            r.err);
  run_free(&r);

  snprintf(bad, sizeof(bad), "%s/tessera.lic", lic);
  after = slurp(bad);
  cr_assert_str_eq(after, before, "the installed license changed");
  free(before);
  free(after);
}

/* An 80 KB license whose one entity, referenced 10,000 times in an
 * attribute, expands to 500 MB kept `license show` busy for minutes:
 * it is refused at its DOCTYPE, with the line to remove. */
Test(admin_env, license_show_refuses_a_doctype)
{
  char path[300];
  run_result_t r;
  FILE *f;

  snprintf(path, sizeof(path), "%s/bloated.lic", root);
  f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("<?xml version=\"1.0\"?>\n<!DOCTYPE license [\n<!ENTITY a \"", f);
  for (int i = 0; i < 50000; i++)
    fputc('x', f);
  fputs("\">\n]>\n<license xmlns=\"urn:tessera:license:1\" version=\"1\" "
        "id=\"", f);
  for (int i = 0; i < 10000; i++)
    fputs("&a;", f);
  fputs("\" issued=\"2026-01-01T00:00:00Z\"><licensee>l</licensee>"
        "<host>localhost</host></license>\n", f);
  cr_assert_gt(ftell(f), 80000);
  fclose(f);
  r = ADMIN("license", "show", path);
  cr_assert_eq(r.status, 65, "%s", r.err);
  cr_assert(strstr(r.err, "bloated.lic line 2: a DOCTYPE is not allowed in "
                   "a license file (its entities could make the file expand "
                   "without bound); remove the <!DOCTYPE ...> declaration"),
            "%s", r.err);
  run_free(&r);
}

/* The id of a license issued without --id: two licenses for one host,
 * issued on one day, were both "<host>-<date>". */
Test(admin_env, licenses_issued_on_one_day_have_different_ids)
{
  char out[2][300];
  const char *ids[2];
  json_t *j[2];

  for (int i = 0; i < 2; i++) {
    run_result_t r;
    snprintf(out[i], sizeof(out[i]), "%s/l%d.lic", root, i);
    r = ADMIN("license", "issue", "--demo-key", "--host", "localhost",
              "--licensee", "Demo", "--product", "demo:10:2099-12-31",
              "--out", out[i]);
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    r = ADMIN("license", "show", out[i], "--json");
    cr_assert_eq(r.status, 0, "%s", r.err);
    j[i] = json_loads(r.out, 0, NULL);
    cr_assert_not_null(j[i], "%s", r.out);
    ids[i] = json_string_value(json_object_get(j[i], "id"));
    cr_assert_eq(strncmp(ids[i], "localhost-", 10), 0, "%s", ids[i]);
    run_free(&r);
  }
  cr_assert_str_neq(ids[0], ids[1]);
  json_decref(j[0]);
  json_decref(j[1]);
}

/* An agent port in the model-server range is accepted (it is no other
 * component's port), with a warning naming the range; it was silent. */
Test(admin_env, agent_port_in_the_model_server_range_is_warned)
{
  run_result_t r = ADMIN("env", "set", "INOAGENTPORT", "17010", "--scope",
                         "user");

  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.err, "warning: INOAGENTPORT 17010 (the agent's port) "
                   "lies in the model-server range 17006..17025"), "%s",
            r.err);
  cr_assert(strstr(r.err, "leave INOAGENTPORT unset (p+3 = 17003)"), "%s",
            r.err);
  run_free(&r);
  r = ADMIN("env", "set", "INOAGENTPORT", "17030", "--scope", "user");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert_null(strstr(r.err, "model-server range"), "%s", r.err);
  run_free(&r);
  /* a new p can bring the range to the agent's port */
  r = ADMIN("env", "set", "INOHOST", "localhost.17020", "--scope", "user");
  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.err, "INOAGENTPORT 17030 (the agent's port) lies in "
                   "the model-server range 17026..17045"), "%s", r.err);
  run_free(&r);
}

/* The README's exit codes that no other test holds: 66 without the file
 * a command reads, 69 when the license server does not answer. */
Test(admin_env, exit_codes_for_a_missing_file_and_a_server_that_is_down)
{
  char lic[300], env_lic[320], env_host[64], missing[300];
  run_result_t r;
  int p = run_free_port();

  snprintf(lic, sizeof(lic), "%s/lic", root);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s", lic);
  snprintf(missing, sizeof(missing), "%s/no-such.lic", root);
  r = admin_as(NULL, env_lic, (const char *[]){ "license", "show", NULL });
  cr_assert_eq(r.status, 66, "EX_NOINPUT: %d %s", r.status, r.err);
  cr_assert(strstr(r.err, "cannot read the license: cannot open"), "%s",
            r.err);
  run_free(&r);
  r = ADMIN("license", "import", missing);
  cr_assert_eq(r.status, 66, "EX_NOINPUT: %d %s", r.status, r.err);
  run_free(&r);

  /* nothing listens on p */
  snprintf(env_host, sizeof(env_host), "INOHOST=127.0.0.1.%d", p);
  for (int i = 0; i < 3; i++) {
    const char *const args[][3] = { { "status", NULL },
                                    { "sessions", "list", NULL },
                                    { "status", "--json", NULL } };
    r = admin_as(NULL, env_host, args[i]);
    cr_assert_eq(r.status, 69, "EX_UNAVAILABLE for %s: %d %s", args[i][0],
                 r.status, r.err);
    cr_assert(strstr(r.err, "does not answer; is it running?"), "%s",
              r.err);
    run_free(&r);
  }
}
