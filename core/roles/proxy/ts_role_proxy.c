/* ts_role_proxy.c: the proxy role, `tesserad proxy` (SPEC §1, seed 004):
 * one per machine on p+5, through which clients reach every model server
 * of the machine, so a firewall passes one port per machine instead of a
 * range. A client asks `CONNECT <model, link or repository>:<port>` and
 * gets a tunnel to the model server (ts_proxy_claim.c,
 * ts_proxy_tunnel.c); the proxy learns the model servers from the
 * license server and the bus, never from a file (ts_proxy_names.c).
 *
 * Its files: the log and pid file in INOPRJ/ivm/logs/proxy.<host>.<port>/
 * when INOPRJ is set (a model-server machine need not have INOLIC's
 * logs), else INOLIC/logs/proxy.<port>/. It runs on the event-loop
 * listener (ts_uvhttp.h): one thread for every tunnel.
 *
 * Up: the server credential, the port (with /health and /metrics), the
 * bus, the registration with the license server as the proxy of its
 * host (POST /v1/proxies every heartbeat, so the brokering answer
 * GET /v1/models/<name> says "via": "proxy"). Down: the registration
 * withdrawn, the bus, the port (every tunnel closed).
 */
#include "ts_role_proxy.h"

#include <string.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_proxy.h"
#include "tsp.h"

/* Descriptors the process keeps for itself beside its connections (its
 * log, the bus, the thread pool's HTTP clients): as the runtime's
 * budget. */
#define RESERVED_FDS 128
#define UNLIMITED_ROOM 10000

/* ts_role_t.place: INOPRJ/ivm/logs/proxy.<host>.<port>/ when INOPRJ is
 * set. */
static ts_error_t *
place(ts_server_info_t *info, const char **logfile, const char **pidfile,
      apr_pool_t *pool)
{
  const char *dir;

  if (!info->inoprj)
    return NULL;
  dir = ts_path_join(info->inoprj, apr_psprintf(pool, "ivm/logs/proxy.%s.%d",
                                                ts_server_machine(info, pool),
                                                info->port), pool);
  info->logdir = dir;
  *logfile = ts_path_join(dir, "proxy.log", pool);
  *pidfile = ts_path_join(dir, "proxy.pid", pool);
  return NULL;
}

static ts_error_t *
load_credential(ts_credential_t **cred, const ts_server_info_t *info,
                apr_pool_t *pool)
{
  TS_ERR_W(ts_credential_load(cred, ts_credential_path(info->inodir, pool),
                              pool),
           "the proxy registers with its license server and listens on the "
           "bus with the server credential of the license server's "
           "installation: copy its INODIR/server.key to this machine's "
           "INODIR");
  return NULL;
}

/* ts_role_t.check: the credential, the port. */
static ts_error_t *
check(ts_server_plan_t *plan, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  ts_credential_t *cred;

  TS_ERR(load_credential(&cred, info, pool));
  ts_server_plan_add(plan, "server credential: %s",
                     ts_credential_file(cred));
  ts_server_plan_add(plan, "proxy of %s, registered with the license server "
                     "%s port %d", ts_server_machine(info, pool), info->host,
                     info->main_port);
  return ts_server_check_port(server, "proxy", info->port, pool);
}

/* Where the model servers of this machine listen, as an IP address: the
 * first listen address of tessera.xml (loopback for a wildcard), or
 * 127.0.0.1. */
static ts_error_t *
local_address(ts_proxy_t *p, apr_pool_t *pool)
{
  const apr_array_header_t *listen = p->info->config->listen;
  const char *first = listen->nelts ? APR_ARRAY_IDX(listen, 0, const char *)
                                    : "127.0.0.1";
  apr_sockaddr_t *sa;
  char *ip;
  apr_status_t s = apr_sockaddr_info_get(&sa, first, APR_UNSPEC, 0, 0, pool);

  if (s)
    return ts_error_aprf(s, "the listen address %s of tessera.xml does not "
                         "resolve: the proxy reaches this machine's model "
                         "servers there", first);
  apr_sockaddr_ip_get(&ip, sa);
  if (strcmp(ip, "0.0.0.0") == 0)
    ip = "127.0.0.1";
  else if (strcmp(ip, "::") == 0)
    ip = "::1";
  p->local = ip;
  return NULL;
}

