#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* strcasestr */
#endif
/* model_bench.c: the helper of tests/bench/model_bench.sh (prints
 * figures, asserts nothing). Built with the tests (it makes repositories
 * with core/repo), run by the script.
 *
 * Usage:
 *   model_bench fill DIR N PRODUCT
 *       a repository in DIR (empty) with N elements: ts_repo_create, then
 *       one SQLite transaction of N INSERTs into its own elements table
 *       (a forest of 10 roots, every other element the child of id/10;
 *       properties a JSON object of about 150 bytes); prints the time.
 *   model_bench health PORT RECORD SECONDS
 *       polls every millisecond until GET /health on PORT answers 200 and
 *       the file RECORD exists; prints both moments (the epoch, seconds),
 *       "health=T1 record=T2", or fails after SECONDS.
 *   model_bench http PORT CLIENTS SECONDS read|write|health N
 *       CLIENTS threads, each with its own session (POST /v1/sessions) on
 *       one keep-alive connection: read = GET /v1/elements/<random id of
 *       1..N>; write = PUT /v1/elements/<its own id> with the revision it
 *       holds and new properties (each answer is a committed change);
 *       health = GET /health (the HTTP layer alone, for scale).
 *   model_bench sqlite DB CLIENTS SECONDS read|write N
 *       the same work against the repository file DB with SQLite alone:
 *       CLIENTS threads, each with its own connection (WAL,
 *       synchronous=FULL, as core/repo's); read = the SELECT of one
 *       element by id; write = the model server's UPDATE of one element,
 *       each its own committed transaction (autocommit).
 *   http and sqlite print "ops_per_s=R p50_ms=A p99_ms=B errors=E".
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <sqlite3.h>
#include <apr_general.h>

#include "ts_repo.h"

static int port, seconds, writing, health_only;
static long elements;
static const char *dbfile;
static volatile int stop;

typedef struct worker_t {
  pthread_t thread;
  int index;
  double *lat;
  long n, cap, errors;
} worker_t;

static double
now(clockid_t clock)
{
  struct timespec ts;

  clock_gettime(clock, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
record(worker_t *w, double t0)
{
  if (w->n == w->cap) {
    w->cap = w->cap ? w->cap * 2 : 4096;
    w->lat = realloc(w->lat, (size_t)w->cap * sizeof(double));
  }
  w->lat[w->n++] = now(CLOCK_MONOTONIC) - t0;
}

/* xorshift64: a random element id of 1..ELEMENTS. */
static long
pick(unsigned long *state)
{
  *state ^= *state << 13;
  *state ^= *state >> 7;
  *state ^= *state << 17;
  return 1 + (long)(*state % (unsigned long)elements);
}

/* The properties of element I, version REV (about 150 bytes). */
static void
properties(char *out, size_t cap, long i, long rev)
{
  static const char *const materials[] = { "concrete", "steel", "timber",
                                           "glass", "brick" };

  snprintf(out, cap, "{\"guid\":\"%08lx-%04lx-4e1d-9b3a-%012lx\","
           "\"layer\":\"L%02ld\",\"material\":\"%s\",\"height\":%.2f,"
           "\"width\":%.2f,\"fire_rating\":\"F90\",\"cost\":%ld}",
           ((unsigned long)i * 2654435761ul) & 0xffffffffu,
           (unsigned long)rev & 0xffff, (unsigned long)i, i % 40,
           materials[i % 5], 2.5 + (i % 7) * 0.25, 0.2 + (i % 5) * 0.1,
           100 + i % 997 + rev);
}

static const char *const types[] = { "wall", "slab", "door", "window",
                                     "beam", "column", "space", "storey" };

/* ---- fill ---------------------------------------------------------------- */

