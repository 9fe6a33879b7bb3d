/* ts_settings_schema.c: the schema of the architecture settings and the
 * validation of each value on its own (SPEC §2).
 *
 * Patterns are PCRE2 regular expressions, compiled per call: settings are
 * validated a handful of times per process, and keeping no compiled state
 * keeps this module free of globals. When a pattern refuses a value, the
 * value is examined once more to say precisely why.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "ts_settings.h"

#include <stdlib.h>
#include <string.h>
#include <apr_file_info.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <pcre2.h>

#include "ts_envfile.h"
#include "ts_i18n.h"

static const ts_setting_def_t schema[] = {
  { "INOHOST", TS_KIND_HOSTPORT,
    N_("the main license server's machine and port"),
    N_("<host>.<port>: host a DNS name, an IPv4 address or an IPv6 address "
       "in brackets; the port, after the last dot, in 1024..64000"),
    "lic1.17000",
    N_("all servers (changing the host needs license re-activation)"), 0 },
  { "INOLIC", TS_KIND_DIR,
    N_("license directory: license file and the license server's logs"),
    N_("an absolute directory"), NULL, N_("license server"), 0 },
  { "INODIR", TS_KIND_DIR,
    N_("parameter files (shared settings; may be a shared directory)"),
    N_("an absolute directory"), NULL, N_("all servers"), 0 },
  { "INOPRJ", TS_KIND_DIR,
    N_("project directory holding the repositories"),
    N_("an absolute directory on a local disk"), NULL,
    N_("agent, model servers"), 0 },
  { "INOLANG", TS_KIND_LANG,
    N_("interface language"),
    N_("a language code: en or de"), "en", NULL, 0 },
  { "INONOTIFY", TS_KIND_DIR,
    N_("root of the notification service's files (default: under INOPRJ)"),
    N_("an absolute directory, or unset"), NULL,
    N_("notification service"), 1 },
  { "INOAGENTPORT", TS_KIND_PORT,
    N_("the agent's port (default: the INOHOST port + 3)"),
    N_("a port in 1024..64000 that is not p, p+1, p+2, p+4 or p+5"), "17003",
    N_("agent"), 0 },
};

const char *const ts_settings_languages[] = { "en", "de", NULL };

const ts_setting_def_t *
ts_settings_schema(int *count)
{
  *count = (int)(sizeof(schema) / sizeof(schema[0]));
  return schema;
}

const ts_setting_def_t *
ts_settings_find(const char *name)
{
  for (size_t i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
    if (strcmp(schema[i].name, name) == 0)
      return &schema[i];
  return NULL;
}

/* True when SUBJECT matches PATTERN (anchored by the pattern itself). */
static int
matches(const char *pattern, const char *subject)
{
  int errcode, rc;
  PCRE2_SIZE erroffset;
  pcre2_code *re;
  pcre2_match_data *md;

  re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                     PCRE2_CASELESS, &errcode, &erroffset, NULL);
  if (!re)
    abort();   /* our own pattern is broken: a bug found by every test */
  md = pcre2_match_data_create_from_pattern(re, NULL);
  rc = pcre2_match(re, (PCRE2_SPTR)subject, PCRE2_ZERO_TERMINATED, 0, 0, md,
                   NULL);
  pcre2_match_data_free(md);
  pcre2_code_free(re);
  return rc >= 0;
}

#define RE_OCTET "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
#define RE_IPV4 RE_OCTET "(\\." RE_OCTET "){3}"
#define RE_H16 "[0-9a-f]{1,4}"
static const char re_ipv4[] = "^" RE_IPV4 "$";
static const char re_ipv6[] =
  "^("
  "(" RE_H16 ":){7}" RE_H16
  "|(" RE_H16 ":){1,7}:"
  "|(" RE_H16 ":){1,6}:" RE_H16
  "|(" RE_H16 ":){1,5}(:" RE_H16 "){1,2}"
  "|(" RE_H16 ":){1,4}(:" RE_H16 "){1,3}"
  "|(" RE_H16 ":){1,3}(:" RE_H16 "){1,4}"
  "|(" RE_H16 ":){1,2}(:" RE_H16 "){1,5}"
  "|" RE_H16 ":(:" RE_H16 "){1,6}"
  "|:((:" RE_H16 "){1,7}|:)"
  "|(" RE_H16 ":){6}" RE_IPV4
  "|::(" RE_H16 ":){0,5}" RE_IPV4
  "|(" RE_H16 ":){1,5}:" RE_IPV4
  ")$";
/* RFC 1123: labels of letters, digits and inner hyphens, 1..63 long; the
 * name at most 253 characters. */
static const char re_dns[] =
  "^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
  "(\\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$";
static const char re_port[] = "^[1-9][0-9]*$";

