/* ts_proc.h: supervised child processes.
 *
 * A server that runs a helper program as its child (the license server
 * its bus broker; the agent, later, its model servers) describes the
 * child in a ts_proc_spec_t and hands it to ts_proc_start(), which starts
 * it, waits until it is ready, and leaves a thread of its own to watch
 * it: a child that ends is logged with its exit status and the last
 * lines it wrote to its log file (why it ended, in its own words), and
 * started again after a pause that begins at 1 s and doubles with every
 * start that does not last (up to 30 s), so a child that exits at once is
 * not started every second forever; a child that ran for 60 s has earned
 * the short pause again. A restart that fails (the program is gone, the
 * child exits at once or never becomes ready) counts as a start that did
 * not last, and is logged alike.
 *
 * The child ends with this process, even when this process is killed
 * (tsp_child_argv, tsp_child_started: Linux setpriv --pdeathsig, a
 * kill-on-close job object on Windows). It may run as another account
 * than the server (a server running as root runs its helpers as an
 * unprivileged one: tsp_helper_account). Its pid is written to a pid file
 * at every start, with the pid of the server that started it and what
 * that server is:
 *
 *   4321
 *   1234 the license server on port 17000
 *
 * so the next run of the server can stop a child left behind by a crash
 * (ts_proc_stop_stale) before it takes the child's port; that file is
 * believed only if this account wrote it, the pid only if it runs the
 * child's program, and the child is left behind only if the server that
 * started it has ended: a child of a server that runs is that server's.
 *
 * Threads: the supervisor thread starts and reaps the child; the other
 * functions may be called from any thread. No lock is held while a child
 * is awaited or probed.
 */
#ifndef TS_PROC_H
#define TS_PROC_H

#include <apr_pools.h>
#include <apr_time.h>
#include "ts_error.h"
#include "ts_log.h"

typedef struct ts_proc_t ts_proc_t;

/* Whether a started child is ready for work yet (its port accepts
 * connections, say): non-zero when it is. Called every 50 ms on the
 * starting thread until it says so, the child exits or the spec's
 * ready_wait passes; SCRATCH_POOL is cleared between calls. */
typedef int (*ts_proc_ready_t)(void *baton, apr_pool_t *scratch_pool);

/* When a child that ended is started again. A zero field takes the
 * default given. */
typedef struct ts_proc_restart_t {
  apr_interval_time_t first;     /* the first pause: 1 s */
  apr_interval_time_t max;       /* the pause doubles up to this: 30 s */
  apr_interval_time_t stable;    /* a child that ran this long was fine:
                                    its successor pauses FIRST again:
                                    60 s */
} ts_proc_restart_t;

/* A child. The strings must live as long as the pool given to
 * ts_proc_start(). */
typedef struct ts_proc_spec_t {
  const char *name;            /* for messages: "the bus broker on port
                                  17001" */
  const char *const *argv;     /* NULL-terminated; argv[0] a full path */
  const char *const *env;      /* its environment (NAME=value, NULL-
                                  terminated), or NULL: none on POSIX,
                                  ours on Windows (APR_PROGRAM) */
  const char *dir;             /* its working directory, or NULL: ours */
  const char *account;         /* the account it runs as, or NULL: ours
                                  (tsp_helper_account) */
  const char *logfile;         /* its stdout and stderr are appended here
                                  (errors before it opens its own log),
                                  or NULL: ours; the last lines it wrote
                                  here are logged when it ends */
  const char *pidfile;         /* its pid, rewritten at every start and
                                  removed by ts_proc_stop(); or NULL */
  const char *stale_match;     /* what the command line of a child left
                                  behind contains besides its program
                                  (see ts_proc_stop_stale), or NULL */
  const char *owner;           /* the server that starts it, for the pid
                                  file and messages (one line): "the
                                  license server on port 17000"; NULL:
                                  "a Tessera server" */
  ts_proc_ready_t ready;       /* NULL: ready once started */
  void *ready_baton;
  const char *ready_what;      /* what ready means, for messages:
                                  "accepting connections on 127.0.0.1"
                                  (a phrase that follows "was not" and
                                  "instead of"); NULL: "ready" */
  apr_interval_time_t ready_wait;   /* 0: 10 s */
  ts_proc_restart_t restart;
  long memory_limit_mb;        /* the child's memory limit
                                  (tsp_child_limit_memory), 0: none */
  int no_restart;              /* a child that ends is not started again
                                  (an agent's model server whose model
                                  does not ask for it) */
  /* Called on the supervisor thread each time the child ends, before it
   * is started again (or not): HOW says how it ended, in English ("exited
   * with status 3", "was killed by signal 9"), STATUS is its exit status
   * (or the signal), SIGNALLED whether a signal ended it. NULL: none. */
  void (*ended)(void *baton, const char *how, int status, int signalled);
  /* Called on the supervisor thread when the supervisor started the
   * child again and it is ready: PID is the new one. NULL: none. */
  void (*restarted)(void *baton, long pid);
  void *ended_baton;           /* ENDED's and RESTARTED's */
} ts_proc_spec_t;

