/* fuzz_model_api.c: the model server's HTTP interface, in-process: its
 * route tables (core/roles/model: ts_model_session_routes,
 * ts_model_element_routes, ts_model_status_routes) answered by the real
 * handlers over a real repository (core/repo, made afresh for every
 * input in the scratch directory, every element in memory and the
 * element store's writer thread making changes durable before they are
 * answered: ts_http_answer_local waits for that).
 *
 * An input is up to 16 requests separated by lines "###", written like
 * HTTP (fuzz_http.h), e.g.
 *
 *   PUT /v1/elements/{id}
 *   Content-Type: application/json
 *   Authorization: Bearer {token}
 *
 *   {"revision": {rev}, "name": "deck"}
 *
 * A request "OPEN" opens a session the way POST /v1/sessions does once
 * the license server gave its seat (ts_model_session_admit): the harness
 * has no license server, so POST /v1/sessions itself is answered 503
 * after its body is checked (the license server's port refuses the
 * connection: fuzz_offline). Variables: {token} and {session} the last
 * session opened, {token0}..{token3} and {session0}.. each one; {id}
 * the last element made (201), {id0}.. each; {rev} the revision {id} is
 * at now. An input that begins with the line "#read-only" gets a
 * read-only repository.
 *
 * Invariants: no 500; every answer is JSON, an error one with a non-empty
 * "error"; a 405 carries Allow, a 401 its challenge. A change answered
 * 200/201 is what a read of the element shows next (a made element at
 * revision 1, an updated one at its old revision + 1, a deleted one gone,
 * a reservation held by the session that made it, a released one free);
 * a change refused leaves the element as it was; an ended session is
 * gone; a page of the listing is in order of id.
 *
 * FUZZ_MODEL_API_VERBOSE=1 prints every answer; FUZZ_MODEL_API_LOG=FILE
 * keeps the server's log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "fuzz_http.h"
#include "ts_file.h"
#include "ts_model.h"

#define MAX_REQUESTS 16
#define MAX_NAMED 4

static ts_server_info_t info;
static ts_log_t *log;
static int inputs;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  apr_pool_t *pool = fuzz_init();
  ts_config_t *config;
  ts_error_t *err;

  (void)argc;
  (void)argv;
  ts_http_client_init();
  err = ts_log_open(&log, getenv("FUZZ_MODEL_API_LOG")
                    ? getenv("FUZZ_MODEL_API_LOG") : "/dev/null", 0, 0,
                    pool);
  if (!err)
    err = ts_config_load(&config, ts_path_join(fuzz_scratch_dir(),
                                               "none.xml", pool), pool);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  /* the license server: nothing answers there */
  info.host = "127.0.0.1";
  info.main_port = 17000;
  info.config = config;
  info.log = log;
  fuzz_offline(0);
  return 0;
}

/* ---- the model server --------------------------------------------------- */

