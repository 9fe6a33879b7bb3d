/* test_check.c: `tesserad <role> --check` says what a start would do and
 * fails exactly when the start would, with the start's error (Linux, the
 * real programs and the real mosquitto).
 *
 * It exited 0 with a missing or tampered license and with a broker
 * program that is not installed, and the start then refused; it now runs
 * the checks the start runs (one function, ts_server_check): the
 * settings, tessera.xml, the license and its host binding, the server
 * credential, the broker program (installed, runnable) and its port, the
 * HTTP ports. Its errors say the server "would not start", never "cannot
 * start". While the server runs, --check judges a restart and passes. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <apr_strings.h>

#include "license_fixture.h"
#include "run.h"

static const lf_options_t options = {
  .name = "check", .asan = "detect_leaks=0", .no_license = 1,
  .config = lf_plain_config, .stop_signal = SIGTERM,
};

static void
setup(void)
{
  lf_setup_with(&options);
}

TestSuite(check, .init = setup, .fini = lf_teardown, .timeout = 120);

static run_result_t
check_role(const char *role)
{
  return run((const char *[]){ TESSERAD, role, "--check", NULL }, env(),
             NULL);
}

/* Start tesserad license. Returns 0 once it serves, or its exit status
 * when it ended first; *ERR (when not NULL) gets what it said. */
static int
start(char **err)
{
  return lf_start_license(500, err);
}

/* The text after "tesserad: <prefix>: ", which the check and the start
 * share. */
static const char *
after(const char *text, const char *prefix)
{
  const char *p = strstr(text, prefix);

  cr_assert_not_null(p, "no '%s' in: %s", prefix, text);
  return apr_pstrndup(tp, p + strlen(prefix) + 2,
                      strcspn(p + strlen(prefix) + 2, "\n"));
}

Test(check, says_what_the_start_would_do_and_the_start_does_it)
{
  run_result_t r;
  char *log;

  lf_install_license();
  r = check_role("license");
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  for (const char *const *want = (const char *const[]){
       "configuration: ", "/lic/tessera.xml is valid",
       "license: localhost-", "for localhost, licensed to Test, in force",
       "demo: 5 seats until 2099-12-31",
       "server credential: ", "does not exist yet: the start creates it",
       "bus broker: ", "mosquitto on port",
       "ports: ", "(license server) and", "(hub) on 127.0.0.1",
       "the license server would start\n", NULL }; *want; want++)
    cr_assert(strstr(r.out, *want), "no '%s' in:\n%s", *want, r.out);
  cr_assert(strstr(r.out, apr_psprintf(tp, "on port %d, run as", port + 1)),
            "%s", r.out);
  run_free(&r);
  cr_assert_eq(start(NULL), 0);
  lf_stop();
  /* one product, not "1 products" */
  log = lf_server_log();
  cr_assert(strstr(log, "for localhost in force (1 product)\n"), "%s", log);
  free(log);
}

/* A license server without a license starts (and answers 503 to every
 * checkout); --check fails, with the warning the start logs and its
 * cause, so that "exit 0" means the server will hand out seats. */
Test(check, a_missing_license_fails_with_what_the_start_logs)
{
  run_result_t r = check_role("license");
  char *log;

  cr_assert_eq(r.status, 66, "EX_NOINPUT: %d %s", r.status, r.err);
  cr_assert(strstr(r.out, "license: none in force"), "%s", r.out);
  cr_assert(strstr(r.err, "the license server would start with no license "
                   "in force, so no seats can be checked out; install one "
                   "with `tessera-admin license import FILE`: cannot read "
                   "the license: cannot open"), "%s", r.err);
  cr_assert_null(strstr(r.err, "cannot start"), "%s", r.err);
  cr_assert_null(strstr(r.out, "would start\n"), "%s", r.out);
  run_free(&r);
  cr_assert_eq(start(NULL), 0);
  lf_stop();
  log = lf_server_log();
  cr_assert(strstr(log, "no license in force, so no seats can be checked "
                   "out; install one with `tessera-admin license import "
                   "FILE`: cannot read the license: cannot open"), "%s",
            log);
  free(log);
}

