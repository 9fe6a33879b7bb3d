/* ts_models.c: managed models, their names and where their versions lie
 * (see ts_models.h). Making and copying versions is ts_versions.c. */
#include "ts_models_impl.h"

#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <jansson.h>

#include "ts_file.h"
#include "ts_i18n.h"
#include "ts_repo.h"

int
ts_models_valid_name(const char *name)
{
  /* a repository's names, and no "." first: those are work in progress */
  return ts_repo_valid_name(name) && name[0] != '.';
}

ts_error_t *
ts_models_name_error(const char *what, const char *name)
{
  return ts_error_createf(TS_EINVAL, "'%s' is not a valid %s name: use 1 "
                          "to 128 of A-Z a-z 0-9 . _ -, not beginning with "
                          "'.'", name ? name : "", what);
}

const char *
ts_models_model_dir(const char *inoprj, const char *model, int read_only,
                    apr_pool_t *pool)
{
  return ts_path_join(inoprj, apr_pstrcat(pool, read_only
                                          ? TS_MODELS_READONLY_DIR
                                          : TS_MODELS_DIR, "/", model,
                                          NULL), pool);
}

const char *
ts_version_dir(const char *inoprj, const char *model, const char *version,
               int read_only, apr_pool_t *pool)
{
  return ts_path_join(ts_models_model_dir(inoprj, model, read_only, pool),
                      version, pool);
}

/* The check expression compiled; NULL with *WHY when it does not
 * compile. */
static pcre2_code *
compile(const char *check, const char **why, apr_pool_t *pool)
{
  int code;
  PCRE2_SIZE at;
  PCRE2_UCHAR text[256];
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)check, PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF, &code, &at, NULL);

  if (!re) {
    pcre2_get_error_message(code, text, sizeof(text));
    *why = apr_psprintf(pool, "%s at offset %ld", (const char *)text,
                        (long)at);
  }
  return re;
}

/* Whether RE matches the whole of NAME. */
static int
matches(pcre2_code *re, const char *name)
{
  pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
  int rc = pcre2_match(re, (PCRE2_SPTR)name, strlen(name), 0,
                       PCRE2_ANCHORED | PCRE2_ENDANCHORED, md, NULL);

  pcre2_match_data_free(md);
  return rc >= 0;
}

static ts_error_t *
check_def(const ts_model_def_t *def, apr_pool_t *pool)
{
  const char *why;
  pcre2_code *re;

  if (!ts_models_valid_name(def->model))
    return ts_models_name_error("model", def->model);
  if (!ts_models_valid_name(def->product))
    return ts_error_createf(TS_EINVAL, "'%s' is not a valid product name "
                            "for the model %s: name a product of the "
                            "license (`tessera-admin license show` lists "
                            "them)", def->product ? def->product : "",
                            def->model);
  if (def->quota_ram_mb < 0 || def->quota_disk_mb < 0)
    return ts_error_createf(TS_EINVAL, "the quotas of the model %s must be "
                            "a number of MB (or empty: unlimited), not "
                            "negative", def->model);
  if (def->check) {
    if (!(re = compile(def->check, &why, pool)))
      return ts_error_createf(TS_EINVAL, "the check expression '%s' of the "
                              "model %s is not a regular expression: %s",
                              def->check, def->model, why);
    pcre2_code_free(re);
  }
  return NULL;
}

ts_error_t *
ts_model_define(const char *inoprj, const ts_model_def_t *def,
                apr_pool_t *pool)
{
  const char *dir = ts_models_model_dir(inoprj, def->model, 0, pool);
  json_t *j;
  char *text;
  ts_error_t *err;

  TS_ERR(check_def(def, pool));
  j = json_pack("{s:i, s:s, s:s, s:s?, s:s?, s:o, s:o, s:b}", "version", 1,
                "model", def->model, "product", def->product, "check",
                def->check, "proposal", def->proposal, "quota_ram_mb",
                def->quota_ram_mb ? json_integer(def->quota_ram_mb)
                                  : json_null(),
                "quota_disk_mb", def->quota_disk_mb
                ? json_integer(def->quota_disk_mb) : json_null(),
                "restart", def->restart);
  text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(j);
  err = ts_dir_make(dir, TS_FPROT_DIR, pool);
  if (!err)
    err = ts_file_replace(ts_path_join(dir, TS_MODEL_FILE, pool), text,
                          strlen(text), TS_FPROT_FILE, pool);
  free(text);
  return err;
}

