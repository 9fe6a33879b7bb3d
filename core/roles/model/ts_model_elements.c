/* ts_model_elements.c: the elements over HTTP (every route needs a
 * session's token, ts_model_authorize):
 *
 *   GET    /v1/elements?type=&name=&parent=&limit=&after=
 *                                  a page by id, {"elements", "next"}
 *   GET    /v1/elements/{id}       one, with its "revision"
 *   POST   /v1/elements            {"type","name","parent","properties"}
 *                                  -> 201
 *   PUT    /v1/elements/{id}       {"revision", and what changes} -> 200;
 *                                  409 naming the current revision
 *   DELETE /v1/elements/{id}?revision=N  (or {"revision"} as the body)
 *   POST   /v1/elements/{id}/reservation  reserve for the session
 *   DELETE /v1/elements/{id}/reservation  release
 *
 * Reads come from memory. Changes and reservations are operations of
 * the element store's writer (ts_elements.h): the request is suspended
 * (ts_http_defer), the writer checks it against the elements and the
 * reservations as every earlier operation left them, makes it durable
 * with its batch, and the answer is written after the commit. A change
 * or reservation of an element another session reserved is 423 naming
 * the holder; a read-only repository refuses both with 403.
 */
#include "ts_model.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"

#define PAGE 100
#define PAGE_MAX 1000
#define TYPE_MAX 128
#define NAME_MAX_BYTES 1024

/* (OP_: DELETE is a macro of the Windows headers) */
typedef enum kind_t {
  OP_CREATE, OP_UPDATE, OP_DELETE, OP_RESERVE, OP_RELEASE
} kind_t;

/* One change, from the request to its answer. */
typedef struct change_t {
  ts_elements_op_t op;
  ts_model_t *m;
  kind_t kind;
  ts_model_who_t who;
  apr_int64_t id, revision;
  const char *type, *name, *properties;   /* NULL: unchanged */
  int set_parent;
  apr_int64_t parent;
  int status;                   /* the answer's */
  const char *message;          /* with an error status */
  json_t *extra;                /* fields beside "error", or the holder */
  ts_element_t made;
  ts_http_pending_t *pending;
  apr_pool_t *pool;             /* the request's */
} change_t;

/* E as JSON; HOLDER (its reference taken) its reservation, or NULL. */
static json_t *
element_json(const ts_element_t *e, json_t *holder)
{
  json_t *props = json_loads(e->properties, 0, NULL);
  json_t *j = json_pack("{s:I, s:s, s:s, s:o, s:I, s:o, s:I}", "id",
                        (json_int_t)e->id, "type", e->type, "name", e->name,
                        "parent", e->parent ? json_integer(e->parent)
                                            : json_null(),
                        "revision", (json_int_t)e->revision, "properties",
                        props ? props : json_object(), "children",
                        (json_int_t)e->children);

  if (j && holder)
    json_object_set_new(j, "reserved_by", holder);
  else
    json_decref(holder);
  return j;
}

/* Under LOCK: who holds ID, as JSON, or NULL. */
static json_t *
holder_of(ts_model_t *m, apr_int64_t id)
{
  ts_model_reservation_t *r = ts_model_reservation(m, id);

  return r ? ts_model_holder_json(r) : NULL;
}

/* The element id in TEXT (1..), or 0. */
static apr_int64_t
parse_id(const char *text)
{
  char *end;
  apr_int64_t id;

  if (!text || !*text || strspn(text, "0123456789") != strlen(text)
      || strlen(text) > 18)
    return 0;
  id = apr_strtoi64(text, &end, 10);
  return *end ? 0 : id;
}

static void
no_element(ts_http_reply_t *reply, const char *text, apr_pool_t *pool)
{
  ts_http_reply_error(reply, 404, apr_psprintf(pool, _("there is no "
                      "element %s"), ts_log_quote(text, 64, pool)), pool);
}

/* ---- reads --------------------------------------------------------------- */

