/* settings_store.c (win32): the architecture settings in the registry.
 *
 *   all users:    HKLM\SOFTWARE\Tessera\<major.minor>
 *   current user: HKCU\Software\Tessera\<major.minor>
 *
 * Always in the 64-bit view (KEY_WOW64_64KEY), so a 32-bit tool and the
 * 64-bit servers see the same values. Values are named like the
 * environment variables. REG_SZ and REG_EXPAND_SZ are read (the latter
 * expanded with the process environment); a value is written as
 * REG_EXPAND_SZ when it contains %NAME% references, else REG_SZ. The API is
 * UTF-16; Tessera is UTF-8 inside, converted here at the boundary.
 *
 * A single registry value write is atomic, and the registry serializes
 * writers, so no lock of our own is needed.
 */
#include "tsp.h"
#include "ts_i18n.h"

#include <windows.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_envfile.h"
#include "ts_version.h"
#include "win32_util.h"

struct tsp_settings_t {
  const wchar_t *subkey[2];   /* by ts_scope_t */
  const char *location[2];
  apr_pool_t *pool;
};

static HKEY
root_of(ts_scope_t scope)
{
  return scope == TS_SCOPE_ALL ? HKEY_LOCAL_MACHINE : HKEY_CURRENT_USER;
}

ts_error_t *
tsp_settings_open(tsp_settings_t **store_p, const tsp_settings_roots_t *roots,
                  apr_pool_t *pool)
{
  tsp_settings_t *store = apr_pcalloc(pool, sizeof(*store));
  const char *sub[2];

  sub[TS_SCOPE_ALL] = "SOFTWARE\\Tessera\\" TS_VERSION_MAJOR_MINOR;
  sub[TS_SCOPE_USER] = "Software\\Tessera\\" TS_VERSION_MAJOR_MINOR;
  if (roots && roots->registry_subkey)
    sub[TS_SCOPE_ALL] = sub[TS_SCOPE_USER] = roots->registry_subkey;
  for (int s = 0; s < 2; s++) {
    TS_ERR(tsw_utf8_to_wide(&store->subkey[s], sub[s], pool));
    store->location[s] = apr_pstrcat(pool, s == TS_SCOPE_ALL ? "HKLM\\"
                                                             : "HKCU\\",
                                     sub[s], NULL);
  }
  store->pool = pool;
  *store_p = store;
  return NULL;
}

const char *
tsp_settings_location(const tsp_settings_t *store, ts_scope_t scope)
{
  return store->location[scope];
}

tsp_source_t
tsp_settings_source(ts_scope_t scope)
{
  return scope == TS_SCOPE_ALL ? TSP_SRC_HKLM : TSP_SRC_HKCU;
}

/* Expand %NAME% references in a REG_EXPAND_SZ value. */
static ts_error_t *
expand(const wchar_t **out, const wchar_t *in, const char *where,
       apr_pool_t *pool)
{
  DWORD n = ExpandEnvironmentStringsW(in, NULL, 0);
  wchar_t *buf;

  if (n == 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                         "ExpandEnvironmentStringsW() failed for %s", where);
  buf = apr_palloc(pool, n * sizeof(wchar_t));
  if (ExpandEnvironmentStringsW(in, buf, n) == 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                         "ExpandEnvironmentStringsW() failed for %s", where);
  *out = buf;
  return NULL;
}

