/* service_install.c (posix): Tessera servers as systemd units.
 *
 * A unit is generated from config/tessera-role.service.in (compiled in as
 * tsp_unit_template) into <sysconfdir>/systemd/system/<name>.service,
 * written atomically, then `systemctl daemon-reload` and `systemctl
 * enable --now`. The servers run as a dedicated system user (created with
 * useradd when missing) that owns the directories the server writes.
 * systemctl's own words are passed on when it fails.
 */
#include "tsp.h"

#include <errno.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "ts_file.h"

extern const char tsp_unit_template[];

/* Run ARGV (searched in PATH); *OUT gets stdout and stderr together. */
static ts_error_t *
run_tool(int *status, const char **out, const char *const *argv,
         apr_pool_t *pool)
{
  apr_procattr_t *attr;
  apr_proc_t proc;
  apr_exit_why_e why;
  apr_file_t *tmp;
  apr_status_t s;
  apr_finfo_t fi;
  apr_off_t off = 0;
  apr_size_t len;
  char *text;
  char tmpl[] = "/tmp/tessera-tool-XXXXXX";

  s = apr_file_mktemp(&tmp, tmpl, 0, pool);
  if (s)
    return ts_error_aprf(s, "cannot create a temporary file");
  apr_procattr_create(&attr, pool);
  apr_procattr_child_out_set(attr, tmp, NULL);
  apr_procattr_child_err_set(attr, tmp, NULL);
  apr_procattr_cmdtype_set(attr, APR_PROGRAM_PATH);
  s = apr_proc_create(&proc, argv[0], argv, NULL, attr, pool);
  if (s)
    return ts_error_aprf(s, "cannot run %s", argv[0]);
  apr_proc_wait(&proc, status, &why, APR_WAIT);
  if (why != APR_PROC_EXIT)
    *status = 128 + *status;
  /* Read through our handle: the file was deleted when the copy handed to
   * the child was closed (apr_file_mktemp's DELONCLOSE). */
  apr_file_info_get(&fi, APR_FINFO_SIZE, tmp);
  apr_file_seek(tmp, APR_SET, &off);
  text = apr_pcalloc(pool, (apr_size_t)fi.size + 1);
  apr_file_read_full(tmp, text, (apr_size_t)fi.size, &len);
  *out = text;
  apr_file_close(tmp);
  return NULL;
}

static ts_error_t *
systemctl(const char *const *args, const tsp_service_spec_t *spec,
          apr_pool_t *pool)
{
  const char *argv[8] = { "systemctl" };
  const char *out, *cmd = "systemctl";
  int status, i;

  for (i = 0; args[i]; i++) {
    argv[i + 1] = args[i];
    cmd = apr_pstrcat(pool, cmd, " ", args[i], NULL);
  }
  TS_ERR(run_tool(&status, &out, argv, pool));
  if (status != 0 && *out)   /* systemctl's first line, as it said it */
    return ts_error_createf(TS_EUNAVAIL, "`%s` failed (exit %d): %s; "
                            "`systemctl status %s` and `journalctl -u %s` "
                            "say why", cmd, status,
                            apr_pstrndup(pool, out, strcspn(out, "\n")),
                            spec->name, spec->name);
  if (status != 0)
    return ts_error_createf(TS_EUNAVAIL, "`%s` failed (exit %d); `systemctl "
                            "status %s` and `journalctl -u %s` say why", cmd,
                            status, spec->name, spec->name);
  return NULL;
}

static const char *
unit_path(const tsp_service_spec_t *spec, apr_pool_t *pool)
{
  return apr_psprintf(pool, "%s/systemd/system/%s.service",
                      spec->sysconfdir ? spec->sysconfdir : "/etc",
                      spec->name);
}

static const char *
replace(const char *text, const char *key, const char *value,
        apr_pool_t *pool)
{
  const char *out = "", *p;

  while ((p = strstr(text, key))) {
    out = apr_pstrcat(pool, out, apr_pstrndup(pool, text, p - text), value,
                      NULL);
    text = p + strlen(key);
  }
  return apr_pstrcat(pool, out, text, NULL);
}

static ts_error_t *
ensure_account(struct passwd **pw, const tsp_service_spec_t *spec,
               apr_pool_t *pool)
{
  const char *out;
  int status;

  *pw = getpwnam(spec->account);
  if (*pw)
    return NULL;
  TS_ERR(run_tool(&status, &out, (const char *const[]){ "useradd",
    "--system", "--user-group", "--no-create-home", "--home-dir",
    "/var/lib/tessera", "--shell", "/usr/sbin/nologin", "--comment",
    "Tessera servers", spec->account, NULL }, pool));
  if (status != 0)
    return ts_error_createf(TS_EOS, "cannot create the service account "
                            "'%s': useradd exited %d: %s", spec->account,
                            status, out);
  *pw = getpwnam(spec->account);
  if (!*pw)
    return ts_error_createf(TS_EOS, "useradd created '%s', but it cannot be "
                            "found", spec->account);
  return NULL;
}

