/* fuzz_agent_api.c: the agent's HTTP interface, in-process: its route
 * table (core/roles/agent/ts_agent_api.c, ts_agent_routes) answered by
 * the real handlers over a scratch project directory with its identity,
 * where the managed models and their versions are made, copied, backed
 * up and deleted on disk (core/project, core/repo), for an agent set up
 * in-process ("fuzzhost:17003") with the server credential of a scratch
 * INODIR, so that a request that shows it ("Authorization: {credential}")
 * reaches the changes. Any other Authorization is checked by the license
 * server, which does not answer here (fuzz_offline): 503.
 *
 * Starting and stopping versions are out of reach by construction: the
 * harness dispatches over a copy of ts_agent_routes without the start and
 * stop routes (POST .../start and .../stop are answered 404 or 405 like
 * any path the agent lacks), and a child process would abort the
 * harness (fuzz_no_processes).
 *
 * An input is up to 16 requests separated by lines "###", written like
 * HTTP (fuzz_http.h); {credential} is the value of the Authorization
 * header that carries the server credential. Each input starts with the
 * model "bridge" (product "demo") and its empty version "v1".
 *
 * Invariants: no 500; every answer is JSON, an error one with a non-empty
 * "error"; a 405 carries Allow, a 401 its challenge. After every request
 * the project directory holds only what the agent makes: the models'
 * directories with their model.json, versions and backups with their
 * repositories, every name valid, no "." directory left over; nothing
 * else appears beside INOPRJ. Every version listed (GET /v1/versions)
 * exists on disk and is the repository of that name, and every one on
 * disk is listed once. A model defined (200) reads back as answered; a
 * version created or backed up (201) exists as the answer says, with its
 * model's product; one deleted (200) is gone.
 *
 * FUZZ_AGENT_API_VERBOSE=1 prints every answer; FUZZ_AGENT_API_LOG=FILE
 * keeps the agent's log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "fuzz_http.h"
#include "ts_agent.h"
#include "ts_file.h"
#include "ts_models.h"
#include "ts_project.h"
#include "ts_repo.h"

#define MAX_REQUESTS 16
#define ROUTES_MAX 16

static ts_server_info_t info;
static ts_agent_t agent;
static ts_route_t routes[ROUTES_MAX];
static const char *inoprj, *inodir, *credential;
static int backup_asked;       /* the last request's ?backup=1 */
static int local_asked;        /* the last request's ?local=1 */

/* The agent's routes without those that start processes or ask other
 * agents to stop theirs. */
static void
make_routes(void)
{
  int n = 0, left_out = 0;

  for (const ts_route_t *r = ts_agent_routes; r->method; r++) {
    const char *tail = strrchr(r->pattern, '/');
    if (strcmp(tail, "/start") == 0 || strcmp(tail, "/stop") == 0) {
      left_out++;
      continue;
    }
    FUZZ_CHECK(n < ROUTES_MAX - 1, "more agent routes than %d",
               ROUTES_MAX);
    routes[n++] = *r;
  }
  FUZZ_CHECK(left_out == 2, "the agent's start and stop routes are not "
             "where the harness expects them (%d left out)", left_out);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  apr_pool_t *pool = fuzz_init();
  const char *uuid;
  ts_config_t *config;
  ts_error_t *err;
  int created;

  (void)argc;
  (void)argv;
  inoprj = ts_path_join(fuzz_scratch_dir(), "projects", pool);
  inodir = ts_path_join(fuzz_scratch_dir(), "params", pool);
  ts_http_client_init();
  err = ts_log_open(&agent.log, getenv("FUZZ_AGENT_API_LOG")
                    ? getenv("FUZZ_AGENT_API_LOG") : "/dev/null", 0, 0,
                    pool);
  if (!err)
    err = ts_dir_make(inoprj, TS_FPROT_DIR, pool);
  if (!err)
    err = ts_project_init(&uuid, inoprj, NULL, pool);
  if (!err)
    err = ts_dir_make(inodir, TS_FPROT_DIR, pool);
  if (!err)
    err = ts_credential_ensure(&agent.cred, &created,
                               ts_credential_path(inodir, pool), pool);
  if (!err)
    err = ts_config_load(&config, ts_path_join(inodir, "none.xml", pool),
                         pool);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  credential = apr_pstrcat(pool, TS_CREDENTIAL_SCHEME " ",
                           ts_credential_derive(agent.cred, "http", pool),
                           NULL);
  info.host = "127.0.0.1";       /* the license server: nothing answers */
  info.main_port = 17000;
  info.inoprj = inoprj;
  info.inodir = inodir;
  info.config = config;
  info.log = agent.log;
  agent.info = &info;
  agent.host = "fuzzhost";
  agent.port = 17003;
  agent.id = "fuzzhost:17003";
  agent.inoprj = inoprj;
  agent.dir = ts_path_join(inoprj, "ivm/logs/agent.fuzzhost.17003", pool);
  agent.pool = pool;
  agent.versions = apr_hash_make(pool);
  apr_thread_mutex_create(&agent.lock, APR_THREAD_MUTEX_DEFAULT, pool);
  make_routes();
  fuzz_offline(0);
  fuzz_no_processes();
  return 0;
}

