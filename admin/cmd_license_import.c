/* cmd_license_import.c: `tessera-admin license import FILE [--project
 * ##.#]`: install a license where its license server reads it, and have
 * a running server use it at once.
 *
 * The main license server reads INOLIC/tessera.lic, the project license
 * server of version ##.# INOLIC/projects/##.#/tessera.lic (its port p'
 * from tessera.xml). When that server answers, import has it read the
 * file again: by HUP when this account started it (its pid file, which
 * only this account may have written, names the pid the server reports),
 * else through POST /v1/license/reload with the administrator's password.
 * It then reports what the server uses; a license the server refuses
 * (another host than the one it started with, ...) is taken back, so the
 * file and the license in force stay the same, and the server's reason
 * is the error. When no server answers, the license takes effect at its
 * start. Either the license is installed and in force where a server
 * runs, or nothing changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>

#include "admin.h"
#include "ts_config.h"
#include "ts_file.h"
#include "ts_httpd.h"
#include "ts_license.h"
#include "ts_settings.h"
#include "tsp.h"

/* How long a server may take to read its license after HUP. */
#define HUP_DEADLINE apr_time_from_sec(10)

/* Where a license goes and which server reads it. */
typedef struct target_t {
  const char *host;             /* INOHOST's host: the license's binding */
  const char *inolic;
  const char *dir, *path;       /* INOLIC (or its project's), the file */
  const char *project;          /* NULL: the main license server */
  int port;                     /* its port; 0: none configured */
  const char *server;           /* "the license server on HOST port P",
                                   for people (see find_target) */
} target_t;

static ts_error_t *
find_target(target_t *t, const char *project, apr_pool_t *pool)
{
  tsp_settings_t *store;
  ts_settings_t *settings;
  const ts_setting_value_t *v;
  const char *inolic;

  memset(t, 0, sizeof(*t));
  TS_ERR(admin_open_store(&store, pool));
  TS_ERR(ts_settings_resolve(&settings, store, pool, pool));
  v = ts_settings_get(settings, "INOHOST");
  if (v->problem)
    return ts_setting_invalid(settings, v, pool);
  TS_ERR(ts_inohost_parse(&t->host, &t->port, v->value, pool));
  inolic = ts_settings_get(settings, "INOLIC")->value;
  t->inolic = inolic;
  t->dir = inolic;
  t->project = project;
  if (project) {
    ts_config_t *config;
    const ts_project_t *p;
    t->dir = ts_path_join(inolic, apr_pstrcat(pool, "projects/", project,
                                              NULL), pool);
    TS_ERR(ts_config_load(&config, ts_config_path(inolic, pool), pool));
    p = ts_config_project(config, project);
    t->port = p ? p->port : 0;
  }
  t->path = ts_path_join(t->dir, "tessera.lic", pool);
  /* The server as the subject of the messages about it: translated,
   * which only tessera-admin, speaking to people, may do (an error's
   * English text then holds it in their language). */
  if (t->port)
    t->server = apr_psprintf(pool, project
                             ? _("the project license server on %s port %d")
                             : _("the license server on %s port %d"),
                             t->host, t->port);
  return NULL;
}

/* ##.# and nothing else (as tessera.xml and the servers have it). */
static int
valid_version(const char *v)
{
  return strlen(v) == 4 && apr_isdigit(v[0]) && apr_isdigit(v[1])
         && v[2] == '.' && apr_isdigit(v[3]);
}

/* *STATUS: T's server's /v1/status, or NULL when nothing answers there.
 * A server that answers for another project is an error. */
static ts_error_t *
server_status(json_t **status, const target_t *t, apr_pool_t *pool)
{
  int code;
  const char *body, *project;
  json_t *j;
  ts_error_t *err;

  *status = NULL;
  if (!t->port)
    return NULL;
  err = ts_http_call(&code, &body, t->host, t->port, "GET", "/v1/status",
                     NULL, NULL, apr_time_from_sec(2), pool);
  if (err && ts_error_code(err) == TS_EUNAVAIL) {
    ts_error_clear(err);
    return NULL;
  }
  TS_ERR(err);
  j = json_loads(body, 0, NULL);
  project = json_string_value(json_object_get(j, "project"));
  if (code != 200 || !json_is_object(j)
      || (t->project ? !project || strcmp(project, t->project) != 0
                     : project != NULL)) {
    json_decref(j);
    if (!project)
      return ts_error_createf(TS_ECONFIG, "%s port %d does not answer GET "
                              "/v1/status as %s does (HTTP %d, no project): "
                              "check INOHOST and tessera.xml; nothing was "
                              "imported", t->host, t->port, t->server, code);
    return ts_error_createf(TS_ECONFIG, "%s port %d does not answer GET "
                            "/v1/status as %s does (HTTP %d, project %s): "
                            "check INOHOST and tessera.xml; nothing was "
                            "imported", t->host, t->port, t->server, code,
                            project);
  }
  *status = j;
  return NULL;
}

