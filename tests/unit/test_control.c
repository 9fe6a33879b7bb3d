/* test_control.c: the local control channel (core/proc/ts_control) with
 * real processes on both systems, control_child as the model servers and
 * as another agent: 4 threads asking 2 serving processes at once each
 * get their own replies, a request the server does not know is answered
 * so, and "stop" stops a server; a request to a pid
 * that serves nothing (a process that runs, one that has ended) fails
 * within its timeout naming the pid; the serving thread stops at once.
 * Linux: the queue is there with the agent as its last sender and
 * receiver, stays so after its model servers stopped (the doctor must
 * not call a running agent's queue stale), holds no request that nobody
 * took, and is gone after ts_control_destroy, or after the agent ended
 * cleanly; too few queues (kernel.msgmni, in an IPC namespace of the
 * test's own) is the vendor's error with the doctor's fix, in English
 * and German. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#ifndef _WIN32
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#endif

#include "ts_control.h"
#include "ts_file.h"
#include "ts_i18n.h"
#include "tsp.h"

static apr_pool_t *pool;
static const char *dir;

static void
setup(void)
{
  const char *tmp;
  unsigned char r[4];

  apr_initialize();
  apr_pool_create(&pool, NULL);
  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  cr_assert_eq(apr_generate_random_bytes(r, sizeof(r)), APR_SUCCESS);
  dir = apr_psprintf(pool, "%s/tessera-test-control-%02x%02x%02x%02x", tmp,
                     r[0], r[1], r[2], r[3]);
  cr_assert_eq(apr_dir_make_recursive(dir, APR_FPROT_OS_DEFAULT, pool),
               APR_SUCCESS);
}

static void
teardown(void)
{
  apr_dir_t *d;
  apr_finfo_t fi;

  if (apr_dir_open(&d, dir, pool) == APR_SUCCESS) {
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS)
      if (fi.filetype == APR_REG)
        apr_file_remove(ts_path_join(dir, fi.name, pool), pool);
    apr_dir_close(d);
  }
  apr_dir_remove(dir, pool);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(control, .init = setup, .fini = teardown, .timeout = 60);

/* control_child with ARGS (NULL-terminated, up to 4); with PIPES, its
 * stdin and stdout are pipes to us. */
static void
start_child(apr_proc_t *proc, const char *const *args, int pipes)
{
  const char *argv[6] = { CONTROL_CHILD };
  apr_procattr_t *attr;

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  cr_assert_eq(apr_procattr_create(&attr, pool), APR_SUCCESS);
  cr_assert_eq(apr_procattr_cmdtype_set(attr, APR_PROGRAM_ENV),
               APR_SUCCESS);
  if (pipes)
    cr_assert_eq(apr_procattr_io_set(attr, APR_FULL_BLOCK, APR_FULL_BLOCK,
                                     APR_NO_PIPE), APR_SUCCESS);
  cr_assert_eq(apr_proc_create(proc, CONTROL_CHILD, argv, NULL, attr, pool),
               APR_SUCCESS, "cannot start %s", CONTROL_CHILD);
}

static void
start_server(apr_proc_t *proc, const char *name, const char *logname)
{
  start_child(proc, (const char *[]){ "serve", name,
                                      ts_path_join(dir, logname, pool),
                                      NULL }, 0);
}

/* Whether PROC ended within SECONDS; *CODE its exit status. */
static int
ended_within(apr_proc_t *proc, int seconds, int *code)
{
  apr_time_t until = apr_time_now() + apr_time_from_sec(seconds);
  apr_exit_why_e why;

  while (apr_proc_wait(proc, code, &why, APR_NOWAIT) == APR_CHILD_NOTDONE) {
    if (apr_time_now() > until)
      return 0;
    apr_sleep(apr_time_from_msec(20));
  }
  return 1;
}

static void
end_child(apr_proc_t *proc)
{
  int code;

  apr_proc_kill(proc, 9);
  ended_within(proc, 10, &code);
}

/* The queue of the channel NAME (Linux), or NULL: listed by the same
 * function the doctor uses. */
static tsp_msgqueue_t *
queue_of(const char *name)
{
  apr_array_header_t *queues;
  long mni;

  cr_assert_null(tsp_msgqueues(&queues, &mni, pool));
  for (int i = 0; queues && i < queues->nelts; i++) {
    tsp_msgqueue_t *q = &APR_ARRAY_IDX(queues, i, tsp_msgqueue_t);
    if (q->id == atol(name))
      return q;
  }
  return NULL;
}

