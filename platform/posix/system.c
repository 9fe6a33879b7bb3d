/* system.c (posix): privileges, default locations, listening sockets,
 * child processes (the helpers a server runs are in helpers.c). The table
 * of system calls is in syscalls.c. */
#include "tsp.h"

#include <sys/resource.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <unistd.h>
#include <apr_env.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

int
tsp_is_privileged(void)
{
  return geteuid() == 0;
}

const char *
tsp_privileged_command(const char *command, apr_pool_t *pool)
{
  return apr_pstrcat(pool, "`sudo ", command, "`", NULL);
}

const char *
tsp_default_data_dir(apr_pool_t *pool)
{
  char *xdg, *home;

  if (geteuid() == 0)
    return "/var/lib/tessera";
  if (apr_env_get(&xdg, "XDG_DATA_HOME", pool) == APR_SUCCESS && *xdg)
    return apr_pstrcat(pool, xdg, "/tessera", NULL);
  if (apr_env_get(&home, "HOME", pool) == APR_SUCCESS && *home)
    return apr_pstrcat(pool, home, "/.local/share/tessera", NULL);
  return "/var/lib/tessera";
}

int
tsp_status_is_addr_in_use(apr_status_t s)
{
  return s == APR_FROM_OS_ERROR(EADDRINUSE);
}

apr_status_t
tsp_listener_prepare(apr_socket_t *sock)
{
  return apr_socket_opt_set(sock, APR_SO_REUSEADDR, 1);
}

const char *const *
tsp_program_dirs(void)
{
  static const char *const dirs[] = { "/usr/sbin", "/usr/local/sbin",
                                      "/sbin", NULL };
  return dirs;
}

const char *const *
tsp_program_suffixes(void)
{
  static const char *const suffixes[] = { "", NULL };
  return suffixes;
}

int
tsp_program_runnable(const char *path)
{
  return access(path, X_OK) == 0;
}

apr_status_t
tsp_child_started(void **token, apr_proc_t *proc)
{
  (void)proc;   /* tsp_child_argv's setpriv did it */
  *token = NULL;
  return APR_SUCCESS;
}

apr_status_t
tsp_child_limit_memory(void *token, apr_proc_t *proc, long mb)
{
  struct rlimit r;

  (void)token;
  r.rlim_cur = r.rlim_max = (rlim_t)mb * 1024 * 1024;
  return prlimit(proc->pid, RLIMIT_AS, &r, NULL) == 0 ? APR_SUCCESS
                                                      : APR_FROM_OS_ERROR(errno);
}

void
tsp_child_forget(void *token)
{
  (void)token;
}

void
tsp_child_reopen_logs(apr_proc_t *proc)
{
  apr_proc_kill(proc, SIGHUP);
}

long
tsp_pid(void)
{
  return (long)getpid();
}

ts_error_t *
tsp_server_reload(long pid)
{
  if (pid <= 0 || pid > INT_MAX)
    return ts_error_createf(TS_EINVAL, "%ld is not a process id", pid);
  if (kill((pid_t)pid, SIGHUP) == 0)
    return NULL;
  if (errno == ESRCH)
    return ts_error_createf(TS_ENOENT, "process %ld does not run", pid);
  if (errno == EPERM)
    return ts_error_createf(TS_EPERM, "this account may not send HUP to "
                            "process %ld", pid);
  return ts_error_aprf(APR_FROM_OS_ERROR(errno), "kill(%ld, SIGHUP) failed",
                       pid);
}

int
tsp_has_hup(void)
{
  return 1;
}

const char *
tsp_os_name(void)
{
  return "linux";
}

const char *
tsp_service_account(void)
{
  return "tessera";
}
