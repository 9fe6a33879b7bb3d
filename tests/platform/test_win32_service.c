/* test_win32_service.c: tesserad.exe under the real Windows service
 * control manager (wine's services.exe in CI): install with
 * CreateServiceW, start, RUNNING only once the port accepts connections,
 * PARAMCHANGE reloads, STOP stops with exit code 0, delete; and a start
 * that fails ends STOPPED with Tessera's exit status as the
 * service-specific code.
 *
 * A service does not inherit the test's environment, so the settings go
 * into HKLM\SOFTWARE\Tessera\<major.minor> of the test's own wine prefix,
 * and are removed afterwards. */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>

#include "ts_version.h"
#include "../integration/run.h"

static wchar_t service_name[64];
static char lic[MAX_PATH], logfile[MAX_PATH];
static int port;
static SC_HANDLE scm;

static int
free_port(void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  int len = sizeof(sa), p;
  SOCKET s = socket(AF_INET, SOCK_STREAM, 0);

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
  getsockname(s, (struct sockaddr *)&sa, &len);
  p = ntohs(sa.sin_port);
  closesocket(s);
  return p;
}

static void
set_setting(const wchar_t *name, const char *value)
{
  HKEY key;
  wchar_t w[MAX_PATH];

  cr_assert_eq(RegCreateKeyExW(HKEY_LOCAL_MACHINE,
               L"SOFTWARE\\Tessera\\" TS_VERSION_MAJOR_MINOR_W, 0, NULL, 0,
               KEY_SET_VALUE | KEY_WOW64_64KEY, NULL, &key, NULL), 0);
  if (value) {
    MultiByteToWideChar(CP_UTF8, 0, value, -1, w, MAX_PATH);
    RegSetValueExW(key, name, 0, REG_SZ, (BYTE *)w,
                   (DWORD)((wcslen(w) + 1) * sizeof(wchar_t)));
  }
  else
    RegDeleteValueW(key, name);
  RegCloseKey(key);
}

static void
setup(void)
{
  WSADATA wsa;

  apr_initialize();
  char host[64], tmp[MAX_PATH];

  WSAStartup(MAKEWORD(2, 2), &wsa);
  port = free_port();
  GetTempPathA(sizeof(tmp), tmp);
  snprintf(lic, sizeof(lic), "%stessera-svc-%lu", tmp,
           (unsigned long)GetCurrentProcessId());
  CreateDirectoryA(lic, NULL);
  snprintf(logfile, sizeof(logfile), "%s\\logs\\license.%d\\license.log",
           lic, port);
  snprintf(host, sizeof(host), "127.0.0.1.%d", port);
  set_setting(L"INOHOST", host);
  set_setting(L"INOLIC", lic);
  swprintf(service_name, 64, L"TesseraTest%lu",
           (unsigned long)GetCurrentProcessId());
  scm = OpenSCManagerW(NULL, NULL, SC_MANAGER_ALL_ACCESS);
  cr_assert_not_null(scm, "OpenSCManagerW: %lu", GetLastError());
}

/* Stop NAME, wait until it has stopped, delete it: a service deleted
 * while it still runs is only marked for deletion, and creating it again
 * fails until it stops. */
static void
drop_service(const wchar_t *name)
{
  SC_HANDLE svc = OpenServiceW(scm, name, SERVICE_ALL_ACCESS);
  if (svc) {
    SERVICE_STATUS st;
    ControlService(svc, SERVICE_CONTROL_STOP, &st);
    for (int i = 0; i < 200 && QueryServiceStatus(svc, &st)
                    && st.dwCurrentState != SERVICE_STOPPED; i++)
      Sleep(50);
    DeleteService(svc);
    CloseServiceHandle(svc);
  }
}

static void
teardown(void)
{
  drop_service(service_name);
  drop_service(L"tessera-license");
  drop_service(L"tessera-agent");
  drop_service(L"tessera-notify");
  drop_service(L"tessera-proxy");
  CloseServiceHandle(scm);
  for (const wchar_t *const *n = (const wchar_t *const[]){ L"INOHOST",
       L"INOLIC", L"INODIR", L"INOPRJ", NULL }; *n; n++)
    set_setting(*n, NULL);
  WSACleanup();
  apr_terminate();
}

