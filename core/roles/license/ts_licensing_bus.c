/* ts_licensing_bus.c: what the license server says (README, "The bus"):
 * its state and each product's seats, retained and at most 4 times a
 * second (the bus thread's tick); every seat given or taken, as an event
 * and in the audit log; model servers and project license servers coming
 * and going. Publishing never blocks a request: ts_bus_publish queues.
 *
 * What is retained follows what the API shows: a product that left the
 * license, a model server or project license server no longer listed
 * gets an empty retained message (the topic is cleared), and so does
 * what an earlier run left retained that this one does not know.
 *
 * It also listens on model-servers/+ for model servers' last wills: the
 * broker publishes a model server's {"state":"down",...} there the moment
 * its connection breaks (kill -9, a crash), and a registered model
 * server that is up is marked gone at once, its seats freed, long before
 * the prober would notice. */
#include "ts_licensing.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_version.h"

/* Retained on license/state when the connection breaks, and after a
 * clean stop. */
#define WILL "{\"state\":\"down\",\"reason\":\"the license server's bus " \
             "connection broke\"}"
#define STOPPED "{\"state\":\"stopped\"}"

/* The topics only the license server says (license/state is its will). */
static const char *const owned[] = { "products/+", "model-servers/+",
                                     "projects/+", "agents/+", NULL };

ts_bus_t *
ts_licensing_bus(ts_licensing_t *lc)
{
  ts_bus_t *bus;

  apr_thread_mutex_lock(lc->lock);
  bus = lc->bus;
  apr_thread_mutex_unlock(lc->lock);
  return bus;
}

