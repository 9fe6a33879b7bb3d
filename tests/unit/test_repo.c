/* test_repo.c: model repositories (core/repo): made, read, copied while
 * another connection writes, sized, refused when they are not one; the
 * element store: changes made durable and visible, children counted,
 * pages of a listing, a reopen that finds everything. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_cond.h>
#include <apr_thread_mutex.h>
#include <apr_thread_proc.h>

#include "ts_elements.h"
#include "ts_file.h"
#include "ts_repo.h"

static apr_pool_t *pool;
static char root[64];

static void
setup(void)
{
  apr_initialize();
  apr_pool_create(&pool, NULL);
  snprintf(root, sizeof(root), "/tmp/tessera-repo-XXXXXX");
  cr_assert_not_null(mkdtemp(root));
}

static void
teardown(void)
{
  cr_assert_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(repo, .init = setup, .fini = teardown, .timeout = 120);

static const char *
dir_named(const char *name)
{
  const char *d = apr_pstrcat(pool, root, "/", name, NULL);

  cr_assert_eq(apr_dir_make(d, APR_OS_DEFAULT, pool), APR_SUCCESS);
  return d;
}

static void
ok(ts_error_t *err)
{
  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
}

static const char *
make_repo(const char *name, const char *product)
{
  const char *d = dir_named(name);
  ts_repo_meta_t m = { "bridge", name, product, 0 };

  ok(ts_repo_create(d, &m, pool));
  return d;
}

/* ---- running operations and waiting for them ----------------------------- */

typedef struct waiter_t {
  ts_elements_op_t op;
  apr_thread_mutex_t *lock;
  apr_thread_cond_t *cond;
  int done;
  void (*body)(struct waiter_t *w, ts_elements_batch_t *b);
  ts_element_t made;
  apr_int64_t id;
  int n;
} waiter_t;

static void
apply(ts_elements_op_t *op, ts_elements_batch_t *b)
{
  waiter_t *w = op->baton;

  w->body(w, b);
}

static void
done(ts_elements_op_t *op)
{
  waiter_t *w = op->baton;

  apr_thread_mutex_lock(w->lock);
  w->done = 1;
  apr_thread_cond_signal(w->cond);
  apr_thread_mutex_unlock(w->lock);
}

/* Run BODY on the writer of ELS and wait; the operation's error. */
static ts_error_t *
run_op(ts_elements_t *els, void (*body)(waiter_t *, ts_elements_batch_t *),
       waiter_t *w, apr_pool_t *p)
{
  w->op.apply = apply;
  w->op.done = done;
  w->op.baton = w;
  w->body = body;
  w->done = 0;
  apr_thread_mutex_create(&w->lock, APR_THREAD_MUTEX_DEFAULT, p);
  apr_thread_cond_create(&w->cond, p);
  ts_elements_submit(els, &w->op);
  apr_thread_mutex_lock(w->lock);
  while (!w->done)
    apr_thread_cond_wait(w->cond, w->lock);
  apr_thread_mutex_unlock(w->lock);
  return w->op.err;
}

/* W->n elements of type "item" under W->id (0: roots). */
static void
make_items(waiter_t *w, ts_elements_batch_t *b)
{
  for (int i = 0; i < w->n; i++)
    cr_assert(ts_elements_create(&w->made, b, "item", apr_psprintf(pool,
              "i%d", i), w->id, "{\"k\":1}", pool));
}

static void
rename_it(waiter_t *w, ts_elements_batch_t *b)
{
  const ts_element_t *e = ts_elements_find(b, w->id);

  cr_assert(ts_elements_update(&w->made, b, w->id, e->type, "renamed",
                               e->parent, "{\"k\":2}", pool));
}

static void
delete_it(waiter_t *w, ts_elements_batch_t *b)
{
  cr_assert(ts_elements_delete(b, w->id));
}

static ts_elements_t *
open_els(ts_repo_t **repo, const char *d)
{
  ts_elements_t *els;
  apr_interval_time_t took;

  ok(ts_repo_open(repo, d, 0, pool));
  ok(ts_elements_open(&els, *repo, &took, NULL, pool));
  return els;
}

/* ---- the format ---------------------------------------------------------- */

Test(repo, create_and_read_meta)
{
  const char *d = make_repo("v1", "demo");
  ts_repo_meta_t m;
  apr_off_t size;

  ok(ts_repo_read_meta(&m, d, pool));
  cr_assert_str_eq(m.model, "bridge");
  cr_assert_str_eq(m.version, "v1");
  cr_assert_str_eq(m.product, "demo");
  cr_assert_eq(m.read_only, 0);
  ok(ts_repo_size(&size, d, pool));
  cr_assert_gt(size, 0);
}

Test(repo, create_refuses_bad_names_and_a_second_repository)
{
  const char *d = make_repo("v1", "demo");
  ts_repo_meta_t bad = { "bridge", "a/b", "demo", 0 };
  ts_repo_meta_t again = { "bridge", "v1", "demo", 0 };
  ts_error_t *err = ts_repo_create(dir_named("v2"), &bad, pool);

  cr_assert_eq(ts_error_code(err), TS_EINVAL);
  cr_assert(strstr(ts_error_text(err, pool), "'a/b'"));
  ts_error_clear(err);
  err = ts_repo_create(d, &again, pool);
  cr_assert(strstr(ts_error_text(err, pool), "has one already"));
  ts_error_clear(err);
}

