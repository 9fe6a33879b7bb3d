/* ts_config.c: tessera.xml (see ts_config.h). */
#include "ts_config.h"

#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_version.h"
#include "ts_xml.h"

extern const char ts_config_xsd[];

const char *
ts_config_path(const char *inolic, apr_pool_t *pool)
{
  return ts_path_join(inolic, "tessera.xml", pool);
}

static ts_config_t *
defaults(apr_pool_t *pool)
{
  ts_config_t *c = apr_pcalloc(pool, sizeof(*c));

  c->listen = apr_array_make(pool, 2, sizeof(const char *));
  c->lease_seconds = 60;
  c->probe_seconds = 10;
  c->gone_after_seconds = 30;
  c->bus_start = TS_BUS_AUTO;
  c->bus_program = "mosquitto";
  c->audit = 1;
  c->projects = apr_array_make(pool, 2, sizeof(ts_project_t));
  c->model_max = 20;
  c->session_idle_seconds = 1800;
  c->close_idle_seconds = 0;
  c->heartbeat_seconds = 10;
  c->fixed_ports = apr_array_make(pool, 2, sizeof(ts_fixed_port_t));
  c->notify.smtp_port = 587;
  c->notify.starttls = 1;
  c->notify.timeout_seconds = 60;
  c->notify.digest_hour = 6;
  c->notify.retry_seconds = 30;
  c->notify.retry_max_seconds = 3600;
  c->events_buffer = 10000;
  c->events_heartbeat_seconds = 15;
  c->events_max_queued_kib = 1024;
  c->proxy_idle_seconds = 300;
  return c;
}

/* An attribute the schema gave a default to (xmlGetProp sees defaults
 * only when they were applied, so fall back to DEF). */
static int
int_attr(xmlNodePtr n, const char *name, int def, apr_pool_t *pool)
{
  const char *v = ts_xml_attr(n, name, pool);

  return v ? atoi(v) : def;
}

static int
bool_attr(xmlNodePtr n, const char *name, int def, apr_pool_t *pool)
{
  const char *v = ts_xml_attr(n, name, pool);

  return v ? (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) : def;
}

static void
endpoint(ts_endpoint_t *e, xmlNodePtr n, int def_port, apr_pool_t *pool)
{
  e->address = ts_xml_attr(n, "address", pool);
  e->port = int_attr(n, "port", def_port, pool);
  e->line = (int)xmlGetLineNo(n);
}

static void
twin(ts_config_t *c, xmlNodePtr tw, apr_pool_t *pool)
{
  ts_twin_t *t = apr_pcalloc(pool, sizeof(*t));

  t->line = (int)xmlGetLineNo(tw);
  for (xmlNodePtr n = tw->children; n; n = n->next)
    if (ts_xml_is(n, "peer")) {
      endpoint(&t->peer, n, 0, pool);
      t->connect_timeout_seconds = int_attr(n, "connect-timeout-seconds", 3,
                                            pool);
      t->transfer_timeout_seconds = int_attr(n, "transfer-timeout-seconds",
                                             10, pool);
    }
    else if (ts_xml_is(n, "backends")) {
      int i = 0;
      t->retry_seconds = int_attr(n, "retry-seconds", 30, pool);
      for (xmlNodePtr b = n->children; b; b = b->next)
        if (ts_xml_is(b, "backend") && i < 3)   /* the schema: exactly 3 */
          endpoint(&t->backends[i++], b, 2379, pool);
    }
  c->twin = t;
}

static ts_error_t *
license_server(ts_config_t *c, xmlNodePtr ls, apr_pool_t *pool)
{
  for (xmlNodePtr n = ls->children; n; n = n->next) {
    if (ts_xml_is(n, "sessions"))
      c->lease_seconds = int_attr(n, "lease-seconds", c->lease_seconds, pool);
    else if (ts_xml_is(n, "model-servers")) {
      c->probe_seconds = int_attr(n, "probe-seconds", c->probe_seconds, pool);
      c->gone_after_seconds = int_attr(n, "gone-after-seconds",
                                       c->gone_after_seconds, pool);
      if (c->gone_after_seconds < c->probe_seconds)
        return ts_error_createf(TS_EINVAL, "%s line %ld, element "
          "model-servers: gone-after-seconds (%d) is shorter than "
          "probe-seconds (%d), so every model server would be marked gone "
          "between two probes; make it at least %d", c->path,
          xmlGetLineNo(n), c->gone_after_seconds, c->probe_seconds,
          2 * c->probe_seconds);
    }
    else if (ts_xml_is(n, "bus")) {
      const char *start = ts_xml_attr(n, "start", pool);
      const char *program = ts_xml_attr(n, "program", pool);
      if (start)
        c->bus_start = strcmp(start, "child") == 0 ? TS_BUS_CHILD
                       : strcmp(start, "external") == 0 ? TS_BUS_EXTERNAL
                       : TS_BUS_AUTO;
      if (program && *program)
        c->bus_program = program;
      c->bus_persistence = bool_attr(n, "persistence", 0, pool);
    }
    else if (ts_xml_is(n, "audit"))
      c->audit = bool_attr(n, "enabled", 1, pool);
    else if (ts_xml_is(n, "project")) {
      ts_project_t *p = apr_array_push(c->projects);
      p->version = ts_xml_attr(n, "version", pool);
      p->port = int_attr(n, "port", 0, pool);
      p->line = (int)xmlGetLineNo(n);
    }
    else if (ts_xml_is(n, "twin"))
      twin(c, n, pool);
  }
  return NULL;
}

