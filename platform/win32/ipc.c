/* ipc.c (win32): Windows has no System V message queues; who listens on a
 * port comes from GetExtendedTcpTable (IPv4 and IPv6 listeners with their
 * owning process) and the process's image name. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <iphlpapi.h>
#include <stdlib.h>
#include <apr_strings.h>

#include "tsp.h"

ts_error_t *
tsp_msgqueues(apr_array_header_t **queues, long *msgmni, apr_pool_t *pool)
{
  (void)pool;
  *queues = NULL;
  *msgmni = -1;
  return NULL;
}

ts_error_t *
tsp_msgqueue_remove(long id)
{
  return ts_error_createf(TS_EUSAGE, "there are no message queues on "
                          "Windows (queue %ld)", id);
}

/* The pid listening on PORT in FAMILY's table, or 0. */
static DWORD
listener_pid(int port, ULONG family)
{
  DWORD size = 0, pid = 0;
  void *table = NULL;

  for (int tries = 0; tries < 4; tries++) {
    DWORD rc = GetExtendedTcpTable(table, &size, FALSE, family,
                                   TCP_TABLE_OWNER_PID_LISTENER, 0);
    if (rc == NO_ERROR)
      break;
    free(table);
    table = NULL;
    if (rc != ERROR_INSUFFICIENT_BUFFER || !(table = malloc(size)))
      return 0;
  }
  if (!table)
    return 0;
  if (family == AF_INET) {
    MIB_TCPTABLE_OWNER_PID *t = table;
    for (DWORD i = 0; i < t->dwNumEntries && !pid; i++)
      if (ntohs((u_short)t->table[i].dwLocalPort) == port)
        pid = t->table[i].dwOwningPid;
  }
  else {
    MIB_TCP6TABLE_OWNER_PID *t = table;
    for (DWORD i = 0; i < t->dwNumEntries && !pid; i++)
      if (ntohs((u_short)t->table[i].dwLocalPort) == port)
        pid = t->table[i].dwOwningPid;
  }
  free(table);
  return pid;
}

const char *
tsp_port_owner(int port, apr_pool_t *pool)
{
  DWORD pid = listener_pid(port, AF_INET);
  wchar_t wpath[MAX_PATH];
  char path[MAX_PATH * 3];
  DWORD len = MAX_PATH;
  const char *name = "?";
  HANDLE h;

  if (!pid)
    pid = listener_pid(port, AF_INET6);
  if (!pid)
    return NULL;
  h = OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (h) {
    if (QueryFullProcessImageNameW(h, 0, wpath, &len)
        && WideCharToMultiByte(CP_UTF8, 0, wpath, -1, path, sizeof(path),
                               NULL, NULL) > 0) {
      const char *slash = strrchr(path, '\\');
      name = apr_pstrdup(pool, slash ? slash + 1 : path);
    }
    CloseHandle(h);
  }
  return apr_psprintf(pool, "pid %lu (%s)", (unsigned long)pid, name);
}