static void
get_element(ts_http_reply_t *reply, void *baton,
            const ts_http_request_t *req, const char *const *args,
            apr_pool_t *pool)
{
  ts_model_t *m = baton;
  ts_model_who_t who;
  ts_element_t e;
  json_t *holder;

  if (!ts_model_authorize(&who, reply, m, req, pool))
    return;
  if (!ts_elements_get(&e, m->els, parse_id(args[0]), pool)) {
    no_element(reply, args[0], pool);
    return;
  }
  apr_thread_mutex_lock(m->lock);
  m->reads++;
  holder = holder_of(m, e.id);
  apr_thread_mutex_unlock(m->lock);
  ts_http_reply_json(reply, 200, element_json(&e, holder), pool);
}

/* The listing's query into FILTER, *AFTER, *LIMIT; 0 when the reply
 * says what is wrong. */
static int
parse_listing(ts_elements_filter_t *filter, apr_int64_t *after, int *limit,
              ts_http_reply_t *reply, const ts_http_request_t *req,
              apr_pool_t *pool)
{
  const char *parent = ts_http_query(req, "parent");
  const char *after_arg = ts_http_query(req, "after");
  const char *limit_arg = ts_http_query(req, "limit");
  char *end = NULL;
  long n = limit_arg ? strtol(limit_arg, &end, 10) : PAGE;

  memset(filter, 0, sizeof(*filter));
  filter->type = ts_http_query(req, "type");
  filter->name = ts_http_query(req, "name");
  filter->by_parent = parent != NULL;
  filter->parent = parent && strcmp(parent, "null") ? parse_id(parent) : 0;
  *after = after_arg ? parse_id(after_arg) : 0;
  *limit = (int)n;
  if ((end && *end) || n < 1 || n > PAGE_MAX
      || (parent && strcmp(parent, "null") && !filter->parent)
      || (after_arg && !*after)) {
    ts_http_reply_error(reply, 400, apr_psprintf(pool, _("GET /v1/elements "
                        "takes ?type=, ?name=, ?parent= (an element id, or "
                        "null for those without a parent), ?limit=1..%d "
                        "(default %d) and ?after= the \"next\" of the page "
                        "before"), PAGE_MAX, PAGE), pool);
    return 0;
  }
  return 1;
}

static void
list_elements(ts_http_reply_t *reply, void *baton,
              const ts_http_request_t *req, const char *const *args,
              apr_pool_t *pool)
{
  ts_model_t *m = baton;
  ts_elements_filter_t filter;
  apr_array_header_t *page;
  apr_int64_t after, next;
  ts_model_who_t who;
  json_t *arr;
  int limit;

  (void)args;
  if (!ts_model_authorize(&who, reply, m, req, pool)
      || !parse_listing(&filter, &after, &limit, reply, req, pool))
    return;
  page = ts_elements_list(&next, m->els, &filter, after, limit, pool);
  arr = json_array();
  apr_thread_mutex_lock(m->lock);
  m->reads++;
  for (int i = 0; i < page->nelts; i++) {
    const ts_element_t *e = &APR_ARRAY_IDX(page, i, ts_element_t);
    json_array_append_new(arr, element_json(e, holder_of(m, e->id)));
  }
  apr_thread_mutex_unlock(m->lock);
  ts_http_reply_json(reply, 200, json_pack("{s:o, s:o}", "elements", arr,
                     "next", next ? json_integer(next) : json_null()),
                     pool);
}

/* ---- changes, on the writer ---------------------------------------------- */

/* C fails with STATUS and MESSAGE (and EXTRA's fields). */
static void
refuse(change_t *c, int status, const char *message, json_t *extra)
{
  c->status = status;
  c->message = message;
  c->extra = extra;
}

/* Under LOCK: whether C's session still is and no other one holds C's
 * element; a reservation or release is made here. */
