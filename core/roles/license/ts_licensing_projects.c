/* ts_licensing_projects.c: project license servers (`tesserad license
 * --project ##.#`, SPEC §1), from both sides:
 *
 *   POST /v1/projects   {"version","host","port"}: a project license
 *                       server reports to the main one (at start, then
 *                       every 10 s), with the server credential
 *   GET  /v1/projects   those that reported: up within 30 s of the last
 *                       report, then gone, forgotten an hour later; the
 *                       license server's timer (ts_licensing_timer.c)
 *                       makes these changes when they are due, and the
 *                       retained projects/<##.#> on the bus says the
 *                       same (cleared once forgotten)
 *
 * and the reporter thread a project license server runs to be listed. The
 * list is soft state, like the model-server registry: after a restart of
 * the main server it fills again within one report interval. Versions are
 * ##.# and nothing else, so the table holds at most 1000 entries.
 */
#include "ts_licensing.h"

#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_proc.h>

#include "ts_httpd.h"
#include "ts_i18n.h"

/* A project license server reports this often, and counts as up this
 * long after its last report. */
#define REPORT_EVERY apr_time_from_sec(10)
#define UP_FOR apr_time_from_sec(30)
#define FORGET_AFTER apr_time_from_sec(3600)

/* What /v1/projects shows of a project license server; the bus says the
 * same, in the same critical section as the change (so a report and the
 * timer cannot leave them in another order). */
typedef enum { P_UP, P_GONE, P_FORGOTTEN } pstate_t;

typedef struct project_t {
  char version[8];
  char host[256];
  int port;
  apr_time_t last_seen;
  pstate_t state;               /* changed by a report and by the timer */
} project_t;

struct ts_licensing_projects_t {
  apr_thread_mutex_t *lock;     /* guards TABLE and POOL */
  apr_hash_t *table;            /* version -> project_t (a forgotten one
                                   is kept for reuse: at most 1000) */
  apr_pool_t *pool;
};

ts_licensing_projects_t *
ts_licensing_projects_create(apr_pool_t *pool)
{
  ts_licensing_projects_t *p = apr_pcalloc(pool, sizeof(*p));

  /* a pool of its own: request threads allocate entries under LOCK */
  apr_pool_create(&p->pool, pool);
  p->table = apr_hash_make(p->pool);
  apr_thread_mutex_create(&p->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  return p;
}

json_t *
ts_licensing_projects_json(ts_licensing_t *lc)
{
  ts_licensing_projects_t *projects = lc->projects;
  json_t *arr = json_array();

  apr_thread_mutex_lock(projects->lock);
  for (apr_hash_index_t *hi = apr_hash_first(NULL, projects->table); hi;
       hi = apr_hash_next(hi)) {
    const project_t *p = apr_hash_this_val(hi);
    if (p->state == P_FORGOTTEN)
      continue;
    json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:s, s:I}",
      "version", p->version, "host", p->host, "port", p->port, "state",
      p->state == P_UP ? "up" : "gone", "last_seen_ms",
      (json_int_t)apr_time_as_msec(p->last_seen)));
  }
  apr_thread_mutex_unlock(projects->lock);
  return arr;
}

/* Under the projects' lock: P's state on the bus (cleared once it is
 * forgotten). */
static void
say_state(ts_licensing_t *lc, const project_t *p)
{
  char topic[32];

  apr_snprintf(topic, sizeof(topic), "projects/%s", p->version);
  if (p->state == P_FORGOTTEN)
    ts_licensing_clear(lc, topic);
  else
    ts_licensing_say(lc, topic, json_pack("{s:s, s:s, s:i}", "state",
                     p->state == P_UP ? "up" : "gone", "host", p->host,
                     "port", p->port), 1);
}

/* Note VERSION on HOST:PORT as seen now; whether it is new or was gone
 * (then the bus was told). */