/* The string or null J (NULL: absent) into *S; 0 when it is neither. */
static int
optional_string(const char **s, json_t *j, apr_pool_t *pool)
{
  *s = json_is_string(j) ? apr_pstrdup(pool, json_string_value(j)) : NULL;
  return !j || json_is_null(j) || json_is_string(j);
}

/* The integer or null J (NULL: absent) into *N (0 for null); 0 when it is
 * neither. */
static int
optional_integer(long *n, json_t *j)
{
  *n = json_is_integer(j) ? (long)json_integer_value(j) : 0;
  return !j || json_is_null(j) || json_is_integer(j);
}

/* DEF from the JSON J read from PATH. */
static ts_error_t *
parse_def(ts_model_def_t *def, json_t *j, const char *path,
          apr_pool_t *pool)
{
  json_error_t jerr;
  const char *model, *product;
  json_t *check = NULL, *proposal = NULL, *ram = NULL, *disk = NULL;
  int version = 0, restart = 0, bad;

  bad = json_unpack_ex(j, &jerr, 0, "{s:i, s:s, s:s, s?o, s?o, s?o, s?o, "
                       "s?b}", "version", &version, "model", &model,
                       "product", &product, "check", &check, "proposal",
                       &proposal, "quota_ram_mb", &ram, "quota_disk_mb",
                       &disk, "restart", &restart);
  if (!bad && (version != 1 || !optional_string(&def->check, check, pool)
               || !optional_string(&def->proposal, proposal, pool)
               || !optional_integer(&def->quota_ram_mb, ram)
               || !optional_integer(&def->quota_disk_mb, disk))) {
    bad = 1;
    apr_cpystrn(jerr.text, version != 1 ? "no \"version\": 1"
                : "check and proposal are strings or null, the quotas "
                  "numbers or null", sizeof(jerr.text));
  }
  if (bad)
    return ts_error_createf(TS_EINVAL, "%s is not a managed model's "
                            "settings (version 1): %s; define the model "
                            "again with `tessera-admin models define`",
                            path, jerr.text);
  def->model = apr_pstrdup(pool, model);
  def->product = apr_pstrdup(pool, product);
  def->restart = restart;
  TS_ERR_W(check_def(def, pool), "%s holds settings a managed model cannot "
           "have; define the model again with `tessera-admin models "
           "define`", path);
  return NULL;
}

ts_error_t *
ts_model_read(ts_model_def_t **def_p, const char *inoprj, const char *model,
              apr_pool_t *pool)
{
  const char *path, *text;
  apr_size_t len;
  json_error_t jerr;
  json_t *j;
  ts_model_def_t *def = apr_pcalloc(pool, sizeof(*def));
  ts_error_t *err;

  if (!ts_models_valid_name(model))
    return ts_models_name_error("model", model);
  path = ts_path_join(ts_models_model_dir(inoprj, model, 0, pool),
                      TS_MODEL_FILE, pool);
  err = ts_file_read_all(&text, &len, path, pool);
  if (err && ts_error_code(err) == TS_ENOENT) {
    ts_error_clear(err);
    return ts_error_createf(TS_ENOENT, "there is no managed model %s in "
                            "%s (no %s): define it with `tessera-admin "
                            "models define %s --product PRODUCT`", model,
                            inoprj, path, model);
  }
  TS_ERR(err);
  j = json_loadb(text, len, 0, &jerr);
  if (!j)
    return ts_error_createf(TS_EINVAL, "%s is not JSON: %s (line %d); "
                            "define the model again with `tessera-admin "
                            "models define`", path, jerr.text, jerr.line);
  err = parse_def(def, j, path, pool);
  json_decref(j);
  if (!err && strcmp(def->model, model) != 0)
    err = ts_error_createf(TS_EINVAL, "%s names the model '%s', not %s; "
                           "define the model again with `tessera-admin "
                           "models define`", path, def->model, model);
  *def_p = err ? NULL : def;
  return err;
}