/* Put OLD (NULL: no file) back as T's license file. */
static ts_error_t *
take_back(const target_t *t, const char *old, apr_size_t old_len,
          apr_pool_t *pool)
{
  apr_status_t s;

  if (old)
    return ts_file_replace(t->path, old, old_len, TS_FPROT_FILE, pool);
  s = apr_file_remove(t->path, pool);
  return s ? ts_error_aprf(s, "cannot remove %s", t->path) : NULL;
}

/* One line per product of the server's answer J: "demo 10 seats to
 * 2099-12-31". */
static const char *
products_text(json_t *j, apr_pool_t *pool)
{
  const char *text = "";
  json_t *p;
  size_t i;

  json_array_foreach(json_object_get(j, "products"), i, p)
    text = apr_psprintf(pool, _("%s\n  %-20s %6ld seats to %s"), text,
                        json_string_value(json_object_get(p, "name")),
                        (long)json_integer_value(json_object_get(p,
                                                                 "seats")),
                        json_string_value(json_object_get(p, "expires")));
  return text;
}

/* The server's answer J (to the reload, or its status after HUP) judged
 * against LIC: NULL when it now uses LIC (and that is printed). */
static ts_error_t *
judge(const target_t *t, const ts_license_t *lic, json_t *j,
      const char *refused, apr_pool_t *pool)
{
  const char *id = json_string_value(json_object_get(j, "license"));

  if (refused)
    return ts_error_createf(TS_EINVAL, "%s refused license %s: %s",
                            t->server, lic->id, refused);
  if (!id)
    return ts_error_createf(TS_EUNAVAIL, "%s read %s again but uses no "
                            "license, not %s: was the file replaced "
                            "meanwhile?", t->server, t->path, lic->id);
  if (strcmp(id, lic->id) != 0)
    return ts_error_createf(TS_EUNAVAIL, "%s read %s again but uses license "
                            "%s, not %s: was the file replaced meanwhile?",
                            t->server, t->path, id, lic->id);
  printf(_("%s now uses license %s:%s\n"), t->server, id,
         products_text(j, pool));
  return NULL;
}

/* Ask T's server to reload through its API (with AUTH). */
static ts_error_t *
api_reload(const target_t *t, const ts_license_t *lic, const char *auth,
           apr_pool_t *pool)
{
  int code;
  const char *body;
  json_t *j;
  ts_error_t *err;

  TS_ERR(admin_http(&code, &body, t->host, t->port, "POST",
                    "/v1/license/reload", NULL, auth, pool));
  if (code != 200 && code != 422)
    return ts_error_wrapf(admin_refused(code, body), "%s refused to read "
                          "the license again", t->server);
  j = json_loads(body, 0, NULL);
  err = judge(t, lic, j, code == 200 ? NULL
              : json_string_value(json_object_get(j, "error"))
              ? json_string_value(json_object_get(j, "error")) : body, pool);
  json_decref(j);
  return err;
}

/* The number of license reloads STATUS reports. */
static json_int_t
reloads_of(json_t *status)
{
  return json_integer_value(json_object_get(json_object_get(status,
                                                            "reloads"),
                                            "count"));
}

/* Whether T's server, which reports PID, is one this account may HUP:
 * the system has HUP, and the server's pid file is believed (this
 * account's alone) and names PID. */
static int
may_signal(const target_t *t, long pid, apr_pool_t *pool)
{
  const char *pidfile = ts_path_join(t->inolic, apr_psprintf(pool,
                                     "logs/license.%d/license.pid",
                                     t->port), pool);
  const char *text = NULL;
  ts_error_t *err = tsp_pidfile_read(&text, pidfile, pool);
  int read = !err;

  ts_error_clear(err);
  /* the pid is the file's first word */
  return tsp_has_hup() && read && text && pid > 0
         && strtol(text, NULL, 10) == pid;
}

/* HUP T's server (PID, which had reloaded BEFORE times) and wait for it
 * to have read the license. Sending HUP failing is *SENT 0. */
static ts_error_t *
hup_reload(int *sent, const target_t *t, const ts_license_t *lic, long pid,
           json_int_t before, apr_pool_t *pool)
{
  apr_time_t until = apr_time_now() + HUP_DEADLINE;
  ts_error_t *err = tsp_server_reload(pid);

  *sent = !err;
  TS_ERR(err);
  do {
    json_t *status;
    apr_sleep(apr_time_from_msec(100));
    TS_ERR(server_status(&status, t, pool));
    if (status && reloads_of(status) > before) {
      err = judge(t, lic, status, json_string_value(json_object_get(
                  json_object_get(status, "reloads"), "refused")), pool);
      json_decref(status);
      return err;
    }
    json_decref(status);
  } while (apr_time_now() < until);
  return ts_error_createf(TS_EUNAVAIL, "%s (pid %ld) did not read its "
                          "license within %d s of HUP; see its log",
                          t->server, pid, (int)apr_time_sec(HUP_DEADLINE));
}

