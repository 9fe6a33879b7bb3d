/* model_fixture.c: real model servers beside a real license server (see
 * model_fixture.h). */
#include "model_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "run.h"
#include "ts_project_records.h"
#include "ts_repo.h"

const char *prj;
pid_t ms_pid[MF_SLOTS];
int ms_port[MF_SLOTS];

const char *
mf_config(int idle, int close)
{
  static char xml[1024];

  snprintf(xml, sizeof(xml),
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <listen address=\"127.0.0.1\"/>\n"
    "  <license-server>\n"
    "    <sessions lease-seconds=\"2\"/>\n"
    "    <model-servers probe-seconds=\"1\" gone-after-seconds=\"2\"/>\n"
    "  </license-server>\n"
    "  <machine name=\"localhost\"/>\n"
    "  <model-servers max=\"60\" session-idle-seconds=\"%d\""
    " close-idle-seconds=\"%d\" heartbeat-seconds=\"1\"/>\n"
    "</tessera>\n", idle, close);
  return xml;
}

void
mf_setup(const char *config)
{
  lf_options_t o = {
    .name = "model", .asan = "detect_leaks=0", .stop_signal = SIGTERM,
  };

  for (int i = 0; i < MF_SLOTS; i++)
    ms_pid[i] = -1;
  o.config = config;
  lf_setup_with(&o);
  prj = in_root("prj");
  cr_assert_eq(mkdir(prj, 0755), 0);
  start_server();
}

void
mf_teardown(void)
{
  for (int i = 0; i < MF_SLOTS; i++)
    mf_stop(i, SIGKILL);
  lf_teardown();
}

const char *
mf_repo(const char *name, const char *product, int read_only)
{
  const char *dir = apr_pstrcat(tp, prj, "/ivr/bridge/", name, NULL);
  ts_repo_meta_t meta = { "bridge", name, product, read_only };
  ts_error_t *err;

  cr_assert_eq(system(apr_psprintf(tp, "mkdir -p '%s'", dir)), 0);
  err = ts_repo_create(dir, &meta, tp);
  cr_assert_null(err, "%s", err ? ts_error_text(err, tp) : "");
  return dir;
}

const char *const *
mf_env(const char *extra)
{
  static const char *e[16];
  const char *const *base = env();
  int n = 0;

  while (base[n]) {
    e[n] = base[n];
    n++;
  }
  e[n++] = apr_pstrcat(tp, "INOPRJ=", prj, NULL);
  if (extra)
    e[n++] = extra;
  e[n] = NULL;
  return e;
}

void
mf_spawn(int slot, const char *repo, const char *const *env_)
{
  const char *err = in_root(apr_psprintf(tp, "ms%d.err", slot));
  const char *const *e = env_ ? env_ : mf_env(NULL);
  pid_t pid = fork();

  if (pid == 0) {
    if (!freopen(err, "w", stderr))
      _exit(127);
    execve(TESSERAD, (char *const[]){ (char *)TESSERAD, (char *)"model",
                                      (char *)repo, NULL }, (char *const *)e);
    _exit(127);
  }
  ms_pid[slot] = pid;
  ms_port[slot] = 0;
}

/* The port in the record that PID wrote, or 0. */
static int
port_of(pid_t pid)
{
  apr_array_header_t *records, *rejects;
  apr_pool_t *scratch;
  int found = 0;
  ts_error_t *err;

  apr_pool_create(&scratch, tp);
  err = ts_project_records_read(&records, &rejects, prj,
                                TS_PROJECT_MODELSERVER, scratch, scratch);
  ts_error_clear(err);
  for (int i = 0; !err && i < records->nelts; i++) {
    const ts_project_record_t *r = &APR_ARRAY_IDX(records, i,
                                                  ts_project_record_t);
    if (r->pid == (long)pid)
      found = (int)r->port;
  }
  apr_pool_destroy(scratch);
  return found;
}

void
mf_wait(int slot, const char *repo, int seconds)
{
  const char *err = in_root(apr_psprintf(tp, "ms%d.err", slot));

  for (int i = 0; i < seconds * 50; i++) {
    int status;
    if (waitpid(ms_pid[slot], &status, WNOHANG) == ms_pid[slot]) {
      ms_pid[slot] = -1;
      cr_assert_fail("tesserad model %s ended (status %d): %s", repo,
                     status, run_read_file(err));
    }
    if (!ms_port[slot])
      ms_port[slot] = port_of(ms_pid[slot]);
    if (ms_port[slot]
        && run_http(ms_port[slot], "GET", "/health", NULL, NULL, NULL, 0)
           == 200)
      return;
    usleep(20000);
  }
  cr_assert_fail("tesserad model %s did not serve within %d s: %s", repo,
                 seconds, run_read_file(err));
}

void
mf_start(int slot, const char *repo)
{
  mf_spawn(slot, repo, NULL);
  mf_wait(slot, repo, 30);
}

void
mf_stop(int slot, int sig)
{
  lf_kill(&ms_pid[slot], sig);
}

const char *
mf_record_path(int port_)
{
  return apr_psprintf(tp, "%s/ivm/modelservers/localhost.%d.json", prj,
                      port_);
}

int
mf_call(int port_, const char *method, const char *path, const char *json,
        const char *token, json_t **answer)
{
  char *body = malloc(1 << 20);
  char headers[128] = "";
  int status;

  if (token)
    snprintf(headers, sizeof(headers), "Authorization: Bearer %s\r\n",
             token);
  body[0] = '\0';
  status = run_http(port_, method, path, json, token ? headers : NULL, body,
                    1 << 20);
  if (answer)
    *answer = json_loads(body, 0, NULL);
  free(body);
  return status;
}

int
mf_session(int port_, const char *user, const char *host, char *token,
           char *id)
{
  char json[256];
  json_t *a;
  int status;

  snprintf(json, sizeof(json), "{\"user\":\"%s\",\"host\":\"%s\",\"pid\":1,"
           "\"application\":\"modeler\"}", user, host);
  status = mf_call(port_, "POST", "/v1/sessions", json, NULL, &a);
  if (status == 201) {
    snprintf(token, 65, "%s", json_string_value(json_object_get(a,
                                                                "token")));
    snprintf(id, 32, "%s", json_string_value(json_object_get(a, "id")));
  }
  json_decref(a);
  return status;
}

long
mf_create(int port_, const char *token, const char *type, const char *name,
          long parent, const char *properties)
{
  char json[1024], up[32] = "null";
  json_t *a;
  long id;
  int status;

  if (parent)
    snprintf(up, sizeof(up), "%ld", parent);
  snprintf(json, sizeof(json), "{\"type\":\"%s\",\"name\":\"%s\",\"parent\":"
           "%s,\"properties\":%s}", type, name, up, properties);
  status = mf_call(port_, "POST", "/v1/elements", json, token, &a);
  id = status == 201 ? (long)json_integer_value(json_object_get(a, "id"))
                     : -status;
  json_decref(a);
  return id;
}

int
mf_poll(int (*predicate)(void *baton), void *baton, int seconds)
{
  for (int i = 0; i < seconds * 50; i++) {
    if (predicate(baton))
      return 1;
    usleep(20000);
  }
  return predicate(baton);
}
