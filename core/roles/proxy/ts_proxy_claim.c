/* ts_proxy_claim.c: the requests the proxy takes from the listener
 * (ts_proxy.h): `CONNECT name:port` and an absolute-form request
 * `GET http://name/... HTTP/1.1`. The name is resolved in the snapshot of
 * the model servers (ts_proxy_names.c); a name the snapshot does not
 * serve here waits for a refresh that started after the request came (a
 * version that just started, a link just registered), so no client is
 * refused on old news. Then:
 *
 *   a model server of this machine      the tunnel (ts_proxy_tunnel.c)
 *   one up on another machine           421 naming that machine's proxy
 *                                       (as the license server lists it)
 *   a version that does not run         503 with its state (the agents'
 *                                       reports; a version never started
 *                                       this machine's agent knows)
 *   nothing of that name                404
 *
 * Only model servers of this machine are ever connected to, on the port
 * they registered: never a host or port a client names, so the proxy is
 * no open relay (`CONNECT 127.0.0.1:22` is a 404 like any unknown name).
 * Every answer is {"error": sentence} in the server's language, and every
 * refusal is counted by reason on /metrics. */
#include "ts_proxy.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ts_httpd.h"
#include "ts_i18n.h"
#include "ts_proxy_target.h"

const char *const ts_proxy_refusal_labels[TS_PROXY_REFUSED_REASONS] = {
  "bad-request", "unknown", "not-running", "elsewhere", "limit",
  "unreachable", "no-registry"
};

/* Answer T's client STATUS with J ({"error": ...}, its reference taken)
 * and close; count and log it (WHY: English, for the log). */
static void
refuse(ts_proxy_tunnel_t *t, int status, ts_proxy_refusal_t reason,
       json_t *j, const char *why)
{
  ts_proxy_t *p = t->p;
  ts_http_reply_t reply = { 0 };
  apr_pool_t *pool = ts_uvconn_pool(t->conn);

  ts_http_reply_json(&reply, status, j, pool);
  if (status == 503)
    reply.retry_after = reason == TS_PROXY_REFUSED_NOT_RUNNING ? 5 : 1;
  TS_PROXY_ADD(p, refused[reason], 1);
  ts_log(p->log, TS_LOG_INFO, "refused %s %s from %s: %d %s: %s",
         t->absolute ? "a request for" : "CONNECT",
         ts_log_quote(t->name, TS_LOG_VALUE_MAX, pool), t->client_addr,
         status, ts_proxy_refusal_labels[reason], why);
  t->closing = 1;
  ts_uvconn_reply(t->conn, &reply);
}

static json_t *
error_json(const char *message)
{
  return json_pack("{s:s}", "error", message);
}

/* 421: NAME is served on another machine, T->verdict says which. */
static void
misdirected(ts_proxy_tunnel_t *t)
{
  ts_proxy_t *p = t->p;
  apr_pool_t *pool = ts_uvconn_pool(t->conn);
  const ts_proxy_verdict_t *v = &t->verdict;
  json_t *j;

  if (v->proxy)
    j = json_pack("{s:s, s:s, s:s}", "error", apr_psprintf(pool,
      _("'%s' is served on the machine %s, not on this one (%s): connect "
        "through that machine's proxy, %s port %d (curl -p -x %s:%d ...)"),
      t->name, v->host, p->machine, v->host, v->proxy, v->host, v->proxy),
      "host", v->host, "proxy", apr_psprintf(pool, "%s:%d", v->host,
                                             v->proxy));
  else
    j = json_pack("{s:s, s:s}", "error", apr_psprintf(pool,
      _("'%s' is served on the machine %s, not on this one (%s), and that "
        "machine has no proxy: connect to its model server at %s port %d, "
        "or start `tesserad proxy` there"), t->name, v->host, p->machine,
      v->host, v->port), "host", v->host);
  refuse(t, 421, TS_PROXY_REFUSED_ELSEWHERE, j, apr_psprintf(pool,
         "served on %s", v->host));
}

static const char *
text(json_t *o, const char *key, apr_pool_t *pool)
{
  const char *s = json_string_value(json_object_get(o, key));
  return s ? apr_pstrdup(pool, s) : NULL;
}

/* On the thread pool: what the agent of this machine says of a version
 * named T->name (a model or a version): every version of the project,
 * those never started too, which the license server does not hear of. */
