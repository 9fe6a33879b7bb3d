/* ts_model.h: the model server's state, shared by its files and by
 * nothing else (the role itself is ts_role_model.h):
 *
 *   ts_role_model.c      start, stop, reload, check; the ticker thread;
 *                        closing when nobody uses the version
 *   ts_model_sessions.c  sessions (each holds a seat of the repository's
 *                        product from the license server) and the
 *                        reservations they hold; /v1/sessions
 *   ts_model_elements.c  /v1/elements: reads from memory, changes through
 *                        the element store's writer (ts_elements.h)
 *   ts_model_license.c   the license server: registration, heartbeat,
 *                        seats; the record in INOPRJ; the bus
 *   ts_model_status.c    /metrics, /v1/repository, the control channel's
 *                        answers
 *
 * Locks: LOCK guards the sessions, the reservations and the counters; it
 * is never held across a call to the network, the disk or the element
 * store. Reservations change only on the element store's writer thread
 * (in queue order with the changes they guard) and when a session ends.
 */
#ifndef TS_MODEL_H
#define TS_MODEL_H

#include <apr_hash.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <jansson.h>

#include "ts_control.h"
#include "ts_credential.h"
#include "ts_elements.h"
#include "ts_repo.h"
#include "ts_server.h"

typedef struct ts_model_session_t {
  const char *id;               /* 24 hex digits, shown to others */
  const char *token_hash;       /* ts_token_hash of its token */
  const char *user, *host, *application;
  long pid;
  apr_time_t started, active;   /* ACTIVE: its last request */
  const char *seat, *seat_token;  /* the license server's session */
  apr_interval_time_t lease;    /* the seat's, as the license server said */
  apr_time_t renew_at;          /* the seat's next heartbeat */
  int reservations;
  apr_pool_t *pool;             /* its own, destroyed when it ends */
} ts_model_session_t;

/* Who a request is, copied out of the session for the request. */
typedef struct ts_model_who_t {
  const char *session, *user, *host;
} ts_model_who_t;

typedef struct ts_model_t {
  ts_server_t *server;
  const ts_server_info_t *info;
  ts_log_t *log;
  const char *dir;              /* the repository, absolute */
  ts_repo_t *repo;
  const ts_repo_meta_t *meta;
  ts_elements_t *els;
  const char *machine;          /* this machine's name */
  int port;
  const char *id;               /* "<machine>:<port>" */
  const char *inohost;          /* "<host>.<port>" of the license server */
  const char *agent;            /* TESSERA_AGENT, or NULL */
  ts_credential_t *credential;
  ts_bus_t *bus;
  ts_httpd_t *httpd;
  const char *record;           /* the record written, or NULL */
  ts_control_t *control;        /* the agent's channel, or NULL */

  apr_thread_mutex_t *lock;     /* everything below up to the ticker */
  apr_hash_t *sessions;         /* id -> ts_model_session_t */
  apr_hash_t *by_token;         /* token hash -> ts_model_session_t */
  apr_hash_t *reserved;         /* apr_int64_t element id ->
                                   ts_model_reservation_t */
  apr_time_t unused_since;      /* no session since then; 0: sessions */
  int closing;                  /* stopping: no new sessions */
  apr_uint64_t reads, writes, conflicts, locked;
  apr_uint64_t opened, ended_idle, ended_closed, ended_lost;

  apr_thread_t *ticker;
  apr_thread_mutex_t *tick_lock;  /* STOPPING, TICK_WAKE */
  apr_thread_cond_t *tick_wake;
  int stopping;
  int registered;               /* the ticker's */
  apr_time_t next_heartbeat;    /* the ticker's */
  apr_pool_t *pool;
} ts_model_t;

typedef struct ts_model_reservation_t {
  apr_int64_t element;
  ts_model_session_t *session;
  apr_time_t since;
} ts_model_reservation_t;

/* ---- ts_model_sessions.c ------------------------------------------------- */

extern const ts_route_t ts_model_session_routes[];

/* S (its strings in S->pool; holding the seat S->seat, S->seat_token
 * for S->lease) becomes a session of M; *TOKEN its token, in S->pool.
 * What POST /v1/sessions does once the license server gave the seat;
 * the fuzzing harness tests/fuzz/fuzz_model_api.c opens its sessions
 * with it, having no license server to give seats. */
