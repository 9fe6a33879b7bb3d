/* control.c (win32): the local control channel between an agent and its
 * model servers (tsp.h; core/proc/ts_control) over named pipes.
 *
 * Each model server listens on \\.\pipe\<name>.<its pid>, one instance at
 * a time: requests are short, and the next caller waits for the instance
 * (WaitNamedPipe). It connects a client, reads one request message,
 * writes one reply message, waits briefly for the client to close its
 * end (DisconnectNamedPipe would throw away a reply not read yet), and
 * disconnects. The pipe is made with FILE_FLAG_FIRST_PIPE_INSTANCE, so no
 * other process can have made it first and listen in the server's place,
 * with PIPE_REJECT_REMOTE_CLIENTS, and with a DACL of its own that lets
 * only the server's account, the system and the administrators in (the
 * default one lets every account read). All I/O is overlapped: stopping
 * (an event) and a caller's timeout end any wait at once.
 *
 * The agent has nothing to make or remove: its channel is a name of its
 * own, "tessera.<pid>.<random>", which its model servers' pipe names
 * begin with. A model server that is starting has no pipe yet: the
 * caller looks for it again in short steps until its deadline, the one
 * bounded poll here (a pipe that does not exist cannot be waited for).
 */
#include "tsp.h"

#include <winsock2.h>
#include <windows.h>
#include <sddl.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"
#include "ts_log.h"
#include "win32_util.h"

#define LOOK_STEP 20        /* ms between looks for a pipe not there yet */
#define REQUEST_WAIT 2000   /* ms a connected client has to send */
#define ANSWER_WAIT 2000    /* ms for the reply and the client's close */

struct tsp_ctl_t {
  const char *name;
  /* model server */
  const char *path;
  HANDLE pipe, stop, io;
  char buf[TSP_CTL_MAX];
};

static ULONGLONG
ms_left(ULONGLONG deadline)
{
  ULONGLONG now = GetTickCount64();
  return now < deadline ? deadline - now : 0;
}

/* Finish the overlapped operation on H that returned OK, waiting up to
 * MS (INFINITE) or until STOP (unless NULL) is set; *N: its bytes.
 * Returns 0 or the error (WAIT_TIMEOUT; ERROR_OPERATION_ABORTED when
 * STOP was set). */
static DWORD
finish(HANDLE h, OVERLAPPED *ov, BOOL ok, DWORD *n, HANDLE stop, DWORD ms)
{
  HANDLE events[2] = { ov->hEvent, stop };
  DWORD e, w;

  *n = 0;
  if (!ok && (e = GetLastError()) != ERROR_IO_PENDING)
    return e;
  w = WaitForMultipleObjects(stop ? 2 : 1, events, FALSE, ms);
  if (w == WAIT_OBJECT_0)
    return GetOverlappedResult(h, ov, n, FALSE) ? 0 : GetLastError();
  CancelIo(h);
  GetOverlappedResult(h, ov, n, TRUE);     /* the cancelled one ends */
  return w == WAIT_OBJECT_0 + 1 ? ERROR_OPERATION_ABORTED : WAIT_TIMEOUT;
}

static int
process_runs(long pid)
{
  HANDLE p = OpenProcess(SYNCHRONIZE, FALSE, (DWORD)pid);
  int runs = 0;

  if (p) {
    runs = WaitForSingleObject(p, 0) == WAIT_TIMEOUT;
    CloseHandle(p);
  }
  else
    runs = GetLastError() == ERROR_ACCESS_DENIED;
  return runs;
}

ts_error_t *
tsp_ctl_create(tsp_ctl_t **result, apr_pool_t *pool)
{
  tsp_ctl_t *ctl = apr_pcalloc(pool, sizeof(*ctl));
  unsigned char r[4];
  apr_status_t s = apr_generate_random_bytes(r, sizeof(r));

  if (s)
    return ts_error_aprf(s, "cannot make a name for the agent's control "
                         "channel (no random bytes)");
  ctl->name = apr_psprintf(pool, "tessera.%lu.%02x%02x%02x%02x",
                           (unsigned long)GetCurrentProcessId(), r[0], r[1],
                           r[2], r[3]);
  *result = ctl;
  return NULL;
}

const char *
tsp_ctl_name(const tsp_ctl_t *ctl)
{
  return ctl->name;
}

