/* ts_credential.c: the server credential (see ts_credential.h). */
#include "ts_credential.h"

#include <string.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <sodium.h>

#include "ts_file.h"
#include "tsp.h"

#define KEY_BYTES 32

struct ts_credential_t {
  unsigned char key[KEY_BYTES];
  const char *path;
};

const char *
ts_credential_path(const char *inodir, apr_pool_t *pool)
{
  return ts_path_join(inodir, "server.key", pool);
}

static ts_error_t *
parse(ts_credential_t *c, const char *text, apr_size_t len)
{
  size_t got = 0;

  while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
    len--;
  if (sodium_base642bin(c->key, sizeof(c->key), text, len, NULL, &got, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0
      || got != KEY_BYTES)
    return ts_error_createf(TS_ECONFIG, "the server credential %s is not "
                            "one line of base64 holding %d bytes; remove "
                            "it and run `tessera-admin credential init` on "
                            "one machine, then copy the file to the others",
                            c->path, KEY_BYTES);
  return NULL;
}

ts_error_t *
ts_credential_load(ts_credential_t **cred, const char *path,
                   apr_pool_t *pool)
{
  ts_credential_t *c = apr_pcalloc(pool, sizeof(*c));
  const char *text;
  apr_size_t len;
  ts_error_t *err;

  c->path = apr_pstrdup(pool, path);
  err = ts_file_read_all(&text, &len, path, pool);
  if (err && ts_error_code(err) == TS_ENOENT) {
    ts_error_clear(err);
    return ts_error_createf(TS_ENOENT, "there is no server credential %s: "
                            "create it with `tessera-admin credential "
                            "init` (or copy it from the license server's "
                            "machine)", path);
  }
  TS_ERR_W(err, "cannot read the server credential %s", path);
  if (tsp_file_others_may_access(path, pool))
    return ts_error_createf(TS_ECONFIG, "the server credential %s may be "
                            "read or changed by other accounts: make it "
                            "owner-only (`chmod 600 %s`) and, since others "
                            "may have read it, create a new one on every "
                            "machine", path, path);
  TS_ERR(parse(c, text, len));
  sodium_memzero((void *)text, len);
  *cred = c;
  return NULL;
}

ts_error_t *
ts_credential_ensure(ts_credential_t **cred, int *created, const char *path,
                     apr_pool_t *pool)
{
  unsigned char key[KEY_BYTES];
  char text[sodium_base64_ENCODED_LEN(KEY_BYTES,
                                      sodium_base64_VARIANT_ORIGINAL) + 1];
  apr_file_t *f;
  apr_status_t s;
  ts_error_t *err = ts_credential_load(cred, path, pool);

  *created = 0;
  if (!err || ts_error_code(err) != TS_ENOENT)
    return err;
  ts_error_clear(err);
  if (sodium_init() < 0)
    return ts_error_createf(TS_EOS, "cannot initialize libsodium to create "
                            "the server credential %s", path);
  randombytes_buf(key, sizeof(key));
  sodium_bin2base64(text, sizeof(text) - 1, key, sizeof(key),
                    sodium_base64_VARIANT_ORIGINAL);
  strcat(text, "\n");
  sodium_memzero(key, sizeof(key));
  /* written whole to a file of its own (owner-only from the start), then
   * published under PATH with a hard link, which fails when PATH exists:
   * the first of two racing creators wins and the other loads the
   * winner's key; nobody ever reads a half-written one, and a crash
   * leaves no empty credential behind */
  {
    unsigned char r[6];
    const char *tmp;
    randombytes_buf(r, sizeof(r));
    tmp = apr_psprintf(pool, "%s.new-%02x%02x%02x%02x%02x%02x", path, r[0],
                       r[1], r[2], r[3], r[4], r[5]);
    s = apr_file_open(&f, tmp, APR_FOPEN_WRITE | APR_FOPEN_CREATE
                      | APR_FOPEN_EXCL, APR_FPROT_UREAD | APR_FPROT_UWRITE,
                      pool);
    if (s) {
      sodium_memzero(text, sizeof(text));
      return ts_error_aprf(s, "cannot create the server credential %s "
                           "(does INODIR exist, and may this account write "
                           "it?)", tmp);
    }
    s = apr_file_write_full(f, text, strlen(text), NULL);
    sodium_memzero(text, sizeof(text));
    if (!s)
      s = apr_file_sync(f);
    apr_file_close(f);
    if (!s)
      s = apr_file_link(tmp, path);
    apr_file_remove(tmp, pool);
    if (s && !APR_STATUS_IS_EEXIST(s))
      return ts_error_aprf(s, "cannot write the server credential %s",
                           path);
    *created = !s;
  }
  return ts_credential_load(cred, path, pool);
}

const char *
ts_credential_file(const ts_credential_t *cred)
{
  return cred->path;
}

ts_error_t *
ts_credential_open(ts_credential_t **cred, const char *inodir, ts_log_t *log,
                   apr_pool_t *pool)
{
  const char *path = ts_credential_path(inodir, pool);
  int created = 0;

  TS_ERR_W(ts_dir_make(inodir, TS_FPROT_DIR, pool), "cannot create INODIR "
           "%s for the server credential", inodir);
  TS_ERR(ts_credential_ensure(cred, &created, path, pool));
  if (created)
    ts_log(log, TS_LOG_INFO, "created the server credential %s: Tessera's "
           "servers prove themselves with it (model servers, agents, "
           "proxies, project license servers, the bus); servers on other "
           "machines need a copy in their INODIR, owner-only", path);
  else
    ts_log(log, TS_LOG_INFO, "servers must present the server credential "
           "%s", path);
  return NULL;
}

ts_error_t *
ts_credential_check(const char **what, const char *inodir, apr_pool_t *pool)
{
  const char *path = ts_credential_path(inodir, pool);
  ts_credential_t *cred;
  ts_error_t *err = ts_credential_load(&cred, path, pool);

  if (err && ts_error_code(err) == TS_ENOENT) {
    ts_error_clear(err);
    *what = apr_psprintf(pool, "%s does not exist yet: the start creates it",
                         path);
    return NULL;
  }
  TS_ERR(err);
  *what = path;
  return NULL;
}

const char *
ts_credential_derive(const ts_credential_t *cred, const char *purpose,
                     apr_pool_t *pool)
{
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  char *out = apr_palloc(pool, sodium_base64_ENCODED_LEN(
                               sizeof(mac), sodium_base64_VARIANT_ORIGINAL));

  crypto_auth_hmacsha256(mac, (const unsigned char *)purpose,
                         strlen(purpose), cred->key);
  sodium_bin2base64(out, sodium_base64_ENCODED_LEN(sizeof(mac),
                    sodium_base64_VARIANT_ORIGINAL), mac, sizeof(mac),
                    sodium_base64_VARIANT_ORIGINAL);
  return out;
}

int
ts_credential_check_http(const ts_credential_t *cred,
                         const char *authorization)
{
  apr_pool_t *pool;
  const char *want, *scheme = TS_CREDENTIAL_SCHEME " ";
  size_t n = strlen(scheme);
  int ok;

  if (!authorization || strncmp(authorization, scheme, n) != 0)
    return 0;
  apr_pool_create(&pool, NULL);
  want = ts_credential_derive(cred, "http", pool);
  ok = strlen(authorization + n) == strlen(want)
       && sodium_memcmp(authorization + n, want, strlen(want)) == 0;
  apr_pool_destroy(pool);
  return ok;
}

const char *
ts_credential_header(const ts_credential_t *cred, apr_pool_t *pool)
{
  return apr_pstrcat(pool, "Authorization: " TS_CREDENTIAL_SCHEME " ",
                     ts_credential_derive(cred, "http", pool), "\r\n",
                     NULL);
}
