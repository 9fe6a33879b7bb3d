/* ts_proc_words.c: what is said about a supervised child (see
 * ts_proc_impl.h): how it ended, for the log, and the errors for a child
 * that ended before it was ready or never was, each a whole sentence
 * (one per way it ends) around where to look and what its log ends
 * with, quoted. */
#include "ts_proc_impl.h"

#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "tsp.h"

const char *
ts_proc_duration(apr_interval_time_t d, apr_pool_t *pool)
{
  if (d < apr_time_from_sec(1))
    return apr_psprintf(pool, "%d ms", (int)apr_time_as_msec(d));
  return apr_psprintf(pool, "%d s", (int)apr_time_sec(d));
}

const char *
ts_proc_describe_exit(const ts_proc_ending_t *e, apr_pool_t *pool)
{
  char os[120];

  if (e->wait_err)
    return apr_psprintf(pool, "ended (it cannot be waited for: %s)",
                        apr_strerror(e->wait_err, os, sizeof(os)));
  if (APR_PROC_CHECK_SIGNALED(e->why))
    return apr_psprintf(pool, "was killed by signal %d%s", e->code,
                        APR_PROC_CHECK_CORE_DUMP(e->why) ? " (core dumped)"
                                                         : "");
  return apr_psprintf(pool, "exited with status %d", e->code);
}

/* The last TAIL_LINES non-empty lines of TEXT (LEN bytes, with room for
 * a NUL after them), each quoted (the child's text, not ours) and cut at
 * TAIL_LINE_MAX bytes, joined by " | "; NULL when there is none. */
static const char *
last_lines(char *text, apr_size_t len, apr_pool_t *pool)
{
  const char *out = NULL;
  apr_size_t end = len;
  int n = 0;

  while (end > 0 && n < TAIL_LINES) {
    apr_size_t start = end, stop = end;

    while (start > 0 && text[start - 1] != '\n')
      start--;
    while (stop > start && (text[stop - 1] == '\r' || text[stop - 1] == ' '
                            || text[stop - 1] == '\t'))
      stop--;
    if (stop > start) {
      const char *line;
      text[stop] = '\0';
      line = ts_log_quote(text + start, TAIL_LINE_MAX, pool);
      out = out ? apr_pstrcat(pool, line, " | ", out, NULL) : line;
      n++;
    }
    end = start ? start - 1 : 0;
  }
  return out;
}

/* What the child last wrote to its log since it started (the last
 * TAIL_BYTES of it; the whole file when it is smaller than it was at the
 * start, which means it was rotated), in *TEXT and *LEN. */
static void
read_log_tail(char **text, apr_size_t *len, const ts_proc_t *p,
              apr_pool_t *pool)
{
  apr_file_t *f;
  apr_finfo_t fi;
  apr_off_t from;
  int cut = 0;

  *text = NULL;
  *len = 0;
  if (tsp_sys.file_open(&f, p->spec.logfile, APR_FOPEN_READ,
                        APR_FPROT_OS_DEFAULT, pool))
    return;
  if (apr_file_info_get(&fi, APR_FINFO_SIZE, f) == APR_SUCCESS) {
    from = fi.size >= p->log_start ? p->log_start : 0;
    if (fi.size - from > TAIL_BYTES) {
      from = fi.size - TAIL_BYTES;
      cut = 1;
    }
    *text = apr_palloc(pool, (apr_size_t)(fi.size - from) + 1);
    if (apr_file_seek(f, APR_SET, &from) == APR_SUCCESS)
      apr_file_read_full(f, *text, (apr_size_t)(fi.size - from), len);
    if (*len && cut) {   /* it begins within a line */
      char *nl = memchr(*text, '\n', *len);
      apr_size_t skip = nl ? (apr_size_t)(nl - *text) + 1 : *len;
      *text += skip;
      *len -= skip;
    }
  }
  apr_file_close(f);
}