ts_error_t *
tsp_ctl_remove(tsp_ctl_t *ctl)
{
  (void)ctl;
  return NULL;
}

/* No reply to REQUEST from PID within TIMEOUT on the pipe PATH. */
static ts_error_t *
no_answer(const tsp_ctl_t *ctl, const char *path, long pid,
          const char *request, apr_interval_time_t timeout, apr_pool_t *pool)
{
  const char *quoted = ts_log_quote(request, 64, pool);
  long ms = (long)apr_time_as_msec(timeout);

  if (process_runs(pid))
    return ts_error_createf(TS_EUNAVAIL, "the model server with pid %ld did "
      "not answer the control request \"%s\" within %ld ms (control "
      "channel %s, pipe %s): the process runs, but it does not serve this "
      "agent's channel or it is busy; its log (srv.log beside its "
      "repository) says which", pid, quoted, ms, ctl->name, path);
  return ts_error_createf(TS_EUNAVAIL, "the model server with pid %ld did "
    "not answer the control request \"%s\" within %ld ms (control channel "
    "%s, pipe %s): no process %ld runs, it has ended (`tessera-admin "
    "models list` shows its version's state)", pid, quoted, ms, ctl->name,
    path, pid);
}

/* Open the pipe WPATH before DEADLINE: *H, or the Win32 error. */
static DWORD
open_pipe(HANDLE *h, const wchar_t *wpath, ULONGLONG deadline)
{
  for (;;) {
    DWORD e, left;

    *h = CreateFileW(wpath, GENERIC_READ | GENERIC_WRITE, 0, NULL,
                     OPEN_EXISTING, FILE_FLAG_OVERLAPPED, NULL);
    if (*h != INVALID_HANDLE_VALUE)
      return 0;
    e = GetLastError();
    left = (DWORD)ms_left(deadline);
    if (!left)
      return e == ERROR_PIPE_BUSY || e == ERROR_FILE_NOT_FOUND
             ? WAIT_TIMEOUT : e;
    if (e == ERROR_PIPE_BUSY)
      WaitNamedPipeW(wpath, left);
    else if (e == ERROR_FILE_NOT_FOUND)
      Sleep(left < LOOK_STEP ? left : LOOK_STEP);
    else
      return e;
  }
}

/* REQUEST (LEN bytes) on the open pipe H, its reply into BUF (up to
 * TSP_CTL_MAX); *N its length. 0 or the Win32 error. */
static DWORD
transact(DWORD *n, HANDLE h, const char *request, apr_size_t len, char *buf,
         ULONGLONG deadline)
{
  OVERLAPPED ov = { 0 };
  DWORD mode = PIPE_READMODE_MESSAGE, e;

  if (!SetNamedPipeHandleState(h, &mode, NULL, NULL))
    return GetLastError();
  ov.hEvent = CreateEventW(NULL, TRUE, FALSE, NULL);
  if (!ov.hEvent)
    return GetLastError();
  e = finish(h, &ov, WriteFile(h, request, (DWORD)len, NULL, &ov), n, NULL,
             (DWORD)ms_left(deadline));
  if (!e) {
    ResetEvent(ov.hEvent);
    e = finish(h, &ov, ReadFile(h, buf, TSP_CTL_MAX, NULL, &ov), n, NULL,
               (DWORD)ms_left(deadline));
  }
  CloseHandle(ov.hEvent);
  return e;
}

ts_error_t *
tsp_ctl_call(const char **reply, tsp_ctl_t *ctl, long pid,
             const char *request, apr_size_t len,
             apr_interval_time_t timeout, apr_pool_t *pool)
{
  ULONGLONG deadline = GetTickCount64() + (ULONGLONG)apr_time_as_msec(timeout);
  const char *path = apr_psprintf(pool, "\\\\.\\pipe\\%s.%ld", ctl->name,
                                  pid);
  const wchar_t *wpath;
  char *buf;
  HANDLE h;
  DWORD e, n;

  if (pid <= 0 || len > TSP_CTL_MAX)
    return ts_error_createf(TS_EINVAL, "cannot send a control request of "
                            "%ld bytes to pid %ld: not a model server's pid, "
                            "or longer than %d bytes", (long)len, pid,
                            TSP_CTL_MAX);
  TS_ERR(tsw_utf8_to_wide(&wpath, path, pool));
  e = open_pipe(&h, wpath, deadline);
  if (!e) {
    buf = apr_palloc(pool, TSP_CTL_MAX + 1);
    e = transact(&n, h, request, len, buf, deadline);
    CloseHandle(h);
    if (!e) {
      buf[n] = '\0';
      *reply = buf;
      return NULL;
    }
  }
  if (e == WAIT_TIMEOUT || e == ERROR_BROKEN_PIPE || e == ERROR_PIPE_NOT_CONNECTED)
    return no_answer(ctl, path, pid, apr_pstrmemdup(pool, request, len),
                     timeout, pool);
  return ts_error__createf(TS__WHERE, TS_EUNAVAIL, APR_FROM_OS_ERROR(e), NULL,
    N_("the control request to the model server with pid %ld on the pipe "
       "%s failed"), pid, path);
}

