/* fuzz_models.c: what agents read that others wrote in the shared project
 * directory: a managed model's settings, INOPRJ/ivr/<model>/model.json
 * (core/project/ts_models.c) with the naming rule they carry, and the run
 * lock of a version, ivr/<model>/<version>/run.json, with what the agent
 * that holds it answers when asked (core/roles/agent: ts_agent_lock.c,
 * ts_agent_list.c).
 *
 * An input is up to 4 parts separated by lines "###":
 *
 *   0  ivr/bridge/model.json
 *   1  the naming, one value a line: the name to check, then
 *      $(Source.Name), $(User.Name), $(User.LoginName) and the time
 *      (seconds since 1970; empty: now)
 *   2  ivr/bridge/v1/run.json (absent: no lock); "{agent_port}" in it
 *      becomes the port on 127.0.0.1 where the harness answers as the
 *      agent that holds the lock
 *   3  that agent's answer (200) to whatever it is asked: the listing
 *      asks GET /v1/versions?local=1, the lock's judge GET
 *      /v1/models/<m>/versions/<v>?local=1, then the model server's
 *      /health (absent: {})
 *
 * The model goes through ts_model_read, ts_models_list, ts_model_propose
 * and ts_model_check_name with the naming; a definition that reads back
 * is written again with ts_model_define and read back. The lock goes
 * through the agent's listing (ts_agent_listing, ts_agent_listing_one:
 * what GET /v1/versions shows) and ts_agent_lock_take (which judges a
 * lock and removes a stale one), then update and release, for an agent
 * "fuzzhost:17003" set up in-process that runs nothing (the parsers are
 * static: the listing and the lock's take are the smallest public
 * entries). The harness is offline: connections reach the harness's own
 * agent only (fuzz_offline).
 *
 * Invariants: a refusal of model.json names the file; a refused name is
 * quoted in its refusal; a proposal is always a valid name, and passes
 * ts_model_check_name when there is no check expression; a name that
 * passes is valid; ts_models_list holds the model exactly when it reads;
 * a definition that reads back is written again and reads back equal
 * (and proposes the same). The listing shows every version on disk once,
 * and nothing else; a lock is taken (then it is this agent's, updated and
 * released to nothing) or refused as running elsewhere, naming the
 * version, or as changing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "fuzz_http.h"
#include "ts_agent.h"
#include "ts_file.h"
#include "ts_models.h"

#define MODEL "bridge"
#define VERSION "v1"

static const char *inoprj, *model_json, *version_dir, *lock_json;
static ts_agent_t agent;
static ts_httpd_t *other_agent;
static const char *other_answer = "{}";
static char agent_port[16];

/* The agent that holds the lock: every request gets OTHER_ANSWER. */
static void
answer_as_agent(ts_http_reply_t *reply, void *baton,
                const ts_http_request_t *req, apr_pool_t *pool)
{
  (void)baton;
  (void)req;
  reply->body = apr_pstrdup(pool, other_answer);
}

static void
stop_agent(void)
{
  ts_httpd_stop(other_agent);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  apr_pool_t *pool = fuzz_init();
  apr_array_header_t *loopback = apr_array_make(pool, 1,
                                                sizeof(const char *));
  ts_error_t *err;
  int port = 0;

  (void)argc;
  (void)argv;
  inoprj = ts_path_join(fuzz_scratch_dir(), "projects", pool);
  version_dir = ts_version_dir(inoprj, MODEL, VERSION, 0, pool);
  model_json = ts_path_join(inoprj, "ivr/" MODEL "/" TS_MODEL_FILE, pool);
  lock_json = ts_path_join(version_dir, TS_AGENT_LOCK_FILE, pool);
  agent.host = "fuzzhost";
  agent.port = 17003;
  agent.id = "fuzzhost:17003";
  agent.inoprj = inoprj;
  agent.pool = pool;
  agent.versions = apr_hash_make(pool);
  apr_thread_mutex_create(&agent.lock, APR_THREAD_MUTEX_DEFAULT, pool);
  ts_http_client_init();
  err = ts_log_open(&agent.log, getenv("FUZZ_MODELS_LOG")
                    ? getenv("FUZZ_MODELS_LOG") : "/dev/null", 0, 0, pool);
  if (!err)
    err = ts_dir_make(version_dir, TS_FPROT_DIR, pool);
  APR_ARRAY_PUSH(loopback, const char *) = "127.0.0.1";
  for (int attempt = 0; !err && attempt < 20 && !other_agent; attempt++) {
    port = fuzz_free_port();
    err = ts_httpd_start(&other_agent, "the lock's agent", port, loopback,
                         answer_as_agent, NULL, NULL, agent.log, pool);
    if (err && attempt < 19) {    /* taken meanwhile: another port */
      ts_error_clear(err);
      err = NULL;
    }
  }
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  atexit(stop_agent);
  apr_snprintf(agent_port, sizeof(agent_port), "%d", port);
  fuzz_offline(port);
  return 0;
}

/* ---- the model ---------------------------------------------------------- */

