/* notify_bench.c: the clients of tests/bench/notify_bench.sh (prints
 * figures, asserts nothing).
 *
 *   notify_bench sse  PORT    N ROUNDS BUS_PORT CREDENTIAL
 *   notify_bench mqtt BUS_PORT N ROUNDS BUS_PORT CREDENTIAL
 *
 * Opens N subscribers in one thread (epoll, raw sockets; from the
 * addresses 127.0.0.2..5 in turn, so no one client address holds more
 * than a quarter of them): `sse` to GET /v1/events?topic=bench/x on the
 * notification service, `mqtt` as MQTT 3.1.1 clients of the bus itself
 * subscribed to tessera/v1/bench/x (QoS 0, as anonymous readers). Then it
 * publishes ROUNDS + 1 messages on tessera/v1/bench/x as Tessera's
 * servers do (libmosquitto, the server credential), one after the other
 * once every subscriber got the one before, each carrying the time it
 * was published; the first warms up. The latency of a message at a
 * subscriber is its arrival there minus its publication (one clock, one
 * process). Prints one line:
 *
 *   subscribers=10000 rounds=20 samples=200000 missing=0 p50_ms=...
 *   p99_ms=... max_ms=...   (one line)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <apr_general.h>
#include <mosquitto.h>

#include "ts_bus.h"
#include "ts_credential.h"

#define TOPIC "bench/x"
#define BATCH 256

typedef struct sub_t {
  int fd;
  int ready;                  /* its answer head / SUBACK arrived */
  size_t seen;                /* bytes before ready */
  char carry[128];            /* an incomplete message's start */
  size_t ncarry;
} sub_t;

static int mqtt;
static sub_t *subs;
static int nsubs, rounds;
static long *got;             /* per round */
static double *lat;
static long nlat;
static int epfd;

static double
now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void
die(const char *what)
{
  fprintf(stderr, "notify_bench: %s: %s\n", what, strerror(errno));
  exit(1);
}

/* The request a subscriber sends once connected, into BUF; its length. */
static size_t
request(char *buf, int i, int port)
{
  if (!mqtt)
    return (size_t)snprintf(buf, 512, "GET /v1/events?topic=" TOPIC
                            " HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", port);
  {
    /* CONNECT (clean session, keep-alive 600 s) and SUBSCRIBE, QoS 0 */
    char id[32];
    const char *filter = TS_BUS_TOPIC_PREFIX TOPIC;
    size_t idlen = (size_t)snprintf(id, sizeof(id), "bench%d", i);
    size_t flen = strlen(filter), n = 0;
    buf[n++] = 0x10;
    buf[n++] = (char)(10 + 2 + idlen);
    memcpy(buf + n, "\0\4MQTT\4\2\2\x58", 10);
    n += 10;
    buf[n++] = 0;
    buf[n++] = (char)idlen;
    memcpy(buf + n, id, idlen);
    n += idlen;
    buf[n++] = (char)0x82;
    buf[n++] = (char)(2 + 2 + flen + 1);
    buf[n++] = 0;
    buf[n++] = 1;
    buf[n++] = 0;
    buf[n++] = (char)flen;
    memcpy(buf + n, filter, flen);
    n += flen;
    buf[n++] = 0;
    return n;
  }
}

/* Messages {"t":<ms>,"s":<round>} in DATA (after S's carry). */
static void
scan(sub_t *s, const char *data, size_t len, double at)
{
  char buf[65536 + 128];
  const char *p, *end, *open;

  memcpy(buf, s->carry, s->ncarry);
  memcpy(buf + s->ncarry, data, len);
  end = buf + s->ncarry + len;
  p = buf;
  s->ncarry = 0;
  while ((open = memmem(p, (size_t)(end - p), "{\"t\":", 5)) != NULL) {
    const char *close = memchr(open, '}', (size_t)(end - open));
    double t;
    int r;
    if (!close) {
      s->ncarry = (size_t)(end - open) < sizeof(s->carry)
                  ? (size_t)(end - open) : 0;
      memcpy(s->carry, open, s->ncarry);
      return;
    }
    if (sscanf(open, "{\"t\":%lf,\"s\":%d}", &t, &r) == 2 && r >= 0
        && r <= rounds) {
      got[r]++;
      if (r > 0)
        lat[nlat++] = at - t;
    }
    p = close + 1;
  }
}

static void
readable(sub_t *s)
{
  char data[65536];
  ssize_t n = read(s->fd, data, sizeof(data));
  double at = now_ms();

  if (n <= 0) {
    fprintf(stderr, "notify_bench: subscriber %d closed: %s\n",
            (int)(s - subs), n < 0 ? strerror(errno) : "end of stream");
    exit(1);
  }
  if (!s->ready) {
    s->seen += (size_t)n;
    if (mqtt ? s->seen >= 9 : memmem(data, (size_t)n, "\r\n\r\n", 4) != NULL)
      s->ready = 1;
    if (!mqtt && s->seen == (size_t)n
        && strncmp(data, "HTTP/1.1 200", 12) != 0) {
      fprintf(stderr, "notify_bench: refused: %.*s\n", (int)n, data);
      exit(1);
    }
    return;
  }
  scan(s, data, (size_t)n, at);
}

