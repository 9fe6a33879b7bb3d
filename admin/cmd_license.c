/* cmd_license.c: `tessera-admin license`: the vendor's side (keygen,
 * issue) and the administrator's (show, import). A license is installed as
 * INOLIC/tessera.lic, atomically, and only when it passes every check. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <sodium.h>

#include "admin.h"
#include "ts_file.h"
#include "ts_license.h"
#include "ts_passwd.h"
#include "ts_settings.h"

static const char usage[] = N_(
  "usage: tessera-admin license show [FILE] [--json]\n"
  "       tessera-admin license import FILE [--project ##.#]\n"
  "            [--password-stdin]\n"
  "       tessera-admin license issue --host HOST --licensee NAME\n"
  "            --product NAME:SEATS:YYYY-MM-DD [--product ...]\n"
  "            (--key SECRETFILE | --demo-key) [--id ID] [--out FILE]\n"
  "       tessera-admin license keygen --out PREFIX\n"
  "       tessera-admin license passwd [--stdin]\n"
  "\n"
  "show checks a license (default INOLIC/tessera.lic): schema, signature,\n"
  "host binding (the host of INOHOST) and expiry. import installs FILE as\n"
  "INOLIC/tessera.lic (--project: INOLIC/projects/##.#/tessera.lic, which\n"
  "that project license server reads) after the same checks; a bad file\n"
  "changes nothing. When that license server runs, import has it read the\n"
  "license at once (by HUP when it runs under this account, else with the\n"
  "administrator's password, asked on the terminal or one line from\n"
  "standard input with --password-stdin) and says what it now uses; a\n"
  "license the server refuses is taken back and the server's reason shown.\n"
  "When it does not run, the license takes effect at its start.\n"
  "issue and keygen are the vendor's side: keygen writes PREFIX.key\n"
  "(secret) and PREFIX.pub; issue signs a license (--demo-key: the\n"
  "published demo key, for the embedded default).\n"
  "passwd sets the license server administrator's password (asked twice\n"
  "on the terminal, or one line from standard input with --stdin), stored\n"
  "as an Argon2id hash in INOLIC/admin.passwd; the server uses the new\n"
  "password at once. Requests that change things send it with HTTP Basic\n"
  "authentication (curl -u <your name>:<password>).\n");

typedef struct lic_opts_t {
  const char *host, *licensee, *key, *id, *out, *project;
  int demo, json, from_stdin, password_stdin;
  apr_array_header_t *products;
  const char *const *args;
  int nargs;
} lic_opts_t;

static ts_error_t *
parse(lic_opts_t *o, int *help, admin_ctx_t *ctx)
{
  static const apr_getopt_option_t opts[] = {
    { "host", 'H', 1, NULL }, { "licensee", 'l', 1, NULL },
    { "product", 'p', 1, NULL }, { "key", 'k', 1, NULL },
    { "demo-key", 'd', 0, NULL }, { "id", 'i', 1, NULL },
    { "out", 'o', 1, NULL }, { "json", 'j', 0, NULL },
    { "stdin", 's', 0, NULL }, { "project", 'P', 1, NULL },
    { "password-stdin", 'w', 0, NULL },
    { "help", 'h', 0, NULL }, { NULL, 0, 0, NULL }
  };
  apr_getopt_t *os;
  apr_status_t s;
  int ch;
  const char *arg;

  memset(o, 0, sizeof(*o));
  *help = 0;
  o->products = apr_array_make(ctx->pool, 4, sizeof(ts_product_t));
  TS_ERR(admin_getopt_init(&os, ctx, ctx->argc, ctx->argv));
  while ((s = apr_getopt_long(os, opts, &ch, &arg)) == APR_SUCCESS) {
    switch (ch) {
    case 'H': o->host = arg; break;
    case 'l': o->licensee = arg; break;
    case 'k': o->key = arg; break;
    case 'd': o->demo = 1; break;
    case 'i': o->id = arg; break;
    case 'o': o->out = arg; break;
    case 'j': o->json = 1; break;
    case 's': o->from_stdin = 1; break;
    case 'P': o->project = arg; break;
    case 'w': o->password_stdin = 1; break;
    case 'h': *help = 1; break;
    case 'p': {
      ts_product_t *p = apr_array_push(o->products);
      char *copy = apr_pstrdup(ctx->pool, arg), *c1 = strchr(copy, ':');
      char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
      if (!c2)
        return admin_usage_error(usage, "--product takes NAME:SEATS:"
                                 "YYYY-MM-DD, not '%s'", arg);
      *c1 = *c2 = '\0';
      p->name = copy;
      p->seats = atol(c1 + 1);
      p->expires = c2 + 1;
      break;
    }
    }
  }
  if (s != APR_EOF)
    return admin_usage_error(usage, "unknown option near '%s'",
                             os->argv[os->ind - 1]);
  o->args = os->argv + os->ind;
  o->nargs = ctx->argc - os->ind;
  return NULL;
}

/* This machine's host identity: the host part of the effective INOHOST. */
static ts_error_t *
this_host(const char **host, const char **lic_dir, admin_ctx_t *ctx)
{
  tsp_settings_t *store;
  ts_settings_t *settings;
  const ts_setting_value_t *v;
  int port;

  TS_ERR(admin_open_store(&store, ctx->pool));
  TS_ERR(ts_settings_resolve(&settings, store, ctx->pool, ctx->pool));
  v = ts_settings_get(settings, "INOHOST");
  if (v->problem)
    return ts_error_createf(TS_ECONFIG, "INOHOST '%s' is invalid: %s",
                            v->value, v->problem);
  TS_ERR(ts_inohost_parse(host, &port, v->value, ctx->pool));
  *lic_dir = ts_settings_get(settings, "INOLIC")->value;
  return NULL;
}

