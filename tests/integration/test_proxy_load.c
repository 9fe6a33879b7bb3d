/* test_proxy_load.c: the proxy (`tesserad proxy`) under load, against
 * servers of the test registered with the real license server as model
 * servers (proxy_fixture.h): a thousand concurrent tunnels carry data
 * both ways intact, each ended by a half-close; a client that stops
 * reading does not grow the proxy's memory (backpressure); tunnels beyond
 * the descriptor budget are refused with 503; an idle tunnel is closed;
 * and the proxy connects to nothing but the model servers of its machine
 * (no open relay). */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <apr_strings.h>

#include "proxy_fixture.h"
#include "run.h"

static const char license_config[] =
  "<tessera xmlns=\"urn:tessera:config:1\">\n"
  "  <listen address=\"127.0.0.1\"/>\n"
  "  <license-server>\n"
  "    <model-servers probe-seconds=\"1\" gone-after-seconds=\"120\"/>\n"
  "  </license-server>\n"
  "  <model-servers heartbeat-seconds=\"1\"/>\n"
  "</tessera>\n";

static void
setup(void)
{
  struct rlimit rl;

  /* a thousand tunnels: their clients and the echo's ends are ours */
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  cr_assert_geq(rl.rlim_cur, 2200, "the open-files limit %ld is too low "
                "for a thousand tunnels (ulimit -Hn)", (long)rl.rlim_cur);
  pf_setup("proxyload", license_config, NULL);
}

TestSuite(proxy_load, .init = setup, .fini = pf_teardown, .timeout = 180);

#define TUNNELS 1000
#define PAYLOAD (64 * 1024)

typedef struct client_t {
  int fd;
  int phase;            /* 0 connecting, 1 head sent, 2 tunnel, 3 done */
  char head[512];
  size_t head_len, sent, got;
  unsigned char *out;
  unsigned long long sum_out, sum_in;
} client_t;

static unsigned long long
fnv(unsigned long long h, const unsigned char *p, size_t n)
{
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 1099511628211ULL;
  return h;
}

static void
client_open(client_t *c, int i)
{
  struct sockaddr_in a = { .sin_family = AF_INET,
                           .sin_port = htons((uint16_t)proxy_port) };
  unsigned int seed = (unsigned int)i * 2654435761u + 1;

  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  c->out = malloc(PAYLOAD);
  for (size_t k = 0; k < PAYLOAD; k++)
    c->out[k] = (unsigned char)(rand_r(&seed) >> 7);
  c->sum_out = fnv(14695981039346656037ULL, c->out, PAYLOAD);
  c->sum_in = 14695981039346656037ULL;
  c->fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(c->fd, 0, "socket: %s", strerror(errno));
  fcntl(c->fd, F_SETFL, O_NONBLOCK);
  cr_assert(connect(c->fd, (struct sockaddr *)&a, sizeof(a)) == 0
            || errno == EINPROGRESS, "connect: %s", strerror(errno));
}

