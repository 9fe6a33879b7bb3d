/* fuzz_config.c: tessera.xml (core/config/ts_config.c over the schema-
 * checked XML loader core/base/ts_xml.c and config/tessera.xsd), as
 * `tesserad license` and `--check` read INOLIC/tessera.xml at start and
 * `tessera-admin doctor` reads it to check a machine.
 *
 * The input is the file's text. It is parsed, then checked for a main
 * license server on the lowest, a common and the highest port, and every
 * project license server is looked up by its version. Invariants: a
 * refusal names the file; an accepted configuration has the values the
 * schema allows (positive seconds, gone-after not below probe, ports in
 * 1024..64000, at most 16 listen addresses, each an address of this
 * machine's resolver); a project server that passed the check keeps its
 * three ports clear of p..p+5.
 */
#include <string.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "ts_config.h"

#define PATH "/var/lib/tessera/license/tessera.xml"

static void
check_config(const ts_config_t *c, apr_pool_t *pool)
{
  static const int ports[] = { 1024, 17000, 64000 };

  FUZZ_CHECK(c->path && strcmp(c->path, PATH) == 0, "path %s", c->path);
  FUZZ_CHECK(c->lease_seconds > 0 && c->probe_seconds > 0
             && c->gone_after_seconds >= c->probe_seconds,
             "lease %d probe %d gone-after %d", c->lease_seconds,
             c->probe_seconds, c->gone_after_seconds);
  FUZZ_CHECK(c->listen->nelts <= 16, "%d listen addresses", c->listen->nelts);
  FUZZ_CHECK(c->bus_program && *c->bus_program, "no bus program");
  for (int i = 0; i < c->projects->nelts; i++) {
    const ts_project_t *p = &APR_ARRAY_IDX(c->projects, i, ts_project_t);
    FUZZ_CHECK(p->version && p->port >= 1024 && p->port <= 64000,
               "project %s port %d", p->version, p->port);
    FUZZ_CHECK(ts_config_project(c, p->version) == p
               || ts_config_project(c, p->version)->port == p->port,
               "project %s looked up as another", p->version);
  }
  for (size_t k = 0; k < sizeof(ports) / sizeof(ports[0]); k++) {
    ts_error_t *err = ts_config_check(c, ports[k], pool);
    if (err) {
      FUZZ_CHECK(strstr(ts_error_text(err, pool), PATH),
                 "a refusal that does not name the file: %s",
                 ts_error_text(err, pool));
      ts_error_clear(err);
      continue;
    }
    FUZZ_CHECK(!c->twin, "twin mode passed the check");
    for (int i = 0; i < c->projects->nelts; i++) {
      const ts_project_t *p = &APR_ARRAY_IDX(c->projects, i, ts_project_t);
      FUZZ_CHECK(p->port + 2 < ports[k] || p->port > ports[k] + 5,
                 "project port %d overlaps p = %d", p->port, ports[k]);
    }
  }
  FUZZ_CHECK(!ts_config_project(c, "no such version"), "found a ghost");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  ts_config_t *c = NULL;
  ts_error_t *err;

  apr_pool_create(&pool, fuzz_init());
  err = ts_config_parse(&c, PATH, fuzz_cstring(data, size, pool), size,
                        pool);
  if (err) {
    const char *text = ts_error_text(err, pool);
    FUZZ_CHECK(strstr(text, PATH), "a refusal that does not name the file: "
               "%s", text);
    ts_error_clear(err);
  }
  else
    check_config(c, pool);
  apr_pool_destroy(pool);
  return 0;
}
