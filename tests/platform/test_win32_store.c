/* test_win32_store.c: the Windows settings store against the real registry
 * (under wine in CI): HKCU and HKLM round trips in the 64-bit view,
 * REG_EXPAND_SZ expansion, provenance and precedence, UTF-8 through
 * UTF-16, and refusals. Every test works below its own key,
 * Software\TesseraTest\<pid>, and deletes it afterwards. */
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_env.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_settings.h"

static apr_pool_t *pool;
static tsp_settings_roots_t roots;
static wchar_t wsubkey[128];

static void
drop_key(HKEY root)
{
  HKEY parent;
  if (RegOpenKeyExW(root, L"Software\\TesseraTest", 0,
                    KEY_ALL_ACCESS | KEY_WOW64_64KEY, &parent) == 0) {
    RegDeleteTreeW(parent, wsubkey + wcslen(L"Software\\TesseraTest\\"));
    RegCloseKey(parent);
  }
}

static void
setup(void)
{
  apr_initialize();
  apr_pool_create(&pool, NULL);
  roots.registry_subkey = apr_psprintf(pool, "Software\\TesseraTest\\%lu",
                                       (unsigned long)GetCurrentProcessId());
  swprintf(wsubkey, 128, L"Software\\TesseraTest\\%lu",
           (unsigned long)GetCurrentProcessId());
  for (const char *const *n = (const char *const[]){ "INOHOST", "INOPRJ",
       "INOLANG", NULL }; *n; n++)
    apr_env_delete(*n, pool);
}

static void
teardown(void)
{
  drop_key(HKEY_CURRENT_USER);
  drop_key(HKEY_LOCAL_MACHINE);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(win32_store, .init = setup, .fini = teardown, .timeout = 60);

static void
ok(ts_error_t *err)
{
  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
}

static tsp_settings_t *
open_store(void)
{
  tsp_settings_t *store;
  ok(tsp_settings_open(&store, &roots, pool));
  return store;
}

/* The raw registry value NAME in ROOT (64-bit view, or 32-bit), and its
 * type; NULL when absent. */
static const wchar_t *
raw_value(HKEY root, REGSAM view, const wchar_t *name, DWORD *type)
{
  static wchar_t buf[512];
  DWORD len = sizeof(buf);
  HKEY key;
  LSTATUS rc = RegOpenKeyExW(root, wsubkey, 0, KEY_READ | view, &key);

  if (rc != ERROR_SUCCESS)
    return NULL;
  rc = RegQueryValueExW(key, name, NULL, type, (BYTE *)buf, &len);
  RegCloseKey(key);
  return rc == ERROR_SUCCESS ? buf : NULL;
}

Test(win32_store, hkcu_and_hklm_round_trip_in_the_64_bit_view)
{
  tsp_settings_t *store = open_store();
  apr_hash_t *values;
  DWORD type;

  cr_assert_str_eq(tsp_settings_location(store, TS_SCOPE_USER),
                   apr_pstrcat(pool, "HKCU\\", roots.registry_subkey, NULL));
  cr_assert_str_eq(tsp_settings_location(store, TS_SCOPE_ALL),
                   apr_pstrcat(pool, "HKLM\\", roots.registry_subkey, NULL));
  ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
  cr_assert_eq(apr_hash_count(values), 0);

  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOHOST", "lic1.17000", pool));
  ok(tsp_settings_write(store, TS_SCOPE_ALL, "INOHOST", "lic2.17000", pool));
  ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
  cr_assert_str_eq(apr_hash_get(values, "INOHOST", APR_HASH_KEY_STRING),
                   "lic1.17000");
  ok(tsp_settings_read(&values, store, TS_SCOPE_ALL, pool, pool));
  cr_assert_str_eq(apr_hash_get(values, "INOHOST", APR_HASH_KEY_STRING),
                   "lic2.17000");

  /* what another program sees: a REG_SZ in the 64-bit view of HKLM, and
   * nothing in the 32-bit (WOW6432Node) view */
  cr_assert(wcscmp(raw_value(HKEY_LOCAL_MACHINE, KEY_WOW64_64KEY, L"INOHOST",
                             &type), L"lic2.17000") == 0);
  cr_assert_eq(type, REG_SZ);
  cr_assert_null(raw_value(HKEY_LOCAL_MACHINE, KEY_WOW64_32KEY, L"INOHOST",
                           &type), "written to the 32-bit view");

  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOHOST", NULL, pool));
  ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
  cr_assert_null(apr_hash_get(values, "INOHOST", APR_HASH_KEY_STRING));
  /* removing what is not there is no error */
  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOHOST", NULL, pool));
}

Test(win32_store, reg_expand_sz_is_expanded_on_read)
{
  tsp_settings_t *store = open_store();
  apr_hash_t *values;
  char *sysroot;
  DWORD type;

  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOPRJ",
                        "%SystemRoot%\\Tessera\\projects", pool));
  raw_value(HKEY_CURRENT_USER, KEY_WOW64_64KEY, L"INOPRJ", &type);
  cr_assert_eq(type, REG_EXPAND_SZ, "a value with %%NAME%% is REG_EXPAND_SZ");
  ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
  cr_assert_eq(apr_env_get(&sysroot, "SystemRoot", pool), APR_SUCCESS);
  cr_assert_str_eq(apr_hash_get(values, "INOPRJ", APR_HASH_KEY_STRING),
                   apr_pstrcat(pool, sysroot, "\\Tessera\\projects", NULL));
}

