/* ts_uvhttp_conn.c: one connection of the event-loop listener
 * (ts_uvhttp.h): its requests read, each answered by the handler on
 * libuv's thread pool, the connection kept for the next (HTTP/1.1) or
 * closed; or taken by the role after its head.
 *
 * Memory: a listener holds many long connections (the proxy's tunnels,
 * the event streams), so an idle one holds little: reads land in the
 * loop thread's scratch buffer and only the bytes received are kept
 * (C->buf grows to what a request needs); the request's pool exists
 * while a request is read and answered (not between requests, nor once
 * the role took the connection), and the connection's own pool only
 * once the role asks for it (ts_uvconn_pool). Each APR pool is at least
 * one 8 KiB block, most of a page of it touched. */
#include "ts_uvhttp_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <strings.h>

#include "ts_i18n.h"

#define IDLE_MS 10000         /* silent while a request arrives, or
                                 between requests (as ts_httpd) */
#define LINGER_MS 2000        /* draining before the close of an answer
                                 sent while the request was unread */
#define READ_STEP 4096

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf);

/* The request's pool, made when a request needs it. */
static apr_pool_t *
req_pool(ts_uvconn_t *c)
{
  if (!c->req_pool)
    apr_pool_create(&c->req_pool, NULL);
  return c->req_pool;
}

/* The request is done: its pool goes (its blocks back to APR's
 * allocator, for the next request of any connection). */
static void
req_done(ts_uvconn_t *c)
{
  if (c->req_pool)
    apr_pool_destroy(c->req_pool);
  c->req_pool = NULL;
}
static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf);
static void process(ts_uvconn_t *c);

/* ---- closing ------------------------------------------------------------ */

/* The last reference went: tell the role, give back the budget, free. */
static void
release(ts_uvconn_t *c)
{
  if (--c->refs > 0)
    return;
  if (c->closed)
    c->closed(c);
  if (c->counted)
    ts_httpd_give(c->uv->stats, c->budget_client);
  free(c->buf);
  if (c->req_pool)
    apr_pool_destroy(c->req_pool);
  if (c->pool)
    apr_pool_destroy(c->pool);
  free(c);
}

static void
on_handle_closed(uv_handle_t *handle)
{
  release(handle->data);
}

void
ts_uvconn_close(ts_uvconn_t *c)
{
  if (c->closing)
    return;
  c->closing = 1;
  if (c->prev)
    c->prev->next = c->next;
  else
    c->uv->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  uv_close((uv_handle_t *)&c->idle, on_handle_closed);
  uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void
on_idle(uv_timer_t *timer)
{
  ts_uvconn_close(timer->data);
}

static void
wait_for(ts_uvconn_t *c, uint64_t ms)
{
  uv_timer_start(&c->idle, on_idle, ms, 0);
}

/* ---- answering ------------------------------------------------------------ */

static const char *
reason(int status)
{
  switch (status) {
  case 200: return "OK";
  case 201: return "Created";
  case 202: return "Accepted";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 401: return "Unauthorized";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 409: return "Conflict";
  case 411: return "Length Required";
  case 413: return "Content Too Large";
  case 421: return "Misdirected Request";
  case 422: return "Unprocessable Content";
  case 423: return "Locked";
  case 429: return "Too Many Requests";
  case 431: return "Request Header Fields Too Large";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  case 505: return "HTTP Version Not Supported";
  default: return status < 300 ? "OK" : status < 500 ? "Client Error"
                                                     : "Server Error";
  }
}

/* REPLY as the bytes of an HTTP/1.1 answer (no body for HEAD). */
static uv_buf_t
answer_text(const ts_http_reply_t *reply, int head_only, int keep_alive,
            apr_pool_t *pool)
{
  const char *body = reply->body ? reply->body : "";
  char *text = apr_psprintf(pool,
    "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %lu\r\n"
    "%s%s%s%s%s%s%s%s%sConnection: %s\r\n\r\n%s", reply->status,
    reason(reply->status),
    reply->content_type ? reply->content_type : "application/json",
    (unsigned long)strlen(body),
    reply->www_authenticate ? "WWW-Authenticate: " : "",
    reply->www_authenticate ? reply->www_authenticate : "",
    reply->www_authenticate ? "\r\n" : "",
    reply->allow ? "Allow: " : "", reply->allow ? reply->allow : "",
    reply->allow ? "\r\n" : "",
    reply->retry_after > 0 ? "Retry-After: " : "",
    reply->retry_after > 0 ? apr_itoa(pool, reply->retry_after) : "",
    reply->retry_after > 0 ? "\r\n" : "",
    keep_alive ? "keep-alive" : "close", head_only ? "" : body);

  return uv_buf_init(text, (unsigned int)strlen(text));
}

static void
on_lingered(uv_shutdown_t *req, int status)
{
  ts_uvconn_t *c = req->data;

  (void)status;
  if (!c->closing
      && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) != 0)
    ts_uvconn_close(c);
  release(c);
}

