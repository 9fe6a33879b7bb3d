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

#include "run.h"

static char root[] = "/tmp/tessera-doctor-XXXXXX";
static char prj[300], env_host[64], env_prj[320], env_lic[320], env_home[320];
static char env_dir[320];
static int port;

static void
setup(void)
{
  apr_initialize();
  cr_assert_not_null(mkdtemp(root));
  chmod(root, 0755);
  /* p..p+25 must not collide with ephemeral ports in use: step back from
   * a free one so the plan stays below 64000 */
  port = run_free_port();
  if (port > 60000)
    port -= 30;
  snprintf(prj, sizeof(prj), "%s/prj", root);
  snprintf(env_host, sizeof(env_host), "INOHOST=127.0.0.1.%d", port);
  snprintf(env_prj, sizeof(env_prj), "INOPRJ=%s", prj);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s/lic", root);
  snprintf(env_home, sizeof(env_home), "HOME=%s", root);
  /* the server credential goes there: not the machine's INODIR */
  snprintf(env_dir, sizeof(env_dir), "INODIR=%s/params", root);
}

static void
teardown(void)
{
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_terminate();
}

TestSuite(doctor, .init = setup, .fini = teardown, .timeout = 60);

/* doctor with ARGS, as root, or as USER. Without an --account in ARGS
 * doctor checks INOPRJ as the service account 'tessera', which may or may
 * not exist on the test machine: cases not about permissions name root
 * (who may use everything) unless IMPLICIT. */
static run_result_t
doctor_as(const char *user, int implicit, const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN, "doctor" };
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_prj, env_lic,
                        env_home, "ASAN_OPTIONS=detect_leaks=0", NULL };
  int n = 2, named = 0;

  for (int i = 0; args[i]; i++) {
    named |= strcmp(args[i], "--account") == 0;
    argv[n++] = args[i];
  }
  if (!named && !implicit) {
    argv[n++] = "--account";
    argv[n++] = "root";
  }
  return run(argv, env, user);
}

static run_result_t
doctor(const char *const *args)
{
  return doctor_as(NULL, 0, args);
}

static void
init_project(void)
{
  const char *argv[] = { TESSERA_ADMIN, "project", "init", NULL };
  const char *env[] = { "PATH=/usr/bin:/bin", env_prj, env_home, NULL };
  run_result_t r = run(argv, env, NULL);
  cr_assert_eq(r.status, 0, "project init: %s", r.err);
  run_free(&r);
}

/* The findings of `doctor --json` with CHECK and a message containing
 * TEXT; returns how many. */
static int
findings(const char *json_text, const char *check, const char *severity,
         const char *text)
{
  json_t *j = json_loads(json_text, 0, NULL), *f;
  size_t i;
  int n = 0;

  cr_assert_not_null(j, "not JSON: %s", json_text);
  json_array_foreach(json_object_get(j, "findings"), i, f)
    if (strcmp(json_string_value(json_object_get(f, "check")), check) == 0
        && (!severity || strcmp(json_string_value(json_object_get(f,
                                "severity")), severity) == 0)
        && strstr(json_string_value(json_object_get(f, "message")), text))
      n++;
  json_decref(j);
  return n;
}

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

/* Real accounts: two agents' users and a group, modes and POSIX ACLs on a
 * test INOPRJ; doctor checks as each account (not as root). */
static int
sh(const char *before, const char *path, const char *after)
{
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "%s'%s'%s", before, path, after);
  return system(cmd);
}

