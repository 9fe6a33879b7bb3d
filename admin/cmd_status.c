/* cmd_status.c: `tessera-admin status`, what the license server named by
 * INOHOST says about itself: health, its bus and hub, the license in
 * force, each product's seats in use, the open sessions, the project
 * license servers and the registered model servers. Read-only; no
 * password needed. */
#include <stdio.h>
#include <string.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_httpd.h"
#include "ts_settings.h"

static const char usage[] = N_(
  "usage: tessera-admin status [--json]\n"
  "\n"
  "Ask the license server named by INOHOST for its health, its bus (p+1)\n"
  "and hub (p+2), license, seats, sessions, project license servers and\n"
  "model servers. Exit 69 when it does not answer.\n");

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
  json_t *health, *status, *sessions, *hub = NULL;
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
  if (json) {
    admin_print_json(json_pack("{s:s, s:i, s:o, s:o, s:o, s:O}", "host",
                               host, "port", port, "health", health, "hub",
                               hub, "license", status, "sessions",
                               sessions));
    json_decref(sessions);
    return NULL;
  }
  print_health(host, port, health, status, hub);
  print_products(status, ctx->pool);
  print_servers(status, sessions);
  if (json_is_false(json_object_get(status, "admin_password_set")))
    fputs(_("note: the administrator's password is not set; set it with "
            "`tessera-admin license passwd`\n"), stdout);
  json_decref(health);
  json_decref(hub);
  json_decref(status);
  json_decref(sessions);
  return NULL;
}