/* Every input starts with the model bridge and its version v1. */
static void
reset_project(apr_pool_t *pool)
{
  ts_model_def_t def = { "bridge", "demo", NULL, NULL, 0, 0, 0 };
  ts_error_t *err;

  fuzz_remove_tree(ts_path_join(inoprj, TS_MODELS_DIR, pool));
  fuzz_remove_tree(ts_path_join(inoprj, TS_MODELS_READONLY_DIR, pool));
  err = ts_model_define(inoprj, &def, pool);
  if (!err)
    err = ts_version_create(inoprj, &def, "v1", NULL, agent.host, pool);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
}

/* ---- what is on disk ---------------------------------------------------- */

/* The names in DIR (of const char *), without "." and "..". */
static apr_array_header_t *
names_in(const char *dir, apr_pool_t *pool)
{
  apr_array_header_t *names = apr_array_make(pool, 8, sizeof(const char *));
  apr_dir_t *d;
  apr_finfo_t fi;

  if (apr_dir_open(&d, dir, pool) != APR_SUCCESS)
    return names;
  while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS)
    if (strcmp(fi.name, ".") != 0 && strcmp(fi.name, "..") != 0)
      APR_ARRAY_PUSH(names, const char *) = apr_pstrdup(pool, fi.name);
  apr_dir_close(d);
  return names;
}

static int
is_dir(const char *path, apr_pool_t *pool)
{
  apr_finfo_t fi;

  return apr_stat(&fi, path, APR_FINFO_TYPE | APR_FINFO_LINK, pool)
         == APR_SUCCESS && fi.filetype == APR_DIR;
}

/* A repository's directory: its database and SQLite's files beside. */
static void
check_repository(const char *dir, apr_pool_t *pool)
{
  apr_array_header_t *names = names_in(dir, pool);

  FUZZ_CHECK(is_dir(dir, pool), "%s is not a directory", dir);
  for (int i = 0; i < names->nelts; i++) {
    const char *name = APR_ARRAY_IDX(names, i, const char *);
    FUZZ_CHECK(strncmp(name, TS_REPO_DB, strlen(TS_REPO_DB)) == 0,
               "%s/%s in a repository", dir, name);
  }
}

