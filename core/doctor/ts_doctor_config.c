/* ts_doctor_config.c: the doctor's look at INOLIC/tessera.xml: valid or
 * absent, the bus broker it names installed, and the twin's hosts where
 * one failure would take two of them (seed 000). */
#include "ts_doctor_shared.h"

#include <apr_network_io.h>
#include <apr_strings.h>

#include "ts_bus.h"
#include "ts_config.h"
#include "ts_file.h"
#include "tsp.h"
#include "ts_ports.h"

/* One end of the twin setup as this machine sees it. */
typedef struct place_t {
  const ts_endpoint_t *e;
  int backend;                 /* 1..3, or 0: the twin peer */
  apr_sockaddr_t *addresses;   /* NULL: does not resolve */
  int local;                   /* one of them is this machine's */
} place_t;

static void
locate(place_t *p, ts_doctor_t *doc, const char *cfg_path)
{
  static const char fix[] = N_("write an IP address there, or make the "
                               "name resolve (DNS or the hosts file) on "
                               "every twin");

  if (apr_sockaddr_info_get(&p->addresses, p->e->address, APR_UNSPEC, 0, 0,
                            doc->pool) != APR_SUCCESS) {
    p->addresses = NULL;
    if (p->backend)
      ts_doctor_add(doc, TS_SEV_WARNING, "twin", p->e->address, fix,
                    "backend %d %s (%s line %d) does not resolve on this "
                    "machine, so the license server could not reach it",
                    p->backend, p->e->address, cfg_path, p->e->line);
    else
      ts_doctor_add(doc, TS_SEV_WARNING, "twin", p->e->address, fix,
                    "the twin peer %s (%s line %d) does not resolve on this "
                    "machine, so the license server could not reach it",
                    p->e->address, cfg_path, p->e->line);
    return;
  }
  for (apr_sockaddr_t *sa = p->addresses; sa && !p->local; sa = sa->next)
    p->local = ts_doctor_can_bind(sa, doc->pool);   /* port 0: the address */
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
  place_t peer = { &cfg->twin->peer, 0, NULL, 0 };
  place_t be[3];
  int warned = 0;

  locate(&peer, doc, cfg->path);
  if (peer.local) {
    ts_doctor_add(doc, TS_SEV_WARNING, "twin", peer.e->address,
                  N_("run the twin on another host (for virtual machines: "
                     "on another physical host) and write its address into "
                     "<peer address=...>"),
                  "the twin peer %s:%d (%s line %d) is this host: when it "
                  "fails, both license-server fronts are gone and the "
                  "virtual IP has nowhere to go", peer.e->address,
                  peer.e->port, cfg->path, peer.e->line);
    warned = 1;
  }
  for (int i = 0; i < 3; i++) {
    be[i].e = &cfg->twin->backends[i];
    be[i].backend = i + 1;
    be[i].addresses = NULL;
    be[i].local = 0;
    locate(&be[i], doc, cfg->path);
    warned |= !be[i].addresses;
  }
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++)
      if (be[i].addresses && be[j].addresses && same_host(&be[i], &be[j])) {
        ts_doctor_add(doc, TS_SEV_WARNING, "twin", be[j].e->address,
                      N_("move one of the two to a third host"),
                      be[i].local
                      ? N_("backends %d (%s:%d) and %d (%s:%d) in %s (lines "
                           "%d and %d) run on one host (this one): when it "
                           "fails, two of the three are gone, the license "
                           "state has no majority and refuses every "
                           "checkout")
                      : N_("backends %d (%s:%d) and %d (%s:%d) in %s (lines "
                           "%d and %d) run on one host: when it fails, two "
                           "of the three are gone, the license state has no "
                           "majority and refuses every checkout"),
                      i + 1, be[i].e->address, be[i].e->port, j + 1,
                      be[j].e->address, be[j].e->port, cfg->path,
                      be[i].e->line, be[j].e->line);
        warned = 1;
      }
  if (!warned)
    ts_doctor_add(doc, TS_SEV_INFO, "twin", cfg->path, NULL,
                  "the twin peer %s:%d is another host, and the three "
                  "backends are on three hosts (judged by their addresses)",
                  peer.e->address, peer.e->port);
}

/* The notification service's SMTP password file: readable (by this
 * account, which may not be the service's) and owner-only. */
static void
check_smtp(ts_doctor_t *doc, const ts_config_t *cfg)
{
  const char *file = cfg->notify.password_file, *text;
  apr_size_t len;
  ts_error_t *err;

  if (!cfg->notify.smtp_host || !file)
    return;
  err = ts_file_read_all(&text, &len, file, doc->pool);
  if (err) {
    ts_doctor_add_error(doc, TS_SEV_WARNING, "mail", file,
                        N_("write the SMTP password on the file's first "
                           "line, owned by the notification service's "
                           "account and readable by it only (if this "
                           "account may not read it, run the doctor as "
                           "that one)"), err);
    ts_error_clear(err);
  }
  else if (tsp_file_others_may_access(file, doc->pool))
    ts_doctor_add(doc, TS_SEV_ERROR, "mail", file,
                  N_("chmod 600 the file, then change the password at the "
                     "SMTP server"), "the SMTP password file may be read or "
                  "changed by other accounts: the notification service "
                  "refuses to start with it");
  else
    ts_doctor_add(doc, TS_SEV_INFO, "mail", file, NULL, "the SMTP password "
                  "file is readable and owner-only (%s port %d)",
                  cfg->notify.smtp_host, cfg->notify.smtp_port);
}

void
ts_doctor_check_config(ts_doctor_t *doc)
{
  const char *inolic = ts_doctor_value(doc, "INOLIC"), *path, *program;
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
    ts_doctor_add_error(doc, TS_SEV_ERROR, "configuration", path,
                        N_("fix the file (blueprints: config/blueprints/), "
                           "then `tesserad license --check`"), err);
    ts_error_clear(err);
    return;
  }
  ts_doctor_add(doc, TS_SEV_INFO, "configuration", path, NULL,
                cfg->path ? N_("valid")
                          : N_("absent: every default applies (listen on "
                               "every address, bus started by the license "
                               "server)"));
  for (int i = 0; i < cfg->projects->nelts; i++) {
    const ts_project_t *pr = &APR_ARRAY_IDX(cfg->projects, i, ts_project_t);
    const char *warning = ts_port_model_range_warning(
      apr_psprintf(doc->pool, "the project license server %s (%s line %d: "
                   "ports %d..%d, p' to p'+2)", pr->version, path, pr->line,
                   pr->port, pr->port + 2), pr->port, pr->port + 2, p,
      doc->pool);
    if (warning)
      ts_doctor_add(doc, TS_SEV_WARNING, "configuration", pr->version,
                    N_("move it in tessera.xml: <project version=... "
                       "port=...>"), "%s", warning);
  }
  check_smtp(doc, cfg);
  if (cfg->bus_start == TS_BUS_EXTERNAL)
    return;
  err = ts_bus_find_program(&program, cfg->bus_program, p + 1, doc->pool);
  if (err) {
    ts_doctor_add_error(doc, TS_SEV_ERROR, "bus", cfg->bus_program,
                        N_("apt-get install mosquitto (Windows: put "
                           "mosquitto.exe on PATH)"), err);
    ts_error_clear(err);
  }
  else
    ts_doctor_add(doc, TS_SEV_INFO, "bus", program, NULL, "the bus broker "
                  "for port %d is installed", p + 1);
}
