/* proxy_bench.c: the load generator and the targets of
 * tests/bench/proxy_bench.sh (Linux), which runs the proxy (tesserad
 * proxy) and HAProxy (mode tcp) side by side in front of the same
 * targets:
 *
 *   proxy_bench serve PORT              three targets on 127.0.0.1, on one
 *                                       epoll thread: PORT a sink (reads
 *                                       and drops), PORT+1 a source
 *                                       (writes without end), PORT+2 an
 *                                       echo; runs until killed
 *   proxy_bench register LICPORT INODIR NAME PORT
 *                                       register 127.0.0.1:PORT with the
 *                                       license server as the model server
 *                                       of NAME on machine "localhost"
 *                                       (what a model server sends)
 *   proxy_bench throughput PORT NAME up|down CONNS SECONDS
 *                                       CONNS connections to 127.0.0.1:PORT
 *                                       (NAME "-": plain, as to HAProxy;
 *                                       else CONNECT NAME:80 first), each
 *                                       on a thread writing (up) or
 *                                       reading (down) 64 KiB at a time;
 *                                       prints MB/s
 *   proxy_bench rate PORT NAME THREADS SECONDS
 *                                       new connections per second: each
 *                                       connects (CONNECT when NAME is
 *                                       not "-"), sends one byte to the
 *                                       echo, reads it back and closes
 *   proxy_bench idle PORT NAME COUNT    COUNT tunnels opened (CONNECT) and
 *                                       held, from 127.0.0.2..9; prints
 *                                       "ready N" and waits until killed
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <apr_general.h>

#include "ts_credential.h"
#include "ts_httpd.h"

#define CHUNK (64 * 1024)

static double
now(void)
{
  struct timeval tv;

  gettimeofday(&tv, NULL);
  return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* A connection to 127.0.0.1:PORT from 127.0.0.FROM (0: any address). */
static int
dial_from(int port, int from)
{
  struct sockaddr_in a = { .sin_family = AF_INET,
                           .sin_port = htons((uint16_t)port) };
  struct sockaddr_in src = { .sin_family = AF_INET };
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  char ip[32];

  if (fd >= 0 && from) {
    snprintf(ip, sizeof(ip), "127.0.0.%d", from);
    inet_pton(AF_INET, ip, &src.sin_addr);
    if (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0) {
      close(fd);
      return -1;
    }
  }
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

static int
dial(int port)
{
  return dial_from(port, 0);
}

/* CONNECT NAME:80 on FD and read the answer's head; 0 on 200. */
static int
tunnel(int fd, const char *name)
{
  char req[256], head[1024];
  size_t len = 0;
  int n = snprintf(req, sizeof(req), "CONNECT %s:80 HTTP/1.1\r\nHost: "
                   "%s\r\n\r\n", name, name);

  if (strcmp(name, "-") == 0)
    return 0;
  if (write(fd, req, (size_t)n) != n)
    return -1;
  while (len < sizeof(head) - 1) {
    ssize_t r = read(fd, head + len, 1);
    if (r <= 0)
      return -1;
    len += (size_t)r;
    if (len >= 4 && !memcmp(head + len - 4, "\r\n\r\n", 4))
      return strncmp(head, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
  }
  return -1;
}

/* ---- serve ----------------------------------------------------------------- */

static void
serve(int port)
{
  static char buf[CHUNK];
  int ep = epoll_create1(0), lfd[3];
  struct epoll_event ev, evs[256];

  memset(buf, 'x', sizeof(buf));
  for (int i = 0; i < 3; i++) {
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((uint16_t)(port + i)) };
    int one = 1;
    lfd[i] = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd[i], SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (bind(lfd[i], (struct sockaddr *)&a, sizeof(a)) != 0
        || listen(lfd[i], 65535) != 0) {
      perror("serve: bind");
      exit(1);
    }
    ev.events = EPOLLIN;
    ev.data.u64 = (uint64_t)i << 32 | (uint32_t)lfd[i];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd[i], &ev);
  }
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int k = 0; k < n; k++) {
      int fd = (int)(uint32_t)evs[k].data.u64;
      int kind = (int)(evs[k].data.u64 >> 32);
      if (fd == lfd[kind & 3] && kind < 3) {
        int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
        if (c < 0)
          continue;
        ev.events = kind == 1 ? EPOLLOUT : EPOLLIN;
        ev.data.u64 = (uint64_t)(kind + 3) << 32 | (uint32_t)c;
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        continue;
      }
      kind -= 3;
      if (kind == 1) {                       /* source */
        if (write(fd, buf, sizeof(buf)) < 0 && errno != EAGAIN)
          close(fd);
        continue;
      }
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r == 0 || (r < 0 && errno != EAGAIN)) {
        close(fd);
        continue;
      }
      if (kind == 2 && r > 0 && write(fd, buf, (size_t)r) != r)
        close(fd);                           /* echo: small messages */
    }
  }
}

/* ---- register ----------------------------------------------------------------- */

