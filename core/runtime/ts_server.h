/* ts_server.h: one running Tessera server (`tesserad <role>`): its
 * settings, log, port and HTTP listener, with the start/reload/stop steps
 * that the platform's service runtime (tsp_service_run) drives.
 *
 * Roles so far: "license" (the license server on port p, with its hub on
 * p+2 and, outside the service manager, its bus on p+1 as a child;
 * `--project ##.#` runs a project license server on its own port p') and
 * "bus" (the bus broker on p+1 as a service of its own). PROJECT is NULL
 * for the main license server.
 */
#ifndef TS_SERVER_H
#define TS_SERVER_H

#include "ts_error.h"
#include "ts_log.h"
#include "tsp.h"

typedef struct ts_server_t ts_server_t;

/* The roles tesserad knows, NULL-terminated, and whether ROLE is
 * available in this build. */
extern const char *const ts_server_roles[];
int ts_server_role_available(const char *role);

/* Resolve the settings for ROLE and open its log (to stderr as well when
 * TO_STDERR). Invalid settings are a TS_ECONFIG error naming each. AS_SERVICE
 * says the server runs under the Windows service manager, where a project
 * directory on a network drive refuses the start (SPEC §4). */
ts_error_t *ts_server_create(ts_server_t **server, const char *role,
                             const char *project, tsp_settings_t *store,
                             int to_stderr, int as_service,
                             apr_pool_t *pool);

/* The configuration file read (INOLIC/tessera.xml), or NULL when there is
 * none and the defaults apply. */
const char *ts_server_config_path(const ts_server_t *server);

/* Paths: the log file and the pid file (INOLIC/logs/<role>.<port>/...). */
const char *ts_server_pidfile(const ts_server_t *server);
ts_log_t *ts_server_log(const ts_server_t *server);
int ts_server_port(const ts_server_t *server);

/* The hooks for tsp_service_run(), with SERVER as their baton. */
void ts_server_hooks(tsp_service_hooks_t *hooks, ts_server_t *server);

#endif
