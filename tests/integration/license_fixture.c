/* license_fixture.c: one real license server for a test (see
 * license_fixture.h). */
#include "license_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "run.h"
#include "ts_credential.h"

static char root[] = "/tmp/tessera-auth-XXXXXX";
static char env_host[64], env_lic[320], env_home[320], env_dir[320];
int port;
pid_t server = -1;
apr_pool_t *tp;

const char *
in_root(const char *rel)
{
  return apr_pstrcat(tp, root, "/", rel, NULL);
}

const char *const *
env(void)
{
  static const char *e[7];

  e[0] = "PATH=/usr/bin:/bin";
  e[1] = env_host;
  e[2] = env_lic;
  e[3] = env_home;
  e[4] = env_dir;
  /* no quarantine: freed memory counts as freed (memory test) */
  e[5] = "ASAN_OPTIONS=detect_leaks=0:quarantine_size_mb=0";
  e[6] = NULL;
  return e;
}

void
admin_ok(const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN };
  run_result_t r;

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  r = run(argv, env(), NULL);
  cr_assert_eq(r.status, 0, "%s: %s", args[0], r.err);
  run_free(&r);
}

void
lf_setup(void)
{
  apr_initialize();
  apr_pool_create(&tp, NULL);
  cr_assert_not_null(mkdtemp(root));
  /* as root, the bus broker runs as the service account or nobody, which
   * must reach INOLIC inside */
  cr_assert_eq(chmod(root, 0711), 0);
  port = run_free_port();
  snprintf(env_host, sizeof(env_host), "INOHOST=localhost.%d", port);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s/lic", root);
  snprintf(env_home, sizeof(env_home), "HOME=%s", root);
  snprintf(env_dir, sizeof(env_dir), "INODIR=%s/params", root);
  admin_ok((const char *[]){ "license", "issue", "--demo-key", "--host",
                             "localhost", "--licensee", "Test", "--product",
                             "demo:5:2099-12-31", "--out",
                             in_root("demo.lic"), NULL });
  admin_ok((const char *[]){ "license", "import", in_root("demo.lic"),
                             NULL });
  run_write_file(in_root("lic/tessera.xml"),
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <listen address=\"127.0.0.1\"/>\n"
    "  <license-server>\n"
    "    <model-servers probe-seconds=\"1\" gone-after-seconds=\"2\"/>\n"
    "  </license-server>\n"
    "</tessera>\n");
}

void
lf_teardown(void)
{
  char cmd[300];

  if (server > 0) {
    kill(server, SIGKILL);
    waitpid(server, NULL, 0);
  }
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
  cr_assert_eq(system(cmd), 0);
  apr_pool_destroy(tp);
  apr_terminate();
}

void
start_server(void)
{
  const char *argv[] = { TESSERAD, "license", NULL };
  const char *err = in_root("server.err");

  server = fork();
  if (server == 0) {
    freopen(err, "w", stderr);
    execve(argv[0], (char *const *)argv, (char *const *)env());
    _exit(127);
  }
  for (int i = 0; i < 300; i++) {
    if (run_http(port, "GET", "/health", NULL, NULL, NULL, 0) == 200)
      return;
    usleep(20000);
  }
  cr_assert_fail("tesserad did not come up: %s", run_read_file(err));
}

/* The header Tessera's servers send, from the credential the license
 * server created at its start. */
const char *
server_header(void)
{
  ts_credential_t *cred;
  ts_error_t *err = ts_credential_load(&cred, in_root("params/server.key"),
                                       tp);

  cr_assert_null(err, "%s", err ? ts_error_text(err, tp) : "");
  return ts_credential_header(cred, tp);
}
