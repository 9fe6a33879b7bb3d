/* ts_proxy_target.h: what the proxy reads from a client beyond the
 * request head (which ts_http_head_parse checks): the name and port of
 * `CONNECT name:port`, and the name, port and path of an absolute-form
 * request `GET http://name[:port]/path HTTP/1.1`. Pure functions, with a
 * fuzzing harness (tests/fuzz/fuzz_proxy_target.c). */
#ifndef TS_PROXY_TARGET_H
#define TS_PROXY_TARGET_H

#include <apr_pools.h>

/* The longest name the proxy looks up: the registry's names (models,
 * links, repositories) are 1..128 of A-Z a-z 0-9 . _ - */
#define TS_PROXY_NAME_MAX 128

/* TARGET of a CONNECT, "name:port" (or "[name]:port"): *NAME (in POOL)
 * and *PORT (1..65535). 0 when it is not of that form or NAME is not a
 * name the registry could know. */
int ts_proxy_connect_target(const char **name, int *port, const char *target,
                            apr_pool_t *pool);

/* TARGET of an absolute-form request, "http://name[:port][/path]":
 * *NAME, *PORT (80 when absent) and *PATH (the origin-form, "/" when
 * absent; it keeps the query) in POOL. 0 when it is not an http URL of
 * a name the registry could know (https, user info, a fragment, control
 * characters or spaces are refused). */
int ts_proxy_absolute_target(const char **name, int *port, const char **path,
                             const char *target, apr_pool_t *pool);

/* Whether NAME (NUL-terminated) is 1..TS_PROXY_NAME_MAX of A-Z a-z 0-9 .
 * _ - (what ts_registry_valid_name accepts). */
int ts_proxy_valid_name(const char *name);

#endif
