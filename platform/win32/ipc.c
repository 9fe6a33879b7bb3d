/* ipc.c (win32): Windows has no System V message queues; who listens on a
 * port is not looked up yet (GetExtendedTcpTable would tell). */
#include "tsp.h"

ts_error_t *
tsp_msgqueues(apr_array_header_t **queues, long *msgmni, apr_pool_t *pool)
{
  (void)pool;
  *queues = NULL;
  *msgmni = -1;
  return NULL;
}

ts_error_t *
tsp_msgqueue_remove(long id)
{
  return ts_error_createf(TS_EUSAGE, "there are no message queues on "
                          "Windows (queue %ld)", id);
}

const char *
tsp_port_owner(int port, apr_pool_t *pool)
{
  (void)port;
  (void)pool;
  return NULL;
}