/* The answer is out: the next request, or the close. A connection whose
 * request was not read to its end (refused for its size, say) is shut
 * for writing and drained a little, so that the client reads the answer
 * before it sees a reset. */
static void
on_written(uv_write_t *req, int status)
{
  ts_uvconn_t *c = req->data;

  if (c->closing || status < 0) {
    ts_uvconn_close(c);
    release(c);
    return;
  }
  if (c->keep_alive) {
    apr_size_t used = c->head.length + c->body_len;
    memmove(c->buf, c->buf + used, c->len - used);
    c->len -= used;
    req_done(c);
    c->state = CONN_HEAD;
    wait_for(c, IDLE_MS);
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    process(c);
    release(c);
    return;
  }
  c->state = CONN_LINGER;
  c->len = 0;
  wait_for(c, LINGER_MS);
  c->shutdown.data = c;
  if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_lingered) != 0) {
    ts_uvconn_close(c);
    release(c);
  }
}

/* Send REPLY on C (STATE WRITING; a reference is held until it is out). */
static void
send_reply(ts_uvconn_t *c, const ts_http_reply_t *reply, int head_only)
{
  c->out = answer_text(reply, head_only, c->keep_alive, req_pool(c));
  c->state = CONN_WRITING;
  c->write.data = c;
  c->refs++;
  uv_timer_stop(&c->idle);
  uv_read_stop((uv_stream_t *)&c->tcp);
  if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &c->out, 1, on_written)) {
    ts_uvconn_close(c);
    release(c);
  }
}

/* A request that cannot be read: STATUS saying WHY, then the close. */
static void
refuse(ts_uvconn_t *c, int status, const char *why)
{
  ts_http_reply_t reply = { status, "application/json", "", "other", NULL,
                            NULL, 0 };

  ts_http_reply_error(&reply, status, why, req_pool(c));
  c->keep_alive = 0;
  ts_httpd_record(c->uv->stats, reply.route, status, 0);
  send_reply(c, &reply, 0);
}

/* ---- the handler, on the thread pool ------------------------------------ */

typedef struct answering_t {
  ts_http_request_t req;
  ts_http_reply_t reply;
} answering_t;

static void
work(uv_work_t *w)
{
  ts_uvconn_t *c = w->data;
  answering_t *a = apr_pcalloc(c->req_pool, sizeof(*a));
  apr_table_t *h = c->head.headers;

  a->reply = (ts_http_reply_t){ 200, "application/json", "", "other", NULL,
                                NULL, 0 };
  a->req.method = c->head.method;
  a->req.url = ts_httpd_unescape(c->head.path, strlen(c->head.path), 0,
                                 c->req_pool);
  a->req.content_type = apr_table_get(h, "Content-Type");
  a->req.authorization = apr_table_get(h, "Authorization");
  a->req.client = c->client;
  a->req.body = apr_pstrmemdup(c->req_pool, c->buf + c->head.length,
                               c->body_len);
  a->req.body_len = c->body_len;
  ts_http_answer_local(&a->reply, c->uv->handler, c->uv->baton, &a->req,
                       c->head.query, c->req_pool);
  ts_httpd_record(c->uv->stats, a->reply.route, a->reply.status,
                  apr_time_now() - c->began);
  c->out = answer_text(&a->reply, !strcmp(c->head.method, "HEAD"),
                       c->keep_alive, c->req_pool);
}