static void
say_on(ts_bus_t *bus, const char *topic, json_t *j, int retain)
{
  char *text;

  if (bus && (text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
    ts_bus_publish(bus, topic, text, retain);
    free(text);
  }
  json_decref(j);
}

void
ts_licensing_say(ts_licensing_t *lc, const char *topic, json_t *j,
                 int retain)
{
  say_on(ts_licensing_bus(lc), topic, j, retain);
}

void
ts_licensing_clear(ts_licensing_t *lc, const char *topic)
{
  ts_bus_publish(ts_licensing_bus(lc), topic, "", 1);
}

void
ts_licensing_event(ts_licensing_t *lc, json_t *event)
{
  char *line = ts_audit_line(event);
  ts_bus_t *bus = ts_licensing_bus(lc);

  ts_error_t *err;

  if (!line)
    ts_log(lc->log, TS_LOG_ERROR, "out of memory: an event was neither "
           "audited nor published");
  err = ts_audit_write(lc->audit, line);
  if (err) {
    /* the record goes to the server's log instead, and is counted */
    apr_pool_t *scratch;
    apr_thread_mutex_lock(lc->lock);
    lc->audit_failures++;
    apr_thread_mutex_unlock(lc->lock);
    apr_pool_create(&scratch, NULL);
    ts_log(lc->log, TS_LOG_ERROR, "%s; the record, kept here instead: %s",
           ts_error_text(err, scratch), line);
    apr_pool_destroy(scratch);
    ts_error_clear(err);
  }
  if (bus && line)
    ts_bus_publish(bus, "license/events", line, 0);
  free(line);
  json_decref(event);
  ts_bus_touch(bus);
}

/* The bus thread's: products/<name> of a product no longer in the
 * license in force (PRODUCTS) but said before (NAMES) are cleared; NAMES
 * becomes what PRODUCTS holds (its pool grows only by names never seen
 * before). */
static void
clear_products(ts_bus_t *bus, apr_hash_t *names, json_t *products)
{
  apr_pool_t *scratch;
  apr_hash_t *now;
  json_t *p;
  size_t i;

  apr_pool_create(&scratch, NULL);
  now = apr_hash_make(scratch);
  json_array_foreach(products, i, p) {
    const char *name = json_string_value(json_object_get(p, "name"));
    apr_hash_set(now, name, APR_HASH_KEY_STRING, name);
    if (!apr_hash_get(names, name, APR_HASH_KEY_STRING)) {
      name = apr_pstrdup(apr_hash_pool_get(names), name);
      apr_hash_set(names, name, APR_HASH_KEY_STRING, name);
    }
  }
  for (apr_hash_index_t *hi = apr_hash_first(scratch, names); hi;
       hi = apr_hash_next(hi)) {
    const char *name = apr_hash_this_key(hi);
    if (apr_hash_get(now, name, APR_HASH_KEY_STRING))
      continue;
    ts_bus_publish(bus, apr_pstrcat(scratch, "products/", name, NULL), "",
                   1);
    apr_hash_set(names, name, APR_HASH_KEY_STRING, NULL);
  }
  apr_pool_destroy(scratch);
}

/* The bus thread's tick: the state and the seats, retained. */
static void
tick(void *baton, ts_bus_t *bus)
{
  ts_licensing_t *lc = baton;
  json_t *products = ts_licensing_products(lc), *p, *state;
  size_t i;

  apr_thread_mutex_lock(lc->lock);
  state = json_pack("{s:s, s:s, s:i, s:s?, s:s?}", "state", "up", "version",
                    TS_VERSION, "port", lc->o.port, "license",
                    lc->license ? lc->license->id : NULL, "project",
                    lc->o.project);
  apr_thread_mutex_unlock(lc->lock);
  say_on(bus, "license/state", state, 1);
  clear_products(bus, lc->said_products, products);
  json_array_foreach(products, i, p) {
    char topic[128];
    if (json_is_null(json_object_get(p, "used")))
      continue;   /* not counted now: the retained count stays */
    apr_snprintf(topic, sizeof(topic), "products/%s",
                 json_string_value(json_object_get(p, "name")));
    say_on(bus, topic, json_incref(p), 1);
  }
  json_decref(products);
}

/* A message on model-servers/+ (the bus thread). Only a last will
 * {"state":"down"} counts, and only from a model server that is
 * registered and up (and, when the will names a "pid", is that process):
 * it is marked gone now, which frees its seats and says "gone" there.
 * What the license server says there itself comes back to it ("up",
 * "gone", or empty) and is left alone; any other "down" (from a server
 * not registered, or gone already) is undone: the topic is the license
 * server's, and keeps what it said. */
static void
heard_model_server(void *baton, ts_bus_t *bus, const char *topic,
                   const char *payload, int retained)
{
  ts_licensing_t *lc = baton;
  json_t *j = *payload ? json_loads(payload, 0, NULL) : NULL;
  const char *state = json_string_value(json_object_get(j, "state"));
  json_t *pid = json_object_get(j, "pid");
  const char *id = strchr(topic, '/') + 1;   /* "model-servers/<id>" */
  apr_pool_t *pool;

  if (!state || strcmp(state, "down") != 0) {
    json_decref(j);
    return;
  }
  apr_pool_create(&pool, NULL);
  if (!ts_registry_mark_gone(lc->registry, id, json_is_integer(pid)
                             ? (long)json_integer_value(pid) : 0,
                             apr_psprintf(pool, "its bus connection broke "
                                          "(the last will on %s%s%s)",
                                          TS_BUS_TOPIC_PREFIX, topic,
                                          retained ? ", retained" : ""),
                             pool)) {
    ts_log(lc->log, TS_LOG_INFO, "a last will on %s%s changes nothing: no "
           "model server %s that is up is registered%s", TS_BUS_TOPIC_PREFIX,
           ts_log_quote(topic, TS_LOG_VALUE_MAX, pool),
           ts_log_quote(id, TS_LOG_VALUE_MAX, pool),
           json_is_integer(pid) ? " with that pid" : "");
    ts_bus_restore(bus, topic);
  }
  apr_pool_destroy(pool);
  json_decref(j);
}

ts_error_t *
ts_licensing_bus_connect(ts_licensing_t *lc, const char *address, int port,
                         const ts_bus_login_t *login, apr_pool_t *pool)
{
  ts_bus_t *bus;
  apr_pool_t *names;

  /* the bus thread's alone (see clear_products) */
  apr_pool_create(&names, pool);
  lc->said_products = apr_hash_make(names);
  TS_ERR(ts_bus_open(&bus, address, port, apr_psprintf(pool,
                     "tessera-license-%d", lc->o.port), login,
                     "license/state", WILL, owned, tick, lc, lc->log,
                     pool));
  apr_thread_mutex_lock(lc->lock);
  lc->bus = bus;
  apr_thread_mutex_unlock(lc->lock);
  /* once the verdict's "gone" has a connection to go out on */
  ts_bus_subscribe(bus, "model-servers/+", heard_model_server, lc);
  ts_bus_touch(bus);
  return NULL;
}

void
ts_licensing_bus_disconnect(ts_licensing_t *lc)
{
  ts_bus_t *bus;

  /* detached first: the bus thread's tick and the request threads call
   * into the licensing until then */
  apr_thread_mutex_lock(lc->lock);
  bus = lc->bus;
  lc->bus = NULL;
  apr_thread_mutex_unlock(lc->lock);
  ts_bus_close(bus, STOPPED);
}

void
ts_licensing_model_server_changed(void *baton, const ts_model_server_t *ms,
                                  int up, const char *reason)
{
  ts_licensing_t *lc = baton;
  json_t *models = json_array(), *extra;
  char topic[320];
  int released = 0;
  ts_error_t *err;

  for (int i = 0; i < ms->models->nelts; i++)
    json_array_append_new(models, json_string(APR_ARRAY_IDX(ms->models, i,
                                                            const char *)));
  apr_snprintf(topic, sizeof(topic), "model-servers/%s", ms->id);
  ts_licensing_say(lc, topic, json_pack("{s:s, s:s, s:s, s:i, s:o, s:s}",
                   "state", up ? "up" : "gone", "repository", ms->repository,
                   "host", ms->host, "port", ms->port, "models", models,
                   "reason", reason), 1);
  if (up)
    return;
  extra = json_pack("{s:s}", "reason", reason);
  err = ts_licensing_free_server_seats(&released, lc, ms->id, extra);
  if (err) {
    ts_log_error(lc->log, TS_LOG_ERROR, err, "freeing the seats of a model "
                 "server that is gone");
    ts_error_clear(err);
  }
  else if (released)
    ts_log(lc->log, TS_LOG_INFO, "freed %d seat%s used with model server %s",
           released, released == 1 ? "" : "s", ms->id);
  json_decref(extra);
}

void
ts_licensing_model_server_forgotten(void *baton, const char *id)
{
  ts_licensing_t *lc = baton;
  char topic[320];

  apr_snprintf(topic, sizeof(topic), "model-servers/%s", id);
  ts_licensing_clear(lc, topic);
}
