/* control.c (posix): the local control channel between an agent and its
 * model servers (tsp.h; core/proc/ts_control) over one System V message
 * queue per agent, the mechanism of the vendor's system (seed 004).
 *
 * A message's type says whom it is for: a request's is the model server's
 * pid, a reply's the agent's. Its body starts with a number and the
 * sender's pid: a request's number comes back in its reply, and a
 * thread of the agent's of its own ("the router") takes every message of
 * the agent's type off the queue with a blocking msgrcv() and hands it to
 * the thread that waits for that number. So several threads may ask
 * several model servers at once, each waiting on a condition with its
 * own deadline, and no one polls. Number 0 is the channel's own word: a
 * model server wakes its serving thread with it (type: its own pid) and
 * says with it that it stopped serving (type: the agent's pid); the
 * agent touches its queue with it at creation. Removing the queue ends
 * the router (msgrcv fails with EIDRM).
 *
 * Why the last word goes to the agent: the doctor calls a queue stale
 * when neither its last sender nor its last receiver runs (the kernel
 * records a process, or the thread it handed a message to directly). A
 * model server that stopped (waking its own thread made it both) would
 * leave a running agent's queue looking stale, for `doctor --fix` to
 * remove; the agent receiving its goodbye is the last receiver again.
 *
 * A request nobody takes (its model server has ended) would stay in the
 * queue, whose room is small (kernel.msgmnb, 16 KiB by default): the
 * requester takes it back out when it gives up. A full queue is waited
 * on, for room, in short steps up to the caller's deadline: the one
 * bounded wait here, since msgsnd() has no timeout of its own.
 */
#include "tsp.h"
#include "ts_i18n.h"
#include "ts_log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>
#include <apr_atomic.h>
#include <apr_strings.h>

#define ROOM_STEP apr_time_from_msec(5)   /* waiting for room in a full queue */
#define WORD_WAIT apr_time_from_sec(2)    /* sending a reply or a word */
#define MSGMNI_MIN 256                    /* the doctor's minimum */

typedef struct ctl_body_t {
  apr_uint32_t serial;     /* the request's number; 0: the channel's word */
  apr_int32_t from;        /* the sender's pid */
  char text[TSP_CTL_MAX];
} ctl_body_t;

typedef struct ctl_msg_t {
  long type;
  ctl_body_t body;
} ctl_msg_t;

#define HEAD offsetof(ctl_body_t, text)

/* A thread waiting for its reply (on its own stack). */
typedef struct ctl_waiter_t {
  struct ctl_waiter_t *next;
  apr_uint32_t serial;
  long pid;
  int done;
  apr_size_t len;
  char text[TSP_CTL_MAX];
} ctl_waiter_t;

struct tsp_ctl_t {
  int qid;
  pid_t self;
  const char *name;
  /* agent */
  int routing;                 /* the router runs (until removed) */
  pthread_t router;
  pthread_mutex_t lock;        /* guards what follows */
  pthread_cond_t replied;      /* CLOCK_MONOTONIC */
  ctl_waiter_t *waiting;
  apr_uint32_t serial;
  int router_errno;            /* why the router ended; 0 while it runs */
  ctl_msg_t in;                /* the router's */
  /* model server */
  pid_t agent;
  volatile apr_uint32_t woken;
  apr_uint32_t asked;          /* the request tsp_ctl_next gave */
  pid_t asker;
  ctl_msg_t buf;               /* the serving thread's */
};

static apr_time_t
now_mono(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return apr_time_from_sec(ts.tv_sec) + ts.tv_nsec / 1000;
}

