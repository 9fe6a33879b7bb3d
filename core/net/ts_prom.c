/* ts_prom.c: the Prometheus text writer (see ts_prom.h). The text grows in
 * one buffer (ts_text.h), so a /metrics answer costs a few allocations
 * from the request's pool rather than one per line. */
#include "ts_prom.h"

#include <math.h>
#include <string.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "ts_text.h"

struct ts_prom_t {
  ts_text_t text;
  apr_hash_t *families;     /* names announced so far */
  apr_pool_t *pool;
};

ts_prom_t *
ts_prom_create(apr_pool_t *pool)
{
  ts_prom_t *prom = apr_pcalloc(pool, sizeof(*prom));

  ts_text_init(&prom->text, pool);
  prom->families = apr_hash_make(pool);
  prom->pool = pool;
  return prom;
}

static void
append(ts_prom_t *prom, const char *s, apr_size_t n)
{
  ts_text_append(&prom->text, s, n);
}

static void
puts_(ts_prom_t *prom, const char *s)
{
  append(prom, s, strlen(s));
}

/* S with backslash and newline escaped, and the double quote too when
 * QUOTE (label values; help texts leave it as it is). */
static void
escaped(ts_prom_t *prom, const char *s, int quote)
{
  const char *run = s;

  for (; *s; s++) {
    const char *esc = *s == '\\' ? "\\\\" : *s == '\n' ? "\\n"
                      : *s == '"' && quote ? "\\\"" : NULL;
    if (!esc)
      continue;
    append(prom, run, (apr_size_t)(s - run));
    puts_(prom, esc);
    run = s + 1;
  }
  puts_(prom, run);
}

void
ts_prom_family(ts_prom_t *prom, const char *name, const char *type,
               const char *help)
{
  if (apr_hash_get(prom->families, name, APR_HASH_KEY_STRING))
    return;
  apr_hash_set(prom->families, apr_pstrdup(prom->pool, name),
               APR_HASH_KEY_STRING, "");
  puts_(prom, "# HELP ");
  puts_(prom, name);
  puts_(prom, " ");
  escaped(prom, help, 0);
  puts_(prom, "\n# TYPE ");
  puts_(prom, name);
  puts_(prom, " ");
  puts_(prom, type);
  puts_(prom, "\n");
}

/* NAME{label="value",...} and the space before the value. */
static void
series(ts_prom_t *prom, const char *name, const char *const *labels)
{
  puts_(prom, name);
  if (labels && labels[0]) {
    for (int i = 0; labels[i] && labels[i + 1]; i += 2) {
      puts_(prom, i ? "," : "{");
      puts_(prom, labels[i]);
      puts_(prom, "=\"");
      escaped(prom, labels[i + 1], 1);
      puts_(prom, "\"");
    }
    puts_(prom, "}");
  }
  puts_(prom, " ");
}

void
ts_prom_int(ts_prom_t *prom, const char *name, const char *const *labels,
            apr_int64_t value)
{
  char buf[32];

  series(prom, name, labels);
  apr_snprintf(buf, sizeof(buf), "%" APR_INT64_T_FMT "\n", value);
  puts_(prom, buf);
}

void
ts_prom_real(ts_prom_t *prom, const char *name, const char *const *labels,
             double value)
{
  char buf[48];

  series(prom, name, labels);
  /* the format's spellings of the values that are not numbers */
  if (isnan(value))
    apr_cpystrn(buf, "NaN\n", sizeof(buf));
  else if (isinf(value))
    apr_cpystrn(buf, value > 0 ? "+Inf\n" : "-Inf\n", sizeof(buf));
  else
    apr_snprintf(buf, sizeof(buf), "%.6f\n", value);
  puts_(prom, buf);
}

const char *
ts_prom_text(const ts_prom_t *prom)
{
  return prom->text.data;
}
