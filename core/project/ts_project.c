/* ts_project.c: the identity of a project directory (INOPRJ), see
 * ts_project.h. */
#include "ts_project.h"

#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_general.h>

#include "ts_file.h"
#include "tsp.h"

/* 8-4-4-4-12 hex digits, one line (a newline may follow). */
int
ts_project_uuid_valid(const char *text)
{
  static const int groups[] = { 8, 4, 4, 4, 12 };
  const char *p = text;

  for (int g = 0; g < 5; g++) {
    for (int i = 0; i < groups[g]; i++, p++)
      if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')
            || (*p >= 'A' && *p <= 'F')))
        return 0;
    if (g < 4 && *p++ != '-')
      return 0;
  }
  if (*p == '\r')
    p++;
  if (*p == '\n')
    p++;
  return *p == '\0';
}

/* A random (version 4) UUID. */
static ts_error_t *
uuid_new(char out[38])
{
  unsigned char b[16];
  apr_status_t s = apr_generate_random_bytes(b, sizeof(b));

  if (s)
    return ts_error_aprf(s, "cannot get random bytes for a UUID");
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  apr_snprintf(out, 38, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
               "%02x%02x%02x%02x%02x%02x\n", b[0], b[1], b[2], b[3], b[4],
               b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
               b[14], b[15]);
  return NULL;
}

int
ts_project_is_uuid_name(const char *name)
{
  size_t n = strlen(name);
  return n > 12 && strcmp(name + n - 12, ".inoprj.uuid") == 0;
}

ts_error_t *
ts_project_init(const char **path, const char *inoprj, const char *name,
                apr_pool_t *pool)
{
  apr_dir_t *dir;
  apr_finfo_t fi;
  char text[38];

  TS_ERR(ts_dir_make(ts_path_join(inoprj, "ivm/logs", pool), TS_FPROT_DIR,
                     pool));
  if (tsp_sys.dir_open(&dir, inoprj, pool) == APR_SUCCESS) {
    while (apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS) {
      if (ts_project_is_uuid_name(fi.name)) {
        *path = ts_path_join(inoprj, fi.name, pool);
        apr_dir_close(dir);
        return NULL;     /* the directory has its identity already */
      }
    }
    apr_dir_close(dir);
  }
  if (!name) {
    const char *slash = strrchr(inoprj, '/'), *bslash = strrchr(inoprj, '\\');
    name = bslash > slash ? bslash : slash;
    name = name && name[1] ? name + 1 : "project";
  }
  TS_ERR(uuid_new(text));
  *path = ts_path_join(inoprj, apr_pstrcat(pool, name, ".inoprj.uuid",
                                           NULL), pool);
  return ts_file_replace(*path, text, strlen(text), TS_FPROT_FILE, pool);
}

ts_error_t *
ts_project_identity(const char **uuid, const char *inoprj, apr_pool_t *pool)
{
  apr_dir_t *dir;
  apr_finfo_t fi;
  const char *path = NULL, *text;
  apr_size_t len;
  apr_status_t s = tsp_sys.dir_open(&dir, inoprj, pool);

  if (s)
    return ts_error_wrap_codef(TS_ECONFIG, ts_error_aprf(s, "cannot list "
                               "%s", inoprj), "the project directory %s "
                               "(INOPRJ) cannot be read; create it with "
                               "`tessera-admin project init`, or set INOPRJ "
                               "to the right directory", inoprj);
  while (!path && apr_dir_read(&fi, APR_FINFO_NAME, dir) == APR_SUCCESS)
    if (ts_project_is_uuid_name(fi.name))
      path = ts_path_join(inoprj, fi.name, pool);
  apr_dir_close(dir);
  if (!path)
    return ts_error_createf(TS_ECONFIG, "%s (INOPRJ) is no project "
                            "directory: it has no <name>.inoprj.uuid, "
                            "through which agents sharing it recognise "
                            "it; make it one with `tessera-admin project "
                            "init`", inoprj);
  TS_ERR(ts_file_read_all(&text, &len, path, pool));
  if (!ts_project_uuid_valid(text))
    return ts_error_createf(TS_ECONFIG, "%s does not hold one UUID; "
                            "`tessera-admin doctor --fix` makes it anew",
                            path);
  *uuid = apr_pstrndup(pool, text, 36);
  return NULL;
}