/* The naming of TEXT (part 1) and the name to check into *NAME. */
static void
parse_naming(ts_naming_t *n, const char **name, const char *text,
             apr_pool_t *pool)
{
  const char *v[5] = { "", NULL, NULL, NULL, NULL };
  char *copy = apr_pstrdup(pool, text), *last, *line;
  int i = 0;

  for (line = apr_strtok(copy, "\n", &last); line && i < 5;
       line = apr_strtok(NULL, "\n", &last))
    v[i++] = line;
  memset(n, 0, sizeof(*n));
  *name = v[0];
  n->source = v[1];
  n->user = v[2];
  n->login = v[3];
  /* the agent's clock, not outside input: within 1970..2100 */
  n->now = v[4] ? apr_time_from_sec(strtoll(v[4], NULL, 10) % 4102444800LL)
                : 0;
  if (n->now < 0)
    n->now = -n->now;
}

static int
same_text(const char *a, const char *b)
{
  return a == b || (a && b && strcmp(a, b) == 0);
}

static void
check_equal(const ts_model_def_t *a, const ts_model_def_t *b)
{
  FUZZ_CHECK(same_text(a->model, b->model) && same_text(a->product,
             b->product) && same_text(a->check, b->check)
             && same_text(a->proposal, b->proposal)
             && a->quota_ram_mb == b->quota_ram_mb
             && a->quota_disk_mb == b->quota_disk_mb
             && a->restart == b->restart, "the model %s read back "
             "otherwise (check '%s' / '%s', proposal '%s' / '%s')",
             a->model, a->check ? a->check : "(none)",
             b->check ? b->check : "(none)",
             a->proposal ? a->proposal : "(none)",
             b->proposal ? b->proposal : "(none)");
}

/* The naming rule of DEF with N, and NAME checked. */
static void
check_naming(const ts_model_def_t *def, const ts_naming_t *n,
             const char *name, apr_pool_t *pool)
{
  const char *proposal = ts_model_propose(def, n, pool);
  ts_error_t *err;

  FUZZ_CHECK(ts_models_valid_name(proposal), "the proposal '%s' of '%s' is "
             "not a valid name", proposal,
             def->proposal ? def->proposal : "(default)");
  err = ts_model_check_name(def, proposal, n, pool);
  FUZZ_CHECK(def->check || !err, "the proposal '%s' refused without a "
             "check expression: %s", proposal, ts_error_text(err, pool));
  ts_error_clear(err);
  err = ts_model_check_name(def, name, n, pool);
  if (!err) {
    FUZZ_CHECK(ts_models_valid_name(name), "the invalid name '%s' passed",
               name);
    return;
  }
  FUZZ_CHECK(ts_error_code(err) == TS_EINVAL
             && strstr(ts_error_message(err, pool), name), "the refusal of "
             "'%s' does not quote it: %s", name, ts_error_text(err, pool));
  ts_error_clear(err);
}

static void
check_model(const char *naming, apr_pool_t *pool)
{
  ts_model_def_t *def, *again;
  apr_array_header_t *defs;
  const char *name;
  ts_naming_t n;
  ts_error_t *err = ts_model_read(&def, inoprj, MODEL, pool);

  FUZZ_CHECK(!ts_models_list(&defs, inoprj, pool), "ts_models_list");
  if (err) {
    FUZZ_CHECK(ts_error_code(err) == TS_EINVAL
               && strstr(ts_error_message(err, pool), model_json),
               "a refusal without the file's name: %s",
               ts_error_text(err, pool));
    FUZZ_CHECK(defs->nelts == 0, "listed, but it does not read");
    ts_error_clear(err);
    return;
  }
  FUZZ_CHECK(defs->nelts == 1 && strcmp(APR_ARRAY_IDX(defs, 0,
             ts_model_def_t *)->model, MODEL) == 0, "reads, but %d listed",
             defs->nelts);
  parse_naming(&n, &name, naming, pool);
  if (!n.now)
    n.now = apr_time_now();
  check_naming(def, &n, name, pool);
  err = ts_model_define(inoprj, def, pool);
  FUZZ_CHECK(!err, "what read back is not written again: %s",
             ts_error_text(err, pool));
  err = ts_model_read(&again, inoprj, MODEL, pool);
  FUZZ_CHECK(!err, "what was written does not read back: %s",
             ts_error_text(err, pool));
  check_equal(def, again);
  FUZZ_CHECK(strcmp(ts_model_propose(def, &n, pool),
                    ts_model_propose(again, &n, pool)) == 0,
             "another proposal after writing it again");
}

/* ---- the lock ----------------------------------------------------------- */

/* LISTING (ts_agent_listing's) shows every version on disk once and
 * nothing else. */
