/* cmd_status.c: `tessera-admin status`, what the license server named by
 * INOHOST says about itself: health, the license in force, each product's
 * seats in use, the open sessions. Read-only; no password needed. */
#include <stdio.h>
#include <string.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_settings.h"

static const char usage[] =
  "usage: tessera-admin status [--json]\n"
  "\n"
  "Ask the license server named by INOHOST for its health, license,\n"
  "seats and sessions. Exit 69 when it does not answer.\n";

/* GET PATH from HOST:PORT; *BODY gets the response body. */
static ts_error_t *
http_get(const char **body, int *status, const char *host, int port,
         const char *path, apr_pool_t *pool)
{
  apr_sockaddr_t *sa;
  apr_socket_t *s;
  apr_status_t rv;
  const char *req = apr_psprintf(pool, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
                                 path, host);
  apr_size_t len = strlen(req);
  char *buf = apr_palloc(pool, 1 << 20), *end;
  apr_size_t got = 0;

  rv = apr_sockaddr_info_get(&sa, host, APR_UNSPEC, (apr_port_t)port, 0,
                             pool);
  if (!rv)
    rv = apr_socket_create(&s, sa->family, SOCK_STREAM, APR_PROTO_TCP, pool);
  if (rv)
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, rv, NULL, "cannot "
                             "reach the license server %s port %d", host,
                             port);
  apr_socket_timeout_set(s, apr_time_from_sec(3));
  rv = apr_socket_connect(s, sa);
  if (!rv)
    rv = apr_socket_send(s, req, &len);
  while (!rv && got < (1 << 20) - 1) {
    apr_size_t n = (1 << 20) - 1 - got;
    rv = apr_socket_recv(s, buf + got, &n);
    got += n;
  }
  apr_socket_close(s);
  if (rv && !APR_STATUS_IS_EOF(rv))
    return ts_error__createf(TS__WHERE, TS_EUNAVAIL, rv, NULL, "the license "
      "server %s port %d does not answer; is it running? (`tessera-admin "
      "service status license`, or start it with `tesserad license`)",
      host, port);
  buf[got] = '\0';
  *status = 0;
  sscanf(buf, "HTTP/1.%*d %d", status);
  end = strstr(buf, "\r\n\r\n");
  *body = end ? end + 4 : "";
  return NULL;
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
  tsp_settings_t *store;
  ts_settings_t *settings;
  const ts_setting_value_t *v;
  json_t *health, *status, *sessions;
  size_t i;
  json_t *p;

  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    if (ch == 'h') {
      fputs(usage, stdout);
      return NULL;
    }
    json = 1;
  }
  if (s != APR_EOF || os->ind != ctx->argc)
    return admin_usage_error(usage, "status takes no arguments");
  TS_ERR(admin_open_store(&store, ctx->pool));
  TS_ERR(ts_settings_resolve(&settings, store, ctx->pool, ctx->pool));
  v = ts_settings_get(settings, "INOHOST");
  if (v->problem)
    return ts_error_createf(TS_ECONFIG, "INOHOST '%s' is invalid: %s",
                            v->value, v->problem);
  TS_ERR(ts_inohost_parse(&host, &port, v->value, ctx->pool));

  TS_ERR(http_get(&body, &code, host, port, "/health", ctx->pool));
  health = json_loads(body, 0, NULL);
  TS_ERR(http_get(&body, &code, host, port, "/v1/status", ctx->pool));
  status = json_loads(body, 0, NULL);
  TS_ERR(http_get(&body, &code, host, port, "/v1/sessions", ctx->pool));
  sessions = json_loads(body, 0, NULL);
  if (!health || !status || !sessions) {
    json_decref(health);
    json_decref(status);
    json_decref(sessions);
    return ts_error_createf(TS_EUNAVAIL, "%s port %d answered, but not as "
                            "a Tessera license server", host, port);
  }
  if (json) {
    admin_print_json(json_pack("{s:s, s:i, s:o, s:o, s:O}", "host", host,
                               "port", port, "health", health, "license",
                               status, "sessions",
                               json_object_get(sessions, "sessions")));
    json_decref(sessions);
    return NULL;
  }
  /* APR's formatter: the same 64-bit conversions on Linux and Windows */
  fputs(apr_psprintf(ctx->pool, "license server %s port %d: %s (version %s, "
                     "up %" APR_INT64_T_FMT " s)\n", host, port,
                     json_string_value(json_object_get(health, "status")),
                     json_string_value(json_object_get(health, "version")),
                     (apr_int64_t)json_integer_value(json_object_get(health,
                                                     "uptime_seconds"))),
        stdout);
  printf("license: %s\n", json_is_string(json_object_get(status, "license"))
         ? json_string_value(json_object_get(status, "license"))
         : "none in force (tessera-admin license import FILE)");
  printf("  %-20s %6s %6s  %s\n", "PRODUCT", "USED", "SEATS", "EXPIRES");
  json_array_foreach(json_object_get(status, "products"), i, p)
    printf("  %-20s %6ld %6ld  %s\n",
           json_string_value(json_object_get(p, "name")),
           (long)json_integer_value(json_object_get(p, "used")),
           (long)json_integer_value(json_object_get(p, "seats")),
           json_string_value(json_object_get(p, "expires")));
  printf("sessions: %lu\n", (unsigned long)json_array_size(
         json_object_get(sessions, "sessions")));
  json_array_foreach(json_object_get(sessions, "sessions"), i, p)
    printf("  %s  %-12s %s@%s pid %ld (%s)\n",
           json_string_value(json_object_get(p, "id")),
           json_string_value(json_object_get(p, "product")),
           json_string_value(json_object_get(p, "user")),
           json_string_value(json_object_get(p, "host")),
           (long)json_integer_value(json_object_get(p, "pid")),
           json_string_value(json_object_get(p, "application")));
  json_decref(health);
  json_decref(status);
  json_decref(sessions);
  return NULL;
}
