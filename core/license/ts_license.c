/* ts_license.c: parse, validate, sign and verify license files (see
 * ts_license.h). The schema is config/license.xsd, compiled in. */
#include "ts_license.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_cstr.h>
#include <apr_strings.h>
#include <sodium.h>

#include "ts_xml.h"

extern const char ts_license_xsd[];
extern const char *const ts_license_trusted_keys[];   /* base64, NULL-ended */

#define NS "urn:tessera:license:1"
#define DEMO_SEED "tessera demo license key, version 1"

ts_error_t *
ts_license_parse(ts_license_t **license_p, const char *path,
                 const char *text, apr_size_t len, apr_pool_t *pool)
{
  ts_license_t *lic = apr_pcalloc(pool, sizeof(*lic));
  apr_pool_t *scratch;
  xmlDocPtr doc;
  xmlNodePtr root;
  ts_error_t *err;

  apr_pool_create(&scratch, pool);
  err = ts_xml_load(&doc, path, text, len, ts_license_xsd, "license",
                    scratch);
  if (err) {
    apr_pool_destroy(scratch);
    return err;
  }
  root = xmlDocGetRootElement(doc);
  lic->path = apr_pstrdup(pool, path);
  lic->id = ts_xml_attr(root, "id", pool);
  lic->issued = ts_xml_attr(root, "issued", pool);
  lic->products = apr_array_make(pool, 4, sizeof(ts_product_t));
  for (xmlNodePtr n = root->children; n; n = n->next) {
    if (ts_xml_is(n, "licensee"))
      lic->licensee = ts_xml_content(n, pool);
    else if (ts_xml_is(n, "host"))
      lic->host = ts_xml_content(n, pool);
    else if (ts_xml_is(n, "product")) {
      ts_product_t *p = apr_array_push(lic->products);
      p->name = ts_xml_attr(n, "name", pool);
      p->seats = atol(ts_xml_attr(n, "seats", pool));
      p->expires = ts_xml_attr(n, "expires", pool);
    }
    else if (ts_xml_is(n, "signature")) {
      lic->key = ts_xml_attr(n, "key", pool);
      lic->signature = ts_xml_content(n, pool);
    }
  }
  apr_pool_destroy(scratch);
  *license_p = lic;
  return NULL;
}

/* What is signed: every field, one per line, in a fixed order. */
static const char *
canonical(const ts_license_t *lic, apr_pool_t *pool)
{
  const char *text = apr_psprintf(pool, "tessera-license-v1\nid=%s\n"
                                  "issued=%s\nlicensee=%s\nhost=%s\n",
                                  lic->id, lic->issued, lic->licensee,
                                  lic->host);

  for (int i = 0; i < lic->products->nelts; i++) {
    const ts_product_t *p = &APR_ARRAY_IDX(lic->products, i, ts_product_t);
    text = apr_psprintf(pool, "%sproduct=%s;%ld;%s\n", text, p->name,
                        p->seats, p->expires);
  }
  return text;
}

static const char *
b64(const unsigned char *bin, size_t len, apr_pool_t *pool)
{
  size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
  char *out = apr_palloc(pool, n);

  sodium_bin2base64(out, n, bin, len, sodium_base64_VARIANT_ORIGINAL);
  return out;
}

static int
unb64(unsigned char *bin, size_t want, const char *text)
{
  size_t got = 0;

  return sodium_base642bin(bin, want, text, strlen(text), " \t\r\n", &got,
                           NULL, sodium_base64_VARIANT_ORIGINAL) == 0
         && got == want;
}

int
ts_product_expired(const ts_product_t *p, apr_time_t now)
{
  apr_time_exp_t t;
  char today[16];

  apr_time_exp_gmt(&t, now);
  apr_snprintf(today, sizeof(today), "%04d-%02d-%02d", t.tm_year + 1900,
               t.tm_mon + 1, t.tm_mday);
  return strcmp(today, p->expires) > 0;
}

ts_error_t *
ts_license_verify(const ts_license_t *lic, const char *this_host,
                  apr_time_t now, apr_pool_t *pool)
{
  unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
  const char *text = canonical(lic, pool);
  int trusted = 0, valid = 0;

  if (sodium_init() < 0)
    return ts_error_createf(TS_EINTERNAL, "libsodium cannot start");
  for (int i = 0; ts_license_trusted_keys[i]; i++)
    trusted |= strcmp(ts_license_trusted_keys[i], lic->key) == 0;
  if (!trusted)
    return ts_error_createf(TS_EINVAL, "%s is signed with a key this build "
                            "does not trust (%s); ask the vendor for a "
                            "license signed with its key", lic->path,
                            lic->key);
  if (!unb64(pk, sizeof(pk), lic->key) || !unb64(sig, sizeof(sig),
                                                 lic->signature)
      || crypto_sign_verify_detached(sig, (const unsigned char *)text,
                                     strlen(text), pk) != 0)
    return ts_error_createf(TS_EINVAL, "%s has been changed since it was "
                            "signed (the signature does not match its "
                            "content); restore the file the vendor sent",
                            lic->path);
  if (apr_cstr_casecmp(lic->host, this_host) != 0)
    return ts_error_createf(TS_EINVAL, "%s is bound to host %s, this is %s "
                            "(the host of INOHOST): re-activation needed; "
                            "ask the vendor for a license for %s",
                            lic->path, lic->host, this_host, this_host);
  for (int i = 0; i < lic->products->nelts; i++)
    valid |= !ts_product_expired(&APR_ARRAY_IDX(lic->products, i,
                                                ts_product_t), now);
  if (!valid)
    return ts_error_createf(TS_EINVAL, "%s has expired: every product in it "
                            "is past its expiry date; renew it with the "
                            "vendor", lic->path);
  return NULL;
}

