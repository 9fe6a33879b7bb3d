/* test_doctor.c: `tessera-admin doctor` against real mechanisms (Linux):
 * a port of the plan held by a listener (named with its process), a port
 * held by a real tesserad (recognized as ours), stale System V message
 * queues of a killed process (listed; --fix --yes removes only those of
 * the service account, a live process's queue stays), and broken project
 * directories (missing, a file, two uuid files, a corrupt uuid). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <apr_general.h>

#include "doctor_fixture.h"
#include "run.h"

TestSuite(doctor, .init = df_setup, .fini = df_teardown, .timeout = 60);

Test(doctor, clean_project_has_no_errors)
{
  run_result_t r;

  init_project();
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.out);
  cr_assert_eq(findings(r.out, "project", NULL, ""), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "project", "info", "holds a UUID; ivm and "
                        "ivm/logs are writable"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "network-drive", "info", "is on a local file "
                        "system"), 3, "INOPRJ, INOLIC, INODIR: %s", r.out);
  run_free(&r);
}

Test(doctor, busy_port_is_named_with_its_process)
{
  struct sockaddr_in sa = { .sin_family = AF_INET,
                            .sin_port = htons(port + 2) };
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  char want[128];
  run_result_t r;

  init_project();
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(fd, 1), 0);
  r = doctor((const char *[]){ "--json", NULL });
  close(fd);
  cr_assert_eq(r.status, 78, "exit %d", r.status);
  snprintf(want, sizeof(want), "port %d (p+2, the hub) is in use by pid %d",
           port + 2, (int)getpid());
  cr_assert_eq(findings(r.out, "ports", "error", want), 1, "%s", r.out);
  run_free(&r);
}

Test(doctor, port_held_by_our_server_is_recognized)
{
  const char *argv[] = { TESSERAD, "license", NULL };
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_prj, env_lic,
                        env_dir, env_home, "ASAN_OPTIONS=detect_leaks=0",
                        NULL };
  pid_t pid;
  run_result_t r;
  int ok = 0;

  init_project();
  pid = fork();
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    execve(argv[0], (char *const *)argv, (char *const *)env);
    _exit(127);
  }
  for (int i = 0; i < 100 && !ok; i++) {
    r = doctor((const char *[]){ "--json", NULL });
    ok = findings(r.out, "ports", "info", "held by the Tessera license "
                  "server");
    if (!ok) {
      run_free(&r);
      usleep(50000);
    }
  }
  kill(pid, SIGTERM);
  waitpid(pid, NULL, 0);
  cr_assert(ok, "tesserad's port not recognized as ours");
  cr_assert_eq(r.status, 0, "%s", r.out);
  run_free(&r);
}

/* A queue created by a process running as UID that then dies (DIE) or
 * stays (returns its pid). */
static pid_t
queue_as(uid_t uid, int die, int *id)
{
  int pipefd[2];
  pid_t pid;

  cr_assert_eq(pipe(pipefd), 0);
  pid = fork();
  if (pid == 0) {
    struct { long type; char text[8]; } m = { 1, "hello" };
    int q;
    if (setgid(uid) || setuid(uid))
      _exit(2);
    q = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
    msgsnd(q, &m, sizeof(m.text), 0);
    (void)!write(pipefd[1], &q, sizeof(q));
    if (die)
      _exit(0);
    pause();
    _exit(0);
  }
  cr_assert_eq(read(pipefd[0], id, sizeof(*id)), (ssize_t)sizeof(*id));
  close(pipefd[0]);
  close(pipefd[1]);
  if (die) {
    waitpid(pid, NULL, 0);
    return 0;
  }
  return pid;
}

static int
queue_exists(int id)
{
  struct msqid_ds ds;
  return msgctl(id, IPC_STAT, &ds) == 0;
}