static void
agent_work(ts_proxy_tunnel_t *t)
{
  ts_proxy_t *p = t->p;
  const char *body = NULL;
  int status = 0;
  ts_error_t *err = ts_http_get(&status, &body, p->local,
                                p->info->agent_port, "/v1/versions",
                                apr_time_from_sec(2), t->work_pool);
  json_t *j = err || status != 200 ? NULL : json_loads(body, 0, NULL), *v;
  size_t i;

  ts_error_clear(err);
  json_array_foreach(json_object_get(j, "versions"), i, v) {
    const char *model = text(v, "model", t->work_pool);
    const char *version = text(v, "version", t->work_pool);
    const char *state = text(v, "state", t->work_pool);
    if (!model || !version || !state || json_is_true(json_object_get(
          v, "read_only")) || (strcmp(model, t->name)
                               && strcmp(version, t->name)))
      continue;
    t->verdict.where = TS_PROXY_DOWN;
    t->verdict.model = model;
    t->verdict.version = version;
    t->verdict.state = strcmp(state, "running") ? state : "starting";
    t->verdict.host = text(v, "host", t->work_pool);
    if (!t->verdict.host)
      t->verdict.host = p->machine;
    if (strcmp(state, "stopped"))
      break;                   /* one that is on its way wins */
  }
  json_decref(j);
}

static void
lookup_work(uv_work_t *req)
{
  agent_work(req->data);
}

static void not_running(ts_proxy_tunnel_t *t);
static void unknown(ts_proxy_tunnel_t *t);

static void
lookup_done(uv_work_t *req, int status)
{
  ts_proxy_tunnel_t *t = req->data;

  if (status == 0 && t->conn && !t->closing && !t->p->stopping) {
    if (t->verdict.where == TS_PROXY_DOWN)
      not_running(t);
    else
      unknown(t);
  }
  ts_proxy_tunnel_unref(t);
}

/* Ask, on the thread pool, this machine's agent of a name nothing
 * serves before answering T (503 or 404). */
static void
lookup(ts_proxy_tunnel_t *t)
{
  apr_pool_create(&t->work_pool, NULL);
  t->work.data = t;
  t->refs++;
  if (uv_queue_work(t->p->loop, &t->work, lookup_work, lookup_done) != 0) {
    t->refs--;
    unknown(t);
  }
}

/* 503: the version T->verdict says does not run. */
static void
not_running(ts_proxy_tunnel_t *t)
{
  apr_pool_t *pool = ts_uvconn_pool(t->conn);
  const ts_proxy_verdict_t *v = &t->verdict;
  const char *msg;

  if (strcmp(v->state, "gone") == 0)
    msg = apr_psprintf(pool, _("the model server of '%s' (%s/%s) on this "
      "machine stopped answering the license server: it is gone; start the "
      "version again with `tessera-admin models start %s/%s`"), t->name,
      v->model, v->version, v->model, v->version);
  else
    msg = apr_psprintf(pool, _("the version %s/%s is %s on %s, not running "
      "(as its agent reports): start it with `tessera-admin models start "
      "%s/%s`, or wait until it runs"), v->model, v->version, v->state,
      v->host, v->model, v->version);
  refuse(t, 503, TS_PROXY_REFUSED_NOT_RUNNING, json_pack("{s:s, s:s, s:s, "
         "s:s}", "error", msg, "state", v->state, "model", v->model,
         "version", v->version), apr_psprintf(pool, "%s/%s is %s", v->model,
                                              v->version, v->state));
}

void
ts_proxy_claim_unreachable(ts_proxy_tunnel_t *t, int port, const char *why)
{
  ts_proxy_t *p = t->p;
  apr_pool_t *pool = ts_uvconn_pool(t->conn);

  if (t->up_init && !uv_is_closing((uv_handle_t *)&t->upstream))
    uv_close((uv_handle_t *)&t->upstream, ts_proxy_upstream_closed);
  refuse(t, 503, TS_PROXY_REFUSED_UNREACHABLE, error_json(apr_psprintf(pool,
    _("the model server of '%s' on this machine (port %d) does not accept "
      "connections (%s): it may have stopped just now; try again, or see "
      "its srv.log"), t->name, port, why)), apr_psprintf(pool, "port %d: "
      "%s", port, why));
  ts_proxy_names_refresh(p);
}