ts_error_t *
ts_models_list(apr_array_header_t **defs, const char *inoprj,
               apr_pool_t *pool)
{
  apr_array_header_t *names;
  ts_error_t *err;

  *defs = apr_array_make(pool, 8, sizeof(ts_model_def_t *));
  TS_ERR(ts_models_subdirs(&names, ts_path_join(inoprj, TS_MODELS_DIR, pool),
                           pool));
  for (int i = 0; i < names->nelts; i++) {
    ts_model_def_t *def;
    err = ts_model_read(&def, inoprj, APR_ARRAY_IDX(names, i, const char *),
                        pool);
    if (err)
      ts_error_clear(err);
    else
      APR_ARRAY_PUSH(*defs, ts_model_def_t *) = def;
  }
  return NULL;
}

/* ---- naming ------------------------------------------------------------ */

/* The value of the placeholder NAME (without "$(" and ")"), or NULL. */
static const char *
placeholder(const char *name, apr_size_t len, const ts_model_def_t *def,
            const ts_naming_t *n, const apr_time_exp_t *t, apr_pool_t *pool)
{
  static const char *const keys[] = { "YYYY", "YY", "MM", "DD", "hh", "mm",
                                      "ss", "Model.Name", "Source.Name",
                                      "User.Name", "User.LoginName", NULL };
  int k = 0;

  while (keys[k] && (strlen(keys[k]) != len
                     || strncmp(keys[k], name, len) != 0))
    k++;
  switch (k) {
  case 0: return apr_psprintf(pool, "%04d", t->tm_year + 1900);
  case 1: return apr_psprintf(pool, "%02d", t->tm_year % 100);
  case 2: return apr_psprintf(pool, "%02d", t->tm_mon + 1);
  case 3: return apr_psprintf(pool, "%02d", t->tm_mday);
  case 4: return apr_psprintf(pool, "%02d", t->tm_hour);
  case 5: return apr_psprintf(pool, "%02d", t->tm_min);
  case 6: return apr_psprintf(pool, "%02d", t->tm_sec);
  case 7: return def->model;
  case 8: return n->source ? n->source : "";
  case 9: return n->user ? n->user : "";
  case 10: return n->login ? n->login : "";
  default: return NULL;
  }
}

const char *
ts_model_propose(const ts_model_def_t *def, const ts_naming_t *naming,
                 apr_pool_t *pool)
{
  const char *p = def->proposal ? def->proposal : TS_MODEL_DEFAULT_PROPOSAL;
  char *out = "";
  apr_time_exp_t t;

  apr_time_exp_lt(&t, naming->now ? naming->now : apr_time_now());
  while (*p) {
    const char *end = strncmp(p, "$(", 2) == 0 ? strchr(p + 2, ')') : NULL;
    const char *value = end ? placeholder(p + 2, (apr_size_t)(end - p - 2),
                                          def, naming, &t, pool) : NULL;
    if (value) {
      out = apr_pstrcat(pool, out, value, NULL);
      p = end + 1;
    }
    else
      out = apr_psprintf(pool, "%s%c", out, *p++);
  }
  for (char *c = out; *c; c++)
    if (!apr_isalnum(*c) && !strchr("._-", *c))
      *c = '_';
  while (*out == '.')
    *out++ = '_';
  return *out ? apr_pstrndup(pool, out, 128) : def->model;
}

ts_error_t *
ts_model_check_name(const ts_model_def_t *def, const char *name,
                    const ts_naming_t *naming, apr_pool_t *pool)
{
  const char *why;
  pcre2_code *re;
  int ok;

  if (!ts_models_valid_name(name))
    return ts_error_wrapf(ts_models_name_error("version", name), "a "
                          "version of %s, e.g. '%s' (the proposal)",
                          def->model, ts_model_propose(def, naming, pool));
  if (!def->check)
    return NULL;
  if (!(re = compile(def->check, &why, pool)))
    return ts_error_createf(TS_EINVAL, "the check expression '%s' of the "
                            "model %s is not a regular expression: %s",
                            def->check, def->model, why);
  ok = matches(re, name);
  pcre2_code_free(re);
  if (ok)
    return NULL;
  return ts_error_createf(TS_EINVAL, "the name '%s' does not follow the "
                          "naming rule of the model %s: it must match the "
                          "check expression '%s' as a whole; the proposal "
                          "'%s' gives '%s'", name, def->model, def->check,
                          def->proposal ? def->proposal
                                        : TS_MODEL_DEFAULT_PROPOSAL,
                          ts_model_propose(def, naming, pool));
}
