/* ts_licensing_agents.c: the agents (`tesserad agent`, SPEC §1) that
 * report to the license server, as proxies and project license servers
 * do:
 *
 *   POST   /v1/agents        {"host","port","inoprj","os","versions":
 *                            [{"model","version","state","host","port",
 *                            "pid","users"}...]} with the server
 *                            credential: at start, then every gone-after
 *                            / 3 as its heartbeat, with the versions of
 *                            its INOPRJ and where they run as it sees
 *                            them now
 *   DELETE /v1/agents/{id}   a clean stop ({id}: "<host>:<port>"): no
 *                            longer listed
 *   GET    /v1/agents        those that report: up, gone after the
 *                            gone-after interval of silence, forgotten an
 *                            hour later
 *
 * The retained agents/<host>:<port> on the bus says the same, in the same
 * critical section as the change (cleared once the agent is no longer
 * listed); the timer thread (ts_licensing_timer.c) makes the changes of
 * time alone when they are due. Soft state, like the registry: after a
 * restart of the license server the list fills again within one report
 * interval.
 */
#include "ts_licensing.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"
#include "ts_project.h"

/* Gone agents are forgotten this long after their last report. */
#define FORGET_AFTER apr_time_from_sec(3600)

typedef struct agent_t {
  char id[272];                 /* "<host>:<port>", the table's key */
  char host[256];
  int port;
  char inoprj[40];              /* the INOPRJ's identity (a UUID) */
  char os[130];                 /* "" when it did not say */
  json_t *versions;             /* the last report's, normalised */
  apr_time_t last_seen;
  int up;
} agent_t;

struct ts_licensing_agents_t {
  apr_thread_mutex_t *lock;     /* guards TABLE, SPARE, POOL and what the
                                   bus is told of agents */
  apr_hash_t *table;            /* id -> agent_t */
  apr_array_header_t *spare;    /* agent_t *: forgotten, for reuse */
  apr_interval_time_t gone_after;
  apr_pool_t *pool;
};

ts_licensing_agents_t *
ts_licensing_agents_create(int gone_after_seconds, apr_pool_t *pool)
{
  ts_licensing_agents_t *a = apr_pcalloc(pool, sizeof(*a));

  /* a pool of its own: request threads allocate entries under LOCK */
  apr_pool_create(&a->pool, pool);
  a->table = apr_hash_make(a->pool);
  a->spare = apr_array_make(a->pool, 4, sizeof(agent_t *));
  a->gone_after = apr_time_from_sec(gone_after_seconds);
  apr_thread_mutex_create(&a->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  return a;
}

void
ts_licensing_agents_destroy(ts_licensing_agents_t *a)
{
  if (!a)
    return;
  for (apr_hash_index_t *hi = apr_hash_first(NULL, a->table); hi;
       hi = apr_hash_next(hi))
    json_decref(((agent_t *)apr_hash_this_val(hi))->versions);
  apr_hash_clear(a->table);
}

/* Under the agents' lock: what the API (WITH_TIME) and the bus show of
 * G; nothing of the entry is shared with it (the versions are copied). */
static json_t *
agent_json(const agent_t *g, int with_time)
{
  json_t *j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s?, s:o}", "id", g->id,
                        "host", g->host, "port", g->port, "state",
                        g->up ? "up" : "gone", "inoprj", g->inoprj, "os",
                        *g->os ? g->os : NULL, "versions",
                        json_deep_copy(g->versions));

  if (with_time)
    json_object_set_new(j, "last_seen_ms",
                        json_integer(apr_time_as_msec(g->last_seen)));
  return j;
}

json_t *
ts_licensing_agents_json(ts_licensing_t *lc)
{
  ts_licensing_agents_t *a = lc->agents;
  json_t *arr = json_array();

  apr_thread_mutex_lock(a->lock);
  for (apr_hash_index_t *hi = apr_hash_first(NULL, a->table); hi;
       hi = apr_hash_next(hi))
    json_array_append_new(arr, agent_json(apr_hash_this_val(hi), 1));
  apr_thread_mutex_unlock(a->lock);
  return arr;
}