/* Decide what to do with T from the snapshot; WAITED: it waited for a
 * fresh one already. */
static void
decide(ts_proxy_tunnel_t *t, int waited)
{
  ts_proxy_t *p = t->p;

  ts_proxy_names_resolve(&t->verdict, p, t->name, t->asked_port);
  if (t->verdict.where == TS_PROXY_HERE) {
    ts_proxy_tunnel_open(t, t->verdict.target);
    return;
  }
  if (!waited) {
    /* the snapshot may be older than the news: wait for a refresh that
     * starts after the request came (they coalesce: one at a time) */
    t->refs++;
    t->wnext = p->waiting;
    p->waiting = t;
    t->wait_gen = ts_proxy_names_refresh(p);
    return;
  }
  if (!p->names)
    refuse(t, 503, TS_PROXY_REFUSED_NO_REGISTRY, error_json(apr_psprintf(
      ts_uvconn_pool(t->conn), _("the proxy cannot learn the model servers from the license "
              "server %s port %d (INOHOST) now: is it running? The proxy "
              "asks again every %d s; see the proxy's log"), p->info->host,
      p->info->main_port, p->info->config->heartbeat_seconds)),
      p->names_error ? p->names_error : "no snapshot yet");
  else if (t->verdict.where == TS_PROXY_ELSEWHERE)
    misdirected(t);
  else if (t->verdict.where == TS_PROXY_DOWN)
    not_running(t);
  else
    lookup(t);                 /* what this machine's agent knows */
}

/* 404: nothing of T->name, here or elsewhere. */
static void
unknown(ts_proxy_tunnel_t *t)
{
  ts_proxy_t *p = t->p;
  apr_pool_t *pool = ts_uvconn_pool(t->conn);

  refuse(t, 404, TS_PROXY_REFUSED_UNKNOWN, error_json(apr_psprintf(pool,
    _("no model server of this machine (%s) offers a model, link or "
      "repository named '%s', and the license server %s port %d knows of "
      "none elsewhere: check the name (GET /v1/model-servers on the "
      "license server lists what runs), or start its version with "
      "`tessera-admin models start`"), p->machine, t->name, p->info->host,
    p->info->main_port)), "no such name");
}

void
ts_proxy_claim_retry(ts_proxy_t *p, long gen)
{
  ts_proxy_tunnel_t *t = p->waiting, *next, **keep = &p->waiting;

  for (; t; t = next) {
    next = t->wnext;
    if (t->wait_gen > gen && !p->stopping && t->conn && !t->closing) {
      *keep = t;               /* waits for a later refresh */
      keep = &t->wnext;
      continue;
    }
    t->wnext = NULL;
    if (t->conn && !t->closing && !p->stopping)
      decide(t, 1);
    ts_proxy_tunnel_unref(t);
  }
  *keep = NULL;
}

/* The listener closed T's client connection (T's client reference). */
static void
client_closed(ts_uvconn_t *conn)
{
  ts_proxy_tunnel_t *t = ts_uvconn_data(conn);

  if (!t)
    return;
  apr_hash_set(t->p->by_stream, &t->client, sizeof(t->client), NULL);
  t->conn = NULL;
  t->client = NULL;
  ts_proxy_tunnel_close(t, NULL);
  ts_proxy_tunnel_unref(t);
}

/* An absolute-form request for PATH as the model server gets it: the
 * origin-form target, the client's headers but those of the hop, and
 * Connection: close (one request per tunnel: the next may name another
 * model server). */
typedef struct head_t {
  char *text;
  apr_pool_t *pool;
} head_t;

static int
add_header(void *baton, const char *name, const char *value)
{
  head_t *h = baton;

  if (strcasecmp(name, "Connection") && strcasecmp(name, "Proxy-Connection")
      && strcasecmp(name, "Keep-Alive") && strcasecmp(name, "Proxy-"
                                                      "Authorization"))
    h->text = apr_pstrcat(h->pool, h->text, name, ": ", value, "\r\n",
                          NULL);
  return 1;
}

static void
build_head(ts_proxy_tunnel_t *t, const ts_http_head_t *head,
           const char *path, apr_pool_t *pool)
{
  head_t h = { apr_psprintf(pool, "%s %s HTTP/1.%d\r\n", head->method, path,
                            head->minor), pool };

  apr_table_do(add_header, &h, head->headers, NULL);
  h.text = apr_pstrcat(pool, h.text, "Connection: close\r\n\r\n", NULL);
  t->head_len = strlen(h.text);
  t->head = malloc(t->head_len);
  if (t->head)
    memcpy(t->head, h.text, t->head_len);
}

