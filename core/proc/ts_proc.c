/* ts_proc.c: supervised child processes (see ts_proc.h).
 *
 * One lock guards the child's state (its apr_proc_t, whether it runs,
 * stopping). Every wait for the child is a non-blocking one made under
 * that lock, so a child is never signalled after it was reaped (its pid
 * could belong to another process by then); the supervisor polls it every
 * 100 ms, waiting on a condition that quiesce and stop signal. Who may
 * reap: the starting thread until the supervisor runs, then the
 * supervisor, and after the supervisor was joined, ts_proc_stop(). Slow
 * work (opening the log, writing the pid file, probing readiness) is done
 * without the lock.
 */
#include "ts_proc.h"

#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "ts_file.h"
#include "tsp.h"

#define POLL apr_time_from_msec(50)
#define WATCH apr_time_from_msec(100)
#define STOP_WAIT apr_time_from_sec(5)
/* apr_proc_kill's signals (Windows terminates the process for any) */
#define SIG_TERM 15
#define SIG_KILL 9

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
  apr_interval_time_t pause;     /* before the next start */
  apr_pool_t *pool;
};

/* D for messages: "2 s", or "250 ms" below a second. */
static const char *
duration(apr_interval_time_t d, apr_pool_t *pool)
{
  if (d < apr_time_from_sec(1))
    return apr_psprintf(pool, "%d ms", (int)apr_time_as_msec(d));
  return apr_psprintf(pool, "%d s", (int)apr_time_sec(d));
}

/* How a reaped child ended: "exited with status 1". */
static const char *
describe_exit(int code, apr_exit_why_e why, apr_pool_t *pool)
{
  if (APR_PROC_CHECK_SIGNALED(why))
    return apr_psprintf(pool, "was killed by signal %d%s", code,
                        APR_PROC_CHECK_CORE_DUMP(why) ? " (core dumped)" : "");
  return apr_psprintf(pool, "exited with status %d", code);
}

/* Reap the child if it has ended; LOCK held. *ENDED (when not NULL)
 * receives how it ended. Returns whether it was reaped. */
static int
reap(const char **ended, ts_proc_t *p, apr_pool_t *pool)
{
  int code = 0;
  apr_exit_why_e why = APR_PROC_EXIT;
  apr_status_t s;

  if (!p->running)
    return 0;
  s = apr_proc_wait(&p->proc, &code, &why, APR_NOWAIT);
  if (s == APR_CHILD_NOTDONE)
    return 0;
  p->running = 0;
  tsp_child_forget(p->token);
  p->token = NULL;
  if (ended && s == APR_CHILD_DONE)
    *ended = describe_exit(code, why, pool);
  else if (ended) {   /* not ours to wait for any more: gone all the same */
    char why_text[120];
    *ended = apr_psprintf(pool, "ended (it cannot be waited for: %s)",
                          apr_strerror(s, why_text, sizeof(why_text)));
  }
  return 1;
}

/* End the child, if it runs, and reap it: SIGTERM, and SIGKILL after
 * STOP_WAIT. Only on the thread that may reap. */
static void
terminate(ts_proc_t *p)
{
  apr_time_t until = apr_time_now() + STOP_WAIT;
  int killed = 0;

  apr_thread_mutex_lock(p->lock);
  if (p->running)
    apr_proc_kill(&p->proc, SIG_TERM);
  while (p->running && !reap(NULL, p, p->pool)) {
    if (!killed && apr_time_now() >= until) {
      ts_log(p->log, TS_LOG_WARNING, "%s (pid %ld) did not end within %d s "
             "of SIGTERM; killing it", p->spec.name, (long)p->proc.pid,
             (int)apr_time_sec(STOP_WAIT));
      apr_proc_kill(&p->proc, SIG_KILL);
      killed = 1;
    }
    apr_thread_mutex_unlock(p->lock);
    apr_sleep(POLL);
    apr_thread_mutex_lock(p->lock);
  }
  apr_thread_mutex_unlock(p->lock);
}

