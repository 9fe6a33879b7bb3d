/* ts_doctor.c: the environment checks of `tessera-admin doctor` (see
 * ts_doctor.h): settings, network drives, ports, open files, the shared
 * project directory. Message queues are in ts_doctor_mq.c. */
#include "ts_doctor.h"
#include "ts_project.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_network_io.h>
#include <apr_strings.h>
#include <apr_general.h>

#include "ts_bus.h"
#include "ts_config.h"
#include "ts_file.h"
#include "ts_httpd.h"
#include "ts_ports.h"
#include "tsp.h"

const char *
ts_severity_name(ts_severity_t severity)
{
  switch (severity) {
  case TS_SEV_ERROR:   return "error";
  case TS_SEV_WARNING: return "warning";
  case TS_SEV_INFO:    return "info";
  }
  return "?";
}

void
ts_doctor_add(ts_doctor_t *doc, ts_severity_t severity, const char *check,
              const char *subject, const char *fix, const char *fmt, ...)
{
  ts_finding_t *f = apr_array_push(doc->findings);
  va_list ap;

  f->severity = severity;
  f->check = check;
  f->subject = subject ? apr_pstrdup(doc->pool, subject) : "";
  f->fix = fix ? apr_pstrdup(doc->pool, fix) : NULL;
  va_start(ap, fmt);
  f->message = apr_pvsprintf(doc->pool, fmt, ap);
  va_end(ap);
}

/* Can a listening socket bind SA (as our servers bind, see
 * tsp_listener_prepare)? With port 0 this asks whether the address is
 * one of this machine's; with a port, whether that port is free. Nothing
 * is sent. */
static int
can_bind(apr_sockaddr_t *sa, apr_pool_t *pool)
{
  apr_socket_t *s;
  int ok;

  if (apr_socket_create(&s, sa->family, SOCK_STREAM, APR_PROTO_TCP, pool))
    return 0;
  tsp_listener_prepare(s);
  ok = apr_socket_bind(s, sa) == APR_SUCCESS;
  apr_socket_close(s);
  return ok;
}

static const char *
value_of(ts_doctor_t *doc, const char *name)
{
  const ts_setting_value_t *v = ts_settings_get(doc->settings, name);
  return v && !v->problem ? v->value : NULL;
}

void
ts_doctor_check_settings(ts_doctor_t *doc)
{
  for (int i = 0; i < doc->settings->values->nelts; i++) {
    const ts_setting_value_t *v = &APR_ARRAY_IDX(doc->settings->values, i,
                                                 ts_setting_value_t);
    if (v->problem)
      ts_doctor_add(doc, TS_SEV_ERROR, "settings", v->def->name,
                    apr_psprintf(doc->pool, "tessera-admin env set %s %s",
                                 v->def->name, v->def->example
                                 ? v->def->example : "<value>"),
                    "%s '%s' from the %s%s%s%s is invalid: %s", v->def->name,
                    v->value, ts_source_name(v->source),
                    v->location ? " (" : "", v->location ? v->location : "",
                    v->location ? ")" : "", v->problem);
  }
}

/* --- configuration ------------------------------------------------------- */

/* One end of the twin setup as this machine sees it. */
typedef struct place_t {
  const ts_endpoint_t *e;
  const char *what;            /* "the twin peer", "backend 2" */
  apr_sockaddr_t *addresses;   /* NULL: does not resolve */
  int local;                   /* one of them is this machine's */
} place_t;


static void
locate(place_t *p, ts_doctor_t *doc, const char *cfg_path)
{
  if (apr_sockaddr_info_get(&p->addresses, p->e->address, APR_UNSPEC, 0, 0,
                            doc->pool) != APR_SUCCESS) {
    p->addresses = NULL;
    ts_doctor_add(doc, TS_SEV_WARNING, "twin", p->e->address,
                  "write an IP address there, or make the name resolve "
                  "(DNS or the hosts file) on every twin",
                  "%s %s (%s line %d) does not resolve on this machine, so "
                  "the license server could not reach it", p->what,
                  p->e->address, cfg_path, p->e->line);
    return;
  }
  for (apr_sockaddr_t *sa = p->addresses; sa && !p->local; sa = sa->next)
    p->local = can_bind(sa, doc->pool);   /* port 0: only the address */
}

/* Two places are one host when they share an address, or both are this
 * machine. */
