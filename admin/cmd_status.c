/* cmd_status.c: `tessera-admin status`, what the license server named by
 * INOHOST says about itself: health, its bus and hub, the license in
 * force, each product's seats in use, the open sessions, the project
 * license servers, the registered model servers, the agents that report
 * to it and the model versions they see, with where each runs.
 * Read-only; no password needed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_httpd.h"
#include "ts_settings.h"

static const char usage[] = N_(
  "usage: tessera-admin status [--json]\n"
  "\n"
  "Ask the license server named by INOHOST for its health, its bus (p+1)\n"
  "and hub (p+2), license, seats, sessions, project license servers,\n"
  "model servers, agents, and the model versions the agents see with\n"
  "where each runs. Exit 69 when it does not answer.\n");

ts_error_t *
admin_license_server(const char **host, int *port, apr_pool_t *pool)
{
  tsp_settings_t *store;
  ts_settings_t *settings;
  const ts_setting_value_t *v;

  TS_ERR(admin_open_store(&store, pool));
  TS_ERR(ts_settings_resolve(&settings, store, pool, pool));
  v = ts_settings_get(settings, "INOHOST");
  if (v->problem)
    return ts_setting_invalid(settings, v, pool);
  return ts_inohost_parse(host, port, v->value, pool);
}

ts_error_t *
admin_http(int *status, const char **body, const char *host, int port,
           const char *method, const char *path, const char *json,
           const char *headers, apr_pool_t *pool)
{
  TS_ERR_W(ts_http_call(status, body, host, port, method, path, json,
                        headers, apr_time_from_sec(5), pool),
           "the license server %s port %d does not answer; is it running? "
           "(`tessera-admin service status license`, or start it with "
           "`tesserad license`)", host, port);
  return NULL;
}

/* GET PATH from the license server. */
static ts_error_t *
http_get(const char **body, int *status, const char *host, int port,
         const char *path, apr_pool_t *pool)
{
  return admin_http(status, body, host, port, "GET", path, NULL, NULL, pool);
}

/* The license server on HOST:PORT, its bus and HUB, and the license in
 * force, from its HEALTH and STATUS. */
static void
print_health(const char *host, int port, json_t *health, json_t *status,
             json_t *hub)
{
  json_t *p;

  /* seconds up: a long is enough (68 years) on Linux and Windows */
  printf(_("license server %s port %d: %s (version %s, up %ld s)\n"), host,
         port, json_string_value(json_object_get(health, "status")),
         json_string_value(json_object_get(health, "version")),
         (long)json_integer_value(json_object_get(health,
                                                  "uptime_seconds")));
  p = json_object_get(status, "bus");
  if (json_is_true(json_object_get(p, "connected")))
    printf(_("bus: port %d, connected\n"), port + 1);
  else
    printf(_("bus: port %d, NOT connected (is the bus running? "
             "`tessera-admin service status bus`, or see the license "
             "log)\n"), port + 1);
  printf(_("hub: port %d, %s\n"), port + 2,
         json_string_value(json_object_get(hub, "status")));
  if (json_is_string(json_object_get(status, "license")))
    printf(_("license: %s\n"),
           json_string_value(json_object_get(status, "license")));
  else
    fputs(_("license: none in force (tessera-admin license import FILE)\n"),
          stdout);
}

/* The products of STATUS with their seats in use. */
static void
print_products(json_t *status, apr_pool_t *pool)
{
  json_t *p;
  size_t i;

  printf("  %-20s %6s %6s  %s\n", _("PRODUCT"), _("USED"), _("SEATS"),
         _("EXPIRES"));
  json_array_foreach(json_object_get(status, "products"), i, p) {
    json_t *used = json_object_get(p, "used");
    printf("  %-20s %6s %6ld  %s\n",
           json_string_value(json_object_get(p, "name")),
           json_is_integer(used)
           ? apr_ltoa(pool, (long)json_integer_value(used)) : "?",
           (long)json_integer_value(json_object_get(p, "seats")),
           json_string_value(json_object_get(p, "expires")));
    if (!json_is_integer(used))
      printf(_("    (the seats in use could not be counted: %s)\n"),
             json_string_value(json_object_get(p, "error")));
  }
}

/* The SESSIONS, and the project license servers and model servers of
 * STATUS. */
