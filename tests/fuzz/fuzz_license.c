/* fuzz_license.c: license files (core/license/ts_license.c over the
 * schema-checked XML loader and config/license.xsd), as the license
 * server loads INOLIC/tessera.lic at start and on HUP, and `tessera-admin
 * license show|import` read a file a customer was sent.
 *
 * The input is the file's text. It is parsed and verified against the
 * host it names and against "localhost". Invariants: a refusal names the
 * file; a parsed license has its fields and at least one product with
 * seats > 0; signed again with the demo key (what `license issue`
 * writes) and parsed back, it keeps every field and verifies for its own
 * host at a time before every expiry, so whatever the parser accepts,
 * the issuer writes faithfully.
 */
#include <string.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "fuzz_common.h"
#include "ts_license.h"

#define PATH "/var/lib/tessera/license/tessera.lic"

static unsigned char demo_pk[32], demo_sk[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  ts_error_t *err;

  (void)argc;
  (void)argv;
  fuzz_init();
  err = ts_license_demo_key(demo_pk, demo_sk);
  FUZZ_CHECK(!err, "no demo key");
  return 0;
}

static void
check_same(const ts_license_t *a, const ts_license_t *b)
{
  FUZZ_CHECK(strcmp(a->id, b->id) == 0, "id '%s' became '%s'", a->id, b->id);
  FUZZ_CHECK(strcmp(a->issued, b->issued) == 0, "issued");
  FUZZ_CHECK(strcmp(a->licensee, b->licensee) == 0, "licensee '%s' became "
             "'%s'", a->licensee, b->licensee);
  FUZZ_CHECK(strcmp(a->host, b->host) == 0, "host '%s' became '%s'",
             a->host, b->host);
  FUZZ_CHECK(a->products->nelts == b->products->nelts, "products");
  for (int i = 0; i < a->products->nelts; i++) {
    const ts_product_t *p = &APR_ARRAY_IDX(a->products, i, ts_product_t);
    const ts_product_t *q = &APR_ARRAY_IDX(b->products, i, ts_product_t);
    FUZZ_CHECK(strcmp(p->name, q->name) == 0 && p->seats == q->seats
               && strcmp(p->expires, q->expires) == 0, "product %d", i);
  }
}

/* Sign LIC again with the demo key, parse it back, verify it. */
static void
check_reissue(ts_license_t *lic, apr_pool_t *pool)
{
  ts_license_t *again;
  const char *xml;
  ts_error_t *err = ts_license_sign(&xml, lic, demo_sk, pool);

  FUZZ_CHECK(!err, "cannot sign: %s", ts_error_text(err, pool));
  err = ts_license_parse(&again, PATH, xml, strlen(xml), pool);
  FUZZ_CHECK(!err, "the re-issued license does not parse: %s\n%s",
             ts_error_text(err, pool), xml);
  check_same(lic, again);
  /* 1970-01-01: before every expiry the schema's xs:date allows that
   * compares as text after it (years 0001..1969 read as expired) */
  err = ts_license_verify(again, again->host, 0, pool);
  if (err && strstr(ts_error_text(err, pool), "has expired")) {
    ts_error_clear(err);
    return;
  }
  FUZZ_CHECK(!err, "the re-issued license does not verify: %s\n%s",
             ts_error_text(err, pool), xml);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  ts_license_t *lic;
  ts_error_t *err;

  apr_pool_create(&pool, fuzz_init());
  err = ts_license_parse(&lic, PATH, fuzz_cstring(data, size, pool), size,
                         pool);
  if (err) {
    FUZZ_CHECK(strstr(ts_error_text(err, pool), PATH), "a refusal that "
               "does not name the file: %s", ts_error_text(err, pool));
    ts_error_clear(err);
    apr_pool_destroy(pool);
    return 0;
  }
  FUZZ_CHECK(lic->id && lic->issued && lic->licensee && lic->host
             && lic->key && lic->signature, "a field is missing");
  FUZZ_CHECK(lic->products->nelts > 0, "no products");
  for (int i = 0; i < lic->products->nelts; i++)
    FUZZ_CHECK(APR_ARRAY_IDX(lic->products, i, ts_product_t).seats > 0,
               "product %d without seats", i);
  for (int k = 0; k < 2; k++) {
    err = ts_license_verify(lic, k ? "localhost" : lic->host,
                            apr_time_now(), pool);
    if (err) {
      FUZZ_CHECK(strstr(ts_error_text(err, pool), PATH), "a refusal that "
                 "does not name the file: %s", ts_error_text(err, pool));
      ts_error_clear(err);
    }
  }
  check_reissue(lic, pool);
  apr_pool_destroy(pool);
  return 0;
}