static int
alive(long pid)
{
  return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* msgsnd() of M's LEN bytes of text, waiting for room up to DEADLINE
 * (now_mono); 0 or the errno. */
static int
send_within(int qid, const ctl_msg_t *m, apr_size_t len, apr_time_t deadline)
{
  for (;;) {
    if (msgsnd(qid, m, HEAD + len, IPC_NOWAIT) == 0)
      return 0;
    if (errno == EINTR)
      continue;
    if (errno != EAGAIN || now_mono() >= deadline)
      return errno;
    apr_sleep(ROOM_STEP);
  }
}

/* The channel's word 0 from FROM to TYPE. */
static int
send_word(int qid, long type, pid_t from)
{
  ctl_msg_t m;

  m.type = type;
  m.body.serial = 0;
  m.body.from = (apr_int32_t)from;
  return send_within(qid, &m, 0, now_mono() + WORD_WAIT);
}

static long
read_msgmni(void)
{
  long n = -1;
  FILE *f = fopen("/proc/sys/kernel/msgmni", "r");

  if (f) {
    if (fscanf(f, "%ld", &n) != 1)
      n = -1;
    fclose(f);
  }
  return n;
}

/* msgget() failed with E. */
static ts_error_t *
create_error(int e)
{
  if (e == ENOSPC) {
    long mni = read_msgmni();
    /* the first words are the vendor's own for this (seed 004; de.po:
     * "Erstellen der Nachrichtenwarteschlange nicht möglich") */
    return ts_error_createf(TS_EUNAVAIL, "Cannot create the message queue "
      "(msgget: ENOSPC): all %ld message queues this system allows "
      "(kernel.msgmni) are in use, so the agent has no control channel to "
      "its model servers. Remove the queues of processes that ended with "
      "`tessera-admin doctor --fix` (`ipcs -q` lists every queue) and raise "
      "the limit: echo 'kernel.msgmni = %ld' > /etc/sysctl.d/60-tessera.conf "
      "&& sysctl --system", mni, mni < MSGMNI_MIN ? (long)MSGMNI_MIN
                                                  : 2 * mni);
  }
  return ts_error_aprf(APR_FROM_OS_ERROR(e), "msgget(IPC_PRIVATE, 0600) "
                       "failed: cannot create the message queue of the "
                       "agent's control channel");
}

/* As root, give the queue to the account the model servers run as. */
static ts_error_t *
hand_over(tsp_ctl_t *ctl, apr_pool_t *pool)
{
  const char *account;
  struct passwd pwbuf, *pw = NULL;
  struct msqid_ds ds;
  char buf[4096];

  if (geteuid() != 0)
    return NULL;
  TS_ERR(tsp_helper_account(&account, pool));
  if (!account)
    return NULL;
  if (getpwnam_r(account, &pwbuf, buf, sizeof(buf), &pw) != 0 || !pw)
    return ts_error_createf(TS_ENOENT, "there is no account '%s' on this "
                            "machine", account);
  if (msgctl(ctl->qid, IPC_STAT, &ds) < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "msgctl(%d, IPC_STAT) "
                         "failed", ctl->qid);
  ds.msg_perm.uid = pw->pw_uid;
  ds.msg_perm.gid = pw->pw_gid;
  if (msgctl(ctl->qid, IPC_SET, &ds) < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "cannot give message "
                         "queue %d to the account %s, as which the model "
                         "servers run (msgctl IPC_SET)", ctl->qid, account);
  return NULL;
}

/* Send and take back a word, so that this process is the queue's last
 * sender and receiver (a new queue has neither: the doctor would call it
 * stale at once). */
static ts_error_t *
touch(tsp_ctl_t *ctl)
{
  ctl_msg_t m;
  int e = send_word(ctl->qid, ctl->self, ctl->self);

  while (!e && msgrcv(ctl->qid, &m, sizeof(m.body), ctl->self,
                      IPC_NOWAIT | MSG_NOERROR) < 0)
    if (errno != EINTR)
      e = errno;
  if (e)
    return ts_error_aprf(APR_FROM_OS_ERROR(e), "cannot use the new message "
                         "queue %d of the agent's control channel", ctl->qid);
  return NULL;
}

/* The router: every message of the agent's type to the thread that waits
 * for its number. */
static void *
route(void *arg)
{
  tsp_ctl_t *ctl = arg;

  for (;;) {
    ssize_t n = msgrcv(ctl->qid, &ctl->in, sizeof(ctl->in.body), ctl->self,
                       MSG_NOERROR);
    if (n < 0 && errno == EINTR)
      continue;
    pthread_mutex_lock(&ctl->lock);
    if (n < 0) {
      ctl->router_errno = errno;
      pthread_cond_broadcast(&ctl->replied);
      pthread_mutex_unlock(&ctl->lock);
      return NULL;
    }
    if ((apr_size_t)n >= HEAD && ctl->in.body.serial == 0
        && ctl->in.body.from == ctl->self) {   /* tsp_ctl_remove's word */
      ctl->router_errno = EIDRM;
      pthread_mutex_unlock(&ctl->lock);
      return NULL;
    }
    /* number 0 from a model server: it stopped serving; nothing waits */
    for (ctl_waiter_t *w = ctl->waiting; w && (apr_size_t)n >= HEAD;
         w = w->next)
      if (w->serial == ctl->in.body.serial && ctl->in.body.serial
          && w->pid == ctl->in.body.from) {
        w->len = (apr_size_t)n - HEAD;
        memcpy(w->text, ctl->in.body.text, w->len);
        w->done = 1;
        pthread_cond_broadcast(&ctl->replied);
        break;
      }
    pthread_mutex_unlock(&ctl->lock);
  }
}

static ts_error_t *
start_router(tsp_ctl_t *ctl)
{
  pthread_condattr_t attr;
  int e;

  pthread_mutex_init(&ctl->lock, NULL);
  pthread_condattr_init(&attr);
  pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
  pthread_cond_init(&ctl->replied, &attr);
  pthread_condattr_destroy(&attr);
  e = pthread_create(&ctl->router, NULL, route, ctl);
  if (e) {
    pthread_cond_destroy(&ctl->replied);
    pthread_mutex_destroy(&ctl->lock);
    return ts_error_aprf(APR_FROM_OS_ERROR(e), "cannot start the thread "
                         "that receives the control channel's replies");
  }
  ctl->routing = 1;
  return NULL;
}

ts_error_t *
tsp_ctl_create(tsp_ctl_t **result, apr_pool_t *pool)
{
  tsp_ctl_t *ctl = apr_pcalloc(pool, sizeof(*ctl));
  ts_error_t *err;

  ctl->self = getpid();
  ctl->qid = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
  if (ctl->qid < 0)
    return create_error(errno);
  err = hand_over(ctl, pool);
  if (!err)
    err = touch(ctl);
  if (!err)
    err = start_router(ctl);
  if (err) {
    msgctl(ctl->qid, IPC_RMID, NULL);
    return err;
  }
  ctl->name = apr_psprintf(pool, "%d.%ld", ctl->qid, (long)ctl->self);
  *result = ctl;
  return NULL;
}

const char *
tsp_ctl_name(const tsp_ctl_t *ctl)
{
  return ctl->name;
}

/* Wait for W's reply until DEADLINE or the router's end; LOCK held. */
static void
await_reply(tsp_ctl_t *ctl, ctl_waiter_t *w, apr_time_t deadline)
{
  while (!w->done && !ctl->router_errno) {
    struct timespec ts;
    if (now_mono() >= deadline)
      break;
    ts.tv_sec = (time_t)apr_time_sec(deadline);
    ts.tv_nsec = (long)apr_time_usec(deadline) * 1000;
    pthread_cond_timedwait(&ctl->replied, &ctl->lock, &ts);
  }
}

/* Take the request SERIAL to PID back out of the queue (no one took it),
 * putting the other messages to PID back. */
typedef struct ctl_kept_t {
  apr_size_t len;
  ctl_msg_t m;
} ctl_kept_t;

static void
withdraw(tsp_ctl_t *ctl, long pid, apr_uint32_t serial, apr_pool_t *pool)
{
  apr_array_header_t *kept = apr_array_make(pool, 2, sizeof(ctl_kept_t *));
  ctl_kept_t *k = apr_palloc(pool, sizeof(*k));

  for (;;) {
    ssize_t n = msgrcv(ctl->qid, &k->m, sizeof(k->m.body), pid,
                       IPC_NOWAIT | MSG_NOERROR);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    if ((apr_size_t)n < HEAD
        || (k->m.body.serial == serial && k->m.body.from == ctl->self))
      continue;
    k->len = (apr_size_t)n - HEAD;
    APR_ARRAY_PUSH(kept, ctl_kept_t *) = k;
    k = apr_palloc(pool, sizeof(*k));
  }
  for (int i = 0; i < kept->nelts; i++) {
    k = APR_ARRAY_IDX(kept, i, ctl_kept_t *);
    send_within(ctl->qid, &k->m, k->len, now_mono() + WORD_WAIT);
  }
}

/* No reply to REQUEST from PID within TIMEOUT. */
static ts_error_t *
no_answer(tsp_ctl_t *ctl, long pid, const char *request,
          apr_interval_time_t timeout, apr_pool_t *pool)
{
  const char *quoted = ts_log_quote(request, 64, pool);
  long ms = (long)apr_time_as_msec(timeout);

  if (alive(pid))
    return ts_error_createf(TS_EUNAVAIL, "the model server with pid %ld did "
      "not answer the control request \"%s\" within %ld ms (control "
      "channel %s, message queue %d): the process runs, but it does not "
      "serve this agent's channel or it is busy; its log (srv.log beside "
      "its repository) says which", pid, quoted, ms, ctl->name, ctl->qid);
  return ts_error_createf(TS_EUNAVAIL, "the model server with pid %ld did "
    "not answer the control request \"%s\" within %ld ms (control channel "
    "%s, message queue %d): no process %ld runs, it has ended "
    "(`tessera-admin models list` shows its version's state)", pid, quoted,
    ms, ctl->name, ctl->qid, pid);
}

/* msgsnd() or msgrcv() on the queue failed with E. */
static ts_error_t *
queue_error(tsp_ctl_t *ctl, long pid, int e, apr_interval_time_t waited)
{
  if (e == EAGAIN)
    return ts_error_createf(TS_EUNAVAIL, "the message queue %d of the "
      "control channel %s stayed full for %ld ms, so the request to the "
      "model server with pid %ld was not sent: its model servers do not "
      "take their messages (`ipcs -q -i %d` shows what waits there)",
      ctl->qid, ctl->name, (long)apr_time_as_msec(waited), pid, ctl->qid);
  if (e == EIDRM || e == EINVAL)
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, APR_FROM_OS_ERROR(e),
      NULL, N_("the message queue %d of the control channel %s was removed "
               "by another program (ipcrm, or `tessera-admin doctor --fix` "
               "on a queue that looked stale): the agent cannot reach its "
               "model servers until it is restarted"), ctl->qid, ctl->name);
  return ts_error_aprf(APR_FROM_OS_ERROR(e), "cannot use the message queue "
                       "%d of the control channel %s", ctl->qid, ctl->name);
}