Test(doctor, stale_message_queues_are_listed_and_fixed)
{
  int stale_nobody, stale_root, live;
  pid_t keeper;
  char want[64];
  run_result_t r;

  init_project();
  queue_as(65534, 1, &stale_nobody);
  queue_as(0, 1, &stale_root);
  keeper = queue_as(65534, 0, &live);

  r = doctor((const char *[]){ "--json", "--account", "nobody", NULL });
  snprintf(want, sizeof(want), "owner nobody, 1 message,");
  cr_assert_geq(findings(r.out, "message-queues", "warning", want), 1, "%s",
                r.out);
  run_free(&r);
  cr_assert(queue_exists(stale_nobody), "doctor without --fix changed "
            "something");

  r = doctor((const char *[]){ "--json", "--fix", "--yes", "--account",
                               "nobody", NULL });
  cr_assert_geq(findings(r.out, "message-queues", "info", "fixed: removed"),
                1, "%s", r.out);
  run_free(&r);
  cr_assert(!queue_exists(stale_nobody), "stale queue of the account kept");
  cr_assert(queue_exists(stale_root), "another account's queue removed");
  cr_assert(queue_exists(live), "a live process's queue removed");

  kill(keeper, SIGKILL);
  waitpid(keeper, NULL, 0);
  msgctl(stale_root, IPC_RMID, NULL);
  msgctl(live, IPC_RMID, NULL);
}

Test(doctor, broken_project_directories_are_clear_findings)
{
  char path[400];
  FILE *f;
  run_result_t r;

  /* missing */
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(r.status, 78);
  cr_assert_eq(findings(r.out, "project", "error", "does not exist"), 1,
               "%s", r.out);
  run_free(&r);
  /* a file instead of a directory */
  f = fopen(prj, "w");
  fclose(f);
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "project", "error", "is not a directory"), 1,
               "%s", r.out);
  run_free(&r);
  unlink(prj);
  /* two uuid files, one corrupt */
  init_project();
  snprintf(path, sizeof(path), "%s/other.inoprj.uuid", prj);
  f = fopen(path, "w");
  fputs("not-a-uuid\n", f);
  fclose(f);
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(r.status, 78);
  cr_assert_eq(findings(r.out, "project", "error", "2 *.inoprj.uuid files"),
               1, "%s", r.out);
  cr_assert_eq(findings(r.out, "project", "error", "does not hold a UUID"),
               1, "%s", r.out);
  run_free(&r);
  /* ivm/logs missing */
  unlink(path);
  snprintf(path, sizeof(path), "rm -rf '%s/ivm/logs'", prj);
  cr_assert_eq(system(path), 0);
  r = doctor((const char *[]){ NULL });
  cr_assert_eq(r.status, 78);
  cr_assert(strstr(r.out, "ivm/logs is missing"), "%s", r.out);
  cr_assert(strstr(r.out, "fix: tessera-admin project init"), "%s", r.out);
  run_free(&r);
  /* --fix makes ivm/logs again, and nothing else */
  r = doctor((const char *[]){ "--json", "--fix", "--yes", NULL });
  cr_assert_eq(findings(r.out, "project", "info", "fixed: "), 1, "%s",
               r.out);
  cr_assert_eq(findings(r.out, "project", "info", "created the identity"), 0,
               "%s", r.out);
  cr_assert_eq(findings(r.out, "project", "error", ""), 0, "%s", r.out);
  run_free(&r);
  snprintf(path, sizeof(path), "%s/ivm/logs", prj);
  cr_assert_eq(access(path, W_OK), 0);
}

/* --fix gives a project directory without identity its uuid file and
 * ivm/logs; with two uuid files it changes nothing (which one is right is
 * for the administrator to say); --fix in --json without --yes is
 * refused, as there is nobody to ask. */
