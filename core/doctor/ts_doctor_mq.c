/* ts_doctor_mq.c: the message-queue checks (seed 004): the kernel's queue
 * limit, how many are in use, and queues left behind by processes that
 * died, which --fix removes when they belong to Tessera's account. */
#include "ts_doctor.h"

#include <string.h>
#include <apr_strings.h>

#include "tsp.h"

#define MSGMNI_MIN 256

void
ts_doctor_check_msgqueues(ts_doctor_t *doc, const char *account)
{
  apr_array_header_t *queues;
  long msgmni;
  int stale = 0;
  ts_error_t *err = tsp_msgqueues(&queues, &msgmni, doc->pool);

  if (err) {
    ts_doctor_add(doc, TS_SEV_WARNING, "message-queues", "/proc/sysvipc/msg",
                  NULL, "%s", ts_error_text(err, doc->pool));
    ts_error_clear(err);
    return;
  }
  if (!queues)
    return;            /* no System V queues on this system */
  if (msgmni >= 0 && msgmni < MSGMNI_MIN)
    ts_doctor_add(doc, TS_SEV_ERROR, "message-queues",
                  apr_psprintf(doc->pool, "kernel.msgmni = %ld", msgmni),
                  apr_psprintf(doc->pool, "echo 'kernel.msgmni = %d' > "
                               "/etc/sysctl.d/60-tessera.conf && sysctl "
                               "--system", MSGMNI_MIN),
                  "kernel.msgmni is %ld; Tessera's servers need at least %d "
                  "message queues", msgmni, MSGMNI_MIN);
  ts_doctor_add(doc, TS_SEV_INFO, "message-queues",
                apr_psprintf(doc->pool, "%d of %ld", queues->nelts, msgmni),
                NULL, "%d message queue%s in use of at most %ld",
                queues->nelts, queues->nelts == 1 ? "" : "s", msgmni);
  for (int i = 0; i < queues->nelts; i++) {
    tsp_msgqueue_t *q = &APR_ARRAY_IDX(queues, i, tsp_msgqueue_t);
    int ours = account && strcmp(q->owner, account) == 0;
    const char *subject = apr_psprintf(doc->pool, "queue id %ld key 0x%08lx",
                                       q->id, (unsigned long)q->key);
    if (!q->stale)
      continue;
    stale++;
    if (doc->fix && ours) {
      err = tsp_msgqueue_remove(q->id);
      if (err) {
        ts_doctor_add(doc, TS_SEV_ERROR, "message-queues", subject, NULL,
                      "%s", ts_error_text(err, doc->pool));
        ts_error_clear(err);
      }
      else
        ts_doctor_add(doc, TS_SEV_INFO, "message-queues", subject, NULL,
                      "fixed: removed the stale queue (owner %s, %ld "
                      "message%s)", q->owner, q->messages,
                      q->messages == 1 ? "" : "s");
      continue;
    }
    ts_doctor_add(doc, TS_SEV_WARNING, "message-queues", subject,
                  ours ? "tessera-admin doctor --fix"
                       : apr_psprintf(doc->pool, "ipcrm -q %ld (it belongs "
                                      "to %s, not to Tessera: check first)",
                                      q->id, q->owner),
                  "stale message queue: owner %s, %ld message%s, its last "
                  "sender (pid %ld) and receiver (pid %ld) are gone",
                  q->owner, q->messages, q->messages == 1 ? "" : "s",
                  q->last_sender, q->last_receiver);
  }
  (void)stale;
}
