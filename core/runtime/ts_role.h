/* ts_role.h: what a role of tesserad (the license server, the bus, later
 * the agent, the proxy, ...) is to the runtime.
 *
 * The runtime (ts_server.h) does what every role needs the same way:
 * settings, tessera.xml, the log and the pid file under INOLIC/logs/
 * <role>.<port>/, the open-files budget, the check that INOPRJ and INOLIC
 * are local, /health and /metrics on each HTTP port the role serves, and
 * the start/reload/stop steps the platform's service runtime drives. A
 * role brings the rest through this table; it lives in core/roles/<name>/
 * and the program that runs it (server/main.c) names the roles it links.
 * The runtime never includes a role, so a role is added without touching
 * it.
 *
 * The hooks run on the service runtime's main thread, one at a time:
 * CHECK and START once, then RELOAD any number of times, then STOP once
 * (`tesserad --check`: CHECK alone).
 */
#ifndef TS_ROLE_H
#define TS_ROLE_H

#include <apr_pools.h>
#include "ts_error.h"

typedef struct ts_server_t ts_server_t;
typedef struct ts_server_plan_t ts_server_plan_t;
typedef struct ts_server_info_t ts_server_info_t;

typedef struct ts_role_t {
  const char *name;           /* "license": the command line's word, the
                                 log directory's and the service's name */
  const char *summary;        /* for `tesserad --help`; lines after the
                                 first are indented by the program */
  int port_offset;            /* its port from p (or p' with --project):
                                 license 0, bus 1 */

  /* Bring the role up on SERVER (ts_server_info() says where) and return
   * once it serves. *STATE is the role's, allocated from POOL (the
   * server's, which lives as long as the process); set it before the
   * first step that can fail: when START fails the runtime calls STOP
   * with it to undo what was done. */
  ts_error_t *(*start)(void **state, ts_server_t *server, apr_pool_t *pool);

  /* Reopen the role's own log files and re-read what it re-reads on HUP
   * (PARAMCHANGE on Windows). An error keeps the role running as it was.
   * NULL: nothing to do. */
  ts_error_t *(*reload)(void *state, ts_server_t *server);

  /* Stop serving and release everything START took; STATE may be half
   * started. */
  void (*stop)(void *state, ts_server_t *server);

  /* Every check START makes before it takes anything, in START's order,
   * taking and changing nothing: what it reads valid, the programs it
   * runs installed, its ports free (ts_server_check_port,
   * ts_server_check_broker). Returns the error START would fail with;
   * says on PLAN what START would do (ts_server_plan_add) and what it
   * would run without (PLAN->degraded). The runtime runs it at the
   * beginning of every start and alone for `tesserad --check`
   * (ts_server_check), so the two cannot disagree. NULL: nothing beyond
   * the runtime's checks. */
  ts_error_t *(*check)(ts_server_plan_t *plan, ts_server_t *server,
                       apr_pool_t *pool);

  /* The role's operand on the command line, as the usage names it
   * ("REPOSITORY": `tesserad model REPOSITORY`), given to the role as
   * INFO->operand; NULL: the role takes none. */
  const char *operand;

  /* Where the role keeps its log and pid file and which port it takes,
   * when not INOLIC/logs/<role>.<port>/<role>.{log,pid} on p plus
   * PORT_OFFSET (the license server's machine). Called by
   * ts_server_create() once the settings and tessera.xml are read
   * (INFO->port is p + PORT_OFFSET then), before the log opens: it may
   * set INFO->port (0: the role chooses it as it starts, and calls
   * ts_server_set_port), INFO->logdir, *LOGFILE and *PIDFILE (the
   * defaults on entry). A role with PLACE does not write in INOLIC, so
   * INOLIC need not exist on its machine (only tessera.xml is read from
   * there). NULL: the defaults. */
  ts_error_t *(*place)(ts_server_info_t *info, const char **logfile,
                       const char **pidfile, apr_pool_t *pool);
} ts_role_t;

#endif
