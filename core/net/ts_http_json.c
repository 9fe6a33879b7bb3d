/* ts_http_json.c: JSON in and out of the HTTP server (see ts_httpd.h):
 * answers written with jansson, error answers {"error": message} that are
 * valid JSON whatever the message quotes, and request bodies read as JSON
 * with the 415 and 400 answers every handler would otherwise repeat. */
#include "ts_httpd.h"
#include "ts_i18n.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

void
ts_http_reply_json(ts_http_reply_t *reply, int status, json_t *j,
                   apr_pool_t *pool)
{
  char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;

  /* J is NULL when the handler's json_pack failed (a NULL or non-UTF-8
   * string): the handler's bug, never a silent "{}" with its status */
  reply->status = text ? status : 500;
  reply->body = text ? apr_pstrcat(pool, text, "\n", NULL)
                     : "{\"error\":\"internal error: the answer could not "
                       "be written as JSON\"}\n";
  free(text);
  json_decref(j);
}

void
ts_http_reply_error(ts_http_reply_t *reply, int status, const char *message,
                    apr_pool_t *pool)
{
  json_t *text = json_string(message);

  if (!text) {
    /* not UTF-8: the message quotes what a client sent (a path, a
     * name); JSON strings must be UTF-8, so those bytes show as '?' */
    char *shown = apr_pstrdup(pool, message);
    for (char *p = shown; *p; p++)
      if ((unsigned char)*p >= 0x80)
        *p = '?';
    text = json_string(shown);
  }
  ts_http_reply_json(reply, status, json_pack("{s:o}", "error", text), pool);
}

void
ts_http_request_json(json_t **j, ts_http_reply_t *reply,
                     const ts_http_request_t *req, apr_pool_t *pool)
{
  json_error_t jerr;

  *j = NULL;
  if (!req->content_type
      || strncmp(req->content_type, "application/json", 16) != 0) {
    ts_http_reply_error(reply, 415, apr_psprintf(pool, _("%s %s takes "
                        "Content-Type: application/json"), req->method,
                        req->url), pool);
    return;
  }
  *j = json_loadb(req->body, req->body_len, 0, &jerr);
  if (!*j)
    ts_http_reply_error(reply, 400, apr_psprintf(pool, _("the body is not "
                        "valid JSON: %s (line %d, column %d)"), jerr.text,
                        jerr.line, jerr.column), pool);
}
