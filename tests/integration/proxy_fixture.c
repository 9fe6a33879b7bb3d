/* proxy_fixture.c: see proxy_fixture.h. */
#include "proxy_fixture.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <apr_strings.h>

#include "run.h"

pid_t proxy = -1;
int proxy_port;
const char *proxy_lic;

static const char *envs[16];

void
pf_setup(const char *name, const char *license_config,
         const char *proxy_config)
{
  lf_options_t o = { .name = name, .asan = "detect_leaks=0",
                     .config = license_config, .stop_signal = SIGTERM };

  signal(SIGPIPE, SIG_IGN);
  lf_setup_with(&o);
  start_server();
  proxy_port = port + 5;
  proxy_lic = in_root("plic");
  cr_assert_eq(mkdir(proxy_lic, 0711), 0);
  run_write_file(apr_pstrcat(tp, proxy_lic, "/tessera.xml", NULL),
                 proxy_config ? proxy_config
                 : "<tessera xmlns=\"urn:tessera:config:1\">"
                   "<listen address=\"127.0.0.1\"/>"
                   "<machine name=\"localhost\"/>"
                   "<model-servers heartbeat-seconds=\"1\"/>"
                   "</tessera>\n");
}

void
pf_teardown(void)
{
  lf_kill(&proxy, SIGTERM);
  lf_teardown();
}

const char *const *
pf_env(const char *prj)
{
  const char *const *base = env();
  int n = 0;

  for (; base[n]; n++)
    envs[n] = strncmp(base[n], "INOLIC=", 7) == 0
              ? apr_pstrcat(tp, "INOLIC=", proxy_lic, NULL) : base[n];
  if (prj)
    envs[n++] = apr_pstrcat(tp, "INOPRJ=", prj, NULL);
  envs[n] = NULL;
  return envs;
}

void
pf_start_proxy(const char *const *env_, int fds)
{
  const char *direct[] = { TESSERAD, "proxy", NULL };
  const char *limited[] = { "/bin/sh", "-c", apr_psprintf(tp, "ulimit -n "
                            "%d && exec %s proxy", fds, TESSERAD), NULL };
  char *err = NULL;

  cr_assert_eq(lf_start(&proxy, fds > 0 ? limited : direct,
                        env_ ? env_ : pf_env(NULL),
                        in_root("proxy.err"), proxy_port, 500, &err), 0,
               "the proxy did not serve: %s", err);
  free(err);
}

/* A connection to the proxy from SOURCE (NULL: any address). */
static int
dial(const char *source, int port_)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = { .sin_family = AF_INET };

  cr_assert_geq(fd, 0);
  if (source) {
    inet_pton(AF_INET, source, &a.sin_addr);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0,
                 "bind %s: %s", source, strerror(errno));
  }
  a.sin_port = htons((uint16_t)port_);
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  cr_assert_eq(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0,
               "connect to port %d: %s", port_, strerror(errno));
  return fd;
}

