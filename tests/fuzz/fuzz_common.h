/* fuzz_common.h: what the libFuzzer harnesses of tests/fuzz share.
 *
 * Each harness is one program whose LLVMFuzzerTestOneInput feeds one
 * parser of outside input through the real code path. They share: APR
 * started once, a scratch directory of the process's own (removed at
 * exit), NUL-terminated copies of the input, splitting an input into
 * parts, and the rule that nothing a harness does reaches the network
 * (getaddrinfo answers numeric addresses and "localhost" only; a harness
 * whose code calls other servers named in its input goes offline, below).
 *
 * A broken invariant is a crash: FUZZ_CHECK prints what and aborts, so
 * libFuzzer keeps the input as a finding.
 */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <apr_pools.h>
#include <apr_tables.h>

/* Start APR (once) and return the process's pool. */
apr_pool_t *fuzz_init(void);

/* A directory of this process's own (created once, removed at exit),
 * on /dev/shm when there is one: harnesses that go through files write
 * there on every input. */
const char *fuzz_scratch_dir(void);

/* DATA (SIZE bytes) as a NUL-terminated string in POOL; a NUL inside
 * ends the string early, as it would for a C caller. */
const char *fuzz_cstring(const uint8_t *data, size_t size, apr_pool_t *pool);

/* DATA split at every line that is exactly SEPARATOR ("###"), into at
 * most MAX parts (the rest joins the last); const char * in POOL, each
 * NUL-terminated, with its length in the parallel array *LENS (of
 * apr_size_t). */
apr_array_header_t *fuzz_split(apr_array_header_t **lens, const uint8_t *data,
                               size_t size, const char *separator, int max,
                               apr_pool_t *pool);

/* Write LEN bytes of DATA to PATH (created or truncated); aborts when
 * the scratch directory fails, which is no finding of the parser. */
void fuzz_write_file(const char *path, const void *data, size_t len,
                     apr_pool_t *pool);

/* Remove PATH and everything under it (links are removed, not
 * followed); nothing when it does not exist. */
void fuzz_remove_tree(const char *path);

/* From now on every outgoing TCP connection of the code under test
 * (tsp_sys.socket_connect: the HTTP client, the probes) is refused at
 * once, as by a machine where nothing listens on that port, except one to
 * PORT on a loopback address (0: none), where the harness serves
 * something of its own. For harnesses whose code asks the hosts its input
 * names (a run lock's agent, a license server): no input reaches another
 * machine or a real server of this one, and none waits for a timeout. */
void fuzz_offline(int port);

/* From now on a child process (tsp_sys.proc_create) is a broken
 * invariant: the harness made the routes that start processes
 * unreachable, and this proves it. */
void fuzz_no_processes(void);

/* A TCP port on 127.0.0.1 that nothing listens on now (the system's
 * choice of an ephemeral one), for a listener of the harness's own. */
int fuzz_free_port(void);

/* Abort with a message unless COND: the harness's invariants. */
#define FUZZ_CHECK(cond, ...) \
  do { if (!(cond)) fuzz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__); } \
  while (0)
void fuzz_fail(const char *file, int line, const char *cond,
               const char *fmt, ...)
  __attribute__((noreturn, format(printf, 4, 5)));

#endif
