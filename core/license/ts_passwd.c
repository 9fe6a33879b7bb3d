/* ts_passwd.c: the administrator's password (see ts_passwd.h). */
#include "ts_passwd.h"

#include <string.h>
#include <apr_file_info.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
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

/* ---- the guard --------------------------------------------------------- */

/* Clients remembered at most (a flood of addresses cannot grow the
 * table), and for how long after their last wrong password. */
#define MAX_CLIENTS 4096
#define FORGET_AFTER apr_time_from_sec(15 * 60)

typedef struct client_t {
  char address[64];
  int wrong;                  /* wrong passwords in a row */
  apr_time_t last, until;     /* the last one; no check before UNTIL */
} client_t;

struct ts_passwd_guard_t {
  apr_thread_mutex_t *lock;   /* everything below */
  apr_hash_t *clients;        /* address -> client_t */
  apr_pool_t *pool;           /* its own: CLIENTS grows under LOCK */
  int checking;
  ts_passwd_stats_t stats;
};

ts_passwd_guard_t *
ts_passwd_guard_create(apr_pool_t *pool)
{
  ts_passwd_guard_t *g = apr_pcalloc(pool, sizeof(*g));

  apr_pool_create(&g->pool, pool);
  g->clients = apr_hash_make(g->pool);
  apr_thread_mutex_create(&g->lock, APR_THREAD_MUTEX_DEFAULT, pool);
  return g;
}

void
ts_passwd_guard_stats(ts_passwd_stats_t *stats, ts_passwd_guard_t *g)
{
  apr_thread_mutex_lock(g->lock);
  *stats = g->stats;
  apr_thread_mutex_unlock(g->lock);
}

/* Under the lock: a record for ADDRESS, reusing a forgotten one (or, with
 * MAX_CLIENTS remembered, the one whose last wrong password is oldest). */
static client_t *
new_client(ts_passwd_guard_t *g, const char *address, apr_time_t now)
{
  client_t *c = NULL, *oldest = NULL;

  if (apr_hash_count(g->clients) >= MAX_CLIENTS)
    for (apr_hash_index_t *hi = apr_hash_first(NULL, g->clients); hi && !c;
         hi = apr_hash_next(hi)) {
      client_t *o = apr_hash_this_val(hi);
      if (now - o->last > FORGET_AFTER)
        c = o;
      else if (!oldest || o->last < oldest->last)
        oldest = o;
    }
  if (!c)
    c = oldest;
  if (c)
    apr_hash_set(g->clients, c->address, APR_HASH_KEY_STRING, NULL);
  else
    c = apr_palloc(g->pool, sizeof(*c));
  memset(c, 0, sizeof(*c));
  apr_cpystrn(c->address, address, sizeof(c->address));
  apr_hash_set(g->clients, c->address, APR_HASH_KEY_STRING, c);
  return c;
}

/* Whether ADDRESS may have its password checked now; if so a slot is
 * taken (give it back with leave()). If not, the refusal, and in
 * *RETRY_AFTER when to come back. CLIENT: the address for messages, NULL
 * when it is not known. */
static ts_error_t *
enter(int *retry_after, ts_passwd_guard_t *g, const char *address,
      const char *client)
{
  apr_time_t now = apr_time_now();
  client_t *c;
  ts_error_t *err = NULL;

  apr_thread_mutex_lock(g->lock);
  c = apr_hash_get(g->clients, address, APR_HASH_KEY_STRING);
  if (c && now - c->last > FORGET_AFTER) {
    c->wrong = 0;
    c->until = 0;
  }
  if (c && now < c->until) {
    *retry_after = (int)((c->until - now + APR_USEC_PER_SEC - 1)
                         / APR_USEC_PER_SEC);
    g->stats.backoff++;
    err = client
      ? ts_error_createf(TS_EUNAVAIL, "too many wrong passwords from %s (%d "
                         "in a row): no password is checked for this "
                         "address for %d s more, and the wait doubles with "
                         "each further wrong one; try again then, with the "
                         "right password", client, c->wrong, *retry_after)
      : ts_error_createf(TS_EUNAVAIL, "too many wrong passwords from an "
                         "unknown address (%d in a row): no password is "
                         "checked for it for %d s more, and the wait "
                         "doubles with each further wrong one; try again "
                         "then, with the right password", c->wrong,
                         *retry_after);
  }
  else if (g->checking >= TS_PASSWD_MAX_CHECKS) {
    *retry_after = 1;
    g->stats.busy++;
    err = ts_error_createf(TS_EUNAVAIL, "too many password checks at once "
                           "(at most %d, each takes 64 MiB): try again in a "
                           "second", TS_PASSWD_MAX_CHECKS);
  }
  else
    g->checking++;
  apr_thread_mutex_unlock(g->lock);
  return err;
}

