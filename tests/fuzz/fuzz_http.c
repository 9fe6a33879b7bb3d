/* fuzz_http.c: requests of a harness's input and the invariants of
 * every answer (see fuzz_http.h). */
#include "fuzz_http.h"

#include <string.h>
#include <strings.h>
#include <apr_strings.h>
#include <jansson.h>

#include "fuzz_common.h"

static int
hexval(char c)
{
  return c >= '0' && c <= '9' ? c - '0'
         : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The path of TARGET (up to '?'), %XX decoded (a bad escape stays as it
 * is), as libmicrohttpd's MHD_http_unescape gives the URL to the
 * handler; *QUERY what follows '?', or NULL. */
static const char *
path_of(const char **query, const char *target, apr_pool_t *pool)
{
  apr_size_t n = strcspn(target, "?");
  char *out = apr_pstrndup(pool, target, n), *o = out;

  *query = target[n] ? target + n + 1 : NULL;
  for (const char *p = out; *p; p++)
    if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
      *o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
      p += 2;
    }
    else
      *o++ = *p;
  *o = '\0';
  return out;
}

const char *
fuzz_http_substitute(const char *text, apr_hash_t *vars, apr_pool_t *pool)
{
  const char *out = "", *at = text, *open;

  if (!vars || !apr_hash_count(vars))
    return text;
  while ((open = strchr(at, '{'))) {
    const char *close = strchr(open + 1, '}');
    const char *value = close ? apr_hash_get(vars, open + 1,
                                             (apr_ssize_t)(close - open - 1))
                              : NULL;
    if (!value) {
      out = apr_pstrcat(pool, out, apr_pstrndup(pool, at, open + 1 - at),
                        NULL);
      at = open + 1;
      continue;
    }
    out = apr_pstrcat(pool, out, apr_pstrndup(pool, at, open - at), value,
                      NULL);
    at = close + 1;
  }
  return apr_pstrcat(pool, out, at, NULL);
}

void
fuzz_http_parse(ts_http_request_t *req, const char **query,
                apr_table_t **headers_p, const char *text, apr_size_t len,
                apr_hash_t *vars, apr_pool_t *pool)
{
  const char *end = text + len, *p = text, *nl, *line, *target;
  apr_table_t *headers = apr_table_make(pool, 4);
  apr_size_t sp;

  memset(req, 0, sizeof(*req));
  req->client = "192.0.2.7";
  nl = memchr(p, '\n', end - p);
  line = apr_pstrmemdup(pool, p, (nl ? nl : end) - p);
  sp = strcspn(line, " ");
  req->method = apr_pstrndup(pool, line, sp);
  target = line[sp] ? line + sp + 1 : "/";
  req->url = fuzz_http_substitute(path_of(query, target, pool), vars, pool);
  if (*query)
    *query = fuzz_http_substitute(*query, vars, pool);
  p = nl ? nl + 1 : end;
  while (p < end && *p != '\n') {
    const char *colon, *value;
    nl = memchr(p, '\n', end - p);
    line = apr_pstrmemdup(pool, p, (nl ? nl : end) - p);
    p = nl ? nl + 1 : end;
    colon = strchr(line, ':');
    if (!colon)
      continue;
    value = fuzz_http_substitute(colon + 1 + strspn(colon + 1, " "), vars,
                                 pool);
    apr_table_addn(headers, apr_pstrndup(pool, line, colon - line), value);
    if (strncasecmp(line, "Content-Type:", 13) == 0)
      req->content_type = value;
    else if (strncasecmp(line, "Authorization:", 14) == 0)
      req->authorization = value;
  }
  if (p < end)
    p++;                          /* the blank line */
  req->body = apr_pstrmemdup(pool, p, end - p);
  req->body_len = (apr_size_t)(end - p);
  if (vars && apr_hash_count(vars) && memchr(req->body, '{', req->body_len)
      && strlen(req->body) == req->body_len) {
    req->body = fuzz_http_substitute(req->body, vars, pool);
    req->body_len = strlen(req->body);
  }
  if (headers_p)
    *headers_p = headers;
}

void
fuzz_http_check(const ts_http_reply_t *reply, const ts_http_request_t *req)
{
  json_error_t jerr;
  json_t *j;

  FUZZ_CHECK(reply->status != 500, "500 for %s %s: %s", req->method,
             req->url, reply->body);
  FUZZ_CHECK(reply->status >= 200 && reply->status < 600 && reply->body
             && reply->route, "status %d", reply->status);
  FUZZ_CHECK(reply->status != 405 || reply->allow, "405 without Allow");
  FUZZ_CHECK(reply->status != 401 || reply->www_authenticate,
             "401 without a challenge");
  if (strcmp(reply->content_type, "application/json") != 0)
    return;
  j = json_loads(reply->body, 0, &jerr);
  FUZZ_CHECK(j, "%d for %s: the answer is not JSON (%s): %s", reply->status,
             req->url, jerr.text, reply->body);
  if (reply->status >= 400) {
    const char *error = json_string_value(json_object_get(j, "error"));
    FUZZ_CHECK(error && *error, "%d for %s %s without its error: %s",
               reply->status, req->method, req->url, reply->body);
  }
  json_decref(j);
}

json_t *
fuzz_http_json(const ts_http_reply_t *reply)
{
  if (strcmp(reply->content_type, "application/json") != 0)
    return NULL;
  return json_loads(reply->body, 0, NULL);
}
