/* ts_server_admin.c: who may change what a server other than the license
 * server holds (an agent's versions, the notification service's mail
 * subscriptions). The administrator's password lives on the license
 * server's machine (INOLIC/admin.passwd, ts_passwd.h), so such a server
 * has the license server check it: POST /v1/admin/check
 * {"authorization", "client"} with the server credential, answered as the
 * license server answers its own administrator's requests (200 {"who"},
 * 401 wrong, 403 none set yet, 429 guessing throttled for that client).
 * Another Tessera server shows the server credential instead. */
#include "ts_server_impl.h"

#include <string.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ts_i18n.h"

#define CHECK_TIMEOUT apr_time_from_sec(10)

/* The license server's verdict on AUTHORIZATION (of CLIENT): who acts,
 * or NULL with REPLY filled. */
static const char *
verdict(ts_http_reply_t *reply, const char *authorization,
        const char *client, const ts_server_admin_t *admin, apr_pool_t *pool)
{
  json_t *j = json_pack("{s:s, s:s}", "authorization", authorization,
                        "client", client ? client : "");
  char *body = json_dumps(j, JSON_COMPACT);
  const char *text = "", *who;
  int status = 0;
  json_t *answer;
  ts_error_t *err;

  json_decref(j);
  err = ts_http_call(&status, &text, admin->host, admin->port, "POST",
                     "/v1/admin/check", body,
                     ts_credential_header(admin->cred, pool), CHECK_TIMEOUT,
                     pool);
  free(body);
  if (err) {
    ts_http_reply_error(reply, 503, apr_psprintf(pool, _("cannot check the "
      "administrator's password: the license server on %s port %d "
      "(INOHOST) does not answer: %s"), admin->host, admin->port,
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
      reply->www_authenticate = admin->realm;
    if (status == 429)
      reply->retry_after = (int)json_integer_value(json_object_get(
                                                   answer, "retry_after"));
    who = NULL;
  }
  json_decref(answer);
  return who;
}

const char *
ts_server_admin_check(ts_http_reply_t *reply, const ts_http_request_t *req,
                      const ts_server_admin_t *admin, apr_pool_t *pool)
{
  if (req->authorization && admin->cred
      && ts_credential_check_http(admin->cred, req->authorization))
    return "a Tessera server";
  if (!req->authorization) {
    ts_http_reply_error(reply, 401, admin->needed, pool);
    reply->www_authenticate = admin->realm;
    return NULL;
  }
  if (!admin->host || !admin->cred) {
    ts_http_reply_error(reply, 503, _("this server does not know its "
                        "license server yet, which checks the "
                        "administrator's password; try again shortly"),
                        pool);
    reply->retry_after = 5;
    return NULL;
  }
  return verdict(reply, req->authorization, req->client, admin, pool);
}
