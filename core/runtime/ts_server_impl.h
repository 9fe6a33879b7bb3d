/* ts_server_impl.h: the server's state, shared by the runtime's two files
 * (ts_server.c, its life; ts_server_sites.c, its HTTP ports); not for
 * roles, which see ts_server_info_t. */
#ifndef TS_SERVER_IMPL_H
#define TS_SERVER_IMPL_H

#include "ts_server.h"
#include "ts_settings.h"

struct ts_server_t {
  ts_server_info_t info;
  void *state;                 /* the role's, from its start hook */
  const char *detail;          /* for the serving line, or NULL */
  ts_settings_t *settings;
  tsp_settings_t *store;
  const char *logfile;
  const char *pidfile;
  apr_time_t started;          /* for /health's uptime */
  ts_httpd_budget_t *budget;   /* the connections every HTTP port of the
                                  server shares */
  long running;                /* --check: the pid of this server running
                                  now (its ports are its own), or 0 */
  apr_pool_t *pool;            /* the process's; main thread only */
};

#endif
