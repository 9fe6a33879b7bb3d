/* license_fixture.h: one real license server for a test (Linux), in a
 * directory of its own (mode 0711: as root, the bus broker runs as the
 * service account or nobody, which must reach INOLIC inside). lf_setup():
 * a demo license of 5 seats of "demo", tessera.xml listening on 127.0.0.1
 * with model servers probed every second and gone after 2 s, INODIR for
 * its server credential. lf_setup_with(): the same with what a suite
 * needs otherwise. Shared by the suites that run tesserad license
 * (test_license_auth.c, test_check.c, test_bus_access.c, ...). */
#ifndef TESTS_LICENSE_FIXTURE_H
#define TESTS_LICENSE_FIXTURE_H

#include <sys/types.h>
#include <apr_pools.h>

#include "run.h"

extern char root[];             /* the test's directory */
extern const char *lic;         /* ROOT/lic, INOLIC */
extern int port;                /* the license server's p */
extern pid_t server;            /* tesserad, once started */
extern apr_pool_t *tp;          /* the test's pool */

/* How a suite's directory, environment and server differ from
 * lf_setup()'s. */
typedef struct lf_options_t {
  const char *name;       /* the directory: /tmp/tessera-NAME-XXXXXX */
  const char *asan;       /* the value of ASAN_OPTIONS */
  int no_license;         /* no demo license: ROOT/lic made empty (0755) */
  const char *config;     /* ROOT/lic/tessera.xml; NULL: none written */
  int stop_signal;        /* what the teardown ends the server with */
} lf_options_t;

/* tessera.xml that only listens on 127.0.0.1. */
extern const char lf_plain_config[];

/* Criterion's .init and .fini. */
void lf_setup(void);
void lf_setup_with(const lf_options_t *options);
void lf_teardown(void);

/* ROOT/REL. */
const char *in_root(const char *rel);

/* The environment tesserad and tessera-admin run with. */
const char *const *env(void);

/* Run tessera-admin ARGS. */
run_result_t admin(const char *const *args);

/* Run tessera-admin ARGS; the test fails unless it exits 0. */
void admin_ok(const char *const *args);

/* Issue the demo license (ROOT/demo.lic) and import it into INOLIC. */
void lf_install_license(void);

/* A free port (as run_free_port()) at least 8 away from port: a project
 * license server's. */
int lf_other_port(void);

/* Start ARGV (tesserad's path first) with ENV_ as *PID, its stderr in
 * ERRFILE, and wait up to TRIES times 20 ms for /health on PORT_.
 * Returns 0 once it answers, or its exit status when it ended first
 * (*PID then -1); *ERR (when not NULL) gets what it said. The test fails
 * when it does neither. */
int lf_start(pid_t *pid, const char *const *argv, const char *const *env_,
             const char *errfile, int port_, int tries, char **err);

/* Start tesserad license as server (stderr in ROOT/server.err), waiting
 * up to TRIES times 20 ms; as lf_start(). */
int lf_start_license(int tries, char **err);

/* Start tesserad license and wait for /health; the test fails unless it
 * serves. */
void start_server(void);

/* Start tesserad license --project VERSION as *PID (stderr in
 * ROOT/project.err) and wait for /health on PORT_; the test fails unless
 * it serves. */
void lf_start_project(pid_t *pid, const char *version, int port_);

/* End *PID with SIG (when it runs) and wait for it; *PID becomes -1. */
void lf_kill(pid_t *pid, int sig);

/* End the server with SIGTERM and wait for it. */
void lf_stop(void);

/* The license server's log, ROOT/lic/logs/license.<port>/license.log;
 * malloc'ed. */
char *lf_server_log(void);

/* Wait up to SECONDS (polling every 50 ms) for GET PATH on the license
 * server to answer 200 with WANT in it; 1 when it did. The last answer in
 * BODY (SIZE bytes). */
int lf_api_wait(const char *path, const char *want, int seconds, char *body,
                size_t size);

/* "Authorization: Tessera <token>\r\n" from the credential the server
 * created at its start. */
const char *server_header(void);

#endif
