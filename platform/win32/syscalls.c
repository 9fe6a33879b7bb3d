/* syscalls.c (win32): the table of system calls core makes (tsp_sys, see
 * tsp.h), its real entries, and the statuses Windows gives for the faults
 * tests inject.
 *
 * The entries are small functions rather than APR's own addresses, so the
 * table is a constant initializer whatever the linkage of APR (on Windows
 * a DLL's functions have no constant address), and both platforms' tables
 * have the same shape. */
#include "tsp.h"
#include "syscalls_apr.h"

#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_portable.h>
#include <apr_thread_proc.h>

#include "win32_util.h"

/* The status of a refused reparse point ("The name of the file cannot be
 * resolved by the system"). */
#define REFUSED_LINK ERROR_CANT_RESOLVE_FILENAME

/* apr_file_open, but a reparse point at PATH (a symbolic link, a
 * junction, a mount point) is refused, never followed: opened with
 * FILE_FLAG_OPEN_REPARSE_POINT, so the handle is the link itself when
 * there is one, and refused when its attributes say it is one. A
 * truncation waits for that verdict. Appending is APR's, as with
 * apr_file_open: the file pointer at the end (where a child that
 * inherits the handle writes), each write of ours locked and at the
 * end. */
static apr_status_t
real_file_open(apr_file_t **file, const char *path, apr_int32_t flags,
               apr_fileperms_t perms, apr_pool_t *pool)
{
  DWORD access = 0, disposition = OPEN_EXISTING, e = 0;
  BY_HANDLE_FILE_INFORMATION info;
  const wchar_t *wpath;
  ts_error_t *err;
  HANDLE h;

  (void)perms;                       /* as in APR: no mode bits here */
  err = tsw_utf8_to_wide(&wpath, path, pool);
  if (err) {
    ts_error_clear(err);
    return APR_FROM_OS_ERROR(ERROR_INVALID_NAME);
  }
  if (flags & APR_FOPEN_READ)
    access |= GENERIC_READ;
  if (flags & APR_FOPEN_WRITE)
    access |= GENERIC_WRITE;
  if (flags & APR_FOPEN_CREATE)
    disposition = (flags & APR_FOPEN_EXCL) ? CREATE_NEW : OPEN_ALWAYS;
  h = CreateFileW(wpath, access, FILE_SHARE_READ | FILE_SHARE_WRITE
                  | FILE_SHARE_DELETE, NULL, disposition,
                  FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, NULL);
  if (h == INVALID_HANDLE_VALUE)
    return APR_FROM_OS_ERROR(GetLastError());
  if (!GetFileInformationByHandle(h, &info))
    e = GetLastError();
  else if (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT)
    e = REFUSED_LINK;
  else if ((flags & APR_FOPEN_TRUNCATE) && !SetEndOfFile(h))
    e = GetLastError();
  if (e) {
    CloseHandle(h);
    return APR_FROM_OS_ERROR(e);
  }
  if (flags & APR_FOPEN_APPEND)
    SetFilePointer(h, 0, NULL, FILE_END);
  return tspi_file_adopt(file, h, flags, pool);
}

/* NTFS journals its metadata: a completed MoveFileEx (which
 * apr_file_rename uses) survives a crash without flushing the directory,
 * and Windows offers no portable way to flush a directory handle. */
static apr_status_t
real_dir_sync(const char *dir, apr_pool_t *pool)
{
  (void)dir;
  (void)pool;
  return APR_SUCCESS;
}

/* APR's connect on Windows blocks for the system's time (about 21 s to a
 * host that does not answer) when the socket has a timeout; the socket's
 * timeout is kept here instead: a non-blocking connect(), then select()
 * for at most that long. */
static apr_status_t
real_socket_connect(apr_socket_t *sock, apr_sockaddr_t *sa)
{
  apr_interval_time_t t = 0;
  apr_os_sock_t s;
  u_long on = 1, off = 0;
  fd_set w, e;
  struct timeval tv;
  int err = 0, len = sizeof(err), n;

  if (apr_socket_timeout_get(sock, &t) || t <= 0
      || apr_os_sock_get(&s, sock) || ioctlsocket(s, FIONBIO, &on) != 0)
    return apr_socket_connect(sock, sa);
  if (connect(s, (const struct sockaddr *)&sa->sa, sa->salen) == 0) {
    ioctlsocket(s, FIONBIO, &off);
    return APR_SUCCESS;
  }
  err = WSAGetLastError();
  if (err == WSAEWOULDBLOCK) {
    FD_ZERO(&w);
    FD_SET(s, &w);
    FD_ZERO(&e);
    FD_SET(s, &e);
    tv.tv_sec = (long)(t / APR_USEC_PER_SEC);
    tv.tv_usec = (long)(t % APR_USEC_PER_SEC);
    n = select(0, NULL, &w, &e, &tv);
    if (n == 0)
      err = WSAETIMEDOUT;
    else if (n < 0)
      err = WSAGetLastError();
    else if (FD_ISSET(s, &e)) {
      if (getsockopt(s, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0
          || err == 0)
        err = WSAECONNREFUSED;
    }
    else
      err = 0;
  }
  ioctlsocket(s, FIONBIO, &off);   /* APR keeps a socket with a timeout
                                      blocking */
  if (err == WSAETIMEDOUT)
    return APR_TIMEUP;
  return err ? APR_FROM_OS_ERROR(err) : APR_SUCCESS;
}

#define REAL_CALLS {                          \
  TSPI_APR_CALLS,                             \
  .file_open = real_file_open,                \
  .file_perms_set = tspi_file_perms_set,      \
  .dir_sync = real_dir_sync,                  \
  .socket_connect = real_socket_connect,      \
}

const tsp_sys_t tsp_sys_real = REAL_CALLS;
tsp_sys_t tsp_sys = REAL_CALLS;

void
tsp_sys_reset(void)
{
  tsp_sys = tsp_sys_real;
}

int
tsp_status_is_link(apr_status_t s)
{
  return s == APR_FROM_OS_ERROR(REFUSED_LINK);
}

apr_status_t
tsp_fault_status(tsp_fault_t fault)
{
  switch (fault) {
  case TSP_FAULT_DISK_FULL:
    return APR_FROM_OS_ERROR(ERROR_DISK_FULL);
  case TSP_FAULT_ACCESS_DENIED:
    return APR_FROM_OS_ERROR(ERROR_ACCESS_DENIED);
  case TSP_FAULT_CONNECTION_REFUSED:
    return APR_FROM_OS_ERROR(WSAECONNREFUSED);
  }
  return APR_EGENERAL;
}
