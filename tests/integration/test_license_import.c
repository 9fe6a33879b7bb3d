/* test_license_import.c: `tessera-admin license import` against a real
 * running tesserad (Linux): the running server uses the new license at
 * once, told by import (HUP when this account started it, else through
 * its API with the administrator's password), and import says so; a license the server refuses
 * (another host than the one it started with) leaves the old one in
 * force and on disk, and import gives the server's reason; without a
 * running server the license waits for its start; --project puts the
 * license where the project license server reads it and tells that
 * server. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "license_fixture.h"
#include "run.h"

#define PASSWORD "correct horse"

static int project_port;
static pid_t project = -1;

static void
setup(void)
{
  lf_setup();
  project_port = lf_other_port();
  run_write_file(in_root("lic/tessera.xml"), apr_psprintf(tp,
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <listen address=\"127.0.0.1\"/>\n"
    "  <license-server>\n"
    "    <project version=\"26.1\" port=\"%d\"/>\n"
    "  </license-server>\n"
    "</tessera>\n", project_port));
}

static void
teardown(void)
{
  lf_kill(&project, SIGKILL);
  lf_teardown();
}

TestSuite(license_import, .init = setup, .fini = teardown, .timeout = 60);

/* A license for HOST with PRODUCT (NAME:SEATS:DATE) and id ID, as
 * ROOT/ID.lic. */
static const char *
issue(const char *host, const char *product, const char *id)
{
  const char *file = in_root(apr_pstrcat(tp, id, ".lic", NULL));

  admin_ok((const char *[]){ "license", "issue", "--demo-key", "--host",
                             host, "--licensee", "Test", "--product",
                             product, "--id", id, "--out", file, NULL });
  return file;
}

/* `echo PASSWORD | tessera-admin license import ARGS --password-stdin`
 * with ENV_. */
static run_result_t
import(const char *args, const char *const *env_)
{
  return run((const char *[]){ "/bin/sh", "-c", apr_psprintf(tp,
             "echo '" PASSWORD "' | %s license import %s --password-stdin",
             TESSERA_ADMIN, args), NULL }, env_, NULL);
}

static void
set_password(void)
{
  run_result_t r = run((const char *[]){ "/bin/sh", "-c", apr_psprintf(tp,
                       "echo '" PASSWORD "' | %s license passwd --stdin",
                       TESSERA_ADMIN), NULL }, env(), NULL);

  cr_assert_eq(r.status, 0, "%s", r.err);
  run_free(&r);
}

/* GET /v1/status of the server on PORT_ into BODY. */
static void
status(int port_, char *body, size_t size)
{
  cr_assert_eq(run_http(port_, "GET", "/v1/status", NULL, NULL, body, size),
               200, "%s", body);
}

/* `tessera-admin license import ARGS` (no password) with ENV_. */
static run_result_t
import_hup(const char *file, const char *const *env_)
{
  return run((const char *[]){ TESSERA_ADMIN, "license", "import", file,
                               NULL }, env_, NULL);
}

Test(license_import, a_running_server_uses_the_new_license_at_once)
{
  const char *file = issue("localhost", "demo:12:2099-12-31", "more-seats");
  const char *now_uses = apr_psprintf(tp, "the license server on localhost "
                                      "port %d now uses license ", port);
  char body[4096];
  run_result_t r;

  start_server();
  /* this account started it: HUP, no password needed */
  r = import_hup(file, env());
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, apr_pstrcat(tp, now_uses, "more-seats", NULL)),
            "%s", r.out);
  cr_assert(strstr(r.out, "12 seats"), "%s", r.out);
  run_free(&r);
  status(port, body, sizeof(body));
  cr_assert(strstr(body, "\"license\":\"more-seats\""), "%s", body);
  cr_assert(strstr(body, "\"seats\":12"), "%s", body);

  /* through the API: refused while no password is set, nothing changes */
  file = issue("localhost", "demo:14:2099-12-31", "by-password");
  r = import(file, env());
  cr_assert_eq(r.status, 77, "%d %s%s", r.status, r.out, r.err);
  cr_assert(strstr(r.err, "license passwd"), "%s", r.err);
  run_free(&r);
  status(port, body, sizeof(body));
  cr_assert(strstr(body, "\"seats\":12"), "%s", body);
  set_password();
  r = import(file, env());
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, apr_pstrcat(tp, now_uses, "by-password", NULL)),
            "%s", r.out);
  run_free(&r);
  status(port, body, sizeof(body));
  cr_assert(strstr(body, "\"seats\":14"), "%s", body);
}