/* A model server over a new repository in DIR (READ_ONLY: served so). */
static ts_model_t *
model_server(const char *dir, int read_only, apr_pool_t *pool)
{
  ts_model_t *m = apr_pcalloc(pool, sizeof(*m));
  ts_repo_meta_t meta = { "bridge", "b1", "demo", 0 };
  apr_interval_time_t took;
  ts_error_t *err = ts_dir_make(dir, TS_FPROT_DIR, pool);

  if (!err)
    err = ts_repo_create(dir, &meta, pool);
  if (!err)
    err = ts_repo_open(&m->repo, dir, read_only, pool);
  if (!err) {
    m->meta = ts_repo_meta(m->repo);
    err = ts_elements_open(&m->els, m->repo, &took, log, pool);
  }
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  /* what ts_role_model.c's prepare() sets */
  m->info = &info;
  m->log = log;
  m->dir = dir;
  m->machine = "fuzzhost";
  m->port = 17006;
  m->id = "fuzzhost:17006";
  m->inohost = "127.0.0.1.17000";
  m->pool = pool;
  apr_thread_mutex_create(&m->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  m->sessions = apr_hash_make(pool);
  m->by_token = apr_hash_make(pool);
  m->reserved = apr_hash_make(pool);
  m->unused_since = apr_time_now();
  return m;
}

static void
close_model_server(ts_model_t *m, apr_pool_t *pool)
{
  static const char *const files[] = { "", "-wal", "-shm", "-journal" };

  ts_model_sessions_drop(m);
  ts_elements_close(m->els);
  ts_repo_close(m->repo);
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
    apr_file_remove(ts_path_join(m->dir, apr_pstrcat(pool, TS_REPO_DB,
                                                     files[i], NULL), pool),
                    pool);
  FUZZ_CHECK(apr_dir_remove(m->dir, pool) == APR_SUCCESS, "the repository "
             "%s holds other files", m->dir);
}

/* Open session number N as POST /v1/sessions does with a seat. */
static void
open_session(ts_model_t *m, apr_hash_t *vars, int n, apr_pool_t *pool)
{
  ts_model_session_t *s;
  const char *token;
  apr_pool_t *own;
  ts_error_t *err;

  apr_pool_create(&own, NULL);
  s = apr_pcalloc(own, sizeof(*s));
  s->pool = own;
  s->user = apr_psprintf(own, "user%d", n);
  s->host = "fuzzhost";
  s->application = "fuzz";
  s->pid = 1000 + n;
  s->seat = apr_psprintf(own, "seat%d", n);
  s->seat_token = "seat-token";
  s->lease = apr_time_from_sec(300);
  err = ts_model_session_admit(&token, m, s);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  token = apr_pstrdup(pool, token);
  apr_hash_set(vars, "token", APR_HASH_KEY_STRING, token);
  apr_hash_set(vars, "session", APR_HASH_KEY_STRING,
               apr_pstrdup(pool, s->id));
  if (n < MAX_NAMED) {
    apr_hash_set(vars, apr_psprintf(pool, "token%d", n), APR_HASH_KEY_STRING,
                 token);
    apr_hash_set(vars, apr_psprintf(pool, "session%d", n),
                 APR_HASH_KEY_STRING, apr_pstrdup(pool, s->id));
  }
}

/* ---- asking ------------------------------------------------------------- */

static void
answer(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  ts_model_t *m = baton;
  const ts_routes_t tables[] = {
    { ts_model_session_routes, m },
    { ts_model_element_routes, m },
    { ts_model_status_routes, m },
  };

  ts_routes_dispatch(reply, tables, 3, req, pool);
}

/* REQ (with QUERY) answered into *REPLY, checked; its JSON, or NULL. */
static json_t *
ask(ts_http_reply_t *reply, ts_model_t *m, ts_http_request_t *req,
    const char *query, apr_pool_t *pool)
{
  *reply = (ts_http_reply_t){ 200, "application/json", "", "other", NULL,
                              NULL, 0 };
  ts_http_answer_local(reply, answer, m, req, query, pool);
  if (getenv("FUZZ_MODEL_API_VERBOSE"))
    fprintf(stderr, "%s %s%s%s -> %d %s\n", req->method, req->url,
            query ? "?" : "", query ? query : "", reply->status,
            reply->body);
  fuzz_http_check(reply, req);
  return fuzz_http_json(reply);
}

/* GET /v1/elements/ID as the session of AUTHORIZATION: its JSON (200),
 * or NULL (404); any other answer breaks an invariant. */
static json_t *
read_element(ts_model_t *m, apr_int64_t id, const char *authorization,
             apr_pool_t *pool)
{
  ts_http_request_t req = { 0 };
  ts_http_reply_t reply;
  json_t *j;

  req.method = "GET";
  req.url = apr_psprintf(pool, "/v1/elements/%" APR_INT64_T_FMT, id);
  req.authorization = authorization;
  req.client = "192.0.2.7";
  req.body = "";
  j = ask(&reply, m, &req, NULL, pool);
  FUZZ_CHECK(reply.status == 200 || reply.status == 404, "reading element "
             "%ld after its change: %d %s", (long)id, reply.status,
             reply.body);
  if (reply.status == 404) {
    json_decref(j);
    return NULL;
  }
  return j;
}

/* J without the key "reserved_by" (a copy). */
static json_t *
without_holder(json_t *j)
{
  json_t *c = json_deep_copy(j);

  json_object_del(c, "reserved_by");
  return c;
}

/* ---- what a request did ------------------------------------------------- */

/* What the harness knows of a request to the elements. */
typedef struct target_t {
  int element;                 /* /v1/elements/{id}[...] */
  int reservation;             /* .../reservation */
  apr_int64_t id;
  int existed;
  ts_element_t before;
} target_t;

static void
aim(target_t *t, ts_model_t *m, const char *url, apr_pool_t *pool)
{
  const char *p = url + strlen("/v1/elements/");
  apr_size_t digits;

  memset(t, 0, sizeof(*t));
  if (strncmp(url, "/v1/elements/", strlen("/v1/elements/")) != 0)
    return;
  digits = strspn(p, "0123456789");
  if (!digits || digits > 18
      || (p[digits] && strcmp(p + digits, "/reservation") != 0))
    return;
  t->element = 1;
  t->reservation = p[digits] != '\0';
  t->id = apr_atoi64(apr_pstrndup(pool, p, digits));
  t->existed = ts_elements_get(&t->before, m->els, t->id, pool);
}

static void
check_created(ts_model_t *m, json_t *made, const ts_http_request_t *req,
              apr_hash_t *vars, int *made_count, apr_pool_t *pool)
{
  apr_int64_t id = json_integer_value(json_object_get(made, "id"));
  json_t *read, *plain;
  const char *text;

  FUZZ_CHECK(id > 0 && json_integer_value(json_object_get(made, "revision"))
             == 1, "a new element with id %ld at revision %ld", (long)id,
             (long)json_integer_value(json_object_get(made, "revision")));
  read = read_element(m, id, req->authorization, pool);
  plain = without_holder(read);
  FUZZ_CHECK(read && json_equal(plain, made), "element %ld made is read "
             "otherwise", (long)id);
  json_decref(plain);
  json_decref(read);
  text = apr_psprintf(pool, "%" APR_INT64_T_FMT, id);
  apr_hash_set(vars, "id", APR_HASH_KEY_STRING, text);
  if (*made_count < MAX_NAMED)
    apr_hash_set(vars, apr_psprintf(pool, "id%d", *made_count),
                 APR_HASH_KEY_STRING, text);
  (*made_count)++;
}

/* An element change T answered STATUS with J. */
static void
check_element_change(ts_model_t *m, const target_t *t,
                     const ts_http_request_t *req, int status, json_t *j,
                     apr_pool_t *pool)
{
  ts_element_t now;
  int exists = ts_elements_get(&now, m->els, t->id, pool);
  json_t *read, *plain, *holder;

  if (status >= 300) {          /* refused: as it was */
    FUZZ_CHECK(exists == t->existed && (!exists
               || now.revision == t->before.revision), "element %ld "
               "changed by a refused %s (%d)", (long)t->id, req->method,
               status);
    return;
  }
  read = read_element(m, t->id, req->authorization, pool);
  holder = json_object_get(read, "reserved_by");
  if (strcmp(req->method, "DELETE") == 0 && !t->reservation) {
    FUZZ_CHECK(!exists && !read, "element %ld deleted is there",
               (long)t->id);
    return;
  }
  FUZZ_CHECK(exists && read, "element %ld changed is gone", (long)t->id);
  if (t->reservation && strcmp(req->method, "POST") == 0)
    FUZZ_CHECK(json_equal(holder, json_object_get(j, "reserved_by")),
               "element %ld reserved shows another holder", (long)t->id);
  else if (t->reservation)
    FUZZ_CHECK(!holder, "element %ld released is held", (long)t->id);
  else {
    plain = without_holder(read);
    FUZZ_CHECK(json_integer_value(json_object_get(j, "revision"))
               == t->before.revision + 1 && json_equal(plain, j),
               "element %ld updated from revision %ld: answered %s, read "
               "otherwise", (long)t->id, (long)t->before.revision,
               json_dumps(j, JSON_COMPACT));
    json_decref(plain);
  }
  json_decref(read);
}

/* A page of GET /v1/elements is in order of id, before its "next". */
static void
check_page(json_t *j)
{
  json_t *e, *next = json_object_get(j, "next");
  json_int_t last = 0;
  size_t i;

  json_array_foreach(json_object_get(j, "elements"), i, e) {
    json_int_t id = json_integer_value(json_object_get(e, "id"));
    FUZZ_CHECK(id > last, "a page out of order: %ld after %ld", (long)id,
               (long)last);
    last = id;
  }
  FUZZ_CHECK(json_is_null(next) || json_integer_value(next) == last,
             "the next page after %ld, yet the page ends at %ld",
             (long)json_integer_value(next), (long)last);
}

/* The variables of the next request: {rev} is {id}'s revision now. */
static void
update_rev(ts_model_t *m, apr_hash_t *vars, apr_pool_t *pool)
{
  const char *id = apr_hash_get(vars, "id", APR_HASH_KEY_STRING);
  ts_element_t e;

  if (id && ts_elements_get(&e, m->els, apr_atoi64(id), pool))
    apr_hash_set(vars, "rev", APR_HASH_KEY_STRING,
                 apr_psprintf(pool, "%" APR_INT64_T_FMT, e.revision));
  else
    apr_hash_set(vars, "rev", APR_HASH_KEY_STRING, "1");
}

static void
one_request(ts_model_t *m, const char *text, apr_size_t len,
            apr_hash_t *vars, int *sessions, int *made, apr_pool_t *pool)
{
  ts_http_request_t req;
  ts_http_reply_t reply;
  const char *query, *id;
  target_t t;
  json_t *j;

  if (strncmp(text, "OPEN", 4) == 0 && (len == 4 || text[4] == '\n')) {
    open_session(m, vars, (*sessions)++, pool);
    return;
  }
  update_rev(m, vars, pool);
  fuzz_http_parse(&req, &query, NULL, text, len, vars, pool);
  if (req.body_len > TS_HTTP_MAX_BODY)
    return;                     /* the listener answers 413 itself */
  aim(&t, m, req.url, pool);
  j = ask(&reply, m, &req, query, pool);
  if (strcmp(req.method, "POST") == 0 && strcmp(req.url, "/v1/elements") == 0
      && reply.status == 201)
    check_created(m, j, &req, vars, made, pool);
  else if (t.element && strcmp(req.method, "GET") != 0)
    check_element_change(m, &t, &req, reply.status, j, pool);
  else if (strcmp(req.method, "GET") == 0
           && strcmp(req.url, "/v1/elements") == 0 && reply.status == 200)
    check_page(j);
  else if (strcmp(req.method, "DELETE") == 0 && reply.status == 200
           && strncmp(req.url, "/v1/sessions/", 13) == 0) {
    id = req.url + 13;
    apr_thread_mutex_lock(m->lock);
    FUZZ_CHECK(!ts_model_session(m, id), "session %s ended is there", id);
    apr_thread_mutex_unlock(m->lock);
  }
  json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  apr_array_header_t *parts, *lens;
  apr_hash_t *vars;
  ts_model_t *m;
  int sessions = 0, made = 0, read_only;

  apr_pool_create(&pool, fuzz_init());
  read_only = size >= 10 && memcmp(data, "#read-only", 10) == 0;
  m = model_server(ts_path_join(fuzz_scratch_dir(), apr_psprintf(pool,
                   "repo%d", inputs++), pool), read_only, pool);
  vars = apr_hash_make(pool);
  parts = fuzz_split(&lens, data, size, "###", MAX_REQUESTS, pool);
  for (int i = 0; i < parts->nelts; i++) {
    const char *text = APR_ARRAY_IDX(parts, i, const char *);
    apr_size_t len = APR_ARRAY_IDX(lens, i, apr_size_t);
    if (i == 0 && read_only) {  /* the line "#read-only" is no request */
      apr_size_t skip = strcspn(text, "\n");
      text += skip + (skip < len);
      len -= skip + (skip < len);
    }
    one_request(m, text, len, vars, &sessions, &made, pool);
  }
  close_model_server(m, pool);
  apr_pool_destroy(pool);
  return 0;
}
