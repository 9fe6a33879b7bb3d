/* test_tesserad.c: tesserad's life as a Linux process, through the real
 * binary: the systemd notification protocol on a socket the test owns
 * (READY only once the port accepts connections, RELOADING/READY on HUP,
 * STOPPING and exit 0 on TERM, WATCHDOG), log reopening, the settings read
 * again on HUP (a change is named, for the license server and the bus
 * alike), --daemon with its readiness pipe, the locked pid file, and a
 * busy port. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <apr_general.h>

#include "run.h"

static char root[] = "/tmp/tesserad-test-XXXXXX";
static char notify_path[300], lic[256], logfile[300], pidfile[300];
static char env_host[64], env_lic[300], env_home[300], env_notify[320];
static char env_dir[320];
static int port, notify_fd = -1;

/* A port that is free now: bind port 0 and take what the kernel gave. */
static void
setup(void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };

  apr_initialize();
  cr_assert_not_null(mkdtemp(root));
  /* as root, the bus broker runs as the service account or nobody, which
   * must reach INOLIC below this directory */
  cr_assert_eq(chmod(root, 0711), 0);
  port = run_free_port();
  cr_assert(port >= 1024 && port <= 64000, "kernel port %d", port);
  snprintf(lic, sizeof(lic), "%s/lic", root);
  snprintf(logfile, sizeof(logfile), "%s/logs/license.%d/license.log", lic,
           port);
  snprintf(pidfile, sizeof(pidfile), "%s/logs/license.%d/license.pid", lic,
           port);
  snprintf(notify_path, sizeof(notify_path), "%s/notify", root);
  snprintf(env_host, sizeof(env_host), "INOHOST=127.0.0.1.%d", port);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s", lic);
  snprintf(env_home, sizeof(env_home), "HOME=%s", root);
  /* the server credential goes there: not the machine's INODIR */
  snprintf(env_dir, sizeof(env_dir), "INODIR=%s/params", root);
  snprintf(env_notify, sizeof(env_notify), "NOTIFY_SOCKET=%s", notify_path);
  notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  strcpy(sa.sun_path, notify_path);
  cr_assert_eq(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
}

static void
teardown(void)
{
  char cmd[300];

  close(notify_fd);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_terminate();
}

TestSuite(tesserad, .init = setup, .fini = teardown, .timeout = 60);

/* Start tesserad ARGS in the background with the test's settings, plus
 * EXTRA environment entries; INOHOST from the process environment unless
 * NO_ENV_HOST. */
static pid_t
spawn_with(const char *const *args, const char *extra, int no_env_host)
{
  const char *argv[8] = { TESSERAD };
  const char *env[10] = { "PATH=/usr/bin:/bin", env_lic, env_home,
                          env_notify, env_dir,
                          no_env_host ? NULL : env_host };
  int n = no_env_host ? 5 : 6;
  pid_t pid;

  if (getenv("ASAN_OPTIONS"))
    env[n++] = "ASAN_OPTIONS=detect_leaks=0";   /* killed by signals */
  if (extra)
    env[n++] = extra;
  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDWR);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execve(argv[0], (char *const *)argv, (char *const *)env);
    _exit(127);
  }
  return pid;
}

static pid_t
spawn(const char *const *args, const char *extra)
{
  return spawn_with(args, extra, 0);
}

/* The next notification, or NULL after TIMEOUT_MS. */
static char *
next_message(int timeout_ms)
{
  static char buf[4096];
  struct pollfd p = { .fd = notify_fd, .events = POLLIN };
  ssize_t n;

  if (poll(&p, 1, timeout_ms) <= 0)
    return NULL;
  n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
  if (n < 0)
    return NULL;
  buf[n] = '\0';
  return buf;
}

/* Wait for a notification containing WANT; returns it. */
static char *
expect_message(const char *want)
{
  for (int i = 0; i < 50; i++) {
    char *m = next_message(200);
    if (m && strstr(m, want))
      return m;
  }
  cr_assert_fail("no notification with \"%s\" within 10 s", want);
  return NULL;
}

static int
connect_port(int p)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p) };
  int fd = socket(AF_INET, SOCK_STREAM, 0), rc;

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
  close(fd);
  return rc;
}

