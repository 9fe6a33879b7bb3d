/* service_install.c (win32): Tessera servers as Windows services.
 *
 * CreateServiceW registers "<tesserad.exe>" <role> --service as an
 * own-process service that starts automatically, runs as
 * NT AUTHORITY\LocalService, restarts on failure (after 5 s, twice, then
 * after 60 s; the count resets after a day), and starts after the services
 * it depends on (an agent after the license server on the same machine;
 * the license server after its bus when the bus is a service).
 */
#include "tsp.h"

#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_env.h>
#include <apr_strings.h>

#include "ts_i18n.h"
#include "win32_util.h"

static ts_error_t *
open_scm(SC_HANDLE *scm, DWORD access)
{
  *scm = OpenSCManagerW(NULL, NULL, access);
  if (!*scm) {
    DWORD e = GetLastError();
    return ts_error__createf(TS__WHERE, e == ERROR_ACCESS_DENIED ? TS_EPERM
                             : TS_OK, APR_FROM_OS_ERROR(e), NULL,
                             N_("OpenSCManagerW() failed"));
  }
  return NULL;
}

static ts_error_t *
open_service(SC_HANDLE *svc, SC_HANDLE scm, const tsp_service_spec_t *spec,
             DWORD access, apr_pool_t *pool)
{
  const wchar_t *wname;

  TS_ERR(tsw_utf8_to_wide(&wname, spec->name, pool));
  *svc = OpenServiceW(scm, wname, access);
  if (!*svc) {
    DWORD e = GetLastError();
    if (e == ERROR_SERVICE_DOES_NOT_EXIST)
      return ts_error_createf(TS_ENOENT, "the service %s is not installed; "
                              "install it with `tessera-admin service "
                              "install %s`", spec->name, spec->role);
    return ts_error_aprf(APR_FROM_OS_ERROR(e),
                         "OpenServiceW(%s) failed", spec->name);
  }
  return NULL;
}

/* Wait until the service leaves PENDING (at most 60 s). */
static DWORD
settle(SC_HANDLE svc, DWORD pending, SERVICE_STATUS *st)
{
  for (int i = 0; i < 1200; i++) {
    if (!QueryServiceStatus(svc, st))
      return 0;
    if (st->dwCurrentState != pending)
      return st->dwCurrentState;
    Sleep(50);
  }
  return st->dwCurrentState;
}

static ts_error_t *
start_and_wait(SC_HANDLE svc, const tsp_service_spec_t *spec)
{
  SERVICE_STATUS st;

  if (!StartServiceW(svc, 0, NULL)
      && GetLastError() != ERROR_SERVICE_ALREADY_RUNNING)
    return ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                         "StartServiceW(%s) failed", spec->name);
  if (settle(svc, SERVICE_START_PENDING, &st) != SERVICE_RUNNING)
    return ts_error_createf(TS_EUNAVAIL, "%s did not start (state %lu, exit "
                            "code %lu, service-specific %lu); the reason is "
                            "in its log and the Windows event log (source "
                            "Tessera)", spec->name,
                            (unsigned long)st.dwCurrentState,
                            (unsigned long)st.dwWin32ExitCode,
                            (unsigned long)st.dwServiceSpecificExitCode);
  return NULL;
}