ts_error_t *
tsp_settings_read(apr_hash_t **values, tsp_settings_t *store,
                  ts_scope_t scope, apr_pool_t *result_pool,
                  apr_pool_t *scratch_pool)
{
  HKEY key;
  LSTATUS rc;
  DWORD count, max_name, max_data;

  *values = apr_hash_make(result_pool);
  rc = RegOpenKeyExW(root_of(scope), store->subkey[scope], 0,
                     KEY_READ | KEY_WOW64_64KEY, &key);
  if (rc == ERROR_FILE_NOT_FOUND)
    return NULL;              /* nothing stored in this scope yet */
  if (rc != ERROR_SUCCESS)
    return ts_error_aprf(APR_FROM_OS_ERROR(rc),
                         "RegOpenKeyExW(%s) failed", store->location[scope]);
  rc = RegQueryInfoKeyW(key, NULL, NULL, NULL, NULL, NULL, NULL, &count,
                        &max_name, &max_data, NULL, NULL);
  if (rc != ERROR_SUCCESS) {
    RegCloseKey(key);
    return ts_error_aprf(APR_FROM_OS_ERROR(rc), "RegQueryInfoKeyW(%s) failed",
                     store->location[scope]);
  }
  for (DWORD i = 0; i < count; i++) {
    wchar_t *name = apr_palloc(scratch_pool, (max_name + 1) * sizeof(wchar_t));
    /* +2 wide chars: the stored data need not be NUL-terminated */
    BYTE *data = apr_pcalloc(scratch_pool, max_data + 2 * sizeof(wchar_t));
    DWORD name_len = max_name + 1, data_len = max_data, type;
    const wchar_t *text;
    const char *uname, *uvalue, *where;
    ts_error_t *err;

    rc = RegEnumValueW(key, i, name, &name_len, NULL, &type, data,
                       &data_len);
    if (rc == ERROR_NO_MORE_ITEMS)
      break;
    if (rc != ERROR_SUCCESS) {
      RegCloseKey(key);
      return ts_error_aprf(APR_FROM_OS_ERROR(rc), "RegEnumValueW(%s) failed",
                       store->location[scope]);
    }
    err = tsw_wide_to_utf8(&uname, name, scratch_pool);
    where = apr_psprintf(scratch_pool, "%s\\%s", store->location[scope],
                         err ? "?" : uname);
    if (!err && type != REG_SZ && type != REG_EXPAND_SZ)
      err = ts_error_createf(TS_ECONFIG, "%s is not a string value (type %lu);"
                             " Tessera's settings are REG_SZ or REG_EXPAND_SZ:"
                             " delete it and set it again with `tessera-admin"
                             " env set`", where, (unsigned long)type);
    text = (const wchar_t *)data;
    if (!err && type == REG_EXPAND_SZ)
      err = expand(&text, text, where, scratch_pool);
    if (!err)
      err = tsw_wide_to_utf8(&uvalue, text, result_pool);
    if (err) {
      RegCloseKey(key);
      return err;
    }
    apr_hash_set(*values, apr_pstrdup(result_pool, uname),
                 APR_HASH_KEY_STRING, uvalue);
  }
  RegCloseKey(key);
  return NULL;
}

ts_error_t *
tsp_settings_write(tsp_settings_t *store, ts_scope_t scope, const char *name,
                   const char *value, apr_pool_t *scratch_pool)
{
  HKEY key;
  LSTATUS rc;
  const wchar_t *wname, *wvalue;
  ts_error_t *err = NULL;

  if (value)
    TS_ERR(ts_envfile_check(name, value));
  TS_ERR(tsw_utf8_to_wide(&wname, name, scratch_pool));
  rc = RegCreateKeyExW(root_of(scope), store->subkey[scope], 0, NULL, 0,
                       KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &key, NULL);
  if (rc != ERROR_SUCCESS)
    err = ts_error_aprf(APR_FROM_OS_ERROR(rc), "RegCreateKeyExW(%s) failed",
                    store->location[scope]);
  else {
    if (value) {
      DWORD type = strchr(value, '%') && strchr(strchr(value, '%') + 1, '%')
                   ? REG_EXPAND_SZ : REG_SZ;
      err = tsw_utf8_to_wide(&wvalue, value, scratch_pool);
      if (!err) {
        rc = RegSetValueExW(key, wname, 0, type, (const BYTE *)wvalue,
                            (DWORD)((wcslen(wvalue) + 1) * sizeof(wchar_t)));
        if (rc != ERROR_SUCCESS)
          err = ts_error_aprf(APR_FROM_OS_ERROR(rc),
                              "RegSetValueExW(%s\\%s) failed",
                              store->location[scope], name);
      }
    }
    else {
      rc = RegDeleteValueW(key, wname);
      if (rc != ERROR_SUCCESS && rc != ERROR_FILE_NOT_FOUND)
        err = ts_error_aprf(APR_FROM_OS_ERROR(rc),
                            "RegDeleteValueW(%s\\%s) failed",
                            store->location[scope], name);
    }
    RegCloseKey(key);
  }
  if (err && ts_error_code(err) == TS_EPERM)
    return ts_error__createf(TS__WHERE, TS_EPERM, 0, err,
                             scope == TS_SCOPE_ALL
                             ? N_("no permission to change the all-users "
                                  "settings in %s")
                             : N_("no permission to change the current "
                                  "user's settings in %s"),
                             store->location[scope]);
  return err;
}
