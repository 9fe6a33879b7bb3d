/* fuzz_common.c: the harnesses' shared helpers (see fuzz_common.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE             /* RTLD_NEXT */
#endif
#include "fuzz_common.h"

#include <dlfcn.h>
#include <errno.h>
#include <ftw.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_network_io.h>
#include <apr_strings.h>

#include "tsp.h"

static apr_pool_t *process_pool;
static const char *scratch;

/* Fuzzed host names must not turn into DNS queries: slow, dependent on
 * the machine's network, and a timeout would look like a finding. This
 * definition takes the place of the C library's for the whole harness
 * (the C library's is reached through RTLD_NEXT): names other than
 * "localhost" resolve only when they are numeric addresses. */
int
getaddrinfo(const char *node, const char *service,
            const struct addrinfo *hints, struct addrinfo **res)
{
  typedef int (*gai_t)(const char *, const char *, const struct addrinfo *,
                       struct addrinfo **);
  static gai_t real;
  struct addrinfo h = { 0 };

  if (!real)
    real = (gai_t)dlsym(RTLD_NEXT, "getaddrinfo");
  if (hints)
    h = *hints;
  else
    h.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;
  if (node && strcmp(node, "localhost") != 0)
    h.ai_flags |= AI_NUMERICHOST;
  return real(node, service, &h, res);
}

void
fuzz_fail(const char *file, int line, const char *cond, const char *fmt,
          ...)
{
  va_list ap;

  fprintf(stderr, "\n==fuzz== invariant broken at %s:%d: %s\n==fuzz== ",
          file, line, cond);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  abort();
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
             struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

void
fuzz_remove_tree(const char *path)
{
  nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
remove_scratch(void)
{
  if (scratch)
    fuzz_remove_tree(scratch);
}

apr_pool_t *
fuzz_init(void)
{
  if (!process_pool) {
    apr_initialize();
    apr_pool_create(&process_pool, NULL);
  }
  return process_pool;
}

const char *
fuzz_scratch_dir(void)
{
  const char *base = getenv("TMPDIR");
  char *dir;

  if (scratch)
    return scratch;
  if (access("/dev/shm", W_OK) == 0)
    base = "/dev/shm";
  else if (!base || !*base)
    base = "/tmp";
  dir = apr_pstrcat(fuzz_init(), base, "/tessera-fuzz-XXXXXX", NULL);
  FUZZ_CHECK(mkdtemp(dir), "cannot create a scratch directory in %s", base);
  scratch = dir;
  atexit(remove_scratch);
  return scratch;
}

const char *
fuzz_cstring(const uint8_t *data, size_t size, apr_pool_t *pool)
{
  return apr_pstrmemdup(pool, (const char *)data, size);
}

apr_array_header_t *
fuzz_split(apr_array_header_t **lens_p, const uint8_t *data, size_t size,
           const char *separator, int max, apr_pool_t *pool)
{
  apr_array_header_t *parts = apr_array_make(pool, 4, sizeof(const char *));
  apr_array_header_t *lens = apr_array_make(pool, 4, sizeof(apr_size_t));
  const char *p = (const char *)data, *end = p + size;
  size_t seplen = strlen(separator);

  while (parts->nelts < max - 1) {
    /* the next line that is SEPARATOR: at the start or after '\n' */
    const char *at = NULL;
    for (const char *q = p; q + seplen <= end; q++)
      if ((q == p || q[-1] == '\n') && memcmp(q, separator, seplen) == 0
          && (q + seplen == end || q[seplen] == '\n')) {
        at = q;
        break;
      }
    if (!at)
      break;
    APR_ARRAY_PUSH(parts, const char *) = apr_pstrmemdup(pool, p, at - p);
    APR_ARRAY_PUSH(lens, apr_size_t) = (apr_size_t)(at - p);
    p = at + seplen + (at + seplen < end);
  }
  APR_ARRAY_PUSH(parts, const char *) = apr_pstrmemdup(pool, p, end - p);
  APR_ARRAY_PUSH(lens, apr_size_t) = (apr_size_t)(end - p);
  if (lens_p)
    *lens_p = lens;
  return parts;
}

void
fuzz_write_file(const char *path, const void *data, size_t len,
                apr_pool_t *pool)
{
  apr_file_t *f;
  apr_size_t n = len;
  apr_status_t s;

  s = apr_file_open(&f, path, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                    | APR_FOPEN_TRUNCATE | APR_FOPEN_BINARY,
                    APR_FPROT_OS_DEFAULT, pool);
  if (!s)
    s = apr_file_write_full(f, data, len, &n);
  if (!s)
    s = apr_file_close(f);
  FUZZ_CHECK(s == APR_SUCCESS, "cannot write %s (%d)", path, (int)s);
}

static int offline_port;

/* tsp_sys.socket_connect while offline: only PORT on loopback. */
static apr_status_t
connect_offline(apr_socket_t *sock, apr_sockaddr_t *sa)
{
  char *ip = NULL;

  apr_sockaddr_ip_get(&ip, sa);
  if (offline_port && sa->port == offline_port && ip
      && (strcmp(ip, "127.0.0.1") == 0 || strcmp(ip, "::1") == 0))
    return tsp_sys_real.socket_connect(sock, sa);
  return APR_FROM_OS_ERROR(ECONNREFUSED);
}

void
fuzz_offline(int port)
{
  offline_port = port;
  tsp_sys.socket_connect = connect_offline;
}

static apr_status_t
no_process(apr_proc_t *proc, const char *program, const char *const *args,
           const char *const *env, apr_procattr_t *attr, apr_pool_t *pool)
{
  (void)proc;
  (void)args;
  (void)env;
  (void)attr;
  (void)pool;
  fuzz_fail(__FILE__, __LINE__, "no child process",
            "the harness started %s, which it must not reach", program);
}

void
fuzz_no_processes(void)
{
  tsp_sys.proc_create = no_process;
}

int
fuzz_free_port(void)
{
  apr_pool_t *pool;
  apr_sockaddr_t *sa, *bound;
  apr_socket_t *sock;
  apr_status_t s;
  int port = 0;

  apr_pool_create(&pool, fuzz_init());
  s = apr_sockaddr_info_get(&sa, "127.0.0.1", APR_INET, 0, 0, pool);
  if (!s)
    s = apr_socket_create(&sock, APR_INET, SOCK_STREAM, APR_PROTO_TCP, pool);
  if (!s)
    s = apr_socket_bind(sock, sa);
  if (!s)
    s = apr_socket_addr_get(&bound, APR_LOCAL, sock);
  if (!s)
    port = bound->port;
  FUZZ_CHECK(!s && port, "cannot find a free port on 127.0.0.1 (%d)",
             (int)s);
  apr_socket_close(sock);
  apr_pool_destroy(pool);
  return port;
}
