/* system.c (win32): privileges, default locations, listening sockets,
 * child processes, and the UTF-16 and error helpers of win32_util.h. The
 * table of system calls is in syscalls.c. */
#include "tsp.h"

#include <winsock2.h>
#include <windows.h>
#include <apr_env.h>
#include <apr_network_io.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "ts_i18n.h"
#include "win32_util.h"

ts_error_t *
tsw_utf8_to_wide(const wchar_t **out, const char *in, apr_pool_t *pool)
{
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, in, -1, NULL, 0);
  wchar_t *buf;

  if (n <= 0)
    return ts_error_createf(TS_EINVAL, "'%s' is not valid UTF-8", in);
  buf = apr_palloc(pool, (apr_size_t)n * sizeof(wchar_t));
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, in, -1, buf, n);
  *out = buf;
  return NULL;
}

ts_error_t *
tsw_wide_to_utf8(const char **out, const wchar_t *in, apr_pool_t *pool)
{
  int n = WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, in, -1, NULL, 0,
                              NULL, NULL);
  char *buf;

  if (n <= 0)
    return ts_error_createf(TS_EINVAL, "a registry or system string is not "
                            "valid UTF-16");
  buf = apr_palloc(pool, (apr_size_t)n);
  WideCharToMultiByte(CP_UTF8, WC_ERR_INVALID_CHARS, in, -1, buf, n, NULL,
                      NULL);
  *out = buf;
  return NULL;
}

int
tsp_is_privileged(void)
{
  HANDLE token;
  TOKEN_ELEVATION elevation;
  DWORD len;
  int elevated = 0;

  if (OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) {
    if (GetTokenInformation(token, TokenElevation, &elevation,
                            sizeof(elevation), &len))
      elevated = elevation.TokenIsElevated != 0;
    CloseHandle(token);
  }
  return elevated;
}

/* A phrase that only tessera-admin puts into its messages: in the
 * language of people (core/i18n/fragments recipe 5). */
const char *
tsp_privileged_command(const char *command, apr_pool_t *pool)
{
  return apr_psprintf(pool, _("`%s` from a Command Prompt opened with \"Run "
                              "as administrator\""), command);
}

const char *
tsp_default_data_dir(apr_pool_t *pool)
{
  char *dir;
  const char *var = tsp_is_privileged() ? "ProgramData" : "LOCALAPPDATA";

  if (apr_env_get(&dir, var, pool) == APR_SUCCESS && *dir)
    return apr_pstrcat(pool, dir, "\\Tessera", NULL);
  return "C:\\ProgramData\\Tessera";
}

int
tsp_status_is_addr_in_use(apr_status_t s)
{
  return s == APR_FROM_OS_ERROR(WSAEADDRINUSE);
}

apr_status_t
tsp_listener_prepare(apr_socket_t *sock)
{
  apr_os_sock_t s;
  BOOL on = TRUE;

  apr_os_sock_get(&s, sock);
  if (setsockopt(s, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, (const char *)&on,
                 sizeof(on)) != 0)
    return APR_FROM_OS_ERROR(WSAGetLastError());
  return APR_SUCCESS;
}

apr_status_t
tsp_child_started(void **token, apr_proc_t *proc)
{
  /* A job per child (under wine, a process added to a job whose earlier
   * members all exited was not always killed on close): when this
   * process ends, however, the system closes the handle and
   * KILL_ON_JOB_CLOSE ends the child. */
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;
  HANDLE job = CreateJobObjectW(NULL, NULL);
  apr_status_t s;

  *token = NULL;
  if (!job)
    return apr_get_os_error();
  ZeroMemory(&li, sizeof(li));
  li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  if (!SetInformationJobObject(job, JobObjectExtendedLimitInformation, &li,
                               sizeof(li))
      || !AssignProcessToJobObject(job, proc->hproc)) {
    s = apr_get_os_error();
    CloseHandle(job);
    return s;
  }
  *token = job;
  return APR_SUCCESS;
}

apr_status_t
tsp_child_limit_memory(void *token, apr_proc_t *proc, long mb)
{
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION li;

  (void)proc;
  if (!token)
    return APR_ENOTIMPL;
  ZeroMemory(&li, sizeof(li));
  li.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
                                        | JOB_OBJECT_LIMIT_PROCESS_MEMORY;
  li.ProcessMemoryLimit = (SIZE_T)mb * 1024 * 1024;
  if (!SetInformationJobObject((HANDLE)token,
                               JobObjectExtendedLimitInformation, &li,
                               sizeof(li)))
    return apr_get_os_error();
  /* read back: a limit the system did not take is no limit */
  ZeroMemory(&li, sizeof(li));
  if (!QueryInformationJobObject((HANDLE)token,
                                 JobObjectExtendedLimitInformation, &li,
                                 sizeof(li), NULL))
    return apr_get_os_error();
  return (li.BasicLimitInformation.LimitFlags
          & JOB_OBJECT_LIMIT_PROCESS_MEMORY)
         && li.ProcessMemoryLimit == (SIZE_T)mb * 1024 * 1024
         ? APR_SUCCESS : APR_ENOTIMPL;
}

void
tsp_child_forget(void *token)
{
  if (token)
    CloseHandle(token);   /* its child has exited: this kills nothing */
}

const char *const *
tsp_program_dirs(void)
{
  static const char *const dirs[] = { NULL };
  return dirs;
}

const char *const *
tsp_program_suffixes(void)
{
  static const char *const suffixes[] = { ".exe", "", NULL };
  return suffixes;
}

/* No execute bit: a program's ACL is judged when it is started. */
int
tsp_program_runnable(const char *path)
{
  (void)path;
  return 1;
}

void
tsp_child_reopen_logs(apr_proc_t *proc)
{
  (void)proc;   /* no such signal; the broker keeps its log file */
}

long
tsp_pid(void)
{
  return (long)GetCurrentProcessId();
}

ts_error_t *
tsp_server_reload(long pid)
{
  return ts_error_createf(TS_EUNAVAIL, "Windows has no HUP for process %ld: "
                          "a service reloads when the service manager sends "
                          "PARAMCHANGE", pid);
}

int
tsp_has_hup(void)
{
  return 0;
}

const char *
tsp_os_name(void)
{
  return "windows";
}

const char *
tsp_service_account(void)
{
  return "NT AUTHORITY\\LocalService";
}
