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
#include <sys/stat.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_thread_proc.h>

/* APR's permission bits as a mode (APR_FPROT_OS_DEFAULT: 0666, the
 * umask applies). */
static mode_t
mode_of(apr_fileperms_t perms)
{
  static const struct { apr_fileperms_t apr; mode_t mode; } bits[] = {
    { APR_FPROT_UREAD, S_IRUSR }, { APR_FPROT_UWRITE, S_IWUSR },
    { APR_FPROT_UEXECUTE, S_IXUSR }, { APR_FPROT_GREAD, S_IRGRP },
    { APR_FPROT_GWRITE, S_IWGRP }, { APR_FPROT_GEXECUTE, S_IXGRP },
    { APR_FPROT_WREAD, S_IROTH }, { APR_FPROT_WWRITE, S_IWOTH },
    { APR_FPROT_WEXECUTE, S_IXOTH },
  };
  mode_t mode = 0;

  if (perms == APR_FPROT_OS_DEFAULT)
    return 0666;
  for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
    if (perms & bits[i].apr)
      mode |= bits[i].mode;
  return mode;
}

/* apr_file_open, but a symbolic link at PATH is refused (O_NOFOLLOW:
 * ELOOP), never followed: the logs and a child's output live in
 * directories another account might have planted a link in. O_NONBLOCK
 * while opening, so a FIFO planted there cannot hang the server. */
static apr_status_t
real_file_open(apr_file_t **file, const char *path, apr_int32_t flags,
               apr_fileperms_t perms, apr_pool_t *pool)
{
  int oflags = O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, fd;

  if ((flags & APR_FOPEN_READ) && (flags & APR_FOPEN_WRITE))
    oflags |= O_RDWR;
  else
    oflags |= (flags & APR_FOPEN_WRITE) ? O_WRONLY : O_RDONLY;
  if (flags & APR_FOPEN_CREATE)
    oflags |= O_CREAT;
  if (flags & APR_FOPEN_EXCL)
    oflags |= O_EXCL;
  if (flags & APR_FOPEN_TRUNCATE)
    oflags |= O_TRUNC;
  if (flags & APR_FOPEN_APPEND)
    oflags |= O_APPEND;
  fd = open(path, oflags, mode_of(perms));
  if (fd < 0)
    return APR_FROM_OS_ERROR(errno);
  if (fcntl(fd, F_SETFL, oflags & O_APPEND) != 0) {   /* blocking again */
    int e = errno;
    close(fd);
    return APR_FROM_OS_ERROR(e);
  }
  return tspi_file_adopt(file, fd, flags, pool);
}

/* apr_file_perms_set without following a link at PATH: chmod() would
 * change the file a link planted there points to (the temporary file of
 * an atomic write, replaced by a link between its creation and this).
 * Opened with O_NOFOLLOW, changed with fchmod(). */
static apr_status_t
real_file_perms_set(const char *path, apr_fileperms_t perms)
{
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY
                      | O_NONBLOCK);
  int e = 0;

  if (fd < 0)
    return APR_FROM_OS_ERROR(errno);
  if (fchmod(fd, mode_of(perms)) != 0)
    e = errno;
  close(fd);
  return e ? APR_FROM_OS_ERROR(e) : APR_SUCCESS;
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

#define REAL_CALLS {                          \
  TSPI_APR_CALLS,                             \
  .file_open = real_file_open,                \
  .file_perms_set = real_file_perms_set,      \
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
  return s == APR_FROM_OS_ERROR(ELOOP) || s == APR_FROM_OS_ERROR(EMLINK);
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