static int
guard(change_t *c, ts_elements_batch_t *b)
{
  ts_model_t *m = c->m;
  ts_model_session_t *s = ts_model_session(m, c->who.session);
  ts_model_reservation_t *r = c->kind == OP_CREATE ? NULL
                              : ts_model_reservation(m, c->id);

  if (!s) {
    refuse(c, 401, _("your session ended before the change was made; open "
                     "a new one with POST /v1/sessions"), NULL);
    return 0;
  }
  if (r && r->session != s) {
    refuse(c, 423, apr_psprintf(c->pool, _("element %s is reserved by %s on "
           "%s (session %s): others may read it but not change or reserve "
           "it until it is released or that session ends"),
           apr_psprintf(c->pool, "%" APR_INT64_T_FMT, c->id),
           r->session->user, r->session->host, r->session->id),
           json_pack("{s:o}", "reserved_by", ts_model_holder_json(r)));
    return 0;
  }
  if ((c->kind == OP_RESERVE || c->kind == OP_RELEASE)
      && !ts_elements_find(b, c->id)) {
    refuse(c, 404, apr_psprintf(c->pool, _("there is no element %s"),
           apr_psprintf(c->pool, "%" APR_INT64_T_FMT, c->id)), NULL);
    return 0;
  }
  if (c->kind == OP_RESERVE) {
    ts_model_reserve(m, c->id, s);
    c->extra = ts_model_holder_json(ts_model_reservation(m, c->id));
  }
  if (c->kind == OP_RELEASE)
    ts_model_release(m, c->id);
  return 1;
}

/* Whether PARENT (0: none) may be E's parent: it exists and E is not
 * among its ancestors (E 0: a new element). */
static int
parent_fits(change_t *c, ts_elements_batch_t *b, apr_int64_t parent)
{
  const char *id = apr_psprintf(c->pool, "%" APR_INT64_T_FMT, parent);

  for (apr_int64_t p = parent; p; ) {
    const ts_element_t *e = ts_elements_find(b, p);
    if (!e) {
      refuse(c, 409, apr_psprintf(c->pool, _("the parent %s does not "
                                  "exist"), id), NULL);
      return 0;
    }
    if (p == c->id && c->kind == OP_UPDATE) {
      refuse(c, 409, apr_psprintf(c->pool, _("element %s cannot have %s as "
             "its parent: it is that element or one of its ancestors"),
             apr_psprintf(c->pool, "%" APR_INT64_T_FMT, c->id), id), NULL);
      return 0;
    }
    p = e->parent;
  }
  return 1;
}

/* The element C names, at the revision C read; else NULL, refused. */
static const ts_element_t *
current(change_t *c, ts_elements_batch_t *b)
{
  const ts_element_t *e = ts_elements_find(b, c->id);
  const char *id = apr_psprintf(c->pool, "%" APR_INT64_T_FMT, c->id);

  if (!e)
    refuse(c, 404, apr_psprintf(c->pool, _("there is no element %s"), id),
           NULL);
  else if (e->revision != c->revision)
    refuse(c, 409, apr_psprintf(c->pool, _("element %s changed since you "
           "read it: it is at revision %s, you sent %s; read it again and "
           "make your change on that"), id, apr_psprintf(c->pool, "%"
           APR_INT64_T_FMT, e->revision), apr_psprintf(c->pool, "%"
           APR_INT64_T_FMT, c->revision)),
           json_pack("{s:I}", "revision", (json_int_t)e->revision));
  else
    return e;
  return NULL;
}

static void
apply_update(change_t *c, ts_elements_batch_t *b)
{
  const ts_element_t *e = current(c, b);
  apr_int64_t parent;

  if (!e)
    return;
  parent = c->set_parent ? c->parent : e->parent;
  if (parent != e->parent && !parent_fits(c, b, parent))
    return;
  if (ts_elements_update(&c->made, b, c->id, c->type ? c->type : e->type,
                         c->name ? c->name : e->name, parent,
                         c->properties ? c->properties : e->properties,
                         c->pool))
    c->status = 200;
}