/* Whether PID is this process or one of its threads (Linux: the kernel
 * records a thread's id as the last receiver when it hands a message
 * straight to a thread waiting in msgrcv). */
static int
is_ours(long pid)
{
  apr_finfo_t fi;

  return pid == tsp_pid()
         || apr_stat(&fi, apr_psprintf(pool, "/proc/self/task/%ld", pid),
                     APR_FINFO_TYPE, pool) == APR_SUCCESS;
}

typedef struct asker_t {
  ts_control_t *ctl;
  long pid;
  int number;
  apr_pool_t *pool;
  int answered;
  const char *wrong;     /* the first wrong reply, or error */
} asker_t;

static void *APR_THREAD_FUNC
ask(apr_thread_t *thread, void *data)
{
  asker_t *a = data;

  for (int i = 0; i < 25 && !a->wrong; i++) {
    const char *request = apr_psprintf(a->pool, "echo thread %d request %d",
                                       a->number, i), *reply;
    const char *want = apr_psprintf(a->pool, "%ld thread %d request %d",
                                    a->pid, a->number, i);
    ts_error_t *err = ts_control_request(&reply, a->ctl, a->pid, request,
                                         apr_time_from_sec(10), a->pool);
    if (err) {
      a->wrong = ts_error_text(err, a->pool);
      ts_error_clear(err);
    }
    else if (strcmp(reply, want) != 0)
      a->wrong = apr_psprintf(a->pool, "asked \"%s\" of %ld, got \"%s\"",
                              request, a->pid, reply);
    else
      a->answered++;
  }
  (void)thread;
  return NULL;
}

Test(control, four_threads_asking_two_servers_get_their_own_replies)
{
  ts_control_t *ctl;
  apr_proc_t server[2];
  apr_thread_t *threads[4];
  asker_t askers[4];
  const char *reply;
  tsp_msgqueue_t *q;

  cr_assert_null(ts_control_create(&ctl, pool));
  start_server(&server[0], ts_control_name(ctl), "a.log");
  start_server(&server[1], ts_control_name(ctl), "b.log");
  for (int i = 0; i < 4; i++) {
    askers[i] = (asker_t){ ctl, server[i % 2].pid, i, NULL, 0, NULL };
    apr_pool_create(&askers[i].pool, pool);
  }
  for (int i = 0; i < 4; i++)
    cr_assert_eq(apr_thread_create(&threads[i], NULL, ask, &askers[i],
                                   pool), APR_SUCCESS);
  for (int i = 0; i < 4; i++) {
    apr_status_t ignored;
    apr_thread_join(&ignored, threads[i]);
  }
  for (int i = 0; i < 4; i++)
    cr_assert_eq(askers[i].answered, 25, "thread %d: %s", i,
                 askers[i].wrong);

  for (int i = 0; i < 2; i++) {
    int code = -1;
    cr_assert_null(ts_control_request(&reply, ctl, server[i].pid, "status",
                                      apr_time_from_sec(10), pool));
    cr_assert_str_eq(reply, apr_psprintf(pool, "{\"state\":\"running\","
                                         "\"pid\":%ld}",
                                         (long)server[i].pid));
    cr_assert_null(ts_control_request(&reply, ctl, server[i].pid, "dance",
                                      apr_time_from_sec(10), pool));
    cr_assert_str_eq(reply, "error: request not understood: dance");
    cr_assert_null(ts_control_request(&reply, ctl, server[i].pid, "stop",
                                      apr_time_from_sec(10), pool));
    cr_assert_str_eq(reply, "stopping");
    cr_assert(ended_within(&server[i], 10, &code), "server %d runs on "
              "after \"stop\"", i);
    cr_assert_eq(code, 0);
  }

  /* Linux: its model servers have stopped, the agent runs: not stale */
  if ((q = queue_of(ts_control_name(ctl)))) {
    apr_time_t until = apr_time_now() + apr_time_from_sec(5);
    while ((q = queue_of(ts_control_name(ctl))) && q->stale
           && apr_time_now() < until)
      apr_sleep(apr_time_from_msec(20));
    cr_assert_not_null(q);
    cr_assert(!q->stale, "a running agent's queue looks stale to the "
              "doctor: last sender %ld, last receiver %ld", q->last_sender,
              q->last_receiver);
    cr_assert(is_ours(q->last_receiver), "the last receiver of a running "
              "agent's queue is %ld, not the agent (%ld) or its thread",
              q->last_receiver, tsp_pid());
  }
  cr_assert_null(ts_control_destroy(ctl));
  cr_assert_null(queue_of(ts_control_name(ctl)), "queue left after "
                 "ts_control_destroy");
}