/* "tessera.<pid>.<8 hex digits>" */
static int
valid_name(const char *name)
{
  const char *p = name + 8;

  if (strncmp(name, "tessera.", 8) != 0 || *p < '0' || *p > '9')
    return 0;
  while (*p >= '0' && *p <= '9')
    p++;
  if (*p++ != '.' || strlen(p) != 8)
    return 0;
  return strspn(p, "0123456789abcdef") == 8;
}

/* Security attributes that let only this account, the system and the
 * administrators use the pipe; the descriptor is LocalFree'd by the
 * caller. */
static ts_error_t *
own_security(SECURITY_ATTRIBUTES *sa, apr_pool_t *pool)
{
  HANDLE token;
  char tu[256];
  DWORD len;
  LPWSTR wsid;
  const char *sid;
  const wchar_t *sddl;
  ts_error_t *err;

  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
    return ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                         "OpenProcessToken failed");
  if (!GetTokenInformation(token, TokenUser, tu, sizeof(tu), &len)
      || !ConvertSidToStringSidW(((TOKEN_USER *)tu)->User.Sid, &wsid)) {
    DWORD e = GetLastError();
    CloseHandle(token);
    return ts_error_aprf(APR_FROM_OS_ERROR(e), "cannot read this process's "
                         "account for the control pipe");
  }
  CloseHandle(token);
  err = tsw_wide_to_utf8(&sid, wsid, pool);
  LocalFree(wsid);
  TS_ERR(err);
  TS_ERR(tsw_utf8_to_wide(&sddl, apr_psprintf(pool, "D:P(A;;GA;;;SY)"
                          "(A;;GA;;;BA)(A;;GA;;;%s)", sid), pool));
  sa->nLength = sizeof(*sa);
  sa->bInheritHandle = FALSE;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl,
        SDDL_REVISION_1, &sa->lpSecurityDescriptor, NULL))
    return ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()), "cannot make "
                         "the security descriptor of the control pipe");
  return NULL;
}

static ts_error_t *
make_pipe(tsp_ctl_t *ctl, apr_pool_t *pool)
{
  SECURITY_ATTRIBUTES sa;
  const wchar_t *wpath;
  DWORD e;

  TS_ERR(tsw_utf8_to_wide(&wpath, ctl->path, pool));
  TS_ERR(own_security(&sa, pool));
  ctl->pipe = CreateNamedPipeW(wpath, PIPE_ACCESS_DUPLEX
                               | FILE_FLAG_OVERLAPPED
                               | FILE_FLAG_FIRST_PIPE_INSTANCE,
                               PIPE_TYPE_MESSAGE | PIPE_READMODE_MESSAGE
                               | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
                               TSP_CTL_MAX, TSP_CTL_MAX, 0, &sa);
  e = GetLastError();
  LocalFree(sa.lpSecurityDescriptor);
  if (ctl->pipe != INVALID_HANDLE_VALUE)
    return NULL;
  if (e == ERROR_ACCESS_DENIED || e == ERROR_PIPE_BUSY)
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, APR_FROM_OS_ERROR(e),
      NULL, N_("the control pipe %s exists already: another process "
               "serves it; a model server's pipe is its own"), ctl->path);
  return ts_error_aprf(APR_FROM_OS_ERROR(e), "cannot create the control "
                       "pipe %s", ctl->path);
}

