/* fuzz_api.c: the license server's HTTP interface, in-process: the
 * request path through the route tables (core/net/ts_routes.c: {id}
 * segments, 404 with suggestions, 405 with Allow), every JSON body a
 * handler reads (checkout, force-release with its Basic credentials,
 * model-server registration, proxies, project reports) and the hub's
 * lookups (core/roles/license), answered by the real handlers over a
 * real licensing state: a demo license and the SQLite seat store in a
 * scratch INOLIC, an administrator's password, the registry.
 *
 * An input is up to 16 requests separated by lines "###", each written
 * like HTTP:
 *
 *   POST /v1/sessions
 *   Content-Type: application/json
 *   Authorization: Basic YWRtaW46ZnV6ei1wYXNzd29yZA==
 *   X-Site: hub                     (the hub's routes on p+2 instead)
 *
 *   {"product":"demo", ...}
 *
 * The target's path is percent-decoded, as libmicrohttpd hands it to the
 * server, and its query's arguments reach the handlers (fuzz_http.h);
 * "{session}" in the path, a header or the body becomes the id of the
 * input's last checkout (ids are random, so no input could name one
 * otherwise).
 * Requests that change seats are deferred and answered after the store's
 * commit (ts_http_answer_local waits for that). Each input starts with
 * an empty registry and project list; the seats it checked out are
 * checked in at its end, so inputs do not depend on each other beyond
 * expired leases.
 *
 * FUZZ_API_VERBOSE=1 prints every answer; FUZZ_API_LOG=FILE keeps the
 * server's log.
 *
 * Invariants: no 500; every answer is JSON, an error one with a non-empty
 * "error"; a 405 carries Allow, a 401 its challenge.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <jansson.h>
#include <sodium.h>

#include "fuzz_common.h"
#include "fuzz_http.h"
#include "ts_file.h"
#include "ts_licensing.h"
#include "ts_passwd.h"

#define MAX_REQUESTS 16
#define PASSWORD "fuzz-password"

static ts_licensing_t *lc;

/* A demo license for localhost: products with seats, and one expired. */
static void
install_license(const char *inolic, apr_pool_t *pool)
{
  static const ts_product_t products[] = {
    { "demo", 3, "2099-12-31" }, { "modeler", 1, "2099-12-31" },
    { "retired", 5, "2001-01-01" },
  };
  unsigned char pk[32], sk[64];
  ts_license_t lic = { "fuzz-1", "2026-01-01T00:00:00Z", "Fuzzing",
                       "localhost", NULL, NULL, NULL, NULL };
  const char *xml;
  ts_error_t *err;

  lic.products = apr_array_make(pool, 3, sizeof(ts_product_t));
  for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++)
    APR_ARRAY_PUSH(lic.products, ts_product_t) = products[i];
  err = ts_license_demo_key(pk, sk);
  if (!err)
    err = ts_license_sign(&xml, &lic, sk, pool);
  if (!err)
    err = ts_file_replace(ts_path_join(inolic, "tessera.lic", pool), xml,
                          strlen(xml), TS_FPROT_FILE, pool);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
}

/* The administrator's password, hashed with Argon2id at its cheapest
 * (the hash carries its cost), so a correct Authorization costs
 * microseconds, not the 0.1 s of `license passwd`'s hash. */
static void
install_password(const char *path, apr_pool_t *pool)
{
  char hash[crypto_pwhash_STRBYTES];

  FUZZ_CHECK(sodium_init() >= 0
             && crypto_pwhash_str(hash, PASSWORD, strlen(PASSWORD),
                                  crypto_pwhash_OPSLIMIT_MIN,
                                  crypto_pwhash_MEMLIMIT_MIN) == 0,
             "cannot hash the password");
  fuzz_write_file(path, apr_pstrcat(pool, hash, "\n", NULL),
                  strlen(hash) + 1, pool);
}

/* The store's writer stops and its database closes, as at a server's
 * stop (libFuzzer ends the process with exit()). */
static void
close_state(void)
{
  ts_licensing_close(lc);
}

static ts_registry_options_t registry_options;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  apr_pool_t *pool = fuzz_init();
  const char *inolic = ts_path_join(fuzz_scratch_dir(), "license", pool);
  ts_licensing_options_t o = { 0 };
  ts_config_t *config;
  ts_log_t *log;
  ts_error_t *err;

  (void)argc;
  (void)argv;
  /* the log and the audit log are written, to nowhere unless asked */
  err = ts_log_open(&log, getenv("FUZZ_API_LOG") ? getenv("FUZZ_API_LOG")
                                                 : "/dev/null", 0, 0, pool);
  if (!err)
    err = ts_dir_make(inolic, TS_FPROT_DIR, pool);
  if (!err)
    err = ts_config_load(&config, ts_path_join(inolic, "none.xml", pool),
                         pool);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  install_license(inolic, pool);
  o.statedir = inolic;
  o.inodir = ts_path_join(fuzz_scratch_dir(), "params", pool);
  o.host = "localhost";
  o.port = 17000;
  o.config = config;
  o.passwd_path = ts_passwd_path(inolic, pool);
  o.audit_path = "/dev/null";
  install_password(o.passwd_path, pool);
  err = ts_licensing_open(&lc, &o, log, pool);
  FUZZ_CHECK(!err && lc->license, "cannot open the licensing state: %s",
             err ? ts_error_text(err, pool) : "no license in force");
  /* each input gets a fresh registry made the way the server makes it */
  registry_options = *ts_registry_options(lc->registry);
  atexit(close_state);
  return 0;
}