static const char *
see_log(const ts_proc_t *p, apr_pool_t *pool)
{
  return p->spec.logfile ? apr_pstrcat(pool, "see ", p->spec.logfile, NULL)
                         : "see this server's output";
}

/* Start the child; LOCK held. */
static ts_error_t *
spawn(ts_proc_t *p, apr_pool_t *pool)
{
  apr_procattr_t *attr;
  apr_file_t *out = NULL;
  apr_status_t s;

  if (p->spec.logfile) {
    s = tsp_sys.file_open(&out, p->spec.logfile, APR_FOPEN_CREATE
                          | APR_FOPEN_WRITE | APR_FOPEN_APPEND,
                          TS_FPROT_FILE, pool);
    if (s)
      return ts_error_aprf(s, "cannot open the log %s of %s",
                           p->spec.logfile, p->spec.name);
  }
  apr_procattr_create(&attr, pool);
  apr_procattr_cmdtype_set(attr, APR_PROGRAM);
  apr_procattr_io_set(attr, APR_NO_FILE, APR_NO_PIPE, APR_NO_PIPE);
  if (out) {
    apr_procattr_child_out_set(attr, out, NULL);
    apr_procattr_child_err_set(attr, out, NULL);
  }
  if (p->spec.dir)
    apr_procattr_dir_set(attr, p->spec.dir);
  apr_procattr_detach_set(attr, 0);
  s = tsp_sys.proc_create(&p->proc, p->argv[0], p->argv, p->spec.env, attr,
                          pool);
  if (out)
    apr_file_close(out);
  if (s)
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL, "cannot "
                             "start %s (%s)", p->spec.name, p->spec.argv[0]);
  p->running = 1;
  p->started = apr_time_now();
  s = tsp_child_started(&p->token, &p->proc);
  if (s) {
    char why[120];
    ts_log(p->log, TS_LOG_WARNING, "%s (pid %ld) may outlive a crash of "
           "this server: %s", p->spec.name, (long)p->proc.pid,
           apr_strerror(s, why, sizeof(why)));
  }
  return NULL;
}

/* Wait until the child is ready; a child that exits, or is not ready in
 * time (it is ended then), is an error. */
static ts_error_t *
await_ready(ts_proc_t *p, apr_pool_t *pool)
{
  apr_time_t until = apr_time_now() + p->spec.ready_wait;
  apr_pool_t *probe_pool;
  int ready = 0;

  apr_pool_create(&probe_pool, pool);
  for (;;) {
    const char *ended = NULL;
    int stopping;

    apr_thread_mutex_lock(p->lock);
    stopping = p->stopping;
    reap(&ended, p, pool);
    apr_thread_mutex_unlock(p->lock);
    if (ended)
      return ts_error_createf(TS_EUNAVAIL, "%s (%s) %s at once instead of "
                              "%s: %s", p->spec.name, p->spec.argv[0], ended,
                              p->spec.ready_what, see_log(p, pool));
    if (stopping)
      return ts_error_createf(TS_EUNAVAIL, "%s was stopped while it "
                              "started", p->spec.name);
    ready = !p->spec.ready || p->spec.ready(p->spec.ready_baton, probe_pool);
    apr_pool_clear(probe_pool);
    if (ready || apr_time_now() >= until)
      break;
    apr_sleep(POLL);
  }
  apr_pool_destroy(probe_pool);
  if (ready)
    return NULL;
  terminate(p);
  return ts_error_createf(TS_EUNAVAIL, "%s (%s) was not %s within %s, so "
                          "it was stopped: %s", p->spec.name, p->spec.argv[0],
                          p->spec.ready_what,
                          duration(p->spec.ready_wait, pool),
                          see_log(p, pool));
}