static void
apply_delete(change_t *c, ts_elements_batch_t *b)
{
  const ts_element_t *e = current(c, b);

  if (!e)
    return;
  if (e->children) {
    refuse(c, 409, apr_psprintf(c->pool, _("element %s has %s children: "
           "delete them or give them another parent first"),
           apr_psprintf(c->pool, "%" APR_INT64_T_FMT, c->id),
           apr_psprintf(c->pool, "%ld", e->children)), NULL);
    return;
  }
  if (!ts_elements_delete(b, c->id))
    return;
  c->status = 200;
  apr_thread_mutex_lock(c->m->lock);
  ts_model_release(c->m, c->id);   /* its own reservation, if it had one */
  apr_thread_mutex_unlock(c->m->lock);
}

static void
apply(ts_elements_op_t *op, ts_elements_batch_t *b)
{
  change_t *c = op->baton;
  int go;

  apr_thread_mutex_lock(c->m->lock);
  go = guard(c, b);
  apr_thread_mutex_unlock(c->m->lock);
  if (!go)
    return;
  switch (c->kind) {
  case OP_CREATE:
    if (parent_fits(c, b, c->parent)
        && ts_elements_create(&c->made, b, c->type, c->name, c->parent,
                              c->properties, c->pool))
      c->status = 201;
    break;
  case OP_UPDATE:
    apply_update(c, b);
    break;
  case OP_DELETE:
    apply_delete(c, b);
    break;
  case OP_RESERVE:
  case OP_RELEASE:
    c->status = 200;
    break;
  }
}

static void
done(ts_elements_op_t *op)
{
  change_t *c = op->baton;
  ts_model_t *m = c->m;

  if (op->err) {
    refuse(c, ts_error_code(op->err) == TS_EUNAVAIL ? 503 : 500,
           ts_error_message(op->err, c->pool), NULL);
    ts_error_clear(op->err);
    op->err = NULL;
  }
  apr_thread_mutex_lock(m->lock);
  m->writes += op->changed && c->status < 300;
  m->conflicts += c->status == 409;
  m->locked += c->status == 423;
  apr_thread_mutex_unlock(m->lock);
  ts_http_resume(c->pending);     /* C is the request's again */
}

/* Say on the bus what C changed, once it is on disk: an event (not
 * retained) on models/<model>/<version>/elements/<id>, which the
 * notification service passes on (its subscribers and mails). */
static void
say_change(const change_t *c)
{
  static const char *const ops[] = { "create", "update", "delete",
                                     "reserve", "release" };
  const ts_model_t *m = c->m;
  apr_int64_t id = c->kind == OP_CREATE ? c->made.id : c->id;
  json_t *j;
  char *text, topic[400];

  if (!m->bus)
    return;
  j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I}", "op",
                ops[c->kind], "model", m->meta->model, "version",
                m->meta->version, "id", (json_int_t)id, "user",
                c->who.user ? c->who.user : "", "host",
                c->who.host ? c->who.host : "", "session",
                c->who.session ? c->who.session : "", "at_ms",
                (json_int_t)(apr_time_now() / 1000));
  if (j && (c->kind == OP_CREATE || c->kind == OP_UPDATE)) {
    json_object_set_new(j, "revision", json_integer(c->made.revision));
    json_object_set_new(j, "type", json_string(c->made.type));
    json_object_set_new(j, "name", json_string(c->made.name));
  }
  text = j ? json_dumps(j, JSON_COMPACT) : NULL;
  json_decref(j);
  apr_snprintf(topic, sizeof(topic), "models/%s/%s/elements/%" APR_INT64_T_FMT,
               m->meta->model, m->meta->version, id);
  if (text)
    ts_bus_publish(m->bus, topic, text, 0);
  free(text);
}