static int
seen(ts_licensing_t *lc, const char *version, const char *host, int port)
{
  ts_licensing_projects_t *projects = lc->projects;
  project_t *p;
  int fresh;

  apr_thread_mutex_lock(projects->lock);
  p = apr_hash_get(projects->table, version, APR_HASH_KEY_STRING);
  if (!p) {
    p = apr_pcalloc(projects->pool, sizeof(*p));
    apr_cpystrn(p->version, version, sizeof(p->version));
    p->state = P_FORGOTTEN;
    apr_hash_set(projects->table, p->version, APR_HASH_KEY_STRING, p);
  }
  fresh = p->state != P_UP || p->port != port || strcmp(p->host, host);
  apr_cpystrn(p->host, host, sizeof(p->host));
  p->port = port;
  p->last_seen = apr_time_now();
  p->state = P_UP;
  if (fresh)
    say_state(lc, p);
  apr_thread_mutex_unlock(projects->lock);
  return fresh;
}

/* ##.# and nothing else. */
static int
valid_version(const char *v)
{
  return strlen(v) == 4 && apr_isdigit(v[0]) && apr_isdigit(v[1])
         && v[2] == '.' && apr_isdigit(v[3]);
}

apr_time_t
ts_licensing_projects_settle(ts_licensing_t *lc, apr_time_t now)
{
  ts_licensing_projects_t *projects = lc->projects;
  apr_time_t next = 0;
  apr_pool_t *pool;
  apr_array_header_t *gone;

  apr_pool_create(&pool, NULL);
  gone = apr_array_make(pool, 1, sizeof(project_t));
  apr_thread_mutex_lock(projects->lock);
  for (apr_hash_index_t *hi = apr_hash_first(pool, projects->table); hi;
       hi = apr_hash_next(hi)) {
    project_t *p = apr_hash_this_val(hi);
    apr_time_t due;
    if (p->state == P_UP && now - p->last_seen >= UP_FOR) {
      p->state = P_GONE;
      say_state(lc, p);
      APR_ARRAY_PUSH(gone, project_t) = *p;
    }
    if (p->state == P_GONE && now - p->last_seen >= FORGET_AFTER) {
      p->state = P_FORGOTTEN;
      say_state(lc, p);
    }
    due = p->last_seen + (p->state == P_UP ? UP_FOR : FORGET_AFTER);
    if (p->state != P_FORGOTTEN && (!next || due < next))
      next = due;
  }
  apr_thread_mutex_unlock(projects->lock);
  for (int i = 0; i < gone->nelts; i++) {
    const project_t *p = &APR_ARRAY_IDX(gone, i, project_t);
    ts_log(lc->log, TS_LOG_WARNING, "project license server %s (%s port "
           "%d) is gone: no report for %d s", p->version, p->host, p->port,
           (int)apr_time_sec(UP_FOR));
  }
  apr_pool_destroy(pool);
  return next;
}

static void
report(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  json_t *j;
  json_error_t jerr;
  const char *version, *host;
  json_int_t port;

  (void)args;
  if (!ts_registry_authentic(reply, lc->registry, req, "a project license "
                             "server's report", pool))
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:s, s:I}", "version",
                     &version, "host", &host, "port", &port)
      || !valid_version(version) || !ts_registry_valid_host(host)
      || port < 1024 || port > 64000) {
    ts_http_reply_error(reply, 400, _("the body must be {\"version\": "
                        "\"##.#\" (two digits, a dot, a digit), \"host\": a "
                        "name or an address, \"port\": 1024..64000}"),
                        pool);
    json_decref(j);
    return;
  }
  if (seen(lc, version, host, (int)port)) {
    ts_log(lc->log, TS_LOG_INFO, "project license server %s reports from "
           "%s port %d", version, host, (int)port);
    ts_licensing_timer_wake(lc);   /* it is due to be gone in UP_FOR */
  }
  ts_http_reply_json(reply, 200, json_pack("{s:s, s:b}", "version", version,
                                           "listed", 1), pool);
  json_decref(j);   /* VERSION and HOST are J's */
}

static void
listing(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        const char *const *args, apr_pool_t *pool)
{
  (void)req;
  (void)args;
  ts_http_reply_json(reply, 200, json_pack("{s:o}", "projects",
                     ts_licensing_projects_json(baton)), pool);
}