static int
same_host(const place_t *a, const place_t *b)
{
  if (a->local && b->local)
    return 1;
  for (apr_sockaddr_t *x = a->addresses; x; x = x->next)
    for (apr_sockaddr_t *y = b->addresses; y; y = y->next)
      if (apr_sockaddr_equal(x, y))
        return 1;
  return 0;
}

/* Seed 000: the two fronts must not share a host, nor two of the three
 * backends (one host failing would take the majority with it). */
static void
check_twin(ts_doctor_t *doc, const ts_config_t *cfg)
{
  place_t peer = { &cfg->twin->peer, "the twin peer", NULL, 0 };
  place_t be[3];
  int warned = 0;

  locate(&peer, doc, cfg->path);
  if (peer.local) {
    ts_doctor_add(doc, TS_SEV_WARNING, "twin", peer.e->address,
                  "run the twin on another host (for virtual machines: on "
                  "another physical host) and write its address into "
                  "<peer address=...>",
                  "the twin peer %s:%d (%s line %d) is this host: when it "
                  "fails, both license-server fronts are gone and the "
                  "virtual IP has nowhere to go", peer.e->address,
                  peer.e->port, cfg->path, peer.e->line);
    warned = 1;
  }
  for (int i = 0; i < 3; i++) {
    be[i].e = &cfg->twin->backends[i];
    be[i].what = apr_psprintf(doc->pool, "backend %d", i + 1);
    be[i].addresses = NULL;
    be[i].local = 0;
    locate(&be[i], doc, cfg->path);
    warned |= !be[i].addresses;
  }
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++)
      if (be[i].addresses && be[j].addresses && same_host(&be[i], &be[j])) {
        ts_doctor_add(doc, TS_SEV_WARNING, "twin", be[j].e->address,
                      "move one of the two to a third host",
                      "backends %d (%s:%d) and %d (%s:%d) in %s (lines %d "
                      "and %d) run on one host%s: when it fails, two of the "
                      "three are gone, the license state has no majority "
                      "and refuses every checkout", i + 1, be[i].e->address,
                      be[i].e->port, j + 1, be[j].e->address, be[j].e->port,
                      cfg->path, be[i].e->line, be[j].e->line,
                      be[i].local ? " (this one)" : "");
        warned = 1;
      }
  if (!warned)
    ts_doctor_add(doc, TS_SEV_INFO, "twin", cfg->path, NULL,
                  "the twin peer %s:%d is another host, and the three "
                  "backends are on three hosts (judged by their addresses)",
                  peer.e->address, peer.e->port);
}

void
ts_doctor_check_config(ts_doctor_t *doc)
{
  const char *inolic = value_of(doc, "INOLIC"), *path, *program;
  int p = ts_settings_port(doc->settings);
  ts_config_t *cfg;
  ts_error_t *err;

  if (!inolic || !p)
    return;   /* reported by the settings check */
  path = ts_config_path(inolic, doc->pool);
  err = ts_config_load(&cfg, path, doc->pool);
  if (!err && cfg->path) {
    /* readable: the twin's hosts are worth checking even when this
     * version refuses twin mode */
    if (cfg->twin)
      check_twin(doc, cfg);
    err = ts_config_check(cfg, p, doc->pool);
  }
  if (err) {
    ts_doctor_add(doc, TS_SEV_ERROR, "configuration", path,
                  "fix the file (blueprints: config/blueprints/), then "
                  "`tesserad license --check`", "%s",
                  ts_error_text(err, doc->pool));
    ts_error_clear(err);
    return;
  }
  ts_doctor_add(doc, TS_SEV_INFO, "configuration", path, NULL, "%s",
                cfg->path ? "valid" : "absent: every default applies "
                "(listen on every address, bus started by the license "
                "server)");
  if (cfg->bus_start == TS_BUS_EXTERNAL)
    return;
  err = ts_bus_find_program(&program, cfg->bus_program, p + 1, doc->pool);
  if (err) {
    ts_doctor_add(doc, TS_SEV_ERROR, "bus", cfg->bus_program,
                  "apt-get install mosquitto (Windows: put mosquitto.exe on "
                  "PATH)", "%s", ts_error_text(err, doc->pool));
    ts_error_clear(err);
  }
  else
    ts_doctor_add(doc, TS_SEV_INFO, "bus", program, NULL, "the bus broker "
                  "for port %d is installed", p + 1);
}