Test(check, a_tampered_license_fails_with_the_signature_error)
{
  const char *path = apr_pstrcat(tp, lic, "/tessera.lic", NULL);
  const char *says = "has been changed since it was signed";
  run_result_t r;
  char *text, *log;

  lf_install_license();
  text = run_read_file(path);
  strstr(text, "seats=\"5\"")[7] = '9';
  run_write_file(path, text);
  free(text);
  r = check_role("license");
  cr_assert_eq(r.status, 65, "%d %s", r.status, r.err);
  cr_assert(strstr(r.err, "would start with no license in force"), "%s",
            r.err);
  cr_assert(strstr(r.err, says), "%s", r.err);
  run_free(&r);
  cr_assert_eq(start(NULL), 0);
  lf_stop();
  log = lf_server_log();
  cr_assert(strstr(log, says), "%s", log);
  free(log);
}

/* Another host's license: the host binding is checked too. */
Test(check, a_license_for_another_host_fails)
{
  run_result_t r;

  admin_ok((const char *[]){ "license", "issue", "--demo-key", "--host",
                             "lic9", "--licensee", "Test", "--product",
                             "demo:5:2099-12-31", "--out",
                             apr_pstrcat(tp, lic, "/tessera.lic", NULL),
                             NULL });
  r = check_role("license");
  cr_assert_eq(r.status, 65, "%d %s", r.status, r.err);
  cr_assert(strstr(r.err, "is bound to host lic9, this is localhost"), "%s",
            r.err);
  run_free(&r);
}

static void
bus_program(const char *program)
{
  run_write_file(apr_pstrcat(tp, lic, "/tessera.xml", NULL),
                 apr_psprintf(tp, "<tessera xmlns=\"urn:tessera:config:1\">\n"
                              "  <listen address=\"127.0.0.1\"/>\n"
                              "  <license-server>\n"
                              "    <bus program=\"%s\"/>\n"
                              "  </license-server>\n</tessera>\n", program));
}

/* The check's error and the start's are the same words. */
static void
check_and_start_refuse(const char *role, int status, const char *says)
{
  run_result_t r = check_role(role);
  const char *checked;
  char *err = NULL;

  cr_assert_eq(r.status, status, "%d %s", r.status, r.err);
  cr_assert(strstr(r.err, says), "%s", r.err);
  cr_assert_null(strstr(r.err, "cannot start"), "%s", r.err);
  checked = after(r.err, apr_psprintf(tp, "the %s server would not start",
                                      role));
  run_free(&r);
  if (strcmp(role, "license") != 0)
    return;
  cr_assert_eq(start(&err), status, "%s", err);
  cr_assert(strstr(err, checked), "the start says otherwise:\n%s\nchecked:"
            "\n%s", err, checked);
  free(err);
}

Test(check, a_broker_that_is_not_installed_fails_as_the_start_does)
{
  lf_install_license();
  bus_program("tessera-no-such-broker");
  check_and_start_refuse("license", 69, "the bus broker "
                         "'tessera-no-such-broker' (for port");
  check_and_start_refuse("bus", 69, "is not installed");
}

Test(check, a_broker_that_may_not_be_run_fails_as_the_start_does)
{
  const char *fake = in_root("mosquitto");

  lf_install_license();
  run_write_file(fake, "#!/bin/sh\nexec /usr/sbin/mosquitto \"$@\"\n");
  cr_assert_eq(chmod(fake, 0644), 0);
  bus_program(fake);
  check_and_start_refuse("license", 77, "has no execute permission");
}

static int
listen_on(int p)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(p) };
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(fd, 4), 0);
  return fd;
}

Test(check, busy_ports_fail_as_the_start_does)
{
  int fd;

  lf_install_license();
  fd = listen_on(port + 2);
  check_and_start_refuse("license", 69, apr_psprintf(tp, "the hub cannot "
                         "listen on port %d (127.0.0.1): another program "
                         "uses it", port + 2));
  close(fd);
  fd = listen_on(port + 1);
  check_and_start_refuse("license", 69, apr_psprintf(tp, "the bus port %d "
                         "(p+1) on 127.0.0.1 is already in use", port + 1));
  check_and_start_refuse("bus", 69, "is already in use");
  close(fd);
  fd = listen_on(port);
  check_and_start_refuse("license", 69, apr_psprintf(tp, "the license "
                         "server cannot listen on port %d", port));
  close(fd);
}

