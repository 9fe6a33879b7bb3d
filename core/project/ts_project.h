/* ts_project.h: a project directory (INOPRJ, SPEC §4): its identity, the
 * file <name>.inoprj.uuid holding one UUID, and the ivm/logs directory the
 * agents and model servers write to. The records of who works on it are
 * in ts_project_records.h.
 *
 * Owns: creating and recognising the identity (`tessera-admin project
 * init`, `doctor --fix`). Uses: core/base only.
 */
#ifndef TS_PROJECT_H
#define TS_PROJECT_H

#include <apr_pools.h>
#include "ts_error.h"

/* Whether TEXT is one UUID (8-4-4-4-12 hex digits, one line; a newline
 * may follow). */
int ts_project_uuid_valid(const char *text);

/* Whether the file NAME is a project identity (*.inoprj.uuid). */
int ts_project_is_uuid_name(const char *name);

/* Create <INOPRJ>/<name>.inoprj.uuid (a new UUID; NAME NULL: the last
 * part of INOPRJ) and ivm/logs, unless a uuid file exists already. *PATH
 * receives the uuid file. */
ts_error_t *ts_project_init(const char **path, const char *inoprj,
                            const char *name, apr_pool_t *pool);

/* *UUID: the identity of the project directory INOPRJ (the one UUID in
 * its <name>.inoprj.uuid). A directory that cannot be read or has no
 * identity is TS_ECONFIG saying how to make it one. */
ts_error_t *ts_project_identity(const char **uuid, const char *inoprj,
                                apr_pool_t *pool);

#endif