Test(doctor, permissions_as_each_account_with_groups_and_acls)
{
  run_result_t r;
  char file[400];

  cr_assert_eq(system("getent group tstagents >/dev/null || groupadd "
                      "--system tstagents"), 0);
  cr_assert_eq(system("id tstagent1 >/dev/null 2>&1 || useradd --system "
                      "--no-create-home -G tstagents tstagent1"), 0);
  cr_assert_eq(system("id tstagent2 >/dev/null 2>&1 || useradd --system "
                      "--no-create-home tstagent2"), 0);
  init_project();
  snprintf(file, sizeof(file), "%s/repo1", prj);
  mkdir(file, 0770);
  snprintf(file, sizeof(file), "%s/repo1/model.db", prj);
  fclose(fopen(file, "w"));
  /* the group may read and write everything, nobody else */
  cr_assert_eq(sh("chgrp -R tstagents ", prj, ""), 0);
  cr_assert_eq(sh("chmod -R g+rwX,o-rwx ", prj, ""), 0);

  r = doctor((const char *[]){ "--json", "--account", "tstagent1",
                               "--account", "tstagent2", NULL });
  cr_assert_eq(r.status, 78);
  cr_assert_eq(findings(r.out, "permissions", "info", "the account "
               "tstagent1 can read and write all"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "permissions", "error", "the account "
               "tstagent2 may not use"), 1, "%s", r.out);
  run_free(&r);

  /* an ACL entry gives tstagent2 what the group gives tstagent1 */
  cr_assert_eq(sh("setfacl -R -m u:tstagent2:rwX ", prj, ""), 0);
  /* and a file handed to another group fails tstagent1 alone (a chmod
   * g-w would not do: with an ACL it lowers the mask for tstagent2 too) */
  cr_assert_eq(sh("chgrp root ", file, ""), 0);
  r = doctor((const char *[]){ "--json", "--account", "tstagent1",
                               "--account", "tstagent2", NULL });
  cr_assert_eq(findings(r.out, "permissions", "info", "the account "
               "tstagent2 can read and write all"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "permissions", "error", "the account "
               "tstagent1 may not use 1 of"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "permissions", "error", "model.db: no "
               "read/write"), 1, "%s", r.out);
  run_free(&r);
  cr_assert_eq(system("userdel tstagent1 && userdel tstagent2 && groupdel "
                      "tstagents"), 0);
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

/* doctor --json with an account database of the test's own, whatever
 * the machine has: in a mount namespace of its own (unshare -m), a copy
 * of /etc/passwd with a 'tessera' account (WITH_TESSERA) or without one
 * is bind-mounted over /etc/passwd; doctor runs as root, or as nobody
 * (AS_NOBODY, from a copy every account may run). */
static run_result_t doctor_with_accounts_args(int with_tessera,
                                              int as_nobody,
                                              const char *args);

static run_result_t
doctor_with_accounts(int with_tessera, int as_nobody)
{
  return doctor_with_accounts_args(with_tessera, as_nobody, "--json");
}

/* The same with ARGS (words for sh) instead of --json. */
static run_result_t
doctor_with_accounts_args(int with_tessera, int as_nobody, const char *args)
{
  const char *env[] = { "PATH=/usr/bin:/bin:/usr/sbin:/sbin", env_host,
                        env_prj, env_lic, env_home,
                        "ASAN_OPTIONS=detect_leaks=0", NULL };
  char passwd[400], admin[400], cmd[2000], line[1024];
  FILE *in = fopen("/etc/passwd", "r"), *out;

  snprintf(passwd, sizeof(passwd), "%s/passwd", root);
  out = fopen(passwd, "w");
  cr_assert(in && out);
  while (fgets(line, sizeof(line), in))
    if (strncmp(line, "tessera:", 8) != 0)
      fputs(line, out);
  if (with_tessera)
    fputs("tessera:x:64990:64990:Tessera services:/nonexistent:"
          "/usr/sbin/nologin\n", out);
  fclose(in);
  fclose(out);
  chmod(passwd, 0644);
  snprintf(admin, sizeof(admin), "%s/tessera-admin", root);
  snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'",
           TESSERA_ADMIN, admin, admin);
  cr_assert_eq(system(cmd), 0);
  snprintf(cmd, sizeof(cmd), "mount --bind '%s' /etc/passwd && exec %s "
           "'%s' doctor %s", passwd, as_nobody ? "setpriv --reuid=nobody "
           "--regid=nogroup --clear-groups" : "", admin, args);
  return run((const char *[]){ "/usr/bin/unshare", "-m", "/bin/sh", "-c",
                               cmd, NULL }, env, NULL);
}

/* Without --account, INOPRJ is checked as the account the services run
 * as (tessera): when it exists, as that account; when not, an info saying
 * how to create it; as a user who cannot become it, an info saying to run
 * doctor as root. Never a warning for what was not asked. Each case runs
 * on every machine, with or without a real 'tessera' account. */