TestSuite(win32_service, .init = setup, .fini = teardown, .timeout = 120);

static SC_HANDLE
install(void)
{
  wchar_t cmd[MAX_PATH * 2];
  SC_HANDLE svc;

  swprintf(cmd, MAX_PATH * 2, L"\"%hs\" license --service", TESSERAD);
  svc = CreateServiceW(scm, service_name, L"Tessera test license server",
                       SERVICE_ALL_ACCESS, SERVICE_WIN32_OWN_PROCESS,
                       SERVICE_DEMAND_START, SERVICE_ERROR_NORMAL, cmd,
                       NULL, NULL, NULL, NULL, NULL);
  cr_assert_not_null(svc, "CreateServiceW: %lu", GetLastError());
  return svc;
}

/* Poll until the service leaves PENDING; returns its status. */
static SERVICE_STATUS
settle(SC_HANDLE svc, DWORD pending)
{
  SERVICE_STATUS st;

  for (int i = 0; i < 600; i++) {
    cr_assert(QueryServiceStatus(svc, &st));
    if (st.dwCurrentState != pending)
      return st;
    Sleep(50);
  }
  cr_assert_fail("the service stayed in state %lu for 30 s", pending);
  return st;
}

static int
connects(int p)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p) };
  SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
  int ok;

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ok = connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0;
  closesocket(s);
  return ok;
}

/* What GET /health on P answers, head and body ("" when nothing). */
static const char *
health_of(int p)
{
  static char buf[4096];
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p) };
  SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
  const char *req = "GET /health HTTP/1.0\r\n\r\n";
  int n, got = 0;

  buf[0] = '\0';
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) == 0
      && send(s, req, (int)strlen(req), 0) == (int)strlen(req))
    while ((n = recv(s, buf + got, (int)sizeof(buf) - 1 - got, 0)) > 0)
      got += n;
  buf[got] = '\0';
  closesocket(s);
  return buf;
}

static int
log_contains(const char *text)
{
  static char buf[65536];
  FILE *f = fopen(logfile, "r");
  size_t n;

  if (!f)
    return 0;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return strstr(buf, text) != NULL;
}

Test(win32_service, install_start_running_paramchange_stop_delete)
{
  SC_HANDLE svc = install();
  SERVICE_STATUS st;

  cr_assert(StartServiceW(svc, 0, NULL), "StartServiceW: %lu",
            GetLastError());
  st = settle(svc, SERVICE_START_PENDING);
  cr_assert_eq(st.dwCurrentState, SERVICE_RUNNING, "state %lu, exit %lu/%lu",
               st.dwCurrentState, st.dwWin32ExitCode,
               st.dwServiceSpecificExitCode);
  cr_assert(connects(port), "RUNNING before the port accepted connections");
  cr_assert(st.dwControlsAccepted & SERVICE_ACCEPT_PARAMCHANGE);
  cr_assert(st.dwControlsAccepted & SERVICE_ACCEPT_STOP);

  cr_assert(ControlService(svc, SERVICE_CONTROL_PARAMCHANGE, &st),
            "PARAMCHANGE: %lu", GetLastError());
  for (int i = 0; i < 100 && !log_contains("log file reopened"); i++)
    Sleep(50);
  cr_assert(log_contains("log file reopened"), "no reload in %s", logfile);

  cr_assert(ControlService(svc, SERVICE_CONTROL_STOP, &st), "STOP: %lu",
            GetLastError());
  st = settle(svc, SERVICE_STOP_PENDING);
  cr_assert_eq(st.dwCurrentState, SERVICE_STOPPED);
  cr_assert_eq(st.dwWin32ExitCode, NO_ERROR);
  cr_assert(!connects(port), "still listening after STOPPED");
  cr_assert(log_contains("stopped"));

  cr_assert(DeleteService(svc), "DeleteService: %lu", GetLastError());
  CloseServiceHandle(svc);
}

