/* ts_agent.h: the agent's parts, shared by its files (not for other
 * components: the role is ts_role_agent.h).
 *
 *   ts_role_agent.c   start, stop, the record in ivm/agents, the refusal
 *                     of a project shared with another license server
 *   ts_agent_lock.c   "runs at most once": the run lock of a version
 *   ts_agent_run.c    starting and stopping model servers (ts_proc)
 *   ts_agent_state.c  what the agent ran, in its SQLite state
 *   ts_agent_api.c    the HTTP API on the agent's port
 *   ts_agent_report.c the license server and the bus hear of versions
 */
#ifndef TS_AGENT_H
#define TS_AGENT_H

#include <apr_hash.h>
#include <apr_thread_cond.h>
#include <apr_thread_proc.h>
#include <apr_thread_mutex.h>
#include <jansson.h>

#include "ts_bus.h"
#include "ts_credential.h"
#include "ts_models.h"
#include "ts_proc.h"
#include "ts_routes.h"
#include "ts_server.h"

/* The lock file in a running version's directory. */
#define TS_AGENT_LOCK_FILE "run.json"

typedef struct ts_agent_t ts_agent_t;
typedef struct ts_agent_state_t ts_agent_state_t;

/* A version this agent runs (or ran and saw crash). */
typedef struct ts_agent_version_t {
  ts_agent_t *agent;
  const char *model, *version;   /* the key: "<model>/<version>" */
  const char *dir;
  int read_only;
  const char *state;             /* "starting", "running", "stopping",
                                    "crashed" (static strings) */
  const char *reason;            /* why it crashed, or NULL */
  int port;
  long pid;
  apr_time_t since;
  ts_proc_t *proc;               /* while it runs */
  apr_pool_t *pool;              /* its own; destroyed when forgotten */
} ts_agent_version_t;

struct ts_agent_t {
  const ts_server_info_t *info;
  const char *host;              /* this machine's name (tessera.xml) */
  int port;
  const char *inoprj;
  const char *id;                /* "<host>:<port>" */
  const char *dir;               /* ivm/logs/agent.<host>.<port> */
  const char *record;            /* ivm/agents/<host>.<port>.json */
  const char *tesserad;          /* the program the model servers run */
  ts_credential_t *cred;
  ts_log_t *log;
  ts_agent_state_t *state;
  ts_bus_t *bus;
  ts_httpd_t *httpd;             /* the agent port */
  const char *control;           /* the control channel's name, for the
                                    model servers (TESSERA_CONTROL) */
  struct ts_control_t *control_ctl;  /* ts_control.h */
  apr_thread_t *reporter;        /* reports to the license server */
  apr_thread_cond_t *wake;       /* wakes the reporter (A's lock) */
  apr_thread_mutex_t *lock;      /* guards VERSIONS and each entry */
  apr_hash_t *versions;          /* "<model>/<version>" ->
                                    ts_agent_version_t * */
  int stopping;
  apr_pool_t *pool;
};

/* "<model>/<version>", with "readonly:" before a backup's. */
const char *ts_agent_key(const char *model, const char *version,
                         int read_only, apr_pool_t *pool);

/* ---- ts_agent_lock.c ---------------------------------------------------- */

/* Take DIR's run lock for A (with a stale lock judged and removed: its
 * agent ended, or answers that the version does not run). Refused
 * (TS_EINVAL) while it runs elsewhere, naming where. */
ts_error_t *ts_agent_lock_take(ts_agent_t *a, const char *model,
                               const char *version, const char *dir,
                               apr_pool_t *pool);

/* Say in DIR's lock that the version runs on PORT with PID. */
ts_error_t *ts_agent_lock_update(ts_agent_t *a, const char *dir, int port,
                                 long pid, apr_pool_t *pool);

/* Give DIR's lock up (when A holds it). */
void ts_agent_lock_release(ts_agent_t *a, const char *dir, apr_pool_t *pool);

/* The lock of DIR as JSON (NULL: none); for listings. */
json_t *ts_agent_lock_read(const char *dir, apr_pool_t *pool);

/* ---- ts_agent_run.c ------------------------------------------------------ */

/* Start MODEL/VERSION (READ_ONLY: the backup) and return once it serves;
 * *V is its entry. */
ts_error_t *ts_agent_start(ts_agent_version_t **v, ts_agent_t *a,
                           const char *model, const char *version,
                           int read_only, apr_pool_t *pool);