/* One step of C as POLL says; 0 while it is not done. */
static int
client_step(client_t *c, short revents, int i)
{
  ssize_t n;
  unsigned char buf[65536];

  if (c->phase == 0 && (revents & (POLLOUT | POLLERR | POLLHUP))) {
    const char *req = "CONNECT echo:80 HTTP/1.1\r\nHost: echo\r\n\r\n";
    cr_assert_eq(send(c->fd, req, strlen(req), MSG_NOSIGNAL),
                 (ssize_t)strlen(req),
                 "tunnel %d: %s", i, strerror(errno));
    c->phase = 1;
    return 0;
  }
  if (c->phase == 1 && (revents & POLLIN)) {
    n = read(c->fd, c->head + c->head_len, 1);
    cr_assert_gt(n, 0, "tunnel %d: no answer to CONNECT", i);
    c->head_len += (size_t)n;
    if (c->head_len >= 4 && !memcmp(c->head + c->head_len - 4, "\r\n\r\n",
                                     4)) {
      cr_assert(!strncmp(c->head, "HTTP/1.1 200 ", 13), "tunnel %d: %.*s", i,
                (int)c->head_len, c->head);
      c->phase = 2;
    }
    return 0;
  }
  if (c->phase != 2)
    return 0;
  if ((revents & POLLOUT) && c->sent < PAYLOAD) {
    n = send(c->fd, c->out + c->sent, PAYLOAD - c->sent, MSG_NOSIGNAL);
    if (n > 0 && (c->sent += (size_t)n) == PAYLOAD)
      shutdown(c->fd, SHUT_WR);          /* the half-close */
  }
  if (revents & (POLLIN | POLLHUP)) {
    n = read(c->fd, buf, sizeof(buf));
    if (n > 0) {
      c->sum_in = fnv(c->sum_in, buf, (size_t)n);
      c->got += (size_t)n;
    }
    else if (n == 0) {
      cr_assert_eq(c->got, PAYLOAD, "tunnel %d: %zu of %d bytes came back",
                   i, c->got, PAYLOAD);
      cr_assert_eq(c->sum_in, c->sum_out, "tunnel %d: the bytes differ", i);
      close(c->fd);
      c->phase = 3;
      return 1;
    }
    else
      cr_assert(errno == EAGAIN, "tunnel %d: %s", i, strerror(errno));
  }
  return 0;
}

Test(proxy_load, a_thousand_tunnels_carry_data_both_ways_intact)
{
  static client_t c[TUNNELS];
  static struct pollfd pfd[TUNNELS];
  static pf_server_t echo;          /* its threads outlive the test */
  int done = 0;
  apr_time_t until;
  char metrics[65536];

  pf_server_start(&echo, 0, 0);
  pf_register(&echo, "echo", "localhost");
  pf_start_proxy(NULL, 0);
  for (int i = 0; i < TUNNELS; i++)
    client_open(&c[i], i);
  until = apr_time_now() + apr_time_from_sec(120);
  while (done < TUNNELS) {
    cr_assert_lt(apr_time_now(), until, "%d of %d tunnels done", done,
                 TUNNELS);
    for (int i = 0; i < TUNNELS; i++) {
      pfd[i].fd = c[i].phase == 3 ? -1 : c[i].fd;
      pfd[i].events = (short)(c[i].phase == 0 ? POLLOUT
        : c[i].phase == 2 && c[i].sent < PAYLOAD ? POLLIN | POLLOUT
        : POLLIN);
    }
    cr_assert_geq(poll(pfd, TUNNELS, 1000), 0);
    for (int i = 0; i < TUNNELS; i++)
      if (pfd[i].fd >= 0 && pfd[i].revents)
        done += client_step(&c[i], pfd[i].revents, i);
  }
  /* (the license server's probes of the echo come on top) */
  cr_assert_geq(echo.connections, TUNNELS);
  cr_assert(pf_metric_wait("tessera_proxy_tunnels_total 1000", 5, metrics,
                           sizeof(metrics)), "%s", metrics);
  cr_assert(pf_metric_wait("tessera_proxy_tunnels_open 0", 10, metrics,
                           sizeof(metrics)), "%s", metrics);
  cr_assert(strstr(metrics, "tessera_proxy_bytes_total{direction=\"up\"} "
                   "65536000"), "%s", metrics);
  cr_assert(strstr(metrics, "tessera_proxy_bytes_total{direction=\"down\"} "
                   "65536000"), "%s", metrics);
  for (int i = 0; i < TUNNELS; i++)
    free(c[i].out);
}