/* Start the child and wait until it is ready; on error nothing runs. */
static ts_error_t *
launch(ts_proc_t *p, apr_pool_t *pool)
{
  ts_error_t *err = NULL;
  int started = 0;

  apr_thread_mutex_lock(p->lock);
  if (!p->stopping) {
    err = spawn(p, pool);
    started = !err;
  }
  apr_thread_mutex_unlock(p->lock);
  if (!started)
    return err;
  if (p->spec.pidfile) {
    const char *pid = apr_psprintf(pool, "%ld\n", (long)p->proc.pid);
    err = ts_file_replace(p->spec.pidfile, pid, strlen(pid), TS_FPROT_FILE,
                          pool);
  }
  if (!err)
    err = await_ready(p, pool);
  if (err)
    terminate(p);
  return err;
}

/* The pause before the next start: FIRST after a child that LASTED (ran
 * for spec.restart.stable), else twice the last one, up to MAX. */
static apr_interval_time_t
next_pause(ts_proc_t *p, int lasted)
{
  const ts_proc_restart_t *r = &p->spec.restart;
  apr_interval_time_t pause;

  if (lasted)
    p->pause = r->first;
  pause = p->pause;
  p->pause = pause * 2 > r->max ? r->max : pause * 2;
  return pause;
}

/* Wait PAUSE, or until told to stop; LOCK held. */
static void
sleep_unless_stopped(ts_proc_t *p, apr_interval_time_t pause)
{
  apr_time_t until = apr_time_now() + pause;

  while (!p->stopping && apr_time_now() < until)
    apr_thread_cond_timedwait(p->wake, p->lock, until - apr_time_now());
}