/* FILE, relative to the directory of PATH unless it is absolute. */
static const char *
beside(const char *path, const char *file, apr_pool_t *pool)
{
  char *dir = apr_pstrdup(pool, path), *merged;
  char *end = strrchr(dir, '/');
  char *back = strrchr(dir, '\\');

  if (back && (!end || back > end))
    end = back;
  if (end)
    *end = '\0';
  if (apr_filepath_merge(&merged, end ? dir : ".", file, 0, pool)
      != APR_SUCCESS)
    return file;
  return merged;
}

/* <notify> and its <smtp>; a relative password-file is relative to the
 * directory of the file read. */
static void
notify(ts_notify_config_t *nc, xmlNodePtr n, const char *path,
       apr_pool_t *pool)
{
  nc->line = (int)xmlGetLineNo(n);
  nc->digest_hour = int_attr(n, "digest-hour", nc->digest_hour, pool);
  nc->retry_seconds = int_attr(n, "retry-seconds", nc->retry_seconds, pool);
  nc->retry_max_seconds = int_attr(n, "retry-max-seconds",
                                   nc->retry_max_seconds, pool);
  for (xmlNodePtr s = n->children; s; s = s->next) {
    const char *starttls, *file;
    if (!ts_xml_is(s, "smtp"))
      continue;
    nc->line = (int)xmlGetLineNo(s);
    nc->smtp_host = ts_xml_attr(s, "host", pool);
    nc->smtp_port = int_attr(s, "port", nc->smtp_port, pool);
    nc->from = ts_xml_attr(s, "from", pool);
    starttls = ts_xml_attr(s, "starttls", pool);
    nc->starttls = !starttls || strcmp(starttls, "none") != 0;
    nc->user = ts_xml_attr(s, "user", pool);
    nc->timeout_seconds = int_attr(s, "timeout-seconds",
                                   nc->timeout_seconds, pool);
    file = ts_xml_attr(s, "password-file", pool);
    if (file && *file)
      nc->password_file = beside(path, file, pool);
  }
}

ts_error_t *
ts_config_parse(ts_config_t **config, const char *path, const char *text,
                apr_size_t len, apr_pool_t *pool)
{
  ts_config_t *c = defaults(pool);
  xmlDocPtr doc;
  apr_pool_t *scratch;
  ts_error_t *err;

  c->path = apr_pstrdup(pool, path);
  apr_pool_create(&scratch, pool);
  err = ts_xml_load(&doc, path, text, len, ts_config_xsd, "configuration",
                    scratch);
  for (xmlNodePtr n = err ? NULL : xmlDocGetRootElement(doc)->children;
       n && !err; n = n->next) {
    if (ts_xml_is(n, "listen")) {
      const char *address = ts_xml_attr(n, "address", pool);
      apr_sockaddr_t *sa;
      if (apr_sockaddr_info_get(&sa, address, APR_UNSPEC, 0, 0, scratch))
        err = ts_error_createf(TS_EINVAL, "%s line %ld, element listen: the "
                               "address '%s' is neither an IP address nor "
                               "a host name that resolves here; write an "
                               "address of this machine, e.g. 127.0.0.1 "
                               "or ::1", path, xmlGetLineNo(n), address);
      else
        APR_ARRAY_PUSH(c->listen, const char *) = address;
    }
    else if (ts_xml_is(n, "license-server"))
      err = license_server(c, n, pool);
    else if (ts_xml_is(n, "machine"))
      c->machine = ts_xml_attr(n, "name", pool);
    else if (ts_xml_is(n, "notify"))
      notify(&c->notify, n, path, pool);
    else if (ts_xml_is(n, "events")) {
      c->events_buffer = int_attr(n, "buffer", c->events_buffer, pool);
      c->events_heartbeat_seconds = int_attr(n, "heartbeat-seconds",
                                             c->events_heartbeat_seconds,
                                             pool);
      c->events_max_queued_kib = int_attr(n, "max-queued-kib",
                                          c->events_max_queued_kib, pool);
    }
    else if (ts_xml_is(n, "model-servers")) {
      c->model_max = int_attr(n, "max", c->model_max, pool);
      c->session_idle_seconds = int_attr(n, "session-idle-seconds",
                                         c->session_idle_seconds, pool);
      c->close_idle_seconds = int_attr(n, "close-idle-seconds",
                                       c->close_idle_seconds, pool);
      c->heartbeat_seconds = int_attr(n, "heartbeat-seconds",
                                      c->heartbeat_seconds, pool);
      for (xmlNodePtr r = n->children; r; r = r->next)
        if (ts_xml_is(r, "repository")) {
          ts_fixed_port_t *f = apr_array_push(c->fixed_ports);
          f->path = ts_xml_attr(r, "path", pool);
          f->port = int_attr(r, "port", 0, pool);
          f->line = (int)xmlGetLineNo(r);
        }
    }
    else if (ts_xml_is(n, "proxy"))
      c->proxy_idle_seconds = int_attr(n, "idle-seconds",
                                       c->proxy_idle_seconds, pool);
  }
  apr_pool_destroy(scratch);
  /* whatever the parser's code, an invalid tessera.xml is the
   * administrator's to fix */
  if (err)
    return ts_error_wrap_codef(TS_ECONFIG, err, "the configuration %s was "
                               "not used", path);
  *config = c;
  return NULL;
}