/* TOP (ivr or readonly): <model>/[model.json] <version>/repository. */
static void
check_models_dir(const char *top, int read_only, apr_pool_t *pool)
{
  apr_array_header_t *models = names_in(top, pool);

  for (int i = 0; i < models->nelts; i++) {
    const char *model = APR_ARRAY_IDX(models, i, const char *);
    const char *dir = ts_path_join(top, model, pool);
    apr_array_header_t *entries = names_in(dir, pool);
    FUZZ_CHECK(ts_models_valid_name(model) && is_dir(dir, pool), "%s: not "
               "a model's directory", dir);
    for (int k = 0; k < entries->nelts; k++) {
      const char *name = APR_ARRAY_IDX(entries, k, const char *);
      if (!read_only && strcmp(name, TS_MODEL_FILE) == 0)
        continue;
      FUZZ_CHECK(ts_models_valid_name(name), "%s/%s: left over, or a name "
                 "the agent must not make", dir, name);
      check_repository(ts_path_join(dir, name, pool), pool);
    }
  }
}

/* Nothing but what the agent makes, in INOPRJ and beside it. */
static void
check_disk(apr_pool_t *pool)
{
  apr_array_header_t *top = names_in(inoprj, pool);
  apr_array_header_t *beside = names_in(fuzz_scratch_dir(), pool);

  for (int i = 0; i < beside->nelts; i++) {
    const char *name = APR_ARRAY_IDX(beside, i, const char *);
    FUZZ_CHECK(strcmp(name, "projects") == 0 || strcmp(name, "params") == 0,
               "%s appeared beside INOPRJ", name);
  }
  for (int i = 0; i < top->nelts; i++) {
    const char *name = APR_ARRAY_IDX(top, i, const char *);
    FUZZ_CHECK(strcmp(name, TS_MODELS_DIR) == 0
               || strcmp(name, TS_MODELS_READONLY_DIR) == 0
               || strcmp(name, "ivm") == 0
               || ts_project_is_uuid_name(name), "%s appeared in INOPRJ",
               name);
  }
  check_models_dir(ts_path_join(inoprj, TS_MODELS_DIR, pool), 0, pool);
  check_models_dir(ts_path_join(inoprj, TS_MODELS_READONLY_DIR, pool), 1,
                   pool);
}

/* MODEL/VERSION (READ_ONLY: the backup) is the repository of that name,
 * with PRODUCT unless NULL. */
static void
check_version(const char *model, const char *version, int read_only,
              const char *product, apr_pool_t *pool)
{
  ts_repo_meta_t meta;
  ts_error_t *err;

  FUZZ_CHECK(model && version && ts_version_exists(inoprj, model, version,
                                                   read_only, pool),
             "%s/%s%s is not on disk", model ? model : "(none)",
             version ? version : "(none)", read_only ? " (backup)" : "");
  err = ts_repo_read_meta(&meta, ts_version_dir(inoprj, model, version,
                                                read_only, pool), pool);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  FUZZ_CHECK(strcmp(meta.model, model) == 0
             && strcmp(meta.version, version) == 0
             && meta.read_only == read_only
             && (!product || strcmp(meta.product, product) == 0),
             "%s/%s holds %s/%s (product %s, read-only %d)", model, version,
             meta.model, meta.version, meta.product, meta.read_only);
}

/* Every version listed is on disk, every one on disk listed once (LOCAL:
 * none, this agent runs nothing). */
static void
check_listing(json_t *j, int local, apr_pool_t *pool)
{
  apr_array_header_t *disk;
  json_t *v;
  size_t i;

  FUZZ_CHECK(!ts_versions_list(&disk, inoprj, pool), "ts_versions_list");
  FUZZ_CHECK(json_array_size(json_object_get(j, "versions"))
             == (size_t)(local ? 0 : disk->nelts), "%d versions on disk, "
             "%lu listed",
             disk->nelts,
             (unsigned long)json_array_size(json_object_get(j, "versions")));
  json_array_foreach(json_object_get(j, "versions"), i, v)
    check_version(json_string_value(json_object_get(v, "model")),
                  json_string_value(json_object_get(v, "version")),
                  json_is_true(json_object_get(v, "read_only")), NULL, pool);
}

/* ---- asking ------------------------------------------------------------- */

static void
answer(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  const ts_routes_t table = { routes, baton };
  const char *b = ts_http_query(req, "backup");
  const char *l = ts_http_query(req, "local");

  backup_asked = b && strcmp(b, "1") == 0;
  local_asked = l && strcmp(l, "1") == 0;
  ts_routes_dispatch(reply, &table, 1, req, pool);
}