Test(doctor, fix_gives_a_bare_project_its_identity_and_only_then)
{
  char path[400], *text;
  run_result_t r;

  cr_assert_eq(mkdir(prj, 0755), 0);
  r = doctor((const char *[]){ "--json", "--fix", NULL });
  cr_assert_eq(r.status, 64, "exit %d: %s", r.status, r.err);
  cr_assert(strstr(r.err, "needs --yes"), "%s", r.err);
  run_free(&r);
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "project", "error", "has no "
                        "<name>.inoprj.uuid file"), 1, "%s", r.out);
  run_free(&r);

  r = doctor((const char *[]){ "--json", "--fix", "--yes", NULL });
  cr_assert_eq(findings(r.out, "project", "info", "fixed: created the "
                        "identity"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "project", "error", ""), 0, "%s", r.out);
  run_free(&r);
  snprintf(path, sizeof(path), "%s/prj.inoprj.uuid", prj);
  text = run_read_file(path);
  cr_assert_eq(strlen(text), 37, "a UUID and a newline: '%s'", text);
  free(text);

  snprintf(path, sizeof(path), "%s/second.inoprj.uuid", prj);
  run_write_file(path, "0e6a9f0c-3b1d-4f0e-9a43-5f0b6c1d2e3f\n");
  snprintf(path, sizeof(path), "rm -rf '%s/ivm'", prj);
  cr_assert_eq(system(path), 0);
  r = doctor((const char *[]){ "--json", "--fix", "--yes", NULL });
  cr_assert_eq(findings(r.out, "project", "info", "fixed"), 0, "%s", r.out);
  cr_assert_eq(findings(r.out, "project", "error", "2 *.inoprj.uuid"), 1,
               "%s", r.out);
  run_free(&r);
  snprintf(path, sizeof(path), "%s/ivm", prj);
  cr_assert_neq(access(path, F_OK), 0, "ivm was made despite two uuids");
}

static void
record(const char *kind_dir, const char *host, int p, const char *os,
       const char *account, const char *inohost)
{
  char path[512];
  FILE *f;

  snprintf(path, sizeof(path), "mkdir -p '%s/ivm/%s'", prj, kind_dir);
  cr_assert_eq(system(path), 0);
  snprintf(path, sizeof(path), "%s/ivm/%s/%s.%d.json", prj, kind_dir, host,
           p);
  f = fopen(path, "w");
  fprintf(f, "{\"version\": 1, \"kind\": \"%s\", \"host\": \"%s\", "
          "\"port\": %d, \"os\": \"%s\", \"account\": \"%s\", "
          "\"inohost\": \"%s\"}\n", strcmp(kind_dir, "agents") ? "modelserver"
          : "agent", host, p, os, account, inohost);
  fclose(f);
}

Test(doctor, scenarios_from_the_records_in_ivm)
{
  run_result_t r;
  char path[512];

  init_project();
  record("agents", "h1", 17003, "linux", "nobody", "lic1.17000");
  record("modelservers", "h1", 17006, "linux", "nobody", "lic1.17000");
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "scenarios", NULL, ""), 0, "%s", r.out);
  run_free(&r);

  /* an agent and a model server of different license servers */
  record("modelservers", "h2", 17006, "linux", "nobody", "lic2.17000");
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(r.status, 78);
  cr_assert_eq(findings(r.out, "scenarios", "error", "an agent and a model "
               "server of different license servers"), 1, "%s", r.out);
  run_free(&r);

  /* agents of different license servers; mixed Linux and Windows */
  snprintf(path, sizeof(path), "%s/ivm/modelservers/h2.17006.json", prj);
  unlink(path);
  record("agents", "w1", 17003, "windows", "TESSERA\\\\agent", "lic2.17000");
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "scenarios", "error", "agents of different "
               "license servers share INOPRJ"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "scenarios", "error", "lic2.17000 (agent "
               "w1:17003)"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "scenarios", "warning", "Linux and Windows "
               "agents share"), 1, "%s", r.out);
  /* the Linux agent's account was checked as that account */
  cr_assert_eq(findings(r.out, "permissions", "error", "the account nobody "
               "may not use"), 1, "%s", r.out);
  run_free(&r);

  /* a broken record is named, not fatal */
  record("agents", "bad", 1, "linux", "x", "y");
  snprintf(path, sizeof(path), "%s/ivm/agents/bad.1.json", prj);
  {
    FILE *f = fopen(path, "w");
    fputs("{not json", f);
    fclose(f);
  }
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "scenarios", "warning", "is not a version-1 "
               "agent record"), 1, "%s", r.out);
  run_free(&r);
}