/* REQUEST to PID with a 300 ms timeout fails in time naming PID; its
 * message. */
static const char *
fails_in_time(ts_control_t *ctl, long pid)
{
  apr_time_t start = apr_time_now(), took;
  const char *reply = NULL, *text;
  ts_error_t *err = ts_control_request(&reply, ctl, pid, "status",
                                       apr_time_from_msec(300), pool);

  took = apr_time_now() - start;
  cr_assert_not_null(err, "pid %ld replied \"%s\"", pid, reply);
  text = ts_error_text(err, pool);
  cr_assert_eq(ts_error_code(err), TS_EUNAVAIL, "%s", text);
  cr_assert(strstr(text, apr_psprintf(pool, "pid %ld", pid)), "%s", text);
  cr_assert_geq(took, apr_time_from_msec(280), "gave up after %ld ms: %s",
                (long)apr_time_as_msec(took), text);
  cr_assert_lt(took, apr_time_from_msec(2300), "took %ld ms: %s",
               (long)apr_time_as_msec(took), text);
  ts_error_clear(err);
  return text;
}

Test(control, a_pid_that_serves_nothing_fails_within_its_timeout)
{
  ts_control_t *ctl;
  apr_proc_t idle, gone;
  tsp_msgqueue_t *q;
  const char *text;
  int code;

  cr_assert_null(ts_control_create(&ctl, pool));
  start_child(&idle, (const char *[]){ "idle", "30000", NULL }, 0);
  text = fails_in_time(ctl, idle.pid);
  if ((q = queue_of(ts_control_name(ctl)))) {
    cr_assert(strstr(text, "the process runs"), "%s", text);
    cr_assert_eq(q->messages, 0, "the request nobody took is still in the "
                 "queue");
  }
  end_child(&idle);

  start_child(&gone, (const char *[]){ "idle", "0", NULL }, 0);
  cr_assert(ended_within(&gone, 10, &code));
  text = fails_in_time(ctl, gone.pid);
  if ((q = queue_of(ts_control_name(ctl)))) {
    cr_assert(strstr(text, apr_psprintf(pool, "no process %ld runs",
                                        (long)gone.pid)), "%s", text);
    cr_assert_eq(q->messages, 0);
  }
  cr_assert_null(ts_control_destroy(ctl));
}

/* Another agent (control_child agent): its channel's name. */
static const char *
start_agent(apr_proc_t *agent)
{
  char line[128] = "";

  start_child(agent, (const char *[]){ "agent", NULL }, 1);
  cr_assert_eq(apr_file_gets(line, sizeof(line), agent->out), APR_SUCCESS,
               "the agent said nothing");
  line[strcspn(line, "\r\n")] = '\0';
  cr_assert(*line);
  return apr_pstrdup(pool, line);
}

static const char *
nothing_to_say(void *baton, const char *request, apr_pool_t *p)
{
  (void)baton; (void)request; (void)p;
  return NULL;
}

Test(control, stop_ends_the_serving_thread_at_once)
{
  apr_proc_t agent;
  const char *name = start_agent(&agent);
  ts_control_t *served;
  ts_log_t *log;
  apr_time_t start, took;
  int code = -1;

  cr_assert_null(ts_log_open(&log, ts_path_join(dir, "served.log", pool),
                             0, 0, pool));
  cr_assert_null(ts_control_serve(&served, name, nothing_to_say, NULL, log,
                                  pool));
  /* not a synchronisation (stop works at any moment): the stop below
   * should find the thread blocked in its wait, the case that matters */
  apr_sleep(apr_time_from_msec(100));
  start = apr_time_now();
  ts_control_stop(served);
  took = apr_time_now() - start;
  cr_assert_lt(took, apr_time_from_msec(1000), "stop took %ld ms",
               (long)apr_time_as_msec(took));
  ts_control_stop(served);               /* twice: nothing */

  /* the agent's clean stop: stdin ends */
  apr_file_close(agent.in);
  cr_assert(ended_within(&agent, 10, &code));
  cr_assert_eq(code, 0);
  cr_assert_null(queue_of(name), "the agent's queue is left after its "
                 "clean stop");
}