ts_error_t *ts_model_session_admit(const char **token, ts_model_t *m,
                                   ts_model_session_t *s);

/* The session REQ's token belongs to (marked active), copied into *WHO;
 * 0 when there is none and the reply says so (401). */
int ts_model_authorize(ts_model_who_t *who, ts_http_reply_t *reply,
                       ts_model_t *m, const ts_http_request_t *req,
                       apr_pool_t *pool);

/* Under LOCK: the session ID, or NULL. */
ts_model_session_t *ts_model_session(ts_model_t *m, const char *id);

/* The ticker's: end the sessions silent for session_idle_seconds, renew
 * the seats whose time has come. */
void ts_model_sessions_tick(ts_model_t *m, apr_time_t now);

/* At the stop: forget every session (their seats go with the
 * registration). */
void ts_model_sessions_drop(ts_model_t *m);

/* Under LOCK: the reservation of element ID, or NULL. */
ts_model_reservation_t *ts_model_reservation(ts_model_t *m, apr_int64_t id);

/* Under LOCK: reserve element ID for S, or release it. */
void ts_model_reserve(ts_model_t *m, apr_int64_t id, ts_model_session_t *s);
void ts_model_release(ts_model_t *m, apr_int64_t id);

/* Who holds R, as JSON {"session", "user", "host", "since_ms"}. */
json_t *ts_model_holder_json(const ts_model_reservation_t *r);

/* ---- ts_model_elements.c ------------------------------------------------- */

extern const ts_route_t ts_model_element_routes[];

/* ---- ts_model_license.c -------------------------------------------------- */

/* The license server's answer to a call: its status, its body as JSON
 * (NULL when it is none) and its "error" text. */
typedef struct ts_model_answer_t {
  int status;
  json_t *body;                 /* the caller's to json_decref */
  const char *error;            /* "" when it gave none */
} ts_model_answer_t;

/* Register with the license server (again), heartbeat, unregister. */
ts_error_t *ts_model_register(ts_model_t *m, apr_pool_t *pool);
ts_error_t *ts_model_heartbeat(ts_model_t *m, apr_pool_t *pool);
void ts_model_unregister(ts_model_t *m, apr_pool_t *pool);

/* A seat of the repository's product for S (its user, host, pid,
 * application): on 201 S->seat, ->seat_token, ->lease are set; any
 * other answer is in *ANSWER. An error: the license server did not
 * answer. */
ts_error_t *ts_model_seat_take(ts_model_answer_t *answer,
                               ts_model_session_t *s, ts_model_t *m,
                               apr_pool_t *pool);

/* Renew or give back the seat SEAT (TOKEN its holder's). */
ts_error_t *ts_model_seat_call(ts_model_answer_t *answer, ts_model_t *m,
                               const char *method, const char *seat,
                               const char *token, apr_pool_t *pool);

/* The record INOPRJ/ivm/modelservers/<machine>.<port>.json, and its
 * removal. */
ts_error_t *ts_model_record_write(ts_model_t *m, apr_pool_t *pool);
void ts_model_record_remove(ts_model_t *m, apr_pool_t *pool);

/* Refuse an INOPRJ whose agents belong to another license server. */
ts_error_t *ts_model_check_project(const ts_server_info_t *info,
                                   apr_pool_t *pool);

/* The bus: connect with the last will on model-servers/<id>; say
 * "stopped" there and close. */
ts_error_t *ts_model_bus_open(ts_model_t *m, apr_pool_t *pool);
void ts_model_bus_close(ts_model_t *m);

/* ---- ts_model_status.c --------------------------------------------------- */

extern const ts_route_t ts_model_status_routes[];
void ts_model_metrics(ts_prom_t *prom, void *baton, apr_pool_t *pool);

/* The control channel's answer to REQUEST ("stop", "status", "reload");
 * NULL: not understood. */
const char *ts_model_control_answer(void *baton, const char *request,
                                    apr_pool_t *pool);

/* Serve the control channel named by TESSERA_CONTROL, if set; stop it. */
ts_error_t *ts_model_control_start(ts_model_t *m, apr_pool_t *pool);
void ts_model_control_stop(ts_model_t *m);

/* ---- ts_role_model.c ----------------------------------------------------- */

/* Stop the server cleanly, as a TERM would, saying WHY in the log. */
void ts_model_request_stop(ts_model_t *m, const char *why);

#endif
