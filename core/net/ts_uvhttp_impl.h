/* ts_uvhttp_impl.h: the event-loop listener's state (ts_uvhttp.h), shared
 * by its two files and by nothing else:
 *
 *   ts_uvhttp.c       the loop, its thread, the listening sockets, work
 *                     posted from other threads, the stop
 *   ts_uvhttp_conn.c  a connection: its request, read and answered, or
 *                     taken by the role
 *
 * Everything here is touched on the loop thread only, except what the
 * comments say otherwise.
 */
#ifndef TS_UVHTTP_IMPL_H
#define TS_UVHTTP_IMPL_H

#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include "ts_httpd_impl.h"
#include "ts_uvhttp.h"

#define UV_MAX_LISTENERS 8

typedef struct post_t {
  void (*fn)(void *baton);
  void *baton;
  struct post_t *next;
} post_t;

struct ts_uvhttp_t {
  uv_loop_t loop;
  uv_async_t wake;                    /* posts, and the stop */
  uv_tcp_t listeners[UV_MAX_LISTENERS];
  int nlisteners;
  ts_httpd_t *stats;                  /* the counters, the budget's share
                                         and the warnings (any thread) */
  ts_http_handler_t handler;          /* run on libuv's thread pool */
  void *baton;
  ts_uvhttp_hooks_t hooks;
  ts_log_t *log;
  const char *name;
  int port;
  apr_thread_t *thread;
  apr_thread_mutex_t *lock;           /* POSTS, STOPPING (any thread) */
  post_t *posts, *last_post;
  int stopping;
  ts_uvconn_t *conns;                 /* open, a list */
  apr_pool_t *pool;
};

typedef enum {
  CONN_HEAD,                          /* reading a request head */
  CONN_BODY,                          /* reading its body */
  CONN_ANSWERING,                     /* the handler runs */
  CONN_WRITING,                       /* the answer goes out */
  CONN_LINGER,                        /* answered, closing: draining what
                                         the client still sends */
  CONN_TAKEN                          /* the role's */
} conn_state_t;

struct ts_uvconn_t {
  uv_tcp_t tcp;                       /* its data: this connection */
  uv_timer_t idle;
  ts_uvhttp_t *uv;
  ts_uvconn_t *prev, *next;           /* in UV->conns */
  apr_pool_t *pool;                   /* the connection's */
  apr_pool_t *req_pool;               /* the request's, cleared after it */
  char client[64];
  void *budget_client;                /* ts_httpd_take's */
  int counted;                        /* in the budget: give it back */
  char *buf;                          /* read, not yet used (malloc) */
  apr_size_t len, cap;
  conn_state_t state;
  ts_http_head_t head;
  apr_size_t body_len;
  int keep_alive;
  int refs;                           /* its two handles, and the work in
                                         flight: freed at 0 */
  int closing;
  void (*closed)(ts_uvconn_t *);
  void *data;
  uv_work_t work;
  uv_write_t write;
  uv_shutdown_t shutdown;
  uv_buf_t out;                       /* the answer, in REQ_POOL */
  apr_time_t began;
};

/* ts_uvhttp_conn.c: a connection accepted on SERVER (a listener). */
void ts_uvconn_accept(ts_uvhttp_t *uv, uv_stream_t *server);

#endif