/* ---- requests ----------------------------------------------------------- */

typedef struct site_t {
  const ts_routes_t *tables;
  int ntables;
} site_t;

static void
answer(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  const site_t *site = baton;

  ts_routes_dispatch(reply, site->tables, site->ntables, req, pool);
}

/* GET /metrics as the server answers it (its common routes are
 * ts_server_sites.c's; the license server's families are these). */
static void
metrics(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        const char *const *args, apr_pool_t *pool)
{
  ts_prom_t *prom = ts_prom_create(pool);

  (void)req;
  (void)args;
  ts_licensing_metrics(prom, baton, pool);
  reply->content_type = TS_PROM_CONTENT_TYPE;
  reply->body = ts_prom_text(prom);
}

static const ts_route_t metrics_routes[] = {
  { "GET", "/metrics", metrics },
  { NULL, NULL, NULL }
};

/* Parse one request of TEXT (LEN bytes) into REQ and its *QUERY; *HUB:
 * for the hub. SESSION: the last session checked out, or NULL. */
static void
parse_request(ts_http_request_t *req, const char **query, int *hub,
              const char *text, apr_size_t len, const char *session,
              apr_pool_t *pool)
{
  apr_hash_t *vars = apr_hash_make(pool);
  apr_table_t *headers;
  const char *site;

  if (session)
    apr_hash_set(vars, "session", APR_HASH_KEY_STRING, session);
  fuzz_http_parse(req, query, &headers, text, len, vars, pool);
  site = apr_table_get(headers, "X-Site");
  *hub = site && strcmp(site, "hub") == 0;
}

/* Answer REQ at SITE; a checkout's session id goes to CHECKED_OUT. */
static void
ask(const site_t *site, ts_http_request_t *req, const char *query,
    apr_array_header_t *checked_out, apr_pool_t *pool)
{
  ts_http_reply_t reply = { 200, "application/json", "", "other", NULL,
                            NULL, 0 };
  apr_pool_t *rpool;

  apr_pool_create(&rpool, pool);
  ts_http_answer_local(&reply, answer, (void *)site, req, query, rpool);
  if (getenv("FUZZ_API_VERBOSE"))   /* to see what a seed does */
    fprintf(stderr, "%s %s -> %d %s", req->method, req->url, reply.status,
            reply.body);
  fuzz_http_check(&reply, req);
  if (reply.status == 201 && strcmp(req->method, "POST") == 0
      && strcmp(req->url, "/v1/sessions") == 0) {
    json_t *j = json_loads(reply.body, 0, NULL);
    const char *id = json_string_value(json_object_get(j, "id"));
    FUZZ_CHECK(id, "a checkout without its session id: %s", reply.body);
    APR_ARRAY_PUSH(checked_out, const char *) = apr_pstrdup(pool, id);
    json_decref(j);
  }
  apr_pool_destroy(rpool);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  apr_array_header_t *parts, *lens, *checked_out;
  ts_routes_t api[5], hub[1];
  site_t api_site = { api, 5 }, hub_site = { hub, 1 };

  apr_pool_create(&pool, fuzz_init());
  /* soft state, fresh for every input (it lives in POOL) */
  ts_registry_create(&lc->registry, &registry_options, pool);
  lc->projects = ts_licensing_projects_create(pool);
  api[0] = (ts_routes_t){ ts_licensing_session_routes, lc };
  api[1] = (ts_routes_t){ ts_licensing_status_routes, lc };
  api[2] = (ts_routes_t){ ts_licensing_project_routes, lc };
  api[3] = (ts_routes_t){ ts_registry_routes, lc->registry };
  api[4] = (ts_routes_t){ metrics_routes, lc };
  hub[0] = (ts_routes_t){ ts_hub_routes, lc->registry };
  checked_out = apr_array_make(pool, 4, sizeof(const char *));

  parts = fuzz_split(&lens, data, size, "###", MAX_REQUESTS, pool);
  for (int i = 0; i < parts->nelts; i++) {
    ts_http_request_t req;
    const char *query;
    int to_hub;
    parse_request(&req, &query, &to_hub, APR_ARRAY_IDX(parts, i,
                                                       const char *),
                  APR_ARRAY_IDX(lens, i, apr_size_t), checked_out->nelts
                  ? APR_ARRAY_IDX(checked_out, checked_out->nelts - 1,
                                  const char *) : NULL, pool);
    if (req.body_len > TS_HTTP_MAX_BODY)
      continue;                   /* the listener answers 413 itself */
    ask(to_hub ? &hub_site : &api_site, &req, query, checked_out, pool);
  }
  /* check the seats in again (a request may have done so already) */
  for (int i = 0; i < checked_out->nelts; i++) {
    ts_http_request_t req = { 0 };
    req.method = "DELETE";
    req.url = apr_pstrcat(pool, "/v1/sessions/",
                          APR_ARRAY_IDX(checked_out, i, const char *), NULL);
    req.client = "192.0.2.7";
    req.body = "";
    ask(&api_site, &req, NULL, checked_out, pool);
  }
  lc->registry = NULL;
  lc->projects = NULL;
  apr_pool_destroy(pool);
  return 0;
}