/* Stop a version this agent runs (cleanly; killed after a deadline). */
ts_error_t *ts_agent_stop(ts_agent_t *a, const char *model,
                          const char *version, int read_only,
                          apr_pool_t *pool);

/* Stop every version (the agent stops). */
void ts_agent_stop_all(ts_agent_t *a);

/* This agent's entry for MODEL/VERSION, or NULL (lock held). */
ts_agent_version_t *ts_agent_find(ts_agent_t *a, const char *model,
                                  const char *version, int read_only);

/* Every version of the project as JSON: {"versions": [{"model",
 * "version", "read_only", "state", "host", "port", "pid", "agent",
 * "users", "since", "reason"}]}; LOCAL: only what this agent knows
 * (other agents ask that), else with what the others say of theirs. */
json_t *ts_agent_listing(ts_agent_t *a, int local, apr_pool_t *pool);

/* One version as ts_agent_listing shows it, or NULL when there is none. */
json_t *ts_agent_listing_one(ts_agent_t *a, const char *model,
                             const char *version, int read_only,
                             apr_pool_t *pool);

/* Stop MODEL/VERSION where it runs: here, or through the agent that runs
 * it (whose answer then fills REPLY: REPLY->status is set). */
ts_error_t *ts_agent_stop_anywhere(ts_http_reply_t *reply, ts_agent_t *a,
                                   const char *model, const char *version,
                                   int read_only,
                                   const ts_http_request_t *req,
                                   apr_pool_t *pool);

/* Delete MODEL/VERSION, which runs nowhere (its crashed entry goes). */
ts_error_t *ts_agent_delete(ts_agent_t *a, const char *model,
                            const char *version, int read_only,
                            apr_pool_t *pool);

/* ---- ts_agent_auth.c ----------------------------------------------------- */

/* Who asks for a change: the administrator (HTTP Basic, checked by the
 * license server) or another Tessera server (the server credential:
 * "agent"). NULL when neither: REPLY says why (401, 429, 503). */
const char *ts_agent_authorize(ts_http_reply_t *reply, ts_agent_t *a,
                               const ts_http_request_t *req,
                               apr_pool_t *pool);

/* ---- ts_agent_state.c ---------------------------------------------------- */

/* Open (create) DIR/agent.db; versions an earlier run left "running"
 * become "crashed" (that run ended without stopping them). */
ts_error_t *ts_agent_state_open(ts_agent_state_t **state, const char *dir,
                                apr_pool_t *pool);
void ts_agent_state_close(ts_agent_state_t *state);

/* Remember what V is now (its state, port, pid, reason), durably. */
void ts_agent_state_save(ts_agent_t *a, const ts_agent_version_t *v);

/* Forget MODEL/VERSION (stopped cleanly, or deleted). */
void ts_agent_state_forget(ts_agent_t *a, const char *model,
                           const char *version, int read_only);

/* The crashed versions an earlier run recorded: into A's VERSIONS. */
ts_error_t *ts_agent_state_load(ts_agent_t *a, apr_pool_t *pool);

/* ---- ts_agent_report.c --------------------------------------------------- */

/* Write A's record (INOPRJ/ivm/agents/<host>.<port>.json). */
ts_error_t *ts_agent_record_write(ts_agent_t *a, apr_pool_t *pool);

/* Listen on A's port with the API (ts_agent_api.c). */
ts_error_t *ts_agent_listen(ts_agent_t *a, ts_server_t *server,
                            apr_pool_t *pool);

/* Connect to the bus and report to the license server (POST /v1/agents,
 * every few seconds and at each change), until ts_agent_report_stop. */
ts_error_t *ts_agent_report_start(ts_agent_t *a, apr_pool_t *pool);
void ts_agent_report_stop(ts_agent_t *a);

/* Say on the bus what V is now (versions/<model>/<version>, retained). */
void ts_agent_say(ts_agent_t *a, const ts_agent_version_t *v);

/* ---- ts_agent_control.c -------------------------------------------------- */

/* Create the control channel to the model servers (ts_control.h). */
ts_error_t *ts_agent_control_open(ts_agent_t *a, apr_pool_t *pool);
void ts_agent_control_close(ts_agent_t *a);

/* Ask the model server PID REQUEST ("stop", "status") over the control
 * channel; *REPLY (unless REPLY is NULL) its answer. */
ts_error_t *ts_agent_ask(const char **reply, ts_agent_t *a, long pid,
                         const char *request, apr_pool_t *pool);

/* ---- ts_agent_api.c ------------------------------------------------------ */

extern const ts_route_t ts_agent_routes[];

#endif
