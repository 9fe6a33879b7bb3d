/* syscalls.c (posix): the table of system calls core makes (tsp_sys, see
 * tsp.h), its real entries, and the statuses Linux gives for the faults
 * tests inject.
 *
 * The entries are small functions rather than APR's own addresses, so the
 * table is a constant initializer whatever the linkage of APR (on Windows
 * a DLL's functions have no constant address), and both platforms' tables
 * have the same shape. */
#include "tsp.h"
#include "syscalls_apr.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_thread_proc.h>

/* fsync() on the directory itself: the rename in it is on disk. */
static apr_status_t
real_dir_sync(const char *dir, apr_pool_t *pool)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int e = 0;

  (void)pool;
  if (fd < 0)
    return APR_FROM_OS_ERROR(errno);
  if (fsync(fd) != 0 && errno != EINVAL)   /* EINVAL: cannot be synced */
    e = errno;
  close(fd);
  return e ? APR_FROM_OS_ERROR(e) : APR_SUCCESS;
}

static apr_status_t
real_socket_connect(apr_socket_t *sock, apr_sockaddr_t *sa)
{
  return apr_socket_connect(sock, sa);
}

#define REAL_CALLS {                          \
  TSPI_APR_CALLS,                             \
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

apr_status_t
tsp_fault_status(tsp_fault_t fault)
{
  switch (fault) {
  case TSP_FAULT_DISK_FULL:
    return APR_FROM_OS_ERROR(ENOSPC);
  case TSP_FAULT_ACCESS_DENIED:
    return APR_FROM_OS_ERROR(EACCES);
  case TSP_FAULT_CONNECTION_REFUSED:
    return APR_FROM_OS_ERROR(ECONNREFUSED);
  }
  return APR_EGENERAL;
}