static ts_error_t *
load(ts_license_t **lic, const char *path, apr_pool_t *pool)
{
  const char *text;
  apr_size_t len;

  TS_ERR_W(ts_file_read_all(&text, &len, path, pool), "cannot read the "
           "license");
  return ts_license_parse(lic, path, text, len, pool);
}

static ts_error_t *
show(admin_ctx_t *ctx, const lic_opts_t *o)
{
  const char *host, *dir, *path;
  ts_license_t *lic;
  ts_error_t *verdict;
  apr_time_t now = apr_time_now();

  TS_ERR(this_host(&host, &dir, ctx));
  path = o->nargs ? o->args[0] : apr_pstrcat(ctx->pool, dir, "/tessera.lic",
                                             NULL);
  TS_ERR(load(&lic, path, ctx->pool));
  verdict = ts_license_verify(lic, host, now, ctx->pool);
  if (o->json) {
    json_t *products = json_array();
    for (int i = 0; i < lic->products->nelts; i++) {
      const ts_product_t *p = &APR_ARRAY_IDX(lic->products, i, ts_product_t);
      json_array_append_new(products, json_pack("{s:s, s:i, s:s, s:b}",
        "name", p->name, "seats", (json_int_t)p->seats, "expires",
        p->expires, "expired", ts_product_expired(p, now)));
    }
    admin_print_json(json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:s?}",
      "file", path, "id", lic->id, "issued", lic->issued, "licensee",
      lic->licensee, "host", lic->host, "products", products, "valid",
      verdict == NULL, "problem",   /* for programs: English */
      verdict ? ts_error_text(verdict, ctx->pool) : NULL));
  }
  else {
    printf(_("license %s (%s)\n  licensee: %s\n  host:     %s\n  "
             "issued:   %s\n"), lic->id, path, lic->licensee, lic->host,
           lic->issued);
    printf("  %-20s %6s  %s\n", _("PRODUCT"), _("SEATS"), _("EXPIRES"));
    for (int i = 0; i < lic->products->nelts; i++) {
      const ts_product_t *p = &APR_ARRAY_IDX(lic->products, i, ts_product_t);
      printf(ts_product_expired(p, now) ? _("  %-20s %6ld  %s (expired)\n")
                                        : "  %-20s %6ld  %s\n",
             p->name, p->seats, p->expires);
    }
    fputs(verdict ? _("  state:    INVALID\n") : _("  state:    valid\n"),
          stdout);
  }
  return verdict;
}

static ts_error_t *
import(admin_ctx_t *ctx, const lic_opts_t *o)
{
  if (o->nargs != 1)
    return admin_usage_error(usage, "license import takes one FILE");
  return admin_license_import(ctx, o->args[0], o->project,
                              o->password_stdin);
}

static ts_error_t *
write_out(const char *path, const void *data, apr_size_t len,
          apr_fileperms_t perms, apr_pool_t *pool)
{
  if (!path) {
    fwrite(data, 1, len, stdout);
    return NULL;
  }
  return ts_file_replace(path, data, len, perms, pool);
}

