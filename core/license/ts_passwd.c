/* ts_passwd.c: the administrator's password (see ts_passwd.h). */
#include "ts_passwd.h"

#include <string.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <jansson.h>
#include <sodium.h>

#include "ts_file.h"

const char *
ts_passwd_path(const char *inolic, apr_pool_t *pool)
{
  return ts_path_join(inolic, "admin.passwd", pool);
}

ts_error_t *
ts_passwd_set(const char *path, const char *password, apr_pool_t *pool)
{
  char hash[crypto_pwhash_STRBYTES];

  if (strlen(password) < TS_PASSWD_MIN)
    return ts_error_createf(TS_EINVAL, "the password is too short: it needs "
                            "at least %d characters; nothing was changed",
                            TS_PASSWD_MIN);
  if (sodium_init() < 0
      || crypto_pwhash_str(hash, password, strlen(password),
                           crypto_pwhash_OPSLIMIT_INTERACTIVE,
                           crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return ts_error_createf(TS_EOS, "cannot hash the password (Argon2id "
                            "needs %u MiB of memory); nothing was changed",
                            (unsigned)(crypto_pwhash_MEMLIMIT_INTERACTIVE
                                       >> 20));
  /* owner only: rw------- */
  TS_ERR_W(ts_file_replace(path, apr_pstrcat(pool, hash, "\n", NULL),
                           strlen(hash) + 1,
                           APR_FPROT_UREAD | APR_FPROT_UWRITE, pool),
           "cannot store the administrator's password");
  return NULL;
}

static const char *
stored_hash(const char *path, apr_pool_t *pool)
{
  const char *text;
  apr_size_t len;
  ts_error_t *err = ts_file_read_all(&text, &len, path, pool);

  if (err) {
    ts_error_clear(err);
    return NULL;
  }
  if (strncmp(text, "$argon2id$", 10) != 0)
    return NULL;
  return apr_pstrndup(pool, text, strcspn(text, "\r\n"));
}

int
ts_passwd_is_set(const char *path, apr_pool_t *pool)
{
  return stored_hash(path, pool) != NULL;
}

/* Whether NAME can stand in a log line and in the audit log's JSON as it
 * is: UTF-8 (jansson refuses anything else) without control characters
 * (a newline would forge a log line). */
static int
printable(const char *name)
{
  json_t *j = json_string(name);
  int ok = j != NULL;

  json_decref(j);
  for (const unsigned char *p = (const unsigned char *)name; ok && *p; p++)
    ok = *p >= 0x20 && *p != 0x7f;
  return ok;
}

ts_error_t *
ts_passwd_check(const char **who, const char *path,
                const char *authorization, apr_pool_t *pool)
{
  const char *hash = stored_hash(path, pool), *b64;
  unsigned char decoded[512];
  size_t len;
  char *colon, *name;
  int ok;

  if (!hash)
    return ts_error_createf(TS_ECONFIG, "the license server administrator's "
                            "password is not set (%s), so nothing can be "
                            "changed through the interface yet; set it on "
                            "the license server machine with `tessera-admin "
                            "license passwd`", path);
  if (!authorization || strncmp(authorization, "Basic ", 6) != 0)
    return ts_error_createf(TS_EPERM, "this request changes the license "
                            "server and needs the administrator's password: "
                            "send it with HTTP Basic authentication, e.g. "
                            "`curl -u <your name>:<password> ...`");
  b64 = authorization + 6;
  if (sodium_base642bin(decoded, sizeof(decoded) - 1, b64, strlen(b64),
                        NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL)
      || !(decoded[len] = '\0', colon = strchr((char *)decoded, ':')))
    return ts_error_createf(TS_EPERM, "the Authorization header is not "
                            "valid HTTP Basic credentials (base64 of "
                            "name:password)");
  *colon = '\0';
  if (!printable((const char *)decoded)) {
    sodium_memzero(decoded, sizeof(decoded));
    return ts_error_createf(TS_EPERM, "the user name in the Authorization "
                            "header is not UTF-8 text without control "
                            "characters; it names who acts in the log and "
                            "the audit log, so send a plain name "
                            "(`curl -u <your name>:<password> ...`)");
  }
  ok = crypto_pwhash_str_verify(hash, colon + 1, strlen(colon + 1)) == 0;
  name = apr_pstrdup(pool, *decoded ? (char *)decoded : "admin");
  sodium_memzero(decoded, sizeof(decoded));
  if (!ok)
    return ts_error_createf(TS_EPERM, "wrong password for the license "
                            "server administrator (given by '%s')", name);
  *who = name;
  return NULL;
}
