/* sse_client.c: see sse_client.h. */
#include "sse_client.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <mosquitto.h>

#include "ts_bus.h"
#include "ts_credential.h"

static double
now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read what is there within MS; 0 at the end of the stream, -1 when
 * nothing came, else the bytes read. */
static long
read_some(sse_t *s, int ms)
{
  struct pollfd p = { .fd = s->fd, .events = POLLIN };
  ssize_t n;

  if (poll(&p, 1, ms) <= 0)
    return -1;
  if (s->cap - s->len < 65537) {
    s->cap = s->cap * 2 + 65537;
    s->buf = realloc(s->buf, s->cap);
    cr_assert_not_null(s->buf);
  }
  n = read(s->fd, s->buf + s->len, s->cap - s->len - 1);
  if (n <= 0)
    return 0;
  s->len += (size_t)n;
  s->buf[s->len] = '\0';
  return n;
}

void
sse_open(sse_t *s, int port, const char *query, const char *headers,
         int rcvbuf)
{
  struct sockaddr_in sa = { .sin_family = AF_INET,
                            .sin_port = htons((unsigned short)port) };
  char req[2048];
  double end = now_s() + 5;
  char *head_end = NULL;
  int n;

  memset(s, 0, sizeof(*s));
  s->fd = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_geq(s->fd, 0);
  if (rcvbuf > 0)
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  cr_assert_eq(connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
               "connect to %d: %s", port, strerror(errno));
  n = snprintf(req, sizeof(req), "GET /v1/events%s%s HTTP/1.1\r\n"
               "Host: 127.0.0.1:%d\r\nAccept: text/event-stream\r\n%s\r\n",
               query ? "?" : "", query ? query : "", port,
               headers ? headers : "");
  cr_assert_eq(write(s->fd, req, (size_t)n), n);
  while (!head_end && now_s() < end) {
    if (read_some(s, 100) == 0)
      break;
    head_end = s->buf ? strstr(s->buf, "\r\n\r\n") : NULL;
  }
  cr_assert_not_null(head_end, "no answer head from port %d: %s", port,
                     s->buf ? s->buf : "(nothing)");
  s->body = (size_t)(head_end + 4 - s->buf);
  cr_assert_eq(sscanf(s->buf, "HTTP/1.1 %d", &s->status), 1, "%s", s->buf);
}

int
sse_wait(sse_t *s, const char *want, int seconds)
{
  double end = now_s() + seconds;

  while (!strstr(s->buf + s->body, want) && now_s() < end)
    if (read_some(s, 50) == 0)
      break;
  return strstr(s->buf + s->body, want) != NULL;
}

int
sse_wait_closed(sse_t *s, int seconds)
{
  double end = now_s() + seconds;

  while (now_s() < end)
    if (read_some(s, 50) == 0)
      return 1;
  return 0;
}

unsigned long long
sse_id_of(const sse_t *s, const char *want)
{
  const char *at = strstr(s->buf + s->body, want), *id;

  if (!at)
    return 0;
  /* the frame's start: after the blank line before AT */
  for (id = at; id > s->buf + s->body && !(id[-1] == '\n' && id[-2] == '\n');
       id--)
    ;
  return strncmp(id, "id: ", 4) == 0 ? strtoull(id + 4, NULL, 10) : 0;
}

int
sse_count(const sse_t *s, const char *want)
{
  int n = 0;

  for (const char *p = s->buf + s->body; (p = strstr(p, want)) != NULL;
       p += strlen(want))
    n++;
  return n;
}

void
sse_close(sse_t *s)
{
  if (s->fd >= 0)
    close(s->fd);
  free(s->buf);
  memset(s, 0, sizeof(*s));
  s->fd = -1;
}

/* ---- the bus ------------------------------------------------------------ */

static struct mosquitto *pub;
static volatile int pub_connected, pub_sent, pub_acked;

static void
on_connect(struct mosquitto *m, void *obj, int rc)
{
  (void)m;
  (void)obj;
  pub_connected = rc == 0 ? 1 : -rc;
}

static void
on_publish(struct mosquitto *m, void *obj, int mid)
{
  (void)m;
  (void)obj;
  (void)mid;
  __atomic_add_fetch(&pub_acked, 1, __ATOMIC_SEQ_CST);
}

void
bus_pub_open(int bus_port, const char *credential_file)
{
  apr_pool_t *pool;
  ts_credential_t *cred;
  ts_bus_login_t login = { TS_BUS_SERVER_USER, NULL };
  ts_error_t *err;
  double end = now_s() + 10;

  apr_pool_create(&pool, NULL);
  err = ts_credential_load(&cred, credential_file, pool);
  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
  login.password = ts_credential_derive(cred, "bus", pool);
  mosquitto_lib_init();
  pub = mosquitto_new(ts_bus_client_id("tessera-test-pub", &login, pool),
                      true, NULL);
  cr_assert_not_null(pub);
  mosquitto_username_pw_set(pub, login.username, login.password);
  mosquitto_connect_callback_set(pub, on_connect);
  mosquitto_publish_callback_set(pub, on_publish);
  pub_connected = pub_sent = pub_acked = 0;
  cr_assert_eq(mosquitto_connect(pub, "127.0.0.1", bus_port, 30), 0);
  cr_assert_eq(mosquitto_loop_start(pub), 0);
  while (pub_connected == 0 && now_s() < end)
    usleep(10000);
  cr_assert_eq(pub_connected, 1, "the bus on port %d refused the test's "
               "publisher (%d)", bus_port, pub_connected);
  apr_pool_destroy(pool);
}

void
bus_pub(const char *topic, const char *payload)
{
  char full[512];

  snprintf(full, sizeof(full), "%s%s", TS_BUS_TOPIC_PREFIX, topic);
  cr_assert_eq(mosquitto_publish(pub, NULL, full, (int)strlen(payload),
                                 payload, 1, false), 0);
  pub_sent++;
}

int
bus_pub_flush(int seconds)
{
  double end = now_s() + seconds;

  while (__atomic_load_n(&pub_acked, __ATOMIC_SEQ_CST) < pub_sent
         && now_s() < end)
    usleep(10000);
  return pub_acked >= pub_sent;
}

void
bus_pub_close(void)
{
  if (!pub)
    return;
  mosquitto_disconnect(pub);
  mosquitto_loop_stop(pub, false);
  mosquitto_destroy(pub);
  pub = NULL;
}
