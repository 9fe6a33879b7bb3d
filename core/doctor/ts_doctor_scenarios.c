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
#include "ts_doctor_shared.h"

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
    ts_finding_t *f = ts_doctor_add(doc, TS_SEV_WARNING, "scenarios",
                                    r->path, NULL, "%s", r->why);
    if (r->malformed)
      ts_doctor_fix(doc, f, strcmp(kind, TS_PROJECT_AGENT) == 0
                    ? N_("remove %s; the agent writes it again at its next "
                         "start")
                    : N_("remove %s; the model server writes it again at "
                         "its next start"), r->path);
  }
  return records;
}

/* "lic1.17000 (agent a:17003, agent b:17003); lic2.17000 (...)"; the
 * kinds of record translated when LOCAL. */
static const char *
by_license_server(const apr_array_header_t *recs, int local,
                  apr_pool_t *pool)
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
      const char *kind = !local ? o->kind
                         : strcmp(o->kind, TS_PROJECT_AGENT) == 0
                         ? _("agent") : _("model server");
      if (strcmp(o->inohost, r->inohost) == 0)
        text = apr_psprintf(pool, "%s%s%s %s:%ld", text, n++ ? ", " : "",
                            kind, o->host, o->port);
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

/* Linux and Windows AGENTS share PRJ: allowed, but every account must
 * use every file; this side's accounts join ACCOUNTS for the access
 * check. */
static void
mixed_agents(ts_doctor_t *doc, const char *prj,
             const apr_array_header_t *agents, apr_array_header_t *accounts)
{
  const char *names[2] = { "", "" }, *text[2];

  for (int i = 0; i < agents->nelts; i++) {
    const record_t *r = &APR_ARRAY_IDX(agents, i, record_t);
    for (int local = 0; local < 2; local++)
      names[local] = apr_pstrcat(doc->pool, names[local],
                                 *names[local] ? ", " : "",
                                 apr_psprintf(doc->pool,
                                              TS_DOCTOR_TEXT(local,
                                              N_("%s (%s on %s)")),
                                              r->account, r->os, r->host),
                                 NULL);
    if (strcmp(r->os, tsp_os_name()) == 0 && accounts) {
      int dup = 0;
      for (int k = 0; k < accounts->nelts; k++)
        dup |= strcmp(APR_ARRAY_IDX(accounts, k, const char *),
                      r->account) == 0;
      if (!dup)
        APR_ARRAY_PUSH(accounts, const char *) = r->account;
    }
  }
  for (int local = 0; local < 2; local++)
    text[local] = apr_psprintf(doc->pool, TS_DOCTOR_TEXT(local,
      N_("Linux and Windows agents share INOPRJ %s: %s; every account must "
         "read and write every file there (the %s agents' accounts are "
         "checked below; run doctor on a %s agent's host for the others)")),
      prj, names[local], tsp_os_name(),
      strcmp(tsp_os_name(), "linux") == 0 ? "Windows" : "Linux");
  ts_doctor_add_texts(doc, TS_SEV_WARNING, "scenarios", prj,
                      N_("see the permissions findings for each account; on "
                         "the Windows side grant the accounts Modify on the "
                         "share"), text[0], text[1]);
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
  if (distinct_inohosts(agents) > 1) {
    const char *text[2];
    for (int local = 0; local < 2; local++)
      text[local] = apr_psprintf(doc->pool, TS_DOCTOR_TEXT(local,
        N_("agents of different license servers share INOPRJ %s: %s; each "
           "would manage the same model versions")), v->value,
        by_license_server(agents, local, doc->pool));
    ts_doctor_add_texts(doc, TS_SEV_ERROR, "scenarios", v->value,
                        N_("give every license server's agents their own "
                           "INOPRJ, or point them all at one license server "
                           "(INOHOST)"), text[0], text[1]);
  }
  all = apr_array_copy(doc->pool, agents);
  apr_array_cat(all, servers);
  if (distinct_inohosts(agents) == 1 && distinct_inohosts(all) > 1) {
    const char *text[2];
    for (int local = 0; local < 2; local++)
      text[local] = apr_psprintf(doc->pool, TS_DOCTOR_TEXT(local,
        N_("an agent and a model server of different license servers share "
           "INOPRJ %s: %s; they use different buses and never learn of each "
           "other")), v->value, by_license_server(all, local, doc->pool));
    ts_doctor_add_texts(doc, TS_SEV_ERROR, "scenarios", v->value,
                        N_("run the model servers under the agents' license "
                           "server, or give them their own INOPRJ"),
                        text[0], text[1]);
  }
  for (int i = 0; i < agents->nelts; i++) {
    const record_t *r = &APR_ARRAY_IDX(agents, i, record_t);
    linux_agents += strcmp(r->os, "linux") == 0;
    windows_agents += strcmp(r->os, "windows") == 0;
  }
  if (linux_agents && windows_agents)
    mixed_agents(doc, v->value, agents, accounts);
}