static int
register_target(int license_port, const char *inodir, const char *name,
                int port)
{
  apr_pool_t *pool;
  ts_credential_t *cred;
  const char *answer = "";
  char body[512];
  int status = 0;
  ts_error_t *err;

  apr_initialize();
  ts_http_client_init();
  apr_pool_create(&pool, NULL);
  err = ts_credential_load(&cred, ts_credential_path(inodir, pool), pool);
  if (!err) {
    snprintf(body, sizeof(body), "{\"repository\":\"%s\",\"models\":[\"%s\"]"
             ",\"host\":\"localhost\",\"port\":%d,\"pid\":%d,"
             "\"license_server\":\"localhost.%d\"}", name, name, port,
             (int)getpid(), license_port);
    err = ts_http_call(&status, &answer, "127.0.0.1", license_port, "POST",
                       "/v1/model-servers", body,
                       ts_credential_header(cred, pool),
                       apr_time_from_sec(5), pool);
  }
  if (err || status != 201) {
    fprintf(stderr, "register %s: %s\n", name,
            err ? ts_error_text(err, pool) : answer);
    return 1;
  }
  return 0;
}

/* ---- throughput ---------------------------------------------------------------- */

typedef struct job_t {
  int port, up;
  const char *name;
  double until;
  long long bytes;
  int fd;
} job_t;

static void *
stream(void *data)
{
  job_t *j = data;
  static char buf[CHUNK];

  while (now() < j->until) {
    ssize_t r = j->up ? write(j->fd, buf, sizeof(buf))
                      : read(j->fd, buf, sizeof(buf));
    if (r <= 0)
      break;
    j->bytes += r;
  }
  return NULL;
}

static int
throughput(int port, const char *name, int up, int conns, double secs)
{
  pthread_t t[256];
  job_t j[256];
  long long total = 0;
  double began;

  if (conns > 256)
    conns = 256;
  for (int i = 0; i < conns; i++) {
    j[i] = (job_t){ port, up, name, 0, 0, dial(port) };
    if (j[i].fd < 0 || tunnel(j[i].fd, name) != 0) {
      fprintf(stderr, "throughput: connection %d through port %d failed\n",
              i, port);
      return 1;
    }
  }
  began = now();
  for (int i = 0; i < conns; i++) {
    j[i].until = began + secs;
    pthread_create(&t[i], NULL, stream, &j[i]);
  }
  for (int i = 0; i < conns; i++) {
    pthread_join(t[i], NULL);
    total += j[i].bytes;
    close(j[i].fd);
  }
  printf("%.0f\n", (double)total / (now() - began) / 1e6);
  return 0;
}

/* ---- rate -------------------------------------------------------------------------- */

static void *
connections(void *data)
{
  job_t *j = data;
  char c;

  while (now() < j->until) {
    int fd = dial(j->port);
    if (fd < 0)
      continue;
    if (tunnel(fd, j->name) == 0 && write(fd, "x", 1) == 1
        && read(fd, &c, 1) == 1)
      j->bytes++;
    close(fd);
  }
  return NULL;
}

static int
rate(int port, const char *name, int threads, double secs)
{
  pthread_t t[64];
  job_t j[64];
  long long total = 0;
  double began = now();

  if (threads > 64)
    threads = 64;
  for (int i = 0; i < threads; i++) {
    j[i] = (job_t){ port, 0, name, began + secs, 0, -1 };
    pthread_create(&t[i], NULL, connections, &j[i]);
  }
  for (int i = 0; i < threads; i++) {
    pthread_join(t[i], NULL);
    total += j[i].bytes;
  }
  printf("%.0f\n", (double)total / (now() - began));
  return 0;
}

/* ---- idle ---------------------------------------------------------------------------- */

static int
idle(int port, const char *name, int count)
{
  int opened = 0;

  for (int i = 0; i < count; i++) {
    /* from 8 addresses: one client address may hold a quarter of the
     * proxy's connections */
    int fd = dial_from(port, 2 + i % 8);
    if (fd < 0 || tunnel(fd, name) != 0) {
      fprintf(stderr, "idle: tunnel %d failed: %s\n", i, strerror(errno));
      break;
    }
    opened++;
  }
  printf("ready %d\n", opened);
  fflush(stdout);
  pause();
  return 0;
}

int
main(int argc, char **argv)
{
  signal(SIGPIPE, SIG_IGN);
  if (argc == 3 && !strcmp(argv[1], "serve"))
    serve(atoi(argv[2]));
  else if (argc == 6 && !strcmp(argv[1], "register"))
    return register_target(atoi(argv[2]), argv[3], argv[4], atoi(argv[5]));
  else if (argc == 7 && !strcmp(argv[1], "throughput"))
    return throughput(atoi(argv[2]), argv[3], !strcmp(argv[4], "up"),
                      atoi(argv[5]), atof(argv[6]));
  else if (argc == 6 && !strcmp(argv[1], "rate"))
    return rate(atoi(argv[2]), argv[3], atoi(argv[4]), atof(argv[5]));
  else if (argc == 5 && !strcmp(argv[1], "idle"))
    return idle(atoi(argv[2]), argv[3], atoi(argv[4]));
  fprintf(stderr, "usage: see tests/bench/proxy_bench.c\n");
  return 64;
}