Test(control, a_channel_that_is_not_there_is_a_clear_error)
{
  ts_control_t *served;
  ts_error_t *err = ts_control_serve(&served, "no-such-channel",
                                     nothing_to_say, NULL, NULL, pool);
  const char *text;

  cr_assert_not_null(err);
  text = ts_error_text(err, pool);
  cr_assert(strstr(text, "no-such-channel"), "%s", text);
  ts_error_clear(err);

  err = ts_control_serve(&served, NULL, nothing_to_say, NULL, NULL, pool);
  cr_assert_not_null(err);
  cr_assert_eq(ts_error_code(err), TS_ECONFIG);
  cr_assert(strstr(ts_error_text(err, pool), TS_CONTROL_ENV));
  ts_error_clear(err);
}

#ifndef _WIN32
Test(control, a_new_queue_is_the_agents_and_goes_with_destroy)
{
  ts_control_t *ctl;
  tsp_msgqueue_t *q;
  const char *name;

  cr_assert_null(ts_control_create(&ctl, pool));
  name = ts_control_name(ctl);
  cr_assert(strchr(name, '.'), "%s", name);
  cr_assert_eq(atol(strchr(name, '.') + 1), (long)getpid(), "%s", name);
  q = queue_of(name);
  cr_assert_not_null(q, "queue %s not in /proc/sysvipc/msg", name);
  cr_assert(is_ours(q->last_sender), "%ld", q->last_sender);
  cr_assert(is_ours(q->last_receiver), "%ld", q->last_receiver);
  cr_assert(!q->stale);
  cr_assert_eq(q->messages, 0);
  cr_assert_null(ts_control_destroy(ctl));
  cr_assert_null(queue_of(name), "queue %s left after ts_control_destroy",
                 name);
  cr_assert_null(ts_control_destroy(ctl), "twice: nothing");
}

/* In a child with an IPC namespace of its own whose kernel.msgmni is 0:
 * ts_control_create's error in English and German, on FD. */
static void
create_without_queues(int fd, const char *program)
{
  FILE *f;
  ts_control_t *ctl;
  ts_error_t *err;
  apr_pool_t *p;

  if (unshare(CLONE_NEWIPC) != 0
      || !(f = fopen("/proc/sys/kernel/msgmni", "w")))
    _exit(2);
  fputs("0\n", f);
  fclose(f);
  apr_pool_create(&p, NULL);
  if (tsp_env_set("LANGUAGE", "de", p) || ts_i18n_set("de", program))
    _exit(4);
  err = ts_control_create(&ctl, p);
  if (!err)
    _exit(3);
  dprintf(fd, "%d\n%s\n%s\n", (int)ts_error_code(err),
          ts_error_text(err, p), ts_error_message(err, p));
  _exit(0);
}

Test(control, too_few_queues_is_the_vendors_error_with_the_doctors_fix)
{
  int fds[2], status;
  char text[4096] = "";
  ssize_t n, got = 0;
  pid_t pid;
  const char *program;

  cr_assert_null(tsp_program_path(&program, pool));
  cr_assert_eq(getuid(), 0, "needs root: an IPC namespace of its own");
  cr_assert_eq(pipe(fds), 0);
  pid = fork();
  if (pid == 0)
    create_without_queues(fds[1], program);
  close(fds[1]);
  while ((n = read(fds[0], text + got, sizeof(text) - 1 - (size_t)got)) > 0)
    got += n;
  close(fds[0]);
  waitpid(pid, &status, 0);
  cr_assert_eq(WEXITSTATUS(status), 0, "child failed (%d)",
               WEXITSTATUS(status));
  cr_assert_eq(atoi(text), TS_EUNAVAIL, "%s", text);
  cr_assert(strstr(text, "Cannot create the message queue (msgget: "
                   "ENOSPC): all 0 message queues"), "%s", text);
  cr_assert(strstr(text, "`tessera-admin doctor --fix`"), "%s", text);
  cr_assert(strstr(text, "echo 'kernel.msgmni = 256' > "
                   "/etc/sysctl.d/60-tessera.conf && sysctl --system"),
            "%s", text);
  cr_assert(strstr(text, "Erstellen der Nachrichtenwarteschlange nicht "
                   "möglich"), "no German: %s", text);
}
#endif
