/* ts_bus.c: the license server's connection to its bus, and a one-shot
 * look at a bus for the doctor (see ts_bus.h). */
#include "ts_bus.h"

#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <mosquitto.h>
#include <sodium.h>

#define MAX_BACKOFF apr_time_from_sec(30)
#define MAX_QUEUE 10000           /* messages waiting for the bus thread */

typedef struct message_t {
  char *topic, *payload;
  int retain;
} message_t;

/* A subscription (ts_bus_subscribe). Never removed while the bus lives,
 * so the filter may be read outside the lock. */
typedef struct sub_t {
  const char *filter;             /* with the prefix, in the bus's pool */
  ts_bus_heard_t heard;
  void *baton;
} sub_t;

struct ts_bus_t {
  const char *host, *client_id, *will_topic;
  const char *user;               /* logged in as, or NULL: anonymous */
  apr_array_header_t *owned;      /* topic filters, with the prefix */
  int port;
  struct mosquitto *mosq;
  apr_thread_t *thread;
  apr_thread_mutex_t *lock;
  apr_thread_cond_t *wake;
  apr_array_header_t *queue;      /* of message_t, malloc'ed strings */
  apr_array_header_t *spare;      /* the other queue, while not flushing */
  apr_uint64_t dropped;           /* events not sent: no connection, or
                                     MAX_QUEUE waiting */
  apr_hash_t *retained;           /* topic -> payload (malloc'ed) */
  apr_array_header_t *subs;       /* of sub_t, in the bus's pool */
  int subscribed;                 /* SUBS subscribed to on this connection
                                     (the first ones: SUBS only grows) */
  int touched, stopping, connected, resend;
  const char *final_payload;
  ts_bus_tick_t tick;
  void *baton;
  ts_log_t *log;
  apr_pool_t *pool;               /* the bus's own, used under LOCK */
};

static void subscribe_new(ts_bus_t *bus);

static void
on_connect(struct mosquitto *m, void *obj, int rc)
{
  ts_bus_t *bus = obj;

  apr_thread_mutex_lock(bus->lock);
  bus->connected = rc == 0;
  bus->resend = rc == 0;
  bus->touched = 1;
  bus->subscribed = 0;
  apr_thread_mutex_unlock(bus->lock);
  if (rc == 0) {
    ts_log(bus->log, TS_LOG_INFO, "connected to the bus on %s port %d%s%s",
           bus->host, bus->port, bus->user ? " as " : "",
           bus->user ? bus->user : "");
    /* what this run says first (the tick is on this thread too), then
     * the broker answers with what is retained there (on_message) */
    if (bus->tick)
      bus->tick(bus->baton, bus);
    for (int i = 0; i < bus->owned->nelts; i++)
      mosquitto_subscribe(m, NULL, APR_ARRAY_IDX(bus->owned, i,
                                                 const char *), 1);
    subscribe_new(bus);
  }
  else if (bus->user && (rc == 4 || rc == 5))   /* bad password, not
                                                   authorised */
    ts_log(bus->log, TS_LOG_WARNING, "the bus on %s port %d refused this "
           "server's login as %s (%s): its password comes from the server "
           "credential INODIR/server.key, which must be the same file as on "
           "the bus's machine (copy it from there, owner-only); trying "
           "again", bus->host, bus->port, bus->user,
           mosquitto_connack_string(rc));
  else
    ts_log(bus->log, TS_LOG_WARNING, "the bus on %s port %d refused the "
           "connection: %s", bus->host, bus->port,
           mosquitto_connack_string(rc));
}

static void
on_disconnect(struct mosquitto *m, void *obj, int rc)
{
  ts_bus_t *bus = obj;

  (void)m;
  apr_thread_mutex_lock(bus->lock);
  bus->connected = 0;
  apr_thread_mutex_unlock(bus->lock);
  if (rc != 0 && !bus->stopping)
    ts_log(bus->log, TS_LOG_WARNING, "lost the bus on %s port %d; "
           "reconnecting", bus->host, bus->port);
}

/* A retained message on a topic this client owns. One that this client
 * did not say in this run (an earlier run's, kept by a broker that
 * outlived it or by its persistence) is cleared: what is retained
 * follows what the server knows now. */
