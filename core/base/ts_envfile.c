/* ts_envfile.c: parse and write environment files that sh and systemd's
 * EnvironmentFile= read the same way (see ts_envfile.h for the grammar). */
#include "ts_envfile.h"

#include <stdarg.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "ts_i18n.h"

typedef struct line_t {
  const char *raw;    /* the text of the line, without its newline */
  const char *name;   /* NULL for comments and blank lines */
  const char *value;
  int number;         /* 1-based line in the parsed file, 0 if added */
} line_t;

struct ts_envfile_t {
  const char *path;
  apr_array_header_t *lines;   /* of line_t */
  apr_pool_t *pool;
};

static int
is_name_start(char c)
{
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}

static int
is_name_char(char c)
{
  return is_name_start(c) || (c >= '0' && c <= '9');
}

static int
is_bare_char(char c)
{
  return is_name_char(c) || (c && strchr("./:@%+,-", c) != NULL);
}

ts_envfile_t *
ts_envfile_create(const char *path, apr_pool_t *pool)
{
  ts_envfile_t *ef = apr_pcalloc(pool, sizeof(*ef));

  ef->path = apr_pstrdup(pool, path);
  ef->lines = apr_array_make(pool, 16, sizeof(line_t));
  ef->pool = pool;
  return ef;
}

/* A malformed file is the administrator's to fix (TS_ECONFIG): the file
 * is where the settings are stored, never input of the command at hand.
 * FMT, marked N_() by the caller, is a whole sentence for one reason; it
 * names the file and the line first ("%s line %d is malformed: ...") and
 * then takes the reason's values. */
static ts_error_t *
bad_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static ts_error_t *
bad_line(const char *fmt, ...)
{
  ts_error_t *err;
  va_list ap;

  va_start(ap, fmt);
  err = ts_error_vcreatef(TS_ECONFIG, fmt, ap);
  va_end(ap);
  return err;
}

/* Parse the value part of an assignment (after '='). */
static ts_error_t *
parse_value(const char **value, const ts_envfile_t *ef, int number,
            const char *s, apr_pool_t *pool)
{
  char *out = apr_palloc(pool, strlen(s) + 1), *o = out;
  const char *p = s;

  if (*p == '"') {
    for (p++; *p && *p != '"'; p++) {
      if (*p == '\\' && p[1] && strchr("\"\\$`", p[1]))
        *o++ = *++p;
      else if (*p == '$' || *p == '`')
        return bad_line(N_("%s line %d is malformed: unescaped '%c' inside "
          "double quotes (sh would expand it, systemd would not); write it "
          "as NAME=\"value\" (escape \\ \" $ and ` with a backslash), or "
          "remove the line"), ef->path, number, *p);
      else
        *o++ = *p;
    }
    if (*p != '"')
      return bad_line(N_("%s line %d is malformed: the double quote is "
        "never closed; write it as NAME=\"value\" (escape \\ \" $ and ` "
        "with a backslash), or remove the line"), ef->path, number);
    p++;
  }
  else if (*p == '\'') {
    for (p++; *p && *p != '\''; p++)
      *o++ = *p;
    if (*p != '\'')
      return bad_line(N_("%s line %d is malformed: the single quote is "
        "never closed; write it as NAME=\"value\" (escape \\ \" $ and ` "
        "with a backslash), or remove the line"), ef->path, number);
    p++;
  }
  else {
    for (; is_bare_char(*p); p++)
      *o++ = *p;
  }
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p)
    return bad_line(N_("%s line %d is malformed: unexpected '%c' after the "
      "value (quote values that contain spaces or special characters); "
      "write it as NAME=\"value\" (escape \\ \" $ and ` with a "
      "backslash), or remove the line"), ef->path, number, *p);
  *o = '\0';
  *value = out;
  return NULL;
}

static ts_error_t *
parse_line(line_t *ln, const ts_envfile_t *ef, apr_pool_t *pool)
{
  const char *s = ln->raw, *eq;

  while (*s == ' ' || *s == '\t')
    s++;
  if (*s == '\0' || *s == '#')
    return NULL;
  if (!is_name_start(*s))
    return bad_line(N_("%s line %d is malformed: it is neither a comment "
      "nor NAME=value; write it as NAME=\"value\" (escape \\ \" $ and ` "
      "with a backslash), or remove the line"), ef->path, ln->number);
  for (eq = s; is_name_char(*eq); eq++)
    ;
  if (*eq != '=')
    return bad_line(N_("%s line %d is malformed: expected '=' right after "
      "the name '%.*s'; write it as NAME=\"value\" (escape \\ \" $ and ` "
      "with a backslash), or remove the line"), ef->path, ln->number,
      (int)(eq - s), s);
  ln->name = apr_pstrmemdup(pool, s, eq - s);
  return parse_value(&ln->value, ef, ln->number, eq + 1, pool);
}

