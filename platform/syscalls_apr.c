/* syscalls_apr.c: the entries of the table of system calls (tsp_sys, see
 * tsp.h) that APR gives alike on every system; compiled into both
 * platforms. Each platform's syscalls.c adds what differs (the directory
 * sync, the timed connect on Windows) and builds the table.
 *
 * The entries are small functions rather than APR's own addresses, so the
 * table is a constant initializer whatever the linkage of APR (on Windows
 * a DLL's functions have no constant address). */
#include "syscalls_apr.h"

apr_status_t
tspi_file_mktemp(apr_file_t **file, char *templ, apr_int32_t flags,
                 apr_pool_t *pool)
{
  return apr_file_mktemp(file, templ, flags, pool);
}

apr_status_t
tspi_file_write_full(apr_file_t *file, const void *buf, apr_size_t n,
                     apr_size_t *written)
{
  return apr_file_write_full(file, buf, n, written);
}

apr_status_t
tspi_file_sync(apr_file_t *file)
{
  return apr_file_sync(file);
}

apr_status_t
tspi_file_close(apr_file_t *file)
{
  return apr_file_close(file);
}

apr_status_t
tspi_file_perms_set(const char *path, apr_fileperms_t perms)
{
  return apr_file_perms_set(path, perms);
}

/* What apr_file_close leaves in a file's handle: -1 for a descriptor,
 * INVALID_HANDLE_VALUE (the same bits) for a Windows handle. */
#define TSPI_NO_HANDLE ((apr_os_file_t)(apr_uintptr_t)-1)

/* apr_os_file_put registers no cleanup: the file would stay open when
 * its pool goes (a log reopened on every HUP would leak a descriptor).
 * Close it then, unless apr_file_close already did (the handle is
 * invalid after that, on both systems). */
static apr_status_t
close_adopted(void *data)
{
  apr_file_t *file = data;
  apr_os_file_t h;

  if (apr_os_file_get(&h, file) == APR_SUCCESS && h != TSPI_NO_HANDLE)
    apr_file_close(file);
  return APR_SUCCESS;
}

apr_status_t
tspi_file_adopt(apr_file_t **file, apr_os_file_t handle, apr_int32_t flags,
                apr_pool_t *pool)
{
  apr_status_t s = apr_os_file_put(file, &handle,
                                   flags & ~(APR_FOPEN_CREATE
                                             | APR_FOPEN_EXCL
                                             | APR_FOPEN_TRUNCATE), pool);

  if (s)
    return s;
  apr_pool_cleanup_register(pool, *file, close_adopted,
                            apr_pool_cleanup_null);
  return APR_SUCCESS;
}

apr_status_t
tspi_file_rename(const char *from, const char *to, apr_pool_t *pool)
{
  return apr_file_rename(from, to, pool);
}

apr_status_t
tspi_file_remove(const char *path, apr_pool_t *pool)
{
  return apr_file_remove(path, pool);
}

apr_status_t
tspi_dir_make_recursive(const char *path, apr_fileperms_t perms,
                        apr_pool_t *pool)
{
  return apr_dir_make_recursive(path, perms, pool);
}

apr_status_t
tspi_dir_open(apr_dir_t **dir, const char *path, apr_pool_t *pool)
{
  return apr_dir_open(dir, path, pool);
}

apr_status_t
tspi_proc_create(apr_proc_t *proc, const char *program,
                 const char *const *args, const char *const *env,
                 apr_procattr_t *attr, apr_pool_t *pool)
{
  return apr_proc_create(proc, program, args, env, attr, pool);
}
