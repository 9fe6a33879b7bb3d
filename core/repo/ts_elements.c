/* ts_elements.c: the elements in memory and their writer (see
 * ts_elements.h).
 *
 * Memory: V, an array of element blocks sorted by id, with IDS beside it
 * for the binary search; a deleted element leaves a hole (V[i] NULL, its
 * id kept) until holes are half the array, then the array is compacted.
 * Each block is one malloc holding the element and its strings; a change
 * makes a new block, and the old one is freed once readers can no longer
 * reach it (after the swap, under the write lock). Readers copy what
 * they answer into their own pool under the read lock.
 *
 * A batch's changes live in its overlay (id -> the block as the batch
 * left it, or NULL: deleted) until the commit; ts_elements_find looks
 * there first. Only the writer thread reads the committed blocks without
 * the lock: it is the only one that changes them.
 */
#include "ts_repo_impl.h"

#include <stdlib.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>
#include <apr_thread_rwlock.h>

/* The most operations in one transaction: a burst of 1000 clients fits,
 * and a commit's time stays bounded. */
#define MAX_BATCH 1024

typedef struct block_t {
  ts_element_t e;               /* strings point behind the struct */
} block_t;

/* An overlay entry: the element as the batch left it. */
typedef struct change_t {
  apr_int64_t id;
  block_t *block;               /* NULL: deleted */
} change_t;

struct ts_elements_batch_t {
  ts_elements_t *els;
  ts_elements_op_t *op;         /* the one applying */
  apr_hash_t *overlay;          /* id -> change_t */
  apr_array_header_t *created;  /* apr_int64_t ids, in order */
  int begun;                    /* the transaction is open */
  ts_error_t *failed;           /* the first failed write */
  apr_pool_t *pool;             /* the batch's, cleared after it */
};

struct ts_elements_t {
  ts_repo_t *repo;
  ts_repo_stmts_t stmts;        /* the writer's */
  ts_log_t *log;

  apr_thread_rwlock_t *rw;      /* the committed elements: */
  block_t **v;
  apr_int64_t *ids;
  long n, cap, live;

  apr_thread_mutex_t *lock;     /* the queue and the figures: */
  apr_thread_cond_t *wake;
  ts_elements_op_t *head, *tail;
  int closing;
  apr_uint64_t commits, ops, failed;

  apr_int64_t last_id;          /* the writer's */
  apr_thread_t *writer;
  apr_pool_t *pool;
};

/* ---- blocks and the sorted array ----------------------------------------- */

static block_t *
block_make(const ts_element_t *e)
{
  size_t t = strlen(e->type) + 1, n = strlen(e->name) + 1;
  size_t p = strlen(e->properties) + 1;
  block_t *b = malloc(sizeof(*b) + t + n + p);
  char *s = (char *)(b + 1);

  if (!b)
    abort();   /* as APR does when a pool cannot grow */
  b->e = *e;
  b->e.type = memcpy(s, e->type, t);
  b->e.name = memcpy(s + t, e->name, n);
  b->e.properties = memcpy(s + t + n, e->properties, p);
  return b;
}

/* A copy of B with CHILDREN changed by DELTA. */
static block_t *
block_with_children(const block_t *b, long delta)
{
  ts_element_t e = b->e;

  e.children += delta;
  return block_make(&e);
}

static void
copy_out(ts_element_t *to, const ts_element_t *from, apr_pool_t *pool)
{
  *to = *from;
  to->type = apr_pstrdup(pool, from->type);
  to->name = apr_pstrdup(pool, from->name);
  to->properties = apr_pstrdup(pool, from->properties);
}

