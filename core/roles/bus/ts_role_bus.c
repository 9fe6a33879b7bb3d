/* ts_role_bus.c: the bus role (see ts_role_bus.h). The broker, its
 * generated configuration and its supervision are core/bus's; the
 * runtime starts it as tessera.xml says, on this server's port (p+1, the
 * role's offset). */
#include "ts_role_bus.h"

#include "ts_credential.h"
#include "ts_server.h"

typedef struct bus_role_t {
  ts_bus_broker_t *broker;
} bus_role_t;

static ts_error_t *
start(void **state, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  bus_role_t *br = apr_pcalloc(pool, sizeof(*br));
  ts_bus_login_t *login = apr_pcalloc(pool, sizeof(*login));
  ts_credential_t *cred;

  *state = br;
  /* the servers' bus password comes from the server credential, created
   * on first use (the license server does the same: one file) */
  TS_ERR_W(ts_credential_open(&cred, info->inodir, info->log, pool), "the "
           "bus lets only Tessera's servers publish, with a password derived "
           "from the server credential");
  login->username = TS_BUS_SERVER_USER;
  login->password = ts_credential_derive(cred, "bus", pool);
  return ts_server_start_broker(&br->broker, server, info->port, login,
                                pool);
}

/* ts_role_t.check: what start() above takes: the server credential, the
 * broker and its port. */
static ts_error_t *
check(ts_server_plan_t *plan, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  const char *credential;

  TS_ERR_W(ts_credential_check(&credential, info->inodir, pool), "the "
           "bus lets only Tessera's servers publish, with a password derived "
           "from the server credential");
  ts_server_plan_add(plan, "server credential: %s", credential);
  return ts_server_check_broker(plan, server, info->port, pool);
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
  .name = "bus",
  .summary = "the bus (mosquitto) on p+1 as a service of its own",
  .port_offset = 1,
  .start = start,
  .reload = reload,
  .stop = stop,
  .check = check
};