Test(repo, set_product)
{
  const char *d = make_repo("v1", "demo");
  ts_repo_meta_t m;

  ok(ts_repo_set_product(d, "cad", pool));
  ok(ts_repo_read_meta(&m, d, pool));
  cr_assert_str_eq(m.product, "cad");
}

Test(repo, not_a_repository_is_told)
{
  const char *empty = dir_named("empty"), *junk = dir_named("junk");
  const char *other = dir_named("other");
  static const char not_a_db[] =
    "this is no database, just text that was here\n"
    "......................................................"
    "......................................................";
  ts_repo_meta_t m;
  ts_error_t *err = ts_repo_read_meta(&m, empty, pool);
  const char *text;

  cr_assert_eq(ts_error_code(err), TS_ENOENT);
  cr_assert(strstr(ts_error_text(err, pool), "has no repository.db"));
  ts_error_clear(err);

  ok(ts_file_replace(ts_path_join(junk, TS_REPO_DB, pool), not_a_db,
                     strlen(not_a_db), TS_FPROT_FILE, pool));
  err = ts_repo_read_meta(&m, junk, pool);
  text = ts_error_text(err, pool);
  cr_assert_eq(ts_error_code(err), TS_EINVAL, "%s", text);
  cr_assert(strstr(text, "not a repository or is damaged"), "%s", text);
  cr_assert(strstr(text, junk), "%s", text);
  ts_error_clear(err);

  cr_assert_eq(system(apr_psprintf(pool, "sqlite3 '%s/repository.db' "
                                   "'CREATE TABLE t(x)'", other)), 0);
  err = ts_repo_read_meta(&m, other, pool);
  text = ts_error_text(err, pool);
  cr_assert(strstr(text, "not a Tessera repository"), "%s", text);
  ts_error_clear(err);
}

/* ---- the element store --------------------------------------------------- */

Test(repo, changes_survive_a_reopen_with_revisions_and_children)
{
  const char *d = make_repo("v1", "demo");
  ts_repo_t *repo;
  ts_elements_t *els = open_els(&repo, d);
  waiter_t w = { .n = 1, .id = 0 };
  ts_element_t e;
  apr_int64_t root_id, child;

  ok(run_op(els, make_items, &w, pool));
  root_id = w.made.id;
  cr_assert_eq(w.made.revision, 1);
  w.id = root_id;
  w.n = 3;
  ok(run_op(els, make_items, &w, pool));
  child = w.made.id;
  cr_assert(ts_elements_get(&e, els, root_id, pool));
  cr_assert_eq(e.children, 3);
  w.id = child;
  ok(run_op(els, rename_it, &w, pool));
  cr_assert_eq(w.made.revision, 2);
  ok(run_op(els, delete_it, &w, pool));
  cr_assert_not(ts_elements_get(&e, els, child, pool));
  cr_assert_eq(ts_elements_count(els), 3);
  ts_elements_close(els);
  ts_repo_close(repo);

  els = open_els(&repo, d);
  cr_assert_eq(ts_elements_count(els), 3);
  cr_assert(ts_elements_get(&e, els, root_id, pool));
  cr_assert_eq(e.children, 2);
  cr_assert(ts_elements_get(&e, els, child - 1, pool));
  cr_assert_str_eq(e.properties, "{\"k\":1}");
  /* ids are never given twice, not even the last one deleted */
  w.id = 0;
  w.n = 1;
  ok(run_op(els, make_items, &w, pool));
  cr_assert_gt(w.made.id, child);
  ts_elements_close(els);
  ts_repo_close(repo);
}

Test(repo, pages_and_filters)
{
  const char *d = make_repo("v1", "demo");
  ts_repo_t *repo;
  ts_elements_t *els = open_els(&repo, d);
  waiter_t w = { .n = 25, .id = 0 };
  ts_elements_filter_t all = { 0 }, named = { .name = "i3" };
  ts_elements_filter_t roots = { .by_parent = 1, .parent = 0 };
  apr_array_header_t *page;
  apr_int64_t next = 0, top;
  int seen = 0, pages = 0;

  ok(run_op(els, make_items, &w, pool));
  top = w.made.id;
  w.id = top;
  w.n = 5;
  ok(run_op(els, make_items, &w, pool));
  do {
    page = ts_elements_list(&next, els, &all, next, 10, pool);
    seen += page->nelts;
    pages++;
  } while (next);
  cr_assert_eq(seen, 30);
  cr_assert_eq(pages, 3);
  page = ts_elements_list(&next, els, &named, 0, 10, pool);
  cr_assert_eq(page->nelts, 2);   /* a root and a child */
  page = ts_elements_list(&next, els, &roots, 0, 100, pool);
  cr_assert_eq(page->nelts, 25);
  cr_assert_eq(next, 0);
  roots.parent = top;
  page = ts_elements_list(&next, els, &roots, 0, 100, pool);
  cr_assert_eq(page->nelts, 5);
  ts_elements_close(els);
  ts_repo_close(repo);
}