Test(doctor, without_an_account_the_service_account_is_checked)
{
  run_result_t r;

  init_project();
  chmod(root, 0755);
  r = doctor_with_accounts(1, 0);
  cr_assert_eq(findings(r.out, "permissions", NULL, "the account tessera "),
               1, "%s%s", r.out, r.err);
  run_free(&r);

  r = doctor_with_accounts(0, 0);
  cr_assert_eq(findings(r.out, "permissions", "info", "INOPRJ was not "
                        "checked as the service account tessera: there is "
                        "no account 'tessera'"), 1, "%s%s", r.out, r.err);
  run_free(&r);

  r = doctor_with_accounts(1, 1);
  cr_assert_eq(findings(r.out, "permissions", "info", "INOPRJ was not "
                        "checked as the service account tessera: checking "
                        "access as 'tessera' needs root"), 1, "%s%s", r.out,
               r.err);
  cr_assert_eq(findings(r.out, "permissions", "warning", ""), 0, "%s",
               r.out);
  run_free(&r);
}

/* --account run without root: the check as that account cannot be made;
 * the doctor says so, and exits 77 (EX_NOPERM), not 0 as if all were
 * well. An account that does not exist here: said, exit 65. */
Test(doctor, an_account_that_cannot_be_checked_is_said_and_not_passed)
{
  char cmd[400];
  run_result_t r;
  json_t *j;

  init_project();
  /* nobody may use the project, so no other finding is an error */
  snprintf(cmd, sizeof(cmd), "chown -R nobody '%s'", prj);
  cr_assert_eq(system(cmd), 0);
  r = doctor_as("nobody", 0, (const char *[]){ "--json", "--account",
                                               "nobody", NULL });
  cr_assert_eq(r.status, 77, "exit %d: %s%s", r.status, r.out, r.err);
  cr_assert_eq(findings(r.out, "permissions", "warning", "INOPRJ was NOT "
                        "checked as the account nobody: checking access as "
                        "'nobody' needs root"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "project", "error", ""), 0, "%s", r.out);
  j = json_loads(r.out, 0, NULL);
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j,
                   "not_checked_as"), 0)), "nobody", "%s", r.out);
  json_decref(j);
  run_free(&r);
  r = doctor_as("nobody", 0, (const char *[]){ "--account", "nobody",
                                               NULL });
  cr_assert_eq(r.status, 77);
  cr_assert(strstr(r.out, "; INOPRJ was not checked as nobody\n"), "%s",
            r.out);
  run_free(&r);

  r = doctor((const char *[]){ "--json", "--account", "tessera-no-such-"
                               "account", NULL });
  cr_assert_eq(r.status, 65, "exit %d: %s", r.status, r.out);
  cr_assert_eq(findings(r.out, "permissions", "warning", "INOPRJ was NOT "
                        "checked as the account tessera-no-such-account: "
                        "there is no account"), 1, "%s", r.out);
  run_free(&r);

  /* as root, the account is checked: exit 0 */
  r = doctor((const char *[]){ "--json", "--account", "nobody", NULL });
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.out);
  cr_assert_eq(findings(r.out, "permissions", "info", "the account nobody "
                        "can read and write"), 1, "%s", r.out);
  run_free(&r);
}

/* --fix removes the stale queues of the first --account: one that does
 * not exist is refused before anything is changed; without --account, a
 * service account that does not exist yet is not offered. */
Test(doctor, fix_refuses_the_queues_of_an_account_that_does_not_exist)
{
  char uuid[400];
  run_result_t r;
  struct stat st;

  r = doctor((const char *[]){ "--fix", "--yes", "--account",
                               "tessera-no-such-account", NULL });
  cr_assert_eq(r.status, 65, "exit %d: %s%s", r.status, r.out, r.err);
  cr_assert(strstr(r.err, "doctor --fix would remove the stale message "
                   "queues of the account tessera-no-such-account (the "
                   "first --account), but there is no account "
                   "'tessera-no-such-account' on this machine; nothing was "
                   "checked or changed"), "%s", r.err);
  run_free(&r);
  snprintf(uuid, sizeof(uuid), "%s/ivm", prj);
  cr_assert_neq(stat(uuid, &st), 0, "the refused --fix changed INOPRJ");

  mkdir(prj, 0755);
  chmod(root, 0755);
  r = doctor_with_accounts_args(0, 0, "--fix");
  cr_assert(strstr(r.out, "Apply the safe fixes: give INOPRJ its identity "
                   "and ivm/logs where they are missing? [y/N]"), "%s%s",
            r.out, r.err);
  cr_assert_null(strstr(r.out, "message queues of the account"), "%s",
                 r.out);
  run_free(&r);
  r = doctor_with_accounts_args(1, 0, "--fix");
  cr_assert(strstr(r.out, "and remove the stale message queues of the "
                   "account 'tessera'? [y/N]"), "%s%s", r.out, r.err);
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