/* Give the slot back and note whether ADDRESS gave the right password. */
static void
leave(ts_passwd_guard_t *g, const char *address, int right)
{
  apr_time_t now = apr_time_now();
  client_t *c;

  apr_thread_mutex_lock(g->lock);
  g->checking--;
  c = apr_hash_get(g->clients, address, APR_HASH_KEY_STRING);
  if (right && c) {
    c->wrong = 0;
    c->until = 0;
  }
  else if (!right) {
    g->stats.wrong++;
    if (!c)
      c = new_client(g, address, now);
    c->wrong++;
    c->last = now;
    if (c->wrong >= TS_PASSWD_FREE) {
      int shift = c->wrong - TS_PASSWD_FREE;
      apr_interval_time_t wait = shift >= 9 ? apr_time_from_sec(512)
                                 : apr_time_from_sec(1) << shift;
      if (wait > apr_time_from_sec(TS_PASSWD_MAX_WAIT))
        wait = apr_time_from_sec(TS_PASSWD_MAX_WAIT);
      c->until = now + wait;
    }
  }
  apr_thread_mutex_unlock(g->lock);
}

/* ---- the check ---------------------------------------------------------- */

/* The name and password of HTTP Basic credentials AUTHORIZATION into
 * DECODED (SIZE); *PASSWORD points into it. */
static ts_error_t *
parse_basic(char **password, unsigned char *decoded, size_t size,
            const char *authorization)
{
  const char *b64;
  char *colon;
  size_t len;

  if (!authorization || strncmp(authorization, "Basic ", 6) != 0)
    return ts_error_createf(TS_EPERM, "this request changes the license "
                            "server and needs the administrator's password: "
                            "send it with HTTP Basic authentication, e.g. "
                            "`curl -u <your name>:<password> ...`");
  b64 = authorization + 6;
  if (sodium_base642bin(decoded, size - 1, b64, strlen(b64), NULL, &len,
                        NULL, sodium_base64_VARIANT_ORIGINAL)
      || !(decoded[len] = '\0', colon = strchr((char *)decoded, ':')))
    return ts_error_createf(TS_EPERM, "the Authorization header is not "
                            "valid HTTP Basic credentials (base64 of "
                            "name:password)");
  *colon = '\0';
  *password = colon + 1;
  return NULL;
}

ts_error_t *
ts_passwd_check(const char **who, int *retry_after, ts_passwd_guard_t *g,
                const char *path, const char *authorization,
                const char *client, apr_pool_t *pool)
{
  const char *hash = stored_hash(path, pool);
  const char *address = client ? client : "";   /* the key of its count */
  unsigned char decoded[512];
  char *password = NULL, *name;
  ts_error_t *err;
  int ok;

  *retry_after = 0;
  if (!hash)
    return ts_error_createf(TS_ECONFIG, "the license server administrator's "
                            "password is not set (%s), so nothing can be "
                            "changed through the interface yet; set it on "
                            "the license server machine with `tessera-admin "
                            "license passwd`", path);
  err = parse_basic(&password, decoded, sizeof(decoded), authorization);
  if (!err && !printable((const char *)decoded))
    err = ts_error_createf(TS_EPERM, "the user name in the Authorization "
                           "header is not UTF-8 text without control "
                           "characters; it names who acts in the log and "
                           "the audit log, so send a plain name "
                           "(`curl -u <your name>:<password> ...`)");
  if (!err)
    err = enter(retry_after, g, address, client);
  if (err) {
    sodium_memzero(decoded, sizeof(decoded));
    return err;
  }
  ok = crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
  leave(g, address, ok);
  name = apr_pstrdup(pool, *decoded ? (char *)decoded : "admin");
  sodium_memzero(decoded, sizeof(decoded));
  if (!ok)
    return ts_error_createf(TS_EPERM, "wrong password for the license "
                            "server administrator (given by '%s')", name);
  *who = name;
  return NULL;
}
