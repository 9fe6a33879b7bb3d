/* ts_elements.h: the elements of an open repository, as the model server
 * serves them: every element in memory (read by any thread, never from
 * the file), and one writer thread that makes changes durable before
 * anyone sees them.
 *
 * An element has an id (assigned here: 1, 2, ... never used twice in a
 * repository), a type, a name, a parent (an element's id, or 0: none),
 * properties (a JSON object, kept as its compact text) and a revision
 * (1 when made, +1 per change). Memory holds them in an array sorted by
 * id, so a lookup is a binary search and a page of a listing a walk from
 * its cursor.
 *
 * Changes: the caller queues operations (ts_elements_submit); the writer
 * takes every operation waiting as one batch and runs each one's APPLY in
 * queue order. APPLY looks at the elements as the batch has left them so
 * far (ts_elements_find) and changes them (create, update, delete); the
 * changes go to the file at once and to an overlay of the batch, not yet
 * to what readers see. Then the batch commits (one fsync for all of its
 * operations: why writes scale with clients), the overlay becomes what
 * readers see, and each operation's DONE runs. A failed commit undoes the
 * whole batch: the operations that changed something get the error.
 *
 * So a change is on disk before its DONE, a reader never sees what the
 * disk does not have, and the order of changes is the queue's.
 */
#ifndef TS_ELEMENTS_H
#define TS_ELEMENTS_H

#include <apr_tables.h>
#include "ts_log.h"
#include "ts_repo.h"

typedef struct ts_element_t {
  apr_int64_t id;
  const char *type;
  const char *name;
  apr_int64_t parent;           /* 0: none */
  const char *properties;       /* a JSON object, compact text */
  apr_int64_t revision;
  long children;                /* elements whose parent it is */
} ts_element_t;

typedef struct ts_elements_t ts_elements_t;
typedef struct ts_elements_batch_t ts_elements_batch_t;
typedef struct ts_elements_op_t ts_elements_op_t;

struct ts_elements_op_t {
  /* On the writer thread, in queue order: check and change through the
   * functions below with B. */
  void (*apply)(ts_elements_op_t *op, ts_elements_batch_t *b);
  /* On the writer thread, after the batch committed (or failed: ERR). */
  void (*done)(ts_elements_op_t *op);
  void *baton;
  ts_error_t *err;              /* the batch's commit failed (only for an
                                   operation that changed something);
                                   DONE's to clear */
  int changed;                  /* it changed something (set here) */
  ts_elements_op_t *next;       /* the queue's */
};

/* Read every element of REPO into memory and start the writer; LOG gets
 * what the writer cannot tell an operation (a failed rollback). *LOADED:
 * how long the reading took. REPO must outlive the store. */
ts_error_t *ts_elements_open(ts_elements_t **els, ts_repo_t *repo,
                             apr_interval_time_t *loaded, ts_log_t *log,
                             apr_pool_t *pool);

/* Run what was queued, stop the writer and free the elements. */
void ts_elements_close(ts_elements_t *els);

/* ---- reading (any thread) ------------------------------------------------ */

/* Element ID into *E (strings in POOL); 0 when there is none. */
int ts_elements_get(ts_element_t *e, ts_elements_t *els, apr_int64_t id,
                    apr_pool_t *pool);

typedef struct ts_elements_filter_t {
  const char *type;             /* NULL: any */
  const char *name;             /* NULL: any */
  int by_parent;                /* only children of PARENT (0: roots) */
  apr_int64_t parent;
} ts_elements_filter_t;

/* Up to LIMIT elements matching FILTER with ids above AFTER, by id, as
 * ts_element_t in POOL; *NEXT the AFTER of the next page, or 0 when this
 * one holds the last match. */
apr_array_header_t *ts_elements_list(apr_int64_t *next, ts_elements_t *els,
                                     const ts_elements_filter_t *filter,
                                     apr_int64_t after, int limit,
                                     apr_pool_t *pool);

/* How many elements there are (committed). */
long ts_elements_count(ts_elements_t *els);

/* ---- changing ------------------------------------------------------------ */

/* Queue OP. After ts_elements_close() began, OP fails at once (ERR set,
 * DONE called on this thread). */
void ts_elements_submit(ts_elements_t *els, ts_elements_op_t *op);

/* Within APPLY: element ID as the batch has left it, or NULL (none, or
 * deleted). Valid until the next change in the batch. */
const ts_element_t *ts_elements_find(ts_elements_batch_t *b,
                                     apr_int64_t id);

/* Within APPLY: make an element (PARENT, unless 0, must exist;
 * PROPERTIES a JSON object's text); *MADE gets it (strings in POOL).
 * Each change below marks APPLY's operation as changing; 0 when the
 * file could not be written: then the whole batch fails and DONE sees
 * the error (later changes in the batch fail at once). */
int ts_elements_create(ts_element_t *made, ts_elements_batch_t *b,
                       const char *type, const char *name,
                       apr_int64_t parent, const char *properties,
                       apr_pool_t *pool);

/* Within APPLY: give element ID (which exists) these TYPE, NAME, PARENT
 * (no cycle: the caller checked) and PROPERTIES, its revision + 1;
 * *MADE gets it. */
int ts_elements_update(ts_element_t *made, ts_elements_batch_t *b,
                       apr_int64_t id, const char *type, const char *name,
                       apr_int64_t parent, const char *properties,
                       apr_pool_t *pool);

/* Within APPLY: remove element ID (which exists and has no children). */
int ts_elements_delete(ts_elements_batch_t *b, apr_int64_t id);

/* Batches and operations committed so far, and those that failed. */
void ts_elements_stats(apr_uint64_t *commits, apr_uint64_t *ops,
                       apr_uint64_t *failed, ts_elements_t *els);

#endif