static void
after_work(uv_work_t *w, int status)
{
  ts_uvconn_t *c = w->data;

  (void)status;
  if (c->closing) {
    release(c);
    return;
  }
  c->state = CONN_WRITING;
  c->write.data = c;
  if (uv_write(&c->write, (uv_stream_t *)&c->tcp, &c->out, 1, on_written)) {
    ts_uvconn_close(c);
    release(c);
  }
}

/* ---- reading ------------------------------------------------------------ */

/* The body's length from the head, or a refusal (0). */
static int
body_length(ts_uvconn_t *c)
{
  const char *te = apr_table_get(c->head.headers, "Transfer-Encoding");
  const char *cl = apr_table_get(c->head.headers, "Content-Length");
  char *end;
  long n;

  if (te) {
    refuse(c, 501, _("request bodies in chunks (Transfer-Encoding) are not "
                     "accepted here: send the body with Content-Length"));
    return 0;
  }
  c->body_len = 0;
  if (!cl)
    return 1;
  n = strtol(cl, &end, 10);
  if (*cl < '0' || *cl > '9' || *end || n < 0
      || strcmp(apr_table_getm(c->req_pool, c->head.headers,
                               "Content-Length"), cl)) {
    refuse(c, 400, _("the Content-Length header is not one decimal "
                     "number"));
    return 0;
  }
  if (n > TS_HTTP_MAX_BODY) {
    refuse(c, 413, apr_psprintf(c->req_pool, _("the request body is larger "
                                "than %d bytes"), TS_HTTP_MAX_BODY));
    return 0;
  }
  c->body_len = (apr_size_t)n;
  return 1;
}

/* Whether the Connection header VALUE names TOKEN ("close"). */
static int
has_token(const char *value, const char *token)
{
  apr_size_t n = strlen(token);

  while (value && *value) {
    apr_size_t k = strcspn(value, ",");
    apr_size_t b = strspn(value, " \t"), e = k;
    while (e > b && (value[e - 1] == ' ' || value[e - 1] == '\t'))
      e--;
    if (e - b == n && !strncasecmp(value + b, token, n))
      return 1;
    value += k + (value[k] == ',');
  }
  return 0;
}

/* The head is in: the role's, or a request to read and answer. */
static void
headed(ts_uvconn_t *c)
{
  const char *conn = apr_table_get(c->head.headers, "Connection");
  int close = has_token(conn, "close"), keep = has_token(conn, "keep-alive");

  c->began = apr_time_now();
  if (c->uv->hooks.claim) {
    /* the role may start reading with its own callbacks */
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (c->uv->hooks.claim(c->uv->hooks.baton, c, &c->head)) {
      if (!c->closing && c->state == CONN_HEAD) {
        c->state = CONN_TAKEN;
        uv_timer_stop(&c->idle);
        req_done(c);          /* the head was the claim's to read */
      }
      return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
  }
  c->keep_alive = c->head.minor == 1 ? !close : keep && !close;
  if (body_length(c))
    c->state = CONN_BODY;
}

/* Use what was read: parse the head, wait for the body, or answer. */
static void
process(ts_uvconn_t *c)
{
  int status;
  const char *why;

  if (c->state == CONN_HEAD && c->len) {
    switch (ts_http_head_parse(&c->head, &status, &why, c->buf, c->len,
                               req_pool(c))) {
    case TS_HEAD_MORE:
      return;
    case TS_HEAD_BAD:
      refuse(c, status, why);
      return;
    case TS_HEAD_DONE:
      headed(c);
      break;
    }
  }
  if (c->state != CONN_BODY || c->len < c->head.length + c->body_len)
    return;
  c->state = CONN_ANSWERING;
  uv_timer_stop(&c->idle);
  uv_read_stop((uv_stream_t *)&c->tcp);
  c->work.data = c;
  c->refs++;
  uv_queue_work(&c->uv->loop, &c->work, work, after_work);
}

/* Room for the next read: the loop thread's scratch buffer; on_read
 * keeps what came. */
static __thread char scratch[64 * 1024];

static void
on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
  (void)handle;
  (void)suggested;
  *buf = uv_buf_init(scratch, sizeof(scratch));
}

/* Keep N bytes read into the connection's buffer, grown to what it
 * holds (a request's head and body, at most TS_HTTP_MAX_HEAD +
 * TS_HTTP_MAX_BODY and a read more); 0 when memory is out. */
