/* test_connections.c: the connections a real tesserad holds, when clients
 * misbehave (Linux). The server runs with an open-files limit of 1024, so
 * its budget is small enough to exceed: clients from several loopback
 * addresses (127.0.0.1, .3, .4, ...) open slow connections (half a request,
 * then silence) and abandoned ones (half a request, then close), more than
 * the server may hold; a new client (127.0.0.2) must still be answered,
 * the abandoned connections must not linger in CLOSE-WAIT, the log must
 * not drown in warnings, and SIGTERM must stop the server with all of
 * that still connected. The times it takes are printed, not asserted. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <apr_general.h>

#include "run.h"

#define FD_LIMIT 1024
#define MAX_HELD 4096

static char root[] = "/tmp/tessera-conns-XXXXXX";
static char notify_path[300], logfile[300];
static char env_host[64], env_lic[300], env_home[300], env_notify[320];
static int port, notify_fd = -1, held[MAX_HELD], nheld;
static pid_t server = -1;

static void
setup(void)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  struct rlimit rl;

  apr_initialize();
  cr_assert_not_null(mkdtemp(root));
  /* as root, the bus broker runs as the service account or nobody, which
   * must reach INOLIC inside */
  cr_assert_eq(chmod(root, 0711), 0);
  port = run_free_port();
  snprintf(logfile, sizeof(logfile), "%s/lic/logs/license.%d/license.log",
           root, port);
  snprintf(notify_path, sizeof(notify_path), "%s/notify", root);
  snprintf(env_host, sizeof(env_host), "INOHOST=localhost.%d", port);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s/lic", root);
  snprintf(env_home, sizeof(env_home), "HOME=%s", root);
  snprintf(env_notify, sizeof(env_notify), "NOTIFY_SOCKET=%s", notify_path);
  notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  strcpy(sa.sun_path, notify_path);
  cr_assert_eq(bind(notify_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  /* this test holds thousands of connections itself */
  cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
  cr_assert_geq(rl.rlim_max, 3 * FD_LIMIT, "the test needs a hard "
                "open-files limit of %d", 3 * FD_LIMIT);
  rl.rlim_cur = rl.rlim_max;
  cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
  nheld = 0;
}

static void
teardown(void)
{
  char cmd[300];

  for (int i = 0; i < nheld; i++)
    close(held[i]);
  if (server > 0) {
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
    server = -1;
  }
  close(notify_fd);
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_terminate();
}

TestSuite(connections, .init = setup, .fini = teardown, .timeout = 120);

/* The next notification containing WANT, waiting at most 10 s. */
static void
expect_message(const char *want)
{
  char buf[4096];

  for (int i = 0; i < 50; i++) {
    struct pollfd p = { .fd = notify_fd, .events = POLLIN };
    ssize_t n;
    if (poll(&p, 1, 200) <= 0)
      continue;
    n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    if (strstr(buf, want))
      return;
  }
  cr_assert_fail("no notification with \"%s\" within 10 s", want);
}

/* tesserad license with an open-files limit of FD_LIMIT; returns once it
 * said READY=1. */
static void
start_server(void)
{
  const char *argv[] = { TESSERAD, "license", NULL };
  const char *env[] = { "PATH=/usr/bin:/bin", env_host, env_lic, env_home,
                        env_notify, "ASAN_OPTIONS=detect_leaks=0", NULL };

  server = fork();
  if (server == 0) {
    struct rlimit rl = { FD_LIMIT, FD_LIMIT };
    int devnull = open("/dev/null", O_RDWR);
    setrlimit(RLIMIT_NOFILE, &rl);
    dup2(devnull, 0);
    dup2(devnull, 1);
    dup2(devnull, 2);
    execve(argv[0], (char *const *)argv, (char *const *)env);
    _exit(127);
  }
  expect_message("READY=1");
}

static double
now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A connection from 127.0.0.SRC to the server that sent half a request;
 * -1 when it could not connect. */
static int
half_request(int src)
{
  struct sockaddr_in from = { .sin_family = AF_INET };
  struct sockaddr_in to = { .sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port) };
  const char half[] = "GET /health HTTP/1.1\r\nHo";
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

  from.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)src);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || bind(fd, (struct sockaddr *)&from, sizeof(from)) < 0
      || connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  /* a refused connection may be closed already: no SIGPIPE */
  (void)!send(fd, half, sizeof(half) - 1, MSG_NOSIGNAL);
  return fd;
}

