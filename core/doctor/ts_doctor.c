/* ts_doctor.c: the findings of `tessera-admin doctor` (see ts_doctor.h)
 * and the checks of this machine itself: the settings, whether the
 * directories are on network file systems, the limit of open files.
 * The other checks live by concern: tessera.xml and the twin
 * (ts_doctor_config.c), ports (ts_doctor_ports.c), the project directory
 * and access to it (ts_doctor_project.c), who shares it
 * (ts_doctor_scenarios.c), message queues (ts_doctor_mq.c). */
#include "ts_doctor_shared.h"

#include <stdarg.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "ts_config.h"
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

ts_finding_t *
ts_doctor_add_texts(ts_doctor_t *doc, ts_severity_t severity,
                    const char *check, const char *subject, const char *fix,
                    const char *message, const char *local)
{
  ts_finding_t *f = apr_array_push(doc->findings);

  f->severity = severity;
  f->check = check;
  f->subject = subject ? apr_pstrdup(doc->pool, subject) : "";
  f->fix = fix ? apr_pstrdup(doc->pool, fix) : NULL;
  f->fix_local = fix ? apr_pstrdup(doc->pool, _(fix)) : NULL;
  f->message = message;
  f->local = local;
  return f;
}

ts_finding_t *
ts_doctor_add(ts_doctor_t *doc, ts_severity_t severity, const char *check,
              const char *subject, const char *fix, const char *fmt, ...)
{
  const char *message, *local;
  va_list ap;

  va_start(ap, fmt);
  message = apr_pvsprintf(doc->pool, fmt, ap);
  va_end(ap);
  local = message;
  if (_(fmt) != fmt) {   /* the same arguments, the translated text */
    va_start(ap, fmt);
    local = apr_pvsprintf(doc->pool, _(fmt), ap);
    va_end(ap);
  }
  return ts_doctor_add_texts(doc, severity, check, subject, fix, message,
                             local);
}

ts_finding_t *
ts_doctor_add_error(ts_doctor_t *doc, ts_severity_t severity,
                    const char *check, const char *subject, const char *fix,
                    const ts_error_t *err)
{
  return ts_doctor_add_texts(doc, severity, check, subject, fix,
                             ts_error_text(err, doc->pool),
                             ts_error_message(err, doc->pool));
}

void
ts_doctor_fix(ts_doctor_t *doc, ts_finding_t *f, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  f->fix = apr_pvsprintf(doc->pool, fmt, ap);
  va_end(ap);
  va_start(ap, fmt);
  f->fix_local = apr_pvsprintf(doc->pool, _(fmt), ap);
  va_end(ap);
}

const char *
ts_doctor_from_source(const ts_setting_value_t *v, int local,
                      apr_pool_t *pool)
{
  const char *phrase;

  switch (v->source) {
  case TSP_SRC_DEFAULT:
    phrase = TS_DOCTOR_TEXT(local, N_("from the default"));
    break;
  case TSP_SRC_PROCESS_ENV:
    phrase = TS_DOCTOR_TEXT(local, N_("from the process environment"));
    break;
  case TSP_SRC_USER_FILE:
    phrase = TS_DOCTOR_TEXT(local, N_("from the user file"));
    break;
  case TSP_SRC_SYSTEM_FILE:
    phrase = TS_DOCTOR_TEXT(local, N_("from the system file"));
    break;
  case TSP_SRC_HKCU:
  case TSP_SRC_HKLM:   /* the location names the key, HKCU\... */
    phrase = TS_DOCTOR_TEXT(local, N_("from the registry"));
    break;
  default:
    phrase = ts_source_name(v->source);
  }
  return v->location ? apr_psprintf(pool, "%s (%s)", phrase, v->location)
                     : phrase;
}

int
ts_doctor_can_bind(apr_sockaddr_t *sa, apr_pool_t *pool)
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

const char *
ts_doctor_value(ts_doctor_t *doc, const char *name)
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
    const char *text[2];
    ts_finding_t *f;

    if (!v->problem)
      continue;
    /* where the value came from is a phrase in each language */
    for (int local = 0; local < 2; local++)
      text[local] = apr_psprintf(doc->pool, TS_DOCTOR_TEXT(local,
                                 N_("%s '%s' %s is invalid: %s")),
                                 v->def->name, v->value,
                                 ts_doctor_from_source(v, local, doc->pool),
                                 v->problem);
    f = ts_doctor_add_texts(doc, TS_SEV_ERROR, "settings", v->def->name,
                            NULL, text[0], text[1]);
    if (v->def->example)
      ts_doctor_fix(doc, f, "tessera-admin env set %s %s", v->def->name,
                    v->def->example);
    else
      ts_doctor_fix(doc, f, N_("tessera-admin env set %s <value>"),
                    v->def->name);
  }
}

