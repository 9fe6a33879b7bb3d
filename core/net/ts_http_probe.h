/* ts_http_probe.h: asking many servers "are you there?" at once, from one
 * thread (the registry's prober: GET /health of every model server).
 *
 * Asked one after the other, a server that accepts the connection and
 * never answers holds the whole round for its timeout, and N such servers
 * N times that: the other servers are marked gone late, and a stop waits
 * for the round. Here every probe runs at once (libcurl's multi
 * interface, driven only by the thread that owns the set), each with its
 * own deadline; the owner waits for results no longer than it asks, and
 * any other thread can wake it at once (a stop).
 *
 * Probes go to addresses, never names: a name would be resolved inside
 * the wait (synchronously in the Windows build), so the caller resolves
 * once beforehand (the registry does at registration). Never through a
 * proxy; the answer's body is read and dropped.
 */
#ifndef TS_HTTP_PROBE_H
#define TS_HTTP_PROBE_H

#include <apr_pools.h>
#include <apr_time.h>
#include "ts_error.h"

typedef struct ts_http_probes_t ts_http_probes_t;

/* A probe's result: KEY and TAG as given to ts_http_probes_add, STATUS
 * the answer's HTTP status, or 0 when none came before the deadline (or
 * the connection failed). */
typedef void (*ts_http_probe_done_t)(void *baton, const char *key,
                                     apr_int64_t tag, int status);

/* An empty set. ts_http_client_init() must have run. */
ts_error_t *ts_http_probes_create(ts_http_probes_t **probes);

/* Abandon the probes still running (without results) and free the set. */
void ts_http_probes_destroy(ts_http_probes_t *probes);

/* Start GET http://ADDRESS:PORT PATH (ADDRESS an IPv4 or IPv6 address),
 * answered within TIMEOUT, connection included, or failed. KEY (copied)
 * and TAG come back with the result. */
ts_error_t *ts_http_probes_add(ts_http_probes_t *probes, const char *address,
                               int port, const char *path,
                               apr_interval_time_t timeout, const char *key,
                               apr_int64_t tag);

/* Probes started and not reported yet. */
int ts_http_probes_pending(const ts_http_probes_t *probes);

/* Run the probes for at most WAIT, or until ts_http_probes_wake(),
 * telling DONE (with BATON) of each one that finished. With no probe
 * running it only waits. */
void ts_http_probes_run(ts_http_probes_t *probes, apr_interval_time_t wait,
                        ts_http_probe_done_t done, void *baton);

/* From any thread: the ts_http_probes_run under way, or else the next
 * one, returns at once. */
void ts_http_probes_wake(ts_http_probes_t *probes);

#endif
