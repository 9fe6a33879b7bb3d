/* ts_project_records.c: reading the agents' and model servers' records in
 * INOPRJ (format in ts_project_records.h). */
#include "ts_project_records.h"

#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ts_file.h"
#include "tsp.h"

/* The record directory of KIND below INOPRJ. */
static const char *
record_dir(const char *inoprj, const char *kind, apr_pool_t *pool)
{
  return ts_path_join(inoprj, strcmp(kind, TS_PROJECT_AGENT) == 0
                              ? "ivm/agents" : "ivm/modelservers", pool);
}

/* The string field NAME of J in POOL, or NULL. */
static const char *
optional(json_t *j, const char *name, apr_pool_t *pool)
{
  json_t *v = json_object_get(j, name);
  return json_is_string(v) ? apr_pstrdup(pool, json_string_value(v)) : NULL;
}

/* The string field NAME of J in POOL, or "?". */
static const char *
field(json_t *j, const char *name, apr_pool_t *pool)
{
  json_t *v = json_object_get(j, name);
  return apr_pstrdup(pool, json_is_string(v) ? json_string_value(v) : "?");
}

/* PATH is no usable record: WHY (cleared here), in the language of
 * people (ts_i18n.h), for they read it (the doctor). */
static void
reject(apr_array_header_t *rejects, const char *path, int malformed,
       ts_error_t *why, apr_pool_t *result_pool)
{
  ts_project_reject_t *r = apr_array_push(rejects);

  r->path = path;
  r->malformed = malformed;
  r->why = ts_error_message(why, result_pool);
  ts_error_clear(why);
}

/* PATH is not a version-1 record of KIND; WHY is the JSON parser's, or
 * NULL when the JSON was fine. */
static ts_error_t *
not_a_record(const char *path, const char *kind, const char *why)
{
  int agent = strcmp(kind, TS_PROJECT_AGENT) == 0;

  if (why)
    return agent ? ts_error_createf(TS_EINVAL, "%s is not a version-1 agent "
                                    "record: %s", path, why)
                 : ts_error_createf(TS_EINVAL, "%s is not a version-1 "
                                    "model-server record: %s", path, why);
  return agent ? ts_error_createf(TS_EINVAL, "%s is not a version-1 agent "
                                  "record", path)
               : ts_error_createf(TS_EINVAL, "%s is not a version-1 "
                                  "model-server record", path);
}

/* One file PATH of KIND: a record, or a reject. */
static void
read_one(apr_array_header_t *records, apr_array_header_t *rejects,
         const char *path, const char *kind, apr_pool_t *result_pool,
         apr_pool_t *scratch_pool)
{
  const char *text;
  apr_size_t len;
  json_error_t jerr;
  json_t *j;
  ts_project_record_t *r;
  ts_error_t *err = ts_file_read_all(&text, &len, path, scratch_pool);

  if (err) {
    reject(rejects, path, 0, err, result_pool);
    return;
  }
  j = json_loadb(text, len, 0, &jerr);
  if (!j || json_integer_value(json_object_get(j, "version")) != 1
      || !json_is_string(json_object_get(j, "inohost"))) {
    reject(rejects, path, 1, not_a_record(path, kind, j ? NULL : jerr.text),
           result_pool);
    json_decref(j);
    return;
  }
  r = apr_array_push(records);
  r->path = path;
  r->kind = kind;
  r->host = field(j, "host", result_pool);
  r->os = field(j, "os", result_pool);
  r->account = field(j, "account", result_pool);
  r->inohost = field(j, "inohost", result_pool);
  r->port = (long)json_integer_value(json_object_get(j, "port"));
  r->pid = (long)json_integer_value(json_object_get(j, "pid"));
  r->repository = optional(j, "repository", result_pool);
  r->model = optional(j, "model", result_pool);
  r->model_version = optional(j, "model_version", result_pool);
  r->agent = optional(j, "agent", result_pool);
  json_decref(j);
}

ts_error_t *
ts_project_records_read(apr_array_header_t **records,
                        apr_array_header_t **rejects, const char *inoprj,
                        const char *kind, apr_pool_t *result_pool,
                        apr_pool_t *scratch_pool)
{
  const char *dir = record_dir(inoprj, kind, scratch_pool);
  apr_dir_t *d;
  apr_finfo_t fi;
  apr_status_t s;

  *records = apr_array_make(result_pool, 4, sizeof(ts_project_record_t));
  *rejects = apr_array_make(result_pool, 0, sizeof(ts_project_reject_t));
  s = tsp_sys.dir_open(&d, dir, scratch_pool);
  if (APR_STATUS_IS_ENOENT(s))
    return NULL;
  if (s)
    return strcmp(kind, TS_PROJECT_AGENT) == 0
      ? ts_error_aprf(s, "cannot list the agent records in %s", dir)
      : ts_error_aprf(s, "cannot list the model-server records in %s", dir);
  while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
    size_t n = strlen(fi.name);

    if (n < 6 || strcmp(fi.name + n - 5, ".json") != 0)
      continue;
    read_one(*records, *rejects, ts_path_join(dir, fi.name, result_pool),
             kind, result_pool, scratch_pool);
  }
  apr_dir_close(d);
  return NULL;
}

ts_error_t *
ts_project_record_write(const char **path, const char *inoprj,
                        const ts_project_record_t *rec, apr_pool_t *pool)
{
  const char *dir = record_dir(inoprj, rec->kind, pool);
  json_t *j = json_pack("{s:i, s:s, s:s, s:I, s:s, s:s, s:s}", "version",
                        1, "kind", rec->kind, "host", rec->host, "port",
                        (json_int_t)rec->port, "os", rec->os, "account",
                        rec->account, "inohost", rec->inohost);
  char *text;
  ts_error_t *err;

  if (!j)
    return ts_error_createf(TS_EINTERNAL, "a record of %s:%ld lacks a "
                            "field", rec->host ? rec->host : "?", rec->port);
  if (rec->pid)
    json_object_set_new(j, "pid", json_integer(rec->pid));
  if (rec->repository)
    json_object_set_new(j, "repository", json_string(rec->repository));
  if (rec->model)
    json_object_set_new(j, "model", json_string(rec->model));
  if (rec->model_version)
    json_object_set_new(j, "model_version", json_string(rec->model_version));
  if (strcmp(rec->kind, TS_PROJECT_MODELSERVER) == 0)
    json_object_set_new(j, "agent", rec->agent ? json_string(rec->agent)
                                               : json_null());
  text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(j);
  *path = ts_path_join(dir, apr_psprintf(pool, "%s.%ld.json", rec->host,
                                         rec->port), pool);
  err = ts_dir_make(dir, TS_FPROT_DIR, pool);
  if (!err)
    err = ts_file_replace(*path, text, strlen(text), TS_FPROT_FILE, pool);
  free(text);
  return err;
}
