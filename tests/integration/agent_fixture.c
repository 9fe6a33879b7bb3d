/* agent_fixture.c: agents for the integration suites (agent_fixture.h). */
#include "agent_fixture.h"

#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "license_fixture.h"

const char *const *
af_env(agent_t *a)
{
  const char *const *base = env();
  int n = 0;

  for (; base[n]; n++)
    a->env[n] = strncmp(base[n], "INOLIC=", 7) == 0
                ? apr_pstrcat(tp, "INOLIC=", a->inolic, NULL) : base[n];
  a->env[n++] = apr_pstrcat(tp, "INOPRJ=", in_root("prj"), NULL);
  a->env[n++] = apr_psprintf(tp, "INOAGENTPORT=%d", a->port);
  a->env[n] = NULL;
  return a->env;
}

void
af_start(agent_t *a)
{
  const char *argv[] = { TESSERAD, "agent", NULL };
  const char *errfile = a->name
                        ? in_root(apr_psprintf(tp, "%s.err", a->name))
                        : apr_pstrcat(tp, a->inolic, ".err", NULL);
  char *err = NULL;

  cr_assert_eq(lf_start(&a->pid, argv, af_env(a), errfile, a->port, 500,
                        &err), 0, "the agent %s did not serve: %s",
               a->name ? a->name : a->inolic, err);
  free(err);
}

run_result_t
af_models(agent_t *a, const char *const *args)
{
  const char *argv[4] = { "/bin/sh", "-c" };
  const char *cmd = apr_psprintf(tp, "exec %s models --agent 127.0.0.1:%d "
                                 "--password-stdin --as tester",
                                 TESSERA_ADMIN, a->port);

  for (int i = 0; args[i]; i++)
    cmd = apr_psprintf(tp, "%s '%s'", cmd, args[i]);
  argv[2] = apr_pstrcat(tp, cmd, " < ", in_root("pw"), NULL);
  return run(argv, af_env(a), NULL);
}

void
af_models_ok(agent_t *a, const char *const *args)
{
  run_result_t r = af_models(a, args);

  cr_assert_eq(r.status, 0, "models %s: %s%s", args[0], r.out, r.err);
  run_free(&r);
}
