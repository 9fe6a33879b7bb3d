/* test_proxy_win32.c: the proxy on Windows (under wine in CI): tesserad.exe
 * proxy in a console beside tesserad.exe license, tunnelling to a server
 * of the test's own (an echo, registered with the license server as a
 * model server registers) on the event-loop listener (libuv over IOCP):
 * CONNECT answered 200, bytes both ways, the client's half-close passed
 * on and answered by the end of the stream; an unknown name 404. */
#include <winsock2.h>
#include <windows.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "run.h"
#include "ts_credential.h"
#include "ts_httpd.h"

static apr_pool_t *tp;
static const char *root, *lic;
static int port;
static const char *env[16];
static apr_proc_t procs[2];
static int running[2];
static SOCKET echo_listener = INVALID_SOCKET;
static int echo_port;

static const char *const keep[] = { "SystemRoot", "windir", "TEMP", "TMP",
                                    "PATH", NULL };

static void
admin_ok(const char *const *args)
{
  const char *argv[16] = { TESSERA_ADMIN };
  run_result_t r;

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  r = run(argv, env, NULL);
  cr_assert_eq(r.status, 0, "%s: %s %s", args[0], r.out, r.err);
  run_free(&r);
}

static void
start(int i, const char *role, int p)
{
  const char *argv[] = { TESSERAD, role, "--console", NULL };
  const char *errfile = apr_psprintf(tp, "%s\\%s.err", root, role);

  run_start(&procs[i], argv, env, errfile, tp);
  running[i] = 1;
  for (int k = 0; k < 300; k++) {
    if (run_http(p, "GET", "/health", NULL, NULL, NULL, 0) == 200)
      return;
    Sleep(50);
  }
  cr_assert_fail("tesserad.exe %s did not answer on port %d: %s", role, p,
                 run_read_file(errfile));
}

/* The echo: one connection at a time, what it reads it writes back; the
 * end of the client's stream ends its own. */
static DWORD WINAPI
echo(LPVOID unused)
{
  char buf[4096];
  SOCKET c;

  (void)unused;
  while ((c = accept(echo_listener, NULL, NULL)) != INVALID_SOCKET) {
    int n;
    while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
      if (send(c, buf, n, 0) != n)
        break;
    shutdown(c, SD_SEND);
    closesocket(c);
  }
  return 0;
}

