/* ts_prom.h: a writer of the Prometheus text exposition format (version
 * 0.0.4), for every server's /metrics.
 *
 * A family (name, type, help) is announced once with ts_prom_family();
 * its samples follow, each with its labels given as name/value pairs. The
 * writer escapes what the format asks to be escaped (in label values the
 * backslash, the double quote and the newline; in help texts the
 * backslash and the newline), so a label value taken from a request or a
 * license (a product name, a route) can never break the text.
 *
 * Samples of one family must follow its ts_prom_family() call, before the
 * next family's: the format wants a family's samples together. A second
 * ts_prom_family() for the same name writes nothing, so two producers of
 * one text (the HTTP server's counters, the license server's gauges) may
 * both announce a family they share.
 */
#ifndef TS_PROM_H
#define TS_PROM_H

#include <apr_pools.h>

typedef struct ts_prom_t ts_prom_t;

/* The content type a /metrics reply carries. */
#define TS_PROM_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* An empty text, allocated in POOL (which it grows in). */
ts_prom_t *ts_prom_create(apr_pool_t *pool);

/* Announce the family NAME of TYPE ("counter", "gauge", "histogram",
 * "summary", "untyped") with HELP: "# HELP" and "# TYPE", the first time
 * only. */
void ts_prom_family(ts_prom_t *prom, const char *name, const char *type,
                    const char *help);

/* One sample of NAME (the family's name, or with a histogram's suffix
 * _bucket, _sum, _count) with LABELS (NULL, or a NULL-terminated list of
 * name, value, name, value, ...; values are escaped, names are written as
 * they are and must be valid label names). */
void ts_prom_int(ts_prom_t *prom, const char *name,
                 const char *const *labels, apr_int64_t value);
void ts_prom_real(ts_prom_t *prom, const char *name,
                  const char *const *labels, double value);

/* The text so far (lives as long as the pool given to ts_prom_create). */
const char *ts_prom_text(const ts_prom_t *prom);

#endif
