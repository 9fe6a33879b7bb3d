/* agent_fixture.h: real agents (tesserad agent) beside the license server
 * of license_fixture.h, on the project directory ROOT/prj, and
 * tessera-admin models against them (the administrator's password in
 * ROOT/pw). For the suites that run agents: test_agent, test_proxy. */
#ifndef AGENT_FIXTURE_H
#define AGENT_FIXTURE_H

#include <sys/types.h>
#include "run.h"

typedef struct agent_t {
  const char *name;           /* for messages and its .err file; NULL: by
                                 its INOLIC */
  const char *inolic;         /* its INOLIC (tessera.xml: its machine) */
  int port;                   /* INOAGENTPORT */
  pid_t pid;
  const char *env[12];
} agent_t;

/* The environment of agent A (and of tessera-admin asking it): the
 * fixture's with A's INOLIC, INOPRJ=ROOT/prj and A's INOAGENTPORT. */
const char *const *af_env(agent_t *a);

/* Start A; the test fails unless it serves. */
void af_start(agent_t *a);

/* tessera-admin models ARGS against A, as "tester" with the password of
 * ROOT/pw on standard input. */
run_result_t af_models(agent_t *a, const char *const *args);

/* The same; the test fails unless it exits 0. */
void af_models_ok(agent_t *a, const char *const *args);

#endif