/* --- network drives ------------------------------------------------------ */

static void
check_dir_local(ts_doctor_t *doc, const char *name, const char *path)
{
  const char *warning;
  int refuse = strcmp(name, "INOPRJ") == 0 || strncmp(name, "repository",
                                                      10) == 0;
  ts_error_t *err = ts_check_local_dir(&warning, name, path,
                                       refuse
                                       && tsp_services_refuse_remote_projects(),
                                       doc->pool);

  if (err) {
    ts_doctor_add(doc, ts_error_code(err) == TS_ECONFIG ? TS_SEV_ERROR
                                                        : TS_SEV_WARNING,
                  "network-drive", path,
                  apr_psprintf(doc->pool, "tessera-admin env set %s <local "
                               "directory> --scope all", name),
                  "%s", ts_error_text(err, doc->pool));
    ts_error_clear(err);
  }
  else if (warning)
    ts_doctor_add(doc, TS_SEV_WARNING, "network-drive", path,
                  apr_psprintf(doc->pool, "tessera-admin env set %s <local "
                               "directory> --scope all", name), "%s",
                  warning);
  else {
    tsp_fs_info_t fs;
    err = tsp_path_fs_info(&fs, path, doc->pool);
    if (!err)
      ts_doctor_add(doc, TS_SEV_INFO, "network-drive", path, NULL,
                    "%s %s is on a local file system (%s at %s)", name, path,
                    fs.fstype, fs.mount);
    ts_error_clear(err);
  }
}

void
ts_doctor_check_network_drives(ts_doctor_t *doc)
{
  static const char *const names[] = { "INOPRJ", "INOLIC", "INODIR", NULL };
  const char *prj = value_of(doc, "INOPRJ");
  apr_dir_t *dir;
  apr_finfo_t fi;

  for (int i = 0; names[i]; i++)
    if (value_of(doc, names[i]))
      check_dir_local(doc, names[i], value_of(doc, names[i]));
  /* every repository directory: it may be a mount of its own */
  if (prj && apr_dir_open(&dir, prj, doc->pool) == APR_SUCCESS) {
    while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)
           == APR_SUCCESS) {
      char *path;
      apr_finfo_t target;
      if (fi.name[0] == '.' || strcmp(fi.name, "ivm") == 0
          || apr_filepath_merge(&path, prj, fi.name, APR_FILEPATH_NATIVE,
                                doc->pool) != APR_SUCCESS)
        continue;
      /* apr_stat follows symlinks: a repository may be a link elsewhere */
      if (apr_stat(&target, path, APR_FINFO_TYPE, doc->pool) == APR_SUCCESS
          && target.filetype == APR_DIR)
        check_dir_local(doc, apr_pstrcat(doc->pool, "repository ",
                                         fi.name, NULL), path);
    }
    apr_dir_close(dir);
  }
}

/* --- ports ------------------------------------------------------------- */

/* Is PORT free to bind? */
static int
port_free(int port, apr_pool_t *pool)
{
  apr_sockaddr_t *sa;

  return apr_sockaddr_info_get(&sa, "0.0.0.0", APR_INET, (apr_port_t)port,
                               0, pool) == APR_SUCCESS
         && can_bind(sa, pool);
}

/* The Tessera role answering /health on PORT, or NULL. */
static const char *
tessera_role_on(int port, apr_pool_t *pool)
{
  const char *body, *role;
  int status;
  ts_error_t *err = ts_http_get(&status, &body, "127.0.0.1", port, "/health",
                                apr_time_from_msec(500), pool);

  if (err) {
    ts_error_clear(err);
    return NULL;
  }
  role = status == 200 ? strstr(body, "\"role\":\"") : NULL;
  return role ? apr_pstrndup(pool, role + 8, strcspn(role + 8, "\"")) : NULL;
}

/* "bus" when PORT carries a Tessera license server's bus (its retained
 * state), or NULL. */
static const char *
bus_on(int port, apr_pool_t *pool)
{
  const char *state = NULL;
  ts_error_t *err = ts_bus_read_retained(&state, "127.0.0.1", port,
                                         "license/state",
                                         apr_time_from_msec(700), pool);

  ts_error_clear(err);
  return state ? "bus" : NULL;
}