static void
start_echo(void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  int len = sizeof(sa);

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  echo_listener = socket(AF_INET, SOCK_STREAM, 0);
  cr_assert_eq(bind(echo_listener, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(echo_listener, 16), 0);
  getsockname(echo_listener, (struct sockaddr *)&sa, &len);
  echo_port = ntohs(sa.sin_port);
  cr_assert_not_null(CreateThread(NULL, 0, echo, NULL, 0, NULL));
}

static void
setup(void)
{
  const char *tmp;
  WSADATA wsa;
  int n = 0;

  apr_initialize();
  ts_http_client_init();
  WSAStartup(MAKEWORD(2, 2), &wsa);
  apr_pool_create(&tp, NULL);
  cr_assert_eq(apr_temp_dir_get(&tmp, tp), APR_SUCCESS);
  root = apr_psprintf(tp, "%s\\tessera-proxy-%lu", tmp,
                      (unsigned long)GetCurrentProcessId());
  lic = apr_pstrcat(tp, root, "\\lic", NULL);
  cr_assert_eq(apr_dir_make_recursive(lic, APR_FPROT_OS_DEFAULT, tp), 0);
  port = run_free_port();
  for (const char *const *k = keep; *k; k++)
    if (getenv(*k))
      env[n++] = apr_psprintf(tp, "%s=%s", *k, getenv(*k));
  env[n++] = apr_psprintf(tp, "INOHOST=localhost.%d", port);
  env[n++] = apr_pstrcat(tp, "INOLIC=", lic, NULL);
  env[n++] = apr_pstrcat(tp, "INODIR=", root, "\\params", NULL);
  env[n] = NULL;
  admin_ok((const char *[]){ "license", "issue", "--demo-key", "--host",
                             "localhost", "--licensee", "Test", "--product",
                             "demo:5:2099-12-31", "--out",
                             apr_pstrcat(tp, root, "\\demo.lic", NULL),
                             NULL });
  admin_ok((const char *[]){ "license", "import", apr_pstrcat(tp, root,
                             "\\demo.lic", NULL), NULL });
  /* no bus: the servers go on without it (the proxy refreshes on its
   * timer and before it refuses a name) */
  run_write_file(apr_pstrcat(tp, lic, "\\tessera.xml", NULL),
    "<tessera xmlns=\"urn:tessera:config:1\">\n"
    "  <listen address=\"127.0.0.1\"/>\n"
    "  <license-server>\n"
    "    <model-servers probe-seconds=\"3600\" gone-after-seconds=\"86400\"/>\n"
    "    <bus start=\"external\"/>\n"
    "  </license-server>\n"
    "  <machine name=\"localhost\"/>\n"
    "  <model-servers heartbeat-seconds=\"1\"/>\n"
    "</tessera>\n");
  start(0, "license", port);
}

static void
teardown(void)
{
  int code;
  apr_exit_why_e why;
  const char *cmd = apr_psprintf(tp, "%s\\system32\\cmd.exe",
                                 getenv("SystemRoot"));
  run_result_t r;

  for (int i = 1; i >= 0; i--)
    if (running[i]) {
      apr_proc_kill(&procs[i], 9);
      apr_proc_wait(&procs[i], &code, &why, APR_WAIT);
    }
  if (echo_listener != INVALID_SOCKET)
    closesocket(echo_listener);
  r = run((const char *[]){ cmd, "/c", "rmdir", "/s", "/q", root, NULL },
          env, NULL);
  run_free(&r);
  apr_pool_destroy(tp);
  apr_terminate();
}

TestSuite(proxy_win32, .init = setup, .fini = teardown, .timeout = 120);

/* A connection to the proxy with `CONNECT TARGET`; the answer's head and
 * body into ANSWER; the socket (open) and the status. */
static SOCKET
connect_via(const char *target, int *status, char *answer, size_t size)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  SOCKET s = socket(AF_INET, SOCK_STREAM, 0);
  const char *req = apr_psprintf(tp, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n"
                                 "\r\n", target, target);
  size_t len = 0;
  DWORD timeout = 10000;

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((u_short)(port + 5));
  setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, (const char *)&timeout,
             sizeof(timeout));
  cr_assert_eq(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(send(s, req, (int)strlen(req), 0), (int)strlen(req));
  /* the head, a byte at a time: nothing of the tunnel is read here */
  while (len < size - 1 && !(len >= 4 && !memcmp(answer + len - 4,
                                                   "\r\n\r\n", 4))) {
    int n = recv(s, answer + len, 1, 0);
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  answer[len] = 0;
  *status = 0;
  sscanf(answer, "HTTP/1.1 %d", status);
  return s;
}

Test(proxy_win32, the_proxy_tunnels_to_a_model_server_of_its_machine)
{
  ts_credential_t *cred;
  char answer[4096], body[1024];
  static const char msg[] = "through the proxy, both ways";
  size_t got = 0;
  SOCKET s;
  int status, n;

  start_echo();
  cr_assert_null(ts_credential_load(&cred, apr_pstrcat(tp, root,
                 "\\params\\server.key", NULL), tp));
  status = run_http(port, "POST", "/v1/model-servers", apr_psprintf(tp,
    "{\"repository\":\"echo\",\"models\":[\"echo\"],\"host\":\"localhost\","
    "\"port\":%d,\"pid\":%lu,\"license_server\":\"localhost.%d\"}",
    echo_port, (unsigned long)GetCurrentProcessId(), port),
    ts_credential_header(cred, tp), body, sizeof(body));
  cr_assert_eq(status, 201, "%s", body);
  start(1, "proxy", port + 5);

  s = connect_via("nosuch:80", &status, answer, sizeof(answer));
  cr_assert_eq(status, 404, "%s", answer);
  closesocket(s);

  s = connect_via("echo:80", &status, answer, sizeof(answer));
  cr_assert_eq(status, 200, "%s", answer);
  cr_assert_eq(send(s, msg, (int)sizeof(msg) - 1, 0), (int)sizeof(msg) - 1);
  shutdown(s, SD_SEND);                 /* the half-close */
  while ((n = recv(s, body + got, (int)(sizeof(body) - 1 - got), 0)) > 0)
    got += (size_t)n;
  body[got] = 0;
  cr_assert_eq(n, 0, "no end of the stream after the echo (%d)",
               WSAGetLastError());
  cr_assert_str_eq(body, msg);
  closesocket(s);
}