/* env() with INOHOST=HOST.<port>. */
static const char *const *
env_with_host(const char *host)
{
  static const char *e[16];
  int n = 0;

  for (const char *const *v = env(); *v; v++)
    e[n++] = strncmp(*v, "INOHOST=", 8) == 0
             ? apr_psprintf(tp, "INOHOST=%s.%d", host, port) : *v;
  e[n] = NULL;
  return e;
}

/* FILE, a license the server on port refuses, imported with RUN_IMPORT
 * as INOHOST=127.0.0.1.<port> names it: refused, with the server's
 * reason, and the old license stays in force and on disk. */
static void
refused(const char *file, run_result_t (*run_import)(const char *,
                                                     const char *const *))
{
  char *before = run_read_file(in_root("lic/tessera.lic")), *after;
  char body[4096];
  run_result_t r = run_import(file, env_with_host("127.0.0.1"));

  cr_assert_eq(r.status, 65, "%d %s%s", r.status, r.out, r.err);
  cr_assert(strstr(r.err, "refused license other-host"), "%s", r.err);
  cr_assert(strstr(r.err, "bound to host 127.0.0.1, this is localhost"),
            "the server's reason: %s", r.err);
  cr_assert(strstr(r.err, "is as it was"), "%s", r.err);
  run_free(&r);
  status(port, body, sizeof(body));
  cr_assert(strstr(body, "\"seats\":5"), "%s", body);
  cr_assert(strstr(body, "\"license\":\"localhost-"), "%s", body);
  after = run_read_file(in_root("lic/tessera.lic"));
  cr_assert_str_eq(after, before, "the refused license stayed on disk");
  free(before);
  free(after);
}

Test(license_import, a_license_the_server_refuses_leaves_the_old_in_force)
{
  /* the server started as "localhost"; INOHOST now names it 127.0.0.1,
   * for which this license is: import's own check passes, the server's
   * not */
  const char *file = issue("127.0.0.1", "demo:9:2099-12-31", "other-host");
  char *after;
  char body[4096];
  run_result_t r;

  start_server();
  refused(file, import_hup);      /* told by HUP */
  set_password();
  refused(file, import);          /* told through the API */

  /* a wrong password changes nothing either */
  r = run((const char *[]){ "/bin/sh", "-c", apr_psprintf(tp, "echo wrong | "
          "%s license import %s --password-stdin", TESSERA_ADMIN,
          issue("localhost", "demo:7:2099-12-31", "wrong-pw")), NULL },
          env(), NULL);
  cr_assert_eq(r.status, 77, "%d %s%s", r.status, r.out, r.err);
  run_free(&r);
  status(port, body, sizeof(body));
  cr_assert(strstr(body, "\"seats\":5"), "%s", body);
  after = run_read_file(in_root("lic/tessera.lic"));
  cr_assert_null(strstr(after, "wrong-pw"), "%s", after);
  free(after);
}

Test(license_import, without_a_running_server_it_waits_for_the_start)
{
  const char *file = issue("localhost", "demo:3:2099-12-31", "for-later");
  char *installed, body[4096];
  run_result_t r;

  r = run((const char *[]){ TESSERA_ADMIN, "license", "import", file, NULL },
          env(), NULL);
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, "does not answer: the license takes effect when "
                   "it starts"), "%s", r.out);
  run_free(&r);
  installed = run_read_file(in_root("lic/tessera.lic"));
  cr_assert(strstr(installed, "for-later"), "%s", installed);
  free(installed);
  start_server();
  status(port, body, sizeof(body));
  cr_assert(strstr(body, "\"seats\":3"), "%s", body);
}

Test(license_import, project_license_goes_where_the_project_server_reads_it)
{
  const char *file = issue("localhost", "demo:4:2099-12-31", "project-26");
  char *installed, body[4096];
  run_result_t r;

  start_server();
  lf_start_project(&project, "26.1", project_port);
  status(project_port, body, sizeof(body));
  cr_assert(strstr(body, "\"license\":null"), "%s", body);

  r = run((const char *[]){ TESSERA_ADMIN, "license", "import", "--project",
                            "26.1", file, NULL }, env(), NULL);
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, apr_psprintf(tp, "the project license server on "
                   "localhost port %d now uses license project-26",
                   project_port)), "%s", r.out);
  run_free(&r);
  installed = run_read_file(in_root("lic/projects/26.1/tessera.lic"));
  cr_assert(strstr(installed, "project-26"), "not in INOLIC/projects/26.1: "
            "%s", installed);
  free(installed);
  status(project_port, body, sizeof(body));
  cr_assert(strstr(body, "\"license\":\"project-26\""), "%s", body);
  cr_assert(strstr(body, "\"seats\":4"), "%s", body);
  /* the main server's license is another */
  status(port, body, sizeof(body));
  cr_assert(strstr(body, "\"seats\":5"), "%s", body);
}
