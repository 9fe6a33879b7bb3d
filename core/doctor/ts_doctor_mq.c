/* ts_doctor_mq.c: the message-queue checks (seed 004): the kernel's queue
 * limit, how many are in use, and queues left behind by processes that
 * died, which --fix removes when they belong to Tessera's account. */
#include "ts_doctor.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_i18n.h"
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
    ts_doctor_add_error(doc, TS_SEV_WARNING, "message-queues",
                        "/proc/sysvipc/msg", NULL, err);
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
                NULL, queues->nelts == 1
                      ? N_("%d message queue in use of at most %ld")
                      : N_("%d message queues in use of at most %ld"),
                queues->nelts, msgmni);
  for (int i = 0; i < queues->nelts; i++) {
    tsp_msgqueue_t *q = &APR_ARRAY_IDX(queues, i, tsp_msgqueue_t);
    int ours = account && strcmp(q->owner, account) == 0;
    const char *subject = apr_psprintf(doc->pool, "queue id %ld key 0x%08lx",
                                       q->id, (unsigned long)q->key);
    ts_finding_t *f;

    if (!q->stale)
      continue;
    stale++;
    if (doc->fix && ours) {
      err = tsp_msgqueue_remove(q->id);
      if (err) {
        ts_doctor_add_error(doc, TS_SEV_ERROR, "message-queues", subject,
                            NULL, err);
        ts_error_clear(err);
      }
      else
        ts_doctor_add(doc, TS_SEV_INFO, "message-queues", subject, NULL,
                      q->messages == 1
                      ? N_("fixed: removed the stale queue (owner %s, %ld "
                           "message)")
                      : N_("fixed: removed the stale queue (owner %s, %ld "
                           "messages)"), q->owner, q->messages);
      continue;
    }
    f = ts_doctor_add(doc, TS_SEV_WARNING, "message-queues", subject,
                      ours ? "tessera-admin doctor --fix" : NULL,
                      q->messages == 1
                      ? N_("stale message queue: owner %s, %ld message, its "
                           "last sender (pid %ld) and receiver (pid %ld) are "
                           "gone")
                      : N_("stale message queue: owner %s, %ld messages, its "
                           "last sender (pid %ld) and receiver (pid %ld) are "
                           "gone"),
                      q->owner, q->messages, q->last_sender,
                      q->last_receiver);
    if (!ours)
      ts_doctor_fix(doc, f, N_("ipcrm -q %ld (it belongs to %s, not to "
                               "Tessera: check first)"), q->id, q->owner);
  }
  (void)stale;
}
