/* ts_proxy_tunnel.c: a tunnel between a client and a model server of
 * this machine (ts_proxy.h), on the listener's loop thread.
 *
 * Bytes read on one side are written to the other as they come, each
 * read in a buffer of its own that the write frees. Backpressure: when
 * the writes queued on one side exceed QUEUE_MAX, the other side is no
 * longer read until they drain below half of it, so a reader slower
 * than its writer holds the writer back (TCP's window does the rest)
 * and the proxy never holds more than about QUEUE_MAX + CHUNK per
 * direction of a tunnel. Half-close: the end of one side's stream shuts
 * the other side's write end once what was queued for it is written;
 * the tunnel closes when both ended, or at the first error. A tunnel
 * through which nothing passed for <proxy idle-seconds> is closed by
 * the sweep. Each tunnel holds two descriptors: the client's (which the
 * listener's budget counts) and the model server's (P->upstreams). */
#include "ts_proxy.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"

#define CHUNK (64 * 1024)         /* one read */
#define QUEUE_MAX (64 * 1024)     /* writes queued on a side: stop reading
                                     the other */

/* A write in flight: its buffer is freed when it is done. */
typedef struct write_t {
  uv_write_t req;
  ts_proxy_tunnel_t *t;
  int to;                         /* 0: to the client, 1: to upstream */
  char *base;
} write_t;

static const char established[] = "HTTP/1.1 200 Connection established\r\n"
                                  "\r\n";

static uv_stream_t *
side(ts_proxy_tunnel_t *t, int which)
{
  return which == 0 ? t->client : (uv_stream_t *)&t->upstream;
}

/* The proxy of this process (one per machine, so one per process): the
 * client's stream carries the listener's data pointer, so its tunnel is
 * found in the proxy's table by the stream. */
static ts_proxy_t *the_proxy;

void
ts_proxy_tunnel_init(ts_proxy_t *p)
{
  the_proxy = p;
}

/* The tunnel STREAM is a side of, and *WHICH side (0 the client's). */
static ts_proxy_tunnel_t *
tunnel_of(uv_stream_t *stream, int *which)
{
  ts_proxy_tunnel_t *t = stream->data;

  if (t && t->p == the_proxy && stream == (uv_stream_t *)&t->upstream) {
    *which = 1;
    return t;
  }
  *which = 0;
  return apr_hash_get(the_proxy->by_stream, &stream, sizeof(stream));
}

void
ts_proxy_tunnel_unref(ts_proxy_tunnel_t *t)
{
  ts_proxy_t *p = t->p;

  if (--t->refs > 0)
    return;
  if (t->prev)
    t->prev->next = t->next;
  else if (p->tunnels == t)
    p->tunnels = t->next;
  if (t->next)
    t->next->prev = t->prev;
  if (t->work_pool)
    apr_pool_destroy(t->work_pool);
  free(t->head);
  free(t->name_buf);
  free(t);
}

void
ts_proxy_upstream_closed(uv_handle_t *handle)
{
  ts_proxy_tunnel_t *t = handle->data;

  t->p->upstreams--;
  ts_proxy_tunnel_unref(t);
}

void
ts_proxy_tunnel_close(ts_proxy_tunnel_t *t, const char *why)
{
  ts_proxy_t *p = t->p;

  if (t->established) {
    t->established = 0;
    TS_PROXY_ADD(p, open, (apr_uint64_t)-1);
    if (why)
      ts_log(p->log, TS_LOG_DEBUG, "tunnel of %s to %s closed: %s",
             t->client_addr, t->id, why);
  }
  t->closing = 1;
  if (t->up_init && !uv_is_closing((uv_handle_t *)&t->upstream))
    uv_close((uv_handle_t *)&t->upstream, ts_proxy_upstream_closed);
  if (t->conn) {
    ts_uvconn_t *conn = t->conn;
    ts_uvconn_close(conn);     /* its close hook drops the reference */
  }
}

/* ---- splicing ------------------------------------------------------------- */

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void
on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  (void)handle;
  (void)suggested;
  buf->base = malloc(CHUNK);
  buf->len = buf->base ? CHUNK : 0;
}

static void
resume(ts_proxy_tunnel_t *t, int which)
{
  if (!t->paused[which] || t->closing)
    return;
  t->paused[which] = 0;
  if (!t->eof[which])
    uv_read_start(side(t, which), on_alloc, on_read);
}

static void
on_write(uv_write_t *req, int status)
{
  write_t *w = (write_t *)req;
  ts_proxy_tunnel_t *t = w->t;
  int to = w->to;

  free(w->base);
  free(w);
  if (t->closing)
    return;
  if (status < 0) {
    ts_proxy_tunnel_close(t, uv_strerror(status));
    return;
  }
  /* the side that feeds this one reads again once it drained */
  if (uv_stream_get_write_queue_size(side(t, to)) <= QUEUE_MAX / 2)
    resume(t, !to);
}

/* Write LEN bytes of BASE (malloc'ed; taken) to side TO of T. */
static int
send_to(ts_proxy_tunnel_t *t, int to, char *base, size_t len)
{
  write_t *w = malloc(sizeof(*w));
  uv_buf_t buf = uv_buf_init(base, (unsigned int)len);
  int rc;

  if (!w) {
    free(base);
    return UV_ENOMEM;
  }
  w->t = t;
  w->to = to;
  w->base = base;
  rc = uv_write(&w->req, side(t, to), &buf, 1, on_write);
  if (rc < 0) {
    free(base);
    free(w);
  }
  return rc;
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
  ts_proxy_tunnel_t *t = req->data;

  (void)status;
  if (++t->shut_done == 2 && !t->closing)
    ts_proxy_tunnel_close(t, "both sides ended");
}

