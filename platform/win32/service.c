/* service.c (win32): how a Tessera server lives as a Windows process.
 *
 * Design (after Apache httpd's mpm_winnt and Subversion's winservice.c).
 * One start path serves two modes:
 *
 *  - Service (--service, the command line the service is registered
 *    with): the main thread starts StartServiceCtrlDispatcherW on a thread
 *    of its own and waits until the SCM has called ServiceMain, which
 *    registers the control handler, reports START_PENDING and hands
 *    control back. The main thread then starts the server, reporting
 *    rising checkpoints with wait hints, and reports RUNNING only when
 *    start() returned, that is when the port accepts connections. STOP,
 *    SHUTDOWN and PRESHUTDOWN stop it (STOP_PENDING, then STOPPED);
 *    PARAMCHANGE reloads (configuration and log files); INTERROGATE
 *    re-reports the state. A start that fails reports STOPPED with
 *    ERROR_SERVICE_SPECIFIC_ERROR and Tessera's exit status as the
 *    service-specific code, and writes the reason to the Windows event
 *    log (source "Tessera").
 *  - Console (the default, or --console): the same start and loop, with
 *    Ctrl-C, Ctrl-Break and closing the console as the stop.
 *
 * The dispatcher is only called with --service: outside the SCM it fails
 * with ERROR_FAILED_SERVICE_CONTROLLER_CONNECT (1063), after blocking for
 * about ten seconds under wine.
 *
 * ServiceMain has no context argument, so the one running service is kept
 * in a file-level variable; it is set once, before the dispatcher starts.
 */
#include "tsp.h"

#include "ts_log.h"

#include <windows.h>
#include <stdarg.h>
#include <apr_strings.h>

#include "win32_util.h"

struct tsp_service_t {
  const tsp_service_hooks_t *hooks;
  const tsp_service_options_t *options;
  wchar_t *wname;
  int under_scm;
  SERVICE_STATUS_HANDLE status_handle;
  SERVICE_STATUS status;
  CRITICAL_SECTION lock;        /* guards STATUS between threads */
  HANDLE stop_event, reload_event, scm_ready_event, done_event;
  DWORD dispatcher_error;
  apr_pool_t *pool;
};

static tsp_service_t *the_service;

/* Every status change goes through here: checkpoints rise while a state
 * is pending and reset otherwise. */
static void
report(tsp_service_t *svc, DWORD state, DWORD exit_status, DWORD wait_hint)
{
  if (!svc->under_scm)
    return;
  EnterCriticalSection(&svc->lock);
  svc->status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  svc->status.dwCurrentState = state;
  svc->status.dwControlsAccepted =
    state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN
                               | SERVICE_ACCEPT_PRESHUTDOWN
                               | SERVICE_ACCEPT_PARAMCHANGE
                             : 0;
  if (exit_status) {
    svc->status.dwWin32ExitCode = ERROR_SERVICE_SPECIFIC_ERROR;
    svc->status.dwServiceSpecificExitCode = exit_status;
  }
  else
    svc->status.dwWin32ExitCode = NO_ERROR;
  if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING) {
    svc->status.dwCheckPoint++;
    svc->status.dwWaitHint = wait_hint;
  }
  else {
    svc->status.dwCheckPoint = 0;
    svc->status.dwWaitHint = 0;
  }
  if (!SetServiceStatus(svc->status_handle, &svc->status))
    ts_log(svc->options->log, TS_LOG_WARNING, "SetServiceStatus() failed: error %lu",
        (unsigned long)GetLastError());
  LeaveCriticalSection(&svc->lock);
}

/* A second start of a service is the SCM's to refuse; there is no pid
 * file to hold. */
long
tsp_pidfile_holder(const char *path)
{
  (void)path;
  return 0;
}

