/* environment.c: what a child inherits (tsp_environment), on both
 * systems: the C library's environment array is environ on POSIX and
 * _environ on Windows (which tsp_env_set keeps current there). */
#include "tsp.h"

#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>

#ifdef _WIN32
#define ENVIRON _environ
#else
#include <unistd.h>
#define ENVIRON environ
#endif

/* Whether VAR ("NAME=value") sets a variable EXTRA sets too. */
static int
overridden(const char *var, const char *const *extra)
{
  const char *eq = strchr(var, '=');
  size_t n = eq ? (size_t)(eq - var) : strlen(var);

  for (int i = 0; extra && extra[i]; i++)
    if (strncmp(extra[i], var, n) == 0 && extra[i][n] == '=')
      return 1;
  return 0;
}

const char *const *
tsp_environment(const char *const *extra, apr_pool_t *pool)
{
  apr_array_header_t *out = apr_array_make(pool, 64, sizeof(const char *));

  for (char **e = ENVIRON; e && *e; e++)
    if (!overridden(*e, extra))
      APR_ARRAY_PUSH(out, const char *) = apr_pstrdup(pool, *e);
  for (int i = 0; extra && extra[i]; i++)
    APR_ARRAY_PUSH(out, const char *) = extra[i];
  APR_ARRAY_PUSH(out, const char *) = NULL;
  return (const char *const *)out->elts;
}