/* One transaction: an item more, and the counter element says how many. */
static void
count_up(waiter_t *w, ts_elements_batch_t *b)
{
  const ts_element_t *c = ts_elements_find(b, w->id);
  ts_element_t made;

  w->n++;
  cr_assert(ts_elements_create(&made, b, "item", "x", 0, "{}", pool));
  cr_assert(ts_elements_update(&made, b, w->id, c->type, c->name, 0,
                               apr_psprintf(pool, "{\"n\":%d}", w->n),
                               pool));
}

typedef struct writer_t {
  ts_elements_t *els;
  apr_int64_t counter;
  volatile int stop;
  int written;
} writer_t;

static void *APR_THREAD_FUNC
write_loop(apr_thread_t *t, void *data)
{
  writer_t *wr = data;
  apr_pool_t *p;
  waiter_t w = { .id = wr->counter };

  apr_pool_create(&p, NULL);
  while (!wr->stop) {
    ts_error_t *err = run_op(wr->els, count_up, &w, p);
    if (err)
      break;
  }
  wr->written = w.n;
  apr_pool_destroy(p);
  (void)t;
  return NULL;
}

Test(repo, copy_while_another_connection_writes_is_a_snapshot)
{
  const char *d = make_repo("v1", "demo"), *to = dir_named("v2");
  ts_repo_meta_t m = { "bridge", "v2", "cad", 1 }, got;
  ts_repo_t *repo, *copy;
  ts_elements_t *els = open_els(&repo, d), *cels;
  waiter_t w = { .n = 1 };
  writer_t wr = { 0 };
  apr_thread_t *t;
  apr_status_t ignored;
  apr_array_header_t *page;
  apr_int64_t next;
  ts_elements_filter_t items = { .type = "item" };
  ts_element_t counter;
  apr_interval_time_t took;

  ok(run_op(els, make_items, &w, pool));   /* the counter */
  wr.els = els;
  wr.counter = w.made.id;
  apr_thread_create(&t, NULL, write_loop, &wr, pool);
  while (ts_elements_count(els) < 50)
    apr_sleep(1000);
  ok(ts_repo_copy(d, to, &m, pool));
  wr.stop = 1;
  apr_thread_join(&ignored, t);
  ts_elements_close(els);
  ts_repo_close(repo);

  ok(ts_repo_read_meta(&got, to, pool));
  cr_assert_str_eq(got.version, "v2");
  cr_assert_str_eq(got.product, "cad");
  cr_assert_eq(got.read_only, 1);
  ok(ts_repo_open(&copy, to, 0, pool));
  ok(ts_elements_open(&cels, copy, &took, NULL, pool));
  cr_assert(ts_elements_get(&counter, cels, wr.counter, pool));
  page = ts_elements_list(&next, cels, &items, 0, 100000, pool);
  /* the counter's item plus the items the counter counts */
  cr_assert_eq(page->nelts - 1, atoi(strchr(counter.properties, ':') + 1),
               "copy: %d items, counter %s", page->nelts - 1,
               counter.properties);
  cr_assert_geq(page->nelts, 50);   /* the counter and 49 items at least */
  cr_assert_lt(page->nelts - 1, wr.written + 1);
  ts_elements_close(cels);
  ts_repo_close(copy);
}

Test(repo, a_read_only_open_is_marked)
{
  const char *d = make_repo("v1", "demo");
  ts_repo_t *repo;

  ok(ts_repo_open(&repo, d, 1, pool));
  cr_assert_eq(ts_repo_meta(repo)->read_only, 1);
  ts_repo_close(repo);
}

Test(repo, size_grows_with_elements)
{
  const char *d = make_repo("v1", "demo");
  ts_repo_t *repo;
  ts_elements_t *els = open_els(&repo, d);
  waiter_t w = { .n = 2000 };
  apr_off_t before, after;

  ok(ts_repo_size(&before, d, pool));
  ok(run_op(els, make_items, &w, pool));
  ok(ts_repo_size(&after, d, pool));
  cr_assert_gt(after, before + 2000 * 10);
  ts_elements_close(els);
  ts_repo_close(repo);
}

/* 100,000 elements: loaded whole (the figure is for people; the model
 * server's start time is benchmarked by tests/bench). */
Test(repo, a_hundred_thousand_elements_load)
{
  const char *d = make_repo("v1", "demo");
  ts_repo_t *repo;
  ts_elements_t *els = open_els(&repo, d);
  waiter_t w = { .n = 100000 };
  apr_interval_time_t took;

  ok(run_op(els, make_items, &w, pool));
  ts_elements_close(els);
  ts_repo_close(repo);
  ok(ts_repo_open(&repo, d, 0, pool));
  ok(ts_elements_open(&els, repo, &took, NULL, pool));
  cr_assert_eq(ts_elements_count(els), 100000);
  cr_log_info("100000 elements loaded in %ld ms", (long)(took / 1000));
  ts_elements_close(els);
  ts_repo_close(repo);
}