/* Side WHICH ended its stream: shut the other's write end. */
static void
ended(ts_proxy_tunnel_t *t, int which)
{
  int other = !which;

  t->eof[which] = 1;
  uv_read_stop(side(t, which));
  t->shut[other].data = t;
  if (uv_shutdown(&t->shut[other], side(t, other), on_shutdown) < 0)
    ts_proxy_tunnel_close(t, "cannot shut down a side");
}

static void
on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
  int which;
  ts_proxy_tunnel_t *t = tunnel_of(stream, &which);

  if (!t || t->closing) {
    free(buf->base);
    if (!t)
      uv_read_stop(stream);
    return;
  }
  if (nread <= 0) {
    free(buf->base);
    if (nread == UV_EOF)
      ended(t, which);
    else if (nread < 0)
      ts_proxy_tunnel_close(t, uv_strerror((int)nread));
    return;
  }
  t->last = uv_now(t->p->loop);
  if (which == 0)
    TS_PROXY_ADD(t->p, bytes_up, nread);
  else
    TS_PROXY_ADD(t->p, bytes_down, nread);
  if (send_to(t, !which, buf->base, (size_t)nread) < 0) {
    ts_proxy_tunnel_close(t, "a write failed");
    return;
  }
  if (uv_stream_get_write_queue_size(side(t, !which)) > QUEUE_MAX) {
    t->paused[which] = 1;      /* until the other side drains */
    uv_read_stop(stream);
  }
}

/* Bytes for side TO that are not a read of the tunnel's: copied. */
static int
send_copy(ts_proxy_tunnel_t *t, int to, const char *data, size_t len)
{
  char *copy;

  if (len == 0)
    return 0;
  copy = malloc(len);
  if (!copy)
    return UV_ENOMEM;
  memcpy(copy, data, len);
  return send_to(t, to, copy, len);
}

/* ---- opening ---------------------------------------------------------------- */

static void
on_connect(uv_connect_t *req, int status)
{
  ts_proxy_tunnel_t *t = req->data;
  ts_proxy_t *p = t->p;
  const char *pending;
  apr_size_t len = 0;
  int rc;

  if (t->closing || !t->conn)
    return;
  if (status < 0) {
    ts_proxy_claim_unreachable(t, t->port, uv_strerror(status));
    return;
  }
  uv_tcp_nodelay(&t->upstream, 1);
  uv_tcp_nodelay((uv_tcp_t *)t->client, 1);
  t->established = 1;
  t->last = uv_now(p->loop);
  TS_PROXY_ADD(p, open, 1);
  TS_PROXY_ADD(p, total, 1);
  pending = ts_uvconn_pending(t->conn, &len);
  rc = t->absolute ? send_copy(t, 1, t->head, t->head_len)
                   : send_copy(t, 0, established, sizeof(established) - 1);
  if (rc >= 0)
    rc = send_copy(t, 1, pending, len);
  if (rc >= 0)
    rc = uv_read_start(t->client, on_alloc, on_read);
  if (rc >= 0)
    rc = uv_read_start((uv_stream_t *)&t->upstream, on_alloc, on_read);
  if (rc < 0)
    ts_proxy_tunnel_close(t, uv_strerror(rc));
}

void
ts_proxy_tunnel_open(ts_proxy_tunnel_t *t, const ts_proxy_target_t *target)
{
  ts_proxy_t *p = t->p;
  struct sockaddr_storage addr;
  int rc = strchr(p->local, ':')
           ? uv_ip6_addr(p->local, target->port, (struct sockaddr_in6 *)&addr)
           : uv_ip4_addr(p->local, target->port, (struct sockaddr_in *)&addr);

  if (rc < 0) {
    ts_proxy_claim_unreachable(t, target->port, uv_strerror(rc));
    return;
  }
  apr_cpystrn(t->id, target->id, sizeof(t->id));
  t->port = target->port;
  rc = uv_tcp_init(p->loop, &t->upstream);
  if (rc < 0) {
    ts_proxy_claim_unreachable(t, target->port, uv_strerror(rc));
    return;
  }
  t->up_init = 1;
  t->upstream.data = t;
  t->refs++;
  p->upstreams++;
  t->connecting.data = t;
  rc = uv_tcp_connect(&t->connecting, &t->upstream,
                      (const struct sockaddr *)&addr, on_connect);
  if (rc < 0)
    ts_proxy_claim_unreachable(t, target->port, uv_strerror(rc));
}

void
ts_proxy_tunnel_sweep(ts_proxy_t *p)
{
  uint64_t now = uv_now(p->loop);
  uint64_t idle = (uint64_t)apr_time_as_msec(p->idle);
  ts_proxy_tunnel_t *t = p->tunnels, *next;

  for (; t; t = next) {
    next = t->next;
    if (t->established && !t->closing && now - t->last >= idle) {
      TS_PROXY_ADD(p, idle_closed, 1);
      ts_log(p->log, TS_LOG_INFO, "closed the tunnel of %s to %s: nothing "
             "passed for %ld s (<proxy idle-seconds> in tessera.xml)",
             t->client_addr, t->id, (long)apr_time_sec(p->idle));
      t->refs++;               /* NEXT may go with it otherwise */
      ts_proxy_tunnel_close(t, NULL);
      next = t->next;
      ts_proxy_tunnel_unref(t);
    }
  }
}