/* How T's server, which answered STATUS, will be told: *PID to HUP
 * where this account may (unless PASSWORD_STDIN says to use the
 * password), else 0 and *AUTH, the administrator's password. Before
 * anything is written: a password that cannot be had changes nothing. */
static ts_error_t *
how_to_tell(long *pid, const char **auth, const target_t *t,
            json_t *status, int password_stdin, apr_pool_t *pool)
{
  const char *as = NULL;

  *pid = (long)json_integer_value(json_object_get(status, "pid"));
  *auth = NULL;
  if (!password_stdin && may_signal(t, *pid, pool))
    return NULL;
  *pid = 0;
  if (!json_is_true(json_object_get(status, "admin_password_set")))
    return ts_error_createf(TS_EPERM, "%s runs and keeps its license until "
                            "told; this account cannot send it HUP, and "
                            "telling it through its API needs the "
                            "administrator's password, which is not set: "
                            "set it with `tessera-admin license passwd` and "
                            "import again; nothing was imported", t->server);
  return admin_password_header(auth, &as, password_stdin, pool);
}

/* Have T's server, which answered STATUS, read LIC: by HUP to PID (where
 * the system has no HUP, the password after all), else with AUTH. */
static ts_error_t *
tell_server(const target_t *t, const ts_license_t *lic, json_t *status,
            long pid, const char *auth, apr_pool_t *pool)
{
  const char *as = NULL;
  int sent = 0;
  ts_error_t *err;

  if (pid) {
    err = hup_reload(&sent, t, lic, pid, reloads_of(status), pool);
    if (sent || !err
        || !json_is_true(json_object_get(status, "admin_password_set")))
      return err;
    ts_error_clear(err);
    TS_ERR(admin_password_header(&auth, &as, 0, pool));
  }
  return api_reload(t, lic, auth, pool);
}

/* The server refused the license (ERR) and putting the earlier one back
 * failed too (BACK): one error of both (they are cleared). */
static ts_error_t *
both_failed(ts_error_t *err, ts_error_t *back, apr_pool_t *pool)
{
  const char *text[2];
  ts_errcode_t code = ts_error_code(err);

  for (int local = 0; local < 2; local++)
    text[local] = apr_psprintf(pool, ADMIN_TEXT(local,
      N_("%s; and putting the earlier license back failed: %s (copy it "
         "back by hand)")),
      local ? ts_error_message(err, pool) : ts_error_text(err, pool),
      local ? ts_error_message(back, pool) : ts_error_text(back, pool));
  ts_error_clear(err);
  ts_error_clear(back);
  return admin_error_texts(code, NULL, text[0], text[1]);
}

ts_error_t *
admin_license_import(admin_ctx_t *ctx, const char *file, const char *project,
                     int password_stdin)
{
  target_t t;
  const char *text, *old = NULL, *auth = NULL;
  apr_size_t len, old_len = 0;
  ts_license_t *lic;
  json_t *status;
  long pid = 0;
  ts_error_t *err, *back;

  if (project && !valid_version(project))
    return ts_error_createf(TS_EUSAGE, "--project takes a product version "
                            "##.# (e.g. 26.1), not '%s'", project);
  TS_ERR(find_target(&t, project, ctx->pool));
  TS_ERR_W(ts_file_read_all(&text, &len, file, ctx->pool),
           "cannot read the license");
  TS_ERR(ts_license_parse(&lic, file, text, len, ctx->pool));
  TS_ERR_W(ts_license_verify(lic, t.host, apr_time_now(), ctx->pool),
           "not imported; the installed license is unchanged");
  TS_ERR(server_status(&status, &t, ctx->pool));
  if (status) {
    err = how_to_tell(&pid, &auth, &t, status, password_stdin, ctx->pool);
    if (!err) {
      /* kept to be put back if the server refuses the new one */
      err = ts_file_read_all(&old, &old_len, t.path, ctx->pool);
      if (err && ts_error_code(err) == TS_ENOENT) {
        ts_error_clear(err);
        err = NULL;
        old = NULL;
      }
    }
    if (err) {
      json_decref(status);
      return err;
    }
  }
  err = ts_dir_make(t.dir, TS_FPROT_DIR, ctx->pool);
  if (!err)
    err = ts_file_replace(t.path, text, len, TS_FPROT_FILE, ctx->pool);
  if (!err && status)
    err = tell_server(&t, lic, status, pid, auth, ctx->pool);
  json_decref(status);
  if (!err) {
    printf(_("license %s for %s installed as %s\n"), lic->id, lic->host,
           t.path);
    if (!status)
      printf(t.server ? _("%s does not answer: the license takes effect "
                          "when it starts\n")
                      : _("tessera.xml has no project license server %s "
                          "yet: the license takes effect when one is "
                          "configured and started\n"),
             t.server ? t.server : project);
    return NULL;
  }
  if (!status)
    return err;   /* nothing was written */
  back = take_back(&t, old, old_len, ctx->pool);
  if (back)
    return both_failed(err, back, ctx->pool);
  return ts_error_wrapf(err, "license %s not imported (%s is as it was)",
                        lic->id, t.path);
}
