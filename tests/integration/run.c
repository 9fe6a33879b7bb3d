/* run.c: start a program with APR and capture its stdout and stderr in
 * temporary files (no pipes, so a chatty program cannot deadlock us). */
#include "run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_network_io.h>
#include <apr_thread_proc.h>

#ifdef _WIN32
#define NULL_DEVICE "NUL"
#else
#define NULL_DEVICE "/dev/null"
#endif

static char *
slurp(apr_file_t *f, apr_pool_t *pool)
{
  apr_off_t off = 0;
  apr_finfo_t fi;
  char *buf;
  apr_size_t got;

  (void)pool;
  apr_file_info_get(&fi, APR_FINFO_SIZE, f);
  apr_file_seek(f, APR_SET, &off);
  buf = calloc(1, (size_t)fi.size + 1);
  apr_file_read_full(f, buf, (apr_size_t)fi.size, &got);
  return buf;
}

static apr_file_t *
temp_file(apr_pool_t *pool)
{
  const char *dir;
  apr_file_t *f;

  cr_assert_eq(apr_temp_dir_get(&dir, pool), APR_SUCCESS);
  cr_assert_eq(apr_file_mktemp(&f, apr_pstrcat(pool, dir, "/run-XXXXXX",
                                               NULL), 0, pool), APR_SUCCESS);
  return f;
}

/* The directory part of PATH. */
static const char *
dirname_of(const char *path, apr_pool_t *pool)
{
  const char *slash = strrchr(path, '/');

  return slash ? apr_pstrndup(pool, path, (apr_size_t)(slash - path)) : ".";
}

/* ARGV with argv[0] copied into a new directory of the system's temporary
 * directory that every account may enter (removed again after the run). */