Test(doctor, configuration_and_bus_broker)
{
  char path[400];
  FILE *f;
  run_result_t r;

  init_project();
  /* no tessera.xml: defaults; mosquitto found in /usr/sbin although PATH
   * lacks it */
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "configuration", "info", "absent"), 1, "%s",
               r.out);
  cr_assert_eq(findings(r.out, "bus", "info", "is installed"), 1, "%s",
               r.out);
  run_free(&r);
  /* a broken file: an error naming the line and element, exit non-zero */
  snprintf(path, sizeof(path), "%s/lic", root);
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/lic/tessera.xml", root);
  f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs("<tessera xmlns=\"urn:tessera:config:1\">\n<license-server>\n"
        "<bus program=\"/nonexistent/mosquitto\"/>\n<listen address=\"x\"/>"
        "\n</license-server>\n</tessera>\n", f);
  fclose(f);
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_neq(r.status, 0);
  cr_assert_eq(findings(r.out, "configuration", "error",
                        "line 4, element listen"), 1, "%s", r.out);
  run_free(&r);
  /* valid, but the named broker does not exist */
  f = fopen(path, "w");
  fputs("<tessera xmlns=\"urn:tessera:config:1\">\n<license-server>\n"
        "<bus program=\"/nonexistent/mosquitto\"/>\n</license-server>\n"
        "</tessera>\n", f);
  fclose(f);
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_neq(r.status, 0);
  cr_assert_eq(findings(r.out, "bus", "error", "/nonexistent/mosquitto"), 1,
               "%s", r.out);
  run_free(&r);
}

/* The notification service's SMTP password file (tessera.xml <notify>
 * <smtp password-file>): missing, open to others, owner-only. */
Test(doctor, the_smtp_password_file)
{
  char path[400], pw[400];
  run_result_t r;

  init_project();
  snprintf(path, sizeof(path), "%s/lic", root);
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/lic/tessera.xml", root);
  snprintf(pw, sizeof(pw), "%s/lic/smtp.pw", root);
  run_write_file(path, "<tessera xmlns=\"urn:tessera:config:1\">\n<notify>"
                 "<smtp host=\"mail.example.com\" from=\"t@example.com\" "
                 "user=\"tessera\" password-file=\"smtp.pw\"/></notify>"
                 "</tessera>\n");
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "mail", "warning", "cannot open"), 1, "%s",
               r.out);
  run_free(&r);
  run_write_file(pw, "secret\n");
  chmod(pw, 0644);
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_neq(r.status, 0);
  cr_assert_eq(findings(r.out, "mail", "error", "may be read or changed by "
                        "other accounts"), 1, "%s", r.out);
  run_free(&r);
  chmod(pw, 0600);
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "mail", "info", "readable and owner-only "
                        "(mail.example.com port 587)"), 1, "%s", r.out);
  run_free(&r);
}

static void
write_twin(const char *peer, const char *b1, const char *b2, const char *b3)
{
  char path[400], text[1200];

  snprintf(path, sizeof(path), "%s/lic", root);
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/lic/tessera.xml", root);
  snprintf(text, sizeof(text),
           "<tessera xmlns=\"urn:tessera:config:1\">\n<license-server>\n"
           "<twin>\n<peer address=\"%s\" port=\"17000\"/>\n<backends>\n"
           "<backend address=\"%s\"/>\n<backend address=\"%s\" port=\"2380\"/>"
           "\n<backend address=\"%s\"/>\n</backends>\n</twin>\n"
           "</license-server>\n</tessera>\n", peer, b1, b2, b3);
  run_write_file(path, text);
}

/* Seed 000: the twin on this host, or two of the three backends on one
 * host, is a warning. Hosts are judged by address (a socket binds only to
 * this machine's addresses; nothing is sent): 192.0.2.0/24 is a
 * documentation network, never this machine. A license server with
 * <twin> refuses to start: twin mode is not there yet. */
