/* ts_uvhttp.c: the event-loop listener (ts_uvhttp.h): its loop and
 * thread, the listening sockets, work posted from other threads, and the
 * stop. Connections are ts_uvhttp_conn.c's. */
#include "ts_uvhttp_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_portable.h>
#include <apr_strings.h>

#include "ts_i18n.h"

static void
on_connection(uv_stream_t *server, int status)
{
  ts_uvhttp_t *uv = server->data;

  if (status < 0) {
    ts_httpd_warn(uv->stats, "the %s on port %d could not accept a "
                  "connection: %s", uv->name, uv->port, uv_strerror(status));
    return;
  }
  ts_uvconn_accept(uv, server);
}

/* ts_net_listen's: take LISTENER (bound and listening) into the loop.
 * libuv owns its descriptor from here on: APR's socket forgets it, so
 * the pool's cleanup does not close it a second time. */
static ts_error_t *
open_listener(void *ctx, apr_socket_t *listener, const char *address)
{
  ts_uvhttp_t *uv = ctx;
  uv_tcp_t *tcp = &uv->listeners[uv->nlisteners];
  apr_os_sock_t fd, none = (apr_os_sock_t)-1;
  int rc;

  if (uv->nlisteners == UV_MAX_LISTENERS) {
    apr_socket_close(listener);
    return ts_error_createf(TS_ECONFIG, "the %s can listen on at most %d "
                            "addresses; %s is one too many", uv->name,
                            UV_MAX_LISTENERS, address ? address : "::");
  }
  apr_os_sock_get(&fd, listener);
  uv_tcp_init(&uv->loop, tcp);
  tcp->data = uv;
  rc = uv_tcp_open(tcp, (uv_os_sock_t)fd);
  if (!rc) {
    apr_os_sock_put(&listener, &none, uv->pool);
    uv->nlisteners++;
    rc = uv_listen((uv_stream_t *)tcp, SOMAXCONN, on_connection);
  }
  else
    apr_socket_close(listener);
  if (rc)
    return ts_error_createf(TS_EUNAVAIL, "cannot start the %s on port %d "
                            "(%s): %s", uv->name, uv->port,
                            address ? address : "every address",
                            uv_strerror(rc));
  return NULL;
}

/* Run the posts (unless the stop began), or begin the stop. */
static void
on_wake(uv_async_t *wake)
{
  ts_uvhttp_t *uv = wake->data;
  post_t *p, *next;
  int stopping;

  apr_thread_mutex_lock(uv->lock);
  p = uv->posts;
  uv->posts = uv->last_post = NULL;
  stopping = uv->stopping;
  apr_thread_mutex_unlock(uv->lock);
  for (; p; p = next) {
    next = p->next;
    if (!stopping)
      p->fn(p->baton);
    free(p);
  }
  if (!stopping || uv_is_closing((uv_handle_t *)&uv->wake))
    return;
  if (uv->hooks.stopping)
    uv->hooks.stopping(uv->hooks.baton, uv);
  for (int i = 0; i < uv->nlisteners; i++)
    uv_close((uv_handle_t *)&uv->listeners[i], NULL);
  while (uv->conns)
    ts_uvconn_close(uv->conns);
  uv_close((uv_handle_t *)&uv->wake, NULL);
}

static void *APR_THREAD_FUNC
run(apr_thread_t *thread, void *data)
{
  ts_uvhttp_t *uv = data;

  if (uv->hooks.started)
    uv->hooks.started(uv->hooks.baton, uv);
  (void)thread;
  uv_run(&uv->loop, UV_RUN_DEFAULT);
  return NULL;   /* as the other threads: not apr_thread_exit, whose
                    pthread_exit ASan reports */
}

/* Close what a failed start opened, before the loop ran. */
static void
undo(ts_uvhttp_t *uv)
{
  for (int i = 0; i < uv->nlisteners; i++)
    uv_close((uv_handle_t *)&uv->listeners[i], NULL);
  uv_close((uv_handle_t *)&uv->wake, NULL);
  uv_run(&uv->loop, UV_RUN_DEFAULT);
  uv_loop_close(&uv->loop);
}

ts_error_t *
ts_uvhttp_start(ts_uvhttp_t **uvhttp, const char *name, int port,
                const apr_array_header_t *addresses,
                ts_http_handler_t handler, void *baton,
                const ts_uvhttp_hooks_t *hooks, ts_httpd_budget_t *budget,
                ts_log_t *log, apr_pool_t *pool)
{
  ts_uvhttp_t *uv = apr_pcalloc(pool, sizeof(*uv));
  ts_error_t *err;
  apr_status_t s;
  int rc;

  uv->stats = ts_httpd_shell(name, port, budget, log, pool);
  uv->name = uv->stats->name;
  uv->port = port;
  uv->handler = handler;
  uv->baton = baton;
  if (hooks)
    uv->hooks = *hooks;
  uv->log = log;
  uv->pool = pool;
  apr_thread_mutex_create(&uv->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  if ((rc = uv_loop_init(&uv->loop)) != 0)
    return ts_error_createf(TS_EUNAVAIL, "cannot start the %s on port %d: "
                            "no event loop (%s)", uv->name, port,
                            uv_strerror(rc));
  uv_async_init(&uv->loop, &uv->wake, on_wake);
  uv->wake.data = uv;
  err = ts_net_listen(uv->name, port, addresses, open_listener, uv, pool);
  if (!err && (s = apr_thread_create(&uv->thread, NULL, run, uv, pool)))
    err = ts_error__createf(TS__WHERE, TS_EUNAVAIL, s, NULL, "cannot start "
                            "the %s's thread", uv->name);
  if (err) {
    undo(uv);
    return err;
  }
  *uvhttp = uv;
  return NULL;
}

uv_loop_t *
ts_uvhttp_loop(ts_uvhttp_t *uv)
{
  return &uv->loop;
}

void
ts_uvhttp_post(ts_uvhttp_t *uv, void (*fn)(void *baton), void *baton)
{
  post_t *p = malloc(sizeof(*p));

  if (!p)
    abort();
  p->fn = fn;
  p->baton = baton;
  p->next = NULL;
  apr_thread_mutex_lock(uv->lock);
  if (uv->stopping) {
    apr_thread_mutex_unlock(uv->lock);
    free(p);
    return;
  }
  if (uv->last_post)
    uv->last_post->next = p;
  else
    uv->posts = p;
  uv->last_post = p;
  apr_thread_mutex_unlock(uv->lock);
  uv_async_send(&uv->wake);
}

long
ts_uvhttp_open(const ts_uvhttp_t *uv)
{
  long open;

  apr_thread_mutex_lock(uv->stats->budget->lock);
  open = uv->stats->open;
  apr_thread_mutex_unlock(uv->stats->budget->lock);
  return open;
}

void
ts_uvhttp_metrics(ts_prom_t *prom, ts_uvhttp_t *uv, const char *prefix,
                  apr_pool_t *pool)
{
  ts_httpd_metrics(prom, uv->stats, prefix, pool);
}

void
ts_uvhttp_stop(ts_uvhttp_t *uv)
{
  apr_status_t ignored;

  if (!uv)
    return;
  apr_thread_mutex_lock(uv->lock);
  uv->stopping = 1;
  apr_thread_mutex_unlock(uv->lock);
  uv_async_send(&uv->wake);
  apr_thread_join(&ignored, uv->thread);
  if (uv_loop_close(&uv->loop) != 0)
    ts_log(uv->log, TS_LOG_ERROR, "the %s on port %d stopped with handles "
           "still open", uv->name, uv->port);
  ts_httpd_warnings_flush(uv->stats);
}