static void
clear_stale(ts_bus_t *bus, const char *topic)
{
  size_t plen = strlen(TS_BUS_TOPIC_PREFIX);
  int ours, owned = 0;

  for (int i = 0; i < bus->owned->nelts && !owned; i++) {
    bool match = false;
    mosquitto_topic_matches_sub(APR_ARRAY_IDX(bus->owned, i, const char *),
                                topic, &match);
    owned = match;
  }
  if (!owned)
    return;   /* heard for a subscription only */
  apr_thread_mutex_lock(bus->lock);
  ours = apr_hash_get(bus->retained, topic, APR_HASH_KEY_STRING) != NULL;
  apr_thread_mutex_unlock(bus->lock);
  if (ours)
    return;
  ts_log(bus->log, TS_LOG_INFO, "clearing the retained %s on the bus: an "
         "earlier run said it, and this one knows nothing of it", topic);
  ts_bus_publish(bus, topic + plen, "", 1);
}

/* PAYLOAD heard on TOPIC (with the prefix): to each subscription whose
 * filter matches, outside the lock (a callback may publish). */
static void
hand_out(ts_bus_t *bus, const char *topic, const char *payload, int retained)
{
  size_t plen = strlen(TS_BUS_TOPIC_PREFIX);
  sub_t *subs;
  int n;

  apr_thread_mutex_lock(bus->lock);
  n = bus->subs->nelts;
  subs = n ? malloc(n * sizeof(*subs)) : NULL;
  if (subs)
    memcpy(subs, bus->subs->elts, n * sizeof(*subs));
  apr_thread_mutex_unlock(bus->lock);
  for (int i = 0; subs && i < n; i++) {
    bool match = false;
    mosquitto_topic_matches_sub(subs[i].filter, topic, &match);
    if (match)
      subs[i].heard(subs[i].baton, bus, topic + plen, payload, retained);
  }
  free(subs);
}

/* A message on a topic this client owns or subscribed to. */
static void
on_message(struct mosquitto *m, void *obj,
           const struct mosquitto_message *msg)
{
  ts_bus_t *bus = obj;
  char *payload;

  (void)m;
  if (strncmp(msg->topic, TS_BUS_TOPIC_PREFIX,
              strlen(TS_BUS_TOPIC_PREFIX)) != 0)
    return;
  if (msg->retain && msg->payloadlen > 0)
    clear_stale(bus, msg->topic);
  payload = malloc((size_t)msg->payloadlen + 1);
  if (!payload)
    return;
  if (msg->payloadlen > 0)
    memcpy(payload, msg->payload, (size_t)msg->payloadlen);
  payload[msg->payloadlen] = '\0';
  hand_out(bus, msg->topic, payload, msg->retain ? 1 : 0);
  free(payload);
}

/* On the bus thread, connected: subscribe to the filters of SUBS not
 * subscribed to on this connection yet (an owned one is already). */
static void
subscribe_new(ts_bus_t *bus)
{
  for (;;) {
    const char *filter = NULL;
    int owned = 0;
    apr_thread_mutex_lock(bus->lock);
    if (bus->connected && bus->subscribed < bus->subs->nelts)
      filter = APR_ARRAY_IDX(bus->subs, bus->subscribed++, sub_t).filter;
    apr_thread_mutex_unlock(bus->lock);
    if (!filter)
      return;
    for (int i = 0; i < bus->owned->nelts; i++)
      owned |= strcmp(APR_ARRAY_IDX(bus->owned, i, const char *),
                      filter) == 0;
    if (!owned)
      mosquitto_subscribe(bus->mosq, NULL, filter, 1);
  }
}

/* On the bus thread: send what is queued (or, after a reconnect, every
 * retained message first). */
static void
flush(ts_bus_t *bus)
{
  apr_array_header_t *batch;
  apr_pool_t *scratch;
  int resend;

  apr_pool_create(&scratch, NULL);
  apr_thread_mutex_lock(bus->lock);
  batch = bus->queue;
  bus->queue = bus->spare;
  bus->spare = NULL;
  resend = bus->resend;
  bus->resend = 0;
  if (resend) {
    /* the retained state covers the queued retained messages */
    for (apr_hash_index_t *hi = apr_hash_first(scratch, bus->retained); hi;
         hi = apr_hash_next(hi))
      mosquitto_publish(bus->mosq, NULL, apr_hash_this_key(hi),
                        (int)strlen(apr_hash_this_val(hi)),
                        apr_hash_this_val(hi), 1, true);
  }
  apr_thread_mutex_unlock(bus->lock);
  for (int i = 0; i < batch->nelts; i++) {
    message_t *m = &APR_ARRAY_IDX(batch, i, message_t);
    /* state (retained) at least once; events at most once */
    if (!(resend && m->retain))
      mosquitto_publish(bus->mosq, NULL, m->topic, (int)strlen(m->payload),
                        m->payload, m->retain ? 1 : 0,
                        m->retain ? true : false);
    free(m->topic);
    free(m->payload);
  }
  batch->nelts = 0;
  apr_thread_mutex_lock(bus->lock);
  bus->spare = batch;   /* the two queues take turns; no allocation */
  apr_thread_mutex_unlock(bus->lock);
  apr_pool_destroy(scratch);
}