/* The index of the first id >= ID. */
static long
lower_bound(const ts_elements_t *els, apr_int64_t id)
{
  long lo = 0, hi = els->n;

  while (lo < hi) {
    long mid = lo + (hi - lo) / 2;
    if (els->ids[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The committed block of ID, or NULL. */
static block_t *
committed(const ts_elements_t *els, apr_int64_t id)
{
  long i = lower_bound(els, id);

  return i < els->n && els->ids[i] == id ? els->v[i] : NULL;
}

static void
append(ts_elements_t *els, block_t *b)
{
  if (els->n == els->cap) {
    long cap = els->cap ? els->cap * 2 : 1024;
    block_t **v = realloc(els->v, (size_t)cap * sizeof(*v));
    apr_int64_t *ids = v ? realloc(els->ids, (size_t)cap * sizeof(*ids))
                         : NULL;
    if (!v || !ids)
      abort();
    els->v = v;
    els->ids = ids;
    els->cap = cap;
  }
  els->v[els->n] = b;
  els->ids[els->n++] = b->e.id;
  els->live++;
}

/* Remove the holes once they are half the array. */
static void
compact(ts_elements_t *els)
{
  long k = 0;

  if (els->n < 1024 || els->live * 2 > els->n)
    return;
  for (long i = 0; i < els->n; i++)
    if (els->v[i]) {
      els->v[k] = els->v[i];
      els->ids[k++] = els->ids[i];
    }
  els->n = k;
}

/* ---- loading ------------------------------------------------------------- */

static void
load_row(void *baton, const ts_element_t *e)
{
  append(baton, block_make(e));
}

/* Each element's count of children, from the parents. */
static void
count_children(ts_elements_t *els)
{
  for (long i = 0; i < els->n; i++) {
    block_t *p = els->v[i]->e.parent ? committed(els, els->v[i]->e.parent)
                                     : NULL;
    if (p)
      p->e.children++;
  }
}

static void
free_all(ts_elements_t *els)
{
  for (long i = 0; i < els->n; i++)
    free(els->v[i]);
  free(els->v);
  free(els->ids);
  els->v = NULL;
  els->ids = NULL;
  els->n = els->cap = els->live = 0;
}

/* ---- reading ------------------------------------------------------------- */

int
ts_elements_get(ts_element_t *e, ts_elements_t *els, apr_int64_t id,
                apr_pool_t *pool)
{
  block_t *b;

  apr_thread_rwlock_rdlock(els->rw);
  b = committed(els, id);
  if (b)
    copy_out(e, &b->e, pool);
  apr_thread_rwlock_unlock(els->rw);
  return b != NULL;
}

static int
matches(const ts_element_t *e, const ts_elements_filter_t *f)
{
  return (!f->type || strcmp(f->type, e->type) == 0)
         && (!f->name || strcmp(f->name, e->name) == 0)
         && (!f->by_parent || f->parent == e->parent);
}

apr_array_header_t *
ts_elements_list(apr_int64_t *next, ts_elements_t *els,
                 const ts_elements_filter_t *filter, apr_int64_t after,
                 int limit, apr_pool_t *pool)
{
  apr_array_header_t *page = apr_array_make(pool, limit < 64 ? limit : 64,
                                            sizeof(ts_element_t));

  *next = 0;
  apr_thread_rwlock_rdlock(els->rw);
  for (long i = lower_bound(els, after + 1); i < els->n; i++) {
    const block_t *b = els->v[i];
    if (!b || !matches(&b->e, filter))
      continue;
    if (page->nelts == limit) {   /* one more: there is a next page */
      *next = APR_ARRAY_IDX(page, page->nelts - 1, ts_element_t).id;
      break;
    }
    copy_out(apr_array_push(page), &b->e, pool);
  }
  apr_thread_rwlock_unlock(els->rw);
  return page;
}

long
ts_elements_count(ts_elements_t *els)
{
  long n;

  apr_thread_rwlock_rdlock(els->rw);
  n = els->live;
  apr_thread_rwlock_unlock(els->rw);
  return n;
}

void
ts_elements_stats(apr_uint64_t *commits, apr_uint64_t *ops,
                  apr_uint64_t *failed, ts_elements_t *els)
{
  apr_thread_mutex_lock(els->lock);
  *commits = els->commits;
  *ops = els->ops;
  *failed = els->failed;
  apr_thread_mutex_unlock(els->lock);
}

/* ---- a batch's changes --------------------------------------------------- */

static change_t *
change_of(ts_elements_batch_t *b, apr_int64_t id)
{
  return apr_hash_get(b->overlay, &id, sizeof(id));
}

const ts_element_t *
ts_elements_find(ts_elements_batch_t *b, apr_int64_t id)
{
  change_t *c = change_of(b, id);
  block_t *k = c ? c->block : committed(b->els, id);

  return k ? &k->e : NULL;
}

/* ID is BLOCK (NULL: deleted) as of this batch; a block the batch made
 * before for ID was never seen by a reader and goes. */
static void
set_change(ts_elements_batch_t *b, apr_int64_t id, block_t *block)
{
  change_t *c = change_of(b, id);

  if (c)
    free(c->block);
  else {
    c = apr_palloc(b->pool, sizeof(*c));
    c->id = id;
    apr_hash_set(b->overlay, &c->id, sizeof(c->id), c);
  }
  c->block = block;
}

/* Whether the batch may write: its transaction open, no write failed. */
static int
writable(ts_elements_batch_t *b)
{
  ts_elements_t *els = b->els;

  b->op->changed = 1;
  if (!b->failed && !b->begun) {
    b->failed = ts_repo__step(els->repo, els->stmts.begin, TS_REPO_BEGIN);
    b->begun = !b->failed;
  }
  return !b->failed;
}

/* The parent PARENT (unless 0) has DELTA children more. */
static void
adjust_parent(ts_elements_batch_t *b, apr_int64_t parent, long delta)
{
  const ts_element_t *p = parent ? ts_elements_find(b, parent) : NULL;

  if (p)
    set_change(b, parent, block_with_children((const block_t *)p, delta));
}

int
ts_elements_create(ts_element_t *made, ts_elements_batch_t *b,
                   const char *type, const char *name, apr_int64_t parent,
                   const char *properties, apr_pool_t *pool)
{
  ts_element_t e = { 0 };

  if (!writable(b))
    return 0;
  e.id = b->els->last_id + 1;
  e.type = type;
  e.name = name;
  e.parent = parent;
  e.properties = properties;
  e.revision = 1;
  b->failed = ts_repo__put(b->els->repo, &b->els->stmts, &e, 1);
  if (b->failed)
    return 0;
  b->els->last_id = e.id;
  set_change(b, e.id, block_make(&e));
  APR_ARRAY_PUSH(b->created, apr_int64_t) = e.id;
  adjust_parent(b, parent, 1);
  copy_out(made, &e, pool);
  return 1;
}

int
ts_elements_update(ts_element_t *made, ts_elements_batch_t *b,
                   apr_int64_t id, const char *type, const char *name,
                   apr_int64_t parent, const char *properties,
                   apr_pool_t *pool)
{
  const ts_element_t *was = ts_elements_find(b, id);
  ts_element_t e;
  apr_int64_t old_parent;

  if (!writable(b))
    return 0;
  e = *was;
  old_parent = was->parent;
  e.type = type;
  e.name = name;
  e.parent = parent;
  e.properties = properties;
  e.revision = was->revision + 1;
  b->failed = ts_repo__put(b->els->repo, &b->els->stmts, &e, 0);
  if (b->failed)
    return 0;
  copy_out(made, &e, pool);   /* before WAS's block goes */
  set_change(b, id, block_make(&e));
  if (old_parent != parent) {
    adjust_parent(b, old_parent, -1);
    adjust_parent(b, parent, 1);
  }
  made->children = ts_elements_find(b, id)->children;
  return 1;
}

int
ts_elements_delete(ts_elements_batch_t *b, apr_int64_t id)
{
  apr_int64_t parent = ts_elements_find(b, id)->parent;

  if (!writable(b))
    return 0;
  b->failed = ts_repo__remove(b->els->repo, &b->els->stmts, id);
  if (b->failed)
    return 0;
  set_change(b, id, NULL);
  adjust_parent(b, parent, -1);
  return 1;
}

/* ---- the batch's end ----------------------------------------------------- */

/* The committed overlay becomes what readers see (under the write lock);
 * the blocks it replaces are freed after. */
static void
publish(ts_elements_batch_t *b)
{
  ts_elements_t *els = b->els;
  apr_array_header_t *old = apr_array_make(b->pool, 16, sizeof(block_t *));

  apr_thread_rwlock_wrlock(els->rw);
  for (apr_hash_index_t *hi = apr_hash_first(b->pool, b->overlay); hi;
       hi = apr_hash_next(hi)) {
    change_t *c = apr_hash_this_val(hi);
    long i = lower_bound(els, c->id);
    if (i == els->n || els->ids[i] != c->id || !els->v[i])
      continue;                   /* made in this batch: appended below */
    APR_ARRAY_PUSH(old, block_t *) = els->v[i];
    els->v[i] = c->block;
    els->live -= c->block == NULL;
    c->block = NULL;              /* the array's now */
  }
  for (int k = 0; k < b->created->nelts; k++) {
    change_t *c = change_of(b, APR_ARRAY_IDX(b->created, k, apr_int64_t));
    if (c->block)                 /* not deleted again in the batch */
      append(els, c->block);
    c->block = NULL;
  }
  compact(els);
  apr_thread_rwlock_unlock(els->rw);
  for (int k = 0; k < old->nelts; k++)
    free(APR_ARRAY_IDX(old, k, block_t *));
}

/* A failed batch: its blocks go, the file is rolled back. */
static void
discard(ts_elements_batch_t *b)
{
  ts_elements_t *els = b->els;
  ts_error_t *err;

  for (apr_hash_index_t *hi = apr_hash_first(b->pool, b->overlay); hi;
       hi = apr_hash_next(hi)) {
    change_t *c = apr_hash_this_val(hi);
    free(c->block);
    c->block = NULL;
  }
  if (!b->begun)
    return;
  err = ts_repo__step(els->repo, els->stmts.rollback,
                      TS_REPO_ROLLBACK);
  if (err) {
    ts_log_error(els->log, TS_LOG_ERROR, err, "a failed batch of changes "
                 "could not be rolled back either");
    ts_error_clear(err);
  }
}

/* Run OPS (N) as one batch in B. */
static void
run_batch(ts_elements_batch_t *b, ts_elements_op_t **ops, int n)
{
  ts_elements_t *els = b->els;
  const char *text = NULL, *local = NULL;

  b->overlay = apr_hash_make(b->pool);
  b->created = apr_array_make(b->pool, 16, sizeof(apr_int64_t));
  b->begun = 0;
  b->failed = NULL;
  for (int i = 0; i < n; i++) {
    b->op = ops[i];
    ops[i]->changed = 0;
    ops[i]->err = NULL;
    ops[i]->apply(ops[i], b);
  }
  if (b->begun && !b->failed)
    b->failed = ts_repo__step(els->repo, els->stmts.commit,
                              TS_REPO_COMMIT);
  if (b->failed) {
    text = ts_error_text(b->failed, b->pool);
    local = ts_error_message(b->failed, b->pool);
    ts_log_error(els->log, TS_LOG_ERROR, b->failed, "changes not made");
    ts_error_clear(b->failed);
    discard(b);
  }
  else
    publish(b);
  apr_thread_mutex_lock(els->lock);
  els->commits += b->begun && !text;
  els->ops += (apr_uint64_t)n;
  els->failed += text != NULL;
  apr_thread_mutex_unlock(els->lock);
  for (int i = 0; i < n; i++) {
    if (text && ops[i]->changed)
      ops[i]->err = ts_error_create_texts(TS_EIO, text, local);
    ops[i]->done(ops[i]);         /* OPS[i] may be gone now */
  }
}

static void *APR_THREAD_FUNC
writer(apr_thread_t *thread, void *data)
{
  ts_elements_t *els = data;
  ts_elements_batch_t b = { 0 };
  ts_elements_op_t **ops;
  apr_pool_t *own;

  apr_pool_create(&own, NULL);          /* this thread's alone */
  apr_pool_create(&b.pool, own);
  b.els = els;
  ops = apr_palloc(own, MAX_BATCH * sizeof(*ops));
  apr_thread_mutex_lock(els->lock);
  for (;;) {
    int n = 0;

    if (!els->head && els->closing)
      break;
    if (!els->head) {
      apr_thread_cond_wait(els->wake, els->lock);
      continue;
    }
    while (els->head && n < MAX_BATCH) {
      ops[n++] = els->head;
      els->head = els->head->next;
    }
    if (!els->head)
      els->tail = NULL;
    apr_thread_mutex_unlock(els->lock);
    apr_pool_clear(b.pool);
    run_batch(&b, ops, n);
    apr_thread_mutex_lock(els->lock);
  }
  apr_thread_mutex_unlock(els->lock);
  apr_pool_destroy(own);
  (void)thread;   /* returns: apr_thread_exit()'s unwinding upsets ASan */
  return NULL;
}

void
ts_elements_submit(ts_elements_t *els, ts_elements_op_t *op)
{
  op->err = NULL;
  op->next = NULL;
  op->changed = 0;
  apr_thread_mutex_lock(els->lock);
  if (els->closing) {
    apr_thread_mutex_unlock(els->lock);
    op->err = ts_error_createf(TS_EUNAVAIL, "the model server is stopping; "
                               "the change was not made");
    op->done(op);
    return;
  }
  if (els->tail)
    els->tail->next = op;
  else
    els->head = op;
  els->tail = op;
  apr_thread_cond_signal(els->wake);
  apr_thread_mutex_unlock(els->lock);
}

/* ---- open and close ------------------------------------------------------ */

ts_error_t *
ts_elements_open(ts_elements_t **els_p, ts_repo_t *repo,
                 apr_interval_time_t *loaded, ts_log_t *log,
                 apr_pool_t *pool)
{
  ts_elements_t *els = apr_pcalloc(pool, sizeof(*els));
  apr_time_t began = apr_time_now();
  apr_status_t s;
  ts_error_t *err;

  els->repo = repo;
  els->log = log;
  els->pool = pool;
  err = ts_repo__load(&els->last_id, repo, load_row, els);
  if (err) {
    free_all(els);
    return err;
  }
  count_children(els);
  *loaded = apr_time_now() - began;
  err = ts_repo__prepare(&els->stmts, repo);
  if (err) {
    free_all(els);
    return err;
  }
  apr_thread_rwlock_create(&els->rw, pool);
  apr_thread_mutex_create(&els->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  apr_thread_cond_create(&els->wake, pool);
  s = apr_thread_create(&els->writer, NULL, writer, els, pool);
  if (s) {
    ts_repo__finalize(&els->stmts);
    free_all(els);
    return ts_error_aprf(s, "cannot start the writer thread of %s",
                         repo->path);
  }
  *els_p = els;
  return NULL;
}

void
ts_elements_close(ts_elements_t *els)
{
  apr_status_t ignored;

  if (!els || !els->writer)
    return;
  apr_thread_mutex_lock(els->lock);
  els->closing = 1;
  apr_thread_cond_signal(els->wake);
  apr_thread_mutex_unlock(els->lock);
  apr_thread_join(&ignored, els->writer);
  els->writer = NULL;
  ts_repo__finalize(&els->stmts);
  free_all(els);
}
