/* ts_httpd_conns.c: the connections the HTTP listeners of a process hold
 * (see ts_httpd_impl.h).
 *
 * Every client connection costs a file descriptor. When the descriptors
 * run out, accept() fails, libmicrohttpd stops accepting, and new clients
 * wait unanswered in the kernel's backlog until they give up; one client
 * address that opens connections without end (or many that open them and
 * go silent) would take every descriptor. So a listener admits a new
 * connection only while the process holds fewer than its budget, and the
 * client's address fewer than its share; a refused connection is closed
 * at once, so its client learns of it instead of hanging. The budget is
 * the runtime's, from the open-files limit, and shared by every listener
 * of the process (ts_httpd_budget_create).
 *
 * A connection is counted from libmicrohttpd's start notice to its close
 * notice, which come in pairs, so nothing is counted that never started.
 * Admitting and counting are two steps: a burst can exceed the budget by
 * the connections other threads admitted meanwhile (a few), which the
 * descriptors the runtime keeps in reserve absorb.
 *
 * Warnings caused by clients (refusals, connections that broke off) come
 * in floods under load or attack: each kind is written at most once in
 * QUIET_FOR, with the count of those left out.
 */
#include "ts_httpd_impl.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#define QUIET_FOR apr_time_from_sec(10)

/* One client address holding connections. */
typedef struct client_t {
  long count;
  char ip[64];
} client_t;

/* ADDR as text ("192.0.2.7", "2001:db8::1"; an IPv4 client of a listener
 * on "::" without its "::ffff:" prefix), or "unknown". Read from the
 * address libmicrohttpd accepted with: a descriptor wrapped in an APR
 * socket would be taken for IPv4, and every client of an IPv6 listener
 * would be 0.0.0.0. */
void
ts_httpd_address_text(char *buf, apr_size_t size, const struct sockaddr *addr)
{
  apr_sockaddr_t sa;

  apr_cpystrn(buf, "unknown", size);
  if (!addr)
    return;
  memset(&sa, 0, sizeof(sa));
  sa.family = addr->sa_family;
  if (sa.family == APR_INET) {
    memcpy(&sa.sa.sin, addr, sizeof(sa.sa.sin));
    sa.ipaddr_ptr = &sa.sa.sin.sin_addr;
  }
#if APR_HAVE_IPV6
  else if (sa.family == APR_INET6) {
    memcpy(&sa.sa.sin6, addr, sizeof(sa.sa.sin6));
    sa.ipaddr_ptr = &sa.sa.sin6.sin6_addr;
  }
#endif
  else
    return;
  if (apr_sockaddr_ip_getbuf(buf, size, &sa) != APR_SUCCESS)
    apr_cpystrn(buf, "unknown", size);
}

/* The most connections a listener can watch. */
static long
max_connections(void)
{
  /* select() watches at most FD_SETSIZE sockets; poll() has no limit */
  if (MHD_is_feature_supported(MHD_FEATURE_POLL) == MHD_YES)
    return LONG_MAX;
  return FD_SETSIZE - 4;
}

/* Pool cleanup: clients a listener that was never stopped left behind. */
static apr_status_t
free_clients(void *data)
{
  ts_httpd_budget_t *b = data;

  for (apr_hash_index_t *hi = apr_hash_first(NULL, b->clients); hi;
       hi = apr_hash_next(hi))
    free(apr_hash_this_val(hi));
  return APR_SUCCESS;
}