ts_error_t *
tsp_service_install(const tsp_service_spec_t *spec, apr_pool_t *pool)
{
  SC_HANDLE scm, svc;
  const wchar_t *wname, *wdisplay, *wcmd, *wdesc, *wdeps = NULL, *waccount;
  SERVICE_DESCRIPTIONW desc;
  SC_ACTION actions[3] = { { SC_ACTION_RESTART, 5000 },
                           { SC_ACTION_RESTART, 5000 },
                           { SC_ACTION_RESTART, 60000 } };
  SERVICE_FAILURE_ACTIONSW failure = { 86400, NULL, NULL, 3, actions };
  ts_error_t *err;

  TS_ERR(tsw_utf8_to_wide(&wname, spec->name, pool));
  TS_ERR(tsw_utf8_to_wide(&wdisplay, apr_psprintf(pool, "Tessera %s server",
                                                  spec->role), pool));
  TS_ERR(tsw_utf8_to_wide(&wcmd, apr_psprintf(pool, "\"%s\" %s --service",
                                              spec->program, spec->role),
                          pool));
  TS_ERR(tsw_utf8_to_wide(&wdesc, spec->description, pool));
  if (spec->after && spec->after[0]) {
    /* a double-NUL-terminated list */
    apr_size_t n = 0;
    wchar_t *list;
    for (int i = 0; spec->after[i]; i++)
      n += strlen(spec->after[i]) + 1;
    list = apr_pcalloc(pool, (n + 1) * sizeof(wchar_t));
    n = 0;
    for (int i = 0; spec->after[i]; i++) {
      const wchar_t *w;
      TS_ERR(tsw_utf8_to_wide(&w, spec->after[i], pool));
      wcscpy(list + n, w);
      n += wcslen(w) + 1;
    }
    wdeps = list;
  }
  TS_ERR(tsw_utf8_to_wide(&waccount, spec->account, pool));
  TS_ERR(open_scm(&scm, SC_MANAGER_CREATE_SERVICE | SC_MANAGER_CONNECT));
  svc = CreateServiceW(scm, wname, wdisplay, SERVICE_ALL_ACCESS,
                       SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START,
                       SERVICE_ERROR_NORMAL, wcmd, NULL, NULL, wdeps,
                       waccount, NULL);
  if (!svc) {
    DWORD e = GetLastError();
    CloseServiceHandle(scm);
    if (e == ERROR_SERVICE_EXISTS)
      return ts_error_createf(TS_EUNAVAIL, "the service %s is already "
                              "installed; `tessera-admin service uninstall "
                              "%s` removes it", spec->name, spec->role);
    return ts_error_aprf(APR_FROM_OS_ERROR(e),
                         "CreateServiceW(%s) failed", spec->name);
  }
  desc.lpDescription = (wchar_t *)wdesc;
  ChangeServiceConfig2W(svc, SERVICE_CONFIG_DESCRIPTION, &desc);
  if (!ChangeServiceConfig2W(svc, SERVICE_CONFIG_FAILURE_ACTIONS, &failure))
    err = ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                        "setting the restart-on-failure actions of %s failed",
                        spec->name);
  else
    err = start_and_wait(svc, spec);
  CloseServiceHandle(svc);
  CloseServiceHandle(scm);
  return err;
}

ts_error_t *
tsp_service_uninstall(const tsp_service_spec_t *spec, apr_pool_t *pool)
{
  SC_HANDLE scm, svc;
  SERVICE_STATUS st;
  ts_error_t *err = NULL;

  TS_ERR(open_scm(&scm, SC_MANAGER_CONNECT));
  err = open_service(&svc, scm, spec, SERVICE_STOP | SERVICE_QUERY_STATUS
                     | DELETE, pool);
  if (!err) {
    if (ControlService(svc, SERVICE_CONTROL_STOP, &st))
      settle(svc, SERVICE_STOP_PENDING, &st);
    if (!DeleteService(svc))
      err = ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                          "DeleteService(%s) failed", spec->name);
    CloseServiceHandle(svc);
  }
  CloseServiceHandle(scm);
  return err;
}