/* Run the loop until DONE() or MS passed; whether DONE(). */
static int
loop(int (*done)(void *), void *baton, double ms)
{
  struct epoll_event ev[512];
  double end = now_ms() + ms;

  while (!done(baton)) {
    int n = epoll_wait(epfd, ev, 512, 50);
    if (n < 0 && errno != EINTR)
      die("epoll_wait");
    for (int i = 0; i < n; i++)
      readable(&subs[ev[i].data.u32]);
    if (now_ms() > end)
      return done(baton);
  }
  return 1;
}

static int
batch_ready(void *baton)
{
  int *range = baton;

  for (int i = range[0]; i < range[1]; i++)
    if (!subs[i].ready)
      return 0;
  return 1;
}

static void
open_subs(int port)
{
  char req[512];

  for (int b = 0; b < nsubs; b += BATCH) {
    int range[2] = { b, b + BATCH < nsubs ? b + BATCH : nsubs };
    for (int i = range[0]; i < range[1]; i++) {
      struct sockaddr_in from = { .sin_family = AF_INET };
      struct sockaddr_in to = { .sin_family = AF_INET,
                                .sin_port = htons((unsigned short)port) };
      struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (unsigned)i };
      size_t n;
      subs[i].fd = socket(AF_INET, SOCK_STREAM, 0);
      if (subs[i].fd < 0)
        die("socket (raise ulimit -n)");
      from.sin_addr.s_addr = htonl(0x7f000002u + (unsigned)(i % 4));
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (bind(subs[i].fd, (struct sockaddr *)&from, sizeof(from)) < 0)
        die("bind 127.0.0.2..5");
      if (connect(subs[i].fd, (struct sockaddr *)&to, sizeof(to)) < 0)
        die("connect");
      n = request(req, i, port);
      if (write(subs[i].fd, req, n) != (ssize_t)n)
        die("write");
      if (epoll_ctl(epfd, EPOLL_CTL_ADD, subs[i].fd, &ev) < 0)
        die("epoll_ctl");
    }
    if (!loop(batch_ready, range, 20000)) {
      fprintf(stderr, "notify_bench: subscribers %d..%d not ready in 20 s\n",
              range[0], range[1] - 1);
      exit(1);
    }
  }
}

static int
round_done(void *baton)
{
  return got[*(int *)baton] >= nsubs;
}

static int
cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

/* The publisher: Tessera's servers' login to the bus on BUS_PORT. */
static struct mosquitto *
publisher(int bus_port, const char *credential, apr_pool_t *pool)
{
  ts_credential_t *cred;
  ts_bus_login_t login = { TS_BUS_SERVER_USER, NULL };
  ts_error_t *err = ts_credential_load(&cred, credential, pool);
  struct mosquitto *m;

  if (err) {
    fprintf(stderr, "notify_bench: %s\n", ts_error_text(err, pool));
    exit(1);
  }
  login.password = ts_credential_derive(cred, "bus", pool);
  mosquitto_lib_init();
  m = mosquitto_new(ts_bus_client_id("tessera-bench-pub", &login, pool),
                    true, NULL);
  mosquitto_username_pw_set(m, login.username, login.password);
  if (mosquitto_connect(m, "127.0.0.1", bus_port, 60) != MOSQ_ERR_SUCCESS
      || mosquitto_loop_start(m) != MOSQ_ERR_SUCCESS) {
    fprintf(stderr, "notify_bench: cannot connect to the bus on %d\n",
            bus_port);
    exit(1);
  }
  return m;
}

int
main(int argc, char **argv)
{
  apr_pool_t *pool;
  struct mosquitto *pub;
  struct rlimit rl;
  long missing = 0;
  int port;

  if (argc != 7 || (strcmp(argv[1], "sse") && strcmp(argv[1], "mqtt"))) {
    fprintf(stderr, "usage: notify_bench sse|mqtt PORT N ROUNDS BUS_PORT "
            "CREDENTIAL\n");
    return 64;
  }
  mqtt = strcmp(argv[1], "mqtt") == 0;
  port = atoi(argv[2]);
  nsubs = atoi(argv[3]);
  rounds = atoi(argv[4]);
  apr_initialize();
  apr_pool_create(&pool, NULL);
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  subs = calloc((size_t)nsubs, sizeof(*subs));
  got = calloc((size_t)rounds + 1, sizeof(*got));
  lat = calloc((size_t)nsubs * (size_t)rounds, sizeof(*lat));
  epfd = epoll_create1(0);
  /* first: libmosquitto's loop uses select(), which takes descriptors
   * below FD_SETSIZE only */
  pub = publisher(atoi(argv[5]), argv[6], pool);
  open_subs(port);
  for (int r = 0; r <= rounds; r++) {
    char payload[64];
    int len = snprintf(payload, sizeof(payload), "{\"t\":%.3f,\"s\":%d}",
                       now_ms(), r);
    mosquitto_publish(pub, NULL, TS_BUS_TOPIC_PREFIX TOPIC, len, payload, 0,
                      false);
    loop(round_done, &r, 10000);
    missing += nsubs - got[r];
  }
  qsort(lat, (size_t)nlat, sizeof(*lat), cmp);
  printf("subscribers=%d rounds=%d samples=%ld missing=%ld p50_ms=%.2f "
         "p99_ms=%.2f max_ms=%.2f\n", nsubs, rounds, nlat, missing,
         nlat ? lat[nlat / 2] : 0, nlat ? lat[(long)(nlat * 0.99)] : 0,
         nlat ? lat[nlat - 1] : 0);
  mosquitto_disconnect(pub);
  mosquitto_loop_stop(pub, false);
  return 0;
}