static int
fill(const char *dir, long n, const char *product)
{
  apr_pool_t *pool;
  ts_repo_meta_t meta = { "bench", "v1", product, 0 };
  ts_error_t *err;
  sqlite3 *db;
  sqlite3_stmt *q;
  char db_path[4096], props[256], name[64];
  double t0 = now(CLOCK_MONOTONIC);
  int rc;

  apr_pool_create(&pool, NULL);
  if ((err = ts_repo_create(dir, &meta, pool))) {
    fprintf(stderr, "%s\n", ts_error_text(err, pool));
    return 1;
  }
  snprintf(db_path, sizeof(db_path), "%s/%s", dir, TS_REPO_DB);
  rc = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(db, "INSERT INTO elements (id, type, name, "
                            "parent, revision, properties) VALUES (?1, ?2, "
                            "?3, ?4, 1, ?5)", -1, &q, NULL);
  for (long i = 1; rc == SQLITE_OK && i <= n; i++) {
    const char *type = types[i % 8];
    snprintf(name, sizeof(name), "%s-%ld", type, i);
    properties(props, sizeof(props), i, 1);
    sqlite3_bind_int64(q, 1, i);
    sqlite3_bind_text(q, 2, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 3, name, -1, SQLITE_STATIC);
    if (i >= 10)
      sqlite3_bind_int64(q, 4, i / 10);
    else
      sqlite3_bind_null(q, 4);
    sqlite3_bind_text(q, 5, props, -1, SQLITE_STATIC);
    rc = sqlite3_step(q) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    sqlite3_reset(q);
  }
  sqlite3_finalize(q);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec(db, "COMMIT; PRAGMA wal_checkpoint(TRUNCATE)", NULL,
                      NULL, NULL);
  if (rc != SQLITE_OK) {
    fprintf(stderr, "model_bench: cannot fill %s: %s\n", db_path,
            sqlite3_errmsg(db));
    return 1;
  }
  sqlite3_close(db);
  printf("%ld elements in %.2f s (SQLite %s)\n", n,
         now(CLOCK_MONOTONIC) - t0, sqlite3_libversion());
  return 0;
}

/* ---- health -------------------------------------------------------------- */

static int
connect_server(void)
{
  struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
  int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(fd);
    return -1;
  }
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