static void
unlink_waiter(tsp_ctl_t *ctl, ctl_waiter_t *w)
{
  for (ctl_waiter_t **p = &ctl->waiting; *p; p = &(*p)->next)
    if (*p == w) {
      *p = w->next;
      break;
    }
}

ts_error_t *
tsp_ctl_call(const char **reply, tsp_ctl_t *ctl, long pid,
             const char *request, apr_size_t len,
             apr_interval_time_t timeout, apr_pool_t *pool)
{
  ctl_waiter_t waiter = { 0 }, *w = &waiter;
  ctl_msg_t msg, *m = &msg;
  apr_time_t deadline = now_mono() + timeout;
  int e, gone;

  if (pid <= 0 || pid > INT_MAX || pid == ctl->self || len > TSP_CTL_MAX)
    return ts_error_createf(TS_EINVAL, "cannot send a control request of "
                            "%ld bytes to pid %ld: not a model server's pid, "
                            "or longer than %d bytes", (long)len, pid,
                            TSP_CTL_MAX);
  w->pid = pid;
  pthread_mutex_lock(&ctl->lock);
  if (++ctl->serial == 0)
    ++ctl->serial;
  w->serial = ctl->serial;
  w->next = ctl->waiting;
  ctl->waiting = w;
  pthread_mutex_unlock(&ctl->lock);

  m->type = pid;
  m->body.serial = w->serial;
  m->body.from = (apr_int32_t)ctl->self;
  memcpy(m->body.text, request, len);
  e = send_within(ctl->qid, m, len, deadline);
  pthread_mutex_lock(&ctl->lock);
  if (!e)
    await_reply(ctl, w, deadline);
  unlink_waiter(ctl, w);
  gone = ctl->router_errno;
  pthread_mutex_unlock(&ctl->lock);
  if (w->done) {
    *reply = apr_pstrmemdup(pool, w->text, w->len);
    return NULL;
  }
  if (e)
    return queue_error(ctl, pid, e, timeout);
  withdraw(ctl, pid, w->serial, pool);
  if (gone)
    return queue_error(ctl, pid, gone, timeout);
  return no_answer(ctl, pid, apr_pstrmemdup(pool, request, len), timeout,
                   pool);
}