/* Why HOST is not a valid DNS name: the first offending label. */
static ts_error_t *
explain_dns(const char *host, apr_pool_t *pool)
{
  const char *p = host;

  if (strlen(host) > 253)
    return ts_error_createf(TS_EINVAL, "the host name is %d characters "
                            "long; at most 253 are allowed",
                            (int)strlen(host));
  for (;;) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    const char *label = apr_pstrmemdup(pool, p, n);

    if (n == 0)
      return ts_error_createf(TS_EINVAL, "the host '%s' has an empty label "
                              "(two dots in a row, or a dot at its start)",
                              host);
    if (n > 63)
      return ts_error_createf(TS_EINVAL, "the label '%s' is %d characters "
                              "long; labels have at most 63", label, (int)n);
    for (const char *c = label; *c; c++)
      if (!apr_isalnum(*c) && *c != '-')
        return ts_error_createf(TS_EINVAL, "the label '%s' contains '%c'; "
                                "host names use letters, digits and '-' "
                                "only", label, *c);
    if (label[0] == '-' || label[n - 1] == '-')
      return ts_error_createf(TS_EINVAL, "the label '%s' starts or ends "
                              "with '-'", label);
    if (!dot)
      break;
    p = dot + 1;
  }
  return ts_error_createf(TS_EINVAL, "the host '%s' is not a valid name",
                          host);
}

static ts_error_t *
check_host(const char **out, const char *host, apr_pool_t *pool)
{
  size_t n = strlen(host);

  if (n == 0)
    return ts_error_createf(TS_EINVAL, "the host before the port is empty");
  if (host[0] == '[') {
    const char *inner;
    if (n < 3 || host[n - 1] != ']')
      return ts_error_createf(TS_EINVAL, "the IPv6 address '%s' lacks its "
                              "closing ']'", host);
    inner = apr_pstrmemdup(pool, host + 1, n - 2);
    if (!matches(re_ipv6, inner))
      return ts_error_createf(TS_EINVAL, "'%s' is not a valid IPv6 address",
                              inner);
    *out = inner;
    return NULL;
  }
  if (strchr(host, ':'))
    return ts_error_createf(TS_EINVAL, "the host '%s' looks like an IPv6 "
                            "address: put it in brackets, as in "
                            "[2001:db8::1].17000", host);
  if (matches("^[0-9.]+$", host)) {
    if (!matches(re_ipv4, host))
      return ts_error_createf(TS_EINVAL, "'%s' is not a valid IPv4 address "
                              "(four numbers 0..255 separated by dots)",
                              host);
  }
  else if (!matches(re_dns, host))
    return explain_dns(host, pool);
  *out = host;
  return NULL;
}

static ts_error_t *
check_port(int *port, const char *text, apr_pool_t *pool)
{
  long n;

  (void)pool;
  if (!*text)
    return ts_error_createf(TS_EINVAL, "the port is empty");
  if (!matches(re_port, text))
    return ts_error_createf(TS_EINVAL, "the port '%s' is not a number "
                            "without leading zeros", text);
  n = strlen(text) > 5 ? TS_PORT_MAX + 1L : strtol(text, NULL, 10);
  if (n < TS_PORT_MIN || n > TS_PORT_MAX)
    return ts_error_createf(TS_EINVAL, "the port %s must lie in %d..%d "
                            "(Tessera uses the ports from p up to "
                            "p+5 and beyond for model servers)",
                            text, TS_PORT_MIN, TS_PORT_MAX);
  *port = (int)n;
  return NULL;
}

ts_error_t *
ts_inohost_parse(const char **host, int *port, const char *value,
                 apr_pool_t *pool)
{
  const char *dot = strrchr(value, '.');
  const char *close = strrchr(value, ']');

  if (!dot || (close && dot < close))
    return ts_error_createf(TS_EINVAL, "there is no port: write "
                            "<host>.<port>, the port after the last dot");
  if (dot[1] && !matches("^[0-9]+$", dot + 1))
    return ts_error_createf(TS_EINVAL, "the text '%s' after the last dot is "
                            "not a port number; write <host>.<port>, the "
                            "port after the last dot", dot + 1);
  TS_ERR(check_port(port, dot + 1, pool));
  return check_host(host, apr_pstrmemdup(pool, value, dot - value), pool);
}

static ts_error_t *
check_dir(const char *value, apr_pool_t *pool)
{
  const char *root, *rest = value;

  if (!*value)
    return ts_error_createf(TS_EINVAL, "the directory is empty");
  if (apr_filepath_root(&root, &rest, APR_FILEPATH_NATIVE, pool)
      != APR_SUCCESS)
    return ts_error_createf(TS_EINVAL, "'%s' is not an absolute path; "
                            "relative paths would depend on the directory "
                            "a server starts in", value);
  return NULL;
}

ts_error_t *
ts_setting_reason(const ts_setting_def_t *def, const char *value,
                  apr_pool_t *scratch_pool)
{
  ts_error_t *err = ts_envfile_check(def->name, value);
  const char *host;
  int port;

  if (!err) {
    switch (def->kind) {
    case TS_KIND_HOSTPORT:
      err = ts_inohost_parse(&host, &port, value, scratch_pool);
      break;
    case TS_KIND_DIR:
      err = check_dir(value, scratch_pool);
      break;
    case TS_KIND_PORT:
      err = check_port(&port, value, scratch_pool);
      break;
    case TS_KIND_LANG:
      err = ts_error_createf(TS_EINVAL, "'%s' is not a known language",
                             value);
      for (int i = 0; ts_settings_languages[i]; i++)
        if (strcmp(value, ts_settings_languages[i]) == 0) {
          ts_error_clear(err);
          err = NULL;
        }
      break;
    }
  }
  return err;
}

ts_error_t *
ts_setting_validate(const ts_setting_def_t *def, const char *value,
                    apr_pool_t *scratch_pool)
{
  ts_error_t *err = ts_setting_reason(def, value, scratch_pool);

  if (err)
    return ts_error_wrapf(err, "invalid %s '%s'", def->name, value);
  return NULL;
}