void
ts_doctor_check_ports(ts_doctor_t *doc)
{
  int p = ts_settings_port(doc->settings), free_models = 0;
  const char *agent = value_of(doc, "INOAGENTPORT");
  apr_array_header_t *plan;
  ts_error_t *err;

  if (!p)
    return;   /* reported by the settings check */
  err = ts_port_plan(&plan, p, agent ? atoi(agent) : p + 3,
                     TS_PLAN_DEFAULT_MODELS, doc->pool);
  if (err) {
    ts_doctor_add(doc, TS_SEV_ERROR, "ports", apr_itoa(doc->pool, p), NULL,
                  "%s", ts_error_text(err, doc->pool));
    ts_error_clear(err);
    return;
  }
  for (int i = 0; i < plan->nelts; i++) {
    const ts_port_entry_t *e = &APR_ARRAY_IDX(plan, i, ts_port_entry_t);
    if (e->first != e->last) {
      for (int port = e->first; port <= e->last; port++)
        free_models += port_free(port, doc->pool);
      ts_doctor_add(doc, free_models ? TS_SEV_INFO : TS_SEV_WARNING, "ports",
                    apr_psprintf(doc->pool, "%d-%d", e->first, e->last),
                    free_models ? NULL : "stop what holds them, or move p "
                    "with `tessera-admin env set INOHOST <host>.<port>`",
                    "%d of the %d model-server ports %s are free%s",
                    free_models, e->last - e->first + 1, e->offset,
                    tsp_services_refuse_remote_projects() ? ""
                    : "; Linux holds a closed port in TIME_WAIT for a while, "
                      "so leave spare ports if model servers restart often");
      continue;
    }
    if (port_free(e->first, doc->pool))
      continue;
    {
      const char *role = e->first == p + 1 ? bus_on(e->first, doc->pool)
                                           : tessera_role_on(e->first,
                                                             doc->pool);
      const char *owner = tsp_port_owner(e->first, doc->pool);
      if (role)
        ts_doctor_add(doc, TS_SEV_INFO, "ports", apr_itoa(doc->pool,
                      e->first), NULL, "port %d (%s, %s) is held by the "
                      "Tessera %s server%s%s", e->first, e->offset,
                      e->component, role, owner ? ", " : "",
                      owner ? owner : "");
      else
        ts_doctor_add(doc, TS_SEV_ERROR, "ports", apr_itoa(doc->pool,
                      e->first),
                      "stop that program, or move p with `tessera-admin env "
                      "set INOHOST <host>.<port>`",
                      "port %d (%s, the %s) is in use by %s, so the %s "
                      "cannot start", e->first, e->offset, e->component,
                      owner ? owner : "another program", e->component);
    }
  }
}

/* --- open files --------------------------------------------------------- */

void
ts_doctor_check_files(ts_doctor_t *doc)
{
  long soft, hard, need = doc->connections + 128;
  ts_error_t *err = tsp_fd_limit_raise(&soft, &hard, -1);   /* read only */

  if (err) {
    ts_doctor_add(doc, TS_SEV_WARNING, "open-files", "RLIMIT_NOFILE", NULL,
                  "%s", ts_error_text(err, doc->pool));
    ts_error_clear(err);
    return;
  }
  if (hard >= 0 && hard < need)
    ts_doctor_add(doc, TS_SEV_ERROR, "open-files",
                  apr_psprintf(doc->pool, "hard limit %ld", hard),
                  apr_psprintf(doc->pool, "LimitNOFILE=%ld in the unit "
                               "(`systemctl edit tessera-license`), or "
                               "'tessera - nofile %ld' in "
                               "/etc/security/limits.d/tessera.conf", need,
                               need),
                  "the hard limit of open files (%ld) is below the %ld a "
                  "server needs for %ld client connections; servers raise "
                  "their soft limit only up to the hard one", hard, need,
                  doc->connections);
  else if (soft >= 0)
    ts_doctor_add(doc, TS_SEV_INFO, "open-files",
                  apr_psprintf(doc->pool, "soft %ld, hard %ld", soft, hard),
                  NULL, "open files: servers raise the soft limit (%ld) to "
                  "the hard one (%ld), enough for %ld client connections",
                  soft, hard, doc->connections);
}

/* --- the shared project directory ---------------------------------------- */

