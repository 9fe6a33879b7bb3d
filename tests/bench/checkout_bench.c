#define _GNU_SOURCE
/* checkout_bench.c: checkout + check-in pairs, N concurrent clients for S
 * seconds, each client on one keep-alive connection doing checkout then
 * check-in in a loop; prints one line "clients=N pairs_per_s=R p50_ms=A
 * p99_ms=B errors=E" (latency of a pair). Built and run by
 * tests/bench/license_bench.sh.
 *
 * Usage: checkout_bench PORT CLIENTS SECONDS [MODE [ARG]]
 *   (none)        against a Tessera license server (HTTP/JSON)
 *   hold N        Tessera: check out only, never in, until N are open
 *                 (to fill the store)
 *   health        Tessera: one GET /health a round (the HTTP layer alone)
 *   redis SHA1,SHA2  the same work against redis: checkout = EVALSHA SHA1
 *                 (count against the seats, session hash with its lease,
 *                 increment), check-in = EVALSHA SHA2 (delete, decrement)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port, seconds, hold, health, redis;
static long hold_target;
static long held;                     /* checkouts so far, hold mode */
static const char *sha_out, *sha_in;
static volatile int stop;

typedef struct worker_t {
  pthread_t thread;
  double *lat;
  long n, cap, errors;
} worker_t;

