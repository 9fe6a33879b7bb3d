/* ts_text.c: text that grows in one buffer (see ts_text.h). */
#include "ts_text.h"

#include <string.h>
#include <apr_general.h>
#include <apr_strings.h>

/* The first buffer: enough for most answers and bodies. */
#define FIRST 4096

void
ts_text_init(ts_text_t *text, apr_pool_t *pool)
{
  text->data = "";
  text->len = 0;
  text->cap = 0;
  text->pool = pool;
}

void
ts_text_append(ts_text_t *text, const char *s, apr_size_t n)
{
  if (text->len + n + 1 > text->cap) {
    apr_size_t cap = text->cap ? text->cap * 2 : FIRST;
    char *grown;
    while (cap < text->len + n + 1)
      cap *= 2;
    grown = apr_palloc(text->pool, cap);
    memcpy(grown, text->data, text->len);
    text->data = grown;
    text->cap = cap;
  }
  memcpy(text->data + text->len, s, n);
  text->len += n;
  text->data[text->len] = '\0';
}

ts_error_t *
ts_random_hex(const char **hex, apr_size_t bytes, apr_pool_t *pool)
{
  unsigned char *b = apr_pcalloc(pool, bytes);
  char *out = apr_palloc(pool, 2 * bytes + 1);
  apr_status_t s = apr_generate_random_bytes(b, bytes);

  if (s)
    memset(b, 0, bytes);
  for (apr_size_t i = 0; i < bytes; i++)
    apr_snprintf(out + 2 * i, 3, "%02x", b[i]);
  out[2 * bytes] = '\0';
  *hex = out;
  return s ? ts_error_aprf(s, "the system gives no random bytes") : NULL;
}