/* Create and remove a file in DIR: writable for us, really. */
static ts_error_t *
probe_writable(const char *dir, apr_pool_t *pool)
{
  apr_file_t *f;
  char *tmpl = apr_pstrcat(pool, dir, "/.tessera-probe-XXXXXX", NULL);
  apr_status_t s = apr_file_mktemp(&f, tmpl, 0, pool);

  if (s)
    return ts_error_aprf(s, "cannot create a file in %s", dir);
  apr_file_close(f);   /* DELONCLOSE removes it */
  return NULL;
}

/* --fix: what `project init` would do, where it is safe: no identity yet
 * (never when there are two), or ivm/logs missing. DIR is rewound. */
static void
fix_project(ts_doctor_t *doc, const char *prj, apr_dir_t *dir)
{
  const char *logs = ts_path_join(prj, "ivm/logs", doc->pool), *path;
  apr_finfo_t fi;
  int uuids = 0;
  ts_error_t *err;

  while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS)
    uuids += ts_project_is_uuid_name(fi.name);
  apr_dir_rewind(dir);
  if (uuids > 1 || (uuids == 1 && apr_stat(&fi, logs, APR_FINFO_TYPE,
                                           doc->pool) == APR_SUCCESS))
    return;
  err = ts_project_init(&path, prj, NULL, doc->pool);
  if (err) {
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj, NULL, "could not fix "
                  "INOPRJ %s: %s", prj, ts_error_text(err, doc->pool));
    ts_error_clear(err);
    return;
  }
  ts_doctor_add(doc, TS_SEV_INFO, "project", prj, NULL, "fixed: %s%s "
                "exists (as `tessera-admin project init` makes it)",
                uuids ? "" : apr_pstrcat(doc->pool, "created the identity ",
                                         path, "; ", NULL), logs);
}

void
ts_doctor_check_project(ts_doctor_t *doc)
{
  const char *prj = value_of(doc, "INOPRJ"), *uuid_file = NULL;
  const char *init = apr_psprintf(doc->pool, "tessera-admin project init");
  apr_finfo_t fi;
  apr_dir_t *dir;
  int uuids = 0, before = doc->findings->nelts;

  if (!prj)
    return;
  if (apr_stat(&fi, prj, APR_FINFO_TYPE, doc->pool) != APR_SUCCESS) {
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj, init, "INOPRJ %s does "
                  "not exist or cannot be read", prj);
    return;
  }
  if (fi.filetype != APR_DIR) {
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj,
                  "tessera-admin env set INOPRJ <directory> --scope all",
                  "INOPRJ %s is not a directory", prj);
    return;
  }
  if (apr_dir_open(&dir, prj, doc->pool) != APR_SUCCESS) {
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj, NULL, "INOPRJ %s "
                  "cannot be listed (permissions?)", prj);
    return;
  }
  if (doc->fix)
    fix_project(doc, prj, dir);
  while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)
         == APR_SUCCESS) {
    const char *path, *text;
    apr_size_t len;
    ts_error_t *err;

    if (!ts_project_is_uuid_name(fi.name))
      continue;
    uuids++;
    path = ts_path_join(prj, fi.name, doc->pool);
    uuid_file = path;
    err = ts_file_read_all(&text, &len, path, doc->pool);
    if (err) {
      ts_doctor_add(doc, TS_SEV_ERROR, "project", path, NULL, "%s",
                    ts_error_text(err, doc->pool));
      ts_error_clear(err);
    }
    else if (!ts_project_uuid_valid(text))
      ts_doctor_add(doc, TS_SEV_ERROR, "project", path,
                    apr_psprintf(doc->pool, "remove %s, then `%s`", path,
                                 init),
                    "%s does not hold a UUID (the project directory's "
                    "identity, through which agents find out that they "
                    "share it)", path);
  }
  apr_dir_close(dir);
  if (uuids == 0)
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj, init, "INOPRJ %s has "
                  "no <name>.inoprj.uuid file: agents cannot tell that they "
                  "share it", prj);
  else if (uuids > 1)
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj,
                  "keep one *.inoprj.uuid file and remove the others",
                  "INOPRJ %s has %d *.inoprj.uuid files; exactly one names "
                  "the project directory", prj, uuids);
  for (const char *const *d = (const char *const[]){ "ivm", "ivm/logs",
       NULL }; *d; d++) {
    const char *path = ts_path_join(prj, *d, doc->pool);
    ts_error_t *err;
    if (apr_stat(&fi, path, APR_FINFO_TYPE, doc->pool) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
      ts_doctor_add(doc, TS_SEV_ERROR, "project", path, init, "%s is "
                    "missing: agents keep their state and logs there", path);
      continue;
    }
    err = probe_writable(path, doc->pool);
    if (err) {
      ts_doctor_add(doc, TS_SEV_ERROR, "project", path,
                    apr_psprintf(doc->pool, "chmod u+rwx %s (or give the "
                                 "agents' account write access)", path),
                    "%s", ts_error_text(err, doc->pool));
      ts_error_clear(err);
    }
  }
  if (doc->findings->nelts == before)
    ts_doctor_add(doc, TS_SEV_INFO, "project", prj, NULL, "INOPRJ %s: its "
                  "identity %s holds a UUID; ivm and ivm/logs are writable",
                  prj, uuid_file);
}

