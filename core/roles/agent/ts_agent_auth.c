/* ts_agent_auth.c: who may change versions through an agent: the
 * license server checks the administrator's password
 * (ts_server_admin_check); another Tessera server (an agent passing a
 * stop on) shows the server credential instead. */
#include "ts_agent.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"

const char *
ts_agent_authorize(ts_http_reply_t *reply, ts_agent_t *a,
                   const ts_http_request_t *req, apr_pool_t *pool)
{
  ts_server_admin_t admin = { a->info->host, a->info->main_port, a->cred,
                              "Basic realm=\"Tessera agent\"", NULL };

  admin.needed = apr_psprintf(pool, _("%s %s changes the project's "
    "versions: it needs the license server administrator's password (HTTP "
    "Basic: user name = who acts; tessera-admin asks for it)"),
    req->method, req->url);
  return ts_server_admin_check(reply, req, &admin, pool);
}
