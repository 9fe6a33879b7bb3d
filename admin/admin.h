/* admin.h: what the commands of tessera-admin share.
 *
 * Each command is a function that parses its own options and returns a
 * ts_error_t; main() turns the error into a message on stderr and a
 * sysexits status, and is the only place that decides the exit code.
 */
#ifndef ADMIN_H
#define ADMIN_H

#include <apr_getopt.h>
#include <apr_pools.h>
#include <jansson.h>

#include "ts_error.h"
#include "ts_i18n.h"
#include "tsp.h"

typedef struct admin_ctx_t {
  apr_pool_t *pool;
  int argc;                 /* the command's own arguments, argv[0] is */
  const char *const *argv;  /* the command name */
  const char *program;      /* "tessera-admin" */
  int exit_status;          /* set by a command that succeeds partly */
} admin_ctx_t;

ts_error_t *admin_cmd_env(admin_ctx_t *ctx);
ts_error_t *admin_cmd_ports(admin_ctx_t *ctx);
ts_error_t *admin_cmd_service(admin_ctx_t *ctx);
ts_error_t *admin_cmd_doctor(admin_ctx_t *ctx);
ts_error_t *admin_cmd_project(admin_ctx_t *ctx);
ts_error_t *admin_cmd_license(admin_ctx_t *ctx);
ts_error_t *admin_cmd_status(admin_ctx_t *ctx);
ts_error_t *admin_cmd_sessions(admin_ctx_t *ctx);
ts_error_t *admin_cmd_models(admin_ctx_t *ctx);
ts_error_t *admin_cmd_credential(admin_ctx_t *ctx);
ts_error_t *admin_cmd_notify(admin_ctx_t *ctx);

/* `license import FILE [--project V] [--password-stdin]`
 * (cmd_license_import.c). */
ts_error_t *admin_license_import(admin_ctx_t *ctx, const char *file,
                                 const char *project, int password_stdin);

/* The license server INOHOST names. */
ts_error_t *admin_license_server(const char **host, int *port,
                                 apr_pool_t *pool);

/* A request to the license server (ts_http_call) whose failure to answer
 * says what to check. */
ts_error_t *admin_http(int *status, const char **body, const char *host,
                       int port, const char *method, const char *path,
                       const char *json, const char *headers,
                       apr_pool_t *pool);

/* *HEADER: "Authorization: Basic ...\r\n" for the administrator *AS (NULL:
 * this account's name, which *AS then receives) with the password read
 * from the terminal, or one line of standard input with FROM_STDIN. */
ts_error_t *admin_password_header(const char **header, const char **as,
                                  int from_stdin, apr_pool_t *pool);

/* The license server's answer CODE, BODY refusing a request, as an error
 * (404 TS_ENOENT, 401 and 403 TS_EPERM, else TS_EUNAVAIL) with the
 * server's "error"; the caller wraps it saying what was refused. */
ts_error_t *admin_refused(int code, const char *body);

/* Every live session of the license server on HOST:PORT, page by page,
 * as one JSON array (*SESSIONS, a new reference). */
ts_error_t *admin_sessions_get(json_t **sessions, const char *host,
                               int port, apr_pool_t *pool);

/* Parse options of one (sub)command. OPTS ends with a { NULL } entry. On
 * return *OS points past the options; a bad option is a TS_EUSAGE error
 * naming it and USAGE. Interleaved operands are allowed. */
ts_error_t *admin_getopt_init(apr_getopt_t **os, admin_ctx_t *ctx,
                              int argc, const char *const *argv);
ts_error_t *admin_usage_error(const char *usage, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));

/* FMT, a literal marked N_(), in English (LOCAL 0) or in the language
 * spoken (LOCAL 1): for a text made in both languages where an argument
 * differs by language (admin_error_texts). */
#define ADMIN_TEXT(local, fmt) ((local) ? _(fmt) : (fmt))

/* An error of CODE saying ENGLISH, and LOCAL to people; after FIRST's text
 * and a new line when FIRST is given (FIRST is cleared). */
ts_error_t *admin_error_texts(ts_errcode_t code, ts_error_t *first,
                              const char *english, const char *local);

/* SOURCE as a label for people ("user file", ...), in their language. */
const char *admin_source_label(tsp_source_t source);

/* Open the settings store (ts_settings_open_store). */
ts_error_t *admin_open_store(tsp_settings_t **store, apr_pool_t *pool);

/* Print JSON to stdout, pretty and with a newline; takes the reference. */
void admin_print_json(json_t *json);

#endif
