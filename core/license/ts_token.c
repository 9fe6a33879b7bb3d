/* ts_token.c: session tokens (see ts_token.h). */
#include "ts_token.h"

#include <string.h>
#include <apr_cstr.h>
#include <apr_strings.h>
#include <sodium.h>

#define TOKEN_BYTES (TS_TOKEN_CHARS / 2)

ts_error_t *
ts_token_new(const char **token, const char **hash, apr_pool_t *pool)
{
  unsigned char raw[TOKEN_BYTES];
  char *hex = apr_palloc(pool, TS_TOKEN_CHARS + 1);

  if (sodium_init() < 0)
    return ts_error_createf(TS_EOS, "cannot initialize libsodium to make a "
                            "session token");
  randombytes_buf(raw, sizeof(raw));
  sodium_bin2hex(hex, TS_TOKEN_CHARS + 1, raw, sizeof(raw));
  sodium_memzero(raw, sizeof(raw));
  *token = hex;
  *hash = ts_token_hash(hex, pool);
  return NULL;
}

const char *
ts_token_hash(const char *token, apr_pool_t *pool)
{
  unsigned char h[crypto_generichash_BYTES];
  char *hex = apr_palloc(pool, 2 * sizeof(h) + 1);

  crypto_generichash(h, sizeof(h), (const unsigned char *)token,
                     strlen(token), NULL, 0);
  sodium_bin2hex(hex, 2 * sizeof(h) + 1, h, sizeof(h));
  return hex;
}

const char *
ts_token_from_header(const char *authorization)
{
  const char *scheme = TS_TOKEN_SCHEME " ";
  size_t n = strlen(scheme);

  if (!authorization || apr_cstr_casecmpn(authorization, scheme, n) != 0)
    return NULL;
  authorization += n;
  authorization += strspn(authorization, " ");
  return *authorization ? authorization : NULL;
}
