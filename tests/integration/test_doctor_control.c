/* test_doctor_control.c: the agent's control channel as `tessera-admin
 * doctor` sees it (Linux). Two agents (control_child agent, each a
 * process that made its channel as an agent does, running as the account
 * nobody): while they run, neither queue is stale; after one is killed
 * with -9, its queue is listed as stale, naming its pid (or the id of
 * its thread that received last), and `doctor
 * --fix --yes --account nobody` removes it, while the running agent's
 * queue stays and is not listed. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <jansson.h>

#include "doctor_fixture.h"
#include "run.h"

TestSuite(doctor_control, .init = df_setup, .fini = df_teardown,
          .timeout = 60);

typedef struct agent_t {
  pid_t pid;
  int qid;
  int keep;       /* its stdin: it runs while this is open */
} agent_t;

/* CONTROL_CHILD where nobody may run it: the build tree may lie under a
 * directory only root enters (a fresh clone in a mkdtemp directory). */
static const char *
runnable_child(void)
{
  static char dir[] = "/tmp/tessera-ctl-child-XXXXXX";
  static char path[sizeof(dir) + 16];

  if (!path[0]) {
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(chmod(dir, 0755), 0);
    snprintf(path, sizeof(path), "%s/control_child", dir);
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'",
             CONTROL_CHILD, path, path);
    cr_assert_eq(system(cmd), 0);
  }
  return path;
}

/* control_child agent as nobody; its queue id from the channel's name. */
static agent_t
start_agent(void)
{
  int in[2], out[2];
  char name[64] = "";
  ssize_t n, got = 0;
  const char *child;
  agent_t a;

  cr_assert_eq(pipe(in), 0);
  cr_assert_eq(pipe(out), 0);
  child = runnable_child();
  a.pid = fork();
  if (a.pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    if (setgid(65534) || setuid(65534))
      _exit(2);
    execl(child, child, "agent", (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  while (!strchr(name, '\n') && (n = read(out[0], name + got,
                                          sizeof(name) - 1 - (size_t)got)) > 0)
    got += n;
  close(out[0]);
  cr_assert(strchr(name, '.'), "the agent said \"%s\"", name);
  a.qid = atoi(name);
  a.keep = in[1];
  return a;
}

static int
queue_exists(int id)
{
  struct msqid_ds ds;
  return msgctl(id, IPC_STAT, &ds) == 0;
}

/* The ids of PID's threads (PID among them) into TIDS; how many. */
static int
threads_of(pid_t pid, int *tids, int max)
{
  char path[64];
  DIR *d;
  struct dirent *e;
  int n = 0;

  snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
  d = opendir(path);
  cr_assert_not_null(d, "%s", path);
  while (n < max && (e = readdir(d)))
    if (e->d_name[0] != '.')
      tids[n++] = atoi(e->d_name);
  closedir(d);
  return n;
}

/* The findings about queue QID with SEVERITY and a message containing
 * TEXT. */
static int
about_queue(const char *json_text, int qid, const char *severity,
            const char *text)
{
  json_t *j = json_loads(json_text, 0, NULL), *f;
  char subject[64];
  size_t i;
  int n = 0;

  cr_assert_not_null(j, "not JSON: %s", json_text);
  snprintf(subject, sizeof(subject), "queue id %d ", qid);
  json_array_foreach(json_object_get(j, "findings"), i, f)
    if (strcmp(json_string_value(json_object_get(f, "check")),
               "message-queues") == 0
        && strncmp(json_string_value(json_object_get(f, "subject")), subject,
                   strlen(subject)) == 0
        && strcmp(json_string_value(json_object_get(f, "severity")),
                  severity) == 0
        && strstr(json_string_value(json_object_get(f, "message")), text))
      n++;
  json_decref(j);
  return n;
}

Test(doctor_control, a_killed_agents_queue_is_stale_and_fixed)
{
  agent_t live = start_agent(), killed = start_agent();
  const char *check[] = { "--json", "--account", "nobody", NULL };
  const char *fix[] = { "--json", "--fix", "--yes", "--account", "nobody",
                        NULL };
  char want[96];
  run_result_t r;
  int status, tids[16], ntids;

  init_project();
  r = doctor(check);
  cr_assert_eq(about_queue(r.out, live.qid, "warning", "stale"), 0, "%s",
               r.out);
  cr_assert_eq(about_queue(r.out, killed.qid, "warning", "stale"), 0, "%s",
               r.out);
  run_free(&r);

  ntids = threads_of(killed.pid, tids, 16);
  kill(killed.pid, SIGKILL);
  waitpid(killed.pid, NULL, 0);
  close(killed.keep);
  r = doctor(check);
  cr_assert_eq(about_queue(r.out, killed.qid, "warning", "stale message "
                           "queue: owner nobody, 0 messages"), 1, "%s",
               r.out);
  /* the last sender and receiver it names are the agent or its threads */
  for (int i = 0; i < 2; i++) {
    int named = 0;
    for (int t = 0; t < ntids; t++) {
      snprintf(want, sizeof(want), i ? "receiver (pid %d)"
                                     : "last sender (pid %d)", tids[t]);
      named += about_queue(r.out, killed.qid, "warning", want);
    }
    cr_assert_eq(named, 1, "not the agent's pid or threads: %s", r.out);
  }
  run_free(&r);
  cr_assert(queue_exists(killed.qid), "doctor without --fix removed it");

  r = doctor(fix);
  cr_assert_eq(about_queue(r.out, killed.qid, "info", "fixed: removed the "
                           "stale queue (owner nobody"), 1, "%s", r.out);
  run_free(&r);
  cr_assert(!queue_exists(killed.qid), "the killed agent's queue is left");
  cr_assert(queue_exists(live.qid), "the running agent's queue was removed");

  /* the running agent stops cleanly: its queue goes with it */
  close(live.keep);
  waitpid(live.pid, &status, 0);
  cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  cr_assert(!queue_exists(live.qid));
  {
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "rm -rf \"$(dirname '%s')\"",
             runnable_child());
    cr_assert_eq(system(cmd), 0);
  }
}