/* The answer, on a listener thread once the batch is done. */
static void
finish(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       apr_pool_t *pool)
{
  change_t *c = baton;
  json_t *j;

  (void)req;
  if (c->status >= 300) {
    j = c->extra ? c->extra : json_object();
    json_object_set_new(j, "error", json_string(c->message));
    ts_http_reply_json(reply, c->status, j, pool);
    return;
  }
  say_change(c);
  if (c->kind == OP_CREATE || c->kind == OP_UPDATE)
    j = element_json(&c->made, NULL);
  else if (c->kind == OP_DELETE)
    j = json_pack("{s:I, s:b}", "id", (json_int_t)c->id, "deleted", 1);
  else if (c->kind == OP_RESERVE)
    j = json_pack("{s:I, s:o}", "id", (json_int_t)c->id, "reserved_by",
                  c->extra);
  else
    j = json_pack("{s:I, s:b}", "id", (json_int_t)c->id, "reserved", 0);
  ts_http_reply_json(reply, c->status, j, pool);
}

/* ---- the requests that change -------------------------------------------- */

/* A change of KIND by REQ's session, or NULL when the reply refused it
 * (no session, a read-only repository, no such element). */
static change_t *
begin(ts_http_reply_t *reply, ts_model_t *m, kind_t kind,
      const ts_http_request_t *req, const char *id, apr_pool_t *pool)
{
  change_t *c = apr_pcalloc(pool, sizeof(*c));

  if (!ts_model_authorize(&c->who, reply, m, req, pool))
    return NULL;
  if (m->meta->read_only) {
    ts_http_reply_error(reply, 403, apr_psprintf(pool, _("version %s of "
                        "model %s is read-only (a backup, or started "
                        "read-only): its elements can be read and not "
                        "changed or reserved"), m->meta->version,
                        m->meta->model), pool);
    return NULL;
  }
  c->id = id ? parse_id(id) : 0;
  if (id && !c->id) {
    no_element(reply, id, pool);
    return NULL;
  }
  c->m = m;
  c->kind = kind;
  c->pool = pool;
  c->op.apply = apply;
  c->op.done = done;
  c->op.baton = c;
  return c;
}

/* Hand C to the writer; the answer comes after its batch. */
static void
submit(change_t *c, const ts_http_request_t *req)
{
  c->pending = ts_http_defer(req, finish, c);
  ts_elements_submit(c->m->els, &c->op);
}

/* Whether TEXT (a field NAME) has 1..MAX bytes (0.. with EMPTY_OK) and
 * no control character; if not, a 400 saying so. */
static int
text_fits(ts_http_reply_t *reply, const char *name, const char *text,
          size_t max, int empty_ok, apr_pool_t *pool)
{
  size_t n = strlen(text), k = 0;

  while (k < n && (unsigned char)text[k] >= 0x20 && text[k] != 0x7f)
    k++;
  if (k == n && n <= max && (n || empty_ok))
    return 1;
  ts_http_reply_error(reply, 400, apr_psprintf(pool, _("the field \"%s\" "
                      "must be text of %s to %lu bytes without control "
                      "characters"), name, empty_ok ? "0" : "1",
                      (unsigned long)max), pool);
  return 0;
}

/* PARENT and PROPERTIES (either may be NULL: not given) into C; 0 when
 * the reply says what is wrong. */
static int
take_fields(change_t *c, ts_http_reply_t *reply, json_t *parent,
            json_t *properties)
{
  char *text;

  if (parent && !json_is_null(parent)
      && (!json_is_integer(parent) || json_integer_value(parent) < 1)) {
    ts_http_reply_error(reply, 400, _("\"parent\" is an element's id or "
                        "null"), c->pool);
    return 0;
  }
  c->set_parent = parent != NULL;
  c->parent = parent ? json_integer_value(parent) : 0;
  if (!properties)
    return 1;
  if (!json_is_object(properties)) {
    ts_http_reply_error(reply, 400, _("\"properties\" is a JSON object"),
                        c->pool);
    return 0;
  }
  text = json_dumps(properties, JSON_COMPACT | JSON_PRESERVE_ORDER);
  c->properties = apr_pstrdup(c->pool, text);
  free(text);
  return 1;
}

/* The body of a POST (UPDATE 0) or PUT into C; 0 when the reply says what
 * is wrong. */