/* Start the child SPEC describes and return once it is ready, with a
 * thread that restarts it whenever it ends. Errors (code TS_EUNAVAIL)
 * name the child and its program and say why: it could not be started,
 * it exited at once (with its status), or it was not ready within
 * ready_wait (it is stopped then); the message points to its log file.
 * Nothing is left running after an error. *PROC lives in POOL (until
 * ts_proc_stop()). */
ts_error_t *ts_proc_start(ts_proc_t **proc, const ts_proc_spec_t *spec,
                          ts_log_t *log, apr_pool_t *pool);

/* Stop a child an earlier run left behind (that run was killed, so its
 * child could not follow it): the pid in SPEC's pid file, when this
 * account wrote that file (tsp_pidfile_read: its owner, no other account
 * may write it, not a link), the process runs SPEC's program (argv[0],
 * the same executable file) with SPEC's stale_match on its command line,
 * and it is no longer the child of the server the file names
 * (tsp_process_parent: that server has ended). It gets SIGTERM and up to
 * 5 s. Anything else is left alone: a pid reused by another program, a
 * fake pid in the file, a process that only names the child's files.
 * Without a pid file or stale_match, or where the platform cannot tell
 * (Windows, where a child cannot outlive the server), nothing. Logged on
 * LOG (a pid file not believed, with why).
 *
 * A child whose server still runs (another server started it, with the
 * same files) is that server's: it is not stopped, and the error (code
 * TS_EUNAVAIL) names the child and the server, with their pids; the
 * caller says what to do about it. */
ts_error_t *ts_proc_stop_stale(const ts_proc_spec_t *spec, ts_log_t *log,
                               apr_pool_t *scratch_pool);

/* What ts_proc_stop_stale() would do, doing nothing (for --check): *PID
 * the child an earlier run left behind, which it would stop, or 0, and
 * *LEFT_BY (unless NULL) who left it ("the license server on port 17000
 * (pid 12), which has ended"); the same error for a child whose server
 * still runs. */
ts_error_t *ts_proc_find_stale(long *pid, const char **left_by,
                               const ts_proc_spec_t *spec, ts_log_t *log,
                               apr_pool_t *scratch_pool);

/* The child's pid now (it changes when the child was started again). */
long ts_proc_pid(ts_proc_t *proc);

/* Have the child reopen its log files, if it runs (tsp_child_reopen_logs:
 * SIGHUP on Linux, nothing on Windows). */
void ts_proc_reopen_logs(ts_proc_t *proc);

/* Start the child again no more; it keeps running until it ends or
 * ts_proc_stop() (a server that is stopping: Ctrl-C reaches a child that
 * shares the terminal's process group, which must not come back). */
void ts_proc_quiesce(ts_proc_t *proc);

/* Start the child again no more and wait up to TIMEOUT (0: only look)
 * for it to end on its own (it was asked to stop some other way: the
 * agent's control channel); 1 when it has ended. ts_proc_stop() after
 * it. Not from the ENDED callback. */
int ts_proc_wait_end(ts_proc_t *proc, apr_interval_time_t timeout);

/* Stop the supervisor and the child (SIGTERM, after 5 s SIGKILL), remove
 * the pid file. PROC may be NULL. */
void ts_proc_stop(ts_proc_t *proc);

/* Whether HOST:PORT accepts a TCP connection within 500 ms: a readiness
 * probe for children that listen, and the test whether a port is taken
 * before a child is started on it. Nothing is sent. */
int ts_proc_tcp_accepts(const char *host, int port, apr_pool_t *pool);

#endif
