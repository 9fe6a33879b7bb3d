/* ts_proc_impl.h: a supervised child's state (ts_proc.h), shared by
 * ts_proc.c (starting, watching, stopping) and ts_proc_words.c (what is
 * said about it: how it ended, what its log ends with) and by nothing
 * else. */
#ifndef TS_PROC_IMPL_H
#define TS_PROC_IMPL_H

#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "ts_proc.h"

/* why a child ended, from its log: at most TAIL_LINES non-empty lines of
 * the last TAIL_BYTES it wrote, each cut at TAIL_LINE_MAX bytes */
#define TAIL_LINES 3
#define TAIL_BYTES 4096
#define TAIL_LINE_MAX 160

struct ts_proc_t {
  ts_proc_spec_t spec;           /* with the defaults filled in */
  const char **argv;             /* spec.argv as tsp_child_argv wraps it */
  ts_log_t *log;
  apr_thread_t *supervisor;
  apr_thread_mutex_t *lock;      /* guards the fields below */
  apr_thread_cond_t *wake;       /* signalled by quiesce and stop */
  apr_proc_t proc;               /* the child started last */
  int running;                   /* PROC was started and is not reaped */
  int stopping;                  /* start the child again no more */
  void *token;                   /* tsp_child_started()'s, for PROC */
  apr_time_t started;            /* when PROC was started */
  apr_off_t log_start;           /* the size of its log then */
  apr_interval_time_t pause;     /* before the next start */
  apr_pool_t *pool;
};

/* How a reaped child ended. */
typedef struct ts_proc_ending_t {
  int ended;                     /* it was reaped */
  int code;                      /* its exit status or signal */
  apr_exit_why_e why;
  apr_status_t wait_err;         /* it could not be waited for: why */
} ts_proc_ending_t;

/* D for log lines: "2 s", or "250 ms" below a second. (Messages for
 * people have a whole sentence for each unit.) */
const char *ts_proc_duration(apr_interval_time_t d, apr_pool_t *pool);

/* How a reaped child ended, for the log: "exited with status 1". */
const char *ts_proc_describe_exit(const ts_proc_ending_t *e, apr_pool_t *pool);

/* Where to look, for messages about a child that ended or was not ready,
 * with what it said last: "see LOG, which ends: LINE | LINE". An error
 * of its own, which the message about the child wraps (code
 * TS_EUNAVAIL). */
ts_error_t *ts_proc_log_reason(const ts_proc_t *p, apr_pool_t *pool);

/* A child that ended (E) before it was ready, around WHY (the log
 * reason): one whole sentence for each way it ends. */
ts_error_t *ts_proc_ended_at_once(const ts_proc_t *p,
                                  const ts_proc_ending_t *e,
                                  ts_error_t *why);

/* A child that was not ready within ready_wait (and was stopped), around
 * WHY. */
ts_error_t *ts_proc_not_ready(const ts_proc_t *p, ts_error_t *why);

#endif