static int
parse_element(change_t *c, ts_http_reply_t *reply,
              const ts_http_request_t *req, int update)
{
  const char *type = NULL, *name = NULL;
  json_t *j, *parent = NULL, *props = NULL;
  json_int_t revision = 0;
  json_error_t jerr;
  int ok;

  ts_http_request_json(&j, reply, req, c->pool);
  if (!j)
    return 0;
  ok = update ? !json_unpack_ex(j, &jerr, JSON_STRICT, "{s:I, s?s, s?s, "
                                "s?o, s?o}", "revision", &revision, "type",
                                &type, "name", &name, "parent", &parent,
                                "properties", &props)
              : !json_unpack_ex(j, &jerr, JSON_STRICT, "{s:s, s:s, s?o, "
                                "s?o}", "type", &type, "name", &name,
                                "parent", &parent, "properties", &props);
  if (!ok)
    ts_http_reply_error(reply, 400, apr_psprintf(c->pool, update
      ? _("the body must be {\"revision\": the one you read, and any of "
          "\"type\", \"name\", \"parent\", \"properties\"}: %s")
      : _("the body must be {\"type\", \"name\", \"parent\" (an id or "
          "null), \"properties\" (an object)}: %s"), jerr.text), c->pool);
  ok = ok && (!type || text_fits(reply, "type", type, TYPE_MAX, 0, c->pool))
       && (!name || text_fits(reply, "name", name, NAME_MAX_BYTES, 1,
                              c->pool))
       && take_fields(c, reply, parent, props);
  c->type = type ? apr_pstrdup(c->pool, type) : NULL;
  c->name = name ? apr_pstrdup(c->pool, name) : NULL;
  c->revision = revision;
  if (!update && !c->properties)
    c->properties = "{}";
  json_decref(j);
  return ok;
}

static void
create(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  change_t *c = begin(reply, baton, OP_CREATE, req, NULL, pool);

  (void)args;
  if (c && parse_element(c, reply, req, 0))
    submit(c, req);
}

static void
update(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
       const char *const *args, apr_pool_t *pool)
{
  change_t *c = begin(reply, baton, OP_UPDATE, req, args[0], pool);

  if (c && parse_element(c, reply, req, 1))
    submit(c, req);
}

static void
delete_element(ts_http_reply_t *reply, void *baton,
               const ts_http_request_t *req, const char *const *args,
               apr_pool_t *pool)
{
  change_t *c = begin(reply, baton, OP_DELETE, req, args[0], pool);
  const char *arg = ts_http_query(req, "revision");
  json_t *j = NULL;

  if (!c)
    return;
  if (arg)
    c->revision = parse_id(arg);
  else if (*req->body) {
    ts_http_request_json(&j, reply, req, pool);
    if (!j)
      return;
    c->revision = json_integer_value(json_object_get(j, "revision"));
    json_decref(j);
  }
  if (c->revision < 1) {
    ts_http_reply_error(reply, 400, _("say which revision you delete: "
                        "?revision=N or the body {\"revision\": N}, the "
                        "revision you read"), pool);
    return;
  }
  submit(c, req);
}

static void
reserve(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        const char *const *args, apr_pool_t *pool)
{
  change_t *c = begin(reply, baton, OP_RESERVE, req, args[0], pool);

  if (c)
    submit(c, req);
}

static void
release(ts_http_reply_t *reply, void *baton, const ts_http_request_t *req,
        const char *const *args, apr_pool_t *pool)
{
  change_t *c = begin(reply, baton, OP_RELEASE, req, args[0], pool);

  if (c)
    submit(c, req);
}

const ts_route_t ts_model_element_routes[] = {
  { "GET", "/v1/elements", list_elements },
  { "POST", "/v1/elements", create },
  { "GET", "/v1/elements/{id}", get_element },
  { "PUT", "/v1/elements/{id}", update },
  { "DELETE", "/v1/elements/{id}", delete_element },
  { "POST", "/v1/elements/{id}/reservation", reserve },
  { "DELETE", "/v1/elements/{id}/reservation", release },
  { NULL, NULL, NULL }
};
