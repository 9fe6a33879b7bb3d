/* test_licensing.c: the license server's answers to its clients
 * (core/roles/license), in-process through its route tables with the
 * real handlers over a real licensing state (a demo license, the SQLite
 * seat store, the administrator's password, the registry, the server
 * credential), as tests/fuzz/fuzz_api.c drives them.
 *
 * Whole sentences (issue 16): spoken in the made-up language "xx"
 * (tests/i18n/pseudo.sh: every message the code marks, in capitals), an
 * error answer shows no word of ours in small letters; only what it
 * quotes (paths, ids, names, the request's method and route) keeps
 * them. A server answers its clients in its INOLANG. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <jansson.h>
#include <sodium.h>

#include "pseudo_lang.h"
#include "ts_file.h"
#include "ts_licensing.h"
#include "ts_passwd.h"

#define PASSWORD "test-password"

static apr_pool_t *pool;
static char root[] = "/tmp/tessera-licensing-XXXXXX";
static const char *inolic;
static ts_licensing_t *lc;

/* A license for HOST, signed with the demo key, as INOLIC/tessera.lic:
 * "demo" with seats, "retired" expired. */
static void
install_license(const char *id, const char *host)
{
  static const ts_product_t products[] = {
    { "demo", 3, "2099-12-31" }, { "retired", 5, "2001-01-01" },
  };
  unsigned char pk[32], sk[64];
  ts_license_t lic = { id, "2026-01-01T00:00:00Z", "Testing", host, NULL,
                       NULL, NULL, NULL };
  const char *xml;

  lic.products = apr_array_make(pool, 2, sizeof(ts_product_t));
  for (size_t i = 0; i < sizeof(products) / sizeof(products[0]); i++)
    APR_ARRAY_PUSH(lic.products, ts_product_t) = products[i];
  cr_assert_null(ts_license_demo_key(pk, sk));
  cr_assert_null(ts_license_sign(&xml, &lic, sk, pool));
  cr_assert_null(ts_file_replace(ts_path_join(inolic, "tessera.lic", pool),
                                 xml, strlen(xml), TS_FPROT_FILE, pool));
}

/* The administrator's password, hashed at Argon2id's least cost. */
static void
install_password(const char *path)
{
  char hash[crypto_pwhash_STRBYTES];
  const char *line;

  cr_assert(sodium_init() >= 0);
  cr_assert_eq(crypto_pwhash_str(hash, PASSWORD, strlen(PASSWORD),
                                 crypto_pwhash_OPSLIMIT_MIN,
                                 crypto_pwhash_MEMLIMIT_MIN), 0);
  line = apr_pstrcat(pool, hash, "\n", NULL);
  cr_assert_null(ts_file_replace(path, line, strlen(line), TS_FPROT_FILE,
                                 pool));
}

static void
setup(void)
{
  ts_licensing_options_t o = { 0 };
  ts_config_t *config;
  ts_log_t *log;

  apr_initialize();
  apr_pool_create(&pool, NULL);
  cr_assert_not_null(mkdtemp(root));
  inolic = apr_pstrcat(pool, root, "/license", NULL);
  cr_assert_null(ts_dir_make(inolic, TS_FPROT_DIR, pool));
  cr_assert_null(ts_log_open(&log, ts_path_join(inolic, "license.log", pool),
                             0, 0, pool));
  cr_assert_null(ts_config_load(&config, ts_path_join(inolic, "none.xml",
                                                      pool), pool));
  install_license("test-1", "localhost");
  o.statedir = inolic;
  o.inodir = apr_pstrcat(pool, root, "/params", NULL);
  o.host = "localhost";
  o.port = 17000;
  o.config = config;
  o.passwd_path = ts_passwd_path(inolic, pool);
  install_password(o.passwd_path);
  cr_assert_null(ts_licensing_open(&lc, &o, log, pool));
  cr_assert_not_null(lc->license);
}

