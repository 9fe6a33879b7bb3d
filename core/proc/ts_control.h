/* ts_control.h: the local control channel between an agent and the model
 * servers it runs on this machine (SPEC §6; issue 13).
 *
 * The agent creates one channel at its start and removes it at a clean
 * stop; it gives the channel's name to each model server it starts, in
 * the environment variable TESSERA_CONTROL. A model server serves the
 * channel on a thread of its own, answering the requests addressed to
 * its pid: "stop" (reply "stopping", then a clean stop), "status" (JSON),
 * "reload" (reopen srv.log, reply "reloaded"). Requests and replies are
 * short texts, at most TS_CONTROL_MAX bytes each.
 *
 * Linux: a System V message queue (what the vendor's system uses, and
 * what `tessera-admin doctor` watches: a queue an agent killed with -9
 * left behind is listed as stale and `--fix` removes it). Windows: a
 * named pipe per model server. The mechanism is the platform's
 * (tsp_ctl_*, platform/tsp.h).
 *
 * Errors name the channel, the pid and why; ownership: a channel lives in
 * the pool it was made in, and a pool cleanup removes (agent) or stops
 * (model server) it if the owner did not.
 */
#ifndef TS_CONTROL_H
#define TS_CONTROL_H

#include <apr_pools.h>
#include <apr_time.h>
#include "ts_error.h"
#include "ts_log.h"

#define TS_CONTROL_MAX 4096
#define TS_CONTROL_ENV "TESSERA_CONTROL"

typedef struct ts_control_t ts_control_t;

/* Agent: create the channel, in POOL. Linux: a new queue (IPC_PRIVATE,
 * 0600, given to the account model servers run as when this process is
 * root), touched so its last sender and receiver are this process. Too
 * few queues (ENOSPC: kernel.msgmni) is TS_EUNAVAIL quoting the vendor's
 * message ("Erstellen der Nachrichtenwarteschlange nicht möglich") with
 * the doctor's fix. */
ts_error_t *ts_control_create(ts_control_t **ctl, apr_pool_t *pool);

/* The channel's name, for TESSERA_CONTROL. */
const char *ts_control_name(const ts_control_t *ctl);

/* Agent: send REQUEST to the model server PID and wait up to TIMEOUT for
 * its reply (*REPLY in POOL). Safe from several threads at once: each
 * reply reaches the thread that asked. No answer in time: TS_EUNAVAIL
 * naming PID; a request longer than TS_CONTROL_MAX: TS_EINVAL. */
ts_error_t *ts_control_request(const char **reply, ts_control_t *ctl,
                               long pid, const char *request,
                               apr_interval_time_t timeout, apr_pool_t *pool);

/* Agent, at a clean stop: remove the channel (no request may be under
 * way). An error (the queue could not be removed) says how to remove it;
 * the channel is unusable either way. */
ts_error_t *ts_control_destroy(ts_control_t *ctl);

/* Model server: HANDLER's return, in POOL (cleared after each request),
 * is the reply to REQUEST; NULL means the request is not understood (the
 * reply then says so). Runs on the serving thread; it must not call
 * ts_control_stop(). */
typedef const char *(*ts_control_handler_t)(void *baton, const char *request,
                                            apr_pool_t *pool);

/* Model server: serve the requests addressed to this process on the
 * channel NAME (TESSERA_CONTROL) on a thread of its own until
 * ts_control_stop(). Errors of a single request are logged to LOG. */
ts_error_t *ts_control_serve(ts_control_t **ctl, const char *name,
                             ts_control_handler_t handler, void *baton,
                             ts_log_t *log, apr_pool_t *pool);

/* Model server: end the serving thread (at once, also while it waits)
 * and close the channel. Safe to call twice. */
void ts_control_stop(ts_control_t *ctl);

#endif
