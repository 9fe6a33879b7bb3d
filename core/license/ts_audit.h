/* ts_audit.h: the license server's audit log, INOLIC/logs/license.<p>/
 * audit.jsonl: one JSON object a line for every event that gives or takes
 * a seat (checkout, checkin, expiry, force-release, model-server-gone),
 * with the time first. It is a record for the licensee and the vendor,
 * not a debugging aid, so it lives with the licensing rules rather than
 * with the HTTP interface that happens to cause most of its events.
 *
 * Reopened with the server's logs (HUP, PARAMCHANGE), so logrotate can
 * move it away. Safe to write from several threads.
 */
#ifndef TS_AUDIT_H
#define TS_AUDIT_H

#include <apr_pools.h>
#include <jansson.h>
#include "ts_error.h"

typedef struct ts_audit_t ts_audit_t;

/* Open (create, append) the audit log PATH, creating its directory. */
ts_error_t *ts_audit_open(ts_audit_t **audit, const char *path,
                          apr_pool_t *pool);

/* Reopen the file at the same path; on failure the old one stays in use. */
ts_error_t *ts_audit_reopen(ts_audit_t *audit);

/* EVENT as the audit log's line: {"time": now, EVENT's fields...}, one
 * line of compact JSON (free() it), or NULL when out of memory. EVENT is
 * neither changed nor released. The same text goes to the bus, so an
 * event is encoded once. */
char *ts_audit_line(const json_t *event);

/* Append LINE (from ts_audit_line). A NULL AUDIT (the audit log is off)
 * writes nothing. A line that cannot be written is the error (the caller
 * must not let the record vanish: log it, count it). */
ts_error_t *ts_audit_write(ts_audit_t *audit, const char *line);

#endif
