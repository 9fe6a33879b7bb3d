/* ts_doctor_project.c: the doctor's checks of the shared project
 * directory INOPRJ: its identity (<name>.inoprj.uuid) and ivm/logs, with
 * --fix making them as `project init` does; and access to it as each
 * account the agents run as. */
#include "ts_doctor_shared.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_project.h"
#include "tsp.h"

#define PROJECT_INIT "tessera-admin project init"

/* Create and remove a file in DIR: writable for us, really. */
static ts_error_t *
probe_writable(const char *dir, apr_pool_t *pool)
{
  apr_file_t *f;
  char *tmpl = apr_pstrcat(pool, dir, "/.tessera-probe-XXXXXX", NULL);
  apr_status_t s = tsp_sys.file_mktemp(&f, tmpl, 0, pool);

  if (s)
    return ts_error_aprf(s, "cannot create a file in %s", dir);
  tsp_sys.file_close(f);   /* DELONCLOSE removes it */
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
    err = ts_error_wrapf(err, "could not fix INOPRJ %s", prj);
    ts_doctor_add_error(doc, TS_SEV_ERROR, "project", prj, NULL, err);
    ts_error_clear(err);
  }
  else if (uuids)
    ts_doctor_add(doc, TS_SEV_INFO, "project", prj, NULL, "fixed: %s exists "
                  "(as `tessera-admin project init` makes it)", logs);
  else
    ts_doctor_add(doc, TS_SEV_INFO, "project", prj, NULL, "fixed: created "
                  "the identity %s; %s exists (as `tessera-admin project "
                  "init` makes it)", path, logs);
}

/* The identities (*.inoprj.uuid) in the listing DIR of PRJ: exactly one,
 * holding a UUID. *UUID_FILE receives the last one seen. */
static void
check_identity(const char **uuid_file, ts_doctor_t *doc, const char *prj,
               apr_dir_t *dir)
{
  apr_finfo_t fi;
  int uuids = 0;

  while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)
         == APR_SUCCESS) {
    const char *path, *text;
    apr_size_t len;
    ts_error_t *err;

    if (!ts_project_is_uuid_name(fi.name))
      continue;
    uuids++;
    path = ts_path_join(prj, fi.name, doc->pool);
    *uuid_file = path;
    err = ts_file_read_all(&text, &len, path, doc->pool);
    if (err) {
      ts_doctor_add_error(doc, TS_SEV_ERROR, "project", path, NULL, err);
      ts_error_clear(err);
    }
    else if (!ts_project_uuid_valid(text)) {
      ts_finding_t *f = ts_doctor_add(doc, TS_SEV_ERROR, "project", path,
                                      NULL, "%s does not hold a UUID (the "
                                      "project directory's identity, through "
                                      "which agents find out that they share "
                                      "it)", path);
      ts_doctor_fix(doc, f, N_("remove %s, then `%s`"), path, PROJECT_INIT);
    }
  }
  if (uuids == 0)
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj, PROJECT_INIT, "INOPRJ "
                  "%s has no <name>.inoprj.uuid file: agents cannot tell "
                  "that they share it", prj);
  else if (uuids > 1)
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj,
                  N_("keep one *.inoprj.uuid file and remove the others"),
                  "INOPRJ %s has %d *.inoprj.uuid files; exactly one names "
                  "the project directory", prj, uuids);
}

/* ivm and ivm/logs exist, and we can create files in them. */
static void
check_ivm(ts_doctor_t *doc, const char *prj)
{
  for (const char *const *d = (const char *const[]){ "ivm", "ivm/logs",
       NULL }; *d; d++) {
    const char *path = ts_path_join(prj, *d, doc->pool);
    apr_finfo_t fi;
    ts_error_t *err;

    if (apr_stat(&fi, path, APR_FINFO_TYPE, doc->pool) != APR_SUCCESS
        || fi.filetype != APR_DIR) {
      ts_doctor_add(doc, TS_SEV_ERROR, "project", path, PROJECT_INIT, "%s "
                    "is missing: agents keep their state and logs there",
                    path);
      continue;
    }
    err = probe_writable(path, doc->pool);
    if (err) {
      ts_finding_t *f = ts_doctor_add_error(doc, TS_SEV_ERROR, "project",
                                            path, NULL, err);
      ts_doctor_fix(doc, f, N_("chmod u+rwx %s (or give the agents' account "
                               "write access)"), path);
      ts_error_clear(err);
    }
  }
}

