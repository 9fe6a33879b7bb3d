/* license_fixture.h: one real license server for a test (Linux), in a
 * directory of its own: a demo license of 5 seats of "demo", tessera.xml
 * listening on 127.0.0.1 with model servers probed every second and gone
 * after 2 s, INODIR for its server credential. Shared by the suites of
 * who may change what (test_license_auth.c, test_license_throttle.c). */
#ifndef TESTS_LICENSE_FIXTURE_H
#define TESTS_LICENSE_FIXTURE_H

#include <sys/types.h>
#include <apr_pools.h>

extern int port;                /* the license server's p */
extern pid_t server;            /* tesserad, once started */
extern apr_pool_t *tp;          /* the test's pool */

/* Criterion's .init and .fini. */
void lf_setup(void);
void lf_teardown(void);

/* ROOT/REL. */
const char *in_root(const char *rel);

/* The environment tesserad and tessera-admin run with. */
const char *const *env(void);

/* Run tessera-admin ARGS; the test fails unless it exits 0. */
void admin_ok(const char *const *args);

/* Start tesserad license and wait for /health. */
void start_server(void);

/* "Authorization: Tessera <token>\r\n" from the credential the server
 * created at its start. */
const char *server_header(void);

#endif
