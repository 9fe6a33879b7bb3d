/* ts_file.h: whole-file reads and atomic replacement.
 *
 * Every file Tessera writes for an administrator (settings, configuration,
 * state records) goes through ts_file_replace(): the new content is
 * written to a temporary file beside the target, flushed to disk, renamed
 * over the target and the directory flushed, so a crash at any moment
 * leaves either the old or the new file, never a mix.
 */
#ifndef TS_FILE_H
#define TS_FILE_H

#include <apr_file_info.h>
#include "ts_error.h"

/* Permissions in APR's bits (not octal): rw-r--r-- and rwxr-xr-x. */
#define TS_FPROT_FILE (APR_FPROT_UREAD | APR_FPROT_UWRITE | APR_FPROT_GREAD \
                       | APR_FPROT_WREAD)
#define TS_FPROT_DIR (TS_FPROT_FILE | APR_FPROT_UEXECUTE | APR_FPROT_GEXECUTE \
                      | APR_FPROT_WEXECUTE)

/* Read PATH whole into *DATA (NUL-terminated) and *LEN. A missing file is
 * an error with code TS_ENOENT. */
ts_error_t *ts_file_read_all(const char **data, apr_size_t *len,
                             const char *path, apr_pool_t *pool);

/* Replace PATH atomically with LEN bytes of DATA, with permissions PERMS
 * (ignored where the platform has no such bits). */
ts_error_t *ts_file_replace(const char *path, const char *data,
                            apr_size_t len, apr_fileperms_t perms,
                            apr_pool_t *scratch_pool);

/* DIR/NAME in the platform's form (NAME may have several components). */
const char *ts_path_join(const char *dir, const char *name,
                         apr_pool_t *pool);

/* The account this process runs as, for messages; NULL when it cannot be
 * told. */
const char *ts_account_name(apr_pool_t *pool);

/* Create DIR and its parents (PERMS) unless they exist. */
ts_error_t *ts_dir_make(const char *dir, apr_fileperms_t perms,
                        apr_pool_t *scratch_pool);

#endif
