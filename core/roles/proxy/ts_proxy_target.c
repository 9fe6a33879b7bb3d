/* ts_proxy_target.c: the CONNECT target and the absolute-form URL a
 * client sends the proxy (ts_proxy_target.h). Everything here came from
 * the network: lengths are checked before anything is copied, and a name
 * is only ever a name the registry could hold, so no host or address a
 * client writes is ever connected to. */
#include "ts_proxy_target.h"

#include <string.h>
#include <apr_strings.h>

int
ts_proxy_valid_name(const char *name)
{
  apr_size_t n = 0;

  if (!name)
    return 0;
  for (; name[n]; n++) {
    char c = name[n];
    if (n >= TS_PROXY_NAME_MAX
        || !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
             || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
      return 0;
  }
  return n > 0;
}

/* The decimal port in S (LEN bytes): 1..65535, or 0. */
static int
parse_port(const char *s, apr_size_t len)
{
  long v = 0;

  if (len == 0 || len > 5)
    return 0;
  for (apr_size_t i = 0; i < len; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    v = v * 10 + (s[i] - '0');
  }
  return v >= 1 && v <= 65535 ? (int)v : 0;
}

/* "name:port" or "[name]:port" in S (LEN bytes); PORT_OPTIONAL: "name"
 * alone gives *PORT = DEFAULT_PORT. */
static int
name_and_port(const char **name, int *port, const char *s, apr_size_t len,
              int port_optional, int default_port, apr_pool_t *pool)
{
  const char *colon, *end = s + len, *n = s;
  apr_size_t nlen;

  if (len > 0 && s[0] == '[') {
    const char *close = memchr(s, ']', len);
    if (!close)
      return 0;
    n = s + 1;
    nlen = (apr_size_t)(close - n);
    colon = close + 1 < end ? close + 1 : NULL;
    if (colon && *colon != ':')
      return 0;
  }
  else {
    colon = memchr(s, ':', len);
    nlen = colon ? (apr_size_t)(colon - s) : len;
  }
  if (colon)
    *port = parse_port(colon + 1, (apr_size_t)(end - colon - 1));
  else if (port_optional)
    *port = default_port;
  else
    return 0;
  if (!*port || nlen == 0 || nlen > TS_PROXY_NAME_MAX)
    return 0;
  *name = apr_pstrmemdup(pool, n, nlen);
  return ts_proxy_valid_name(*name);
}

int
ts_proxy_connect_target(const char **name, int *port, const char *target,
                        apr_pool_t *pool)
{
  if (!target)
    return 0;
  return name_and_port(name, port, target, strlen(target), 0, 0, pool);
}

/* Whether the origin-form PATH may be sent on: printable ASCII without
 * spaces, no fragment. */
static int
valid_path(const char *path)
{
  for (; *path; path++)
    if ((unsigned char)*path <= 0x20 || (unsigned char)*path >= 0x7f
        || *path == '#')
      return 0;
  return 1;
}

int
ts_proxy_absolute_target(const char **name, int *port, const char **path,
                         const char *target, apr_pool_t *pool)
{
  const char *authority, *slash;
  apr_size_t alen;

  if (!target || strncasecmp(target, "http://", 7) != 0)
    return 0;
  authority = target + 7;
  slash = strchr(authority, '/');
  if (!slash)
    slash = strchr(authority, '?');
  alen = slash ? (apr_size_t)(slash - authority) : strlen(authority);
  if (memchr(authority, '@', alen))
    return 0;                     /* no user info */
  if (!name_and_port(name, port, authority, alen, 1, 80, pool))
    return 0;
  if (!slash)
    *path = "/";
  else if (*slash == '?')
    *path = apr_pstrcat(pool, "/", slash, NULL);
  else
    *path = apr_pstrdup(pool, slash);
  return valid_path(*path);
}