/* Refusals ts_server_create() makes say "would not start" too: settings,
 * tessera.xml, a project license server tessera.xml does not name. */
Test(check, configuration_errors_say_would_not_start)
{
  run_result_t r;

  lf_install_license();
  run_write_file(apr_pstrcat(tp, lic, "/tessera.xml", NULL),
                 "<tessera xmlns=\"urn:tessera:config:1\">\n"
                 "  <listen adress=\"127.0.0.1\"/>\n</tessera>\n");
  r = check_role("license");
  cr_assert_eq(r.status, 78, "%d %s", r.status, r.err);
  cr_assert(strstr(r.err, "tesserad: the license server would not start: "
                   "the configuration "), "%s", r.err);
  cr_assert_null(strstr(r.err, "cannot start"), "%s", r.err);
  run_free(&r);
  r = run((const char *[]){ TESSERAD, "license", "--project", "26.1",
                            "--check", NULL }, env(), NULL);
  cr_assert_eq(r.status, 78, "%d %s", r.status, r.err);
  cr_assert_null(strstr(r.err, "cannot start"), "%s", r.err);
  run_free(&r);
  {
    const char *e[] = { "PATH=/usr/bin:/bin", "INOHOST=localhost.80",
                        apr_pstrcat(tp, "INOLIC=", lic, NULL),
                        apr_pstrcat(tp, "HOME=", root, NULL),
                        apr_pstrcat(tp, "INODIR=", in_root("params"), NULL),
                        NULL };
    r = run((const char *[]){ TESSERAD, "license", "--check", NULL }, e,
            NULL);
    cr_assert_eq(r.status, 78, "%d %s", r.status, r.err);
    cr_assert(strstr(r.err, "the license server would not start: invalid "
                     "settings: INOHOST 'localhost.80'"), "%s", r.err);
    run_free(&r);
  }
}

/* While the server runs, --check judges a restart: its own ports and its
 * broker are no reason to fail (as `nginx -t` passes beside a running
 * nginx). */
Test(check, beside_the_running_server_judges_a_restart)
{
  run_result_t r;

  lf_install_license();
  cr_assert_eq(start(NULL), 0);
  r = check_role("license");
  cr_assert_eq(r.status, 0, "%s%s", r.out, r.err);
  cr_assert(strstr(r.out, apr_psprintf(tp, "running now: pid %ld holds",
                                       (long)server)), "%s", r.out);
  cr_assert(strstr(r.out, "is held by the broker of the running server"),
            "%s", r.out);
  cr_assert(strstr(r.out, apr_psprintf(tp, "would start again once the "
                                       "running one (pid %ld) stopped",
                                       (long)server)), "%s", r.out);
  run_free(&r);
  /* and it took nothing from the running server */
  cr_assert_eq(run_http(port, "GET", "/health", NULL, NULL, NULL, 0), 200);
  cr_assert_eq(kill(server, 0), 0);
  /* a start now is refused: another instance, EX_UNAVAILABLE */
  r = run((const char *[]){ TESSERAD, "license", NULL }, env(), NULL);
  cr_assert_eq(r.status, 69, "%d %s", r.status, r.err);
  cr_assert(strstr(r.err, apr_psprintf(tp, "another instance (pid %ld)",
                                       (long)server)), "%s", r.err);
  run_free(&r);
}

/* The command line: EX_USAGE. */
Test(check, usage_errors_exit_64)
{
  const char *const args[][4] = { { TESSERAD, "frobnicate", NULL },
                                  { TESSERAD, "license", "--nope", NULL },
                                  { TESSERAD, "notify", "surplus", NULL },
                                  { TESSERAD, "license", "--project",
                                    "26" } };

  for (int i = 0; i < 4; i++) {
    const char *argv[6] = { NULL };
    run_result_t r;
    for (int k = 0; k < 4 && args[i][k]; k++)
      argv[k] = args[i][k];
    r = run(argv, env(), NULL);
    cr_assert_eq(r.status, 64, "%s %s: %d %s", argv[1],
                 argv[2] ? argv[2] : "", r.status, r.err);
    run_free(&r);
  }
}
