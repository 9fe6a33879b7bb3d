/* test_license_files.c: what the license server writes in INOLIC, and
 * what of a client's reaches its log, through the real programs (Linux).
 *
 * Run as root, the server followed symbolic links planted in INOLIC (its
 * pid file truncated and overwrote the file a link named; its log, the
 * hub's and the audit log appended to theirs): each is refused now, the
 * file the link names untouched. An INOLIC other accounts may write in
 * is refused with the command that makes it private, and that command
 * works. A newline in a Basic-auth user name forged a line in
 * license.log, and a 60 KB user name was stored and echoed: client
 * values reach the log quoted, and request fields are limited. The test
 * that changes INOLIC's owner needs root (CI runs as root). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <pwd.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "license_fixture.h"
#include "run.h"

static const char precious[] = "precious: not a log\n";
static const lf_options_t options = {
  .name = "files", .asan = "detect_leaks=0",
  .config = lf_plain_config, .stop_signal = SIGTERM,
};

static void
setup(void)
{
  lf_setup_with(&options);
  run_write_file(in_root("victim"), precious);
}

TestSuite(license_files, .init = setup, .fini = lf_teardown, .timeout = 120);

/* Start tesserad license. Returns 0 once it serves, or its exit status
 * when it ended first; *ERR (when not NULL) gets what it said. */
static int
start(char **err)
{
  return lf_start_license(500, err);
}

/* ---- links planted where the server writes ------------------------------ */

Test(license_files, links_planted_in_inolic_are_refused_not_followed)
{
  const char *dir = apr_psprintf(tp, "%s/logs/license.%d", lic, port);
  const char *hubdir = apr_psprintf(tp, "%s/logs/hub.%d", lic, port + 2);
  const char *victim = in_root("victim");
  const char *pid = apr_pstrcat(tp, dir, "/license.pid", NULL);
  const char *log = apr_pstrcat(tp, dir, "/license.log", NULL);
  const char *audit = apr_pstrcat(tp, dir, "/audit.jsonl", NULL);
  const char *hub = apr_pstrcat(tp, hubdir, "/hub.log", NULL);
  struct {
    const char *path, *says;
  } cases[] = {
    { pid, apr_pstrcat(tp, "the pid file ", pid, " is a symbolic link, and "
                       "a server does not write through links", NULL) },
    { log, apr_pstrcat(tp, "cannot open the log file ", log, ": it is a "
                       "symbolic link, and a server does not write through "
                       "links", NULL) },
    { audit, apr_pstrcat(tp, "cannot open the audit log ", audit, ": cannot "
                         "open the log file ", audit, ": it is a symbolic "
                         "link", NULL) },
    { hub, apr_pstrcat(tp, "cannot open the log file ", hub, ": it is a "
                       "symbolic link", NULL) },
  };

  cr_assert_eq(system(apr_psprintf(tp, "mkdir -p '%s' '%s'", dir, hubdir)),
               0);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char *err = NULL, *text;
    int status;

    unlink(cases[i].path);          /* the file the last start made */
    cr_assert_eq(symlink(victim, cases[i].path), 0, "symlink %s: %s",
                 cases[i].path, strerror(errno));
    status = start(&err);
    if (status == 0)
      lf_stop();
    cr_assert_neq(status, 0, "started with a link at %s", cases[i].path);
    cr_assert(strstr(err, cases[i].says), "%s", err);
    text = run_read_file(victim);
    cr_assert_str_eq(text, precious, "%s was written through", victim);
    free(text);
    free(err);
    cr_assert_eq(unlink(cases[i].path), 0);
  }
  /* without the links it starts, and writes its own files */
  cr_assert_eq(start(NULL), 0);
  lf_stop();
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    struct stat st;
    if (strstr(cases[i].path, ".pid"))
      continue;                   /* removed at the stop */
    cr_assert_eq(lstat(cases[i].path, &st), 0, "%s", cases[i].path);
    cr_assert(S_ISREG(st.st_mode), "%s", cases[i].path);
  }
}

/* ---- an INOLIC other accounts may write in -------------------------------- */

/* Start, expecting the refusal that names DIR and says WHY; then apply
 * the fix the message gives. */
