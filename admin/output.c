/* output.c: option parsing and JSON output shared by the commands. */
#include "admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <apr_strings.h>

#include "ts_settings.h"

ts_error_t *
admin_getopt_init(apr_getopt_t **os, admin_ctx_t *ctx, int argc,
                  const char *const *argv)
{
  apr_status_t s = apr_getopt_init(os, ctx->pool, argc, argv);

  if (s)
    return ts_error_aprf(s, "cannot parse the command line");
  (*os)->interleave = 1;
  (*os)->errfn = NULL;     /* we report bad options ourselves */
  return NULL;
}

ts_error_t *
admin_usage_error(const char *usage, const char *fmt, ...)
{
  va_list ap;
  ts_error_t *err;

  va_start(ap, fmt);
  err = ts_error_vcreatef(TS_EUSAGE, fmt, ap);
  va_end(ap);
  if (!err->pool)    /* out of memory: the static error */
    return err;
  /* the command's usage after the reason, each in its language */
  err->local = apr_pstrcat(err->pool, err->local ? err->local : err->message,
                           "\n", _(usage), NULL);
  err->message = apr_pstrcat(err->pool, err->message, "\n", usage, NULL);
  return err;
}

ts_error_t *
admin_error_texts(ts_errcode_t code, ts_error_t *first, const char *english,
                  const char *local)
{
  ts_error_t *err = ts_error_create_texts(code, english, local);

  if (err->pool) {   /* else out of memory: the static error */
    if (first) {
      err->message = apr_pstrcat(err->pool, ts_error_text(first, err->pool),
                                 "\n", english, NULL);
      err->local = apr_pstrcat(err->pool, ts_error_message(first,
                                                           err->pool),
                               "\n", local, NULL);
    }
  }
  ts_error_clear(first);
  return err;
}

const char *
admin_source_label(tsp_source_t source)
{
  switch (source) {
  case TSP_SRC_DEFAULT:     return _("default");
  case TSP_SRC_PROCESS_ENV: return _("process environment");
  case TSP_SRC_USER_FILE:   return _("user file");
  case TSP_SRC_SYSTEM_FILE: return _("system file");
  case TSP_SRC_HKCU:
  case TSP_SRC_HKLM:        break;   /* names */
  }
  return ts_source_name(source);
}

void
admin_print_json(json_t *json)
{
  char *text = json_dumps(json, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

  if (text) {
    fputs(text, stdout);
    fputc('\n', stdout);
    free(text);
  }
  json_decref(json);
}

ts_error_t *
admin_open_store(tsp_settings_t **store, apr_pool_t *pool)
{
  return ts_settings_open_store(store, NULL, pool);
}