static int
keep(ts_uvconn_t *c, const char *bytes, apr_size_t n)
{
  if (c->cap - c->len < n) {
    apr_size_t cap = (c->len + n + 255) & ~(apr_size_t)255;
    char *grown;
    if (cap < c->cap * 2 && c->cap * 2 <= 2 * READ_STEP)
      cap = c->cap * 2;       /* a head arriving in pieces */
    grown = realloc(c->buf, cap);
    if (!grown)
      return 0;
    c->buf = grown;
    c->cap = cap;
  }
  memcpy(c->buf + c->len, bytes, n);
  c->len += n;
  return 1;
}

static void
on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
  ts_uvconn_t *c = stream->data;

  if (n < 0) {                /* the client closed, or the connection
                                 broke */
    ts_uvconn_close(c);
    return;
  }
  if (c->state == CONN_LINGER || n == 0)
    return;                   /* dropped */
  if (!keep(c, buf->base, (apr_size_t)n)) {
    ts_uvconn_close(c);
    return;
  }
  wait_for(c, IDLE_MS);
  if (c->len > TS_HTTP_MAX_HEAD + TS_HTTP_MAX_BODY + READ_STEP
      && c->state != CONN_BODY) {
    refuse(c, 431, _("the request head is larger than 8192 bytes"));
    return;
  }
  process(c);
}

/* ---- accepting ----------------------------------------------------------- */

void
ts_uvconn_accept(ts_uvhttp_t *uv, uv_stream_t *server)
{
  ts_uvconn_t *c = calloc(1, sizeof(*c));
  struct sockaddr_storage peer;
  int peer_len = sizeof(peer);

  if (!c)
    return;
  uv_tcp_init(&uv->loop, &c->tcp);
  uv_timer_init(&uv->loop, &c->idle);
  c->tcp.data = c->idle.data = c;
  c->uv = uv;
  c->refs = 2;
  if ((c->next = uv->conns) != NULL)
    c->next->prev = c;
  uv->conns = c;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
    ts_uvconn_close(c);
    return;
  }
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&peer, &peer_len))
    peer.ss_family = AF_UNSPEC;
  ts_httpd_address_text(c->client, sizeof(c->client),
                        peer.ss_family == AF_UNSPEC ? NULL
                        : (struct sockaddr *)&peer);
  if (!ts_httpd_take(uv->stats, c->client, &c->budget_client)) {
    ts_uvconn_close(c);
    return;
  }
  c->counted = 1;
  uv_tcp_nodelay(&c->tcp, 1);
  wait_for(c, IDLE_MS);
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* ---- a taken connection ------------------------------------------------- */

uv_stream_t *
ts_uvconn_stream(ts_uvconn_t *c)
{
  return (uv_stream_t *)&c->tcp;
}

const char *
ts_uvconn_pending(ts_uvconn_t *c, apr_size_t *len)
{
  *len = c->len > c->head.length ? c->len - c->head.length : 0;
  return c->buf ? c->buf + c->head.length : "";
}

const char *
ts_uvconn_client(const ts_uvconn_t *c)
{
  return c->client;
}

void
ts_uvconn_set_data(ts_uvconn_t *c, void *data)
{
  c->data = data;
}

void *
ts_uvconn_data(const ts_uvconn_t *c)
{
  return c->data;
}

apr_pool_t *
ts_uvconn_pool(ts_uvconn_t *c)
{
  if (!c->pool)
    apr_pool_create(&c->pool, NULL);
  return c->pool;
}

void
ts_uvconn_on_close(ts_uvconn_t *c, void (*closed)(ts_uvconn_t *))
{
  c->closed = closed;
}

ts_uvhttp_t *
ts_uvconn_listener(const ts_uvconn_t *c)
{
  return c->uv;
}

void
ts_uvconn_reply(ts_uvconn_t *c, const ts_http_reply_t *reply)
{
  if (c->closing)
    return;
  c->keep_alive = 0;
  ts_httpd_record(c->uv->stats, reply->route ? reply->route : "other",
                  reply->status, apr_time_now() - c->began);
  send_reply(c, reply, 0);
}
