/* fuzz_http.h: requests written like HTTP in a harness's input, for the
 * harnesses that drive a server's route tables in-process (api,
 * model_api, agent_api), and the invariants every answer keeps.
 *
 * A request is written
 *
 *   METHOD TARGET
 *   Header: value
 *
 *   body
 *
 * The target is cut at '?'; the path is percent-decoded, as
 * libmicrohttpd hands it to the server, and the rest is the query
 * (ts_http_answer_local decodes its arguments). Content-Type and
 * Authorization go to the request; every header is in the table the
 * parse returns (a harness's own, such as X-Site). Every "{name}" in
 * the path, the query, the header values and the body whose NAME is in
 * the harness's variables becomes its value: ids and tokens made by
 * earlier requests of the input, which no input could know otherwise.
 */
#ifndef FUZZ_HTTP_H
#define FUZZ_HTTP_H

#include <apr_hash.h>
#include <apr_tables.h>
#include <jansson.h>

#include "ts_httpd.h"

/* One request of TEXT (LEN bytes) into REQ (client 192.0.2.7) and its
 * *QUERY (NULL: none); *HEADERS (unless NULL) every header. VARS: name
 * (without braces) -> value, or NULL. */
void fuzz_http_parse(ts_http_request_t *req, const char **query,
                     apr_table_t **headers, const char *text,
                     apr_size_t len, apr_hash_t *vars, apr_pool_t *pool);

/* TEXT with every "{name}" of VARS replaced by its value. */
const char *fuzz_http_substitute(const char *text, apr_hash_t *vars,
                                 apr_pool_t *pool);

/* The invariants of every answer: no 500; a status, a body and a route
 * label; a 405 with Allow, a 401 with its challenge; a JSON answer is
 * JSON, an error one with a non-empty "error". */
void fuzz_http_check(const ts_http_reply_t *reply,
                     const ts_http_request_t *req);

/* The answer's body as JSON (a JSON answer, checked above), or NULL. */
json_t *fuzz_http_json(const ts_http_reply_t *reply);

#endif
