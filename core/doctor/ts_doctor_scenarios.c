/* ts_doctor_scenarios.c: which servers share a project directory (seed
 * 004, "Szenarien"), judged from the records the agents and model servers
 * leave in it (read by core/project, format in ts_project_records.h).
 *
 * Forbidden: agents of different license servers on one INOPRJ; an agent
 * and a model server of different license servers on one INOPRJ. Mixed
 * Linux and Windows agents are allowed, but each side's account must be
 * able to use every file: the accounts of this machine's side are checked
 * here (a Windows DACL can only be judged on Windows, and the reverse).
 */
#include "ts_doctor.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_project_records.h"
#include "tsp.h"

typedef ts_project_record_t record_t;

/* The records of KIND in PRJ; a file that is no record is a warning. */
static apr_array_header_t *
read_records(ts_doctor_t *doc, const char *prj, const char *kind)
{
  apr_array_header_t *records, *rejects;
  ts_error_t *err = ts_project_records_read(&records, &rejects, prj, kind,
                                            doc->pool, doc->pool);

  /* A record directory this process cannot list is left to the
   * permissions check (entries the agents' accounts may not use); this
   * check judges the records it can read. */
  ts_error_clear(err);
  for (int i = 0; i < rejects->nelts; i++) {
    const ts_project_reject_t *r = &APR_ARRAY_IDX(rejects, i,
                                                  ts_project_reject_t);
    ts_doctor_add(doc, TS_SEV_WARNING, "scenarios", r->path,
                  r->malformed ? apr_psprintf(doc->pool, "remove %s; the %s "
                                              "writes it again at its next "
                                              "start", r->path, kind)
                               : NULL, "%s", r->why);
  }
  return records;
}

/* "lic1.17000 (agent a:17003, agent b:17003); lic2.17000 (...)" */
static const char *
by_license_server(const apr_array_header_t *recs, apr_pool_t *pool)
{
  const char *text = "";

  for (int i = 0; i < recs->nelts; i++) {
    const record_t *r = &APR_ARRAY_IDX(recs, i, record_t);
    int first = 1;
    for (int k = 0; k < i; k++)
      if (strcmp(APR_ARRAY_IDX(recs, k, record_t).inohost, r->inohost) == 0)
        first = 0;
    if (!first)
      continue;
    text = apr_pstrcat(pool, text, *text ? "; " : "", r->inohost, " (",
                       NULL);
    for (int k = i, n = 0; k < recs->nelts; k++) {
      const record_t *o = &APR_ARRAY_IDX(recs, k, record_t);
      if (strcmp(o->inohost, r->inohost) == 0)
        text = apr_psprintf(pool, "%s%s%s %s:%ld", text, n++ ? ", " : "",
                            o->kind, o->host, o->port);
    }
    text = apr_pstrcat(pool, text, ")", NULL);
  }
  return text;
}

static int
distinct_inohosts(const apr_array_header_t *recs)
{
  int n = 0;
  for (int i = 0; i < recs->nelts; i++) {
    int seen = 0;
    for (int k = 0; k < i; k++)
      seen |= strcmp(APR_ARRAY_IDX(recs, k, record_t).inohost,
                     APR_ARRAY_IDX(recs, i, record_t).inohost) == 0;
    n += !seen;
  }
  return n;
}

void
ts_doctor_check_scenarios(ts_doctor_t *doc, apr_array_header_t *accounts)
{
  const ts_setting_value_t *v = ts_settings_get(doc->settings, "INOPRJ");
  apr_array_header_t *agents, *servers, *all;
  int linux_agents = 0, windows_agents = 0;

  if (!v || v->problem)
    return;
  agents = read_records(doc, v->value, TS_PROJECT_AGENT);
  servers = read_records(doc, v->value, TS_PROJECT_MODELSERVER);
  if (distinct_inohosts(agents) > 1)
    ts_doctor_add(doc, TS_SEV_ERROR, "scenarios", v->value,
                  "give every license server's agents their own INOPRJ, or "
                  "point them all at one license server (INOHOST)",
                  "agents of different license servers share INOPRJ %s: %s; "
                  "each would manage the same model versions", v->value,
                  by_license_server(agents, doc->pool));
  all = apr_array_copy(doc->pool, agents);
  apr_array_cat(all, servers);
  if (distinct_inohosts(agents) == 1 && distinct_inohosts(all) > 1)
    ts_doctor_add(doc, TS_SEV_ERROR, "scenarios", v->value,
                  "run the model servers under the agents' license server, "
                  "or give them their own INOPRJ",
                  "an agent and a model server of different license servers "
                  "share INOPRJ %s: %s; they use different buses and never "
                  "learn of each other", v->value,
                  by_license_server(all, doc->pool));
  for (int i = 0; i < agents->nelts; i++) {
    const record_t *r = &APR_ARRAY_IDX(agents, i, record_t);
    linux_agents += strcmp(r->os, "linux") == 0;
    windows_agents += strcmp(r->os, "windows") == 0;
  }
  if (linux_agents && windows_agents) {
    const char *names = "";
    for (int i = 0; i < agents->nelts; i++) {
      const record_t *r = &APR_ARRAY_IDX(agents, i, record_t);
      names = apr_psprintf(doc->pool, "%s%s%s (%s on %s)", names,
                           *names ? ", " : "", r->account, r->os, r->host);
      if (strcmp(r->os, tsp_os_name()) == 0 && accounts) {
        int dup = 0;
        for (int k = 0; k < accounts->nelts; k++)
          dup |= strcmp(APR_ARRAY_IDX(accounts, k, const char *),
                        r->account) == 0;
        if (!dup)
          APR_ARRAY_PUSH(accounts, const char *) = r->account;
      }
    }
    ts_doctor_add(doc, TS_SEV_WARNING, "scenarios", v->value,
                  "see the permissions findings for each account; on the "
                  "Windows side grant the accounts Modify on the share",
                  "Linux and Windows agents share INOPRJ %s: %s; every "
                  "account must read and write every file there (the %s "
                  "agents' accounts are checked below; run doctor on a %s "
                  "agent's host for the others)", v->value, names,
                  tsp_os_name(), strcmp(tsp_os_name(), "linux") == 0
                  ? "Windows" : "Linux");
  }
}
