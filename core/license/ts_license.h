/* ts_license.h: Tessera license files (config/license.xsd).
 *
 * A license names its licensee, the license server's host it is bound to
 * (the host part of INOHOST) and products with seats and expiry dates, and
 * is signed with Ed25519 (libsodium) over a canonical text of exactly these
 * fields, so formatting does not matter and any change of a field does.
 * Only keys compiled in as trusted (TESSERA_LICENSE_KEYS at build time;
 * by default the demo key) are accepted.
 *
 * The demo key pair is derived from a published seed: anyone can sign
 * demo licenses with it, which is what the embedded default needs; a
 * vendor's build replaces it with its own public keys.
 */
#ifndef TS_LICENSE_H
#define TS_LICENSE_H

#include <apr_tables.h>
#include <apr_time.h>
#include "ts_error.h"

typedef struct ts_product_t {
  const char *name;
  long seats;
  const char *expires;        /* YYYY-MM-DD, valid through that day (UTC) */
} ts_product_t;

typedef struct ts_license_t {
  const char *id, *issued, *licensee, *host;
  apr_array_header_t *products;   /* of ts_product_t */
  const char *key;            /* base64 public key of the signer */
  const char *signature;      /* base64 */
  const char *path;           /* where it was read from, for messages */
} ts_license_t;

/* Parse and validate TEXT (LEN bytes) read from PATH against the schema;
 * errors name the file, line and element. */
ts_error_t *ts_license_parse(ts_license_t **license, const char *path,
                             const char *text, apr_size_t len,
                             apr_pool_t *pool);

/* Check the signature (a trusted key, the canonical fields), the host
 * binding (THIS_HOST: the host part of INOHOST here) and the expiry (at
 * least one product valid at NOW). */
ts_error_t *ts_license_verify(const ts_license_t *license,
                              const char *this_host, apr_time_t now,
                              apr_pool_t *pool);

/* Sign LICENSE's fields (its key and signature are set from SECRET_KEY,
 * 64 bytes) and render it as XML into *XML. */
ts_error_t *ts_license_sign(const char **xml, ts_license_t *license,
                            const unsigned char *secret_key,
                            apr_pool_t *pool);

/* *ID: a new license id for HOST issued at NOW, "<host>-<YYYYMMDD>-<12
 * hex digits>", the digits random (libsodium), so that licenses issued for
 * one host on one day still differ. In POOL. */
ts_error_t *ts_license_new_id(const char **id, const char *host,
                              apr_time_t now, apr_pool_t *pool);

/* The demo key pair (public 32 bytes, secret 64 bytes). */
ts_error_t *ts_license_demo_key(unsigned char *public_key,
                                unsigned char *secret_key);

/* A new random key pair. */
ts_error_t *ts_license_keygen(unsigned char *public_key,
                              unsigned char *secret_key);

/* Whether PRODUCT is past its expiry date at NOW. */
int ts_product_expired(const ts_product_t *product, apr_time_t now);

#endif
