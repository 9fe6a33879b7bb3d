/* ts_role_bus.c: the bus role (see ts_role_bus.h). The broker, its
 * generated configuration and its supervision are core/bus's; the
 * runtime starts it as tessera.xml says, on this server's port (p+1, the
 * role's offset). */
#include "ts_role_bus.h"

#include "ts_server.h"

typedef struct bus_role_t {
  ts_bus_broker_t *broker;
} bus_role_t;

static ts_error_t *
start(void **state, ts_server_t *server, apr_pool_t *pool)
{
  bus_role_t *br = apr_pcalloc(pool, sizeof(*br));

  *state = br;
  return ts_server_start_broker(&br->broker, server,
                                ts_server_info(server)->port, pool);
}

/* mosquitto reopens its log (log rotation). */
static ts_error_t *
reload(void *state, ts_server_t *server)
{
  bus_role_t *br = state;

  (void)server;
  ts_bus_broker_reopen(br->broker);
  return NULL;
}

static void
stop(void *state, ts_server_t *server)
{
  bus_role_t *br = state;

  (void)server;
  ts_bus_broker_quiesce(br->broker);
  ts_bus_broker_stop(br->broker);
  br->broker = NULL;
}

const ts_role_t ts_role_bus = {
  "bus",
  "the bus (mosquitto) on p+1 as a service of its own",
  1,
  start,
  reload,
  stop
};