/* From 127.0.0.SRC: SLOW connections kept open after half a request, and
 * ABANDONED ones closed after it. */
static void
misbehave(int src, int slow, int abandoned)
{
  for (int i = 0; i < slow || i < abandoned; i++) {
    if (i < slow) {
      int fd = half_request(src);
      cr_assert_geq(fd, 0, "cannot connect from 127.0.0.%d: %s", src,
                    strerror(errno));
      cr_assert_lt(nheld, MAX_HELD);
      held[nheld++] = fd;
    }
    if (i < abandoned) {
      int fd = half_request(src);
      if (fd >= 0)
        close(fd);
    }
  }
}

/* GET PATH from 127.0.0.SRC, waiting 5 s at most (half the server's idle
 * timeout, after which slow connections would free their slots anyway):
 * the answer in BODY; the status, 0 when the server closed the connection
 * without answering, -1 when it did not answer in time. */
static int
get_from(int src, const char *path, char *body, size_t size)
{
  struct sockaddr_in from = { .sin_family = AF_INET };
  struct sockaddr_in to = { .sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port) };
  struct timeval tv = { 5, 0 };
  char req[256];
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), status = 0;
  ssize_t n = 0, got = 0;

  from.sin_addr.s_addr = htonl(0x7f000000u | (unsigned)src);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  cr_assert_eq(bind(fd, (struct sockaddr *)&from, sizeof(from)), 0);
  cr_assert_eq(connect(fd, (struct sockaddr *)&to, sizeof(to)), 0, "%s",
               strerror(errno));
  snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: "
           "close\r\n\r\n", path);
  (void)!send(fd, req, strlen(req), MSG_NOSIGNAL);
  while (got < (ssize_t)size - 1
         && (n = recv(fd, body + got, size - 1 - (size_t)got, 0)) > 0)
    got += n;
  body[got] = '\0';
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    status = -1;
  else if (got)
    sscanf(body, "HTTP/1.%*d %d", &status);
  close(fd);
  return status;
}

/* The value of the metric sample NAME (a whole line's start) in TEXT. */
static long
metric(const char *text, const char *name)
{
  char want[200];
  const char *at;

  snprintf(want, sizeof(want), "\n%s ", name);
  at = strstr(text, want);
  cr_assert_not_null(at, "no %s in /metrics:\n%s", name, text);
  return atol(at + strlen(want));
}

/* Server-side sockets of PORT in CLOSE-WAIT: the client closed, the
 * server did not. */
static int
close_wait(void)
{
  const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6" };
  char line[512], want[16];
  int n = 0;

  snprintf(want, sizeof(want), ":%04X ", port);
  for (int i = 0; i < 2; i++) {
    FILE *f = fopen(files[i], "r");
    while (f && fgets(line, sizeof(line), f)) {
      char local[64], state[8];
      if (sscanf(line, "%*s %63s %*s %7s", local, state) == 2
          && strstr(strcat(local, " "), want) && strcmp(state, "08") == 0)
        n++;
    }
    if (f)
      fclose(f);
  }
  return n;
}

/* How many lines of the server's log contain WHAT. */
static int
log_lines(const char *what)
{
  char *text = run_read_file(logfile), *at = text;
  int n = 0;

  while ((at = strstr(at, what)) != NULL) {
    n++;
    at++;
  }
  free(text);
  return n;
}

/* The room the log's open-files line promises: *ROOM in all, *PER_CLIENT
 * from one address. */
static void
promised(long *room, long *per_client)
{
  char *text = run_read_file(logfile);
  const char *line = strstr(text, "open files: soft limit");

  cr_assert_not_null(line, "no open-files line in the log:\n%s", text);
  cr_assert_eq(sscanf(strstr(line, "room for"), "room for %ld client "
                      "connections, at most %ld from one client address",
                      room, per_client), 2, "%.200s", line);
  free(text);
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
  cr_assert_fail("tesserad did not exit within %d ms of SIGTERM",
                 timeout_ms);
  return -1;
}

