/* run.h: run a real program as a user would, and collect what it says.
 * Portable (APR processes), so the Linux and the Windows end-to-end tests
 * share it. */
#ifndef TESTS_RUN_H
#define TESTS_RUN_H

#include <stddef.h>
#include <apr_thread_proc.h>

typedef struct run_result_t {
  int status;      /* exit status; 128 + signal when killed */
  char *out;       /* stdout, NUL-terminated, malloc'ed */
  char *err;       /* stderr */
} run_result_t;

/* Run ARGV (NULL-terminated; argv[0] the program's path) with ENV
 * (NULL-terminated "NAME=value" entries replacing the whole environment),
 * as the account USER unless it is NULL (Linux, as root only), with stdin
 * from the null device. Aborts the test on a failure to start. */
run_result_t run(const char *const *argv, const char *const *env,
                 const char *user);

void run_free(run_result_t *r);

/* A TCP port P, with P+1..P+5 also free now (a server with its bus and
 * hub fits), below the ephemeral port ranges. */
int run_free_port(void);

/* An environment for run(): the variables named in KEEP, copied from ours,
 * plus EXTRA ("NAME=value") when not NULL. Valid until the next call. */
const char *const *run_env(const char *const *keep, const char *extra);

/* One HTTP/1.1 request to 127.0.0.1:PORT on a new connection, with the
 * JSON body JSON (or none) and the extra header lines HEADERS ("Name:
 * value\r\n"..., or NULL; a Content-Type there replaces the default
 * application/json). Returns the status (-1: no answer); the body
 * goes to BODY when it is not NULL. */
int run_http(int port, const char *method, const char *path,
             const char *json, const char *headers, char *body,
             size_t body_size);

/* The same to ADDRESS, an address of this machine ("127.0.0.1", "::1"),
 * from that address. */
int run_http_at(const char *address, int port, const char *method,
                const char *path, const char *json, const char *headers,
                char *body, size_t body_size);

/* The same without a body, the answer's status line and headers going to
 * HEAD (the Allow of a 405, the WWW-Authenticate of a 401, ...). */
int run_http_headers(int port, const char *method, const char *path,
                     char *head, size_t head_size);

/* The same from the local address SOURCE (e.g. "127.0.0.7": a client of
 * its own), the whole answer, status line, headers and body, going to
 * ANSWER. */
int run_http_from(const char *source, int port, const char *method,
                  const char *path, const char *json, const char *headers,
                  char *answer, size_t answer_size);

/* Start ARGV with ENV in the background, stdin from the null device and
 * its output into ERRFILE (or inherited when NULL). */
void run_start(apr_proc_t *proc, const char *const *argv,
               const char *const *env, const char *errfile,
               apr_pool_t *pool);

/* PATH's text (at most 1 MiB, "" when it cannot be read), malloc'ed; and
 * PATH written with TEXT (the test fails when it cannot be). */
char *run_read_file(const char *path);
void run_write_file(const char *path, const char *text);

#endif