/* A new tunnel's state for CONN. */
static ts_proxy_tunnel_t *
tunnel_new(ts_proxy_t *p, ts_uvconn_t *conn)
{
  ts_proxy_tunnel_t *t = calloc(1, sizeof(*t));

  if (!t)
    return NULL;
  t->p = p;
  t->conn = conn;
  t->client = ts_uvconn_stream(conn);
  t->client_addr = ts_uvconn_client(conn);
  t->refs = 1;
  t->next = p->tunnels;
  if (p->tunnels)
    p->tunnels->prev = t;
  p->tunnels = t;
  apr_hash_set(p->by_stream, &t->client, sizeof(t->client), t);
  ts_uvconn_set_data(conn, t);
  ts_uvconn_on_close(conn, client_closed);
  return t;
}

/* The target of HEAD into T; 0 (and the 400 sent) when it is not one. */
static int
target(ts_proxy_tunnel_t *t, const ts_http_head_t *head, apr_pool_t *pool)
{
  const char *path;

  if (!t->absolute) {
    if (ts_proxy_connect_target(&t->name, &t->asked_port, head->target,
                                pool))
      return 1;
    t->name = head->target;
    refuse(t, 400, TS_PROXY_REFUSED_BAD_REQUEST, error_json(apr_psprintf(
      pool, _("the proxy tunnels to model servers by name: CONNECT "
              "NAME:PORT, NAME a model, link or repository (1..128 of A-Z "
              "a-z 0-9 . _ -) and PORT 1..65535; the target '%s' is not of "
              "that form"), ts_log_quote(head->target, 200, pool))),
      "not NAME:PORT");
    return 0;
  }
  if (ts_proxy_absolute_target(&t->name, &t->asked_port, &path,
                               head->target, pool)) {
    build_head(t, head, path, pool);
    return 1;
  }
  t->name = head->target;
  refuse(t, 400, TS_PROXY_REFUSED_BAD_REQUEST, error_json(apr_psprintf(pool,
    _("a request through the proxy names its model server as "
      "http://NAME[:PORT]/PATH, NAME a model, link or repository (1..128 "
      "of A-Z a-z 0-9 . _ -); the target '%s' is not of that form (for "
      "https, use CONNECT: curl -p)"), ts_log_quote(head->target, 200,
                                                   pool))),
    "not http://NAME/PATH");
  return 0;
}

int
ts_proxy_claim(void *baton, ts_uvconn_t *conn, const ts_http_head_t *head)
{
  ts_proxy_t *p = baton;
  apr_pool_t *pool = p->scratch;      /* cleared below: a tunnel holds no
                                         pool of its connection */
  int connect = strcmp(head->method, "CONNECT") == 0;
  int absolute = !connect && head->target[0] != '/'
                 && strchr(head->target, ':') != NULL;
  ts_proxy_tunnel_t *t;

  if (!connect && !absolute)
    return 0;             /* /health, /metrics, ... */
  t = tunnel_new(p, conn);
  if (!t) {
    ts_uvconn_close(conn);
    return 1;
  }
  t->absolute = absolute;
  if (!target(t, head, pool)) {
    apr_pool_clear(pool);
    return 1;
  }
  t->name = t->name_buf = strdup(t->name);
  if (!t->name_buf)
    ts_uvconn_close(conn);
  else if (ts_uvhttp_open(ts_uvconn_listener(conn)) + p->upstreams + 1
           > p->room)
    refuse(t, 503, TS_PROXY_REFUSED_LIMIT, error_json(apr_psprintf(pool,
      _("the proxy holds as many connections as its open-files limit "
        "allows (%ld descriptors for connections; a tunnel takes two): try "
        "again later, or raise the proxy's open-files limit (systemd: "
        "LimitNOFILE= in its unit; otherwise ulimit -Hn)"), p->room)),
      apr_psprintf(pool, "%ld connections and %ld tunnels to model servers "
                   "open", ts_uvhttp_open(ts_uvconn_listener(conn)),
                   p->upstreams));
  else
    decide(t, 0);
  apr_pool_clear(pool);
  return 1;
}
