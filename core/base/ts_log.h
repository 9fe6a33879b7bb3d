/* ts_log.h: a server's log.
 *
 * Lines go to the log file (SPEC §5) and, in the foreground, to stderr:
 *
 *   2026-11-22T04:40:00.123Z info  license: serving on port 17000
 *
 * Timestamps are ISO 8601 in UTC with milliseconds. Under systemd (stderr
 * is the journal), stderr lines carry the syslog priority as "<N>" instead
 * of a timestamp, which the journal turns into the entry's priority. The
 * file is reopened on request (SIGHUP, PARAMCHANGE), so logrotate can move
 * it away without copytruncate. Safe to use from several threads.
 */
#ifndef TS_LOG_H
#define TS_LOG_H

#include <apr_pools.h>
#include <apr_time.h>
#include "ts_error.h"

typedef enum ts_log_level_t {
  TS_LOG_ERROR = 3,    /* the syslog priorities, used as "<N>" prefixes */
  TS_LOG_WARNING = 4,
  TS_LOG_INFO = 6,
  TS_LOG_DEBUG = 7
} ts_log_level_t;

typedef struct ts_log_t ts_log_t;

/* Open (create, append) the log file PATH, creating its directory. With
 * TO_STDERR, lines are also written to stderr; JOURNAL selects the "<N>"
 * form there. The log lives in POOL. */
ts_error_t *ts_log_open(ts_log_t **log, const char *path, int to_stderr,
                        int journal, apr_pool_t *pool);

/* Reopen the file at the same path: lines written after this go to a new
 * file if the old one was renamed. On failure the old file stays in use. */
ts_error_t *ts_log_reopen(ts_log_t *log);

void ts_log(ts_log_t *log, ts_log_level_t level, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* Log ERR (its whole chain) at LEVEL with a leading context. Does not
 * clear ERR. */
void ts_log_error(ts_log_t *log, ts_log_level_t level, const ts_error_t *err,
                  const char *context);

/* The file written now (after ts_log_daily(): today's, valid until the
 * next day's opens). */
const char *ts_log_path(const ts_log_t *log);

/* Daily files: from now on LOG writes each line to the file of the day
 * (UTC) it is written on, PATTERN with "%D" replaced by the day
 * ("logs/notify.%D.log": logs/notify.2026-11-30.log). The first line of
 * a day opens its file (when that fails, the old file is kept and the
 * next line tries again); ts_log_reopen() reopens the day's file. An
 * error when PATTERN has no "%D" or the day's file cannot be opened. */
ts_error_t *ts_log_daily(ts_log_t *log, const char *pattern);

/* PATTERN's file of the day of NOW (as ts_log_daily names it), in POOL. */
const char *ts_log_daily_path(const char *pattern, apr_time_t now,
                              apr_pool_t *pool);

/* Write LINE as it is (a newline added) to the file only: for logs of
 * records, such as the JSON-lines audit log, that share the reopening.
 * Unlike a log line, a record that cannot be written is an error naming
 * the file and why (a full disk, ...). */
ts_error_t *ts_log_record(ts_log_t *log, const char *line);

/* VALUE, which came from a client (a user name, a reason, a product), as
 * it may appear in a log line or a message: each byte of a control
 * character (C0, DEL, C1), of a line or paragraph separator (U+2028,
 * U+2029) or of a bidirectional override (U+202A..U+202E,
 * U+2066..U+2069), and each byte that is not UTF-8, as \xNN; a backslash
 * as \\; cut after MAX bytes of VALUE (at a character's end) with
 * "…(N bytes)" saying how long it was. So a client can neither start a
 * line of its own nor flood one. NULL gives "(none)". Server-made text
 * is not quoted: only what came from outside. */
const char *ts_log_quote(const char *value, apr_size_t max,
                         apr_pool_t *pool);

/* How much of a client's value a log line shows (ts_log_quote's MAX). */
#define TS_LOG_VALUE_MAX 256

/* NOW as 2026-11-22T06:11:44.123Z into STAMP. */
void ts_log_stamp(char stamp[32], apr_time_t now);

#endif