ts_error_t *
ts_envfile_parse(ts_envfile_t **ef_p, const char *path, const char *text,
                 apr_size_t len, apr_pool_t *pool)
{
  ts_envfile_t *ef = ts_envfile_create(path, pool);
  const char *p = text, *end = text + len;
  int number = 0;

  if (memchr(text, '\0', len))
    return ts_error_createf(TS_ECONFIG,
      "%s contains a NUL byte: it is not a text file; restore it from a "
      "backup or remove it", path);
  while (p < end) {
    const char *nl = memchr(p, '\n', end - p);
    const char *stop = nl ? nl : end;
    line_t *ln = apr_array_push(ef->lines);

    memset(ln, 0, sizeof(*ln));
    ln->number = ++number;
    if (stop > p && stop[-1] == '\r')
      return bad_line(N_("%s line %d is malformed: it ends with a carriage "
        "return (convert the file with dos2unix); write it as "
        "NAME=\"value\" (escape \\ \" $ and ` with a backslash), or "
        "remove the line"), path, number);
    ln->raw = apr_pstrmemdup(pool, p, stop - p);
    TS_ERR(parse_line(ln, ef, pool));
    p = nl ? nl + 1 : end;
  }
  *ef_p = ef;
  return NULL;
}

const char *
ts_envfile_get(const ts_envfile_t *ef, const char *name)
{
  for (int i = ef->lines->nelts - 1; i >= 0; i--) {
    const line_t *ln = &APR_ARRAY_IDX(ef->lines, i, line_t);
    if (ln->raw && ln->name && strcmp(ln->name, name) == 0)
      return ln->value;
  }
  return NULL;
}

void
ts_envfile_each(const ts_envfile_t *ef, ts_envfile_visit_t visit,
                void *baton)
{
  for (int i = 0; i < ef->lines->nelts; i++) {
    const line_t *ln = &APR_ARRAY_IDX(ef->lines, i, line_t);
    if (ln->raw && ln->name)
      visit(baton, ln->name, ln->value, ln->number);
  }
}

const char *
ts_envfile_quote(const char *value, apr_pool_t *pool)
{
  char *out = apr_palloc(pool, 2 * strlen(value) + 3), *o = out;

  *o++ = '"';
  for (const char *p = value; *p; p++) {
    if (strchr("\"\\$`", *p))
      *o++ = '\\';
    *o++ = *p;
  }
  *o++ = '"';
  *o = '\0';
  return out;
}

void
ts_envfile_set(ts_envfile_t *ef, const char *name, const char *value)
{
  const char *raw = apr_pstrcat(ef->pool, name, "=",
                                ts_envfile_quote(value, ef->pool), NULL);
  int last = -1;

  for (int i = 0; i < ef->lines->nelts; i++) {
    const line_t *ln = &APR_ARRAY_IDX(ef->lines, i, line_t);
    if (ln->raw && ln->name && strcmp(ln->name, name) == 0)
      last = i;
  }
  if (last >= 0) {
    line_t *ln = &APR_ARRAY_IDX(ef->lines, last, line_t);
    ln->raw = raw;
    ln->value = apr_pstrdup(ef->pool, value);
    /* Drop earlier duplicates so the file says one thing. */
    for (int i = last - 1; i >= 0; i--) {
      line_t *dup = &APR_ARRAY_IDX(ef->lines, i, line_t);
      if (dup->name && strcmp(dup->name, name) == 0)
        dup->raw = NULL;
    }
  }
  else {
    line_t *ln = apr_array_push(ef->lines);
    ln->raw = raw;
    ln->name = apr_pstrdup(ef->pool, name);
    ln->value = apr_pstrdup(ef->pool, value);
    ln->number = 0;
  }
}

int
ts_envfile_unset(ts_envfile_t *ef, const char *name)
{
  int removed = 0;

  for (int i = 0; i < ef->lines->nelts; i++) {
    line_t *ln = &APR_ARRAY_IDX(ef->lines, i, line_t);
    if (ln->raw && ln->name && strcmp(ln->name, name) == 0) {
      ln->raw = NULL;
      removed++;
    }
  }
  return removed;
}

const char *
ts_envfile_render(const ts_envfile_t *ef)
{
  apr_size_t size = 1;
  char *out, *o;

  for (int i = 0; i < ef->lines->nelts; i++) {
    const line_t *ln = &APR_ARRAY_IDX(ef->lines, i, line_t);
    if (ln->raw)
      size += strlen(ln->raw) + 1;
  }
  out = o = apr_palloc(ef->pool, size);
  for (int i = 0; i < ef->lines->nelts; i++) {
    const line_t *ln = &APR_ARRAY_IDX(ef->lines, i, line_t);
    if (ln->raw) {
      apr_size_t n = strlen(ln->raw);
      memcpy(o, ln->raw, n);
      o += n;
      *o++ = '\n';
    }
  }
  *o = '\0';
  return out;
}

ts_error_t *
ts_envfile_check(const char *name, const char *value)
{
  if (!is_name_start(*name))
    return ts_error_createf(TS_EINVAL, "'%s' is not a variable name: use "
                            "letters, digits and _, not starting with a "
                            "digit", name);
  for (const char *p = name; *p; p++)
    if (!is_name_char(*p))
      return ts_error_createf(TS_EINVAL, "'%s' is not a variable name: "
                              "'%c' is not a letter, digit or _", name, *p);
  for (const unsigned char *p = (const unsigned char *)value; *p; p++)
    if (*p < 0x20 || *p == 0x7f)
      return ts_error_createf(TS_EINVAL, "the value for %s contains the "
                              "control character 0x%02x at offset %d: "
                              "settings are single lines of text", name, *p,
                              (int)(p - (const unsigned char *)value));
  return NULL;
}