static void
refused_then_fixed(const char *dir, const char *why)
{
  char *err = NULL, *fix, *end;
  int status = start(&err);

  if (status == 0)
    lf_stop();
  cr_assert_eq(status, 78, "%s", err);
  cr_assert(strstr(err, apr_psprintf(tp, "the license directory %s (INOLIC) "
                                     "is not private: ", lic)), "%s", err);
  cr_assert(strstr(err, why), "%s", err);
  cr_assert(strstr(err, "another account could plant a link there that "
                   "makes this server (running as root) overwrite or append "
                   "to a file of its choosing"), "%s", err);
  fix = strstr(err, "Make it private: ");
  cr_assert_not_null(fix, "%s", err);
  fix += strlen("Make it private: ");
  end = strchr(fix, '\n');
  if (end)
    *end = '\0';
  cr_assert(strstr(fix, apr_psprintf(tp, "chmod go-w '%s'", dir)), "%s",
            fix);
  cr_assert_eq(system(fix), 0, "%s", fix);
  free(err);
}

Test(license_files, an_inolic_other_accounts_may_write_is_refused)
{
  const char *logs = apr_pstrcat(tp, lic, "/logs", NULL);
  struct passwd *nobody = getpwnam("nobody");

  cr_assert_eq(geteuid(), 0, "changing INOLIC's owner needs root");
  cr_assert_not_null(nobody);
  cr_assert_eq(start(NULL), 0);     /* as it is: private */
  lf_stop();

  cr_assert_eq(chmod(lic, 0777), 0);
  refused_then_fixed(lic, "every account may write it (mode 0777)");
  cr_assert_eq(chmod(logs, 02775), 0);
  refused_then_fixed(logs, apr_psprintf(tp, "%s: the group root may write "
                                        "it (mode 2775)", logs));
  cr_assert_eq(chown(lic, nobody->pw_uid, 0), 0);
  refused_then_fixed(lic, "it belongs to the account nobody, which may "
                     "write it");
  /* each fix it gave made it private */
  cr_assert_eq(start(NULL), 0);
  lf_stop();
}

/* ---- what of a client's reaches the log ------------------------------ */

/* "Authorization: Basic base64(NAME:PASSWORD)\r\n" */
static const char *
basic(const char *name, const char *password)
{
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
                            "wxyz0123456789+/";
  const unsigned char *s = (const unsigned char *)apr_pstrcat(tp, name, ":",
                                                            password, NULL);
  size_t n = strlen((const char *)s), o = 0;
  char *out = apr_palloc(tp, n * 2 + 48);

  o += (size_t)sprintf(out, "Authorization: Basic ");
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? s[i + 1] << 8 : 0)
                 | (i + 2 < n ? s[i + 2] : 0);
    out[o++] = b64[v >> 18 & 63];
    out[o++] = b64[v >> 12 & 63];
    out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? b64[v & 63] : '=';
  }
  strcpy(out + o, "\r\n");
  return out;
}

/* a Basic-auth user name ends at its first colon: none in this line */
static const char forged[] = "2099-01-01T00.00.00.000Z info  forged by eve";

static const char *
checkout(const char *user, const char *product, char *body, int *status)
{
  *status = run_http(port, "POST", "/v1/sessions", apr_psprintf(tp,
                     "{\"product\":\"%s\",\"user\":\"%s\",\"host\":\"ws1\","
                     "\"pid\":7,\"application\":\"modeler\"}", product,
                     user), NULL, body, 65536);
  return body;
}

