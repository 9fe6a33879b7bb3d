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
#include "tsp.h"

struct ts_log_t {
  const char *path;
  apr_file_t *file;
  apr_pool_t *file_pool;      /* holds FILE; replaced on reopen */
  apr_thread_mutex_t *lock;
  int to_stderr;
  int journal;
  apr_pool_t *pool;
};

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
    return ts_error_aprf(s, "cannot open the log file %s%s", path,
                         APR_STATUS_IS_EACCES(s) ? ": permission denied; "
                         "give this server's account write access to it and "
                         "its directory" : "");
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

ts_error_t *
ts_log_reopen(ts_log_t *log)
{
  apr_file_t *file;
  apr_pool_t *file_pool, *old;

  TS_ERR(open_file(&file, &file_pool, log->path, log->pool));
  apr_thread_mutex_lock(log->lock);
  old = log->file_pool;
  log->file = file;
  log->file_pool = file_pool;
  apr_thread_mutex_unlock(log->lock);
  apr_pool_destroy(old);
  return NULL;
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
    return ts_error_aprf(s, "cannot write to %s%s", log->path,
                         APR_STATUS_IS_ENOSPC(s) ? ": the disk is full; make "
                         "room there" : "");
  return NULL;
}

static void
vlog(ts_log_t *log, ts_log_level_t level, const char *fmt, va_list ap)
{
  char msg[2048], stamp[32], line[2200];
  apr_size_t n;
  int len;

  apr_vsnprintf(msg, sizeof(msg), fmt, ap);
  ts_log_stamp(stamp, apr_time_now());
  len = apr_snprintf(line, sizeof(line), "%s %s %s\n", stamp,
                     level_name(level), msg);
  apr_thread_mutex_lock(log->lock);
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
