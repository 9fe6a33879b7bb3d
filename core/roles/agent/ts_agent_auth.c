/* ts_agent_auth.c: who may change versions through an agent. The
 * administrator's password lives on the license server's machine
 * (INOLIC/admin.passwd, ts_passwd.h), so the agent has the license server
 * check it: POST /v1/admin/check {"authorization", "client"} with the
 * server credential, answered like the license server answers its own
 * administrator's requests (200 {"who"}, 401 wrong, 403 none set yet, 429
 * guessing throttled for that client). Another Tessera server (an agent
 * passing a stop on) shows the server credential instead. */
#include "ts_agent.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"

#define CHECK_TIMEOUT apr_time_from_sec(10)

const char *
ts_agent_authorize(ts_http_reply_t *reply, ts_agent_t *a,
                   const ts_http_request_t *req, apr_pool_t *pool)
{
  json_t *j, *answer;
  char *body;
  const char *text = "", *who;
  int status = 0;
  ts_error_t *err;

  if (req->authorization
      && ts_credential_check_http(a->cred, req->authorization))
    return "a Tessera server";
  if (!req->authorization) {
    ts_http_reply_error(reply, 401, apr_psprintf(pool, _("%s %s changes the "
      "project's versions: it needs the license server administrator's "
      "password (HTTP Basic: user name = who acts; tessera-admin asks for "
      "it)"), req->method, req->url), pool);
    reply->www_authenticate = "Basic realm=\"Tessera agent\"";
    return NULL;
  }
  j = json_pack("{s:s, s:s}", "authorization", req->authorization, "client",
                req->client);
  body = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  err = ts_http_call(&status, &text, a->info->host, a->info->main_port,
                     "POST", "/v1/admin/check", body,
                     ts_credential_header(a->cred, pool), CHECK_TIMEOUT,
                     pool);
  free(body);
  if (err) {
    ts_http_reply_error(reply, 503, apr_psprintf(pool, _("cannot check the "
      "administrator's password: the license server on %s port %d "
      "(INOHOST) does not answer: %s"), a->info->host, a->info->main_port,
      ts_error_message(err, pool)), pool);
    ts_error_clear(err);
    return NULL;
  }
  answer = json_loads(text, 0, NULL);
  who = json_string_value(json_object_get(answer, "who"));
  who = who ? apr_pstrdup(pool, who) : NULL;
  if (status != 200 || !who) {
    /* the license server's words, in the language it answers in */
    reply->status = status == 200 ? 502 : status;
    reply->body = apr_pstrdup(pool, text);
    if (status == 401)
      reply->www_authenticate = "Basic realm=\"Tessera agent\"";
    if (status == 429)
      reply->retry_after = (int)json_integer_value(json_object_get(
                                                   answer, "retry_after"));
    who = NULL;
  }
  json_decref(answer);
  return who;
}