ts_httpd_budget_t *
ts_httpd_budget_create(long connections, long per_client, apr_pool_t *pool)
{
  ts_httpd_budget_t *b = apr_pcalloc(pool, sizeof(*b));
  long most = max_connections();

  b->limit = connections < 1 ? 1 : connections > most ? most : connections;
  b->per_client = per_client < 1 ? 1 : per_client > b->limit ? b->limit
                                                             : per_client;
  /* its own: listener threads grow the table under LOCK */
  apr_pool_create(&b->pool, pool);
  b->clients = apr_hash_make(b->pool);
  apr_pool_cleanup_register(b->pool, b, free_clients,
                            apr_pool_cleanup_null);
  apr_thread_mutex_create(&b->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  return b;
}

long
ts_httpd_budget_connections(const ts_httpd_budget_t *b)
{
  return b->limit;
}

long
ts_httpd_budget_per_client(const ts_httpd_budget_t *b)
{
  return b->per_client;
}

static client_t *count_in(ts_httpd_t *httpd, const char *ip);

/* Whether a connection from IP fits HTTPD's budget; counts a refusal
 * and warns of it. With TAKE, an admitted one is counted at once (under
 * the same lock) and *CLIENT set. */
static int
admit(ts_httpd_t *httpd, const char *ip, int take, void **client)
{
  ts_httpd_budget_t *b = httpd->budget;
  client_t *c;
  long held;
  int full, over;

  apr_thread_mutex_lock(b->lock);
  c = apr_hash_get(b->clients, ip, APR_HASH_KEY_STRING);
  held = c ? c->count : 0;
  full = b->open >= b->limit;
  over = !full && held >= b->per_client;
  httpd->refused_full += (apr_uint64_t)full;
  httpd->refused_client += (apr_uint64_t)over;
  if (take && !full && !over)
    *client = count_in(httpd, ip);
  apr_thread_mutex_unlock(b->lock);
  if (full)
    ts_httpd_warn(httpd, "the %s on port %d refuses new connections (one "
                  "from %s): the %ld connections the open-files limit "
                  "leaves room for are open; if these are clients, raise "
                  "the limit (systemd: LimitNOFILE= in the unit; otherwise "
                  "the hard limit, ulimit -Hn)", httpd->name, httpd->port,
                  ip, b->limit);
  else if (over)
    ts_httpd_warn(httpd, "the %s on port %d refuses new connections from "
                  "%s: it holds %ld, the most one client address may (a "
                  "share of the %ld the open-files limit leaves room for)",
                  httpd->name, httpd->port, ip, held, b->limit);
  return !full && !over;
}

enum MHD_Result
ts_httpd_admit(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
  char ip[64];

  (void)addrlen;
  ts_httpd_address_text(ip, sizeof(ip), addr);
  return admit(cls, ip, 0, NULL) ? MHD_YES : MHD_NO;
}

int
ts_httpd_take(ts_httpd_t *httpd, const char *ip, void **client)
{
  return admit(httpd, ip, 1, client);
}

/* Count a connection from IP on HTTPD (under the budget's lock); its
 * client's entry, or NULL when there was no memory for one. */
static client_t *
count_in(ts_httpd_t *httpd, const char *ip)
{
  ts_httpd_budget_t *b = httpd->budget;
  client_t *c = apr_hash_get(b->clients, ip, APR_HASH_KEY_STRING);

  if (!c && (c = calloc(1, sizeof(*c))) != NULL) {
    apr_cpystrn(c->ip, ip, sizeof(c->ip));
    apr_hash_set(b->clients, c->ip, APR_HASH_KEY_STRING, c);
  }
  if (c)
    c->count++;
  b->open++;
  httpd->open++;
  return c;
}

/* The connection CONN started: count it, and keep its client's address
 * in *CONTEXT. */
static void
started(ts_httpd_t *httpd, struct MHD_Connection *conn, void **context)
{
  const union MHD_ConnectionInfo *ci =
    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
  char ip[64];

  ts_httpd_address_text(ip, sizeof(ip), ci ? ci->client_addr : NULL);
  apr_thread_mutex_lock(httpd->budget->lock);
  *context = count_in(httpd, ip);
  apr_thread_mutex_unlock(httpd->budget->lock);
}

/* The connection whose client is C (or NULL) closed. */
static void
closed(ts_httpd_t *httpd, client_t *c)
{
  ts_httpd_budget_t *b = httpd->budget;

  apr_thread_mutex_lock(b->lock);
  b->open--;
  httpd->open--;
  if (c && --c->count == 0) {
    apr_hash_set(b->clients, c->ip, APR_HASH_KEY_STRING, NULL);
    free(c);
  }
  apr_thread_mutex_unlock(b->lock);
}

void
ts_httpd_give(ts_httpd_t *httpd, void *client)
{
  closed(httpd, client);
}

void
ts_httpd_connection(void *cls, struct MHD_Connection *conn,
                    void **socket_context,
                    enum MHD_ConnectionNotificationCode code)
{
  if (code == MHD_CONNECTION_NOTIFY_STARTED)
    started(cls, conn, socket_context);
  else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    closed(cls, *socket_context);
    *socket_context = NULL;
  }
}

const char *
ts_httpd_client(struct MHD_Connection *conn)
{
  const union MHD_ConnectionInfo *ci =
    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
  const client_t *c = ci ? ci->socket_context : NULL;

  /* C lives while a connection of its client does: this one */
  return c ? c->ip : "unknown";
}

/* ---- warnings ----------------------------------------------------------- */

/* Whether a warning of kind KEY may be written now; *LEFT_OUT: how many
 * of its kind were not since the last one. */
static int
may_warn(unsigned *left_out, ts_httpd_t *httpd, const void *key)
{
  apr_time_t now = apr_time_now();
  quiet_t *q = NULL;
  int i, speak = 1;

  *left_out = 0;
  apr_thread_mutex_lock(httpd->quiet_lock);
  for (i = 0; i < MAX_QUIET && httpd->quiet[i].key; i++)
    if (httpd->quiet[i].key == key)
      break;
  if (i < MAX_QUIET) {
    q = &httpd->quiet[i];
    if (q->key && now - q->last < QUIET_FOR) {
      q->suppressed++;
      speak = 0;
    }
    else {
      *left_out = q->suppressed;
      q->key = key;
      q->last = now;
      q->suppressed = 0;
    }
  }
  apr_thread_mutex_unlock(httpd->quiet_lock);
  return speak;
}

static void
vwarn(ts_httpd_t *httpd, const void *key, const char *prefix,
      const char *fmt, va_list ap)
{
  char text[1024];
  unsigned left_out;

  if (!may_warn(&left_out, httpd, key))
    return;
  apr_vsnprintf(text, sizeof(text), fmt, ap);
  text[strcspn(text, "\n")] = '\0';
  if (left_out)
    ts_log(httpd->log, TS_LOG_WARNING, "%s%s (and %u more like this in the "
           "last %d s)", prefix, text, left_out,
           (int)apr_time_sec(QUIET_FOR));
  else
    ts_log(httpd->log, TS_LOG_WARNING, "%s%s", prefix, text);
}

void
ts_httpd_warn(ts_httpd_t *httpd, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vwarn(httpd, fmt, "", fmt, ap);
  va_end(ap);
}

void
ts_httpd_mhd_log(void *cls, const char *fmt, va_list ap)
{
  vwarn(cls, fmt, "http: ", fmt, ap);
}

void
ts_httpd_warnings_flush(ts_httpd_t *httpd)
{
  int left = 0;

  apr_thread_mutex_lock(httpd->quiet_lock);
  for (int i = 0; i < MAX_QUIET; i++) {
    left += (int)httpd->quiet[i].suppressed;
    httpd->quiet[i].suppressed = 0;
  }
  apr_thread_mutex_unlock(httpd->quiet_lock);
  if (left)
    ts_log(httpd->log, TS_LOG_WARNING, "the %s on port %d left out %d "
           "warnings like those above since it last wrote one of their "
           "kind", httpd->name, httpd->port, left);
}
