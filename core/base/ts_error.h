/* ts_error.h: Tessera's one error type.
 *
 * A function that can fail returns ts_error_t *; NULL means success. An
 * error carries a code (a category that maps to a sysexits exit status), a
 * message that says what failed, where, why and how to fix it, the APR
 * status of the underlying system call if there was one, and the error it
 * wraps. Callers add context on the way up with TS_ERR_W(); whoever handles
 * an error clears it with ts_error_clear().
 *
 * Errors live in their own pool, independent of the caller's pools, so they
 * can be returned through any number of frames (the Subversion model).
 */
#ifndef TS_ERROR_H
#define TS_ERROR_H

#include <stdarg.h>
#include <apr_errno.h>
#include <apr_pools.h>

typedef enum ts_errcode_t {
  TS_OK = 0,        /* only on wrapping errors: take the cause's code */
  TS_EUSAGE,        /* the command line is wrong */
  TS_EINVAL,        /* input given on the command line or in a request
                       is malformed (a value, a file named there) */
  TS_ENOENT,        /* something that must exist does not */
  TS_EPERM,         /* the caller lacks the right to do this */
  TS_EIO,           /* reading or writing a file failed */
  TS_ECONFIG,       /* configuration the administrator must fix: a
                       setting, the file it is stored in, tessera.xml */
  TS_EUNAVAIL,      /* a service or resource is not available */
  TS_EOS,           /* a system call failed for another reason */
  TS_EINTERNAL      /* a bug */
} ts_errcode_t;

/* Exit statuses from sysexits.h, defined here because Windows has none. */
enum {
  TS_EX_OK = 0,
  TS_EX_USAGE = 64,
  TS_EX_DATAERR = 65,
  TS_EX_NOINPUT = 66,
  TS_EX_UNAVAILABLE = 69,
  TS_EX_SOFTWARE = 70,
  TS_EX_OSERR = 71,
  TS_EX_CANTCREAT = 73,
  TS_EX_IOERR = 74,
  TS_EX_TEMPFAIL = 75,
  TS_EX_NOPERM = 77,
  TS_EX_CONFIG = 78
};

typedef struct ts_error_t {
  ts_errcode_t code;
  apr_status_t apr_err;     /* 0 when no system call is involved */
  const char *message;       /* English, for logs */
  const char *local;         /* in the language of ts_i18n.h, or NULL:
                                the same as MESSAGE */
  struct ts_error_t *cause;
  const char *file;         /* debug builds only, else NULL */
  long line;
  apr_pool_t *pool;         /* owned by the outermost error */
} ts_error_t;

#ifdef NDEBUG
#define TS__WHERE NULL, 0
#else
#define TS__WHERE __FILE__, __LINE__
#endif

/* Create an error with a printf-style message. */
#define ts_error_createf(code, ...) \
  ts_error__createf(TS__WHERE, (code), 0, NULL, __VA_ARGS__)
/* Create an error for a failed APR/system call; the message names the
 * call and the object, the OS text is appended when rendered. */
#define ts_error_aprf(apr_err, ...) \
  ts_error__createf(TS__WHERE, TS_OK, (apr_err), NULL, __VA_ARGS__)
/* Wrap CAUSE in a new error that adds context; keeps the cause's code. */
#define ts_error_wrapf(cause, ...) \
  ts_error__createf(TS__WHERE, TS_OK, 0, (cause), __VA_ARGS__)

/* Wrap CAUSE and give the chain the category CODE: where a lower layer's
 * error (a malformed file: TS_EINVAL) means something else to its caller
 * (the file is configuration the administrator must fix: TS_ECONFIG). */
#define ts_error_wrap_codef(code, cause, ...) \
  ts_error__createf(TS__WHERE, (code), 0, (cause), __VA_ARGS__)

/* Return the error of EXPR, if any, to our caller. */
#define TS_ERR(expr)                        \
  do {                                      \
    ts_error_t *ts__err = (expr);           \
    if (ts__err)                            \
      return ts__err;                       \
  } while (0)

/* Same, adding a line of context. */
#define TS_ERR_W(expr, ...)                             \
  do {                                                  \
    ts_error_t *ts__err = (expr);                       \
    if (ts__err)                                        \
      return ts_error_wrapf(ts__err, __VA_ARGS__);      \
  } while (0)

ts_error_t *ts_error__createf(const char *file, long line, ts_errcode_t code,
                              apr_status_t apr_err, ts_error_t *cause,
                              const char *fmt, ...)
  __attribute__((format(printf, 6, 7)));

/* ts_error_createf() for a function that takes its own format and
 * arguments (translated like every error message, ts_i18n.h). */
ts_error_t *ts_error_vcreatef(ts_errcode_t code, const char *fmt,
                              va_list ap);

/* An error (CODE) whose English text (for the log) and text for people
 * (LOCAL, in the language of ts_i18n.h) were made apart: for a sentence
 * that quotes other errors' texts, each in its own language, where a
 * wrapped cause would not read well. */
ts_error_t *ts_error_create_texts(ts_errcode_t code, const char *english,
                                  const char *local);

/* The code that decides this error's category: the outermost explicit code,
 * else one derived from the APR status, else TS_EINTERNAL. */
ts_errcode_t ts_error_code(const ts_error_t *err);

/* True when any error in the chain has CODE. */
int ts_error_has(const ts_error_t *err, ts_errcode_t code);

/* The sysexits.h status for ERR (TS_EX_OK for NULL). */
int ts_error_exit_status(const ts_error_t *err);

/* The whole chain as text, outermost first, joined by ": ", allocated in
 * POOL. System errors end with their OS text. In English: for logs. */
const char *ts_error_text(const ts_error_t *err, apr_pool_t *pool);

/* The innermost message (the most specific one), in POOL; English. */
const char *ts_error_root_text(const ts_error_t *err, apr_pool_t *pool);

/* The same two for people: in the language of ts_i18n.h (INOLANG), for
 * what tessera-admin prints and what a server answers its clients. */
const char *ts_error_message(const ts_error_t *err, apr_pool_t *pool);
const char *ts_error_root_message(const ts_error_t *err, apr_pool_t *pool);

/* Free ERR and everything it wraps. Safe on NULL. */
void ts_error_clear(ts_error_t *err);

#endif
