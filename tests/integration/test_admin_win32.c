/* test_admin_win32.c: tessera-admin.exe end to end on Windows (under wine
 * in CI): `env set` writes the registry, `env show --json` reports the
 * value with HKCU or HKLM as its source, a refused value writes nothing.
 * The registry key is the test's own (TESSERA_REGISTRY_KEY). */
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <apr_general.h>

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

