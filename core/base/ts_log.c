/* ts_log.c: timestamped, reopenable server logs (see ts_log.h). */
#include "ts_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <apr_time.h>

#include "ts_file.h"
#include "ts_i18n.h"
#include "tsp.h"

struct ts_log_t {
  const char *path;
  apr_file_t *file;
  apr_pool_t *file_pool;      /* holds FILE; replaced on reopen */
  apr_thread_mutex_t *lock;
  int to_stderr;
  int journal;
  const char *pattern;        /* daily files: the name with "%D", or NULL */
  apr_int64_t day;            /* daily files: the day of FILE */
  apr_pool_t *pool;
};

/* Through tsp_sys.file_open: a symbolic link planted where the log goes
 * is refused, not followed. */
static ts_error_t *
open_file(apr_file_t **file, apr_pool_t **file_pool, const char *path,
          apr_pool_t *parent)
{
  apr_pool_t *pool;
  apr_status_t s;

  apr_pool_create(&pool, parent);
  s = tsp_sys.file_open(file, path, APR_FOPEN_CREATE | APR_FOPEN_WRITE
                        | APR_FOPEN_APPEND | APR_FOPEN_XTHREAD,
                        TS_FPROT_FILE & ~APR_FPROT_WREAD, pool);
  if (s) {
    apr_pool_destroy(pool);
    if (tsp_status_is_link(s))
      return ts_error_createf(TS_EPERM, "cannot open the log file %s: it is "
                              "a symbolic link, and a server does not write "
                              "through links (one planted there would make "
                              "it append to the file it points to); remove "
                              "it, and check who else may write in its "
                              "directory", path);
    return ts_error_aprf(s, APR_STATUS_IS_EACCES(s)
                         ? N_("cannot open the log file %s: permission "
                              "denied; give this server's account write "
                              "access to it and its directory")
                         : N_("cannot open the log file %s"), path);
  }
  *file_pool = pool;
  return NULL;
}

