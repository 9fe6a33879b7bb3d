/* proxy_fixture.h: the proxy (`tesserad proxy`, p+5) beside the real
 * license server of license_fixture.h (Linux), for test_proxy.c and
 * test_proxy_load.c: the proxy started on its own INOLIC (a tessera.xml
 * naming the machine "localhost"), raw CONNECTs as a client sends them,
 * and model servers of the test's own that answer every connection the
 * same way (an echo, a source of bytes), registered with the license
 * server as real model servers register. */
#ifndef TESTS_PROXY_FIXTURE_H
#define TESTS_PROXY_FIXTURE_H

#include <sys/types.h>

#include "license_fixture.h"

extern pid_t proxy;             /* tesserad proxy, once started */
extern int proxy_port;          /* p+5 */
extern const char *proxy_lic;   /* ROOT/plic: the proxy machine's INOLIC */

/* Set up the license server's directory with LICENSE_CONFIG (probe every
 * second, the rest as given) and start it; the proxy machine's INOLIC
 * gets PROXY_CONFIG (NULL: listen on 127.0.0.1, machine "localhost",
 * heartbeat every second). NAME: the test's directory. */
void pf_setup(const char *name, const char *license_config,
              const char *proxy_config);
void pf_teardown(void);

/* The proxy's environment: the license fixture's with INOLIC=proxy_lic
 * and, unless NULL, INOPRJ=PRJ. */
const char *const *pf_env(const char *prj);

/* Start tesserad proxy with ENV_ (NULL: pf_env(NULL); through /bin/sh
 * with `ulimit -n FDS` when FDS > 0) and wait for /health on p+5; the
 * test fails unless it serves. */
void pf_start_proxy(const char *const *env_, int fds);

/* `CONNECT TARGET HTTP/1.1` from SOURCE (a local address, NULL:
 * 127.0.0.1) to the proxy: the status (-1: no answer); the answer's body
 * into BODY (SIZE bytes) when not NULL. *FD (when not NULL) keeps the
 * connection open (a tunnel after a 200), else it is closed. */
int pf_connect(const char *source, const char *target, int *fd, char *body,
               size_t size);

/* A server of the test on 127.0.0.1 that serves each connection on a
 * thread of its own: an echo (what it reads it writes back; the end of
 * the client's stream ends its own once everything is written back), or
 * a source that writes BYTES and then closes, its socket's writes timing
 * out after a second (then it stops: *BLOCKED set). Its port. S must
 * outlive the test's function (static): its threads serve until the
 * process ends, the license server's probes too. */
typedef struct pf_server_t {
  int port;
  int fd;
  int source;                   /* 0: echo */
  long long bytes;              /* a source's total */
  volatile long long sent;      /* what the source wrote so far */
  volatile int blocked;         /* its write stood still a second */
  volatile int connections;     /* accepted so far */
} pf_server_t;

void pf_server_start(pf_server_t *s, int source, long long bytes);
void pf_server_stop(pf_server_t *s);

/* Register S with the license server as the model server of repository
 * NAME with the model NAME on machine HOST (as a model server does:
 * POST /v1/model-servers with the server credential). */
void pf_register(const pf_server_t *s, const char *name, const char *host);

/* Wait up to SECONDS for the proxy's /metrics to contain LINE; whether
 * it did. The last text into BODY when not NULL. */
int pf_metric_wait(const char *line, int seconds, char *body, size_t size);

/* The proxy's resident memory (VmRSS, KiB). */
long pf_rss_kib(void);

#endif