static void
teardown(void)
{
  ts_licensing_close(lc);
  cr_assert_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(licensing, .init = setup, .fini = teardown, .timeout = 60);

static void
dispatch(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
         apr_pool_t *p)
{
  ts_routes_t api[] = {
    { ts_licensing_session_routes, lc },
    { ts_licensing_status_routes, lc },
    { ts_licensing_project_routes, lc },
    { ts_licensing_agent_routes, lc },
    { ts_registry_routes, lc->registry },
  };
  ts_routes_t hub[] = { { ts_hub_routes, lc->registry } };

  if (baton)
    ts_routes_dispatch(reply, hub, 1, req, p);
  else
    ts_routes_dispatch(reply, api, sizeof(api) / sizeof(api[0]), req, p);
}

/* The answer to METHOD URL with AUTHORIZATION (or NULL) and BODY (or
 * NULL) on the license server's port, or the hub's (HUB): its status in
 * *STATUS, its "error" returned (the whole body when it has none). */
static const char *
ask_at(int *status, int hub, const char *method, const char *url,
       const char *authorization, const char *body)
{
  ts_http_reply_t reply = { 200, "application/json", "", "other", NULL,
                            NULL, 0 };
  ts_http_request_t req = { 0 };
  const char *error;
  json_t *j;

  req.method = method;
  req.url = url;
  req.authorization = authorization;
  req.client = "192.0.2.7";
  req.content_type = body ? "application/json" : NULL;
  req.body = body ? body : "";
  req.body_len = strlen(req.body);
  ts_http_answer_local(&reply, dispatch, hub ? (void *)1 : NULL, &req, NULL,
                       pool);
  *status = reply.status;
  j = json_loads(reply.body, 0, NULL);
  cr_assert_not_null(j, "not JSON: %s", reply.body);
  error = json_string_value(json_object_get(j, "error"));
  error = apr_pstrdup(pool, error ? error : reply.body);
  json_decref(j);
  return error;
}

static const char *
ask(int *status, const char *method, const char *url,
    const char *authorization, const char *body)
{
  return ask_at(status, 0, method, url, authorization, body);
}

/* TEXT has no word of ours in small letters besides VALUES
 * (NULL-terminated) and contains WANT. */
static void
whole(const char *text, const char *want, const char *const *values)
{
  const char *leak = pseudo_lang_leak(text, values, pool);

  cr_assert(strstr(text, want), "'%s' is not in: %s", want, text);
  cr_assert_null(leak, "'%s' is English in: %s", leak, text);
}

static const char *
basic(const char *user, const char *password)
{
  const char *plain = apr_pstrcat(pool, user, ":", password, NULL);
  size_t len = sodium_base64_ENCODED_LEN(strlen(plain),
                                         sodium_base64_VARIANT_ORIGINAL);
  char *coded = apr_palloc(pool, len);

  sodium_bin2base64(coded, len, (const unsigned char *)plain, strlen(plain),
                    sodium_base64_VARIANT_ORIGINAL);
  return apr_pstrcat(pool, "Basic ", coded, NULL);
}

Test(licensing, registry_refusals_are_answered_in_the_servers_language)
{
  const char *file = ts_credential_file(lc->credential), *text;
  const char *server = apr_pstrcat(pool, "Tessera ", ts_credential_derive(
                                    lc->credential, "http", pool), NULL);
  int status;

  pseudo_lang_speak(pool);
  text = ask(&status, "POST", "/v1/model-servers", NULL, "{}");
  cr_assert_eq(status, 401, "%s", text);
  whole(text, "POST /v1/model-servers IS FOR TESSERA'S SERVERS ONLY",
        (const char *const[]){ "/v1/model-servers", "Tessera", file, NULL });
  text = ask(&status, "DELETE", "/v1/proxies/h1", "Tessera wrong", NULL);
  cr_assert_eq(status, 401, "%s", text);
  whole(text, "DELETE /v1/proxies/{host}: THE TOKEN IN",
        (const char *const[]){ "/v1/proxies/{host}", "Tessera", file,
        NULL });
  text = ask(&status, "PUT", "/v1/model-servers/h1:17006/heartbeat",
             server, NULL);
  cr_assert_eq(status, 404, "%s", text);
  whole(text, "MODEL SERVER h1:17006 IS NOT REGISTERED: REGISTER AGAIN",
        (const char *const[]){ "h1:17006", "/V1/MODEL-SERVERS", NULL });
  text = ask(&status, "DELETE", "/v1/proxies/h1", server, NULL);
  cr_assert_eq(status, 404, "%s", text);
  whole(text, "NO PROXY OF HOST 'h1' IS REGISTERED",
        (const char *const[]){ "h1", NULL });
  text = ask(&status, "POST", "/v1/model-servers", server,
             "{\"repository\": \"r\", \"models\": [\"m\"], \"links\": "
             "{\"l\": \"other\"}, \"host\": \"127.0.0.1\", \"port\": 17006, "
             "\"pid\": 1, \"license_server\": \"localhost.17000\"}");
  cr_assert_eq(status, 400, "%s", text);
  whole(text, "THE LINK 'l' MUST NAME ONE OF THIS SERVER'S MODELS",
        (const char *const[]){ "'l'", NULL });
  text = ask_at(&status, 1, "GET", "/v1/resolve/nothing", NULL, NULL);
  cr_assert_eq(status, 404, "%s", text);
  whole(text, "NO MODEL SERVER THAT IS UP OFFERS A MODEL OR LINK NAMED "
        "'nothing'", (const char *const[]){ "'nothing'", "/V1/", NULL });
}

Test(licensing, agent_refusals_are_answered_in_the_servers_language)
{
  const char *file = ts_credential_file(lc->credential), *text;
  const char *server = apr_pstrcat(pool, "Tessera ", ts_credential_derive(
                                    lc->credential, "http", pool), NULL);
  int status;

  pseudo_lang_speak(pool);
  text = ask(&status, "POST", "/v1/agents", NULL, "{}");
  cr_assert_eq(status, 401, "%s", text);
  whole(text, "POST /v1/agents IS FOR TESSERA'S SERVERS ONLY",
        (const char *const[]){ "/v1/agents", "Tessera", file, NULL });
  text = ask(&status, "DELETE", "/v1/agents/h1:17003", server, NULL);
  cr_assert_eq(status, 404, "%s", text);
  whole(text, "AGENT h1:17003 IS NOT LISTED",
        (const char *const[]){ "h1:17003", NULL });
  text = ask(&status, "POST", "/v1/agents", server, "{\"host\": \"h1\", "
             "\"port\": 17003, \"inoprj\": \"6f1c9d2e-3b4a-4c5d-8e6f-"
             "7a8b9c0d1e2f\", \"versions\": [{\"model\": \"m\", "
             "\"version\": \"v1\", \"state\": \"dancing\"}]}");
  cr_assert_eq(status, 400, "%s", text);
  whole(text, "VERSIONS[0] IS INVALID", (const char *const[]){ NULL });
  text = ask(&status, "POST", "/v1/agents", server, "{\"host\": \"h1\", "
             "\"port\": 17003, \"inoprj\": \"nope\", \"versions\": []}");
  cr_assert_eq(status, 400, "%s", text);
  whole(text, "INVALID AGENT REPORT", (const char *const[]){ NULL });
}

Test(licensing, session_refusals_are_answered_in_the_servers_language)
{
  char user[301];
  const char *text;
  int status;

  memset(user, 'u', 300);
  user[300] = '\0';
  pseudo_lang_speak(pool);
  text = ask(&status, "PUT", "/v1/sessions/abc/heartbeat", NULL, NULL);
  cr_assert_eq(status, 401, "%s", text);
  whole(text, "A HEARTBEAT OF SESSION abc NEEDS THE SESSION'S TOKEN",
        (const char *const[]){ "abc", "Bearer", "/V1/", NULL });
  text = ask(&status, "DELETE", "/v1/sessions/abc", NULL, NULL);
  cr_assert_eq(status, 401, "%s", text);
  whole(text, "THE CHECK-IN OF SESSION abc NEEDS THE SESSION'S TOKEN",
        (const char *const[]){ "abc", "Bearer", "/V1/", NULL });
  /* answered after the seat store's refusal (a deferred request) */
  text = ask(&status, "PUT", "/v1/sessions/abc/heartbeat", "Bearer xyz",
             NULL);
  cr_assert_eq(status, 404, "%s", text);
  whole(text, "NO SESSION abc HELD WITH THIS TOKEN",
        (const char *const[]){ "abc", NULL });
  text = ask(&status, "POST", "/v1/sessions", NULL, apr_psprintf(pool,
             "{\"product\": \"demo\", \"user\": \"%s\", \"host\": \"h\", "
             "\"pid\": 1, \"application\": \"a\"}", user));
  cr_assert_eq(status, 400, "%s", text);
  whole(text, "THE FIELD \"user\" IS 300 BYTES LONG; AT MOST 256 ARE "
        "ALLOWED", (const char *const[]){ "\"user\"", NULL });
  text = ask(&status, "POST", "/v1/sessions", NULL, "{\"product\": "
             "\"retired\", \"user\": \"u\", \"host\": \"h\", \"pid\": 1, "
             "\"application\": \"a\"}");
  cr_assert_eq(status, 503, "%s", text);
  whole(text, "THE LICENSE FOR PRODUCT 'retired' HAS EXPIRED",
        (const char *const[]){ "'retired'", NULL });
  text = ask(&status, "POST", "/v1/sessions", NULL, "{\"product\": "
             "\"demo\", \"user\": \"u\", \"host\": \"h\", \"pid\": 1, "
             "\"application\": \"a\", \"model_server\": \"h1:17006\"}");
  cr_assert_eq(status, 404, "%s", text);
  whole(text, "MODEL SERVER 'h1:17006' IS NOT REGISTERED OR IS GONE",
        (const char *const[]){ "'h1:17006'", "/V1/", NULL });
  text = ask(&status, "POST", "/v1/sessions/abc/release",
             basic("ada", PASSWORD), "{}");
  cr_assert_eq(status, 400, "%s", text);
  whole(text, "SAY WHY: THE BODY MUST BE", (const char *const[]){ NULL });
}

/* A license the reload refuses: the answer and the status say why and
 * what stays in force, each in the server's language. */
Test(licensing, a_refused_reload_is_answered_in_the_servers_language)
{
  const char *lic = ts_path_join(inolic, "tessera.lic", pool), *text;
  const char *values[] = { "test-1", "other-1", "elsewhere", "localhost",
                           lic, NULL };
  json_t *j;
  int status;

  pseudo_lang_speak(pool);
  text = ask(&status, "POST", "/v1/license/reload", basic("ada", "wrong"),
             NULL);
  cr_assert_eq(status, 401, "%s", text);
  cr_assert_null(pseudo_lang_leak(text, (const char *const[]){ "ada",
                                  "192.0.2.7", NULL }, pool), "%s", text);
  install_license("other-1", "elsewhere");
  text = ask(&status, "POST", "/v1/license/reload", basic("ada", PASSWORD),
             NULL);
  cr_assert_eq(status, 422, "%s", text);
  whole(text, "; LICENSE test-1 STAYS IN FORCE", values);
  text = ask(&status, "GET", "/v1/status", NULL, NULL);
  j = json_loads(text, 0, NULL);
  text = apr_pstrdup(pool, json_string_value(json_object_get(
                     json_object_get(j, "reloads"), "refused")));
  json_decref(j);
  cr_assert(*text, "no reason in /v1/status");
  whole(text, "", values);
}