ts_error_t *
ts_log_open(ts_log_t **log_p, const char *path, int to_stderr, int journal,
            apr_pool_t *pool)
{
  ts_log_t *log = apr_pcalloc(pool, sizeof(*log));
  char *dir;

  if (apr_filepath_merge(&dir, path, "..", APR_FILEPATH_NATIVE, pool) == 0)
    TS_ERR_W(ts_dir_make(dir, TS_FPROT_DIR, pool),
             "cannot create the log directory for %s", path);
  log->path = apr_pstrdup(pool, path);
  log->to_stderr = to_stderr;
  log->journal = journal;
  log->pool = pool;
  apr_thread_mutex_create(&log->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  TS_ERR(open_file(&log->file, &log->file_pool, path, pool));
  *log_p = log;
  return NULL;
}

static ts_error_t *open_day(ts_log_t *log, apr_time_t now);

ts_error_t *
ts_log_reopen(ts_log_t *log)
{
  apr_file_t *file;
  apr_pool_t *file_pool, *old;

  if (log->pattern) {
    ts_error_t *err;
    apr_thread_mutex_lock(log->lock);
    err = open_day(log, apr_time_now());
    apr_thread_mutex_unlock(log->lock);
    return err;
  }
  TS_ERR(open_file(&file, &file_pool, log->path, log->pool));
  apr_thread_mutex_lock(log->lock);
  old = log->file_pool;
  log->file = file;
  log->file_pool = file_pool;
  apr_thread_mutex_unlock(log->lock);
  apr_pool_destroy(old);
  return NULL;
}

static apr_int64_t
day_of(apr_time_t now)
{
  return (apr_int64_t)(apr_time_sec(now) / 86400);
}

const char *
ts_log_daily_path(const char *pattern, apr_time_t now, apr_pool_t *pool)
{
  const char *at = strstr(pattern, "%D");
  char day[16];
  apr_time_exp_t t;

  if (!at)
    return pattern;
  apr_time_exp_gmt(&t, now);
  apr_snprintf(day, sizeof(day), "%04d-%02d-%02d", t.tm_year + 1900,
               t.tm_mon + 1, t.tm_mday);
  return apr_psprintf(pool, "%.*s%s%s", (int)(at - pattern), pattern, day,
                      at + 2);
}

/* Daily files (LOG's lock held): open the file of NOW's day in a pool of
 * its own (from the global pool, which any thread may use) and close
 * the old one. */
static ts_error_t *
open_day(ts_log_t *log, apr_time_t now)
{
  apr_pool_t *scratch, *file_pool;
  apr_file_t *file;
  ts_error_t *err;
  const char *path;

  apr_pool_create(&scratch, NULL);
  path = ts_log_daily_path(log->pattern, now, scratch);
  err = open_file(&file, &file_pool, path, NULL);
  if (!err) {
    apr_pool_destroy(log->file_pool);
    log->file = file;
    log->file_pool = file_pool;
    log->path = apr_pstrdup(file_pool, path);
  }
  log->day = day_of(now);    /* a failure is tried again the next day */
  apr_pool_destroy(scratch);
  return err;
}

ts_error_t *
ts_log_daily(ts_log_t *log, const char *pattern)
{
  ts_error_t *err;

  if (!strstr(pattern, "%D"))
    return ts_error_createf(TS_EINTERNAL, "the daily log file name %s has "
                            "no %%D for the day", pattern);
  apr_thread_mutex_lock(log->lock);
  log->pattern = apr_pstrdup(log->pool, pattern);
  err = open_day(log, apr_time_now());
  apr_thread_mutex_unlock(log->lock);
  return err;
}

static const char *
level_name(ts_log_level_t level)
{
  switch (level) {
  case TS_LOG_ERROR:   return "error";
  case TS_LOG_WARNING: return "warn ";
  case TS_LOG_INFO:    return "info ";
  case TS_LOG_DEBUG:   return "debug";
  }
  return "?    ";
}

void
ts_log_stamp(char stamp[32], apr_time_t now)
{
  apr_time_exp_t t;

  apr_time_exp_gmt(&t, now);
  apr_snprintf(stamp, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
               t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
               t.tm_min, t.tm_sec, t.tm_usec / 1000);
}

ts_error_t *
ts_log_record(ts_log_t *log, const char *line)
{
  apr_size_t n = strlen(line);
  apr_status_t s;

  apr_thread_mutex_lock(log->lock);
  s = apr_file_write_full(log->file, line, n, NULL);
  if (!s)
    s = apr_file_write_full(log->file, "\n", 1, NULL);
  apr_thread_mutex_unlock(log->lock);
  if (s)
    return ts_error_aprf(s, APR_STATUS_IS_ENOSPC(s)
                         ? N_("cannot write to %s: the disk is full; make "
                              "room there")
                         : N_("cannot write to %s"), log->path);
  return NULL;
}

/* The length of the UTF-8 character at S (at most N bytes there), or 0
 * when S does not start one; its code point in *CP. */
static apr_size_t
utf8_char(unsigned *cp, const unsigned char *s, apr_size_t n)
{
  static const unsigned min[] = { 0, 0, 0x80, 0x800, 0x10000 };
  apr_size_t len = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2
                   : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4
                   : 0;
  unsigned c;

  if (len == 0 || len > n)
    return 0;
  c = len == 1 ? s[0] : s[0] & (0x7f >> len);
  for (apr_size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    c = (c << 6) | (s[i] & 0x3f);
  }
  if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
    return 0;                       /* overlong, too large, a surrogate */
  *cp = c;
  return len;
}

/* Whether code point C must not reach a log line as it is. */
static int
unsafe(unsigned c)
{
  return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == 0x2028 || c == 0x2029
         || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

const char *
ts_log_quote(const char *value, apr_size_t max, apr_pool_t *pool)
{
  const unsigned char *s = (const unsigned char *)value;
  apr_size_t n, i = 0, o = 0;
  char *out;

  if (!value)
    return "(none)";
  n = strlen(value);
  out = apr_palloc(pool, 4 * (n < max ? n : max) + 48);
  while (i < n && i < max) {
    unsigned c = 0;
    apr_size_t len = utf8_char(&c, s + i, n - i);
    if (len == 0 || unsafe(c)) {
      for (apr_size_t k = 0; k < (len ? len : 1); k++, i++)
        o += (apr_size_t)apr_snprintf(out + o, 5, "\\x%02x", s[i]);
      continue;
    }
    if (c == '\\')
      out[o++] = '\\';
    memcpy(out + o, s + i, len);
    o += len;
    i += len;
  }
  if (i < n)
    o += (apr_size_t)apr_snprintf(out + o, 40, "\xe2\x80\xa6(%" APR_SIZE_T_FMT
                                  " bytes)", n);
  out[o] = '\0';
  return out;
}

static void
vlog(ts_log_t *log, ts_log_level_t level, const char *fmt, va_list ap)
{
  char msg[2048], stamp[32], line[2200];
  apr_time_t now = apr_time_now();
  apr_size_t n;
  int len;

  apr_vsnprintf(msg, sizeof(msg), fmt, ap);
  ts_log_stamp(stamp, now);
  len = apr_snprintf(line, sizeof(line), "%s %s %s\n", stamp,
                     level_name(level), msg);
  apr_thread_mutex_lock(log->lock);
  if (log->pattern && day_of(now) != log->day)
    ts_error_clear(open_day(log, now));   /* kept the old file: on */
  n = (apr_size_t)len;
  apr_file_write_full(log->file, line, n, NULL);
  if (log->to_stderr) {
    if (log->journal)
      fprintf(stderr, "<%d>%s\n", (int)level, msg);
    else
      fputs(line, stderr);
    fflush(stderr);
  }
  apr_thread_mutex_unlock(log->lock);
}

void
ts_log(ts_log_t *log, ts_log_level_t level, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  vlog(log, level, fmt, ap);
  va_end(ap);
}

void
ts_log_error(ts_log_t *log, ts_log_level_t level, const ts_error_t *err,
             const char *context)
{
  apr_pool_t *pool;

  apr_pool_create(&pool, NULL);
  ts_log(log, level, "%s%s%s", context ? context : "",
           context ? ": " : "", ts_error_text(err, pool));
  apr_pool_destroy(pool);
}

const char *
ts_log_path(const ts_log_t *log)
{
  return log->path;
}
