/* ts_audit.c: the audit log (see ts_audit.h). The file, its locking and
 * its reopening are ts_log's (as a log of records): the audit log rotates
 * exactly like the server's own log. */
#include "ts_audit.h"

#include <stdlib.h>
#include <apr_time.h>

#include "ts_log.h"

struct ts_audit_t {
  ts_log_t *log;
};

ts_error_t *
ts_audit_open(ts_audit_t **audit, const char *path, apr_pool_t *pool)
{
  ts_audit_t *a = apr_pcalloc(pool, sizeof(*a));

  TS_ERR_W(ts_log_open(&a->log, path, 0, 0, pool), "cannot open the audit "
           "log %s", path);
  *audit = a;
  return NULL;
}

ts_error_t *
ts_audit_reopen(ts_audit_t *audit)
{
  TS_ERR_W(ts_log_reopen(audit->log), "cannot reopen the audit log %s",
           ts_log_path(audit->log));
  return NULL;
}

char *
ts_audit_line(const json_t *event)
{
  char stamp[32], *text;
  json_t *line;

  ts_log_stamp(stamp, apr_time_now());
  line = json_pack("{s:s}", "time", stamp);
  json_object_update(line, (json_t *)event);
  text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(line);
  return text;
}

ts_error_t *
ts_audit_write(ts_audit_t *audit, const char *line)
{
  if (audit && line)
    TS_ERR_W(ts_log_record(audit->log, line), "the audit log lost a "
             "record");
  return NULL;
}