/* How many descriptors connections may take: the open-files limit (the
 * runtime raised it) less a reserve. */
static void
budget(ts_proxy_t *p)
{
  long soft = 1024, hard = 1024;
  ts_error_t *err = tsp_fd_limit_raise(&soft, &hard, -1);

  ts_error_clear(err);
  p->room = soft < 0 ? UNLIMITED_ROOM : soft - RESERVED_FDS;
  if (p->room < 4)
    p->room = 4;
  ts_log(p->log, TS_LOG_INFO, "room for %ld tunnels (%ld descriptors for "
         "connections, two per tunnel); idle tunnels close after %ld s",
         p->room / 2, p->room, (long)apr_time_sec(p->idle));
}

static void
metrics(ts_prom_t *prom, void *baton, apr_pool_t *pool)
{
  ts_proxy_t *p = baton;

  (void)pool;
  ts_prom_family(prom, "tessera_proxy_tunnels_open", "gauge",
                 "Tunnels open now.");
  ts_prom_int(prom, "tessera_proxy_tunnels_open", NULL,
              (apr_int64_t)TS_PROXY_GET(p, open));
  ts_prom_family(prom, "tessera_proxy_tunnels_total", "counter",
                 "Tunnels opened since the start.");
  ts_prom_int(prom, "tessera_proxy_tunnels_total", NULL,
              (apr_int64_t)TS_PROXY_GET(p, total));
  ts_prom_family(prom, "tessera_proxy_bytes_total", "counter",
                 "Bytes through the tunnels: up from clients to model "
                 "servers, down back.");
  ts_prom_int(prom, "tessera_proxy_bytes_total", (const char *[]){
              "direction", "up", NULL }, (apr_int64_t)TS_PROXY_GET(p,
                                                                   bytes_up));
  ts_prom_int(prom, "tessera_proxy_bytes_total", (const char *[]){
              "direction", "down", NULL },
              (apr_int64_t)TS_PROXY_GET(p, bytes_down));
  ts_prom_family(prom, "tessera_proxy_refusals_total", "counter",
                 "Requests the proxy refused, by reason.");
  for (int i = 0; i < TS_PROXY_REFUSED_REASONS; i++)
    ts_prom_int(prom, "tessera_proxy_refusals_total", (const char *[]){
                "reason", ts_proxy_refusal_labels[i], NULL },
                (apr_int64_t)TS_PROXY_GET(p, refused[i]));
  ts_prom_family(prom, "tessera_proxy_idle_closed_total", "counter",
                 "Tunnels closed for silence (<proxy idle-seconds>).");
  ts_prom_int(prom, "tessera_proxy_idle_closed_total", NULL,
              (apr_int64_t)TS_PROXY_GET(p, idle_closed));
  ts_prom_family(prom, "tessera_proxy_model_servers", "gauge",
                 "Model servers of this machine the proxy knows.");
  ts_prom_int(prom, "tessera_proxy_model_servers", NULL,
              (apr_int64_t)TS_PROXY_GET(p, local_servers));
}

/* ts_uvhttp_hooks_t.started: the timers. */
static void
started(void *baton, ts_uvhttp_t *uvhttp)
{
  ts_proxy_t *p = baton;

  p->uvhttp = uvhttp;
  p->loop = ts_uvhttp_loop(uvhttp);
  ts_proxy_names_start(p);
}

/* ts_uvhttp_hooks_t.stopping: the timers, the requests that waited. */
static void
stopping(void *baton, ts_uvhttp_t *uvhttp)
{
  ts_proxy_t *p = baton;

  (void)uvhttp;
  p->stopping = 1;
  ts_proxy_claim_retry(p, p->sync_gen);
  ts_proxy_names_free(p);
}

/* A model server or a version changed: learn it (bus thread). */
static void
heard(void *baton, ts_bus_t *bus, const char *topic, const char *payload,
      int retained)
{
  (void)bus;
  (void)topic;
  (void)payload;
  (void)retained;
  ts_proxy_names_poke(baton);
}