const ts_route_t ts_licensing_project_routes[] = {
  { "POST", "/v1/projects", report },
  { "GET", "/v1/projects", listing },
  { NULL, NULL, NULL }
};

/* ---- the project license server's side ---------------------------------- */

struct ts_project_reporter_t {
  const char *host, *project;
  const ts_credential_t *cred;
  int main_port, port;
  ts_log_t *log;
  apr_thread_t *thread;
  apr_thread_mutex_t *lock;     /* guards STOPPING */
  apr_thread_cond_t *wake;
  int stopping;
};

/* One report; *REPORTED says whether the last one was listed, so the log
 * says only when that changes. */
static void
report_once(ts_project_reporter_t *r, int *reported, apr_pool_t *pool)
{
  json_t *j = json_pack("{s:s, s:s, s:i}", "version", r->project, "host",
                        r->host, "port", r->port);
  char *body = json_dumps(j, JSON_COMPACT);
  const char *answer = "";
  int status = 0, ok;
  ts_error_t *err;

  json_decref(j);
  err = body ? ts_http_call(&status, &answer, r->host, r->main_port, "POST",
                            "/v1/projects", body,
                            ts_credential_header(r->cred, pool),
                            apr_time_from_sec(5), pool)
             : ts_error_createf(TS_EINTERNAL, "cannot write the report");
  free(body);
  ok = !err && status == 200;
  if (ok != *reported) {
    if (ok)
      ts_log(r->log, TS_LOG_INFO, "listed by the main license server on %s "
             "port %d", r->host, r->main_port);
    else
      ts_log(r->log, TS_LOG_WARNING, "cannot report to the main license "
             "server on %s port %d (INOHOST): %s; retrying every %d s",
             r->host, r->main_port, err ? ts_error_text(err, pool)
                                        : apr_psprintf(pool, "HTTP %d: %s",
                                                       status, answer),
             (int)apr_time_sec(REPORT_EVERY));
    *reported = ok;
  }
  ts_error_clear(err);
}

static void *APR_THREAD_FUNC
reporter(apr_thread_t *thread, void *data)
{
  ts_project_reporter_t *r = data;
  apr_pool_t *pool;
  int reported = -1;

  apr_pool_create(&pool, NULL);
  apr_thread_mutex_lock(r->lock);
  while (!r->stopping) {
    apr_thread_mutex_unlock(r->lock);
    report_once(r, &reported, pool);
    apr_pool_clear(pool);
    apr_thread_mutex_lock(r->lock);
    if (!r->stopping)
      apr_thread_cond_timedwait(r->wake, r->lock, REPORT_EVERY);
  }
  apr_thread_mutex_unlock(r->lock);
  apr_pool_destroy(pool);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

ts_error_t *
ts_project_reporter_start(ts_project_reporter_t **reporter_p,
                          const char *host, int main_port,
                          const char *project, int port,
                          const ts_credential_t *cred, ts_log_t *log,
                          apr_pool_t *pool)
{
  ts_project_reporter_t *r = apr_pcalloc(pool, sizeof(*r));
  apr_status_t s;

  r->host = apr_pstrdup(pool, host);
  r->project = apr_pstrdup(pool, project);
  r->main_port = main_port;
  r->port = port;
  r->cred = cred;
  r->log = log;
  apr_thread_mutex_create(&r->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&r->wake, pool);
  s = apr_thread_create(&r->thread, NULL, reporter, r, pool);
  if (s)
    return ts_error_aprf(s, "cannot start the project report thread");
  *reporter_p = r;
  return NULL;
}

void
ts_project_reporter_stop(ts_project_reporter_t *r)
{
  apr_status_t ignored;

  if (!r || !r->thread)
    return;
  apr_thread_mutex_lock(r->lock);
  r->stopping = 1;
  apr_thread_cond_signal(r->wake);
  apr_thread_mutex_unlock(r->lock);
  apr_thread_join(&ignored, r->thread);
  r->thread = NULL;
}
