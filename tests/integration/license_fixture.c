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

#include "ts_credential.h"

char root[64];
const char *lic;
int port;
pid_t server = -1;
apr_pool_t *tp;
static char env_host[64], env_lic[320], env_home[320], env_dir[320];
static char env_asan[128];
static int stop_signal;

const char lf_plain_config[] =
  "<tessera xmlns=\"urn:tessera:config:1\">\n"
  "  <listen address=\"127.0.0.1\"/>\n"
  "</tessera>\n";

static const lf_options_t defaults = {
  .name = "auth",
  /* no quarantine: freed memory counts as freed (memory test) */
  .asan = "detect_leaks=0:quarantine_size_mb=0",
  .config = "<tessera xmlns=\"urn:tessera:config:1\">\n"
            "  <listen address=\"127.0.0.1\"/>\n"
            "  <license-server>\n"
            "    <model-servers probe-seconds=\"1\" gone-after-seconds=\"2\"/>\n"
            "  </license-server>\n"
            "</tessera>\n",
  .stop_signal = SIGKILL,
};

const char *
in_root(const char *rel)
{
  return apr_pstrcat(tp, root, "/", rel, NULL);
}

const char *const *
env(void)
{
  static const char *e[7];
  int n = 0;

  e[n++] = "PATH=/usr/bin:/bin";   /* mosquitto is in /usr/sbin */
  e[n++] = env_host;
  e[n++] = env_lic;
  e[n++] = env_home;
  e[n++] = env_dir;
  e[n++] = env_asan;
  e[n] = NULL;
  return e;
}

run_result_t
admin(const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN };

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  return run(argv, env(), NULL);
}

void
admin_ok(const char *const *args)
{
  run_result_t r = admin(args);

  cr_assert_eq(r.status, 0, "%s: %s", args[0], r.err);
  run_free(&r);
}

void
lf_install_license(void)
{
  admin_ok((const char *[]){ "license", "issue", "--demo-key", "--host",
                             "localhost", "--licensee", "Test", "--product",
                             "demo:5:2099-12-31", "--out",
                             in_root("demo.lic"), NULL });
  admin_ok((const char *[]){ "license", "import", in_root("demo.lic"),
                             NULL });
}

void
lf_setup(void)
{
  lf_setup_with(&defaults);
}

void
lf_setup_with(const lf_options_t *o)
{
  apr_initialize();
  apr_pool_create(&tp, NULL);
  snprintf(root, sizeof(root), "/tmp/tessera-%s-XXXXXX", o->name);
  cr_assert_not_null(mkdtemp(root));
  cr_assert_eq(chmod(root, 0711), 0);
  lic = in_root("lic");
  stop_signal = o->stop_signal;
  port = run_free_port();
  snprintf(env_host, sizeof(env_host), "INOHOST=localhost.%d", port);
  snprintf(env_lic, sizeof(env_lic), "INOLIC=%s", lic);
  snprintf(env_home, sizeof(env_home), "HOME=%s", root);
  /* the server credential goes there: not the machine's INODIR */
  snprintf(env_dir, sizeof(env_dir), "INODIR=%s/params", root);
  snprintf(env_asan, sizeof(env_asan), "ASAN_OPTIONS=%s", o->asan);
  if (o->no_license)
    cr_assert_eq(mkdir(lic, 0755), 0);
  else
    lf_install_license();
  if (o->config)
    run_write_file(in_root("lic/tessera.xml"), o->config);
}

void
lf_kill(pid_t *pid, int sig)
{
  if (*pid > 0) {
    kill(*pid, sig);
    waitpid(*pid, NULL, 0);
  }
  *pid = -1;
}

void
lf_stop(void)
{
  lf_kill(&server, SIGTERM);
}

void
lf_teardown(void)
{
  lf_kill(&server, stop_signal);
  cr_assert_eq(system(apr_psprintf(tp, "rm -rf '%s'", root)), 0);
  apr_pool_destroy(tp);
  apr_terminate();
}

int
lf_other_port(void)
{
  int p;

  do
    p = run_free_port();
  while (abs(p - port) < 8);
  return p;
}

int
lf_start(pid_t *pid, const char *const *argv, const char *const *env_,
         const char *errfile, int port_, int tries, char **err)
{
  int status;

  *pid = fork();
  if (*pid == 0) {
    if (!freopen(errfile, "w", stderr))
      _exit(127);
    execve(argv[0], (char *const *)argv, (char *const *)env_);
    _exit(127);
  }
  for (int i = 0; i < tries; i++) {
    if (waitpid(*pid, &status, WNOHANG) == *pid) {
      *pid = -1;
      if (err)
        *err = run_read_file(errfile);
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    }
    if (run_http(port_, "GET", "/health", NULL, NULL, NULL, 0) == 200) {
      if (err)
        *err = run_read_file(errfile);
      return 0;
    }
    usleep(20000);
  }
  cr_assert_fail("%s neither answered on port %d nor ended: %s", argv[0],
                 port_, run_read_file(errfile));
  return -1;
}

int
lf_start_license(int tries, char **err)
{
  return lf_start(&server, (const char *[]){ TESSERAD, "license", NULL },
                  env(), in_root("server.err"), port, tries, err);
}

void
start_server(void)
{
  char *err = NULL;
  int status = lf_start_license(300, &err);

  cr_assert_eq(status, 0, "tesserad did not come up on port %d (exit %d): "
               "%s", port, status, err);
  free(err);
}

void
lf_start_project(pid_t *pid, const char *version, int port_)
{
  const char *argv[] = { TESSERAD, "license", "--project", version, NULL };
  const char *err = in_root("project.err");

  cr_assert_eq(lf_start(pid, argv, env(), err, port_, 300, NULL), 0,
               "the project license server did not come up: %s",
               run_read_file(err));
}

char *
lf_server_log(void)
{
  return run_read_file(apr_psprintf(tp, "%s/logs/license.%d/license.log",
                                    lic, port));
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

int
lf_api_wait(const char *path, const char *want, int seconds, char *body,
            size_t size)
{
  apr_time_t until = apr_time_now() + apr_time_from_sec(seconds);

  do {
    if (run_http(port, "GET", path, NULL, NULL, body, size) == 200
        && strstr(body, want))
      return 1;
    usleep(50000);
  } while (apr_time_now() < until);
  return 0;
}