void
ts_doctor_check_access(ts_doctor_t *doc, const char *const *accounts)
{
  const char *prj = value_of(doc, "INOPRJ");
  apr_finfo_t fi;

  if (!prj || apr_stat(&fi, prj, APR_FINFO_TYPE, doc->pool) != APR_SUCCESS
      || fi.filetype != APR_DIR)
    return;   /* reported by the project check */
  for (int a = 0; accounts && accounts[a]; a++) {
    const char *probes[3] = { NULL }, *dirs[] = { "ivm", "ivm/logs" };
    const char *fix = tsp_access_fix(prj, accounts[a], doc->pool);
    tsp_access_report_t *rep;
    ts_error_t *err;
    int n = 0;

    /* a missing one is the project check's finding, not the account's */
    for (int i = 0; i < 2; i++) {
      const char *d = ts_path_join(prj, dirs[i], doc->pool);
      if (apr_stat(&fi, d, APR_FINFO_TYPE, doc->pool) == APR_SUCCESS
          && fi.filetype == APR_DIR)
        probes[n++] = d;
    }
    err = tsp_access_scan(&rep, prj, accounts[a], probes, doc->pool);
    if (err && doc->account_implicit
        && (ts_error_code(err) == TS_ENOENT || ts_error_code(err) == TS_EPERM)) {
      /* not asked for: say how to get the check, do not warn */
      ts_doctor_add(doc, TS_SEV_INFO, "permissions", accounts[a],
                    ts_error_code(err) == TS_ENOENT
                    ? "`tessera-admin service install license` creates it; "
                      "name the agents' accounts with --account NAME"
                    : "sudo tessera-admin doctor",
                    "INOPRJ was not checked as the service account %s: %s",
                    accounts[a], ts_error_text(err, doc->pool));
      ts_error_clear(err);
      continue;
    }
    if (err) {
      ts_doctor_add(doc, ts_error_code(err) == TS_EUNAVAIL ? TS_SEV_INFO
                                                           : TS_SEV_WARNING,
                    "permissions", accounts[a], NULL, "%s",
                    ts_error_text(err, doc->pool));
      ts_error_clear(err);
      continue;
    }
    if (rep->denied) {
      const char *eg = "";
      for (int i = 0; i < rep->examples->nelts && i < 3; i++)
        eg = apr_pstrcat(doc->pool, eg, i ? "; " : "",
                         APR_ARRAY_IDX(rep->examples, i, const char *),
                         NULL);
      ts_doctor_add(doc, TS_SEV_ERROR, "permissions", accounts[a], fix,
                    "the account %s may not use %ld of the %ld entries below "
                    "INOPRJ %s (agents running as %s would fail there), "
                    "e.g. %s (checked as %s)", accounts[a], rep->denied,
                    rep->scanned, prj, accounts[a], eg, rep->identity);
    }
    for (int i = 0; i < rep->probes->nelts; i++)
      ts_doctor_add(doc, TS_SEV_ERROR, "permissions", accounts[a], fix,
                    "as %s: %s", accounts[a],
                    APR_ARRAY_IDX(rep->probes, i, const char *));
    if (!rep->denied && !rep->probes->nelts)
      ts_doctor_add(doc, TS_SEV_INFO, "permissions", accounts[a], NULL,
                    "the account %s can read and write all %ld entries "
                    "below INOPRJ %s (checked as %s)", accounts[a],
                    rep->scanned, prj, rep->identity);
  }
}
