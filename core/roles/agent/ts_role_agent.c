/* ts_role_agent.c: the agent role, `tesserad agent` (SPEC §1, §6a): on
 * the agent port (INOAGENTPORT, default p+3) it watches the versions of
 * one project directory (INOPRJ) and starts, stops, copies and deletes
 * them for the administrator (ts_agent_api.c).
 *
 * Its files are the project's (SPEC §5): the log, pid file and state in
 * INOPRJ/ivm/logs/agent.<host>.<port>/, and its record in
 * INOPRJ/ivm/agents/<host>.<port>.json, written at the start and removed
 * at a clean stop, through which agents find each other and the doctor
 * sees who shares the directory. An agent refuses to start on a project
 * that agents or model servers of another license server use.
 *
 * Up: the records' check, the record, the state, the sweep of what an
 * interrupted copy left, the control channel, the bus, the port, the
 * reports to the license server. Down in the reverse order; the model
 * servers it runs stop with it.
 */
#include "ts_role_agent.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_agent.h"
#include "ts_file.h"
#include "ts_project.h"
#include "ts_project_records.h"
#include "tsp.h"

/* ts_role_t.place: INOPRJ/ivm/logs/agent.<host>.<port>/agent.{log,pid} on
 * the agent port. */
static ts_error_t *
place(ts_server_info_t *info, const char **logfile, const char **pidfile,
      apr_pool_t *pool)
{
  const char *dir;

  if (!info->inoprj)
    return ts_error_createf(TS_ECONFIG, "the agent watches the project "
                            "directory INOPRJ, which is not set: set it "
                            "with `tessera-admin env set INOPRJ DIR`");
  info->port = info->agent_port;
  dir = ts_path_join(info->inoprj, apr_psprintf(pool, "ivm/logs/agent.%s.%d",
                                                ts_server_machine(info, pool),
                                                info->port), pool);
  info->logdir = dir;
  *logfile = ts_path_join(dir, "agent.log", pool);
  *pidfile = ts_path_join(dir, "agent.pid", pool);
  return NULL;
}

/* The records of KIND of another license server than INOHOST's; NULL, or
 * the refusal naming the first. */
static ts_error_t *
foreign(const ts_server_info_t *info, const char *kind, const char *self,
        apr_pool_t *pool)
{
  apr_array_header_t *records, *rejects;
  const char *inohost = apr_psprintf(pool, "%s.%d", info->host,
                                     info->main_port);

  TS_ERR(ts_project_records_read(&records, &rejects, info->inoprj, kind,
                                 pool, pool));
  for (int i = 0; i < records->nelts; i++) {
    const ts_project_record_t *r = &APR_ARRAY_IDX(records, i,
                                                  ts_project_record_t);
    if (strcmp(r->inohost, inohost) == 0
        || (self && strcmp(r->path, self) == 0))
      continue;
    return ts_error_createf(TS_ECONFIG, "the project directory %s is used "
      "by the %s on %s port %ld, which belongs to the license server %s, "
      "not to this one (%s, INOHOST): the agents and model servers of one "
      "project directory must share one license server (record %s). Use "
      "another project directory, or point this machine's INOHOST at %s",
      info->inoprj, strcmp(kind, TS_PROJECT_AGENT) == 0 ? "agent"
      : "model server", r->host, r->port, r->inohost, inohost, r->path,
      r->inohost);
  }
  return NULL;
}

/* ts_role_t.check: the project directory and who shares it, the server
 * credential, the port. */