void
tsp_service_status(tsp_service_t *service, const char *text)
{
  /* The SCM has no status text; a START_PENDING checkpoint shows progress
   * while starting. */
  (void)text;
  EnterCriticalSection(&service->lock);
  if (service->status.dwCurrentState == SERVICE_START_PENDING) {
    LeaveCriticalSection(&service->lock);
    report(service, SERVICE_START_PENDING, 0, 30000);
    return;
  }
  LeaveCriticalSection(&service->lock);
}

static void
event_log(tsp_service_t *svc, WORD type, const char *text)
{
  HANDLE source = RegisterEventSourceW(NULL, L"Tessera");
  const wchar_t *wtext;

  if (!source)
    return;
  if (!tsw_utf8_to_wide(&wtext, text, svc->pool))
    ReportEventW(source, type, 0, 1, NULL, 1, 0, &wtext, NULL);
  DeregisterEventSource(source);
}

static DWORD WINAPI
handler(DWORD control, DWORD type, LPVOID data, LPVOID context)
{
  tsp_service_t *svc = context;

  (void)type;
  (void)data;
  switch (control) {
  case SERVICE_CONTROL_STOP:
  case SERVICE_CONTROL_SHUTDOWN:
  case SERVICE_CONTROL_PRESHUTDOWN:
    report(svc, SERVICE_STOP_PENDING, 0,
           (DWORD)apr_time_as_msec(svc->options->stop_deadline));
    SetEvent(svc->stop_event);
    return NO_ERROR;
  case SERVICE_CONTROL_PARAMCHANGE:
    SetEvent(svc->reload_event);
    return NO_ERROR;
  case SERVICE_CONTROL_INTERROGATE:
    EnterCriticalSection(&svc->lock);
    SetServiceStatus(svc->status_handle, &svc->status);
    LeaveCriticalSection(&svc->lock);
    return NO_ERROR;
  }
  return ERROR_CALL_NOT_IMPLEMENTED;
}

static VOID WINAPI
service_main(DWORD argc, LPWSTR *argv)
{
  tsp_service_t *svc = the_service;

  (void)argc;
  (void)argv;
  svc->status_handle = RegisterServiceCtrlHandlerExW(svc->wname, handler,
                                                     svc);
  if (!svc->status_handle) {
    svc->dispatcher_error = GetLastError();
    SetEvent(svc->scm_ready_event);
    return;
  }
  svc->under_scm = 1;
  report(svc, SERVICE_START_PENDING, 0, 30000);
  SetEvent(svc->scm_ready_event);
  /* The service lives on the main thread; return once it has stopped. */
  WaitForSingleObject(svc->done_event, INFINITE);
}

static DWORD WINAPI
dispatcher_thread(LPVOID arg)
{
  tsp_service_t *svc = arg;
  SERVICE_TABLE_ENTRYW table[] = {
    { svc->wname, service_main },
    { NULL, NULL }
  };

  if (!StartServiceCtrlDispatcherW(table)) {
    svc->dispatcher_error = GetLastError();
    SetEvent(svc->scm_ready_event);
  }
  return 0;
}

void
tsp_service_request_stop(void)
{
  if (the_service)
    SetEvent(the_service->stop_event);
}

static BOOL WINAPI
console_handler(DWORD type)
{
  switch (type) {
  case CTRL_C_EVENT:
  case CTRL_BREAK_EVENT:
  case CTRL_CLOSE_EVENT:
  case CTRL_SHUTDOWN_EVENT:
    SetEvent(the_service->stop_event);
    return TRUE;
  }
  return FALSE;
}

/* Serve until the stop event; the reload event reloads. */
static void
serve(tsp_service_t *svc)
{
  HANDLE events[2] = { svc->stop_event, svc->reload_event };

  for (;;) {
    DWORD w = WaitForMultipleObjects(2, events, FALSE, INFINITE);
    if (w == WAIT_OBJECT_0 + 1) {
      apr_pool_t *pool;   /* this reload's */
      ts_error_t *err;
      apr_pool_create(&pool, svc->pool);
      err = svc->hooks->reload(svc->hooks->baton, pool);
      if (err) {
        ts_log(svc->options->log, TS_LOG_ERROR, "reload failed, still "
               "running on the previous configuration: %s",
               ts_error_text(err, pool));
        ts_error_clear(err);
      }
      apr_pool_destroy(pool);
      continue;
    }
    if (w != WAIT_OBJECT_0)
      ts_log(svc->options->log, TS_LOG_ERROR, "WaitForMultipleObjects() failed: error %lu",
          (unsigned long)GetLastError());
    return;
  }
}