Test(win32_service, failed_start_reports_the_exit_status)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  SOCKET busy = socket(AF_INET, SOCK_STREAM, 0);
  SC_HANDLE svc;
  SERVICE_STATUS st;

  cr_assert_eq(bind(busy, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(busy, 1), 0);
  svc = install();
  cr_assert(StartServiceW(svc, 0, NULL), "StartServiceW: %lu",
            GetLastError());
  st = settle(svc, SERVICE_START_PENDING);
  closesocket(busy);
  cr_assert_eq(st.dwCurrentState, SERVICE_STOPPED);
  cr_assert_eq(st.dwWin32ExitCode, ERROR_SERVICE_SPECIFIC_ERROR);
  cr_assert_eq(st.dwServiceSpecificExitCode, 69, "EX_UNAVAILABLE, got %lu",
               st.dwServiceSpecificExitCode);
  cr_assert(log_contains("another program uses it"));
  DeleteService(svc);
  CloseServiceHandle(svc);
}

/* The same through the administration program. */
static run_result_t
admin(const char *const *args)
{
  static const char *const keep[] = { "SystemRoot", "windir", "TEMP", "TMP",
                                      "PATH", NULL };
  const char *argv[12] = { TESSERA_ADMIN };

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  return run(argv, run_env(keep, NULL), NULL);
}