/* Under the agents' lock: G on the bus (FORGOTTEN: cleared). */
static void
say_agent(ts_licensing_t *lc, const agent_t *g, int forgotten)
{
  char topic[300];

  apr_snprintf(topic, sizeof(topic), "agents/%s", g->id);
  if (forgotten)
    ts_licensing_clear(lc, topic);
  else
    ts_licensing_say(lc, topic, agent_json(g, 0), 1);
}

/* Under the agents' lock: take G out of the table (its struct is kept
 * for reuse, its versions freed). */
static void
forget(ts_licensing_agents_t *a, agent_t *g)
{
  apr_hash_set(a->table, g->id, APR_HASH_KEY_STRING, NULL);
  json_decref(g->versions);
  g->versions = NULL;
  APR_ARRAY_PUSH(a->spare, agent_t *) = g;
}

/* A report R (its VERSIONS taken) from agent ID, as of now: listed, and
 * said on the bus when what it shows changed (a heartbeat that changes
 * nothing says nothing). Whether it is new or was gone. */
static int
reported(ts_licensing_t *lc, const agent_t *r, json_t *versions)
{
  ts_licensing_agents_t *a = lc->agents;
  agent_t *g;
  int fresh;

  apr_thread_mutex_lock(a->lock);
  g = apr_hash_get(a->table, r->id, APR_HASH_KEY_STRING);
  fresh = !g || !g->up;
  if (!g) {
    g = a->spare->nelts ? APR_ARRAY_IDX(a->spare, --a->spare->nelts,
                                        agent_t *)
                        : apr_palloc(a->pool, sizeof(*g));
    *g = *r;
    apr_hash_set(a->table, g->id, APR_HASH_KEY_STRING, g);
  }
  else {
    json_decref(g->versions);
    memcpy(g->inoprj, r->inoprj, sizeof(g->inoprj));
    memcpy(g->os, r->os, sizeof(g->os));
  }
  g->versions = versions;
  g->last_seen = apr_time_now();
  g->up = 1;
  say_agent(lc, g, 0);   /* the bus drops what it said last time */
  apr_thread_mutex_unlock(a->lock);
  return fresh;
}

apr_time_t
ts_licensing_agents_settle(ts_licensing_t *lc, apr_time_t now)
{
  ts_licensing_agents_t *a = lc->agents;
  apr_time_t next = 0;
  apr_pool_t *pool;
  apr_array_header_t *gone;

  apr_pool_create(&pool, NULL);
  gone = apr_array_make(pool, 1, sizeof(const char *));
  apr_thread_mutex_lock(a->lock);
  for (apr_hash_index_t *hi = apr_hash_first(pool, a->table); hi;
       hi = apr_hash_next(hi)) {
    agent_t *g = apr_hash_this_val(hi);
    apr_time_t due;
    if (g->up && now - g->last_seen >= a->gone_after) {
      g->up = 0;
      say_agent(lc, g, 0);
      APR_ARRAY_PUSH(gone, const char *) = apr_pstrdup(pool, g->id);
    }
    if (!g->up && now - g->last_seen >= FORGET_AFTER) {
      say_agent(lc, g, 1);
      forget(a, g);   /* APR's iteration allows taking out the current */
      continue;
    }
    due = g->last_seen + (g->up ? a->gone_after : FORGET_AFTER);
    if (!next || due < next)
      next = due;
  }
  apr_thread_mutex_unlock(a->lock);
  for (int i = 0; i < gone->nelts; i++)
    ts_log(lc->log, TS_LOG_WARNING, "agent %s is gone: no report for %d s",
           APR_ARRAY_IDX(gone, i, const char *),
           (int)apr_time_sec(a->gone_after));
  apr_pool_destroy(pool);
  return next;
}

/* Whether S is text of 1..MAX bytes without control characters (a user
 * name, an operating system's name: shown in tables and logs). */
static int
valid_text(const char *s, size_t max)
{
  size_t n = s ? strlen(s) : 0;

  if (n == 0 || n > max)
    return 0;
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 || *s == 0x7f)
      return 0;
  return 1;
}

