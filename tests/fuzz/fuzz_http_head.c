/* fuzz_http_head.c: request heads as the event-loop listener reads them
 * from the network (core/net/ts_http_head.c): the proxy's CONNECT, the
 * notification service's event streams, every request on their ports.
 *
 * Invariants: the parser answers MORE only below 8192 bytes, BAD with
 * 400, 431 or 505 and a reason, DONE with a head no longer than the input
 * and 8192 bytes whose method is a token, whose target holds no space or
 * control character, and whose path and query make up the target; the
 * head alone parses to the same result; and the head written out again
 * (request line, each header) parses to the same method, target and
 * headers.
 */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "ts_uvhttp.h"

static apr_pool_t *root;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  root = fuzz_init();
  return 0;
}

/* HEAD written out as a client would send it. */
static const char *
written(const ts_http_head_t *head, apr_pool_t *pool)
{
  const apr_array_header_t *h = apr_table_elts(head->headers);
  const apr_table_entry_t *e = (const apr_table_entry_t *)h->elts;
  char *text = apr_psprintf(pool, "%s %s HTTP/1.%d\r\n", head->method,
                            head->target, head->minor);

  for (int i = 0; i < h->nelts; i++)
    text = apr_pstrcat(pool, text, e[i].key, ": ", e[i].val, "\r\n", NULL);
  return apr_pstrcat(pool, text, "\r\n", NULL);
}

static void
same(const ts_http_head_t *a, const ts_http_head_t *b)
{
  const apr_array_header_t *ha = apr_table_elts(a->headers);
  const apr_array_header_t *hb = apr_table_elts(b->headers);
  const apr_table_entry_t *ea = (const apr_table_entry_t *)ha->elts;
  const apr_table_entry_t *eb = (const apr_table_entry_t *)hb->elts;

  if (strcmp(a->method, b->method) || strcmp(a->target, b->target)
      || a->minor != b->minor || ha->nelts != hb->nelts)
    abort();
  for (int i = 0; i < ha->nelts; i++)
    if (strcmp(ea[i].key, eb[i].key) || strcmp(ea[i].val, eb[i].val))
      abort();
}

static void
check_done(const ts_http_head_t *head, size_t size, apr_pool_t *pool)
{
  ts_http_head_t again;
  int status;
  const char *why, *text;

  if (head->length == 0 || head->length > size
      || head->length > TS_HTTP_MAX_HEAD || !*head->method || !*head->target
      || (head->minor != 0 && head->minor != 1))
    abort();
  for (const char *p = head->target; *p; p++)
    if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
      abort();
  if (strncmp(head->target, head->path, strlen(head->path))
      || (head->query && strcmp(head->target + strlen(head->path) + 1,
                                head->query)))
    abort();
  text = written(head, pool);
  if (ts_http_head_parse(&again, &status, &why, text, strlen(text), pool)
      != TS_HEAD_DONE || again.length != strlen(text))
    abort();
  same(head, &again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  ts_http_head_t head, alone;
  int status = 0;
  const char *why = NULL;
  /* a copy of its own, so that reading past SIZE is caught */
  char *buf = malloc(size ? size : 1);

  memcpy(buf, data, size);
  apr_pool_create(&pool, root);
  switch (ts_http_head_parse(&head, &status, &why, buf, size, pool)) {
  case TS_HEAD_MORE:
    if (size >= TS_HTTP_MAX_HEAD)
      abort();
    break;
  case TS_HEAD_BAD:
    if ((status != 400 && status != 431 && status != 505) || !why || !*why)
      abort();
    break;
  case TS_HEAD_DONE:
    check_done(&head, size, pool);
    if (ts_http_head_parse(&alone, &status, &why, buf, head.length, pool)
        != TS_HEAD_DONE || alone.length != head.length)
      abort();
    same(&head, &alone);
    break;
  }
  free(buf);
  apr_pool_destroy(pool);
  return 0;
}