/* GET /health over a raw socket; the response's first line. */
static char *
health(int p)
{
  static char buf[1024];
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p) };
  const char req[] = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: "
                     "close\r\n\r\n";
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ssize_t n, got = 0;

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(fd);
    return NULL;
  }
  cr_assert_eq(write(fd, req, sizeof(req) - 1), (ssize_t)sizeof(req) - 1);
  while ((n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
    got += n;
  close(fd);
  buf[got] = '\0';
  return buf;
}

static int
wait_exit(pid_t pid, int timeout_ms)
{
  int status;

  for (int i = 0; i < timeout_ms / 10; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid)
      return WIFEXITED(status) ? WEXITSTATUS(status)
                               : 128 + WTERMSIG(status);
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  cr_assert_fail("pid %d did not exit within %d ms", (int)pid, timeout_ms);
  return -1;
}

static char *
slurp(const char *path)
{
  static char buf[65536];
  FILE *f = fopen(path, "r");
  size_t n;

  if (!f)
    return NULL;
  n = fread(buf, 1, sizeof(buf) - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static unsigned long long
monotonic_usec(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (unsigned long long)ts.tv_sec * 1000000ULL
         + (unsigned long long)ts.tv_nsec / 1000ULL;
}

/* The value of line KEY=value of a notify datagram, or NULL. */
static char *
datagram_field(const char *datagram, const char *key)
{
  static char value[256];
  size_t klen = strlen(key);

  for (const char *line = datagram; line && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == '='
        && len - klen - 1 < sizeof(value)) {
      memcpy(value, line + klen + 1, len - klen - 1);
      value[len - klen - 1] = '\0';
      return value;
    }
    line = end ? end + 1 : NULL;
  }
  return NULL;
}

Test(tesserad, ready_only_once_serving_then_reload_then_stop)
{
  pid_t pid = spawn((const char *[]){ "license", NULL }, NULL);
  unsigned long long before, after;
  char *m, *usec;

  m = expect_message("READY=1");
  /* READY means the port accepts connections, at once */
  cr_assert_eq(connect_port(port), 0, "READY before the port listened");
  cr_assert(strstr(health(port), "200 OK"), "health: %s", health(port));
  cr_assert(strstr(health(port), "\"status\":\"ok\""));

  before = monotonic_usec();
  kill(pid, SIGHUP);
  m = expect_message("RELOADING=1");
  after = monotonic_usec();
  /* systemd reads MONOTONIC_USEC as CLOCK_MONOTONIC in microseconds: a
   * decimal number taken between the signal and the datagram's arrival */
  usec = datagram_field(m, "MONOTONIC_USEC");
  cr_assert_not_null(usec, "no MONOTONIC_USEC= line: %s", m);
  cr_assert(usec[0] && strspn(usec, "0123456789") == strlen(usec),
            "MONOTONIC_USEC is not a number: \"%s\"", usec);
  cr_assert(strtoull(usec, NULL, 10) >= before
            && strtoull(usec, NULL, 10) <= after,
            "MONOTONIC_USEC=%s is not between %llu and %llu", usec, before,
            after);
  expect_message("READY=1");

  kill(pid, SIGTERM);
  expect_message("STOPPING=1");
  cr_assert_eq(wait_exit(pid, 20000), 0);
  cr_assert_neq(connect_port(port), 0, "still listening after the stop");
  m = slurp(logfile);
  cr_assert(m && strstr(m, "serving on port"), "log: %s", m);
  cr_assert(strstr(m, "stopped"));
}

Test(tesserad, hup_reopens_the_log_for_rotation)
{
  pid_t pid = spawn((const char *[]){ "license", NULL }, NULL);
  char rotated[320];
  char *m;

  expect_message("READY=1");
  snprintf(rotated, sizeof(rotated), "%s.1", logfile);
  cr_assert_eq(rename(logfile, rotated), 0);
  kill(pid, SIGHUP);
  expect_message("RELOADING=1");
  expect_message("READY=1");
  kill(pid, SIGTERM);
  cr_assert_eq(wait_exit(pid, 20000), 0);
  m = slurp(logfile);
  cr_assert_not_null(m, "no new log file after HUP");
  cr_assert(strstr(m, "log file reopened"), "new log: %s", m);
  cr_assert(strstr(m, "stopped"));
  m = slurp(rotated);
  cr_assert(strstr(m, "serving on port"));
  cr_assert_null(strstr(m, "stopped"), "lines after HUP went to the old "
                 "file");
}

Test(tesserad, watchdog_pings_at_half_the_interval)
{
  pid_t pid = spawn((const char *[]){ "license", NULL },
                    "WATCHDOG_USEC=400000");
  int pings = 0;

  expect_message("READY=1");
  for (int i = 0; i < 20 && pings < 3; i++) {
    char *m = next_message(500);
    if (m && strstr(m, "WATCHDOG=1"))
      pings++;
  }
  cr_assert_geq(pings, 3, "WATCHDOG=1 pings: %d", pings);
  kill(pid, SIGTERM);
  cr_assert_eq(wait_exit(pid, 20000), 0);
}

Test(tesserad, busy_port_is_a_clear_error)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  run_result_t r;
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_dir,
                        env_home, "ASAN_OPTIONS=detect_leaks=0", NULL };

  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(fd, 1), 0);
  r = run((const char *[]){ TESSERAD, "license", NULL }, env, NULL);
  close(fd);
  cr_assert_eq(r.status, 69, "exit %d, want EX_UNAVAILABLE: %s", r.status,
               r.err);
  cr_assert(strstr(r.err, "another program uses it"), "%s", r.err);
  cr_assert(strstr(r.err, "cannot listen on port"), "%s", r.err);
  run_free(&r);
}