static void
print_servers(json_t *status, json_t *sessions)
{
  json_t *p;
  size_t i;

  printf(_("sessions: %lu\n"), (unsigned long)json_array_size(sessions));
  json_array_foreach(sessions, i, p)
    printf(_("  %s  %-12s %s@%s pid %ld (%s)\n"),
           json_string_value(json_object_get(p, "id")),
           json_string_value(json_object_get(p, "product")),
           json_string_value(json_object_get(p, "user")),
           json_string_value(json_object_get(p, "host")),
           (long)json_integer_value(json_object_get(p, "pid")),
           json_string_value(json_object_get(p, "application")));
  printf(_("project license servers: %lu\n"),
         (unsigned long)json_array_size(json_object_get(status, "projects")));
  json_array_foreach(json_object_get(status, "projects"), i, p)
    printf(_("  %-6s %s port %ld  %s\n"),
           json_string_value(json_object_get(p, "version")),
           json_string_value(json_object_get(p, "host")),
           (long)json_integer_value(json_object_get(p, "port")),
           json_string_value(json_object_get(p, "state")));
  printf(_("model servers: %lu\n"), (unsigned long)json_array_size(
         json_object_get(status, "model_servers")));
  json_array_foreach(json_object_get(status, "model_servers"), i, p) {
    size_t models = json_array_size(json_object_get(p, "models"));
    printf(ts_ntext("  %-28s %-5s repository %s, %lu model\n",
                    "  %-28s %-5s repository %s, %lu models\n", models),
           json_string_value(json_object_get(p, "id")),
           json_string_value(json_object_get(p, "state")),
           json_string_value(json_object_get(p, "repository")),
           (unsigned long)models);
  }
}

/* Whether version V (or its merged entry) is stopped. */
static int
stopped(json_t *v)
{
  const char *state = json_string_value(json_object_get(v, "state"));

  return !state || strcmp(state, "stopped") == 0;
}

/* One version V as agent AGENT of project INOPRJ sees it, into MERGED
 * (key "<inoprj> <model>/<version>"): agents sharing an INOPRJ each list
 * every version, and one that sees it not stopped says where it runs. */
static void
merge_version(json_t *merged, const char *inoprj, const char *agent,
              json_t *v, apr_pool_t *pool)
{
  const char *key = apr_psprintf(pool, "%s %s/%s", inoprj,
    json_string_value(json_object_get(v, "model")),
    json_string_value(json_object_get(v, "version")));
  json_t *m = json_object_get(merged, key), *agents;

  if (m && !(stopped(m) && !stopped(v))) {
    json_array_append_new(json_object_get(m, "agents"), json_string(agent));
    return;
  }
  agents = m ? json_incref(json_object_get(m, "agents")) : json_array();
  json_array_append_new(agents, json_string(agent));
  m = json_deep_copy(v);
  json_object_set_new(m, "inoprj", json_string(inoprj));
  json_object_set_new(m, "agents", agents);
  json_object_set_new(merged, key, m);   /* replaces a stopped one */
}

