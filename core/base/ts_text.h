/* ts_text.h: text that grows in one buffer from a pool.
 *
 * The buffer doubles when it is full, so text assembled from many pieces
 * (a /metrics answer, an HTTP body arriving in chunks) costs a few
 * allocations from the pool rather than one per piece. The text is always
 * NUL-terminated; it is "" until the first append.
 */
#ifndef TS_TEXT_H
#define TS_TEXT_H

#include <apr_pools.h>
#include "ts_error.h"

typedef struct ts_text_t {
  char *data;        /* the text, NUL-terminated */
  apr_size_t len;    /* its length */
  apr_size_t cap;    /* the buffer's size (0: none yet) */
  apr_pool_t *pool;  /* where the buffer comes from */
} ts_text_t;

/* An empty text whose buffer comes from POOL. */
void ts_text_init(ts_text_t *text, apr_pool_t *pool);

/* Append N bytes of S. */
void ts_text_append(ts_text_t *text, const char *s, apr_size_t n);

/* *HEX: BYTES random bytes (the system's generator) in lower-case hex, in
 * POOL: unguessable ids, names no other process picks. When the system
 * has no randomness to give, *HEX is all zeros and the error says why
 * (the caller says what the bytes were for). */
ts_error_t *ts_random_hex(const char **hex, apr_size_t bytes,
                          apr_pool_t *pool);

#endif /* TS_TEXT_H */
