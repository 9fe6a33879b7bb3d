/* settings_store.c (posix): the architecture settings in environment files.
 *
 *   all users:    <sysconfdir>/tessera/environment   (sysconfdir = /etc)
 *                 <sysconfdir>/profile.d/tessera.sh exports it to login
 *                 shells; the systemd units name it in EnvironmentFile=.
 *   current user: $XDG_CONFIG_HOME/tessera/environment (~/.config/...)
 *                 $XDG_CONFIG_HOME/environment.d/60-tessera.conf mirrors it
 *                 for the user's systemd session.
 *
 * The file format is ts_envfile's: what sh sources and what systemd reads
 * are the same values. A write takes an exclusive lock on a lock file
 * beside the environment file (the environment file itself is replaced by
 * rename, so it cannot carry the lock), reads the current file, changes
 * one line and replaces the file atomically.
 */
#include "tsp.h"
#include "ts_i18n.h"

#include <errno.h>
#include <string.h>
#include <apr_env.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "ts_envfile.h"
#include "ts_file.h"

struct tsp_settings_t {
  const char *file[2];       /* by ts_scope_t */
  const char *dir[2];
  const char *profile_script;
  const char *environment_d;
  apr_pool_t *pool;
};

static const char *
env_or(const char *given, const char *name, apr_pool_t *pool)
{
  char *value;

  if (given)
    return given;
  if (apr_env_get(&value, name, pool) == APR_SUCCESS && *value)
    return value;
  return NULL;
}

ts_error_t *
tsp_settings_open(tsp_settings_t **store_p, const tsp_settings_roots_t *roots,
                  apr_pool_t *pool)
{
  static const tsp_settings_roots_t none = { 0 };
  tsp_settings_t *store = apr_pcalloc(pool, sizeof(*store));
  const char *etc, *home, *xdg;

  if (!roots)
    roots = &none;
  etc = roots->sysconfdir ? roots->sysconfdir : "/etc";
  home = env_or(roots->home, "HOME", pool);
  xdg = env_or(roots->xdg_config_home, "XDG_CONFIG_HOME", pool);
  if (!xdg && !home)
    return ts_error_createf(TS_ECONFIG, "neither HOME nor XDG_CONFIG_HOME "
                            "is set, so the current user's settings file "
                            "cannot be found; set HOME");
  if (!xdg)
    xdg = apr_pstrcat(pool, home, "/.config", NULL);

  store->dir[TS_SCOPE_ALL] = apr_pstrcat(pool, etc, "/tessera", NULL);
  store->dir[TS_SCOPE_USER] = apr_pstrcat(pool, xdg, "/tessera", NULL);
  for (int s = 0; s < 2; s++)
    store->file[s] = apr_pstrcat(pool, store->dir[s], "/environment", NULL);
  store->profile_script = apr_pstrcat(pool, etc, "/profile.d/tessera.sh",
                                      NULL);
  store->environment_d = apr_pstrcat(pool, xdg,
                                     "/environment.d/60-tessera.conf", NULL);
  store->pool = pool;
  *store_p = store;
  return NULL;
}

const char *
tsp_settings_location(const tsp_settings_t *store, ts_scope_t scope)
{
  return store->file[scope];
}

tsp_source_t
tsp_settings_source(ts_scope_t scope)
{
  return scope == TS_SCOPE_ALL ? TSP_SRC_SYSTEM_FILE : TSP_SRC_USER_FILE;
}

/* Read and parse PATH; a missing file is an empty one. */
static ts_error_t *
load(ts_envfile_t **ef, const char *path, apr_pool_t *pool)
{
  const char *text;
  apr_size_t len;
  ts_error_t *err = ts_file_read_all(&text, &len, path, pool);

  /* No file yet is an empty store; anything else is worth reporting. */
  if (err && APR_STATUS_IS_ENOENT(err->apr_err)) {
    ts_error_clear(err);
    *ef = ts_envfile_create(path, pool);
    return NULL;
  }
  if (err)
    return ts_error_wrapf(err, "cannot read the settings file %s", path);
  return ts_envfile_parse(ef, path, text, len, pool);
}

static void
collect(void *baton, const char *name, const char *value, int line)
{
  (void)line;
  apr_hash_set(baton, name, APR_HASH_KEY_STRING, value);
}

ts_error_t *
tsp_settings_read(apr_hash_t **values, tsp_settings_t *store,
                  ts_scope_t scope, apr_pool_t *result_pool,
                  apr_pool_t *scratch_pool)
{
  ts_envfile_t *ef;

  (void)scratch_pool;
  TS_ERR(load(&ef, store->file[scope], result_pool));
  *values = apr_hash_make(result_pool);
  ts_envfile_each(ef, collect, *values);
  return NULL;
}

static ts_error_t *
permission_error(ts_error_t *err, tsp_settings_t *store, ts_scope_t scope)
{
  if (!ts_error_has(err, TS_EPERM))
    return err;
  /* N_(): ts_error__createf's formats are not extracted otherwise */
  return ts_error__createf(TS__WHERE, TS_EPERM, 0, err,
                           scope == TS_SCOPE_ALL
                           ? N_("no permission to change the all-users "
                                "settings in %s")
                           : N_("no permission to change the current "
                                "user's settings in %s"),
                           store->file[scope]);
}