ts_error_t *
tsp_service_control(const tsp_service_spec_t *spec, int start,
                    apr_pool_t *pool)
{
  SC_HANDLE scm, svc;
  SERVICE_STATUS st;
  ts_error_t *err;

  TS_ERR(open_scm(&scm, SC_MANAGER_CONNECT));
  err = open_service(&svc, scm, spec, SERVICE_START | SERVICE_STOP
                     | SERVICE_QUERY_STATUS, pool);
  if (!err) {
    if (start)
      err = start_and_wait(svc, spec);
    else if (!ControlService(svc, SERVICE_CONTROL_STOP, &st)
             && GetLastError() != ERROR_SERVICE_NOT_ACTIVE)
      err = ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                          "stopping %s failed", spec->name);
    else if (settle(svc, SERVICE_STOP_PENDING, &st) != SERVICE_STOPPED)
      err = ts_error_createf(TS_EUNAVAIL, "%s did not stop within 60 s",
                             spec->name);
    CloseServiceHandle(svc);
  }
  CloseServiceHandle(scm);
  return err;
}

ts_error_t *
tsp_service_query(const char **state, const char **detail,
                  const tsp_service_spec_t *spec, apr_pool_t *pool)
{
  SC_HANDLE scm, svc;
  SERVICE_STATUS st;
  ts_error_t *err;

  TS_ERR(open_scm(&scm, SC_MANAGER_CONNECT));
  err = open_service(&svc, scm, spec, SERVICE_QUERY_STATUS, pool);
  if (err && ts_error_code(err) == TS_ENOENT) {
    ts_error_clear(err);
    CloseServiceHandle(scm);
    *state = "not installed";
    *detail = "";
    return NULL;
  }
  if (!err) {
    if (!QueryServiceStatus(svc, &st))
      err = ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                          "QueryServiceStatus(%s) failed", spec->name);
    CloseServiceHandle(svc);
  }
  CloseServiceHandle(scm);
  TS_ERR(err);
  switch (st.dwCurrentState) {
  case SERVICE_RUNNING:       *state = "running"; break;
  case SERVICE_START_PENDING: *state = "starting"; break;
  case SERVICE_STOP_PENDING:  *state = "stopping"; break;
  case SERVICE_STOPPED:
    *state = st.dwWin32ExitCode != NO_ERROR ? "failed" : "stopped";
    break;
  default:                    *state = "paused"; break;
  }
  *detail = apr_psprintf(pool, "state %lu, exit code %lu, service-specific "
                         "%lu", (unsigned long)st.dwCurrentState,
                         (unsigned long)st.dwWin32ExitCode,
                         (unsigned long)st.dwServiceSpecificExitCode);
  return NULL;
}

ts_error_t *
tsp_env_set(const char *name, const char *value, apr_pool_t *pool)
{
  size_t len = strlen(name), n = 0, k = 0;
  char **old = _environ, **env;
  apr_status_t s = apr_env_set(name, value, pool);   /* the system's */

  if (s)
    return ts_error_aprf(s, "cannot set %s in the environment", name);
  /* The C library's getenv() reads _environ, which apr_app_initialize()
   * replaced with an array of its own that _putenv() cannot grow (under
   * wine it leaves _environ NULL): give it a new array with NAME=VALUE.
   * The old array stays: pointers into it may be held. */
  while (old && old[n])
    n++;
  env = malloc((n + 2) * sizeof(*env));
  if (!env)
    return ts_error_createf(TS_EOS, "out of memory setting %s", name);
  for (size_t i = 0; i < n; i++)
    if (!(_strnicmp(old[i], name, len) == 0 && old[i][len] == '='))
      env[k++] = old[i];
  env[k] = malloc(len + strlen(value) + 2);
  if (!env[k]) {
    free(env);
    return ts_error_createf(TS_EOS, "out of memory setting %s", name);
  }
  sprintf(env[k], "%s=%s", name, value);
  env[k + 1] = NULL;
  _environ = env;
  return NULL;
}

ts_error_t *
tsp_program_path(const char **path, apr_pool_t *pool)
{
  wchar_t buf[MAX_PATH * 2];
  DWORD n = GetModuleFileNameW(NULL, buf, MAX_PATH * 2);

  if (n == 0 || n >= MAX_PATH * 2)
    return ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                         "GetModuleFileNameW() failed");
  return tsw_wide_to_utf8(path, buf, pool);
}
