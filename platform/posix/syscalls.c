/* syscalls.c (posix): the table of system calls core makes (tsp_sys, see
 * tsp.h), its real entries, and the statuses Linux gives for the faults
 * tests inject.
 *
 * The entries are small functions rather than APR's own addresses, so the
 * table is a constant initializer whatever the linkage of APR (on Windows
 * a DLL's functions have no constant address), and both platforms' tables
 * have the same shape. */
#include "tsp.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_thread_proc.h>

static apr_status_t
real_file_open(apr_file_t **file, const char *path, apr_int32_t flags,
               apr_fileperms_t perms, apr_pool_t *pool)
{
  return apr_file_open(file, path, flags, perms, pool);
}

static apr_status_t
real_file_mktemp(apr_file_t **file, char *templ, apr_int32_t flags,
                 apr_pool_t *pool)
{
  return apr_file_mktemp(file, templ, flags, pool);
}

static apr_status_t
real_file_write_full(apr_file_t *file, const void *buf, apr_size_t n,
                     apr_size_t *written)
{
  return apr_file_write_full(file, buf, n, written);
}

static apr_status_t
real_file_sync(apr_file_t *file)
{
  return apr_file_sync(file);
}

static apr_status_t
real_file_close(apr_file_t *file)
{
  return apr_file_close(file);
}

static apr_status_t
real_file_perms_set(const char *path, apr_fileperms_t perms)
{
  return apr_file_perms_set(path, perms);
}

static apr_status_t
real_file_rename(const char *from, const char *to, apr_pool_t *pool)
{
  return apr_file_rename(from, to, pool);
}

static apr_status_t
real_file_remove(const char *path, apr_pool_t *pool)
{
  return apr_file_remove(path, pool);
}

static apr_status_t
real_dir_make_recursive(const char *path, apr_fileperms_t perms,
                        apr_pool_t *pool)
{
  return apr_dir_make_recursive(path, perms, pool);
}

static apr_status_t
real_dir_open(apr_dir_t **dir, const char *path, apr_pool_t *pool)
{
  return apr_dir_open(dir, path, pool);
}

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

static apr_status_t
real_proc_create(apr_proc_t *proc, const char *program,
                 const char *const *args, const char *const *env,
                 apr_procattr_t *attr, apr_pool_t *pool)
{
  return apr_proc_create(proc, program, args, env, attr, pool);
}

#define REAL_CALLS {                          \
  .file_open = real_file_open,                \
  .file_mktemp = real_file_mktemp,            \
  .file_write_full = real_file_write_full,    \
  .file_sync = real_file_sync,                \
  .file_close = real_file_close,              \
  .file_perms_set = real_file_perms_set,      \
  .file_rename = real_file_rename,            \
  .file_remove = real_file_remove,            \
  .dir_make_recursive = real_dir_make_recursive, \
  .dir_open = real_dir_open,                  \
  .dir_sync = real_dir_sync,                  \
  .socket_connect = real_socket_connect,      \
  .proc_create = real_proc_create,            \
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