static const char **
reachable_copy(const char *const *argv, apr_pool_t *pool)
{
  const char *tmp, *dir, *copy, *base = strrchr(argv[0], '/');
  const char **out;
  int n = 0;

  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  static int runs;
  apr_status_t s;

  dir = apr_psprintf(pool, "%s/tessera-run-%" APR_TIME_T_FMT "-%d", tmp,
                     apr_time_now(), ++runs);
  cr_assert_eq(apr_dir_make(dir, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
  s = apr_file_perms_set(dir, 0x0755);   /* whatever the umask */
  cr_assert(s == APR_SUCCESS || APR_STATUS_IS_ENOTIMPL(s));
  copy = apr_pstrcat(pool, dir, base ? base : "/program", NULL);
  cr_assert_eq(apr_file_copy(argv[0], copy, APR_FPROT_FILE_SOURCE_PERMS,
                             pool), APR_SUCCESS, "cannot copy %s to %s",
               argv[0], copy);
  while (argv[n])
    n++;
  out = apr_pcalloc(pool, (size_t)(n + 1) * sizeof(*out));
  memcpy(out, argv, (size_t)n * sizeof(*out));
  out[0] = copy;
  return out;
}

run_result_t
run(const char *const *argv, const char *const *env, const char *user)
{
  run_result_t r = { -1, NULL, NULL };
  apr_pool_t *pool;
  apr_procattr_t *attr;
  apr_proc_t proc;
  apr_file_t *out, *err, *in;
  apr_exit_why_e why;
  apr_status_t s;
  int code;

  apr_pool_create(&pool, NULL);
  out = temp_file(pool);
  err = temp_file(pool);
  cr_assert_eq(apr_file_open(&in, NULL_DEVICE, APR_FOPEN_READ,
                             APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
  apr_procattr_create(&attr, pool);
  apr_procattr_child_in_set(attr, in, NULL);
  apr_procattr_child_out_set(attr, out, NULL);
  apr_procattr_child_err_set(attr, err, NULL);
  apr_procattr_cmdtype_set(attr, APR_PROGRAM);
  if (user) {
    cr_assert_eq(apr_procattr_user_set(attr, user, NULL), APR_SUCCESS,
                 "cannot run as %s", user);
    /* USER may not reach the build tree (a checkout under a private
     * directory): run a copy from a directory everyone may enter */
    argv = reachable_copy(argv, pool);
  }
  s = apr_proc_create(&proc, argv[0], argv, env, attr, pool);
  if (s) {
    char buf[256];
    cr_assert_fail("cannot start %s: %s (%d)", argv[0],
                   apr_strerror(s, buf, sizeof(buf)), s);
  }
  apr_proc_wait(&proc, &code, &why, APR_WAIT);
  if (user) {
    apr_file_remove(argv[0], pool);
    apr_dir_remove(dirname_of(argv[0], pool), pool);
  }
  r.status = why == APR_PROC_EXIT ? code : 128 + code;
  r.out = slurp(out, pool);
  r.err = slurp(err, pool);
  apr_pool_destroy(pool);
  return r;
}

void
run_free(run_result_t *r)
{
  free(r->out);
  free(r->err);
}

const char *const *
run_env(const char *const *keep, const char *extra)
{
  static char copies[16][2048];
  static const char *env[18];
  int n = 0;

  for (int i = 0; keep[i] && n < 16; i++)
    if (getenv(keep[i])) {
      apr_snprintf(copies[n], sizeof(copies[n]), "%s=%s", keep[i],
                   getenv(keep[i]));
      env[n] = copies[n];
      n++;
    }
  if (extra)
    env[n++] = extra;
  env[n] = NULL;
  return env;
}

/* Whether PORT can be bound on every IPv4 address now. */
static int
bindable(int port, apr_pool_t *pool)
{
  apr_socket_t *s;
  apr_sockaddr_t *sa;
  int ok;

  if (apr_sockaddr_info_get(&sa, "0.0.0.0", APR_INET, (apr_port_t)port, 0,
                            pool)
      || apr_socket_create(&s, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pool))
    return 0;
  ok = apr_socket_bind(s, sa) == APR_SUCCESS;
  apr_socket_close(s);
  return ok;
}

int
run_free_port(void)
{
  apr_pool_t *pool;
  unsigned char r[2];
  int port = 0;

  apr_pool_create(&pool, NULL);
  /* Below the ephemeral ranges (Linux 32768.., Windows 49152..), so no
   * outgoing connection takes p+1 or p+2 meanwhile; p..p+5 all free. */
  for (int tries = 0; tries < 500 && !port; tries++) {
    int p, ok = 1;
    apr_generate_random_bytes(r, sizeof(r));
    p = 20000 + (r[0] << 8 | r[1]) % 12000;
    for (int i = 0; i < 6 && ok; i++)
      ok = bindable(p + i, pool);
    if (ok)
      port = p;
  }
  apr_pool_destroy(pool);
  cr_assert_neq(port, 0, "no six free ports in 20000..32000");
  return port;
}

/* The request and the whole answer, headers and body, into a malloc'ed
 * *RAW of at most CAP - 1 bytes; the status (-1: no answer). To ADDRESS,
 * from the local address SOURCE unless it is NULL. */
static int
exchange(char **raw, size_t cap, const char *address, const char *source,
         int port, const char *method, const char *path, const char *json,
         const char *headers)
{
  apr_pool_t *pool;
  apr_sockaddr_t *sa;
  apr_socket_t *s;
  const char *req;
  size_t got = 0;
  char *buf = malloc(cap);
  apr_size_t n;
  apr_status_t rv;
  int status = -1;

  apr_pool_create(&pool, NULL);
  buf[0] = '\0';
  req = apr_psprintf(pool, "%s %s HTTP/1.1\r\nHost: localhost\r\nConnection: "
                     "close\r\n%s%sContent-Length: %lu\r\n\r\n%s", method,
                     path, headers ? headers : "",
                     headers && strstr(headers, "Content-Type:") ? ""
                     : "Content-Type: application/json\r\n",
                     (unsigned long)(json ? strlen(json) : 0),
                     json ? json : "");
  rv = apr_sockaddr_info_get(&sa, address, APR_UNSPEC, (apr_port_t)port, 0,
                             pool);
  if (!rv)
    rv = apr_socket_create(&s, sa->family, SOCK_STREAM, APR_PROTO_TCP, pool);
  if (!rv && source) {
    apr_sockaddr_t *from;
    rv = apr_sockaddr_info_get(&from, source, sa->family, 0, 0, pool);
    if (!rv)
      rv = apr_socket_bind(s, from);
    if (rv)
      apr_socket_close(s);
  }
  if (!rv) {
    apr_socket_timeout_set(s, apr_time_from_sec(30));
    rv = apr_socket_connect(s, sa);
    n = strlen(req);
    if (!rv)
      rv = apr_socket_send(s, req, &n);
    while (!rv && got < cap - 1) {
      n = cap - 1 - got;
      rv = apr_socket_recv(s, buf + got, &n);
      got += n;
    }
    apr_socket_close(s);
    buf[got] = '\0';
    if (got && sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
      status = -1;
  }
  apr_pool_destroy(pool);
  *raw = buf;
  return status;
}

int
run_http(int port, const char *method, const char *path, const char *json,
         const char *headers, char *body, size_t body_size)
{
  return run_http_at("127.0.0.1", port, method, path, json, headers, body,
                     body_size);
}

int
run_http_at(const char *address, int port, const char *method,
            const char *path, const char *json, const char *headers,
            char *body, size_t body_size)
{
  char *buf, *b;
  int status = exchange(&buf, body_size + 8192, address, NULL, port, method,
                        path, json, headers);

  if (body) {
    b = strstr(buf, "\r\n\r\n");
    snprintf(body, body_size, "%s", b ? b + 4 : "");
  }
  free(buf);
  return status;
}

int
run_http_headers(int port, const char *method, const char *path,
                 char *head, size_t head_size)
{
  char *buf, *b;
  int status = exchange(&buf, head_size + 65536, "127.0.0.1", NULL, port,
                        method, path, NULL, NULL);

  b = strstr(buf, "\r\n\r\n");
  if (b)
    *b = '\0';
  snprintf(head, head_size, "%s", buf);
  free(buf);
  return status;
}

int
run_http_from(const char *source, int port, const char *method,
              const char *path, const char *json, const char *headers,
              char *answer, size_t answer_size)
{
  char *buf;
  int status = exchange(&buf, answer_size, "127.0.0.1", source, port, method,
                        path, json, headers);

  snprintf(answer, answer_size, "%s", buf);
  free(buf);
  return status;
}

void
run_start(apr_proc_t *proc, const char *const *argv, const char *const *env,
          const char *errfile, apr_pool_t *pool)
{
  apr_procattr_t *attr;
  apr_file_t *in, *err = NULL;
  apr_status_t s;

  cr_assert_eq(apr_file_open(&in, NULL_DEVICE, APR_FOPEN_READ,
                             APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
  if (errfile)
    cr_assert_eq(apr_file_open(&err, errfile, APR_FOPEN_CREATE
                               | APR_FOPEN_WRITE | APR_FOPEN_TRUNCATE,
                               APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
  apr_procattr_create(&attr, pool);
  apr_procattr_child_in_set(attr, in, NULL);
  if (err) {
    apr_procattr_child_out_set(attr, err, NULL);
    apr_procattr_child_err_set(attr, err, NULL);
  }
  apr_procattr_cmdtype_set(attr, APR_PROGRAM);
  s = apr_proc_create(proc, argv[0], argv, env, attr, pool);
  if (s) {
    char buf[256];
    cr_assert_fail("cannot start %s: %s (%d)", argv[0],
                   apr_strerror(s, buf, sizeof(buf)), s);
  }
}

char *
run_read_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *buf = calloc(1, 1 << 20);

  if (f) {
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
  }
  return buf;
}

void
run_write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "wb");

  cr_assert_not_null(f, "cannot write %s", path);
  fputs(text, f);
  fclose(f);
}