Test(tesserad, daemon_returns_once_serving_and_locks_its_pid_file)
{
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_dir,
                        env_home, "ASAN_OPTIONS=detect_leaks=0", NULL };
  run_result_t r = run((const char *[]){ TESSERAD, "license", "--daemon",
                                         NULL }, env, NULL);
  run_result_t second;
  long pid;
  char *text;

  cr_assert_eq(r.status, 0, "daemon start: %d %s", r.status, r.err);
  /* the parent has returned: the daemon must be serving already */
  text = health(port);
  cr_assert(text && strstr(text, "200 OK"), "not serving when the parent "
            "returned");
  text = slurp(pidfile);
  cr_assert_not_null(text, "no pid file %s", pidfile);
  pid = atol(text);
  cr_assert_gt(pid, 1);
  cr_assert(strstr(r.out, "serving, pid"), "%s", r.out);

  /* a second instance is refused and names the first one's pid */
  second = run((const char *[]){ TESSERAD, "license", "--daemon", NULL },
               env, NULL);
  cr_assert_neq(second.status, 0);
  cr_assert(strstr(second.err, "another instance (pid"), "%s", second.err);
  cr_assert(strstr(second.err, text[0] ? strtok(text, "\n") : "?"), "%s",
            second.err);
  run_free(&second);

  cr_assert_eq(kill((pid_t)pid, SIGTERM), 0);
  for (int i = 0; i < 2000 && kill((pid_t)pid, 0) == 0; i++)
    usleep(10000);
  cr_assert_neq(kill((pid_t)pid, 0), 0, "daemon did not stop");
  cr_assert_null(slurp(pidfile), "pid file left behind");
  run_free(&r);
}

Test(tesserad, daemon_start_failure_is_reported_by_the_parent)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_dir,
                        env_home, "ASAN_OPTIONS=detect_leaks=0", NULL };
  run_result_t r;

  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(fd, 1), 0);
  r = run((const char *[]){ TESSERAD, "license", "--daemon", NULL }, env,
          NULL);
  close(fd);
  cr_assert_eq(r.status, 69, "exit %d: %s", r.status, r.err);
  cr_assert(strstr(r.err, "another program uses it"), "%s", r.err);
  run_free(&r);
}