Test(win32_store, utf8_survives_utf16)
{
  tsp_settings_t *store = open_store();
  apr_hash_t *values;
  const char *v = "C:\\Projekte\\M\xc3\xbcller \xe2\x9c\x93";   /* Müller ✓ */

  ok(tsp_settings_write(store, TS_SCOPE_USER, "INOPRJ", v, pool));
  ok(tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool));
  cr_assert_str_eq(apr_hash_get(values, "INOPRJ", APR_HASH_KEY_STRING), v);
}

Test(win32_store, provenance_and_precedence)
{
  tsp_settings_t *store = open_store();
  ts_settings_t *s;
  const ts_setting_value_t *v;

  ok(ts_settings_resolve(&s, store, pool, pool));
  cr_assert_eq(ts_settings_get(s, "INOHOST")->source, TSP_SRC_DEFAULT);
  ok(ts_settings_set(store, TS_SCOPE_ALL, "INOHOST", "lic2.20000", pool));
  ok(ts_settings_resolve(&s, store, pool, pool));
  v = ts_settings_get(s, "INOHOST");
  cr_assert_eq(v->source, TSP_SRC_HKLM);
  cr_assert_str_eq(ts_source_name(v->source), "HKLM");
  cr_assert_str_eq(ts_settings_get(s, "INOAGENTPORT")->value, "20003");
  ok(ts_settings_set(store, TS_SCOPE_USER, "INOHOST", "lic1.17000", pool));
  ok(ts_settings_resolve(&s, store, pool, pool));
  cr_assert_eq(ts_settings_get(s, "INOHOST")->source, TSP_SRC_HKCU);
  cr_assert_eq(apr_env_set("INOHOST", "env1.18000", pool), APR_SUCCESS);
  ok(ts_settings_resolve(&s, store, pool, pool));
  v = ts_settings_get(s, "INOHOST");
  cr_assert_str_eq(v->value, "env1.18000");
  cr_assert_eq(v->source, TSP_SRC_PROCESS_ENV);
  apr_env_delete("INOHOST", pool);
}

Test(win32_store, invalid_values_are_refused_and_nothing_is_written)
{
  tsp_settings_t *store = open_store();
  ts_error_t *err;
  DWORD type;

  err = ts_settings_set(store, TS_SCOPE_USER, "INOHOST", "lic1.80", pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "must lie in 1024..64000"));
  ts_error_clear(err);
  err = ts_settings_set(store, TS_SCOPE_USER, "INOPRJ", "projects", pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "not an absolute path"));
  ts_error_clear(err);
  cr_assert_null(raw_value(HKEY_CURRENT_USER, KEY_WOW64_64KEY, L"INOHOST",
                           &type));
  cr_assert_null(raw_value(HKEY_CURRENT_USER, KEY_WOW64_64KEY, L"INOPRJ",
                           &type));
  /* Windows paths are absolute with a drive or as UNC */
  ok(ts_settings_set(store, TS_SCOPE_USER, "INOPRJ", "D:\\projects", pool));
  ok(ts_settings_set(store, TS_SCOPE_USER, "INOLIC", "\\\\srv\\lic", pool));
}

Test(win32_store, a_non_string_value_is_a_clear_error)
{
  tsp_settings_t *store = open_store();
  apr_hash_t *values;
  ts_error_t *err;
  DWORD dword = 17000;
  HKEY key;

  cr_assert_eq(RegCreateKeyExW(HKEY_CURRENT_USER, wsubkey, 0, NULL, 0,
                               KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &key,
                               NULL), ERROR_SUCCESS);
  RegSetValueExW(key, L"INOHOST", 0, REG_DWORD, (BYTE *)&dword,
                 sizeof(dword));
  RegCloseKey(key);
  err = tsp_settings_read(&values, store, TS_SCOPE_USER, pool, pool);
  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "INOHOST is not a string "
                   "value"), "%s", ts_error_text(err, pool));
  /* stored configuration the administrator must fix, as a malformed
   * environment file on Linux */
  cr_assert_eq(ts_error_exit_status(err), 78, "%s", ts_error_text(err, pool));
  ts_error_clear(err);
}
