/* ts_token.h: session tokens: the secret that makes a session its
 * holder's (SPEC §6: "a session is acted on (check-in, heartbeat) only with
 * the token its checkout returned").
 *
 * A checkout answers with the session's id, which others see (the session
 * list, the bus, the audit log), and with a token that only the holder
 * gets, once. Check-in and heartbeat present it ("Authorization: Bearer
 * <token>"). The seat store keeps only a hash of it, so neither a copy of
 * the store nor a look at its rows lets anyone act on a session.
 *
 * Tokens are 32 random bytes (libsodium's randombytes) in hex; the hash is
 * BLAKE2b-256 (crypto_generichash) of the token's text, in hex. A random
 * 256-bit secret needs no slow hash: it cannot be guessed.
 */
#ifndef TS_TOKEN_H
#define TS_TOKEN_H

#include <apr_pools.h>
#include "ts_error.h"

/* Characters of a token (and of its hash). */
#define TS_TOKEN_CHARS 64

/* The scheme of the header that carries a token. */
#define TS_TOKEN_SCHEME "Bearer"

/* A new token *TOKEN and its hash *HASH, in POOL. TS_EOS when libsodium
 * cannot be initialised. */
ts_error_t *ts_token_new(const char **token, const char **hash,
                         apr_pool_t *pool);

/* The hash of TOKEN, as ts_token_new gives it. */
const char *ts_token_hash(const char *token, apr_pool_t *pool);

/* The token an HTTP Authorization header AUTHORIZATION carries
 * ("Bearer <token>"), or NULL when it carries none. */
const char *ts_token_from_header(const char *authorization);

#endif
