/* ts_envfile.h: the environment-file format of Tessera's settings.
 *
 * One file is read by two very different readers: POSIX sh (sourced by
 * /etc/profile.d/tessera.sh) and systemd (EnvironmentFile= in the units).
 * This module accepts only the forms both read identically and writes
 * values in one of them:
 *
 *   # comment                    blank lines and comments are kept
 *   NAME="value"                 written by Tessera; inside the quotes
 *                                 \" \\ \$ \` are escaped, nothing else
 *   NAME='value'                 accepted when read (no escapes at all)
 *   NAME=value                   accepted when read: letters, digits and
 *                                 _ . / : @ % + , - only
 *
 * Anything else (an unescaped $ or ` inside double quotes, text after a
 * closing quote, an unterminated quote, a line that is no assignment) is
 * refused with the line number, since sh and systemd would read it
 * differently. Lines are kept as they were unless Tessera changes them.
 */
#ifndef TS_ENVFILE_H
#define TS_ENVFILE_H

#include <apr_pools.h>
#include "ts_error.h"

typedef struct ts_envfile_t ts_envfile_t;

/* Parse TEXT (LEN bytes) into *EF. PATH names the file in messages. A
 * malformed file is TS_ECONFIG (the administrator must fix it) naming PATH
 * and the line. */
ts_error_t *ts_envfile_parse(ts_envfile_t **ef, const char *path,
                             const char *text, apr_size_t len,
                             apr_pool_t *pool);

/* An empty file, for a store that does not exist yet. */
ts_envfile_t *ts_envfile_create(const char *path, apr_pool_t *pool);

/* The value of NAME, or NULL when the file does not assign it. The last
 * assignment wins, as in both readers. */
const char *ts_envfile_get(const ts_envfile_t *ef, const char *name);

/* Visit every assignment in file order. */
typedef void (*ts_envfile_visit_t)(void *baton, const char *name,
                                   const char *value, int line);
void ts_envfile_each(const ts_envfile_t *ef, ts_envfile_visit_t visit,
                     void *baton);

/* Assign NAME = VALUE: the last existing assignment is replaced in place
 * (earlier duplicates are dropped), else a line is appended. */
void ts_envfile_set(ts_envfile_t *ef, const char *name, const char *value);

/* Remove every assignment of NAME; returns how many were removed. */
int ts_envfile_unset(ts_envfile_t *ef, const char *name);

/* The file's text, in the file's pool. */
const char *ts_envfile_render(const ts_envfile_t *ef);

/* VALUE quoted for this format (double quotes, minimal escapes). */
const char *ts_envfile_quote(const char *value, apr_pool_t *pool);

/* Values that cannot be stored on one line (newline, NUL, other control
 * characters) are refused; NAME must be a shell variable name. Both are
 * TS_EINVAL: input of the command that would write them. */
ts_error_t *ts_envfile_check(const char *name, const char *value);

#endif
