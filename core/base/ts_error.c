/* ts_error.c: creating, rendering and clearing Tessera errors. */
#include "ts_error.h"
#include "ts_i18n.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

/* Errors must be reportable when memory is short: if a pool cannot be had,
 * fall back to a static error rather than crashing. */
static ts_error_t ts__nomem = {
  TS_EOS, APR_ENOMEM, "out of memory", NULL, NULL, NULL, 0, NULL
};

/* A new error with FMT and AP (left unused), in its own pool or CAUSE's. */
static ts_error_t *
create(const char *file, long line, ts_errcode_t code, apr_status_t apr_err,
       ts_error_t *cause, const char *fmt, va_list ap)
{
  apr_pool_t *pool;
  ts_error_t *err;
  va_list copy;

  if (cause && cause->pool)
    pool = cause->pool;
  else if (apr_pool_create_unmanaged_ex(&pool, NULL, NULL) != APR_SUCCESS)
    return &ts__nomem;

  err = apr_pcalloc(pool, sizeof(*err));
  err->code = code;
  err->apr_err = apr_err;
  err->cause = cause;
  err->file = file;
  err->line = line;
  err->pool = pool;
  va_copy(copy, ap);
  err->message = apr_pvsprintf(pool, fmt, copy);
  va_end(copy);
  if (ts_i18n_translating()) {   /* the same arguments, translated text */
    const char *local = ts_i18n_text(fmt);
    if (local != fmt) {
      va_copy(copy, ap);
      err->local = apr_pvsprintf(pool, local, copy);
      va_end(copy);
    }
  }
  if (cause)
    cause->pool = NULL;   /* the outermost error owns the pool now */
  return err;
}

ts_error_t *
ts_error__createf(const char *file, long line, ts_errcode_t code,
                  apr_status_t apr_err, ts_error_t *cause,
                  const char *fmt, ...)
{
  ts_error_t *err;
  va_list ap;

  va_start(ap, fmt);
  err = create(file, line, code, apr_err, cause, fmt, ap);
  va_end(ap);
  return err;
}

ts_error_t *
ts_error_create_texts(ts_errcode_t code, const char *english,
                      const char *local)
{
  ts_error_t *err = ts_error__createf(NULL, 0, code, 0, NULL, "%s", english);

  if (err->pool && local && strcmp(local, english) != 0)   /* not the
                                                     out-of-memory one */
    err->local = apr_pstrdup(err->pool, local);
  return err;
}

ts_error_t *
ts_error_vcreatef(ts_errcode_t code, const char *fmt, va_list ap)
{
  return create(NULL, 0, code, 0, NULL, fmt, ap);
}

static ts_errcode_t
code_of_apr(apr_status_t s)
{
  if (APR_STATUS_IS_EACCES(s))
    return TS_EPERM;
  if (APR_STATUS_IS_ENOENT(s) || APR_STATUS_IS_ENOTDIR(s))
    return TS_ENOENT;
  if (APR_STATUS_IS_ENOSPC(s) || APR_STATUS_IS_EEXIST(s))
    return TS_EIO;
  return TS_EOS;
}

ts_errcode_t
ts_error_code(const ts_error_t *err)
{
  for (; err; err = err->cause) {
    if (err->code != TS_OK)
      return err->code;
    if (err->apr_err)
      return code_of_apr(err->apr_err);
  }
  return TS_EINTERNAL;
}

int
ts_error_has(const ts_error_t *err, ts_errcode_t code)
{
  for (; err; err = err->cause)
    if (err->code == code
        || (err->apr_err && code_of_apr(err->apr_err) == code))
      return 1;
  return 0;
}

int
ts_error_exit_status(const ts_error_t *err)
{
  if (!err)
    return TS_EX_OK;
  switch (ts_error_code(err)) {
  case TS_EUSAGE:    return TS_EX_USAGE;
  case TS_EINVAL:    return TS_EX_DATAERR;
  case TS_ENOENT:    return TS_EX_NOINPUT;
  case TS_EPERM:     return TS_EX_NOPERM;
  case TS_EIO:       return TS_EX_IOERR;
  case TS_ECONFIG:   return TS_EX_CONFIG;
  case TS_EUNAVAIL:  return TS_EX_UNAVAILABLE;
  case TS_EOS:       return TS_EX_OSERR;
  case TS_OK:
  case TS_EINTERNAL: break;
  }
  return TS_EX_SOFTWARE;
}

static const char *
one_text(const ts_error_t *err, int local, apr_pool_t *pool)
{
  const char *text = apr_pstrdup(pool, local && err->local ? err->local
                                                           : err->message);

  if (err->apr_err) {
    char buf[256];
    text = apr_pstrcat(pool, text, " (",
                       apr_strerror(err->apr_err, buf, sizeof(buf)), ")",
                       NULL);
  }
  return text;
}

static const char *
chain_text(const ts_error_t *err, int local, apr_pool_t *pool)
{
  const char *text = NULL;

  for (; err; err = err->cause)
    text = text ? apr_pstrcat(pool, text, ": ", one_text(err, local, pool),
                              NULL)
                : one_text(err, local, pool);
  return text ? text : "";
}

static const char *
root_text(const ts_error_t *err, int local, apr_pool_t *pool)
{
  if (!err)
    return "";
  while (err->cause)
    err = err->cause;
  return one_text(err, local, pool);
}

const char *
ts_error_text(const ts_error_t *err, apr_pool_t *pool)
{
  return chain_text(err, 0, pool);
}

const char *
ts_error_root_text(const ts_error_t *err, apr_pool_t *pool)
{
  return root_text(err, 0, pool);
}

const char *
ts_error_message(const ts_error_t *err, apr_pool_t *pool)
{
  return chain_text(err, 1, pool);
}

const char *
ts_error_root_message(const ts_error_t *err, apr_pool_t *pool)
{
  return root_text(err, 1, pool);
}

void
ts_error_clear(ts_error_t *err)
{
  apr_pool_t *pool = NULL;

  /* The pool is owned by the outermost error; find it wherever it is. */
  for (ts_error_t *e = err; e; e = e->cause)
    if (e->pool)
      pool = e->pool;
  if (pool)
    apr_pool_destroy(pool);
}
