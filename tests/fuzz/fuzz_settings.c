/* fuzz_settings.c: the architecture settings' validation (core/config/
 * ts_settings_schema.c), as `tessera-admin env set NAME VALUE`, the
 * installer and every server at start apply it to a value that came from
 * an administrator, an environment file or the registry.
 *
 * The input is one value. It is validated as every setting of the schema
 * (INOHOST's <host>.<port> with its IPv4, IPv6 and DNS forms, the
 * directories, INOLANG, INOAGENTPORT), and INOHOST is parsed on its own.
 * Invariants: a refusal is a TS_EINVAL error with a message; an accepted
 * INOHOST has a port in 1024..64000 and a non-empty host, written back as
 * <host>.<port> it parses to the same host and port, and its port plan
 * exists.
 */
#include <string.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "ts_ports.h"
#include "ts_settings.h"

/* ERR (cleared here) must be a refusal that says why. */
static void
check_refusal(ts_error_t *err, const char *what, apr_pool_t *pool)
{
  const char *text = ts_error_text(err, pool);

  FUZZ_CHECK(ts_error_code(err) == TS_EINVAL, "%s: code %d for '%s'", what,
             (int)ts_error_code(err), text);
  FUZZ_CHECK(text && *text, "%s: a refusal without a message", what);
  ts_error_clear(err);
}

static void
check_inohost(const char *value, apr_pool_t *pool)
{
  const char *host = NULL, *again_host = NULL, *written;
  int port = 0, again_port = 0;
  apr_array_header_t *plan;
  ts_error_t *err = ts_inohost_parse(&host, &port, value, pool);

  if (err) {
    check_refusal(err, "ts_inohost_parse", pool);
    return;
  }
  FUZZ_CHECK(port >= TS_PORT_MIN && port <= TS_PORT_MAX, "port %d of '%s'",
             port, value);
  FUZZ_CHECK(host && *host, "empty host accepted in '%s'", value);
  written = apr_psprintf(pool, strchr(host, ':') ? "[%s].%d" : "%s.%d",
                         host, port);
  err = ts_inohost_parse(&again_host, &again_port, written, pool);
  FUZZ_CHECK(!err, "'%s' (from '%s') does not parse again: %s", written,
             value, ts_error_text(err, pool));
  FUZZ_CHECK(strcmp(host, again_host) == 0 && port == again_port,
             "'%s' -> %s %d -> '%s' -> %s %d", value, host, port, written,
             again_host, again_port);
  err = ts_port_plan(&plan, port, port + 3, TS_PLAN_DEFAULT_MODELS, pool);
  FUZZ_CHECK(!err, "no port plan for the accepted port %d: %s", port,
             ts_error_text(err, pool));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  const ts_setting_def_t *defs;
  const char *value;
  int count;

  apr_pool_create(&pool, fuzz_init());
  value = fuzz_cstring(data, size, pool);
  defs = ts_settings_schema(&count);
  for (int i = 0; i < count; i++) {
    ts_error_t *err = ts_setting_validate(&defs[i], value, pool);
    if (err)
      check_refusal(err, defs[i].name, pool);
  }
  check_inohost(value, pool);
  apr_pool_destroy(pool);
  return 0;
}
