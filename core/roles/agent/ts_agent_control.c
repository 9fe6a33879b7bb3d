/* ts_agent_control.c: the agent's end of the control channel to its model
 * servers (ts_control.h: a System V message queue on Linux, named pipes on
 * Windows), created at the start and removed at a clean stop; its name
 * reaches each model server in TESSERA_CONTROL. */
#include "ts_agent.h"

#include "ts_control.h"

/* How long a model server has to answer. */
#define ANSWER_WAIT apr_time_from_sec(5)

ts_error_t *
ts_agent_control_open(ts_agent_t *a, apr_pool_t *pool)
{
  ts_control_t *ctl;

  TS_ERR_W(ts_control_create(&ctl, pool), "the agent talks to its model "
           "servers over a control channel");
  a->control_ctl = ctl;
  a->control = ts_control_name(ctl);
  ts_log(a->log, TS_LOG_INFO, "control channel to the model servers: %s",
         a->control);
  return NULL;
}

void
ts_agent_control_close(ts_agent_t *a)
{
  ts_error_t *err;

  if (!a->control_ctl)
    return;
  err = ts_control_destroy(a->control_ctl);
  if (err) {
    ts_log_error(a->log, TS_LOG_WARNING, err, "removing the control "
                 "channel");
    ts_error_clear(err);
  }
  a->control_ctl = NULL;
}

ts_error_t *
ts_agent_ask(const char **reply, ts_agent_t *a, long pid, const char *request,
             apr_pool_t *pool)
{
  const char *ignored;

  if (!a->control_ctl)
    return ts_error_createf(TS_EUNAVAIL, "no control channel");
  return ts_control_request(reply ? reply : &ignored, a->control_ctl, pid,
                            request, ANSWER_WAIT, pool);
}