ts_error_t *
tsp_ctl_open(tsp_ctl_t **result, const char *name, apr_pool_t *pool)
{
  tsp_ctl_t *ctl = apr_pcalloc(pool, sizeof(*ctl));
  ts_error_t *err;

  if (!valid_name(name))
    return ts_error_createf(TS_EINVAL, "'%s' is not the name of a control "
                            "channel (TESSERA_CONTROL): it is "
                            "tessera.<agent pid>.<8 hex digits>, as the "
                            "agent gives it to the model servers it starts",
                            name);
  ctl->name = apr_pstrdup(pool, name);
  ctl->path = apr_psprintf(pool, "\\\\.\\pipe\\%s.%lu", name,
                           (unsigned long)GetCurrentProcessId());
  ctl->pipe = INVALID_HANDLE_VALUE;
  ctl->stop = CreateEventW(NULL, TRUE, FALSE, NULL);
  ctl->io = CreateEventW(NULL, TRUE, FALSE, NULL);
  err = ctl->stop && ctl->io
        ? make_pipe(ctl, pool)
        : ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()), "CreateEvent "
                        "failed");
  if (err) {
    tsp_ctl_close(ctl);
    return err;
  }
  *result = ctl;
  return NULL;
}

ts_error_t *
tsp_ctl_next(const char **request, tsp_ctl_t *ctl, apr_pool_t *pool)
{
  *request = NULL;
  while (WaitForSingleObject(ctl->stop, 0) != WAIT_OBJECT_0) {
    OVERLAPPED ov = { 0 };
    DWORD e, n;
    BOOL ok;

    ov.hEvent = ctl->io;
    ResetEvent(ctl->io);
    ok = ConnectNamedPipe(ctl->pipe, &ov);
    e = !ok && GetLastError() == ERROR_PIPE_CONNECTED
        ? 0 : finish(ctl->pipe, &ov, ok, &n, ctl->stop, INFINITE);
    if (e == ERROR_OPERATION_ABORTED)
      return NULL;
    if (!e) {
      ResetEvent(ctl->io);
      e = finish(ctl->pipe, &ov, ReadFile(ctl->pipe, ctl->buf, TSP_CTL_MAX,
                                          NULL, &ov), &n, ctl->stop,
                 REQUEST_WAIT);
      if (!e) {
        *request = apr_pstrmemdup(pool, ctl->buf, n);
        return NULL;
      }
    }
    /* a client that went away, sent nothing or too much: the next one */
    DisconnectNamedPipe(ctl->pipe);
  }
  return NULL;
}

ts_error_t *
tsp_ctl_answer(tsp_ctl_t *ctl, const char *reply, apr_size_t len)
{
  OVERLAPPED ov = { 0 };
  DWORD e, n;

  if (len > TSP_CTL_MAX)
    return ts_error_createf(TS_EINVAL, "a control reply of %ld bytes is "
                            "longer than the %d bytes the channel carries",
                            (long)len, TSP_CTL_MAX);
  ov.hEvent = ctl->io;
  ResetEvent(ctl->io);
  e = finish(ctl->pipe, &ov, WriteFile(ctl->pipe, reply, (DWORD)len, NULL,
                                       &ov), &n, NULL, ANSWER_WAIT);
  if (!e) {
    /* until the client has read it and closed its end (broken pipe) */
    ResetEvent(ctl->io);
    finish(ctl->pipe, &ov, ReadFile(ctl->pipe, ctl->buf, 1, NULL, &ov), &n,
           NULL, ANSWER_WAIT);
  }
  DisconnectNamedPipe(ctl->pipe);
  if (e)
    return ts_error_aprf(APR_FROM_OS_ERROR(e), "cannot send the reply on "
                         "the control pipe %s", ctl->path);
  return NULL;
}

ts_error_t *
tsp_ctl_wake(tsp_ctl_t *ctl)
{
  if (!SetEvent(ctl->stop))
    return ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()), "cannot wake "
                         "the thread that serves the control pipe %s",
                         ctl->path);
  return NULL;
}

void
tsp_ctl_close(tsp_ctl_t *ctl)
{
  if (ctl->pipe != INVALID_HANDLE_VALUE)
    CloseHandle(ctl->pipe);
  if (ctl->stop)
    CloseHandle(ctl->stop);
  if (ctl->io)
    CloseHandle(ctl->io);
  ctl->pipe = INVALID_HANDLE_VALUE;
  ctl->stop = ctl->io = NULL;
}