static ts_error_t *
check(ts_server_plan_t *plan, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  const char *uuid, *credential;
  const char *self = ts_path_join(info->inoprj, apr_psprintf(pool,
                                  "ivm/agents/%s.%d.json",
                                  ts_server_machine(info, pool),
                                  info->port), pool);

  TS_ERR(ts_project_identity(&uuid, info->inoprj, pool));
  ts_server_plan_add(plan, "project directory: %s (%s)", info->inoprj, uuid);
  TS_ERR(foreign(info, TS_PROJECT_AGENT, self, pool));
  TS_ERR(foreign(info, TS_PROJECT_MODELSERVER, NULL, pool));
  TS_ERR_W(ts_credential_check(&credential, info->inodir, pool), "the agent "
           "proves itself to the license server and the bus with the "
           "server credential");
  ts_server_plan_add(plan, "server credential: %s", credential);
  return ts_server_check_port(server, "agent", info->port, pool);
}

/* Remove the records of this machine's model servers that no longer run
 * (killed, or ended with an agent that was killed): who reads the
 * records (the doctor, the agents' checks) sees the servers that run. */
static void
sweep_records(ts_agent_t *a, apr_pool_t *pool)
{
  apr_array_header_t *records, *rejects;
  ts_error_t *err = ts_project_records_read(&records, &rejects, a->inoprj,
                                            TS_PROJECT_MODELSERVER, pool,
                                            pool);

  if (err) {
    ts_error_clear(err);
    return;
  }
  for (int i = 0; i < records->nelts; i++) {
    const ts_project_record_t *r = &APR_ARRAY_IDX(records, i,
                                                  ts_project_record_t);
    if (strcmp(r->host, a->host) != 0 || r->pid <= 0
        || tsp_process_alive(r->pid))
      continue;
    if (tsp_sys.file_remove(r->path, pool) == APR_SUCCESS)
      ts_log(a->log, TS_LOG_INFO, "removed %s: its model server (pid %ld) "
             "no longer runs", r->path, r->pid);
  }
}

static ts_error_t *
start(void **state, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  ts_agent_t *a = apr_pcalloc(pool, sizeof(*a));
  int swept = 0;

  *state = a;
  a->info = info;
  a->pool = pool;
  a->log = info->log;
  a->host = ts_server_machine(info, pool);
  a->port = info->port;
  a->inoprj = info->inoprj;
  a->id = apr_psprintf(pool, "%s:%d", a->host, a->port);
  a->dir = info->logdir;
  a->versions = apr_hash_make(pool);
  apr_thread_mutex_create(&a->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  TS_ERR(tsp_program_path(&a->tesserad, pool));
  TS_ERR(ts_credential_open(&a->cred, info->inodir, a->log, pool));
  TS_ERR(ts_agent_record_write(a, pool));
  TS_ERR(ts_agent_state_open(&a->state, a->dir, pool));
  TS_ERR(ts_agent_state_load(a, pool));
  TS_ERR(ts_models_sweep(&swept, a->inoprj, a->host, pool));
  sweep_records(a, pool);
  if (swept)
    ts_log(a->log, TS_LOG_INFO, "removed %d unfinished cop%s an earlier run "
           "left in %s", swept, swept == 1 ? "y" : "ies", a->inoprj);
  TS_ERR(ts_agent_control_open(a, pool));
  TS_ERR(ts_agent_report_start(a, pool));
  return ts_agent_listen(a, server, pool);
}

static ts_error_t *
reload(void *state, ts_server_t *server)
{
  (void)state;
  (void)server;
  return NULL;
}

static void
stop(void *state, ts_server_t *server)
{
  ts_agent_t *a = state;

  (void)server;
  if (!a)
    return;
  ts_httpd_stop(a->httpd);
  a->httpd = NULL;
  if (a->versions)
    ts_agent_stop_all(a);
  ts_agent_report_stop(a);
  ts_agent_control_close(a);
  ts_agent_state_close(a->state);
  a->state = NULL;
  if (a->record)
    tsp_sys.file_remove(a->record, a->pool);
}

const ts_role_t ts_role_agent = {
  .name = "agent",
  .summary = "the agent on p+3 (INOAGENTPORT): starts, stops, copies and\n"
             "deletes the model versions of INOPRJ",
  .port_offset = 3,
  .start = start,
  .reload = reload,
  .stop = stop,
  .check = check,
  .place = place
};