static double
now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
connect_server(void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(fd);
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

/* Send REQ, read one response; its status, body in BODY. */
static int
roundtrip(int fd, const char *req, size_t len, char *body, size_t cap)
{
  char buf[8192];
  size_t got = 0;
  char *end = NULL;
  long clen = 0;
  int status = -1;

  if (write(fd, req, len) != (ssize_t)len)
    return -1;
  while (!end) {
    ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
    if (n <= 0)
      return -1;
    got += (size_t)n;
    buf[got] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  sscanf(buf, "HTTP/1.%*d %d", &status);
  {
    char *cl = strcasestr(buf, "Content-Length:");
    if (cl)
      clen = atol(cl + 15);
  }
  end += 4;
  while ((long)(got - (size_t)(end - buf)) < clen) {
    ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
    if (n <= 0)
      return -1;
    got += (size_t)n;
  }
  buf[got] = '\0';
  snprintf(body, cap, "%s", end);
  return status;
}

/* Send the RESP command ARGV (ARGC), read one reply; 1 for an integer
 * reply of 1, 0 otherwise. */
static int
resp_call(int fd, int argc, const char *const *argv)
{
  char out[1024], in[256];
  size_t len = (size_t)snprintf(out, sizeof(out), "*%d\r\n", argc);
  size_t got = 0;

  for (int i = 0; i < argc; i++)
    len += (size_t)snprintf(out + len, sizeof(out) - len, "$%zu\r\n%s\r\n",
                            strlen(argv[i]), argv[i]);
  if (write(fd, out, len) != (ssize_t)len)
    return -1;
  for (;;) {
    ssize_t n = read(fd, in + got, sizeof(in) - 1 - got);
    if (n <= 0)
      return -1;
    got += (size_t)n;
    in[got] = '\0';
    if (strstr(in, "\r\n"))
      break;
  }
  return strncmp(in, ":1\r\n", 4) == 0;
}

static void *
work_redis(void *arg)
{
  worker_t *w = arg;
  int fd = connect_server();
  char id[32], pid[16], token[72];
  static long next_id;

  snprintf(pid, sizeof(pid), "%d", (int)getpid());
  while (!stop && fd >= 0) {
    double t0 = now();
    long n = __atomic_fetch_add(&next_id, 1, __ATOMIC_RELAXED);
    snprintf(id, sizeof(id), "session:%ld", n);
    /* the holder's secret, as long as Tessera's (64 hex digits) */
    snprintf(token, sizeof(token), "%016lx%016lx%016lx%016lx",
             (unsigned long)n * 0x9e3779b97f4a7c15ul, (unsigned long)n,
             (unsigned long)t0, (unsigned long)getpid());
    if (resp_call(fd, 13, (const char *const[]){ "EVALSHA", sha_out, "2",
                  "seats:bench:used", id, "1000000", "bench", "u", "h", pid,
                  "bench", "60000", token }) != 1
        || resp_call(fd, 6, (const char *const[]){ "EVALSHA", sha_in, "2",
                     "seats:bench:used", id, token }) != 1) {
      w->errors++;
      continue;
    }
    if (w->n == w->cap) {
      w->cap = w->cap ? w->cap * 2 : 4096;
      w->lat = realloc(w->lat, (size_t)w->cap * sizeof(double));
    }
    w->lat[w->n++] = now() - t0;
  }
  if (fd >= 0)
    close(fd);
  return NULL;
}

static void *
work(void *arg)
{
  worker_t *w = arg;
  const char json[] = "{\"product\":\"bench\",\"user\":\"u\",\"host\":\"h\","
                      "\"pid\":1,\"application\":\"bench\"}";
  char post[512], del[384], body[1024], id[64], token[80];
  int fd = connect_server();
  size_t plen = (size_t)snprintf(post, sizeof(post), "POST /v1/sessions "
    "HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Content-Length: %zu\r\n\r\n%s", strlen(json), json);

  while (!stop && fd >= 0) {
    double t0 = now();
    if (health) {
      static const char get[] = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
      if (roundtrip(fd, get, sizeof(get) - 1, body, sizeof(body)) != 200) {
        w->errors++;
        close(fd);
        fd = connect_server();
        continue;
      }
    }
    else if (roundtrip(fd, post, plen, body, sizeof(body)) != 201
        || sscanf(body, "{\"id\":\"%24[0-9a-f]\"", id) != 1
        || !strstr(body, "\"token\":\"")
        || sscanf(strstr(body, "\"token\":\"") + 9, "%64[0-9a-f]",
                  token) != 1) {
      w->errors++;
      close(fd);
      fd = connect_server();
      continue;
    }
    if (hold && __atomic_add_fetch(&held, 1, __ATOMIC_RELAXED)
                >= hold_target)
      stop = 1;
    if (!hold && !health) {
      size_t dlen = (size_t)snprintf(del, sizeof(del), "DELETE "
        "/v1/sessions/%s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
        "%s\r\n\r\n", id, token);
      if (roundtrip(fd, del, dlen, body, sizeof(body)) != 200) {
        w->errors++;
        close(fd);
        fd = connect_server();
        continue;
      }
    }
    if (w->n == w->cap) {
      w->cap = w->cap ? w->cap * 2 : 4096;
      w->lat = realloc(w->lat, (size_t)w->cap * sizeof(double));
    }
    w->lat[w->n++] = now() - t0;
  }
  if (fd >= 0)
    close(fd);
  return NULL;
}

static int
cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
  int clients;
  worker_t *w;
  pthread_attr_t attr;
  long total = 0, errors = 0;
  double *all, t0, t1;

  if (argc < 4)
    return 64;
  port = atoi(argv[1]);
  clients = atoi(argv[2]);
  seconds = atoi(argv[3]);
  hold = argc > 5 && strcmp(argv[4], "hold") == 0;
  health = argc > 4 && strcmp(argv[4], "health") == 0;
  redis = argc > 5 && strcmp(argv[4], "redis") == 0;
  if (hold)
    hold_target = atol(argv[5]);
  if (redis) {
    static char shas[128];
    snprintf(shas, sizeof(shas), "%s", argv[5]);
    sha_out = shas;
    sha_in = strchr(shas, ',');
    if (!sha_in)
      return 64;
    *(char *)sha_in++ = '\0';
  }
  w = calloc((size_t)clients, sizeof(*w));
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  t0 = now();
  for (int i = 0; i < clients; i++)
    pthread_create(&w[i].thread, &attr, redis ? work_redis : work, &w[i]);
  for (int i = 0; i < seconds * 10 && !stop; i++)
    usleep(100000);
  stop = 1;
  for (int i = 0; i < clients; i++) {
    pthread_join(w[i].thread, NULL);
    total += w[i].n;
    errors += w[i].errors;
  }
  t1 = now();
  all = malloc((size_t)(total ? total : 1) * sizeof(double));
  for (int i = 0, k = 0; i < clients; i++)
    for (long j = 0; j < w[i].n; j++)
      all[k++] = w[i].lat[j];
  qsort(all, (size_t)total, sizeof(double), cmp);
  printf("clients=%d %s_per_s=%.0f p50_ms=%.2f p99_ms=%.2f errors=%ld\n",
         clients, health ? "requests" : hold ? "checkouts" : "pairs",
         total / (t1 - t0), total ? all[total / 2] * 1e3 : 0,
         total ? all[(long)(total * 0.99)] * 1e3 : 0, errors);
  return 0;
}
