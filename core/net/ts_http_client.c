/* ts_http_client.c: the HTTP client side (ts_http_get, ts_http_call in
 * ts_httpd.h), over libcurl: what the admin program, the doctor, the
 * registry's prober and project license servers use to talk to servers. */
#include "ts_httpd.h"

#include <string.h>
#include <apr_strings.h>
#include <curl/curl.h>

#define BODY_MAX (1 << 20)

void
ts_http_client_init(void)
{
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct sink_t {
  char *data;
  apr_size_t len;
  apr_pool_t *pool;
} sink_t;

static size_t
collect(char *ptr, size_t size, size_t n, void *baton)
{
  sink_t *sink = baton;
  apr_size_t add = size * n, keep = add;
  char *grown;

  if (sink->len + keep > BODY_MAX)
    keep = BODY_MAX - sink->len;
  grown = apr_palloc(sink->pool, sink->len + keep + 1);
  memcpy(grown, sink->data, sink->len);
  memcpy(grown + sink->len, ptr, keep);
  sink->len += keep;
  grown[sink->len] = '\0';
  sink->data = grown;
  return add;
}

ts_error_t *
ts_http_call(int *status, const char **body, const char *host, int port,
             const char *method, const char *path, const char *json,
             const char *headers, apr_interval_time_t timeout,
             apr_pool_t *pool)
{
  sink_t sink = { "", 0, pool };
  struct curl_slist *list = NULL;
  const char *url;
  char errbuf[CURL_ERROR_SIZE] = "";
  long code = 0;
  CURLcode rc;
  CURL *c;

  /* an IPv6 address goes in brackets */
  url = apr_psprintf(pool, "http://%s%s%s:%d%s",
                     strchr(host, ':') && host[0] != '[' ? "[" : "", host,
                     strchr(host, ':') && host[0] != '[' ? "]" : "", port,
                     path);
  c = curl_easy_init();
  if (!c)
    return ts_error_createf(TS_EOS, "cannot create an HTTP client (out of "
                            "memory)");
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  /* Tessera's servers are reached directly, never through http_proxy */
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)apr_time_as_msec(timeout));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)apr_time_as_msec(timeout)
                   * 2);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &sink);
  if (strcmp(method, "GET") != 0)
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  if (json) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
    list = curl_slist_append(list, "Content-Type: application/json");
  }
  for (const char *h = headers; h && *h; ) {
    apr_size_t n = strcspn(h, "\r\n");
    if (n)
      list = curl_slist_append(list, apr_pstrndup(pool, h, n));
    h += n;
    h += strspn(h, "\r\n");
  }
  /* no "Expect: 100-continue" round trip before small bodies */
  list = curl_slist_append(list, "Expect:");
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(list);
  curl_easy_cleanup(c);
  if (rc != CURLE_OK)
    return ts_error_createf(TS_EUNAVAIL, "%s port %d does not answer %s %s "
                            "(%s)", host, port, method, path,
                            *errbuf ? errbuf : curl_easy_strerror(rc));
  *status = (int)code;
  *body = sink.data;
  return NULL;
}

ts_error_t *
ts_http_get(int *status, const char **body, const char *host, int port,
            const char *path, apr_interval_time_t timeout, apr_pool_t *pool)
{
  return ts_http_call(status, body, host, port, "GET", path, NULL, NULL,
                      timeout, pool);
}
