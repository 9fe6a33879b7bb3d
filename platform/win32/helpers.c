/* helpers.c (win32): the helper programs a server runs as its children
 * (the bus broker), as Windows sees them. A service runs as LocalService
 * already, so a helper keeps the server's account and nothing is handed
 * over; the helper cannot outlive the server (the job object of
 * tsp_child_started), so there is no leftover to recognise, and another
 * process's command line is not readable anyway. The pid file is read as
 * it is: INOLIC's folder ACL guards it. */
#include "tsp.h"

#include <winsock2.h>
#include <windows.h>
#include <stdlib.h>
#include <apr_strings.h>

#include "ts_file.h"

ts_error_t *
tsp_helper_account(const char **account, apr_pool_t *pool)
{
  (void)pool;
  *account = NULL;
  return NULL;
}

ts_error_t *
tsp_file_hand_over(const char *path, const char *account, int own,
                   apr_pool_t *pool)
{
  (void)path;
  (void)account;
  (void)own;
  (void)pool;
  return NULL;
}

ts_error_t *
tsp_account_reaches(const char *dir, const char *account, apr_pool_t *pool)
{
  (void)dir;
  (void)account;
  (void)pool;
  return NULL;
}

ts_error_t *
tsp_pidfile_read(const char **text, const char *path, apr_pool_t *pool)
{
  apr_size_t len;

  *text = NULL;
  return ts_file_read_all(text, &len, path, pool);
}

long
tsp_process_self(void)
{
  return (long)GetCurrentProcessId();
}

int
tsp_process_alive(long pid)
{
  HANDLE h = pid > 0 ? OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE,
                                   (DWORD)pid) : NULL;
  DWORD code = 0;
  int alive;

  if (!h)
    return pid > 0 && GetLastError() == ERROR_ACCESS_DENIED;
  alive = GetExitCodeProcess(h, &code) && code == STILL_ACTIVE;
  CloseHandle(h);
  return alive;
}

/* Windows keeps the pid of the parent a process was started by, even
 * after that parent ended and its pid went to another process: no answer
 * rather than a wrong one (and a helper cannot outlive its server here). */
long
tsp_process_parent(long pid)
{
  (void)pid;
  return 0;
}

int
tsp_process_runs_with(long pid, const char *program, const char *needle)
{
  (void)pid;
  (void)program;
  (void)needle;
  return 0;
}

ts_error_t *
tsp_child_argv(const char ***wrapped, const char **argv, const char *account,
               apr_pool_t *pool)
{
  (void)pool;   /* see tsp_child_started() */
  if (account)
    return ts_error_createf(TS_EINTERNAL, "cannot start %s as the account "
                            "%s: Windows helpers keep the server's account",
                            argv[0], account);
  *wrapped = argv;
  return NULL;
}