/* Where to look, for messages about a child that ended or was not ready,
 * with what it said last: "see LOG, which ends: LINE | LINE". An error
 * of its own, which the message about the child wraps (code
 * TS_EUNAVAIL). */
ts_error_t *
ts_proc_log_reason(const ts_proc_t *p, apr_pool_t *pool)
{
  char *text;
  apr_size_t len;
  const char *tail;

  if (!p->spec.logfile)
    return ts_error_createf(TS_EUNAVAIL, "see this server's output");
  read_log_tail(&text, &len, p, pool);
  tail = text ? last_lines(text, len, pool) : NULL;
  if (tail)
    return ts_error_createf(TS_EUNAVAIL, "see %s, which ends: %s",
                            p->spec.logfile, tail);
  return ts_error_createf(TS_EUNAVAIL, "see %s (it wrote nothing there)",
                          p->spec.logfile);
}

/* A child that ended (E) before it was ready: one whole sentence for each
 * way it ends, with and without what ready means, around WHY. */
ts_error_t *
ts_proc_ended_at_once(const ts_proc_t *p, const ts_proc_ending_t *e,
                      ts_error_t *why)
{
  const char *name = p->spec.name, *prog = p->spec.argv[0];
  const char *ready = p->spec.ready_what;
  char os[120];

  if (e->wait_err) {
    const char *cause = apr_strerror(e->wait_err, os, sizeof(os));
    return ready ? ts_error_wrapf(why, "%s (%s) ended at once (it cannot "
                                  "be waited for: %s) instead of %s", name,
                                  prog, cause, ready)
                 : ts_error_wrapf(why, "%s (%s) ended at once (it cannot "
                                  "be waited for: %s)", name, prog, cause);
  }
  if (APR_PROC_CHECK_SIGNALED(e->why) && APR_PROC_CHECK_CORE_DUMP(e->why))
    return ready ? ts_error_wrapf(why, "%s (%s) was killed by signal %d "
                                  "(core dumped) at once instead of %s",
                                  name, prog, e->code, ready)
                 : ts_error_wrapf(why, "%s (%s) was killed by signal %d "
                                  "(core dumped) at once", name, prog,
                                  e->code);
  if (APR_PROC_CHECK_SIGNALED(e->why))
    return ready ? ts_error_wrapf(why, "%s (%s) was killed by signal %d at "
                                  "once instead of %s", name, prog, e->code,
                                  ready)
                 : ts_error_wrapf(why, "%s (%s) was killed by signal %d at "
                                  "once", name, prog, e->code);
  return ready ? ts_error_wrapf(why, "%s (%s) exited with status %d at once "
                                "instead of %s", name, prog, e->code, ready)
               : ts_error_wrapf(why, "%s (%s) exited with status %d at once",
                                name, prog, e->code);
}

/* A child that was not ready within ready_wait (and was stopped), around
 * WHY: whole sentences for milliseconds and seconds. */
ts_error_t *
ts_proc_not_ready(const ts_proc_t *p, ts_error_t *why)
{
  const char *name = p->spec.name, *prog = p->spec.argv[0];
  const char *ready = p->spec.ready_what;
  apr_interval_time_t wait = p->spec.ready_wait;

  if (wait < apr_time_from_sec(1)) {
    int ms = (int)apr_time_as_msec(wait);
    return ready ? ts_error_wrapf(why, "%s (%s) was not %s within %d ms, so "
                                  "it was stopped", name, prog, ready, ms)
                 : ts_error_wrapf(why, "%s (%s) was not ready within %d ms, "
                                  "so it was stopped", name, prog, ms);
  }
  return ready ? ts_error_wrapf(why, "%s (%s) was not %s within %d s, so it "
                                "was stopped", name, prog, ready,
                                (int)apr_time_sec(wait))
               : ts_error_wrapf(why, "%s (%s) was not ready within %d s, so "
                                "it was stopped", name, prog,
                                (int)apr_time_sec(wait));
}