/* --- network drives ------------------------------------------------------ */

/* The directory of setting NAME, or (NAME NULL) the repository REPO, at
 * PATH: on a local file system? */
static void
check_dir_local(ts_doctor_t *doc, const char *name, const char *repo,
                const char *path)
{
  const char *warning, *what = name ? name : apr_pstrcat(doc->pool,
                                                         "repository ",
                                                         repo, NULL);
  int refuse = !name || strcmp(name, "INOPRJ") == 0;
  ts_error_t *err = ts_check_local_dir(&warning, what, path,
                                       refuse
                                       && tsp_services_refuse_remote_projects(),
                                       doc->pool);
  tsp_fs_info_t fs;

  if (err || warning) {
    ts_finding_t *f = err
      ? ts_doctor_add_error(doc, ts_error_code(err) == TS_ECONFIG
                            ? TS_SEV_ERROR : TS_SEV_WARNING,
                            "network-drive", path, NULL, err)
      : ts_doctor_add(doc, TS_SEV_WARNING, "network-drive", path, NULL,
                      "%s", warning);
    ts_doctor_fix(doc, f, N_("tessera-admin env set %s <local directory> "
                             "--scope all"), what);
    ts_error_clear(err);
    return;
  }
  err = tsp_path_fs_info(&fs, path, doc->pool);
  if (!err && name)
    ts_doctor_add(doc, TS_SEV_INFO, "network-drive", path, NULL,
                  N_("%s %s is on a local file system (%s at %s)"), name,
                  path, fs.fstype, fs.mount);
  else if (!err)
    ts_doctor_add(doc, TS_SEV_INFO, "network-drive", path, NULL,
                  N_("the repository %s (%s) is on a local file system (%s "
                     "at %s)"), repo, path, fs.fstype, fs.mount);
  ts_error_clear(err);
}

void
ts_doctor_check_network_drives(ts_doctor_t *doc)
{
  static const char *const names[] = { "INOPRJ", "INOLIC", "INODIR", NULL };
  const char *prj = ts_doctor_value(doc, "INOPRJ");
  apr_dir_t *dir;
  apr_finfo_t fi;

  for (int i = 0; names[i]; i++)
    if (ts_doctor_value(doc, names[i]))
      check_dir_local(doc, names[i], NULL, ts_doctor_value(doc, names[i]));
  /* every repository directory: it may be a mount of its own */
  if (prj && tsp_sys.dir_open(&dir, prj, doc->pool) == APR_SUCCESS) {
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
        check_dir_local(doc, NULL, fi.name, path);
    }
    apr_dir_close(dir);
  }
}

/* --- open files --------------------------------------------------------- */

void
ts_doctor_check_files(ts_doctor_t *doc)
{
  long soft, hard, need = doc->connections + 128, n = doc->connections;
  ts_error_t *err = tsp_fd_limit_raise(&soft, &hard, -1);   /* read only */

  if (err) {
    ts_doctor_add_error(doc, TS_SEV_WARNING, "open-files", "RLIMIT_NOFILE",
                        NULL, err);
    ts_error_clear(err);
    return;
  }
  if (hard >= 0 && hard < need) {
    ts_finding_t *f = ts_doctor_add(doc, TS_SEV_ERROR, "open-files",
      apr_psprintf(doc->pool, "hard limit %ld", hard), NULL,
      n == 1 ? N_("the hard limit of open files (%ld) is below the %ld a "
                  "server needs for %ld client connection; servers raise "
                  "their soft limit only up to the hard one")
             : N_("the hard limit of open files (%ld) is below the %ld a "
                  "server needs for %ld client connections; servers raise "
                  "their soft limit only up to the hard one"),
      hard, need, n);
    ts_doctor_fix(doc, f, N_("LimitNOFILE=%ld in the unit (`systemctl edit "
                             "tessera-license`), or 'tessera - nofile %ld' "
                             "in /etc/security/limits.d/tessera.conf"),
                  need, need);
  }
  else if (soft >= 0)
    ts_doctor_add(doc, TS_SEV_INFO, "open-files",
                  apr_psprintf(doc->pool, "soft %ld, hard %ld", soft, hard),
                  NULL, n == 1 ? N_("open files: servers raise the soft "
                                    "limit (%ld) to the hard one (%ld), "
                                    "enough for %ld client connection")
                               : N_("open files: servers raise the soft "
                                    "limit (%ld) to the hard one (%ld), "
                                    "enough for %ld client connections"),
                  soft, hard, n);
}