ts_error_t *
tsp_service_run(int *exit_status, const tsp_service_options_t *options,
                const tsp_service_hooks_t *hooks, apr_pool_t *pool)
{
  tsp_service_t *svc = apr_pcalloc(pool, sizeof(*svc));
  HANDLE dispatcher = NULL;
  ts_error_t *err;

  if (options->mode == TSP_RUN_DAEMON)
    return ts_error_createf(TS_EUSAGE, "--daemon is for Linux; on Windows "
                            "register a service with `tessera-admin service "
                            "install <role>`, or run in a console");
  svc->hooks = hooks;
  svc->options = options;
  svc->pool = pool;
  InitializeCriticalSection(&svc->lock);
  TS_ERR(tsw_utf8_to_wide((const wchar_t **)&svc->wname, options->name,
                          pool));
  svc->stop_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  svc->reload_event = CreateEventW(NULL, FALSE, FALSE, NULL);
  svc->scm_ready_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  svc->done_event = CreateEventW(NULL, TRUE, FALSE, NULL);
  the_service = svc;

  if (options->mode == TSP_RUN_SERVICE) {
    dispatcher = CreateThread(NULL, 0, dispatcher_thread, svc, 0, NULL);
    if (!dispatcher)
      return ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                           "CreateThread() failed");
    WaitForSingleObject(svc->scm_ready_event, INFINITE);
    if (!svc->under_scm) {
      *exit_status = TS_EX_USAGE;
      return ts_error_aprf(APR_FROM_OS_ERROR(svc->dispatcher_error),
                           "StartServiceCtrlDispatcherW() failed: --service "
                           "only works when the service control manager "
                           "starts tesserad (%s); to run it by hand, use "
                           "--console instead", options->name);
    }
  }
  else
    SetConsoleCtrlHandler(console_handler, TRUE);

  report(svc, SERVICE_START_PENDING, 0, 30000);
  err = hooks->start(hooks->baton, svc);
  if (err) {
    int status = ts_error_exit_status(err);
    if (svc->under_scm)
      event_log(svc, EVENTLOG_ERROR_TYPE, apr_psprintf(pool, "%s could not "
                "start: %s", options->name, ts_error_text(err, pool)));
    report(svc, SERVICE_STOPPED, (DWORD)status, 0);
    SetEvent(svc->done_event);
    if (dispatcher) {
      WaitForSingleObject(dispatcher, 5000);
      CloseHandle(dispatcher);
    }
    *exit_status = status;
    return err;
  }
  report(svc, SERVICE_RUNNING, 0, 0);
  serve(svc);
  report(svc, SERVICE_STOP_PENDING, 0,
         (DWORD)apr_time_as_msec(options->stop_deadline));
  hooks->stop(hooks->baton);
  report(svc, SERVICE_STOPPED, 0, 0);
  SetEvent(svc->done_event);
  if (dispatcher) {
    WaitForSingleObject(dispatcher, 5000);
    CloseHandle(dispatcher);
  }
  *exit_status = TS_EX_OK;
  return NULL;
}

ts_error_t *
tsp_fd_limit_raise(long *soft, long *hard, long want)
{
  /* Windows sockets are handles without a per-process limit like
   * RLIMIT_NOFILE; only the C runtime's stdio streams are capped. */
  (void)want;
  *soft = -1;
  *hard = -1;
  return NULL;
}

int
tsp_stderr_is_journal(void)
{
  return 0;
}

void
tsp_allocator_tune(void)
{
}
