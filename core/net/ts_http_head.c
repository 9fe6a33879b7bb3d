/* ts_http_head.c: the request-head parser of the event-loop listener
 * (ts_uvhttp.h). Strict where leniency has bitten proxies before (RFC
 * 9112): no whitespace between a header's name and its colon, no
 * obsolete line folding, no control characters in values, one version
 * (HTTP/1.0 or 1.1). Line ends may be CRLF or a bare LF. */
#include <string.h>
#include <apr_strings.h>
#include "ts_i18n.h"
#include "ts_uvhttp.h"

/* RFC 9110 tchar: what a method or a header name is made of. */
static int
is_tchar(unsigned char c)
{
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z')
         || (c >= 'A' && c <= 'Z') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The end of the head in BUF: the offset just past its blank line, or 0
 * when it has not all arrived. */
static apr_size_t
head_end(const char *buf, apr_size_t len)
{
  for (apr_size_t i = 0; i < len; i++) {
    if (buf[i] != '\n')
      continue;
    if (i + 1 < len && buf[i + 1] == '\n')
      return i + 2;
    if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
      return i + 3;
  }
  return 0;
}

/* The next line of [*AT, END) without its line end; *AT moves past it. */
static const char *
next_line(apr_size_t *n, const char **at, const char *end)
{
  const char *line = *at;
  const char *nl = memchr(line, '\n', (apr_size_t)(end - line));

  if (!nl)
    nl = end;
  *at = nl < end ? nl + 1 : end;
  *n = (apr_size_t)(nl - line);
  if (*n && line[*n - 1] == '\r')
    (*n)--;
  return line;
}

static ts_head_result_t
bad(int *status, const char **why, int code, const char *text)
{
  *status = code;
  *why = text;
  return TS_HEAD_BAD;
}

/* "METHOD SP TARGET SP HTTP/1.x" */
static ts_head_result_t
request_line(ts_http_head_t *head, int *status, const char **why,
             const char *line, apr_size_t n, apr_pool_t *pool)
{
  apr_size_t m = 0, t, v;

  while (m < n && is_tchar((unsigned char)line[m]))
    m++;
  if (m == 0 || m >= n || line[m] != ' ')
    return bad(status, why, 400, _("the request line does not begin with "
                                   "a method and one space"));
  for (t = m + 1; t < n && line[t] > ' ' && line[t] < 0x7f; t++)
    ;
  if (t == m + 1 || t >= n || line[t] != ' ')
    return bad(status, why, 400, _("the request target is empty, or "
                                   "holds a space or a control character"));
  v = t + 1;
  if (n - v != 8 || memcmp(line + v, "HTTP/", 5) != 0
      || line[v + 6] != '.' || line[v + 5] < '0' || line[v + 5] > '9'
      || line[v + 7] < '0' || line[v + 7] > '9')
    return bad(status, why, 400, _("the request line does not end with "
                                   "the version, HTTP/1.1"));
  if (line[v + 5] != '1' || line[v + 7] > '1')
    return bad(status, why, 505, _("only HTTP/1.0 and HTTP/1.1 are "
                                   "spoken here"));
  head->method = apr_pstrmemdup(pool, line, m);
  head->target = apr_pstrmemdup(pool, line + m + 1, t - m - 1);
  head->minor = line[v + 7] - '0';
  return TS_HEAD_DONE;
}

/* "Name: value" */
static ts_head_result_t
header_line(ts_http_head_t *head, int *status, const char **why,
            const char *line, apr_size_t n, apr_pool_t *pool)
{
  apr_size_t k = 0, b, e;

  if (line[0] == ' ' || line[0] == '\t')
    return bad(status, why, 400, _("a header line is folded onto the "
                                   "next; send each header on one line"));
  while (k < n && is_tchar((unsigned char)line[k]))
    k++;
  if (k == 0 || k >= n || line[k] != ':')
    return bad(status, why, 400, _("a header line is not \"Name: "
                                   "value\""));
  for (b = k + 1; b < n && (line[b] == ' ' || line[b] == '\t'); b++)
    ;
  for (e = n; e > b && (line[e - 1] == ' ' || line[e - 1] == '\t'); e--)
    ;
  for (apr_size_t i = b; i < e; i++)
    if (((unsigned char)line[i] < ' ' && line[i] != '\t') || line[i] == 0x7f)
      return bad(status, why, 400, _("a header's value holds a control "
                                     "character"));
  apr_table_addn(head->headers, apr_pstrmemdup(pool, line, k),
                 apr_pstrmemdup(pool, line + b, e - b));
  return TS_HEAD_DONE;
}

ts_head_result_t
ts_http_head_parse(ts_http_head_t *head, int *status, const char **why,
                   const char *buf, apr_size_t len, apr_pool_t *pool)
{
  apr_size_t skip = 0, end, n;
  const char *at, *stop, *line, *q;
  ts_head_result_t r;

  memset(head, 0, sizeof(*head));
  /* empty lines before the request line are ignored (RFC 9112 2.2) */
  while (skip < len && skip < 4 && (buf[skip] == '\r' || buf[skip] == '\n'))
    skip++;
  end = head_end(buf + skip, len - skip);
  if (!end)
    return len >= TS_HTTP_MAX_HEAD
           ? bad(status, why, 431, _("the request head is larger than 8192 "
                                     "bytes"))
           : TS_HEAD_MORE;
  if (skip + end > TS_HTTP_MAX_HEAD)
    return bad(status, why, 431, _("the request head is larger than 8192 "
                                   "bytes"));
  at = buf + skip;
  stop = at + end;
  head->headers = apr_table_make(pool, 8);
  line = next_line(&n, &at, stop);
  if ((r = request_line(head, status, why, line, n, pool)) != TS_HEAD_DONE)
    return r;
  while (at < stop) {
    line = next_line(&n, &at, stop);
    if (n == 0)
      break;
    if ((r = header_line(head, status, why, line, n, pool)) != TS_HEAD_DONE)
      return r;
  }
  q = strchr(head->target, '?');
  head->path = q ? apr_pstrmemdup(pool, head->target,
                                  (apr_size_t)(q - head->target))
                 : head->target;
  head->query = q ? q + 1 : NULL;
  head->length = skip + end;
  return TS_HEAD_DONE;
}