Test(license_files, client_values_reach_the_log_quoted_and_bounded)
{
  static char body[65536];
  char id[64] = "", *log, *big = malloc(61441);
  const char *eve = apr_pstrcat(tp, "eve\n", forged, NULL);
  int status;

  cr_assert_eq(system(apr_psprintf(tp, "echo 'correct horse' | env INOLIC="
                                   "'%s' %s license passwd --stdin >/dev/null", lic,
                                   TESSERA_ADMIN)), 0);
  cr_assert_eq(start(NULL), 0);

  /* a 60 KB user name: refused, named, not echoed */
  memset(big, 'u', 61440);
  big[61440] = '\0';
  checkout(big, "demo", body, &status);
  cr_assert_eq(status, 400, "%s", body);
  cr_assert_str_eq(body, "{\"error\":\"the field \\\"user\\\" is 61440 "
                   "bytes long; at most 256 are allowed\"}\n");
  big[257] = '\0';
  checkout("ada", big, body, &status);
  cr_assert_eq(status, 400, "%s", body);
  cr_assert(strstr(body, "the field \\\"product\\\" is 257 bytes long"),
            "%s", body);
  checkout("ada\\nforged", "demo", body, &status);
  cr_assert_eq(status, 400, "%s", body);
  cr_assert(strstr(body, "the field \\\"user\\\" has a control character "
                   "(byte 3)"), "%s", body);
  big[256] = '\0';                  /* the limit itself is allowed */
  checkout(big, "demo", body, &status);
  cr_assert_eq(status, 201, "%s", body);
  sscanf(strstr(body, "\"id\":\"") + 6, "%63[0-9a-f]", id);
  free(big);

  /* a newline in the Basic-auth user name: refused before the password
   * is checked, the name not quoted anywhere */
  status = run_http(port, "POST", apr_psprintf(tp, "/v1/sessions/%s/"
                    "release", id), "{\"reason\":\"hung\"}",
                    basic(eve, "correct horse"), body, sizeof(body));
  cr_assert_eq(status, 401, "%s", body);
  cr_assert(strstr(body, "not UTF-8 text without control characters"), "%s",
            body);
  cr_assert_eq(run_http(port, "POST", apr_psprintf(tp, "/v1/sessions/%s/"
                        "release", id), apr_psprintf(tp, "{\"reason\":\"%0300d"
                        "\"}", 0), basic("eve", "correct horse"), body,
                        sizeof(body)), 400, "%s", body);
  cr_assert(strstr(body, "the field \\\"reason\\\" is 300 bytes long"), "%s",
            body);
  status = run_http(port, "POST", apr_psprintf(tp, "/v1/sessions/%s/release",
                    id), "{\"reason\":\"line\\none\"}",
                    basic("eve", "correct horse"), body, sizeof(body));
  cr_assert_eq(status, 400, "a reason with a newline: %s", body);
  status = run_http(port, "POST", apr_psprintf(tp, "/v1/sessions/%s/release",
                    id), "{\"reason\":\"hung\"}",
                    basic("eve", "correct horse"), body, sizeof(body));
  cr_assert_eq(status, 200, "%s", body);
  lf_stop();

  log = lf_server_log();
  cr_assert_null(strstr(log, apr_pstrcat(tp, "\n", forged, NULL)),
                 "a forged line: %s", log);
  cr_assert_null(strstr(log, forged), "the refused name reached the log: %s",
                 log);
  cr_assert(strstr(log, "force-released by eve from 127.0.0.1: hung\n"), "%s",
            log);
  free(log);
}

/* ---- XML ------------------------------------------------------------------ */

Test(license_files, a_doctype_in_tessera_xml_is_refused)
{
  const char *says = "tessera.xml line 2: a DOCTYPE is not allowed in a "
                     "configuration file (its entities could make the file "
                     "expand without bound); remove the <!DOCTYPE ...> "
                     "declaration";
  run_result_t r;
  char *err = NULL;

  run_write_file(apr_pstrcat(tp, lic, "/tessera.xml", NULL),
                 "<?xml version=\"1.0\"?>\n"
                 "<!DOCTYPE tessera [<!ENTITY a \"127.0.0.1\">]>\n"
                 "<tessera xmlns=\"urn:tessera:config:1\">\n"
                 "  <listen address=\"&a;\"/>\n</tessera>\n");
  r = run((const char *[]){ TESSERAD, "license", "--check", NULL }, env(),
          NULL);
  /* tessera.xml is the administrator's to fix: EX_CONFIG, as the README
   * says, at --check and at start alike */
  cr_assert_eq(r.status, 78, "%s", r.err);
  cr_assert(strstr(r.err, says), "%s", r.err);
  cr_assert(strstr(r.err, "the license server would not start"), "%s",
            r.err);
  run_free(&r);
  cr_assert_eq(start(&err), 78, "%s", err);
  cr_assert(strstr(err, "cannot start the license server"), "%s", err);
  cr_assert(strstr(err, says), "%s", err);
  free(err);
}
