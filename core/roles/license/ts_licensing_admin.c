/* ts_licensing_admin.c: the administrator's password checked for another
 * Tessera server (an agent, which changes the project's versions only
 * for the administrator but has no password file of its own):
 *
 *   POST /v1/admin/check  {"authorization": "Basic ...", "client": address}
 *                         -> 200 {"who"}; else as the license server
 *                         answers its own administrator's requests (401,
 *                         403 no password set, 429 throttled)
 *
 * Only with the server credential (else 401): a client may not use it to
 * guess passwords around the throttle, which counts the address the
 * server forwards, as if the client had asked the license server. */
#include "ts_licensing.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"

static void
check(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
      const char *const *args, apr_pool_t *pool)
{
  ts_licensing_t *lc = baton;
  ts_http_request_t as_client = *req;
  const char *authorization, *client, *who;
  json_error_t jerr;
  json_t *j;

  (void)args;
  if (!ts_registry_authentic(reply, lc->registry, req, "checking the "
                             "administrator's password for a server", pool))
    return;
  ts_http_request_json(&j, reply, req, pool);
  if (!j)
    return;
  if (json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:s}", "authorization",
                     &authorization, "client", &client)) {
    ts_http_reply_error(reply, 400, apr_psprintf(pool, _("the body must be "
                        "{\"authorization\": the client's Authorization "
                        "header, \"client\": its address}: %s"), jerr.text),
                        pool);
    json_decref(j);
    return;
  }
  as_client.authorization = apr_pstrdup(pool, authorization);
  as_client.client = apr_pstrdup(pool, client);
  json_decref(j);
  who = ts_licensing_authorize(reply, lc, &as_client, pool);
  if (who)
    ts_http_reply_json(reply, 200, json_pack("{s:s}", "who", who), pool);
  else if (reply->status == 429) {
    /* the agent passes the wait on in the body: it sees no headers */
    json_t *answer = json_loads(reply->body, 0, NULL);
    if (answer) {
      json_object_set_new(answer, "retry_after",
                          json_integer(reply->retry_after));
      ts_http_reply_json(reply, 429, answer, pool);
    }
  }
}

const ts_route_t ts_licensing_admin_routes[] = {
  { "POST", "/v1/admin/check", check },
  { NULL, NULL, NULL }
};