Test(proxy_load, a_client_that_stops_reading_holds_the_proxys_memory_bounded)
{
  static pf_server_t src;           /* its threads outlive the test */
  long before, after;
  int fd = -1;
  char buf[65536];
  size_t got = 0;
  apr_time_t until;

  pf_server_start(&src, 1, 200LL * 1024 * 1024);
  pf_register(&src, "source", "localhost");
  pf_start_proxy(NULL, 0);
  before = pf_rss_kib();
  cr_assert_eq(pf_connect(NULL, "source:80", &fd, NULL, 0), 200);
  /* read a little, then nothing: the source must come to a halt */
  while (got < 1024 * 1024) {
    ssize_t n = read(fd, buf, sizeof(buf));
    cr_assert_gt(n, 0);
    got += (size_t)n;
  }
  until = apr_time_now() + apr_time_from_sec(60);
  while (!src.blocked && src.sent < src.bytes && apr_time_now() < until)
    usleep(50000);
  after = pf_rss_kib();
  cr_assert(src.blocked, "the source wrote %lld of %lld bytes without being "
            "held back", src.sent, src.bytes);
  cr_assert_lt(src.sent, 32LL * 1024 * 1024, "%lld bytes left the source",
               src.sent);
  cr_assert_lt(after - before, 16 * 1024, "the proxy's RSS grew from %ld to "
               "%ld KiB while the client did not read", before, after);
  close(fd);
}

Test(proxy_load, tunnels_beyond_the_descriptor_budget_are_refused_with_503)
{
  static pf_server_t echo;          /* its threads outlive the test */
  int fds[40], n = 0, status = 0;
  char body[4096], metrics[65536];

  pf_server_start(&echo, 0, 0);
  pf_register(&echo, "echo", "localhost");
  /* 200 descriptors: 72 for connections (the rest reserved), so 36
   * tunnels; from four addresses, since one address may hold a quarter */
  pf_start_proxy(NULL, 200);
  for (; n < 40; n++) {
    const char *from = apr_psprintf(tp, "127.0.0.%d", 2 + n % 4);
    status = pf_connect(from, "echo:80", &fds[n], body, sizeof(body));
    if (status != 200)
      break;
  }
  cr_assert_eq(n, 36, "%d tunnels before %d: %s", n, status, body);
  cr_assert_eq(status, 503, "%s", body);
  cr_assert(strstr(body, "the proxy holds as many connections as its "
                   "open-files limit allows (72 descriptors for "
                   "connections; a tunnel takes two)"), "%s", body);
  cr_assert(pf_metric_wait("tessera_proxy_refusals_total{reason=\"limit\"} 1",
                           5, metrics, sizeof(metrics)), "%s", metrics);
  /* one closed: room for one again */
  close(fds[0]);
  cr_assert(pf_metric_wait("tessera_proxy_tunnels_open 35", 5, metrics,
                           sizeof(metrics)), "%s", metrics);
  cr_assert_eq(pf_connect("127.0.0.9", "echo:80", &fds[0], body,
                          sizeof(body)), 200, "%s", body);
  for (int i = 0; i < n; i++)
    close(fds[i]);
}