static void *APR_THREAD_FUNC
bus_thread(apr_thread_t *thread, void *data)
{
  ts_bus_t *bus = data;
  apr_interval_time_t backoff = apr_time_from_msec(200);
  apr_time_t last_tick = 0;
  int socket_open = 0;

  for (;;) {
    int stopping, touched;
    apr_thread_mutex_lock(bus->lock);
    stopping = bus->stopping;
    apr_thread_mutex_unlock(bus->lock);
    if (stopping)
      break;
    if (!socket_open) {
      if (mosquitto_connect(bus->mosq, bus->host, bus->port, 10)
          == MOSQ_ERR_SUCCESS) {
        socket_open = 1;
        backoff = apr_time_from_msec(200);
      }
      else {
        apr_thread_mutex_lock(bus->lock);
        if (!bus->stopping)
          apr_thread_cond_timedwait(bus->wake, bus->lock, backoff);
        apr_thread_mutex_unlock(bus->lock);
        backoff = backoff * 2 > MAX_BACKOFF / 6 ? MAX_BACKOFF / 6
                                                 : backoff * 2;
        continue;
      }
    }
    apr_thread_mutex_lock(bus->lock);
    touched = bus->touched && bus->connected
              && apr_time_now() - last_tick >= apr_time_from_msec(250);
    if (touched)
      bus->touched = 0;
    apr_thread_mutex_unlock(bus->lock);
    if (touched && bus->tick) {
      last_tick = apr_time_now();
      bus->tick(bus->baton, bus);
    }
    if (ts_bus_connected(bus)) {
      subscribe_new(bus);
      flush(bus);
    }
    if (mosquitto_loop(bus->mosq, 100, 1) != MOSQ_ERR_SUCCESS) {
      mosquitto_disconnect(bus->mosq);
      socket_open = 0;
      apr_thread_mutex_lock(bus->lock);
      bus->connected = 0;
      apr_thread_mutex_unlock(bus->lock);
    }
  }
  if (socket_open) {
    if (bus->final_payload && ts_bus_connected(bus)) {
      flush(bus);
      mosquitto_publish(bus->mosq, NULL, bus->will_topic,
                        (int)strlen(bus->final_payload), bus->final_payload,
                        1, true);
      for (int i = 0; i < 20 && mosquitto_want_write(bus->mosq); i++)
        mosquitto_loop(bus->mosq, 50, 1);
      mosquitto_loop(bus->mosq, 50, 1);
    }
    mosquitto_disconnect(bus->mosq);
    mosquitto_loop(bus->mosq, 50, 1);
  }
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

const char *
ts_bus_client_id(const char *client_id, const ts_bus_login_t *login,
                 apr_pool_t *pool)
{
  unsigned char tag[8];
  char hex[2 * sizeof(tag) + 1];
  crypto_generichash_state st;

  if (!login)
    return apr_pstrdup(pool, client_id);
  /* a hash of the password and the id: stable across restarts (a
   * restarted server takes its own stale connection over), unknown to
   * whoever lacks the password. Hex: no '+' or '#', which the broker's
   * ACL patterns refuse in ids. */
  crypto_generichash_init(&st, NULL, 0, sizeof(tag));
  crypto_generichash_update(&st, (const unsigned char *)login->password,
                            strlen(login->password) + 1);   /* with NUL */
  crypto_generichash_update(&st, (const unsigned char *)client_id,
                            strlen(client_id));
  crypto_generichash_final(&st, tag, sizeof(tag));
  sodium_bin2hex(hex, sizeof(hex), tag, sizeof(tag));
  return apr_pstrcat(pool, client_id, "-", hex, NULL);
}

ts_error_t *
ts_bus_open(ts_bus_t **bus_p, const char *host, int port,
            const char *client_id, const ts_bus_login_t *login,
            const char *will_topic, const char *will_payload,
            const char *const *owned, ts_bus_tick_t tick, void *baton,
            ts_log_t *log, apr_pool_t *pool)
{
  ts_bus_t *bus = apr_pcalloc(pool, sizeof(*bus));
  apr_status_t s;

  mosquitto_lib_init();
  if (login && sodium_init() < 0)
    return ts_error_createf(TS_EOS, "cannot initialize libsodium for the "
                            "bus client id");
  bus->host = apr_pstrdup(pool, host);
  bus->port = port;
  bus->client_id = ts_bus_client_id(client_id, login, pool);
  bus->user = login ? apr_pstrdup(pool, login->username) : NULL;
  bus->will_topic = apr_pstrcat(pool, TS_BUS_TOPIC_PREFIX, will_topic, NULL);
  bus->owned = apr_array_make(pool, 4, sizeof(const char *));
  for (; owned && *owned; owned++)
    APR_ARRAY_PUSH(bus->owned, const char *) =
      apr_pstrcat(pool, TS_BUS_TOPIC_PREFIX, *owned, NULL);
  bus->tick = tick;
  bus->baton = baton;
  bus->log = log;
  /* its own: publishing threads add retained topics to it under LOCK,
   * while the caller goes on allocating from POOL (a shared pool was
   * corrupted that way when the bus thread published at start) */
  apr_pool_create(&bus->pool, pool);
  bus->queue = apr_array_make(bus->pool, 64, sizeof(message_t));
  bus->spare = apr_array_make(bus->pool, 64, sizeof(message_t));
  bus->retained = apr_hash_make(bus->pool);
  bus->subs = apr_array_make(bus->pool, 2, sizeof(sub_t));
  apr_thread_mutex_create(&bus->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&bus->wake, pool);
  bus->mosq = mosquitto_new(bus->client_id, true, bus);
  if (!bus->mosq)
    return ts_error_createf(TS_EOS, "cannot create the bus client (out of "
                            "memory)");
  if (login && mosquitto_username_pw_set(bus->mosq, login->username,
                                         login->password)
                != MOSQ_ERR_SUCCESS) {
    mosquitto_destroy(bus->mosq);
    return ts_error_createf(TS_EOS, "cannot set the bus login of %s (out "
                            "of memory)", login->username);
  }
  mosquitto_will_set(bus->mosq, bus->will_topic, (int)strlen(will_payload),
                     will_payload, 1, true);
  mosquitto_connect_callback_set(bus->mosq, on_connect);
  mosquitto_disconnect_callback_set(bus->mosq, on_disconnect);
  mosquitto_message_callback_set(bus->mosq, on_message);
  s = apr_thread_create(&bus->thread, NULL, bus_thread, bus, pool);
  if (s) {
    mosquitto_destroy(bus->mosq);
    return ts_error_aprf(s, "cannot start the bus client thread");
  }
  *bus_p = bus;
  return NULL;
}

void
ts_bus_publish(ts_bus_t *bus, const char *topic, const char *payload,
               int retain)
{
  char *full;
  message_t *m;

  if (!bus)
    return;
  full = malloc(strlen(TS_BUS_TOPIC_PREFIX) + strlen(topic) + 1);
  strcpy(full, TS_BUS_TOPIC_PREFIX);
  strcat(full, topic);
  apr_thread_mutex_lock(bus->lock);
  if (retain) {
    const char *last = apr_hash_get(bus->retained, full,
                                    APR_HASH_KEY_STRING);
    if (last && strcmp(last, payload) == 0) {
      apr_thread_mutex_unlock(bus->lock);
      free(full);
      return;
    }
    /* Keys live as long as the bus (topics are few; APR keeps the key
     * stored first); values are replaced. */
    apr_hash_set(bus->retained, last ? full : apr_pstrdup(bus->pool, full),
                 APR_HASH_KEY_STRING, strdup(payload));
    free((void *)last);
    if (!bus->connected) {
      /* sent with the whole retained state once connected */
      apr_thread_mutex_unlock(bus->lock);
      free(full);
      return;
    }
  }
  else if (!bus->connected || bus->queue->nelts >= MAX_QUEUE) {
    bus->dropped++;   /* events are for who listens now; never pile up */
    apr_thread_mutex_unlock(bus->lock);
    free(full);
    return;
  }
  m = apr_array_push(bus->queue);
  m->topic = full;
  m->payload = strdup(payload);
  m->retain = retain;
  apr_thread_mutex_unlock(bus->lock);
}

void
ts_bus_subscribe(ts_bus_t *bus, const char *filter, ts_bus_heard_t heard,
                 void *baton)
{
  sub_t *s;

  if (!bus)
    return;
  apr_thread_mutex_lock(bus->lock);
  s = apr_array_push(bus->subs);
  s->filter = apr_pstrcat(bus->pool, TS_BUS_TOPIC_PREFIX, filter, NULL);
  s->heard = heard;
  s->baton = baton;
  apr_thread_mutex_unlock(bus->lock);
  /* the bus thread subscribes (it owns the handle), within 100 ms */
}

void
ts_bus_restore(ts_bus_t *bus, const char *topic)
{
  char *full;
  const char *last;
  message_t *m;

  if (!bus)
    return;
  full = malloc(strlen(TS_BUS_TOPIC_PREFIX) + strlen(topic) + 1);
  strcpy(full, TS_BUS_TOPIC_PREFIX);
  strcat(full, topic);
  apr_thread_mutex_lock(bus->lock);
  last = apr_hash_get(bus->retained, full, APR_HASH_KEY_STRING);
  if (!last) {
    /* said nothing there: an empty message, also at every reconnect */
    last = strdup("");
    apr_hash_set(bus->retained, apr_pstrdup(bus->pool, full),
                 APR_HASH_KEY_STRING, last);
  }
  if (!bus->connected) {
    /* sent with the whole retained state once connected */
    apr_thread_mutex_unlock(bus->lock);
    free(full);
    return;
  }
  m = apr_array_push(bus->queue);
  m->topic = full;
  m->payload = strdup(last);
  m->retain = 1;
  apr_thread_mutex_unlock(bus->lock);
}

void
ts_bus_touch(ts_bus_t *bus)
{
  if (!bus)
    return;
  apr_thread_mutex_lock(bus->lock);
  bus->touched = 1;
  apr_thread_mutex_unlock(bus->lock);
}

apr_uint64_t
ts_bus_dropped(ts_bus_t *bus)
{
  apr_uint64_t n;

  if (!bus)
    return 0;
  apr_thread_mutex_lock(bus->lock);
  n = bus->dropped;
  apr_thread_mutex_unlock(bus->lock);
  return n;
}

int
ts_bus_connected(ts_bus_t *bus)
{
  int c;

  if (!bus)
    return 0;
  apr_thread_mutex_lock(bus->lock);
  c = bus->connected;
  apr_thread_mutex_unlock(bus->lock);
  return c;
}

void
ts_bus_close(ts_bus_t *bus, const char *final_payload)
{
  apr_status_t ignored;

  if (!bus)
    return;
  apr_thread_mutex_lock(bus->lock);
  bus->stopping = 1;
  bus->final_payload = final_payload;
  apr_thread_cond_signal(bus->wake);
  apr_thread_mutex_unlock(bus->lock);
  apr_thread_join(&ignored, bus->thread);
  mosquitto_destroy(bus->mosq);
  for (int i = 0; i < bus->queue->nelts; i++) {
    message_t *m = &APR_ARRAY_IDX(bus->queue, i, message_t);
    free(m->topic);
    free(m->payload);
  }
  bus->queue->nelts = 0;
  for (apr_hash_index_t *hi = apr_hash_first(bus->pool, bus->retained); hi;
       hi = apr_hash_next(hi))
    free(apr_hash_this_val(hi));
  apr_hash_clear(bus->retained);
}

/* ---- a one-shot look at a bus ------------------------------------------- */

typedef struct probe_t {
  char *payload;
} probe_t;

static void
probe_message(struct mosquitto *m, void *obj,
              const struct mosquitto_message *msg)
{
  probe_t *p = obj;

  (void)m;
  if (!p->payload && msg->payloadlen > 0) {
    p->payload = malloc((size_t)msg->payloadlen + 1);
    memcpy(p->payload, msg->payload, (size_t)msg->payloadlen);
    p->payload[msg->payloadlen] = '\0';
  }
}

ts_error_t *
ts_bus_read_retained(const char **payload, const char *host, int port,
                     const char *topic, apr_interval_time_t timeout,
                     apr_pool_t *pool)
{
  probe_t p = { NULL };
  struct mosquitto *m;
  const char *full = apr_pstrcat(pool, TS_BUS_TOPIC_PREFIX, topic, NULL);
  apr_time_t until = apr_time_now() + timeout;
  int rc;

  mosquitto_lib_init();
  m = mosquitto_new(NULL, true, &p);
  if (!m)
    return ts_error_createf(TS_EOS, "cannot create a bus client");
  mosquitto_message_callback_set(m, probe_message);
  rc = mosquitto_connect(m, host, port, 5);
  if (rc == MOSQ_ERR_SUCCESS)
    rc = mosquitto_subscribe(m, NULL, full, 0);
  while (rc == MOSQ_ERR_SUCCESS && !p.payload && apr_time_now() < until)
    rc = mosquitto_loop(m, 100, 1);
  mosquitto_disconnect(m);
  mosquitto_destroy(m);
  *payload = p.payload ? apr_pstrdup(pool, p.payload) : NULL;
  free(p.payload);
  if (rc != MOSQ_ERR_SUCCESS)
    return ts_error_createf(TS_EUNAVAIL, "no MQTT broker answers on %s port "
                            "%d: %s", host, port, mosquitto_strerror(rc));
  return NULL;
}