Test(tesserad, stale_pid_file_is_taken_over)
{
  char dir[300];
  FILE *f;
  pid_t pid;
  char *text;

  snprintf(dir, sizeof(dir), "mkdir -p '%s/logs/license.%d'", lic, port);
  cr_assert_eq(system(dir), 0);
  f = fopen(pidfile, "w");
  fputs("999999\n", f);
  fclose(f);
  pid = spawn((const char *[]){ "license", NULL }, NULL);
  expect_message("READY=1");
  text = slurp(pidfile);
  cr_assert_eq(atol(text), (long)pid, "pid file: %s", text);
  kill(pid, SIGTERM);
  cr_assert_eq(wait_exit(pid, 20000), 0);
}

Test(tesserad, invalid_settings_refuse_to_start)
{
  const char *env[] = { "PATH=/usr/bin:/bin", "INOHOST=lic1.80", env_lic,
                        env_home, NULL };
  run_result_t r = run((const char *[]){ TESSERAD, "license", NULL }, env,
                       NULL);

  cr_assert_eq(r.status, 78, "exit %d, want EX_CONFIG: %s", r.status, r.err);
  cr_assert(strstr(r.err, "INOHOST 'lic1.80' from the process environment"),
            "%s", r.err);
  run_free(&r);
}

/* `tessera-admin env set NAME VALUE --scope user` with the test's HOME. */
static void
env_set(const char *name, const char *value)
{
  const char *env[] = { "PATH=/usr/bin:/bin", env_home, NULL };
  run_result_t r = run((const char *[]){ TESSERA_ADMIN, "env", "set", name,
                                         value, "--scope", "user", NULL },
                       env, NULL);

  cr_assert_eq(r.status, 0, "env set %s %s: %s", name, value, r.err);
  run_free(&r);
}

/* HUP reads the settings again: unchanged, it says so; a changed INOHOST
 * (its host: HUP used to notice only a new port) is named with its source
 * and what the server keeps until a restart; the server goes on serving
 * on its port. */
Test(tesserad, hup_reads_the_settings_again)
{
  char inohost[64], want[300], *log;
  pid_t pid;

  snprintf(inohost, sizeof(inohost), "127.0.0.1.%d", port);
  env_set("INOHOST", inohost);
  pid = spawn_with((const char *[]){ "license", NULL }, NULL, 1);
  expect_message("READY=1");
  kill(pid, SIGHUP);
  expect_message("RELOADING=1");
  expect_message("READY=1");
  log = slurp(logfile);
  cr_assert(strstr(log, "settings read again: as when the server started"),
            "%s", log);
  cr_assert_null(strstr(log, "settings: INOHOST"), "%s", log);

  /* another host, the same port: nothing about the port changes */
  snprintf(inohost, sizeof(inohost), "localhost.%d", port);
  env_set("INOHOST", inohost);
  kill(pid, SIGHUP);
  expect_message("RELOADING=1");
  expect_message("READY=1");
  log = slurp(logfile);
  snprintf(want, sizeof(want), "settings: INOHOST is 'localhost.%d' now "
           "(from the user file), not '127.0.0.1.%d' as when the license "
           "server started; it takes effect after a restart of: all "
           "servers (changing the host needs license re-activation); until "
           "then this server keeps '127.0.0.1.%d'", port, port, port);
  cr_assert(strstr(log, want), "no \"%s\" in the log:\n%s", want, log);
  cr_assert(strstr(health(port), "200 OK"), "not serving on its port");
  kill(pid, SIGTERM);
  cr_assert_eq(wait_exit(pid, 20000), 0);
}

/* The bus on p+1: its HUP compares INOHOST's p, not its own port, and
 * finds nothing changed. */
Test(tesserad, hup_of_the_bus_finds_its_settings_unchanged)
{
  char buslog[400], *log;
  pid_t pid = spawn((const char *[]){ "bus", NULL }, NULL);

  snprintf(buslog, sizeof(buslog), "%s/logs/bus.%d/bus.log", lic, port + 1);
  expect_message("READY=1");
  kill(pid, SIGHUP);
  expect_message("RELOADING=1");
  expect_message("READY=1");
  kill(pid, SIGTERM);
  cr_assert_eq(wait_exit(pid, 20000), 0);
  log = slurp(buslog);
  cr_assert_not_null(log, "no %s", buslog);
  cr_assert(strstr(log, "settings read again: as when the server started"),
            "%s", log);
  cr_assert_null(strstr(log, "INOHOST"), "%s", log);
}