ts_error_t *
ts_config_load(ts_config_t **config, const char *path, apr_pool_t *pool)
{
  apr_finfo_t fi;
  const char *text;
  apr_size_t len;
  apr_pool_t *scratch;
  ts_error_t *err;

  if (apr_stat(&fi, path, APR_FINFO_TYPE, pool) != APR_SUCCESS) {
    *config = defaults(pool);
    return NULL;
  }
  apr_pool_create(&scratch, pool);
  err = ts_file_read_all(&text, &len, path, scratch);
  if (err)
    err = ts_error_wrapf(err, "the configuration %s was not used", path);
  else
    err = ts_config_parse(config, path, text, len, pool);
  apr_pool_destroy(scratch);
  return err;
}

/* <notify> beyond the schema. */
static ts_error_t *
check_notify(const ts_config_t *c)
{
  const ts_notify_config_t *n = &c->notify;

  if (n->smtp_host && (!n->user || !*n->user) != !n->password_file)
    return ts_error_createf(TS_ECONFIG, "%s line %d, element smtp: SMTP "
      "AUTH needs both user and password-file (a file holding the "
      "password, readable by the notification service's account only); "
      "give both, or neither to send without AUTH", c->path, n->line);
  if (n->retry_max_seconds < n->retry_seconds)
    return ts_error_createf(TS_ECONFIG, "%s line %d, element notify: "
      "retry-max-seconds (%d) is shorter than retry-seconds (%d); make it "
      "at least %d", c->path, n->line, n->retry_max_seconds,
      n->retry_seconds, n->retry_seconds);
  return NULL;
}

ts_error_t *
ts_config_check(const ts_config_t *c, int port, apr_pool_t *pool)
{
  if (c->twin)
    return ts_error_createf(TS_ECONFIG, "%s line %d, element twin: twin "
      "mode (two fronts behind a virtual IP, the license state in etcd) is "
      "not available in Tessera %s yet; remove <twin> to run this license "
      "server on its own (`tessera-admin doctor` checks the twin's hosts "
      "already)", c->path, c->twin->line, TS_VERSION);
  TS_ERR(check_notify(c));
  for (int i = 0; i < c->fixed_ports->nelts; i++) {
    const ts_fixed_port_t *f = &APR_ARRAY_IDX(c->fixed_ports, i,
                                              ts_fixed_port_t);
    if (f->port >= port && f->port <= port + 5)
      return ts_error_createf(TS_ECONFIG, "%s line %d, element repository: "
        "the model server of %s cannot take port %d, one of the license "
        "server's %d..%d (INOHOST p..p+5); choose a port outside them",
        c->path, f->line, f->path, f->port, port, port + 5);
  }
  for (int i = 0; i < c->projects->nelts; i++) {
    const ts_project_t *p = &APR_ARRAY_IDX(c->projects, i, ts_project_t);
    if (p->port + 2 >= port && p->port <= port + 5)
      return ts_error_createf(TS_ECONFIG, "%s line %d, element project: the "
        "project license server %s on port %d uses ports %d..%d, which "
        "overlap the main license server's %d..%d (INOHOST); choose a port "
        "outside %d..%d", c->path, p->line, p->version, p->port, p->port,
        p->port + 2, port, port + 5, port - 2, port + 5);
    for (int j = 0; j < i; j++) {
      const ts_project_t *q = &APR_ARRAY_IDX(c->projects, j, ts_project_t);
      if (abs(p->port - q->port) <= 2)
        return ts_error_createf(TS_ECONFIG, "%s line %d, element project: "
          "the project license servers %s (port %d) and %s (port %d) need "
          "3 ports each (p', p'+1 bus, p'+2 hub) and overlap; move one at "
          "least 3 ports away", c->path, p->line, p->version, p->port,
          q->version, q->port);
    }
  }
  (void)pool;
  return NULL;
}

const ts_project_t *
ts_config_project(const ts_config_t *c, const char *version)
{
  for (int i = 0; i < c->projects->nelts; i++) {
    const ts_project_t *p = &APR_ARRAY_IDX(c->projects, i, ts_project_t);
    if (strcmp(p->version, version) == 0)
      return p;
  }
  return NULL;
}