/* S as XML text or attribute value. Tab, newline and carriage return are
 * written as character references: a parser turns them into spaces in
 * attribute values and a carriage return into a newline in text, and the
 * signature covers the value as it was signed. */
static const char *
xml_escape(const char *s, apr_pool_t *pool)
{
  const char *out = "";

  for (; *s; s++) {
    const char *rep = *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
                      : *s == '&' ? "&amp;" : *s == '"' ? "&quot;"
                      : *s == '\t' ? "&#9;" : *s == '\n' ? "&#10;"
                      : *s == '\r' ? "&#13;" : NULL;
    out = rep ? apr_pstrcat(pool, out, rep, NULL)
              : apr_psprintf(pool, "%s%c", out, *s);
  }
  return out;
}

ts_error_t *
ts_license_sign(const char **xml, ts_license_t *lic,
                const unsigned char *sk, apr_pool_t *pool)
{
  unsigned char sig[crypto_sign_BYTES];
  const char *text, *products = "";

  if (sodium_init() < 0)
    return ts_error_createf(TS_EINTERNAL, "libsodium cannot start");
  /* the public key is the second half of an Ed25519 secret key */
  lic->key = b64(sk + 32, crypto_sign_PUBLICKEYBYTES, pool);
  text = canonical(lic, pool);
  crypto_sign_detached(sig, NULL, (const unsigned char *)text, strlen(text),
                       sk);
  lic->signature = b64(sig, sizeof(sig), pool);
  for (int i = 0; i < lic->products->nelts; i++) {
    const ts_product_t *p = &APR_ARRAY_IDX(lic->products, i, ts_product_t);
    products = apr_psprintf(pool, "%s  <product name=\"%s\" seats=\"%ld\" "
                            "expires=\"%s\"/>\n", products,
                            xml_escape(p->name, pool), p->seats,
                            xml_escape(p->expires, pool));
  }
  *xml = apr_psprintf(pool,
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<license xmlns=\"" NS "\" version=\"1\" id=\"%s\" issued=\"%s\">\n"
    "  <licensee>%s</licensee>\n"
    "  <host>%s</host>\n"
    "%s"
    "  <signature algorithm=\"ed25519\" key=\"%s\">%s</signature>\n"
    "</license>\n", xml_escape(lic->id, pool),
    xml_escape(lic->issued, pool), xml_escape(lic->licensee, pool),
    xml_escape(lic->host, pool), products, lic->key, lic->signature);
  return NULL;
}

ts_error_t *
ts_license_new_id(const char **id, const char *host, apr_time_t now,
                  apr_pool_t *pool)
{
  unsigned char bytes[6];
  char hex[2 * sizeof(bytes) + 1];
  apr_time_exp_t t;

  if (sodium_init() < 0)
    return ts_error_createf(TS_EINTERNAL, "libsodium cannot start");
  randombytes_buf(bytes, sizeof(bytes));
  sodium_bin2hex(hex, sizeof(hex), bytes, sizeof(bytes));
  apr_time_exp_gmt(&t, now);
  *id = apr_psprintf(pool, "%s-%04d%02d%02d-%s", host, t.tm_year + 1900,
                     t.tm_mon + 1, t.tm_mday, hex);
  return NULL;
}

ts_error_t *
ts_license_demo_key(unsigned char *pk, unsigned char *sk)
{
  unsigned char seed[crypto_sign_SEEDBYTES];

  if (sodium_init() < 0)
    return ts_error_createf(TS_EINTERNAL, "libsodium cannot start");
  crypto_hash_sha256(seed, (const unsigned char *)DEMO_SEED,
                     strlen(DEMO_SEED));
  crypto_sign_seed_keypair(pk, sk, seed);
  return NULL;
}

ts_error_t *
ts_license_keygen(unsigned char *pk, unsigned char *sk)
{
  if (sodium_init() < 0)
    return ts_error_createf(TS_EINTERNAL, "libsodium cannot start");
  crypto_sign_keypair(pk, sk);
  return NULL;
}