ts_error_t *
tsp_ctl_remove(tsp_ctl_t *ctl)
{
  ts_error_t *err = NULL;

  if (msgctl(ctl->qid, IPC_RMID, NULL) < 0) {
    err = ts_error_aprf(APR_FROM_OS_ERROR(errno), "cannot remove the "
                        "message queue %d of the control channel %s "
                        "(msgctl IPC_RMID); `ipcrm -q %d` removes it",
                        ctl->qid, ctl->name, ctl->qid);
    /* the router still waits: wake it with the word that ends it */
    send_word(ctl->qid, ctl->self, ctl->self);
  }
  if (ctl->routing) {
    pthread_join(ctl->router, NULL);
    pthread_cond_destroy(&ctl->replied);
    pthread_mutex_destroy(&ctl->lock);
    ctl->routing = 0;
  }
  return err;
}

/* "<queue id>.<agent pid>" into CTL; 0 when NAME is not of that form. */
static int
parse_name(tsp_ctl_t *ctl, const char *name)
{
  char *end;
  long qid, agent;

  errno = 0;
  qid = strtol(name, &end, 10);
  if (errno || end == name || *end != '.' || qid < 0 || qid > INT_MAX)
    return 0;
  name = end + 1;
  agent = strtol(name, &end, 10);
  if (errno || end == name || *end || agent <= 0 || agent > INT_MAX)
    return 0;
  ctl->qid = (int)qid;
  ctl->agent = (pid_t)agent;
  return 1;
}