/* Send REQ, read one response into BUF (CAP); its status, *BODY in BUF. */
static int
roundtrip(int fd, const char *req, size_t len, char *buf, size_t cap,
          char **body)
{
  size_t got = 0;
  char *end = NULL, *cl;
  long clen = 0;
  int status = -1;

  if (write(fd, req, len) != (ssize_t)len)
    return -1;
  while (!end) {
    ssize_t n = read(fd, buf + got, cap - 1 - got);
    if (n <= 0)
      return -1;
    got += (size_t)n;
    buf[got] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  sscanf(buf, "HTTP/1.%*d %d", &status);
  if ((cl = strcasestr(buf, "Content-Length:")) && cl < end)
    clen = atol(cl + 15);
  end += 4;
  while ((long)(got - (size_t)(end - buf)) < clen) {
    ssize_t n = read(fd, buf + got, cap - 1 - got);
    if (n <= 0)
      return -1;
    got += (size_t)n;
  }
  buf[got] = '\0';
  if (body)
    *body = end;
  return status;
}

static int
health(const char *record_file, int limit)
{
  static const char get[] = "GET /health HTTP/1.1\r\nHost: x\r\n"
                            "Connection: close\r\n\r\n";
  double t_health = 0, t_record = 0, deadline = now(CLOCK_MONOTONIC) + limit;
  char buf[8192];

  while (!t_health || !t_record) {
    if (!t_health) {
      int fd = connect_server();
      if (fd >= 0 && roundtrip(fd, get, sizeof(get) - 1, buf, sizeof(buf),
                               NULL) == 200)
        t_health = now(CLOCK_REALTIME);
      if (fd >= 0)
        close(fd);
    }
    if (!t_record && access(record_file, F_OK) == 0)
      t_record = now(CLOCK_REALTIME);
    if (now(CLOCK_MONOTONIC) > deadline) {
      fprintf(stderr, "model_bench: no answer from /health on port %d "
              "(%s) or no record %s (%s) within %d s\n", port,
              t_health ? "answered" : "none", record_file,
              t_record ? "written" : "none", limit);
      return 1;
    }
    if (!t_health || !t_record)
      usleep(1000);
  }
  printf("health=%.6f record=%.6f\n", t_health, t_record);
  return 0;
}

/* ---- http ---------------------------------------------------------------- */

/* Say once why a request failed. */
static void
complain(const char *what, int status, const char *body)
{
  static int said;

  if (__atomic_exchange_n(&said, 1, __ATOMIC_RELAXED))
    return;
  if (status < 0)
    fprintf(stderr, "model_bench: %s on port %d: the connection broke\n",
            what, port);
  else
    fprintf(stderr, "model_bench: %s on port %d: HTTP %d %.300s\n", what,
            port, status, body);
}

/* A session on FD: its token into TOKEN (65 bytes); 0 when refused. */
static int
open_session(int fd, char *token)
{
  static const char json[] = "{\"user\":\"bench\",\"host\":\"loopback\","
                             "\"pid\":1,\"application\":\"model_bench\"}";
  char req[512], buf[8192], *body, *t;
  size_t len = (size_t)snprintf(req, sizeof(req), "POST /v1/sessions "
    "HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    "Content-Length: %zu\r\n\r\n%s", strlen(json), json);

  int status = roundtrip(fd, req, len, buf, sizeof(buf), &body);

  if (status == 201 && (t = strstr(body, "\"token\":\""))
      && sscanf(t + 9, "%64[0-9a-f]", token) == 1)
    return 1;
  complain("POST /v1/sessions", status, status < 0 ? "" : body);
  return 0;
}

/* The revision of element ID, read over FD as TOKEN; 0 on failure. */
static long
revision_of(int fd, const char *token, long id)
{
  char req[512], buf[8192], *body, *r;
  size_t len = (size_t)snprintf(req, sizeof(req), "GET /v1/elements/%ld "
    "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n", id, token);

  int status = roundtrip(fd, req, len, buf, sizeof(buf), &body);

  if (status == 200 && (r = strstr(body, "\"revision\":")))
    return atol(r + 11);
  complain("GET /v1/elements/<id>", status, status < 0 ? "" : body);
  return 0;
}

static void *
work_http(void *arg)
{
  worker_t *w = arg;
  char token[65], req[1024], props[256], json[512], buf[16384], *body;
  unsigned long rng = 0x9e3779b97f4a7c15ul * (unsigned long)(w->index + 1);
  long id = w->index + 1, rev = 0;
  int fd = connect_server();

  if (fd < 0 || !open_session(fd, token)
      || (writing && !(rev = revision_of(fd, token, id)))) {
    w->errors++;
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  while (!stop) {
    double t0 = now(CLOCK_MONOTONIC);
    int status;
    size_t len;
    if (writing) {
      properties(props, sizeof(props), id, rev + 1);
      snprintf(json, sizeof(json), "{\"revision\":%ld,\"properties\":%s}",
               rev, props);
      len = (size_t)snprintf(req, sizeof(req), "PUT /v1/elements/%ld "
        "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: "
        "application/json\r\nContent-Length: %zu\r\n\r\n%s", id, token,
        strlen(json), json);
    }
    else if (health_only)
      len = (size_t)snprintf(req, sizeof(req), "GET /health HTTP/1.1\r\n"
                             "Host: x\r\n\r\n");
    else
      len = (size_t)snprintf(req, sizeof(req), "GET /v1/elements/%ld "
        "HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n",
        pick(&rng), token);
    status = roundtrip(fd, req, len, buf, sizeof(buf), &body);
    if (status != 200 || (!health_only && !strstr(body, "\"revision\":"))) {
      if (!stop)
        complain(writing ? "PUT /v1/elements/<id>" : "GET /v1/elements/<id>",
                 status, status < 0 ? "" : body);
      w->errors++;
      break;   /* a broken connection or a refusal: this client is done */
    }
    rev++;
    record(w, t0);
  }
  close(fd);
  return NULL;
}

/* ---- sqlite alone -------------------------------------------------------- */

static void *
work_sqlite(void *arg)
{
  worker_t *w = arg;
  unsigned long rng = 0x9e3779b97f4a7c15ul * (unsigned long)(w->index + 1);
  long id = w->index + 1, rev = 0;
  char props[256], name[64];
  const char *type = types[id % 8];
  sqlite3 *db;
  sqlite3_stmt *get = NULL, *put = NULL;
  int rc = sqlite3_open_v2(dbfile, &db, SQLITE_OPEN_READWRITE
                           | SQLITE_OPEN_NOMUTEX, NULL);

  if (rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, 60000);
    rc = sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL",
                      NULL, NULL, NULL);
  }
  if (rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(db, "SELECT id, type, name, parent, revision, "
                            "properties FROM elements WHERE id = ?1", -1,
                            &get, NULL);
  if (rc == SQLITE_OK)   /* the model server's (core/repo/ts_elements_sql.c) */
    rc = sqlite3_prepare_v2(db, "UPDATE elements SET type = ?2, name = ?3, "
                            "parent = ?4, revision = ?5, properties = ?6 "
                            "WHERE id = ?1", -1, &put, NULL);
  if (rc == SQLITE_OK && writing) {
    sqlite3_bind_int64(get, 1, id);
    rc = sqlite3_step(get) == SQLITE_ROW ? SQLITE_OK : SQLITE_ERROR;
    rev = sqlite3_column_int64(get, 4);
    sqlite3_reset(get);
  }
  snprintf(name, sizeof(name), "%s-%ld", type, id);
  while (rc == SQLITE_OK && !stop) {
    double t0 = now(CLOCK_MONOTONIC);
    if (writing) {
      properties(props, sizeof(props), id, rev + 1);
      sqlite3_bind_int64(put, 1, id);
      sqlite3_bind_text(put, 2, type, -1, SQLITE_STATIC);
      sqlite3_bind_text(put, 3, name, -1, SQLITE_STATIC);
      if (id >= 10)
        sqlite3_bind_int64(put, 4, id / 10);
      else
        sqlite3_bind_null(put, 4);
      sqlite3_bind_int64(put, 5, rev + 1);
      sqlite3_bind_text(put, 6, props, -1, SQLITE_STATIC);
      rc = sqlite3_step(put) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
      sqlite3_reset(put);
      rev++;
    }
    else {
      sqlite3_bind_int64(get, 1, pick(&rng));
      rc = sqlite3_step(get) == SQLITE_ROW
           && sqlite3_column_text(get, 5) ? SQLITE_OK : SQLITE_ERROR;
      sqlite3_reset(get);
    }
    if (rc == SQLITE_OK)
      record(w, t0);
  }
  if (rc != SQLITE_OK) {
    fprintf(stderr, "model_bench: SQLite on %s: %s\n", dbfile,
            sqlite3_errmsg(db));
    w->errors++;
  }
  sqlite3_finalize(get);
  sqlite3_finalize(put);
  sqlite3_close(db);
  return NULL;
}

/* ---- running the clients ------------------------------------------------- */

static int
cmp(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;

  return x < y ? -1 : x > y;
}

static int
run(int clients, void *(*fn)(void *))
{
  worker_t *w = calloc((size_t)clients, sizeof(*w));
  pthread_attr_t attr;
  long total = 0, errors = 0, k = 0;
  double *all, t0, t1;

  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 512 * 1024);
  t0 = now(CLOCK_MONOTONIC);
  for (int i = 0; i < clients; i++) {
    w[i].index = i;
    pthread_create(&w[i].thread, &attr, fn, &w[i]);
  }
  for (int i = 0; i < seconds * 100; i++)
    usleep(10000);
  stop = 1;
  for (int i = 0; i < clients; i++) {
    pthread_join(w[i].thread, NULL);
    total += w[i].n;
    errors += w[i].errors;
  }
  t1 = now(CLOCK_MONOTONIC);
  all = malloc((size_t)(total ? total : 1) * sizeof(double));
  for (int i = 0; i < clients; i++)
    for (long j = 0; j < w[i].n; j++)
      all[k++] = w[i].lat[j];
  qsort(all, (size_t)total, sizeof(double), cmp);
  printf("ops_per_s=%.0f p50_ms=%.3f p99_ms=%.3f errors=%ld\n",
         total / (t1 - t0), total ? all[total / 2] * 1e3 : 0,
         total ? all[(long)(total * 0.99)] * 1e3 : 0, errors);
  return 0;
}

int
main(int argc, const char *const *argv)
{
  const char *usage = "usage: model_bench fill DIR N PRODUCT | health PORT "
                      "RECORD SECONDS | http PORT CLIENTS SECONDS "
                      "read|write|health N | sqlite DB CLIENTS SECONDS "
                      "read|write N\n";

  apr_app_initialize(&argc, &argv, NULL);
  if (argc == 5 && strcmp(argv[1], "fill") == 0)
    return fill(argv[2], atol(argv[3]), argv[4]);
  if (argc == 5 && strcmp(argv[1], "health") == 0) {
    port = atoi(argv[2]);
    return health(argv[3], atoi(argv[4]));
  }
  if (argc == 7 && (strcmp(argv[1], "http") == 0
                    || strcmp(argv[1], "sqlite") == 0)) {
    port = atoi(argv[2]);
    dbfile = argv[2];
    seconds = atoi(argv[4]);
    writing = strcmp(argv[5], "write") == 0;
    health_only = strcmp(argv[5], "health") == 0 && argv[1][0] == 'h';
    elements = atol(argv[6]);
    if (elements < atoi(argv[3])
        || (!writing && !health_only && strcmp(argv[5], "read")))
      return fputs(usage, stderr), 64;
    return run(atoi(argv[3]), argv[1][0] == 'h' ? work_http : work_sqlite);
  }
  fputs(usage, stderr);
  return 64;
}