ts_error_t *
tsp_service_install(const tsp_service_spec_t *spec, apr_pool_t *pool)
{
  struct passwd *pw;
  const char *unit = tsp_unit_template, *after = "", *path, *dir;

  TS_ERR(ensure_account(&pw, spec, pool));
  for (int i = 0; spec->writable && spec->writable[i]; i++) {
    TS_ERR(ts_dir_make(spec->writable[i], TS_FPROT_DIR, pool));
    if (chown(spec->writable[i], pw->pw_uid, pw->pw_gid) < 0)
      return ts_error_aprf(APR_FROM_OS_ERROR(errno), "chown(\"%s\", %s) "
                           "failed", spec->writable[i], spec->account);
  }
  for (int i = 0; spec->owned && spec->owned[i]; i++)
    TS_ERR(tsp_file_hand_over(spec->owned[i], spec->account, 1, pool));
  for (int i = 0; spec->after && spec->after[i]; i++)
    after = apr_psprintf(pool, "%sAfter=%s.service\nWants=%s.service\n",
                         after, spec->after[i], spec->after[i]);
  unit = replace(unit, "@ROLE@", spec->role, pool);
  unit = replace(unit, "@NAME@", spec->name, pool);
  unit = replace(unit, "@TESSERAD@", spec->program, pool);
  unit = replace(unit, "@USER@", spec->account, pool);
  unit = replace(unit, "@NOFILE@", apr_ltoa(pool, spec->nofile), pool);
  unit = replace(unit, "@SYSCONFDIR@",
                 spec->sysconfdir ? spec->sysconfdir : "/etc", pool);
  unit = replace(unit, "@AFTER@\n", after, pool);
  path = unit_path(spec, pool);
  dir = apr_pstrndup(pool, path, strrchr(path, '/') - path);
  TS_ERR(ts_dir_make(dir, TS_FPROT_DIR, pool));
  TS_ERR(ts_file_replace(path, unit, strlen(unit), TS_FPROT_FILE, pool));
  TS_ERR_W(systemctl((const char *const[]){ "daemon-reload", NULL }, spec,
                     pool), "the unit file %s is written", path);
  TS_ERR_W(systemctl((const char *const[]){ "enable", "--now",
                                            spec->name, NULL }, spec, pool),
           "the unit file %s is written", path);
  return NULL;
}

ts_error_t *
tsp_service_uninstall(const tsp_service_spec_t *spec, apr_pool_t *pool)
{
  const char *path = unit_path(spec, pool);
  apr_status_t s;
  ts_error_t *err;

  err = systemctl((const char *const[]){ "disable", "--now", spec->name,
                                         NULL }, spec, pool);
  s = apr_file_remove(path, pool);
  if (s && !APR_STATUS_IS_ENOENT(s)) {
    ts_error_clear(err);
    return ts_error_aprf(s, "cannot remove the unit file %s", path);
  }
  if (err && APR_STATUS_IS_ENOENT(s))
    return ts_error_wrapf(err, "%s is not installed (no %s)", spec->name,
                          path);
  ts_error_clear(err);
  return systemctl((const char *const[]){ "daemon-reload", NULL }, spec,
                   pool);
}

ts_error_t *
tsp_service_control(const tsp_service_spec_t *spec, int start,
                    apr_pool_t *pool)
{
  return systemctl((const char *const[]){ start ? "start" : "stop",
                                          spec->name, NULL }, spec, pool);
}

ts_error_t *
tsp_service_query(const char **state, const char **detail,
                  const tsp_service_spec_t *spec, apr_pool_t *pool)
{
  const char *out, *active, *sub, *load;
  int status;

  TS_ERR(run_tool(&status, &out, (const char *const[]){ "systemctl", "show",
    "--property=LoadState,ActiveState,SubState,StatusText", spec->name,
    NULL }, pool));
  if (status != 0)
    return ts_error_createf(TS_EUNAVAIL, "`systemctl show %s` failed (exit "
                            "%d): %s", spec->name, status, out);
  load = strstr(out, "LoadState=");
  active = strstr(out, "ActiveState=");
  sub = strstr(out, "SubState=");
  *detail = apr_pstrdup(pool, out);
  if (load && strncmp(load + 10, "not-found", 9) == 0)
    *state = "not installed";
  else if (active && strncmp(active + 12, "active", 6) == 0)
    *state = "running";
  else if (active && strncmp(active + 12, "activating", 10) == 0)
    *state = "starting";
  else if (active && strncmp(active + 12, "deactivating", 12) == 0)
    *state = "stopping";
  else if (active && strncmp(active + 12, "failed", 6) == 0)
    *state = "failed";
  else
    *state = "stopped";
  (void)sub;
  return NULL;
}

ts_error_t *
tsp_env_set(const char *name, const char *value, apr_pool_t *pool)
{
  (void)pool;
  if (setenv(name, value, 1) != 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "cannot set %s in the "
                         "environment", name);
  return NULL;
}

ts_error_t *
tsp_program_path(const char **path, apr_pool_t *pool)
{
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

  if (n < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno),
                         "readlink(\"/proc/self/exe\") failed");
  buf[n] = '\0';
  *path = apr_pstrdup(pool, buf);
  return NULL;
}