/* "users": a count, or a list of who uses the version. */
static int
valid_users(json_t *users)
{
  json_t *u;
  size_t i;

  if (json_is_integer(users))
    return json_integer_value(users) >= 0;
  if (!json_is_array(users))
    return 0;
  json_array_foreach(users, i, u)
    if (!valid_text(json_string_value(u), 256))
      return 0;
  return 1;
}

/* V, or null when it is absent, null, 0 or "" (a version not running has
 * no host, port or pid). */
static json_t *
or_null(json_t *v)
{
  if (!v || (json_is_integer(v) && json_integer_value(v) == 0)
      || (json_is_string(v) && !*json_string_value(v)))
    return json_null();
  return json_deep_copy(v);
}

static const char *const version_states[] = {
  "stopped", "starting", "running", "stopping", "crashed", NULL
};

/* Version I of a report, V, normalised as *OUT; NULL, or what is wrong
 * (for people). */
static const char *
parse_version(json_t **out, json_t *v, size_t i, apr_pool_t *pool)
{
  const char *model = NULL, *version = NULL, *state = NULL;
  json_t *host = NULL, *port = NULL, *pid = NULL, *users = NULL;
  json_error_t jerr;
  int known = 0;

  if (json_unpack_ex(v, &jerr, 0, "{s:s, s:s, s:s, s?o, s?o, s?o, s?o}",
                     "model", &model, "version", &version, "state", &state,
                     "host", &host, "port", &port, "pid", &pid, "users",
                     &users))
    return apr_psprintf(pool, _("versions[%d] must be {\"model\", "
                        "\"version\", \"state\", \"host\", \"port\", "
                        "\"pid\", \"users\"}: %s"), (int)i, jerr.text);
  for (const char *const *s = version_states; *s; s++)
    known |= strcmp(*s, state) == 0;
  host = json_is_null(host) ? NULL : host;
  port = json_is_null(port) ? NULL : port;
  pid = json_is_null(pid) ? NULL : pid;
  users = json_is_null(users) ? NULL : users;
  if (!known || !ts_registry_valid_name(model)
      || !ts_registry_valid_name(version)
      || (host && !(json_is_string(host)
                    && (!*json_string_value(host)
                        || ts_registry_valid_host(json_string_value(host)))))
      || (port && !(json_is_integer(port) && json_integer_value(port) >= 0
                    && json_integer_value(port) <= 65535))
      || (pid && !(json_is_integer(pid) && json_integer_value(pid) >= 0))
      || (users && !valid_users(users)))
    return apr_psprintf(pool, _("versions[%d] is invalid: model and "
                        "version are names (1..128 of A-Z a-z 0-9 . _ -), "
                        "state is stopped, starting, running, stopping or "
                        "crashed, host a name or address (or null), port "
                        "0..65535 (or null), pid a number (or null), users "
                        "a count or a list of user names"), (int)i);
  *out = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "model", model,
                   "version", version, "state", state, "host",
                   or_null(host), "port", or_null(port), "pid",
                   or_null(pid), "users", users ? json_deep_copy(users)
                                                : json_null());
  return NULL;
}

/* A report J as G and *VERSIONS (normalised, the caller's); NULL, or
 * what is wrong (for people). The project's identity is "inoprj" (or
 * "inoprj_id"); "os" may be absent. */