/* Read an answer's head and its Content-Length body from FD; the status. */
static int
read_answer(int fd, char *body, size_t size)
{
  char buf[16384];
  size_t len = 0;
  char *end = NULL, *cl;
  long want = 0;
  int status = -1;

  while (!end && len < sizeof(buf) - 1) {
    ssize_t n = read(fd, buf + len, 1);   /* not past the head */
    if (n <= 0)
      return -1;
    len += (size_t)n;
    buf[len] = 0;
    end = strstr(buf, "\r\n\r\n");
  }
  if (!end || sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
    return -1;
  cl = strcasestr(buf, "Content-Length:");
  if (cl && cl < end)
    want = atol(cl + 15);
  len = 0;
  while ((long)len < want && len < sizeof(buf) - 1) {
    ssize_t n = read(fd, buf + len, (size_t)want - len);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  buf[len] = 0;
  if (body)
    snprintf(body, size, "%s", buf);
  return status;
}

int
pf_connect(const char *source, const char *target, int *fd, char *body,
           size_t size)
{
  int s = dial(source, proxy_port), status;
  char *req = apr_psprintf(tp, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n",
                           target, target);
  struct timeval tv = { 10, 0 };

  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  if (send(s, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req)) {
    close(s);
    return -1;
  }
  status = read_answer(s, body, size);
  if (fd && status == 200)
    *fd = s;
  else
    close(s);
  return status;
}

/* ---- the test's servers -------------------------------------------------- */

typedef struct conn_t {
  pf_server_t *s;
  int fd;
} conn_t;

static void
echo(int fd)
{
  char buf[65536];
  ssize_t n;

  while ((n = read(fd, buf, sizeof(buf))) > 0)
    for (ssize_t off = 0; off < n;) {
      ssize_t w = send(fd, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
      if (w <= 0)
        return;
      off += w;
    }
  shutdown(fd, SHUT_WR);
}

static void
source(pf_server_t *s, int fd)
{
  static char buf[65536];
  struct timeval tv = { 1, 0 };

  memset(buf, 'x', sizeof(buf));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  while (s->sent < s->bytes) {
    ssize_t w = send(fd, buf, sizeof(buf), MSG_NOSIGNAL);
    if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      s->blocked = 1;
      return;
    }
    if (w <= 0)
      return;
    __atomic_add_fetch(&s->sent, w, __ATOMIC_RELAXED);
  }
}

static void *
serve(void *data)
{
  conn_t *c = data;

  if (c->s->source)
    source(c->s, c->fd);
  else
    echo(c->fd);
  close(c->fd);
  free(c);
  return NULL;
}

static void *
accepting(void *data)
{
  pf_server_t *s = data;
  pthread_attr_t attr;

  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    int fd = accept(s->fd, NULL, NULL);
    conn_t *c;
    pthread_t t;
    if (fd < 0)
      break;
    c = malloc(sizeof(*c));
    c->s = s;
    c->fd = fd;
    __atomic_add_fetch(&s->connections, 1, __ATOMIC_RELAXED);
    if (pthread_create(&t, &attr, serve, c) != 0) {
      close(fd);
      free(c);
    }
  }
  pthread_attr_destroy(&attr);
  return NULL;
}

void
pf_server_start(pf_server_t *s, int is_source, long long bytes)
{
  struct sockaddr_in a = { .sin_family = AF_INET };
  socklen_t alen = sizeof(a);
  pthread_t t;
  int one = 1;

  memset(s, 0, sizeof(*s));
  s->source = is_source;
  s->bytes = bytes;
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  cr_assert_eq(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
  cr_assert_eq(listen(s->fd, 4096), 0);
  getsockname(s->fd, (struct sockaddr *)&a, &alen);
  s->port = ntohs(a.sin_port);
  cr_assert_eq(pthread_create(&t, NULL, accepting, s), 0);
  pthread_detach(t);
}

void
pf_server_stop(pf_server_t *s)
{
  shutdown(s->fd, SHUT_RDWR);
  close(s->fd);
}

void
pf_register(const pf_server_t *s, const char *name, const char *host)
{
  char body[4096];
  int status = run_http(port, "POST", "/v1/model-servers", apr_psprintf(tp,
    "{\"repository\":\"%s\",\"models\":[\"%s\"],\"host\":\"%s\","
    "\"port\":%d,\"pid\":%d,\"license_server\":\"localhost.%d\"}", name,
    name, host, s->port, (int)getpid(), port), server_header(), body,
    sizeof(body));

  cr_assert_eq(status, 201, "registering %s: %d %s", name, status, body);
}

int
pf_metric_wait(const char *line, int seconds, char *body, size_t size)
{
  static char text[65536];
  apr_time_t until = apr_time_now() + apr_time_from_sec(seconds);

  do {
    if (run_http(proxy_port, "GET", "/metrics", NULL, NULL, text,
                 sizeof(text)) == 200 && strstr(text, line)) {
      if (body)
        snprintf(body, size, "%s", text);
      return 1;
    }
    usleep(50000);
  } while (apr_time_now() < until);
  if (body)
    snprintf(body, size, "%s", text);
  return 0;
}

long
pf_rss_kib(void)
{
  char *status = run_read_file(apr_psprintf(tp, "/proc/%d/status",
                                            (int)proxy));
  char *rss = strstr(status, "VmRSS:");
  long kib = rss ? atol(rss + 6) : -1;

  free(status);
  return kib;
}