static int
by_key(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The versions the agents of STATUS that are up see, one entry per
 * version of each INOPRJ, sorted by INOPRJ, model and version:
 * [{"inoprj","model","version","state","host","port","pid","users",
 * "agents":[id...]}]. */
static json_t *
model_versions(json_t *status, apr_pool_t *pool)
{
  json_t *merged = json_object(), *list = json_array(), *a, *v;
  const char **keys, *key;
  size_t i, k, n = 0;

  json_array_foreach(json_object_get(status, "agents"), i, a) {
    const char *state = json_string_value(json_object_get(a, "state"));
    if (!state || strcmp(state, "up") != 0)
      continue;   /* a gone agent's view is old */
    json_array_foreach(json_object_get(a, "versions"), k, v)
      merge_version(merged, json_string_value(json_object_get(a, "inoprj")),
                    json_string_value(json_object_get(a, "id")), v, pool);
  }
  keys = apr_pcalloc(pool, (json_object_size(merged) + 1) * sizeof(*keys));
  json_object_foreach(merged, key, v)
    keys[n++] = key;
  qsort(keys, n, sizeof(*keys), by_key);
  for (i = 0; i < n; i++)
    json_array_append(list, json_object_get(merged, keys[i]));
  json_decref(merged);
  return list;
}

/* VALUE (a number), or "-" when it is not one. */
static const char *
number_or_dash(json_t *value, apr_pool_t *pool)
{
  return json_is_integer(value)
         ? apr_ltoa(pool, (long)json_integer_value(value)) : "-";
}

/* The agents of STATUS, and the VERSIONS they see with where each
 * runs. */
static void
print_agents(json_t *status, json_t *versions, apr_pool_t *pool)
{
  json_t *agents = json_object_get(status, "agents"), *p;
  const char *project = NULL;
  size_t i;

  printf(_("agents: %lu\n"), (unsigned long)json_array_size(agents));
  json_array_foreach(agents, i, p) {
    size_t n = json_array_size(json_object_get(p, "versions"));
    printf(ts_ntext("  %-28s %-5s %-10s INOPRJ %s, %lu version\n",
                    "  %-28s %-5s %-10s INOPRJ %s, %lu versions\n", n),
           json_string_value(json_object_get(p, "id")),
           json_string_value(json_object_get(p, "state")),
           json_is_string(json_object_get(p, "os"))
           ? json_string_value(json_object_get(p, "os")) : "-",
           json_string_value(json_object_get(p, "inoprj")), (unsigned long)n);
  }
  printf(_("model versions: %lu\n"), (unsigned long)json_array_size(versions));
  json_array_foreach(versions, i, p) {
    const char *inoprj = json_string_value(json_object_get(p, "inoprj"));
    json_t *users = json_object_get(p, "users");
    if (!project || strcmp(project, inoprj) != 0) {
      project = inoprj;
      printf(_("  INOPRJ %s:\n"), inoprj);
      printf("    %-32s %-9s %-28s %8s %6s\n", _("MODEL/VERSION"),
             _("STATE"), _("WHERE"), _("PID"), _("USERS"));
    }
    printf("    %-32s %-9s %-28s %8s %6s\n",
           apr_psprintf(pool, "%s/%s",
                        json_string_value(json_object_get(p, "model")),
                        json_string_value(json_object_get(p, "version"))),
           json_string_value(json_object_get(p, "state")),
           json_is_string(json_object_get(p, "host"))
           ? apr_psprintf(pool, "%s:%s",
                          json_string_value(json_object_get(p, "host")),
                          number_or_dash(json_object_get(p, "port"), pool))
           : "-",
           number_or_dash(json_object_get(p, "pid"), pool),
           json_is_array(users)
           ? apr_ltoa(pool, (long)json_array_size(users))
           : number_or_dash(users, pool));
  }
}

/* The proxies and notification services of STATUS, a line per machine
 * with the port of each ("-": none reports). */
static void
print_services(json_t *status, apr_pool_t *pool)
{
  json_t *services = json_object_get(status, "services"), *s;
  json_t *hosts = json_object();
  const char *host;
  size_t i;

  json_array_foreach(services, i, s) {
    host = json_string_value(json_object_get(s, "host"));
    if (!json_object_get(hosts, host))
      json_object_set_new(hosts, host, json_object());
    json_object_set(json_object_get(hosts, host),
                    json_string_value(json_object_get(s, "kind")),
                    json_object_get(s, "port"));
  }
  printf(_("proxies and notification services: %lu\n"),
         (unsigned long)json_array_size(services));
  if (json_object_size(hosts))
    printf("  %-28s %8s %8s\n", _("MACHINE"), _("PROXY"), _("NOTIFY"));
  json_object_foreach(hosts, host, s)
    printf("  %-28s %8s %8s\n", host,
           number_or_dash(json_object_get(s, "proxy"), pool),
           number_or_dash(json_object_get(s, "notify"), pool));
  json_decref(hosts);
}

ts_error_t *
admin_cmd_status(admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "json", 'j', 0, NULL }, { "help", 'h', 0, NULL }, { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch, json = 0, port, code;
  const char *arg, *host, *body;
  json_t *health, *status, *sessions, *versions, *hub = NULL;
  ts_error_t *err;

  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    if (ch == 'h') {
      fputs(_(usage), stdout);
      return NULL;
    }
    json = 1;
  }
  if (s != APR_EOF || os->ind != ctx->argc)
    return admin_usage_error(usage, "status takes no arguments");
  TS_ERR(admin_license_server(&host, &port, ctx->pool));

  TS_ERR(http_get(&body, &code, host, port, "/health", ctx->pool));
  health = json_loads(body, 0, NULL);
  TS_ERR(http_get(&body, &code, host, port, "/v1/status", ctx->pool));
  status = json_loads(body, 0, NULL);
  err = admin_sessions_get(&sessions, host, port, ctx->pool);
  if (err) {
    json_decref(health);
    json_decref(status);
    return err;
  }
  /* the hub runs in the license server's process, on p+2 */
  err = ts_http_get(&code, &body, host, port + 2, "/health",
                    apr_time_from_sec(3), ctx->pool);
  if (!err && code == 200)
    hub = json_loads(body, 0, NULL);
  if (!hub)   /* for the JSON: English */
    hub = json_pack("{s:s, s:s}", "status", "down", "error", err
                    ? ts_error_text(err, ctx->pool)
                    : apr_psprintf(ctx->pool, "HTTP %d", code));
  ts_error_clear(err);
  if (!health || !status || !sessions) {
    json_decref(health);
    json_decref(status);
    json_decref(sessions);
    json_decref(hub);
    return ts_error_createf(TS_EUNAVAIL, "%s port %d answered, but not as "
                            "a Tessera license server", host, port);
  }
  versions = model_versions(status, ctx->pool);
  if (json) {
    admin_print_json(json_pack("{s:s, s:i, s:o, s:o, s:o, s:O, s:o}",
                               "host", host, "port", port, "health", health,
                               "hub", hub, "license", status, "sessions",
                               sessions, "versions", versions));
    json_decref(sessions);
    return NULL;
  }
  print_health(host, port, health, status, hub);
  print_products(status, ctx->pool);
  print_servers(status, sessions);
  print_agents(status, versions, ctx->pool);
  print_services(status, ctx->pool);
  json_decref(versions);
  if (json_is_false(json_object_get(status, "admin_password_set")))
    fputs(_("note: the administrator's password is not set; set it with "
            "`tessera-admin license passwd`\n"), stdout);
  json_decref(health);
  json_decref(hub);
  json_decref(status);
  json_decref(sessions);
  return NULL;
}