static ts_error_t *
issue(admin_ctx_t *ctx, const lic_opts_t *o)
{
  unsigned char pk[32], sk[64];
  ts_license_t lic = { 0 };
  const char *xml;
  char stamp[APR_RFC822_DATE_LEN + 8];
  apr_time_exp_t t;
  apr_time_t now;

  if (!o->host || !o->licensee || !o->products->nelts
      || !(o->demo || o->key))
    return admin_usage_error(usage, "license issue needs --host, "
                             "--licensee, --product and --key or "
                             "--demo-key");
  if (o->demo)
    TS_ERR(ts_license_demo_key(pk, sk));
  else {
    const char *text;
    apr_size_t len;
    TS_ERR(ts_file_read_all(&text, &len, o->key, ctx->pool));
    if (len != sizeof(sk))
      return ts_error_createf(TS_EINVAL, "%s is not a secret key from "
                              "`tessera-admin license keygen` (%d bytes, "
                              "not %d)", o->key, (int)len, (int)sizeof(sk));
    memcpy(sk, text, sizeof(sk));
  }
  now = apr_time_now();
  apr_time_exp_gmt(&t, now);
  apr_snprintf(stamp, sizeof(stamp), "%04d-%02d-%02dT%02d:%02d:%02dZ",
               t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour,
               t.tm_min, t.tm_sec);
  lic.id = o->id;
  if (!lic.id)
    TS_ERR(ts_license_new_id(&lic.id, o->host, now, ctx->pool));
  lic.issued = stamp;
  lic.licensee = o->licensee;
  lic.host = o->host;
  lic.products = o->products;
  TS_ERR(ts_license_sign(&xml, &lic, sk, ctx->pool));
  {
    /* the result must pass our own schema */
    ts_license_t *check;
    /* the name of the text in the parser's messages: for people (only
     * tessera-admin runs this) */
    TS_ERR_W(ts_license_parse(&check, _("the issued license"), xml,
                              strlen(xml), ctx->pool),
             "refusing to write a license that does not validate");
  }
  return write_out(o->out, xml, strlen(xml), TS_FPROT_FILE, ctx->pool);
}

static ts_error_t *
keygen(admin_ctx_t *ctx, const lic_opts_t *o)
{
  unsigned char pk[32], sk[64];
  char b64[64];
  const char *pub;

  if (!o->out)
    return admin_usage_error(usage, "license keygen needs --out PREFIX");
  TS_ERR(ts_license_keygen(pk, sk));
  TS_ERR(ts_file_replace(apr_pstrcat(ctx->pool, o->out, ".key", NULL),
                         (const char *)sk,
                         sizeof(sk), APR_FPROT_UREAD | APR_FPROT_UWRITE,
                         ctx->pool));
  /* base64 of the public key: what a vendor build trusts */
  sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk),
                    sodium_base64_VARIANT_ORIGINAL);
  pub = apr_pstrcat(ctx->pool, b64, "\n", NULL);
  TS_ERR(ts_file_replace(apr_pstrcat(ctx->pool, o->out, ".pub", NULL), pub,
                         strlen(pub), TS_FPROT_FILE, ctx->pool));
  printf(_("%s.key (secret) and %s.pub written; public key %s\n"), o->out,
         o->out, b64);
  return NULL;
}

static ts_error_t *
passwd(admin_ctx_t *ctx, const lic_opts_t *o)
{
  const char *host, *dir, *path;
  char first[256], second[256];
  ts_error_t *err;

  if (o->password_stdin)   /* import's option: not silently the terminal */
    return admin_usage_error(usage, "passwd reads the new password from "
                             "standard input with --stdin, not "
                             "--password-stdin (import's option, for the "
                             "password it sends)");
  TS_ERR(this_host(&host, &dir, ctx));
  path = ts_passwd_path(dir, ctx->pool);
  if (o->from_stdin) {
    if (!fgets(first, sizeof(first), stdin))
      return ts_error_createf(TS_EINVAL, "no password on standard input; "
                              "nothing was changed");
    first[strcspn(first, "\r\n")] = '\0';
  }
  else {
    apr_size_t n1 = sizeof(first), n2 = sizeof(second);
    if (apr_password_get(_("new administrator's password: "), first, &n1)
        || apr_password_get(_("the same again: "), second, &n2))
      return ts_error_createf(TS_EUSAGE, "cannot read a password from the "
                              "terminal; use --stdin in scripts");
    if (strcmp(first, second) != 0) {
      sodium_memzero(first, sizeof(first));
      sodium_memzero(second, sizeof(second));
      return ts_error_createf(TS_EINVAL, "the two passwords differ; nothing "
                              "was changed");
    }
  }
  err = ts_passwd_set(path, first, ctx->pool);
  sodium_memzero(first, sizeof(first));
  sodium_memzero(second, sizeof(second));
  TS_ERR(err);
  printf(_("the administrator's password is set (Argon2id hash in %s)\n"),
         path);
  return NULL;
}

ts_error_t *
admin_cmd_license(admin_ctx_t *ctx)
{
  lic_opts_t o;
  int help;
  const char *verb;

  TS_ERR(parse(&o, &help, ctx));
  if (help) {
    fputs(_(usage), stdout);
    return NULL;
  }
  if (o.nargs < 1)
    return admin_usage_error(usage, "license needs a subcommand");
  verb = o.args[0];
  o.args++;
  o.nargs--;
  if (strcmp(verb, "show") == 0)
    return show(ctx, &o);
  if (strcmp(verb, "import") == 0)
    return import(ctx, &o);
  if (strcmp(verb, "issue") == 0)
    return issue(ctx, &o);
  if (strcmp(verb, "keygen") == 0)
    return keygen(ctx, &o);
  if (strcmp(verb, "passwd") == 0)
    return passwd(ctx, &o);
  return admin_usage_error(usage, "unknown license subcommand '%s'", verb);
}
