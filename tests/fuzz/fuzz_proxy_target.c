/* fuzz_proxy_target.c: what the proxy reads from a client beyond the
 * request head (core/roles/proxy/ts_proxy_target.c): the target of
 * `CONNECT name:port` and of an absolute-form request
 * `GET http://name[:port]/path`. The first byte of the input chooses
 * which ('A': absolute-form, else CONNECT), the rest is the target as the
 * head parser hands it over (NUL-terminated).
 *
 * Invariants: an accepted target gives a name the registry could hold
 * (1..128 of A-Z a-z 0-9 . _ -: never a host or address with ':' or '/'),
 * a port of 1..65535, and for the absolute form a path that starts with
 * '/' and holds no space, control character or fragment; the name and
 * port written out again parse to the same; nothing is read past the
 * target.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "ts_proxy_target.h"

static apr_pool_t *root;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  root = fuzz_init();
  return 0;
}

static void
check_name_port(const char *name, int port)
{
  if (!ts_proxy_valid_name(name) || strlen(name) > TS_PROXY_NAME_MAX
      || strpbrk(name, ":/@[]") || port < 1 || port > 65535)
    abort();
}

static void
check_connect(const char *target, apr_pool_t *pool)
{
  const char *name, *again;
  int port, port2;

  if (!ts_proxy_connect_target(&name, &port, target, pool))
    return;
  check_name_port(name, port);
  if (!strstr(target, name))
    abort();
  if (!ts_proxy_connect_target(&again, &port2, apr_psprintf(pool, "%s:%d",
                               name, port), pool)
      || strcmp(again, name) || port2 != port)
    abort();
}

static void
check_absolute(const char *target, apr_pool_t *pool)
{
  const char *name, *path, *again, *path2;
  int port, port2;

  if (!ts_proxy_absolute_target(&name, &port, &path, target, pool))
    return;
  check_name_port(name, port);
  if (path[0] != '/' || strchr(path, '#'))
    abort();
  for (const char *p = path; *p; p++)
    if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
      abort();
  if (!ts_proxy_absolute_target(&again, &port2, &path2, apr_psprintf(pool,
                                "http://%s:%d%s", name, port, path), pool)
      || strcmp(again, name) || port2 != port || strcmp(path2, path))
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  char *target;

  if (size == 0)
    return 0;
  /* a copy of its own, so that reading past its end is caught */
  target = malloc(size);
  memcpy(target, data + 1, size - 1);
  target[size - 1] = '\0';
  apr_pool_create(&pool, root);
  if (data[0] == 'A')
    check_absolute(target, pool);
  else
    check_connect(target, pool);
  apr_pool_destroy(pool);
  free(target);
  return 0;
}