static ts_error_t *
open_bus(ts_proxy_t *p, apr_pool_t *pool)
{
  ts_bus_login_t *login = apr_pcalloc(pool, sizeof(*login));
  const char *topic = apr_psprintf(pool, "proxies/%s", p->machine);

  login->username = TS_BUS_SERVER_USER;
  login->password = ts_credential_derive(p->cred, "bus", pool);
  TS_ERR(ts_bus_open(&p->bus, p->info->host, p->info->main_port + 1,
                     apr_psprintf(pool, "tessera-proxy-%s-%d", p->machine,
                                  p->port), login, topic,
                     "{\"state\":\"down\",\"reason\":\"the proxy's bus "
                     "connection broke\"}", NULL, NULL, NULL, p->log, pool));
  ts_bus_subscribe(p->bus, "model-servers/#", heard, p);
  ts_bus_subscribe(p->bus, "versions/#", heard, p);
  ts_bus_publish(p->bus, topic, apr_psprintf(pool, "{\"state\":\"up\","
                 "\"host\":\"%s\",\"port\":%d}", p->machine, p->port), 1);
  return NULL;
}

static ts_error_t *
start(void **state, ts_server_t *server, apr_pool_t *pool)
{
  const ts_server_info_t *info = ts_server_info(server);
  ts_proxy_t *p = apr_pcalloc(pool, sizeof(*p));
  ts_server_site_t site = { "proxy", "proxy", info->port, NULL, NULL, 0,
                            metrics, p };
  ts_uvhttp_hooks_t hooks = { ts_proxy_claim, started, stopping, p };

  *state = p;
  p->info = info;
  p->server = server;
  p->log = info->log;
  p->pool = pool;
  p->machine = ts_server_machine(info, pool);
  p->port = info->port;
  p->idle = apr_time_from_sec(info->config->proxy_idle_seconds);
  p->registered = -1;
  p->by_stream = apr_hash_make(pool);
  apr_pool_create(&p->scratch, pool);
  TS_ERR(load_credential(&p->cred, info, pool));
  TS_ERR(local_address(p, pool));
  budget(p);
  ts_proxy_tunnel_init(p);
  TS_ERR(ts_server_listen_loop(&p->uvhttp, server, &site, &hooks, pool));
  TS_ERR(open_bus(p, pool));
  ts_server_set_detail(server, apr_psprintf(pool, "proxy of %s to its "
                                            "model servers on %s", p->machine,
                                            p->local));
  return NULL;
}

/* DELETE /v1/proxies/<host>: clients are no longer sent here. */
static void
unregister(ts_proxy_t *p)
{
  apr_pool_t *pool;
  const char *answer;
  int status = 0;
  ts_error_t *err;

  apr_pool_create(&pool, NULL);
  err = ts_http_call(&status, &answer, p->info->host, p->info->main_port,
                     "DELETE", apr_psprintf(pool, "/v1/proxies/%s",
                                            p->machine), NULL,
                     ts_credential_header(p->cred, pool),
                     apr_time_from_sec(3), pool);
  if (err || status / 100 != 2)
    ts_log(p->log, TS_LOG_WARNING, "cannot withdraw the registration as the "
           "proxy of %s from the license server %s port %d: %s", p->machine,
           p->info->host, p->info->main_port, err ? ts_error_text(err, pool)
           : apr_psprintf(pool, "HTTP %d: %s", status,
                          ts_log_quote(answer, 300, pool)));
  ts_error_clear(err);
  apr_pool_destroy(pool);
}

static void
stop(void *state, ts_server_t *server)
{
  ts_proxy_t *p = state;

  (void)server;
  if (!p || !p->info)
    return;
  if (p->cred && p->uvhttp)
    unregister(p);
  if (p->bus)
    ts_bus_close(p->bus, "{\"state\":\"stopped\"}");
  p->bus = NULL;
  if (p->uvhttp)
    ts_uvhttp_stop(p->uvhttp);
  p->uvhttp = NULL;
}

const ts_role_t ts_role_proxy = {
  .name = "proxy",
  .summary = "the proxy on p+5, one per machine: clients reach every model\n"
             "server of the machine through it (CONNECT <model>:<port>)",
  .port_offset = 5,
  .start = start,
  .stop = stop,
  .check = check,
  .place = place
};