ts_error_t *
tsp_ctl_open(tsp_ctl_t **result, const char *name, apr_pool_t *pool)
{
  tsp_ctl_t *ctl = apr_pcalloc(pool, sizeof(*ctl));
  struct msqid_ds ds;

  if (!parse_name(ctl, name))
    return ts_error_createf(TS_EINVAL, "'%s' is not the name of a control "
                            "channel (TESSERA_CONTROL): it is "
                            "<message queue id>.<agent pid>, as the agent "
                            "gives it to the model servers it starts", name);
  ctl->self = getpid();
  ctl->name = apr_pstrdup(pool, name);
  if (msgctl(ctl->qid, IPC_STAT, &ds) < 0) {
    int e = errno;
    if (e == EACCES || e == EPERM)
      return ts_error__createf(TS__WHERE, TS_EPERM, APR_FROM_OS_ERROR(e),
        NULL, N_("this model server's account (uid %ld) may not use the "
                 "message queue %d of the control channel %s: its agent "
                 "runs as another account; start the version through an "
                 "agent (`tessera-admin models start`)"), (long)geteuid(),
        ctl->qid, name);
    return ts_error__createf(TS__WHERE, TS_ENOENT, APR_FROM_OS_ERROR(e),
      NULL, N_("there is no message queue %d (the control channel %s): "
               "the agent that started this model server has ended or "
               "removed it; start the version through an agent "
               "(`tessera-admin models start`)"), ctl->qid, name);
  }
  *result = ctl;
  return NULL;
}

ts_error_t *
tsp_ctl_next(const char **request, tsp_ctl_t *ctl, apr_pool_t *pool)
{
  *request = NULL;
  while (!apr_atomic_read32(&ctl->woken)) {
    ssize_t n = msgrcv(ctl->qid, &ctl->buf, sizeof(ctl->buf.body), ctl->self,
                       MSG_NOERROR);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return ts_error__createf(TS__WHERE, TS_EUNAVAIL, APR_FROM_OS_ERROR(errno),
        NULL, N_("cannot receive from the message queue %d of the control "
                 "channel %s (msgrcv): its agent (pid %ld) has removed it, "
                 "or ended"), ctl->qid, ctl->name, (long)ctl->agent);
    if ((apr_size_t)n < HEAD || ctl->buf.body.serial == 0)
      continue;    /* a wake-up: WOKEN says whether it was ours */
    ctl->asker = ctl->buf.body.from;
    ctl->asked = ctl->buf.body.serial;
    *request = apr_pstrmemdup(pool, ctl->buf.body.text, (apr_size_t)n - HEAD);
    return NULL;
  }
  return NULL;
}

ts_error_t *
tsp_ctl_answer(tsp_ctl_t *ctl, const char *reply, apr_size_t len)
{
  int e;

  if (len > TSP_CTL_MAX)
    return ts_error_createf(TS_EINVAL, "a control reply of %ld bytes is "
                            "longer than the %d bytes the channel carries",
                            (long)len, TSP_CTL_MAX);
  ctl->buf.type = ctl->asker;
  ctl->buf.body.serial = ctl->asked;
  ctl->buf.body.from = (apr_int32_t)ctl->self;
  memcpy(ctl->buf.body.text, reply, len);
  e = send_within(ctl->qid, &ctl->buf, len, now_mono() + WORD_WAIT);
  if (e)
    return ts_error_aprf(APR_FROM_OS_ERROR(e), "cannot send the reply to "
                         "pid %ld on the message queue %d of the control "
                         "channel %s", (long)ctl->asker, ctl->qid, ctl->name);
  return NULL;
}

ts_error_t *
tsp_ctl_wake(tsp_ctl_t *ctl)
{
  int e;

  apr_atomic_set32(&ctl->woken, 1);
  e = send_word(ctl->qid, ctl->self, ctl->self);
  if (e)
    return ts_error_aprf(APR_FROM_OS_ERROR(e), "cannot wake the thread that "
                         "serves the control channel %s (message queue %d)",
                         ctl->name, ctl->qid);
  return NULL;
}

void
tsp_ctl_close(tsp_ctl_t *ctl)
{
  ctl_msg_t m;

  /* what is left for us (the wake-up, requests that came too late: their
   * senders have given up or will), then the word to the agent */
  while (msgrcv(ctl->qid, &m, sizeof(m.body), ctl->self,
                IPC_NOWAIT | MSG_NOERROR) >= 0 || errno == EINTR)
    ;
  send_word(ctl->qid, ctl->agent, ctl->self);
}