Test(win32_service, admin_install_status_stop_uninstall)
{
  run_result_t r;
  SC_HANDLE svc;
  SERVICE_STATUS st;

  r = admin((const char *[]){ "service", "install", "license", "--program",
                              TESSERAD, NULL });
  cr_assert_eq(r.status, 0, "install: %d %s %s", r.status, r.out, r.err);
  cr_assert(strstr(r.out, "tessera-license installed and started"), "%s",
            r.out);
  run_free(&r);
  svc = OpenServiceW(scm, L"tessera-license", SERVICE_QUERY_STATUS);
  cr_assert_not_null(svc);
  cr_assert(QueryServiceStatus(svc, &st));
  cr_assert_eq(st.dwCurrentState, SERVICE_RUNNING);
  CloseServiceHandle(svc);
  cr_assert(connects(port));

  r = admin((const char *[]){ "service", "status", "license", NULL });
  cr_assert_eq(r.status, 0);
  cr_assert(strstr(r.out, "running"), "%s", r.out);
  run_free(&r);
  /* the license server and its hub answer the admin program's HTTP client
   * (libcurl); as a service it leaves the bus to its own service */
  r = admin((const char *[]){ "status", "--json", NULL });
  cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
  cr_assert(strstr(r.out, "\"role\": \"license\""), "%s", r.out);
  cr_assert(strstr(r.out, "\"role\": \"hub\""), "%s", r.out);
  cr_assert(strstr(r.out, "\"connected\": false"), "%s", r.out);
  run_free(&r);
  r = admin((const char *[]){ "service", "stop", "license", NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  r = admin((const char *[]){ "service", "status", "license", NULL });
  cr_assert_eq(r.status, 69);
  cr_assert(strstr(r.out, "stopped"), "%s", r.out);
  run_free(&r);
  r = admin((const char *[]){ "service", "uninstall", "license", NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  r = admin((const char *[]){ "service", "status", "license", NULL });
  cr_assert(strstr(r.out, "not installed"), "%s", r.out);
  run_free(&r);
}

/* SPEC §4: a Windows service refuses projects on a network drive, at
 * install and at start. N: is a network drive (installer/windows-test.sh). */
Test(win32_service, project_directory_on_a_network_drive_is_refused)
{
  SC_HANDLE svc;
  SERVICE_STATUS st;
  run_result_t r;

  set_setting(L"INOPRJ", "N:\\projects");
  r = admin((const char *[]){ "service", "install", "license", "--program",
                              TESSERAD, NULL });
  cr_assert_eq(r.status, 78, "install: exit %d: %s", r.status, r.err);
  cr_assert(strstr(r.err, "INOPRJ N:\\projects is on a network file system"),
            "%s", r.err);
  cr_assert(strstr(r.err, "Windows services must not keep project"), "%s",
            r.err);
  run_free(&r);
  svc = OpenServiceW(scm, L"tessera-license", SERVICE_QUERY_STATUS);
  cr_assert_null(svc, "install registered the service despite refusing");

  /* registered by other means, it refuses to start */
  svc = install();
  cr_assert(StartServiceW(svc, 0, NULL), "StartServiceW: %lu",
            GetLastError());
  st = settle(svc, SERVICE_START_PENDING);
  cr_assert_eq(st.dwCurrentState, SERVICE_STOPPED);
  cr_assert_eq(st.dwWin32ExitCode, ERROR_SERVICE_SPECIFIC_ERROR);
  cr_assert_eq(st.dwServiceSpecificExitCode, 78, "EX_CONFIG, got %lu",
               st.dwServiceSpecificExitCode);
  cr_assert(log_contains("network drive"), "log lacks the reason");
  DeleteService(svc);
  CloseServiceHandle(svc);
}

/* The agent as a service (the model servers it starts are its children,
 * not services): installed, running on p+3 over a project directory,
 * stopped, uninstalled. */
Test(win32_service, the_agent_runs_as_a_service)
{
  char prj[MAX_PATH], agent[32];
  run_result_t r;

  snprintf(prj, sizeof(prj), "%s\\prj", lic);
  CreateDirectoryA(prj, NULL);
  set_setting(L"INOPRJ", prj);
  r = admin((const char *[]){ "project", "init", NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  r = admin((const char *[]){ "service", "install", "agent", "--program",
                              TESSERAD, NULL });
  cr_assert_eq(r.status, 0, "install: %d %s %s", r.status, r.out, r.err);
  cr_assert(strstr(r.out, "tessera-agent installed and started"), "%s",
            r.out);
  run_free(&r);
  cr_assert(connects(port + 3), "the agent service does not answer on %d",
            port + 3);
  snprintf(agent, sizeof(agent), "127.0.0.1:%d", port + 3);
  r = admin((const char *[]){ "models", "list", "--agent", agent, NULL });
  cr_assert_eq(r.status, 0, "%s %s", r.out, r.err);
  run_free(&r);
  r = admin((const char *[]){ "service", "stop", "agent", NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
  r = admin((const char *[]){ "service", "uninstall", "agent", NULL });
  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
}

/* The notification service (p+4) and the proxy (p+5) as services:
 * installed, answering /health on their ports, stopped, uninstalled. */
Test(win32_service, the_notification_service_and_the_proxy_run_as_services)
{
  static const char *const roles[] = { "notify", "proxy" };
  char prj[MAX_PATH], installed[64];
  run_result_t r;

  snprintf(prj, sizeof(prj), "%s\\prj", lic);
  CreateDirectoryA(prj, NULL);
  set_setting(L"INOPRJ", prj);
  for (int i = 0; i < 2; i++) {
    int p = port + 4 + i;
    const char *health = "";
    r = admin((const char *[]){ "service", "install", roles[i], "--program",
                                TESSERAD, NULL });
    cr_assert_eq(r.status, 0, "install %s: %d %s %s", roles[i], r.status,
                 r.out, r.err);
    snprintf(installed, sizeof(installed), "tessera-%s installed and "
             "started", roles[i]);
    cr_assert(strstr(r.out, installed), "%s", r.out);
    run_free(&r);
    for (int k = 0; k < 100 && !strstr(health, "\"status\":\"ok\""); k++) {
      health = health_of(p);
      if (!strstr(health, "\"status\":\"ok\""))
        Sleep(100);
    }
    cr_assert(strstr(health, "HTTP/1.1 200") && strstr(health,
              "\"status\":\"ok\""), "the %s service does not answer "
              "/health on %d: %s", roles[i], p, health);
    r = admin((const char *[]){ "service", "stop", roles[i], NULL });
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
    r = admin((const char *[]){ "service", "uninstall", roles[i], NULL });
    cr_assert_eq(r.status, 0, "%s", r.err);
    run_free(&r);
  }
}
