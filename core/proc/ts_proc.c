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
 * without the lock. What is said about a child (how it ended, the last
 * lines of its log) is in ts_proc_words.c.
 */
#include "ts_proc_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "ts_file.h"
#include "ts_i18n.h"
#include "tsp.h"

#define POLL apr_time_from_msec(50)
#define WATCH apr_time_from_msec(100)
#define STOP_WAIT apr_time_from_sec(5)
/* apr_proc_kill's signals (Windows terminates the process for any) */
#define SIG_TERM 15
#define SIG_KILL 9
/* Reap the child if it has ended; LOCK held. *ENDED (when not NULL)
 * receives how it ended. Returns whether it was reaped. */
static int
reap(ts_proc_ending_t *ended, ts_proc_t *p)
{
  ts_proc_ending_t e = { 1, 0, APR_PROC_EXIT, 0 };
  apr_status_t s;

  if (!p->running)
    return 0;
  s = apr_proc_wait(&p->proc, &e.code, &e.why, APR_NOWAIT);
  if (s == APR_CHILD_NOTDONE)
    return 0;
  p->running = 0;
  tsp_child_forget(p->token);
  p->token = NULL;
  if (s != APR_CHILD_DONE)   /* not ours to wait for any more: gone */
    e.wait_err = s;
  if (ended)
    *ended = e;
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
  while (p->running && !reap(NULL, p)) {
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

/* Start the child; LOCK held. */
static ts_error_t *
spawn(ts_proc_t *p, apr_pool_t *pool)
{
  apr_procattr_t *attr;
  apr_file_t *out = NULL;
  apr_status_t s;

  p->log_start = 0;
  if (p->spec.logfile) {
    apr_finfo_t fi;
    s = tsp_sys.file_open(&out, p->spec.logfile, APR_FOPEN_CREATE
                          | APR_FOPEN_WRITE | APR_FOPEN_APPEND,
                          TS_FPROT_FILE, pool);
    if (s)
      return ts_error_aprf(s, "cannot open the log %s of %s",
                           p->spec.logfile, p->spec.name);
    if (apr_file_info_get(&fi, APR_FINFO_SIZE, out) == APR_SUCCESS)
      p->log_start = fi.size;
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
  if (s)   /* N_(): the format is extracted for the catalog */
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL,
                             N_("cannot start %s (%s)"), p->spec.name,
                             p->spec.argv[0]);
  p->running = 1;
  p->started = apr_time_now();
  s = tsp_child_started(&p->token, &p->proc);
  if (s) {
    char why[120];
    ts_log(p->log, TS_LOG_WARNING, "%s (pid %ld) may outlive a crash of "
           "this server: %s", p->spec.name, (long)p->proc.pid,
           apr_strerror(s, why, sizeof(why)));
  }
  if (p->spec.memory_limit_mb
      && (s = tsp_child_limit_memory(p->token, &p->proc,
                                     p->spec.memory_limit_mb)) != 0) {
    /* a quota that cannot be enforced is not a quota: no child then */
    terminate(p);
    return ts_error_wrap_codef(TS_EUNAVAIL, ts_error_aprf(s, "the system "
                               "did not take the limit"), "cannot limit %s "
                               "to %ld MB of memory, so it was not started "
                               "(a quota that cannot be enforced is none)",
                               p->spec.name, p->spec.memory_limit_mb);
  }
  if (p->spec.memory_limit_mb)
    ts_log(p->log, TS_LOG_INFO, "%s (pid %ld) is limited to %ld MB of "
           "memory", p->spec.name, (long)p->proc.pid,
           p->spec.memory_limit_mb);
  return NULL;
}

/* Wait until the child is ready; a child that exits, or is not ready in
 * time (it is ended then), is an error. */
static ts_error_t *
await_ready(ts_proc_t *p, apr_pool_t *pool)
{
  apr_time_t until = apr_time_now() + p->spec.ready_wait;
  apr_pool_t *probe_pool;
  ts_error_t *why;
  int ready = 0;

  apr_pool_create(&probe_pool, pool);
  for (;;) {
    ts_proc_ending_t ended = { 0 };
    int stopping;

    apr_thread_mutex_lock(p->lock);
    stopping = p->stopping;
    reap(&ended, p);
    apr_thread_mutex_unlock(p->lock);
    if (ended.ended) {
      apr_pool_destroy(probe_pool);
      return ts_proc_ended_at_once(p, &ended, ts_proc_log_reason(p, pool));
    }
    if (stopping) {
      apr_pool_destroy(probe_pool);
      return ts_error_createf(TS_EUNAVAIL, "%s was stopped while it "
                              "started", p->spec.name);
    }
    ready = !p->spec.ready || p->spec.ready(p->spec.ready_baton, probe_pool);
    apr_pool_clear(probe_pool);
    if (ready || apr_time_now() >= until)
      break;
    apr_sleep(POLL);
  }
  apr_pool_destroy(probe_pool);
  if (ready)
    return NULL;
  why = ts_proc_log_reason(p, pool);   /* before its last words on SIGTERM */
  terminate(p);
  return ts_proc_not_ready(p, why);
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
  if (p->spec.pidfile) {   /* the format: see ts_proc.h */
    const char *pid = apr_psprintf(pool, "%ld\n%ld %s\n", (long)p->proc.pid,
                                   tsp_process_self(), p->spec.owner);
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

/* Log that the child ended (*ENDED: how, after it ran for RAN) or that
 * starting it failed (FAILED: why), and when it is started again. Reads
 * its log: called without LOCK. */
static void
log_restart(ts_proc_t *p, const ts_proc_ending_t *ended,
            apr_interval_time_t ran, const char *failed,
            apr_interval_time_t pause, apr_pool_t *pool)
{
  const char *what = failed;

  if (ended->ended) {
    ts_error_t *where = ts_proc_log_reason(p, pool);
    what = apr_psprintf(pool, "%s (pid %ld) %s after %s; %s", p->spec.name,
                        (long)p->proc.pid,
                        ts_proc_describe_exit(ended, pool),
                        ts_proc_duration(ran, pool),
                        ts_error_text(where, pool));
    ts_error_clear(where);
  }
  ts_log(p->log, ended->ended ? TS_LOG_WARNING : TS_LOG_ERROR, "%s; "
         "starting it again in %s", what, ts_proc_duration(pause, pool));
}

static void *APR_THREAD_FUNC
supervise(apr_thread_t *thread, void *data)
{
  ts_proc_t *p = data;
  apr_pool_t *pool;
  const char *failed = p->spec.name;   /* why the last start failed */
  ts_error_t *err;

  apr_pool_create(&pool, NULL);   /* this thread's; P's pool is not */
  apr_thread_mutex_lock(p->lock);
  while (!p->stopping) {
    ts_proc_ending_t ended = { 0 };
    apr_interval_time_t pause, ran = 0;

    if (p->running && !reap(&ended, p)) {
      apr_thread_cond_timedwait(p->wake, p->lock, WATCH);
      continue;
    }
    if (ended.ended) {
      ran = apr_time_now() - p->started;
      if (p->spec.ended) {
        apr_thread_mutex_unlock(p->lock);
        p->spec.ended(p->spec.ended_baton, ts_proc_describe_exit(&ended,
                      pool), ended.code,
                      APR_PROC_CHECK_SIGNALED(ended.why) ? 1 : 0);
        apr_thread_mutex_lock(p->lock);
      }
      if (p->spec.no_restart) {
        ts_log(p->log, TS_LOG_WARNING, "%s %s after %s; it is not started "
               "again", p->spec.name, ts_proc_describe_exit(&ended, pool),
               ts_proc_duration(ran, pool));
        break;
      }
    }
    pause = next_pause(p, ended.ended && ran >= p->spec.restart.stable);
    /* the child is reaped: only this thread changes P's child now */
    apr_thread_mutex_unlock(p->lock);
    log_restart(p, &ended, ran, failed, pause, pool);
    apr_thread_mutex_lock(p->lock);
    sleep_unless_stopped(p, pause);
    if (p->stopping)
      break;
    apr_thread_mutex_unlock(p->lock);
    apr_pool_clear(pool);
    err = launch(p, pool);
    apr_thread_mutex_lock(p->lock);
    if (err)
      failed = apr_psprintf(pool, "starting %s again failed: %s",
                            p->spec.name, ts_error_text(err, pool));
    else {
      long pid = (long)p->proc.pid;
      ts_log(p->log, TS_LOG_INFO, "%s runs again (pid %ld)", p->spec.name,
             pid);
      if (p->spec.restarted) {
        apr_thread_mutex_unlock(p->lock);
        p->spec.restarted(p->spec.ended_baton, pid);
        apr_thread_mutex_lock(p->lock);
      }
    }
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
  if (!s->restart.first)
    s->restart.first = apr_time_from_sec(1);
  if (!s->restart.max)
    s->restart.max = apr_time_from_sec(30);
  if (!s->restart.stable)
    s->restart.stable = apr_time_from_sec(60);
  if (!s->owner)
    s->owner = "a Tessera server";
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

/* A pid file's text (see ts_proc.h): the child's pid, and the pid and
 * description of the server that started it (0 and NULL in a file
 * without them, which an older version wrote). */
static void
parse_pidfile(long *child, long *owner, const char **owner_what,
              const char *text, apr_pool_t *pool)
{
  char *end;
  const char *what;

  *owner = 0;
  *owner_what = NULL;
  *child = strtol(text, &end, 10);
  if (*end != '\n')
    return;
  *owner = strtol(end + 1, &end, 10);
  if (*end != ' ' || *owner <= 0) {
    *owner = 0;
    return;
  }
  what = apr_pstrndup(pool, end + 1, strcspn(end + 1, "\r\n"));
  *owner_what = ts_log_quote(what, TS_LOG_VALUE_MAX, pool);
}

/* End process PID, a child left behind: SIGTERM, and up to STOP_WAIT. */
static void
end_stale(long pid, const ts_proc_spec_t *spec)
{
  apr_proc_t stale = { 0 };
  apr_time_t until = apr_time_now() + STOP_WAIT;

  stale.pid = (pid_t)pid;
  apr_proc_kill(&stale, SIG_TERM);
  while (apr_time_now() < until
         && tsp_process_runs_with(pid, spec->argv[0], spec->stale_match))
    apr_sleep(WATCH);
}

ts_error_t *
ts_proc_stop_stale(const ts_proc_spec_t *spec, ts_log_t *log,
                   apr_pool_t *scratch_pool)
{
  const char *left_by;
  long pid = 0;

  TS_ERR(ts_proc_find_stale(&pid, &left_by, spec, log, scratch_pool));
  if (pid > 1) {
    ts_log(log, TS_LOG_WARNING, "stopping %s (pid %ld, %s), left behind by "
           "%s", spec->name, pid, spec->argv[0], left_by);
    end_stale(pid, spec);
  }
  return NULL;
}

ts_error_t *
ts_proc_find_stale(long *stale, const char **left_by,
                   const ts_proc_spec_t *spec, ts_log_t *log,
                   apr_pool_t *scratch_pool)
{
  const char *program = spec->argv ? spec->argv[0] : NULL;
  const char *text = NULL, *owner_what;
  long pid = 0, owner, parent;
  ts_error_t *err;

  *stale = 0;
  if (!spec->pidfile || !spec->stale_match || !program)
    return NULL;
  err = tsp_pidfile_read(&text, spec->pidfile, scratch_pool);
  if (err && ts_error_code(err) != TS_ENOENT)   /* none: nothing was left */
    ts_log_error(log, TS_LOG_WARNING, err, apr_psprintf(scratch_pool,
                 "no process is stopped on the word of the pid file of %s",
                 spec->name));
  ts_error_clear(err);
  if (!text)
    return NULL;
  parse_pidfile(&pid, &owner, &owner_what, text, scratch_pool);
  if (pid <= 1 || !tsp_process_runs_with(pid, program, spec->stale_match))
    return NULL;
  /* its parent is the server that started it for as long as that server
   * runs; an orphan was adopted by init or a subreaper (a file without
   * the server's pid: a parent other than init counts as running) */
  parent = tsp_process_parent(pid);
  if (parent <= 0)   /* ended meanwhile, or it cannot be told */
    return NULL;
  if ((parent == owner || (!owner && parent > 1)) && owner_what)
    return ts_error_createf(TS_EUNAVAIL, "%s (pid %ld, %s) belongs to %s "
                            "(pid %ld), which still runs, so it was not left "
                            "behind and is not stopped", spec->name, pid,
                            program, owner_what, parent);
  if (parent == owner || (!owner && parent > 1))
    return ts_error_createf(TS_EUNAVAIL, "%s (pid %ld, %s) belongs to the "
                            "server that started it (pid %ld), which still "
                            "runs, so it was not left behind and is not "
                            "stopped", spec->name, pid, program, parent);
  *stale = pid;
  if (left_by)   /* for the log and --check's plan: English */
    *left_by = owner ? apr_psprintf(scratch_pool, "%s (pid %ld), which has "
                                    "ended", owner_what ? owner_what : "the "
                                    "server that started it", owner)
                     : "a server that has ended";
  return NULL;
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

int
ts_proc_wait_end(ts_proc_t *p, apr_interval_time_t timeout)
{
  apr_time_t until = apr_time_now() + timeout;
  apr_status_t ignored;
  int ended;

  if (!p)
    return 1;
  /* quiesced: the supervisor ends its watch at once; this thread reaps */
  ts_proc_quiesce(p);
  if (p->supervisor)
    apr_thread_join(&ignored, p->supervisor);
  p->supervisor = NULL;
  for (;;) {
    apr_thread_mutex_lock(p->lock);
    ended = !p->running || reap(NULL, p);
    apr_thread_mutex_unlock(p->lock);
    if (ended || apr_time_now() >= until)
      return ended;
    apr_sleep(POLL);
  }
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
