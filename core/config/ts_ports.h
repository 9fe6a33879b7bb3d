/* ts_ports.h: the port plan derived from the license server's port p
 * (SPEC §1): p license server, p+1 bus, p+2 hub, the agent (p+3 unless
 * set), p+4 notification service, p+5 proxy, p+6.. model servers. */
#ifndef TS_PORTS_H
#define TS_PORTS_H

#include <apr_tables.h>
#include "ts_error.h"

typedef struct ts_port_entry_t {
  int first, last;          /* equal for a single port */
  const char *component;    /* "license server", "bus", ... */
  const char *offset;       /* "p", "p+1", ..., "p+6..p+5+max" */
  const char *runs;         /* how it runs */
} ts_port_entry_t;

/* Model servers the plan leaves room for when nobody says otherwise. */
#define TS_PLAN_DEFAULT_MODELS 20
#define TS_PLAN_MAX_MODELS 1000

/* The plan for license-server port P, agent port AGENT_PORT and room for
 * MODELS model servers, in port order. Refuses a plan that would leave the
 * TCP port space. */
ts_error_t *ts_port_plan(apr_array_header_t **entries, int p, int agent_port,
                         int models, apr_pool_t *pool);

/* When any of the ports FIRST..LAST lies in the model servers' range of
 * the plan for P (p+6..p+5+TS_PLAN_DEFAULT_MODELS, as `tessera-admin
 * ports` plans it), a warning that WHAT ("INOAGENTPORT 17010") does, with
 * the range and why it matters (a model server binds the next free port
 * from p+6 and may take it first); else NULL. In POOL. For tessera-admin
 * only: the warning is in the language of people (ts_i18n.h), and WHAT,
 * the sentence's subject, must be given in it too. */
const char *ts_port_model_range_warning(const char *what, int first,
                                        int last, int p, apr_pool_t *pool);

#endif
