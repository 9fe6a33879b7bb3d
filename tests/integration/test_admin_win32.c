/* test_admin_win32.c: tessera-admin.exe end to end on Windows (under wine
 * in CI): `env set` writes the registry, `env show --json` reports the
 * value with HKCU or HKLM as its source, a refused value writes nothing;
 * doctor's network-drive and DACL checks.
 * The registry key is the test's own (TESSERA_REGISTRY_KEY). */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "run.h"

static char key[128], key_env[160];
static wchar_t wkey[128];

static void
setup(void)
{
  apr_initialize();
  snprintf(key, sizeof(key), "Software\\TesseraTest\\e2e-%lu",
           (unsigned long)GetCurrentProcessId());
  snprintf(key_env, sizeof(key_env), "TESSERA_REGISTRY_KEY=%s", key);
  swprintf(wkey, 128, L"Software\\TesseraTest\\e2e-%lu",
           (unsigned long)GetCurrentProcessId());
}

static void
teardown(void)
{
  HKEY roots[2] = { HKEY_CURRENT_USER, HKEY_LOCAL_MACHINE };
  for (int i = 0; i < 2; i++) {
    HKEY parent;
    if (RegOpenKeyExW(roots[i], L"Software\\TesseraTest", 0,
                      KEY_ALL_ACCESS | KEY_WOW64_64KEY, &parent) == 0) {
      RegDeleteTreeW(parent, wkey + wcslen(L"Software\\TesseraTest\\"));
      RegCloseKey(parent);
    }
  }
  apr_terminate();
}

TestSuite(admin_win32, .init = setup, .fini = teardown, .timeout = 120);

/* wine needs these to find the prefix's system directories */
static const char *const keep[] = { "SystemRoot", "windir", "TEMP", "TMP",
                                    "PATH", NULL };

static run_result_t
admin(const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN };

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  return run(argv, run_env(keep, key_env), NULL);
}
#define ADMIN(...) admin((const char *[]){ __VA_ARGS__, NULL })

static json_t *
show_setting(const char *name)
{
  run_result_t r = ADMIN("env", "show", "--json");
  json_t *j, *v, *found = NULL;
  size_t i;

  cr_assert_eq(r.status, 0, "env show: %d %s", r.status, r.err);
  j = json_loads(r.out, 0, NULL);
  cr_assert_not_null(j, "not JSON: %s", r.out);
  json_array_foreach(json_object_get(j, "settings"), i, v)
    if (strcmp(json_string_value(json_object_get(v, "name")), name) == 0)
      found = json_incref(v);
  json_decref(j);
  run_free(&r);
  cr_assert_not_null(found);
  return found;
}

Test(admin_win32, set_user_then_show_names_hkcu)
{
  run_result_t r = ADMIN("env", "set", "INOHOST", "lic1.17000", "--scope",
                         "user");
  json_t *v;

  cr_assert_eq(r.status, 0, "%s", r.err);
  cr_assert(strstr(r.out, "HKCU\\Software\\TesseraTest"), "%s", r.out);
  run_free(&r);
  v = show_setting("INOHOST");
  cr_assert_str_eq(json_string_value(json_object_get(v, "value")),
                   "lic1.17000");
  cr_assert_str_eq(json_string_value(json_object_get(v, "source")), "HKCU");
  json_decref(v);
}

Test(admin_win32, set_all_users_is_hklm_and_user_wins)
{
  run_result_t r = ADMIN("env", "set", "INOLANG", "de", "--scope", "all");
  json_t *v;

  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  v = show_setting("INOLANG");
  cr_assert_str_eq(json_string_value(json_object_get(v, "source")), "HKLM");
  json_decref(v);
  r = ADMIN("env", "set", "INOLANG", "en", "--scope", "user");
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  v = show_setting("INOLANG");
  cr_assert_str_eq(json_string_value(json_object_get(v, "source")), "HKCU");
  json_decref(v);
}

Test(admin_win32, bad_value_is_refused_and_nothing_written)
{
  run_result_t r = ADMIN("env", "set", "INOHOST", "lic1.80", "--scope",
                         "user");
  json_t *v;

  cr_assert_eq(r.status, 65, "exit %d: %s", r.status, r.err);
  cr_assert(strstr(r.err, "must lie in 1024..64000"), "%s", r.err);
  run_free(&r);
  v = show_setting("INOHOST");
  cr_assert_str_eq(json_string_value(json_object_get(v, "source")),
                   "default");
  json_decref(v);
}

/* doctor on Windows: INOPRJ on the network drive N: is an error there
 * (services refuse it), with the fix; a bus broker not on PATH is named
 * (and no Unix sbin directory is searched). */