Test(doctor, twin_and_backends_on_one_host_are_warned)
{
  const char *check[] = { TESSERAD, "license", "--check", NULL };
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_prj, env_lic,
                        env_home, "ASAN_OPTIONS=detect_leaks=0", NULL };
  run_result_t r;

  init_project();
  write_twin("192.0.2.20", "192.0.2.10", "192.0.2.11", "192.0.2.12");
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "twin", "warning", ""), 0, "%s", r.out);
  cr_assert_eq(findings(r.out, "twin", "info", "the twin peer 192.0.2.20:"
                        "17000 is another host, and the three backends are "
                        "on three hosts"), 1, "%s", r.out);
  run_free(&r);

  /* the peer is this machine (any loopback address is); backends 1 and 2
   * share an address, 3 is this machine too but alone */
  write_twin("127.0.0.2", "192.0.2.10", "192.0.2.10", "localhost");
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "twin", "warning", "the twin peer 127.0.0.2:"
                        "17000 ("), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "twin", "warning", "line 4) is this host"), 1,
               "%s", r.out);
  cr_assert_eq(findings(r.out, "twin", "warning", "backends 1 (192.0.2.10:"
                        "2379) and 2 (192.0.2.10:2380)"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "twin", "warning", "no majority"), 1, "%s",
               r.out);
  cr_assert_eq(findings(r.out, "twin", "info", ""), 0, "%s", r.out);
  run_free(&r);

  /* two backends on this machine under different names */
  write_twin("192.0.2.20", "127.0.0.1", "192.0.2.11", "localhost");
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(findings(r.out, "twin", "warning", "backends 1 (127.0.0.1:"
                        "2379) and 3 (localhost:2379)"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "twin", "warning", ""), 1, "%s", r.out);
  run_free(&r);

  /* doctor and the server: this version refuses twin mode */
  r = doctor((const char *[]){ "--json", NULL });
  cr_assert_eq(r.status, 78, "exit %d: %s", r.status, r.out);
  cr_assert_eq(findings(r.out, "configuration", "error", "line 3, element "
                        "twin: twin mode"), 1, "%s", r.out);
  run_free(&r);
  r = run(check, env, NULL);
  cr_assert_eq(r.status, 78, "exit %d: %s", r.status, r.err);
  cr_assert(strstr(r.err, "tessera.xml line 3, element twin: twin mode"),
            "%s", r.err);
  cr_assert(strstr(r.err, "remove <twin>"), "%s", r.err);
  run_free(&r);

  /* the schema wants exactly three backends */
  {
    char path[400];
    snprintf(path, sizeof(path), "%s/lic/tessera.xml", root);
    run_write_file(path, "<tessera xmlns=\"urn:tessera:config:1\">\n"
                   "<license-server>\n<twin>\n<peer address=\"192.0.2.20\" "
                   "port=\"17000\"/>\n<backends>\n<backend address=\"a\"/>"
                   "\n<backend address=\"b\"/>\n</backends>\n</twin>\n"
                   "</license-server>\n</tessera>\n");
  }
  r = run(check, env, NULL);
  cr_assert_neq(r.status, 0);
  cr_assert(strstr(r.err, "line 5, element backends"), "%s", r.err);
  run_free(&r);
}

/* An agent port or a project license server's ports in the model-server
 * range were accepted silently: a warning now, with the range. */
Test(doctor, ports_in_the_model_server_range_are_warned)
{
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_prj, env_lic,
                        env_home, "ASAN_OPTIONS=detect_leaks=0", NULL,
                        NULL };
  const char *argv[] = { TESSERA_ADMIN, "doctor", "--json", "--account",
                         "root", NULL };
  char agent[64], path[400], want[600], xml[400];
  run_result_t r;

  init_project();
  snprintf(agent, sizeof(agent), "INOAGENTPORT=%d", port + 10);
  env[6] = agent;
  r = run(argv, env, NULL);
  snprintf(want, sizeof(want), "INOAGENTPORT %d (the agent's port) lies in "
           "the model-server range %d..%d", port + 10, port + 6, port + 25);
  cr_assert_eq(findings(r.out, "ports", "warning", want), 1, "%s", r.out);
  run_free(&r);

  env[6] = NULL;
  snprintf(path, sizeof(path), "%s/lic", root);
  mkdir(path, 0755);
  snprintf(path, sizeof(path), "%s/lic/tessera.xml", root);
  snprintf(xml, sizeof(xml), "<tessera xmlns=\"urn:tessera:config:1\">\n"
           "<license-server>\n<project version=\"26.1\" port=\"%d\"/>\n"
           "</license-server>\n</tessera>\n", port + 24);
  run_write_file(path, xml);
  r = run(argv, env, NULL);
  snprintf(want, sizeof(want), "the project license server 26.1 (%s line 3: "
           "ports %d..%d, p' to p'+2) lies in the model-server range",
           path, port + 24, port + 26);
  cr_assert_eq(findings(r.out, "configuration", "warning", want), 1, "%s",
               r.out);
  run_free(&r);
}