void
ts_doctor_check_project(ts_doctor_t *doc)
{
  const char *prj = ts_doctor_value(doc, "INOPRJ"), *uuid_file = NULL;
  apr_finfo_t fi;
  apr_dir_t *dir;
  int before = doc->findings->nelts;

  if (!prj)
    return;
  if (apr_stat(&fi, prj, APR_FINFO_TYPE, doc->pool) != APR_SUCCESS) {
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj, PROJECT_INIT, "INOPRJ "
                  "%s does not exist or cannot be read", prj);
    return;
  }
  if (fi.filetype != APR_DIR) {
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj,
                  N_("tessera-admin env set INOPRJ <directory> --scope all"),
                  "INOPRJ %s is not a directory", prj);
    return;
  }
  if (tsp_sys.dir_open(&dir, prj, doc->pool) != APR_SUCCESS) {
    ts_doctor_add(doc, TS_SEV_ERROR, "project", prj, NULL, "INOPRJ %s "
                  "cannot be listed (permissions?)", prj);
    return;
  }
  if (doc->fix)
    fix_project(doc, prj, dir);
  check_identity(&uuid_file, doc, prj, dir);
  apr_dir_close(dir);
  check_ivm(doc, prj);
  if (doc->findings->nelts == before)
    ts_doctor_add(doc, TS_SEV_INFO, "project", prj, NULL, "INOPRJ %s: its "
                  "identity %s holds a UUID; ivm and ivm/logs are writable",
                  prj, uuid_file);
}

/* ACCOUNT was named with --account, and INOPRJ could not be checked as
 * it (ERR, cleared here): this run needs root, or there is no such
 * account here. Said, and kept for the exit status. */
static void
not_checked(ts_doctor_t *doc, const char *account, ts_error_t *err)
{
  int perm = ts_error_code(err) == TS_EPERM;

  err = ts_error_wrapf(err, "INOPRJ was NOT checked as the account %s",
                       account);
  ts_doctor_add_error(doc, TS_SEV_WARNING, "permissions", account,
                      perm ? apr_psprintf(doc->pool, "sudo tessera-admin "
                                          "doctor --account %s", account)
                           : N_("name an account of this machine (the "
                                "agents' account here), or run the doctor "
                                "where it exists"), err);
  ts_error_clear(err);
  if (!doc->unchecked)
    doc->unchecked = apr_array_make(doc->pool, 2, sizeof(const char *));
  APR_ARRAY_PUSH(doc->unchecked, const char *) = account;
  if (perm)
    doc->unchecked_status = TS_EX_NOPERM;
  else if (!doc->unchecked_status)
    doc->unchecked_status = TS_EX_DATAERR;
}

void
ts_doctor_check_access(ts_doctor_t *doc, const char *const *accounts)
{
  const char *prj = ts_doctor_value(doc, "INOPRJ");
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
      int absent = ts_error_code(err) == TS_ENOENT;
      err = ts_error_wrapf(err, "INOPRJ was not checked as the service "
                           "account %s", accounts[a]);
      ts_doctor_add_error(doc, TS_SEV_INFO, "permissions", accounts[a],
                          absent ? N_("`tessera-admin service install "
                                      "license` creates it; name the agents' "
                                      "accounts with --account NAME")
                                 : "sudo tessera-admin doctor", err);
      ts_error_clear(err);
      continue;
    }
    if (err && a < doc->named && (ts_error_code(err) == TS_EPERM
                                  || ts_error_code(err) == TS_ENOENT)) {
      not_checked(doc, accounts[a], err);
      continue;
    }
    if (err) {
      ts_doctor_add_error(doc, ts_error_code(err) == TS_EUNAVAIL
                               ? TS_SEV_INFO : TS_SEV_WARNING,
                          "permissions", accounts[a], NULL, err);
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
                    rep->scanned == 1
                    ? N_("the account %s may not use %ld of the %ld entry "
                         "below INOPRJ %s (agents running as %s would fail "
                         "there), e.g. %s (checked as %s)")
                    : N_("the account %s may not use %ld of the %ld entries "
                         "below INOPRJ %s (agents running as %s would fail "
                         "there), e.g. %s (checked as %s)"),
                    accounts[a], rep->denied, rep->scanned, prj, accounts[a],
                    eg, rep->identity);
    }
    for (int i = 0; i < rep->probes->nelts; i++)
      ts_doctor_add(doc, TS_SEV_ERROR, "permissions", accounts[a], fix,
                    "as %s: %s", accounts[a],
                    APR_ARRAY_IDX(rep->probes, i, const char *));
    if (!rep->denied && !rep->probes->nelts)
      ts_doctor_add(doc, TS_SEV_INFO, "permissions", accounts[a], NULL,
                    rep->scanned == 1
                    ? N_("the account %s can read and write all %ld entry "
                         "below INOPRJ %s (checked as %s)")
                    : N_("the account %s can read and write all %ld entries "
                         "below INOPRJ %s (checked as %s)"),
                    accounts[a], rep->scanned, prj, rep->identity);
  }
}