static const char *
parse_report(agent_t *g, json_t **versions, json_t *j, apr_pool_t *pool)
{
  const char *host = NULL, *inoprj, *problem;
  json_t *id1 = NULL, *id2 = NULL, *os = NULL, *vs = NULL, *v;
  json_int_t port = 0;
  json_error_t jerr;
  size_t i;

  if (json_unpack_ex(j, &jerr, 0, "{s:s, s:I, s?o, s?o, s?o, s:o}", "host",
                     &host, "port", &port, "inoprj", &id1, "inoprj_id",
                     &id2, "os", &os, "versions", &vs))
    return apr_psprintf(pool, _("the body must be {\"host\", \"port\", "
                        "\"inoprj\": the project's identity (the UUID in "
                        "<name>.inoprj.uuid), \"os\", \"versions\": "
                        "[...]}: %s"), jerr.text);
  inoprj = json_string_value(id1 ? id1 : id2);
  if (!ts_registry_valid_host(host) || port < 1 || port > 65535
      || !inoprj || strlen(inoprj) != 36 || !ts_project_uuid_valid(inoprj)
      || (os && !json_is_null(os) && !valid_text(json_string_value(os),
                                                 sizeof(g->os) - 2))
      || !json_is_array(vs))
    return _("invalid agent report: host is a name or address, port "
             "1..65535, inoprj the UUID of <name>.inoprj.uuid, os a name "
             "(or null), versions an array");
  apr_snprintf(g->id, sizeof(g->id), "%s:%d", host, (int)port);
  apr_cpystrn(g->host, host, sizeof(g->host));
  g->port = (int)port;
  apr_cpystrn(g->inoprj, inoprj, sizeof(g->inoprj));
  apr_cpystrn(g->os, json_is_string(os) ? json_string_value(os) : "",
              sizeof(g->os));
  *versions = json_array();
  json_array_foreach(vs, i, v) {
    json_t *one = NULL;
    if ((problem = parse_version(&one, v, i, pool)) != NULL)
      return problem;
    json_array_append_new(*versions, one);
  }
  return NULL;
}

static void
report(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  apr_interval_time_t gone_after = lc->agents->gone_after;
  agent_t g;
  json_t *j, *versions = NULL;
  const char *problem;
  size_t n;

  (void)args;
  memset(&g, 0, sizeof(g));
  if (!ts_registry_authentic(reply, lc->registry, req, "an agent's report",
                             pool))
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  problem = parse_report(&g, &versions, j, pool);
  json_decref(j);
  if (problem) {
    json_decref(versions);
    ts_http_reply_error(reply, 400, problem, pool);
    return;
  }
  n = json_array_size(versions);
  if (reported(lc, &g, versions)) {
    ts_log(lc->log, TS_LOG_INFO, "agent %s reports: INOPRJ %s, %s, %lu "
           "version%s", g.id, g.inoprj, *g.os ? g.os : "os not said",
           (unsigned long)n, n == 1 ? "" : "s");
    ts_licensing_timer_wake(lc);   /* it is due to be gone */
  }
  ts_http_reply_json(reply, 201, json_pack("{s:s, s:s, s:I, s:I}", "id",
                     g.id, "state", "up", "heartbeat_seconds",
                     (json_int_t)(apr_time_sec(gone_after) >= 3
                                  ? apr_time_sec(gone_after) / 3 : 1),
                     "gone_after_seconds",
                     (json_int_t)apr_time_sec(gone_after)), pool);
}

static void
listing(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        const char *const *args, apr_pool_t *pool)
{
  (void)req;
  (void)args;
  ts_http_reply_json(reply, 200, json_pack("{s:o}", "agents",
                     ts_licensing_agents_json(baton)), pool);
}

static void
unregister(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
           const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  ts_licensing_agents_t *a = lc->agents;
  const char *id = args[0];
  agent_t *g;

  if (!ts_registry_authentic(reply, lc->registry, req, apr_psprintf(pool,
                             "unregistering agent %s",
                             ts_registry_valid_host(id) ? id : "(invalid)"),
                             pool))
    return;
  apr_thread_mutex_lock(a->lock);
  g = apr_hash_get(a->table, id, APR_HASH_KEY_STRING);
  if (g) {
    say_agent(lc, g, 1);
    forget(a, g);
  }
  apr_thread_mutex_unlock(a->lock);
  if (!g) {
    ts_http_reply_error(reply, 404, apr_psprintf(pool, _("agent %s is not "
                        "listed"), ts_log_quote(id, TS_LOG_VALUE_MAX,
                                                pool)), pool);
    return;
  }
  ts_log(lc->log, TS_LOG_INFO, "agent %s stopped (unregistered)", id);
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "id", id,
                                           "unregistered", 1), pool);
}

const ts_route_t ts_licensing_agent_routes[] = {
  { "POST", "/v1/agents", report },
  { "GET", "/v1/agents", listing },
  { "DELETE", "/v1/agents/{id}", unregister },
  { NULL, NULL, NULL }
};