Test(admin_win32, doctor_reports_a_project_on_a_network_drive)
{
  run_result_t r = ADMIN("env", "set", "INOPRJ", "N:\\projects", "--scope",
                         "user");
  json_t *j, *f;
  size_t i;
  int found = 0;

  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  r = ADMIN("doctor", "--json");
  cr_assert_eq(r.status, 78, "exit %d: %s", r.status, r.out);
  j = json_loads(r.out, 0, NULL);
  cr_assert_not_null(j, "%s", r.out);
  json_array_foreach(json_object_get(j, "findings"), i, f)
    if (strcmp(json_string_value(json_object_get(f, "check")),
               "network-drive") == 0
        && strcmp(json_string_value(json_object_get(f, "severity")),
                  "error") == 0
        && strstr(json_string_value(json_object_get(f, "message")),
                  "network drive"))
      found |= 1;
    else if (strcmp(json_string_value(json_object_get(f, "check")),
                    "bus") == 0
             && strstr(json_string_value(json_object_get(f, "message")),
                       "is not installed: not found on PATH;"))
      found |= 2;   /* no mosquitto.exe in the wine prefix */
  cr_assert_eq(found, 3, "%s", r.out);
  json_decref(j);
  run_free(&r);
}


/* DACL of SDDL on PATH (protected: nothing inherited from above). Under
 * wine the DACL is kept as Unix mode bits, so the test gives Everyone
 * read only, or Modify. */