Test(proxy_load, the_proxy_connects_to_nothing_but_its_machines_model_servers)
{
  static pf_server_t echo, unknown;   /* their threads outlive it */
  char body[4096], metrics[65536];

  pf_server_start(&echo, 0, 0);
  pf_register(&echo, "echo", "localhost");
  pf_server_start(&unknown, 0, 0);           /* never registered */
  pf_start_proxy(NULL, 0);
  /* hosts and ports a client names are never connected to */
  cr_assert_eq(pf_connect(NULL, "127.0.0.1:22", NULL, body, sizeof(body)),
               404, "%s", body);
  cr_assert(strstr(body, "no model server of this machine (localhost) "
                   "offers a model, link or repository named '127.0.0.1'"),
            "%s", body);
  cr_assert_eq(pf_connect(NULL, apr_psprintf(tp, "127.0.0.1:%d",
                                             unknown.port), NULL, body,
                          sizeof(body)), 404, "%s", body);
  cr_assert_eq(pf_connect(NULL, apr_psprintf(tp, "localhost:%d",
                                             unknown.port), NULL, body,
                          sizeof(body)), 404, "%s", body);
  cr_assert_eq(unknown.connections, 0, "a port a client named was "
               "connected to");
  /* not a name at all */
  cr_assert_eq(pf_connect(NULL, "[::1]:22", NULL, body, sizeof(body)), 400,
               "%s", body);
  cr_assert_eq(pf_connect(NULL, "echo", NULL, body, sizeof(body)), 400,
               "%s", body);
  cr_assert(strstr(body, "CONNECT NAME:PORT"), "%s", body);
  cr_assert(pf_metric_wait("tessera_proxy_refusals_total{reason=\"unknown\"} "
                           "3", 5, metrics, sizeof(metrics)), "%s", metrics);
  cr_assert(strstr(metrics, "tessera_proxy_refusals_total{reason=\"bad-"
                   "request\"} 2"), "%s", metrics);
  /* and the name of a model server of the machine is, on any port */
  cr_assert_eq(pf_connect(NULL, "echo:443", NULL, body, sizeof(body)), 200);
  pf_server_stop(&unknown);
}

Test(proxy_load, a_tunnel_through_which_nothing_passes_is_closed)
{
  static pf_server_t echo;          /* its threads outlive the test */
  int fd = -1;
  char buf[16], metrics[65536];
  struct pollfd pfd;

  run_write_file(apr_pstrcat(tp, proxy_lic, "/tessera.xml", NULL),
                 "<tessera xmlns=\"urn:tessera:config:1\">"
                 "<listen address=\"127.0.0.1\"/>"
                 "<machine name=\"localhost\"/>"
                 "<model-servers heartbeat-seconds=\"1\"/>"
                 "<proxy idle-seconds=\"1\"/>"
                 "</tessera>\n");
  pf_server_start(&echo, 0, 0);
  pf_register(&echo, "echo", "localhost");
  pf_start_proxy(NULL, 0);
  cr_assert_eq(pf_connect(NULL, "echo:80", &fd, NULL, 0), 200);
  /* bytes keep it open; silence closes it */
  cr_assert_eq(send(fd, "ping", 4, MSG_NOSIGNAL), 4);
  cr_assert_eq(read(fd, buf, 4), 4);
  pfd.fd = fd;
  pfd.events = POLLIN;
  cr_assert_eq(poll(&pfd, 1, 10000), 1, "the idle tunnel stayed open");
  cr_assert_eq(read(fd, buf, sizeof(buf)), 0, "no end of the stream");
  cr_assert(pf_metric_wait("tessera_proxy_idle_closed_total 1", 5, metrics,
                           sizeof(metrics)), "%s", metrics);
  close(fd);
}

Test(proxy_load, an_idle_tunnel_holds_a_few_kib_of_the_proxys_memory)
{
  static pf_server_t echo;        /* its threads outlive the test */
  static int fds[2000];
  long before, after;

  pf_server_start(&echo, 0, 0);
  pf_register(&echo, "echo", "localhost");
  pf_start_proxy(NULL, 0);
  /* a first tunnel: what every tunnel shares is made */
  cr_assert_eq(pf_connect(NULL, "echo:80", &fds[0], NULL, 0), 200);
  before = pf_rss_kib();
  for (int i = 1; i < 2000; i++)
    cr_assert_eq(pf_connect(NULL, "echo:80", &fds[i], NULL, 0), 200,
                 "tunnel %d", i);
  after = pf_rss_kib();
  /* 10,000 tunnels in under 64 MB (the benchmark): a few KiB each, not
   * a pool and a read buffer of 8 KiB each held for the tunnel's life */
  cr_assert_lt((after - before) * 1024 / 1999, 6 * 1024, "the proxy's RSS "
               "grew from %ld to %ld KiB for 1999 idle tunnels", before,
               after);
  for (int i = 0; i < 2000; i++)
    close(fds[i]);
}