/* The path's segments: /v1/models/{m}[/versions[/{v}]]. */
static int
segments(const char **model, const char **version, const char *url,
         apr_pool_t *pool)
{
  char *copy = apr_pstrdup(pool, url), *last;
  const char *s[6] = { NULL };
  int n = 0;

  for (char *p = apr_strtok(copy, "/", &last); p && n < 6;
       p = apr_strtok(NULL, "/", &last))
    s[n++] = p;
  *model = n > 2 ? s[2] : NULL;
  *version = n > 4 ? s[4] : NULL;
  return n;
}

/* What an answer said it did is so on disk. */
static void
check_done(const ts_http_request_t *req, int status, json_t *j,
           apr_pool_t *pool)
{
  const char *model, *version;
  int n = segments(&model, &version, req->url, pool);
  ts_model_def_t *def;

  if (status == 200 && strcmp(req->method, "GET") == 0
      && strcmp(req->url, "/v1/versions") == 0)
    check_listing(j, local_asked, pool);
  else if (status == 200 && strcmp(req->method, "PUT") == 0) {
    FUZZ_CHECK(!ts_model_read(&def, inoprj, model, pool)
               && strcmp(def->product, json_string_value(
                         json_object_get(j, "product"))) == 0,
               "the model %s defined does not read back", model);
  }
  else if (status == 201 && n == 4) {
    FUZZ_CHECK(!ts_model_read(&def, inoprj, model, pool), "the model");
    check_version(model, json_string_value(json_object_get(j, "version")),
                  0, def->product, pool);
  }
  else if (status == 201 && n == 6) {
    FUZZ_CHECK(!ts_model_read(&def, inoprj, model, pool), "the model");
    check_version(model, json_string_value(json_object_get(j, "backup")), 1,
                  def->product, pool);
  }
  else if (status == 200 && strcmp(req->method, "DELETE") == 0)
    FUZZ_CHECK(!ts_version_exists(inoprj, model, version, backup_asked,
                                  pool), "%s/%s deleted is there", model,
               version);
}

static void
ask(ts_http_request_t *req, const char *query, apr_pool_t *pool)
{
  ts_http_reply_t reply = { 200, "application/json", "", "other", NULL,
                            NULL, 0 };
  json_t *j;

  backup_asked = local_asked = 0;
  ts_http_answer_local(&reply, answer, &agent, req, query, pool);
  if (getenv("FUZZ_AGENT_API_VERBOSE"))
    fprintf(stderr, "%s %s%s%s -> %d %s\n", req->method, req->url,
            query ? "?" : "", query ? query : "", reply.status, reply.body);
  fuzz_http_check(&reply, req);
  j = fuzz_http_json(&reply);
  check_done(req, reply.status, j, pool);
  json_decref(j);
  check_disk(pool);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool, *rpool;
  apr_array_header_t *parts, *lens;
  apr_hash_t *vars;

  apr_pool_create(&pool, fuzz_init());
  reset_project(pool);
  vars = apr_hash_make(pool);
  apr_hash_set(vars, "credential", APR_HASH_KEY_STRING, credential);
  parts = fuzz_split(&lens, data, size, "###", MAX_REQUESTS, pool);
  for (int i = 0; i < parts->nelts; i++) {
    ts_http_request_t req;
    const char *query;
    apr_pool_create(&rpool, pool);
    fuzz_http_parse(&req, &query, NULL, APR_ARRAY_IDX(parts, i,
                                                      const char *),
                    APR_ARRAY_IDX(lens, i, apr_size_t), vars, rpool);
    if (req.body_len <= TS_HTTP_MAX_BODY)  /* else the listener's 413 */
      ask(&req, query, rpool);
    apr_pool_destroy(rpool);
  }
  apr_pool_destroy(pool);
  return 0;
}