Test(connections, misbehaving_clients_leave_room_for_a_new_one)
{
  static char body[1 << 16];
  long room, per_client;
  double t;
  int cw = -1, status;

  start_server();
  promised(&room, &per_client);
  cr_assert_lt(room, FD_LIMIT, "room for %ld connections with %d "
               "descriptors", room, FD_LIMIT);
  /* three addresses, each over its share, their slow connections alone
   * more than the room and the descriptors */
  for (int src = 1; src <= 4; src++)
    if (src != 2)
      misbehave(src, (int)per_client + 150, (int)per_client);
  cr_assert_gt(nheld, FD_LIMIT);
  cr_assert_gt(nheld, room);

  t = now_s();
  status = get_from(2, "/health", body, sizeof(body));
  cr_assert_eq(status, 200, "a new client got %d (-1: no answer in 5 s): "
               "%s", status, body);
  cr_log_info("/health answered a new client in %.3f s with %d slow "
              "connections open", now_s() - t, nheld);

  /* the room the log line promised is the one enforced */
  cr_assert_eq(get_from(2, "/metrics", body, sizeof(body)), 200);
  cr_assert_eq(metric(body, "tessera_http_connections_limit"), room);
  cr_assert_eq(metric(body, "tessera_http_connections_per_client_limit"),
               per_client);
  cr_assert_leq(metric(body, "tessera_http_connections"), room);
  cr_assert_gt(metric(body, "tessera_http_connections_refused_total"
                      "{reason=\"client-limit\"}"), 0);
  cr_log_info("held %ld connections (room %ld, %ld per client), refused "
              "%ld", metric(body, "tessera_http_connections"), room,
              per_client, metric(body, "tessera_http_connections_refused_"
                                 "total{reason=\"client-limit\"}"));

  /* the abandoned connections were closed by the server, not left in
   * CLOSE-WAIT for their timeout */
  t = now_s();
  for (int i = 0; i < 100 && (cw = close_wait()) > 0; i++)
    usleep(50000);
  cr_assert_eq(cw, 0, "%d connections in CLOSE-WAIT 5 s after their "
               "clients closed", cw);

  /* thousands refused, a few lines said so */
  cr_assert_leq(log_lines("refuses new connections"), 2, "%s",
                run_read_file(logfile));
  cr_assert_leq(log_lines("closed by remote side"), 2);

  t = now_s();
  kill(server, SIGTERM);
  status = wait_exit(server, 30000);
  server = -1;
  cr_assert_eq(status, 0, "exit status %d after SIGTERM", status);
  cr_log_info("stopped %.3f s after SIGTERM with %d slow connections open",
              now_s() - t, nheld);
}

Test(connections, a_full_server_refuses_at_once_and_recovers)
{
  static char body[1 << 16];
  long room, per_client;
  int status, sources;

  start_server();
  promised(&room, &per_client);
  /* enough addresses, each holding its share, to fill the room */
  sources = (int)((room + per_client - 1) / per_client) + 1;
  for (int src = 3; src < 3 + sources; src++)
    misbehave(src, (int)per_client, 0);
  status = get_from(2, "/health", body, sizeof(body));
  cr_assert_eq(status, 0, "with every connection taken a new client got "
               "%d, not a closed connection (-1: it was left waiting)",
               status);
  cr_assert_leq(log_lines("refuses new connections (one from"), 1);

  /* the slow clients give up: the server serves again at once */
  for (int i = 0; i < nheld; i++)
    close(held[i]);
  nheld = 0;
  status = -2;
  for (int i = 0; i < 100 && status != 200; i++) {
    status = get_from(2, "/health", body, sizeof(body));
    if (status != 200)
      usleep(50000);
  }
  cr_assert_eq(status, 200, "not serving 5 s after the slow clients left");
}

Test(connections, a_silent_connection_is_closed)
{
  char c;
  double t;
  int fd;
  ssize_t n;

  start_server();
  fd = half_request(1);
  cr_assert_geq(fd, 0);
  t = now_s();
  {
    struct timeval tv = { 30, 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  n = recv(fd, &c, 1, 0);
  close(fd);
  cr_assert_eq(n, 0, "a connection silent after half a request was not "
               "closed within 30 s (recv: %zd, %s)", n, strerror(errno));
  cr_log_info("a silent connection was closed after %.1f s", now_s() - t);
}