static void *APR_THREAD_FUNC
supervise(apr_thread_t *thread, void *data)
{
  ts_proc_t *p = data;
  apr_pool_t *pool;
  ts_error_t *err;

  apr_pool_create(&pool, NULL);   /* this thread's; P's pool is not */
  apr_thread_mutex_lock(p->lock);
  while (!p->stopping) {
    const char *ended = NULL;
    apr_interval_time_t pause;

    if (p->running && !reap(&ended, p, pool)) {
      apr_thread_cond_timedwait(p->wake, p->lock, WATCH);
      continue;
    }
    if (ended) {
      apr_interval_time_t ran = apr_time_now() - p->started;
      pause = next_pause(p, ran >= p->spec.restart.stable);
      ts_log(p->log, TS_LOG_WARNING, "%s (pid %ld) %s after %s; starting "
             "it again in %s", p->spec.name, (long)p->proc.pid, ended,
             duration(ran, pool), duration(pause, pool));
    }
    else {   /* the last start failed */
      pause = next_pause(p, 0);
      ts_log(p->log, TS_LOG_WARNING, "starting %s again in %s",
             p->spec.name, duration(pause, pool));
    }
    sleep_unless_stopped(p, pause);
    if (p->stopping)
      break;
    apr_thread_mutex_unlock(p->lock);
    apr_pool_clear(pool);
    err = launch(p, pool);
    apr_thread_mutex_lock(p->lock);
    if (err && !p->stopping)
      ts_log_error(p->log, TS_LOG_ERROR, err, apr_psprintf(pool, "starting "
                   "%s again", p->spec.name));
    else if (!err)
      ts_log(p->log, TS_LOG_INFO, "%s runs again (pid %ld)", p->spec.name,
             (long)p->proc.pid);
    ts_error_clear(err);
  }
  apr_thread_mutex_unlock(p->lock);
  apr_pool_destroy(pool);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

static void
fill_defaults(ts_proc_spec_t *s)
{
  if (!s->ready_wait)
    s->ready_wait = apr_time_from_sec(10);
  if (!s->ready_what)
    s->ready_what = "running";
  if (!s->restart.first)
    s->restart.first = apr_time_from_sec(1);
  if (!s->restart.max)
    s->restart.max = apr_time_from_sec(30);
  if (!s->restart.stable)
    s->restart.stable = apr_time_from_sec(60);
}

ts_error_t *
ts_proc_start(ts_proc_t **proc, const ts_proc_spec_t *spec, ts_log_t *log,
              apr_pool_t *pool)
{
  ts_proc_t *p = apr_pcalloc(pool, sizeof(*p));
  apr_status_t s;

  p->spec = *spec;
  fill_defaults(&p->spec);
  p->log = log;
  p->pool = pool;
  p->pause = p->spec.restart.first;
  s = apr_thread_mutex_create(&p->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  if (!s)
    s = apr_thread_cond_create(&p->wake, pool);
  if (s)
    return ts_error_aprf(s, "cannot create the lock that guards %s",
                         spec->name);
  TS_ERR_W(tsp_child_argv(&p->argv, (const char **)spec->argv,
                          spec->account, pool), "cannot start %s",
           spec->name);
  TS_ERR(launch(p, pool));
  s = apr_thread_create(&p->supervisor, NULL, supervise, p, pool);
  if (s) {
    p->supervisor = NULL;
    ts_proc_stop(p);
    return ts_error_aprf(s, "cannot start the thread that watches %s",
                         spec->name);
  }
  *proc = p;
  return NULL;
}

void
ts_proc_stop_stale(const ts_proc_spec_t *spec, ts_log_t *log,
                   apr_pool_t *scratch_pool)
{
  const char *program = spec->argv ? spec->argv[0] : NULL;
  long pid = 0;
  ts_error_t *err;

  if (!spec->pidfile || !spec->stale_match || !program)
    return;
  err = tsp_pidfile_read(&pid, spec->pidfile, scratch_pool);
  if (err && ts_error_code(err) != TS_ENOENT)   /* none: nothing was left */
    ts_log_error(log, TS_LOG_WARNING, err, apr_psprintf(scratch_pool,
                 "no process is stopped on the word of the pid file of %s",
                 spec->name));
  ts_error_clear(err);
  if (pid > 1 && tsp_process_runs_with(pid, program, spec->stale_match)) {
    apr_proc_t stale = { 0 };
    stale.pid = (pid_t)pid;
    ts_log(log, TS_LOG_WARNING, "stopping %s (pid %ld, %s), left behind by "
           "an earlier run of this server", spec->name, pid, program);
    apr_proc_kill(&stale, SIG_TERM);
    for (int i = 0; i < 50 && tsp_process_runs_with(pid, program,
                                                    spec->stale_match); i++)
      apr_sleep(apr_time_from_msec(100));
  }
}

long
ts_proc_pid(ts_proc_t *p)
{
  long pid;

  apr_thread_mutex_lock(p->lock);
  pid = (long)p->proc.pid;
  apr_thread_mutex_unlock(p->lock);
  return pid;
}

void
ts_proc_reopen_logs(ts_proc_t *p)
{
  if (!p)
    return;
  apr_thread_mutex_lock(p->lock);
  if (p->running)
    tsp_child_reopen_logs(&p->proc);
  apr_thread_mutex_unlock(p->lock);
}

void
ts_proc_quiesce(ts_proc_t *p)
{
  if (!p)
    return;
  apr_thread_mutex_lock(p->lock);
  p->stopping = 1;
  apr_thread_cond_broadcast(p->wake);
  apr_thread_mutex_unlock(p->lock);
}

void
ts_proc_stop(ts_proc_t *p)
{
  apr_status_t ignored;

  if (!p)
    return;
  ts_proc_quiesce(p);
  if (p->supervisor)
    apr_thread_join(&ignored, p->supervisor);
  p->supervisor = NULL;
  terminate(p);   /* the supervisor is gone: this thread may reap */
  if (p->spec.pidfile)
    apr_file_remove(p->spec.pidfile, p->pool);
  ts_log(p->log, TS_LOG_INFO, "%s stopped", p->spec.name);
}

int
ts_proc_tcp_accepts(const char *host, int port, apr_pool_t *pool)
{
  apr_sockaddr_t *sa;
  apr_socket_t *s;
  int ok;

  if (apr_sockaddr_info_get(&sa, host, APR_UNSPEC, (apr_port_t)port, 0, pool)
      || apr_socket_create(&s, sa->family, SOCK_STREAM, APR_PROTO_TCP, pool))
    return 0;
  apr_socket_timeout_set(s, apr_time_from_msec(500));
  ok = tsp_sys.socket_connect(s, sa) == APR_SUCCESS;
  apr_socket_close(s);
  return ok;
}