static void
check_listing(json_t *listing, apr_pool_t *pool)
{
  apr_array_header_t *disk;
  json_t *versions = json_object_get(listing, "versions"), *v;
  int *seen;
  size_t i;

  FUZZ_CHECK(!ts_versions_list(&disk, inoprj, pool), "ts_versions_list");
  FUZZ_CHECK(json_is_array(versions), "a listing without versions");
  seen = apr_pcalloc(pool, sizeof(int) * (disk->nelts + 1));
  json_array_foreach(versions, i, v) {
    const char *m = json_string_value(json_object_get(v, "model"));
    const char *name = json_string_value(json_object_get(v, "version"));
    int k = 0;
    while (k < disk->nelts
           && !(m && name && strcmp(APR_ARRAY_IDX(disk, k, ts_version_t).model,
                                    m) == 0
                && strcmp(APR_ARRAY_IDX(disk, k, ts_version_t).version,
                          name) == 0))
      k++;
    FUZZ_CHECK(k < disk->nelts, "listed, but not on disk: %s/%s",
               m ? m : "(no model)", name ? name : "(no version)");
    seen[k]++;
  }
  for (int k = 0; k < disk->nelts; k++)
    FUZZ_CHECK(seen[k] == 1, "%s/%s on disk is listed %d times",
               APR_ARRAY_IDX(disk, k, ts_version_t).model,
               APR_ARRAY_IDX(disk, k, ts_version_t).version, seen[k]);
}

/* Take the lock, which is then this agent's; update it; release it. */
static void
check_take(apr_pool_t *pool)
{
  ts_error_t *err = ts_agent_lock_take(&agent, MODEL, VERSION, version_dir,
                                       pool);
  json_t *lock;

  if (err) {
    FUZZ_CHECK((ts_error_code(err) == TS_EINVAL
                && strstr(ts_error_message(err, pool), MODEL "/" VERSION
                          " runs already"))
               || ts_error_code(err) == TS_EUNAVAIL, "the lock's take: %s",
               ts_error_text(err, pool));
    ts_error_clear(err);
    return;
  }
  lock = ts_agent_lock_read(version_dir, pool);
  FUZZ_CHECK(json_is_string(json_object_get(lock, "host"))
             && strcmp(json_string_value(json_object_get(lock, "host")),
                       agent.host) == 0
             && json_integer_value(json_object_get(lock, "agent_port"))
                == agent.port, "the lock taken is not this agent's");
  json_decref(lock);
  err = ts_agent_lock_update(&agent, version_dir, 17010, 4242, pool);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  lock = ts_agent_lock_read(version_dir, pool);
  FUZZ_CHECK(json_integer_value(json_object_get(lock, "port")) == 17010
             && json_integer_value(json_object_get(lock, "pid")) == 4242,
             "the update is not in the lock");
  json_decref(lock);
  ts_agent_lock_release(&agent, version_dir, pool);
  lock = ts_agent_lock_read(version_dir, pool);
  FUZZ_CHECK(!lock, "the lock stays after its release");
}

static void
check_lock(apr_pool_t *pool)
{
  json_t *listing = ts_agent_listing(&agent, 0, pool), *one;

  FUZZ_CHECK(listing, "no listing");
  if (getenv("FUZZ_MODELS_VERBOSE")) {
    char *text = json_dumps(listing, JSON_COMPACT);
    fprintf(stderr, "listing: %s\n", text);
    free(text);
  }
  check_listing(listing, pool);
  json_decref(listing);
  one = ts_agent_listing_one(&agent, MODEL, VERSION, 0, pool);
  FUZZ_CHECK(json_is_object(one) && same_text(json_string_value(
             json_object_get(one, "version")), VERSION), "the version is "
             "not shown alone");
  json_decref(one);
  listing = ts_agent_listing(&agent, 1, pool);
  FUZZ_CHECK(json_array_size(json_object_get(listing, "versions")) == 0,
             "this agent runs nothing, yet lists something as its own");
  json_decref(listing);
  check_take(pool);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  apr_array_header_t *parts, *lens;
  apr_hash_t *vars;

  apr_pool_create(&pool, fuzz_init());
  parts = fuzz_split(&lens, data, size, "###", 4, pool);
  fuzz_write_file(model_json, APR_ARRAY_IDX(parts, 0, const char *),
                  APR_ARRAY_IDX(lens, 0, apr_size_t), pool);
  apr_file_remove(lock_json, pool);
  if (parts->nelts > 2) {
    /* the lock names the harness's agent by a placeholder */
    const char *lock = APR_ARRAY_IDX(parts, 2, const char *);
    apr_size_t len = APR_ARRAY_IDX(lens, 2, apr_size_t);
    if (strlen(lock) == len) {
      vars = apr_hash_make(pool);
      apr_hash_set(vars, "agent_port", APR_HASH_KEY_STRING, agent_port);
      lock = fuzz_http_substitute(lock, vars, pool);
      len = strlen(lock);
    }
    fuzz_write_file(lock_json, lock, len, pool);
  }
  other_answer = parts->nelts > 3 ? APR_ARRAY_IDX(parts, 3, const char *)
                                  : "{}";
  check_model(parts->nelts > 1 ? APR_ARRAY_IDX(parts, 1, const char *) : "",
              pool);
  check_lock(pool);
  other_answer = "{}";
  apr_pool_destroy(pool);
  return 0;
}