static void
set_dacl(const char *path, const char *sddl)
{
  PSECURITY_DESCRIPTOR sd;
  BOOL present, defaulted;
  PACL dacl;
  DWORD rc;

  cr_assert(ConvertStringSecurityDescriptorToSecurityDescriptorA(
              sddl, SDDL_REVISION_1, &sd, NULL));
  cr_assert(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
  rc = SetNamedSecurityInfoA((char *)path, SE_FILE_OBJECT,
                             DACL_SECURITY_INFORMATION
                             | PROTECTED_DACL_SECURITY_INFORMATION, NULL,
                             NULL, dacl, NULL);
  cr_assert_eq(rc, 0, "SetNamedSecurityInfo %s: %lu", path, rc);
  LocalFree(sd);
}

/* The doctor findings of CHECK for SUBJECT, one line each:
 * "severity: message | fix". */
static char *
findings(const char *json, const char *check, const char *subject)
{
  json_t *j = json_loads(json, 0, NULL), *f;
  static char text[8192];
  size_t i;

  cr_assert_not_null(j, "%s", json);
  text[0] = '\0';
  json_array_foreach(json_object_get(j, "findings"), i, f) {
    const char *fix = json_string_value(json_object_get(f, "fix"));
    if (strcmp(json_string_value(json_object_get(f, "check")), check) != 0
        || strcmp(json_string_value(json_object_get(f, "subject")),
                  subject) != 0)
      continue;
    snprintf(text + strlen(text), sizeof(text) - strlen(text),
             "%s: %s | %s\n",
             json_string_value(json_object_get(f, "severity")),
             json_string_value(json_object_get(f, "message")),
             fix ? fix : "");
  }
  json_decref(j);
  return text;
}

/* doctor --account on Windows judges each DACL below INOPRJ for the
 * account's SIDs: LOCAL SERVICE reaches the files through Everyone; with
 * read only it may not use them and cannot create files in ivm (the fix
 * is an icacls command); with Modify it can; the owner always can. */
Test(admin_win32, doctor_judges_the_project_dacls_for_another_account)
{
  const char *ro = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;OW)";
  const char *rw = "D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;OW)(A;OICI;0x1301bf;;;WD)";
  const char *account = "NT AUTHORITY\\LOCAL SERVICE";
  char tmp[MAX_PATH], prj[MAX_PATH], me[256], *uuid;
  const char *entries[6];
  DWORD melen = sizeof(me);
  apr_pool_t *pool;
  run_result_t r;
  char *f;
  HANDLE h;

  apr_pool_create(&pool, NULL);
  GetTempPathA(sizeof(tmp), tmp);
  /* wine reuses process ids: a failed run may have left its tree */
  snprintf(prj, sizeof(prj), "%stessera-acl-%lu-%llu", tmp,
           (unsigned long)GetCurrentProcessId(),
           (unsigned long long)GetTickCount64());
  cr_assert(CreateDirectoryA(prj, NULL), "%s: %lu", prj, GetLastError());
  entries[0] = prj;
  entries[1] = apr_pstrcat(pool, prj, "\\ivm", NULL);
  entries[2] = apr_pstrcat(pool, prj, "\\ivm\\logs", NULL);
  entries[3] = apr_pstrcat(pool, prj, "\\repo1", NULL);
  entries[4] = apr_pstrcat(pool, prj, "\\repo1\\model.dat", NULL);
  entries[5] = uuid = apr_pstrcat(pool, prj, "\\demo.inoprj.uuid", NULL);
  cr_assert(CreateDirectoryA(entries[3], NULL));
  h = CreateFileA(entries[4], GENERIC_WRITE, 0, NULL, CREATE_NEW, 0, NULL);
  cr_assert_neq(h, INVALID_HANDLE_VALUE);
  CloseHandle(h);
  r = ADMIN("env", "set", "INOPRJ", prj, "--scope", "user");
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  r = ADMIN("project", "init", "--name", "demo");
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);

  for (int i = 0; i < 6; i++)
    set_dacl(entries[i], ro);
  r = ADMIN("doctor", "--json", "--account", account);
  f = findings(r.out, "permissions", account);
  cr_assert_eq(r.status, 78, "exit %d: %s", r.status, r.out);
  cr_assert(strstr(f, "error: the account NT AUTHORITY\\LOCAL SERVICE may "
                   "not use 6 of the 6 entries below INOPRJ"), "%s", f);
  cr_assert(strstr(f, apr_pstrcat(pool, "e.g. ", prj, ": no write", NULL)),
            "%s", f);
  cr_assert(strstr(f, "LOCAL SERVICE, Everyone"), "checked as: %s", f);
  cr_assert(strstr(f, "\\ivm: cannot create a file"), "%s", f);
  cr_assert(strstr(f, "\\ivm\\logs: cannot create a file"), "%s", f);
  cr_assert(strstr(f, "| icacls \""), "fix: %s", f);
  run_free(&r);

  for (int i = 0; i < 6; i++)
    set_dacl(entries[i], rw);
  r = ADMIN("doctor", "--json", "--account", account);
  f = findings(r.out, "permissions", account);
  cr_assert(strstr(f, "info: the account NT AUTHORITY\\LOCAL SERVICE can "
                   "read and write all 6 entries below INOPRJ"), "%s", f);
  cr_assert_null(strstr(f, "error:"), "%s", f);
  run_free(&r);

  /* the owner (this test's account) needs no Everyone entry */
  for (int i = 0; i < 6; i++)
    set_dacl(entries[i], ro);
  cr_assert(GetUserNameA(me, &melen));
  r = ADMIN("doctor", "--json", "--account", me);
  f = findings(r.out, "permissions", me);
  cr_assert(strstr(f, "info: the account "), "%s", f);
  cr_assert_null(strstr(f, "error:"), "%s", f);
  run_free(&r);

  /* Linux and Windows agents share the project: doctor on Windows checks
   * the Windows agents' accounts without being asked */
  {
    const char *agents = apr_pstrcat(pool, prj, "\\ivm\\agents", NULL);
    const char *rec[2] = {
      apr_pstrcat(pool, agents, "\\w1.17003.json", NULL),
      apr_pstrcat(pool, agents, "\\l1.17003.json", NULL) };
    cr_assert(CreateDirectoryA(agents, NULL));
    run_write_file(rec[0], "{\"version\": 1, \"kind\": \"agent\", "
                   "\"host\": \"w1\", \"port\": 17003, \"os\": "
                   "\"windows\", \"account\": \"NT AUTHORITY\\\\LOCAL "
                   "SERVICE\", \"inohost\": \"lic1.17000\"}");
    run_write_file(rec[1], "{\"version\": 1, \"kind\": \"agent\", "
                   "\"host\": \"l1\", \"port\": 17003, \"os\": "
                   "\"linux\", \"account\": \"tessera\", \"inohost\": "
                   "\"lic1.17000\"}");
    for (int i = 0; i < 6; i++)
      set_dacl(entries[i], rw);
    set_dacl(agents, rw);
    set_dacl(rec[0], rw);
    set_dacl(rec[1], rw);
    r = ADMIN("doctor", "--json");
    f = findings(r.out, "scenarios", prj);
    cr_assert(strstr(f, "warning: Linux and Windows agents share INOPRJ"),
              "%s", f);
    cr_assert(strstr(f, "the windows agents' accounts are checked below"),
              "%s", f);
    f = findings(r.out, "permissions", account);
    cr_assert(strstr(f, "info: the account NT AUTHORITY\\LOCAL SERVICE "
                     "can read and write all 9 entries"), "%s", f);
    f = findings(r.out, "permissions", "tessera");
    cr_assert_str_empty(f, "a Linux account is not judged on Windows: %s",
                        f);
    run_free(&r);
    DeleteFileA(rec[0]);
    DeleteFileA(rec[1]);
    RemoveDirectoryA(agents);
  }

  r = ADMIN("doctor", "--json", "--account", "no-such-account-4711");
  f = findings(r.out, "permissions", "no-such-account-4711");
  cr_assert(strstr(f, "there is no account 'no-such-account-4711'"), "%s",
            f);
  run_free(&r);

  for (int i = 5; i >= 0; i--)
    set_dacl(entries[i], rw);
  DeleteFileA(uuid);
  DeleteFileA(entries[4]);
  RemoveDirectoryA(entries[3]);
  RemoveDirectoryA(entries[2]);
  RemoveDirectoryA(entries[1]);
  RemoveDirectoryA(prj);
  apr_pool_destroy(pool);
}
