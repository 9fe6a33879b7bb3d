/* ts_http_probe.c: many GET probes at once (see ts_http_probe.h), over
 * libcurl's multi interface: one multi handle, one easy handle per probe,
 * curl_multi_poll() to wait and curl_multi_wakeup() to be woken. Only the
 * owner's thread touches the handles; ts_http_probes_wake() uses only
 * curl_multi_wakeup(), which libcurl makes safe from any thread, and an
 * atomic flag saying the wait should end. */
#include "ts_http_probe.h"

#include <stdlib.h>
#include <string.h>
#include <apr_atomic.h>
#include <apr_strings.h>
#include <curl/curl.h>

/* One probe; the easy handle's CURLOPT_PRIVATE. */
typedef struct probe_t {
  CURL *easy;
  char *key;
  apr_int64_t tag;
  struct probe_t *prev, *next;    /* the set's list, for destroy */
} probe_t;

struct ts_http_probes_t {
  CURLM *multi;
  probe_t *head;
  int pending;
  volatile apr_uint32_t woken;
};

ts_error_t *
ts_http_probes_create(ts_http_probes_t **probes)
{
  ts_http_probes_t *p = calloc(1, sizeof(*p));

  if (p)
    p->multi = curl_multi_init();
  if (!p || !p->multi) {
    free(p);
    return ts_error_createf(TS_EOS, "cannot create the model-server "
                            "prober's HTTP client (out of memory)");
  }
  *probes = p;
  return NULL;
}

static void
forget(ts_http_probes_t *p, probe_t *pr)
{
  curl_multi_remove_handle(p->multi, pr->easy);
  curl_easy_cleanup(pr->easy);
  if (pr->prev)
    pr->prev->next = pr->next;
  else
    p->head = pr->next;
  if (pr->next)
    pr->next->prev = pr->prev;
  free(pr->key);
  free(pr);
  p->pending--;
}

void
ts_http_probes_destroy(ts_http_probes_t *p)
{
  if (!p)
    return;
  while (p->head)
    forget(p, p->head);
  curl_multi_cleanup(p->multi);
  free(p);
}

/* CURLOPT_WRITEFUNCTION: the body does not matter. */
static size_t
discard(char *ptr, size_t size, size_t n, void *baton)
{
  (void)ptr;
  (void)baton;
  return size * n;
}

ts_error_t *
ts_http_probes_add(ts_http_probes_t *p, const char *address, int port,
                   const char *path, apr_interval_time_t timeout,
                   const char *key, apr_int64_t tag)
{
  probe_t *pr = calloc(1, sizeof(*pr));
  int v6 = strchr(address, ':') != NULL;
  char url[300];
  long ms = (long)apr_time_as_msec(timeout);

  if (pr) {
    pr->easy = curl_easy_init();
    pr->key = strdup(key);
  }
  if (!pr || !pr->easy || !pr->key) {
    if (pr)
      curl_easy_cleanup(pr->easy);
    free(pr ? pr->key : NULL);
    free(pr);
    return ts_error_createf(TS_EOS, "cannot probe %s port %d (out of "
                            "memory)", address, port);
  }
  apr_snprintf(url, sizeof(url), "http://%s%s%s:%d%s", v6 ? "[" : "",
               address, v6 ? "]" : "", port, path);
  pr->tag = tag;
  curl_easy_setopt(pr->easy, CURLOPT_URL, url);
  curl_easy_setopt(pr->easy, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(pr->easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(pr->easy, CURLOPT_TIMEOUT_MS, ms);
  curl_easy_setopt(pr->easy, CURLOPT_CONNECTTIMEOUT_MS, ms);
  /* each probe asks anew: a kept connection would answer for a server
   * that restarted behind it */
  curl_easy_setopt(pr->easy, CURLOPT_FORBID_REUSE, 1L);
  curl_easy_setopt(pr->easy, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(pr->easy, CURLOPT_PRIVATE, pr);
  if (curl_multi_add_handle(p->multi, pr->easy) != CURLM_OK) {
    curl_easy_cleanup(pr->easy);
    free(pr->key);
    free(pr);
    return ts_error_createf(TS_EOS, "cannot probe %s port %d: the HTTP "
                            "client refused the request", address, port);
  }
  pr->next = p->head;
  if (p->head)
    p->head->prev = pr;
  p->head = pr;
  p->pending++;
  return NULL;
}

int
ts_http_probes_pending(const ts_http_probes_t *p)
{
  return p->pending;
}

/* Report every probe that finished, and forget it. */
static void
collect(ts_http_probes_t *p, ts_http_probe_done_t done, void *baton)
{
  CURLMsg *m;
  int left;

  while ((m = curl_multi_info_read(p->multi, &left))) {
    probe_t *pr = NULL;
    long code = 0;
    if (m->msg != CURLMSG_DONE)
      continue;
    curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&pr);
    if (m->data.result == CURLE_OK)
      curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
    done(baton, pr->key, pr->tag, (int)code);
    forget(p, pr);
  }
}

void
ts_http_probes_run(ts_http_probes_t *p, apr_interval_time_t wait,
                   ts_http_probe_done_t done, void *baton)
{
  apr_time_t until = apr_time_now() + wait;

  for (;;) {
    apr_interval_time_t left;
    int running = 0;
    curl_multi_perform(p->multi, &running);
    collect(p, done, baton);
    if (apr_atomic_xchg32(&p->woken, 0))
      return;
    left = until - apr_time_now();
    if (left <= 0)
      return;
    /* returns on activity, a probe's deadline, LEFT, or a wakeup */
    curl_multi_poll(p->multi, NULL, 0, (int)(apr_time_as_msec(left) + 1),
                    NULL);
  }
}

void
ts_http_probes_wake(ts_http_probes_t *p)
{
  apr_atomic_set32(&p->woken, 1);
  curl_multi_wakeup(p->multi);
}
