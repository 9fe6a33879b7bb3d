/* syscalls_apr.h: the entries of tsp_sys that are APR's alike on every
 * system (syscalls_apr.c), for the platforms' tables. Platform-internal. */
#ifndef SYSCALLS_APR_H
#define SYSCALLS_APR_H

#include <apr_file_io.h>
#include <apr_thread_proc.h>

#include <apr_portable.h>

apr_status_t tspi_file_mktemp(apr_file_t **file, char *templ,
                              apr_int32_t flags, apr_pool_t *pool);
apr_status_t tspi_file_write_full(apr_file_t *file, const void *buf,
                                  apr_size_t n, apr_size_t *written);
apr_status_t tspi_file_sync(apr_file_t *file);
apr_status_t tspi_file_close(apr_file_t *file);
apr_status_t tspi_file_perms_set(const char *path, apr_fileperms_t perms);
/* HANDLE, just opened by the platform's own call, as *FILE in POOL with
 * FLAGS (APR_FOPEN_APPEND, ...), closed by POOL's cleanup unless closed
 * before: what apr_file_open would have given. */
apr_status_t tspi_file_adopt(apr_file_t **file, apr_os_file_t handle,
                             apr_int32_t flags, apr_pool_t *pool);
apr_status_t tspi_file_rename(const char *from, const char *to,
                              apr_pool_t *pool);
apr_status_t tspi_file_remove(const char *path, apr_pool_t *pool);
apr_status_t tspi_dir_make_recursive(const char *path, apr_fileperms_t perms,
                                     apr_pool_t *pool);
apr_status_t tspi_dir_open(apr_dir_t **dir, const char *path,
                           apr_pool_t *pool);
apr_status_t tspi_proc_create(apr_proc_t *proc, const char *program,
                              const char *const *args, const char *const *env,
                              apr_procattr_t *attr, apr_pool_t *pool);

/* The table's entries both platforms share (file_open, which must not
 * follow links, and file_perms_set are each platform's own). */
#define TSPI_APR_CALLS                          \
  .file_mktemp = tspi_file_mktemp,              \
  .file_write_full = tspi_file_write_full,      \
  .file_sync = tspi_file_sync,                  \
  .file_close = tspi_file_close,                \
  .file_rename = tspi_file_rename,              \
  .file_remove = tspi_file_remove,              \
  .dir_make_recursive = tspi_dir_make_recursive, \
  .dir_open = tspi_dir_open,                    \
  .proc_create = tspi_proc_create

#endif