/* /etc/profile.d/tessera.sh: exports the all-users settings to login
 * shells. Written once; an administrator's edits are kept. */
static ts_error_t *
ensure_profile_script(tsp_settings_t *store, apr_pool_t *pool)
{
  static const char script[] =
    "# Tessera: export the all-users architecture settings to login shells.\n"
    "# Written by tessera-admin; the values live in the file below.\n"
    "if [ -r %s ]; then\n"
    "  set -a\n"
    "  . %s\n"
    "  set +a\n"
    "fi\n";
  apr_finfo_t fi;
  const char *text, *dir;

  if (apr_stat(&fi, store->profile_script, APR_FINFO_TYPE, pool)
      == APR_SUCCESS)
    return NULL;
  dir = apr_pstrndup(pool, store->profile_script,
                     strrchr(store->profile_script, '/')
                     - store->profile_script);
  TS_ERR(ts_dir_make(dir, TS_FPROT_DIR, pool));
  text = apr_psprintf(pool, script, store->file[TS_SCOPE_ALL],
                      store->file[TS_SCOPE_ALL]);
  return ts_file_replace(store->profile_script, text, strlen(text),
                         TS_FPROT_FILE, pool);
}

/* environment.d performs $-expansion on values, which the environment file
 * does not; values containing '$' are left out of it, saying so. */
static void
mirror_line(void *baton, const char *name, const char *value, int line)
{
  struct { apr_pool_t *pool; const char *text; } *m = baton;

  (void)line;
  if (strchr(value, '$'))
    m->text = apr_pstrcat(m->pool, m->text, "# ", name, " is not mirrored: "
                          "its value contains '$', which environment.d "
                          "would expand\n", NULL);
  else
    m->text = apr_pstrcat(m->pool, m->text, name, "=",
                          ts_envfile_quote(value, m->pool), "\n", NULL);
}

static ts_error_t *
write_environment_d(tsp_settings_t *store, const ts_envfile_t *ef,
                    apr_pool_t *pool)
{
  struct { apr_pool_t *pool; const char *text; } m = { pool,
    "# Tessera: the current user's architecture settings for the systemd\n"
    "# user session. Generated by tessera-admin from the file below; edit\n"
    "# that one instead:\n# " };
  const char *dir = apr_pstrndup(pool, store->environment_d,
                                 strrchr(store->environment_d, '/')
                                 - store->environment_d);

  m.text = apr_pstrcat(pool, m.text, store->file[TS_SCOPE_USER], "\n", NULL);
  ts_envfile_each(ef, mirror_line, &m);
  TS_ERR(ts_dir_make(dir, TS_FPROT_DIR, pool));
  return ts_file_replace(store->environment_d, m.text, strlen(m.text), TS_FPROT_FILE,
                         pool);
}

static ts_error_t *
locked_write(tsp_settings_t *store, ts_scope_t scope, const char *name,
             const char *value, apr_pool_t *pool)
{
  const char *lockpath = apr_pstrcat(pool, store->dir[scope],
                                     "/.environment.lock", NULL);
  apr_file_t *lock;
  apr_status_t s;
  ts_envfile_t *ef;
  ts_error_t *err;
  const char *text;

  TS_ERR(ts_dir_make(store->dir[scope], TS_FPROT_DIR, pool));
  s = apr_file_open(&lock, lockpath, APR_FOPEN_CREATE | APR_FOPEN_WRITE,
                    TS_FPROT_FILE, pool);
  if (s)
    return ts_error_aprf(s, "cannot open the lock file %s", lockpath);
  s = apr_file_lock(lock, APR_FLOCK_EXCLUSIVE);
  if (s) {
    apr_file_close(lock);
    return ts_error_aprf(s, "cannot lock %s", lockpath);
  }
  err = load(&ef, store->file[scope], pool);
  if (!err) {
    if (value)
      ts_envfile_set(ef, name, value);
    else
      ts_envfile_unset(ef, name);
    text = ts_envfile_render(ef);
    err = ts_file_replace(store->file[scope], text, strlen(text), TS_FPROT_FILE,
                          pool);
  }
  if (!err && scope == TS_SCOPE_USER)
    err = write_environment_d(store, ef, pool);
  if (!err && scope == TS_SCOPE_ALL)
    err = ensure_profile_script(store, pool);
  apr_file_unlock(lock);
  apr_file_close(lock);
  return err;
}

ts_error_t *
tsp_settings_write(tsp_settings_t *store, ts_scope_t scope, const char *name,
                   const char *value, apr_pool_t *scratch_pool)
{
  ts_error_t *err;

  if (value)
    TS_ERR(ts_envfile_check(name, value));
  err = locked_write(store, scope, name, value, scratch_pool);
  return err ? permission_error(err, store, scope) : NULL;
}
