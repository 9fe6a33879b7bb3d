/* sse_client.h: a subscriber of the notification service's event stream
 * (GET /v1/events on p+4) as a program would be one, over a plain socket,
 * and a publisher on the bus as Tessera's servers publish (libmosquitto,
 * the server credential's bus password), for test_notify.c. Every wait
 * polls with a deadline. */
#ifndef TESTS_SSE_CLIENT_H
#define TESTS_SSE_CLIENT_H

#include <stddef.h>

typedef struct sse_t {
  int fd;
  int status;             /* the answer's status */
  char *buf;              /* what arrived, head and stream, NUL-ended */
  size_t len, cap;
  size_t body;            /* where the stream begins in BUF */
} sse_t;

/* GET /v1/events?QUERY (QUERY may be NULL) on 127.0.0.1:PORT with the
 * extra header lines HEADERS (or NULL), reading until the answer's head
 * is in (at most 5 s); RCVBUF > 0 makes the socket's receive buffer that
 * small (a subscriber that will not read). The test fails when no head
 * arrives. */
void sse_open(sse_t *s, int port, const char *query, const char *headers,
              int rcvbuf);

/* Read until WANT is in the stream (after the head) or SECONDS passed;
 * whether it is. */
int sse_wait(sse_t *s, const char *want, int seconds);

/* Read until the server closed the connection or SECONDS passed; whether
 * it closed. */
int sse_wait_closed(sse_t *s, int seconds);

/* The id of the first event whose frame contains WANT, or 0. */
unsigned long long sse_id_of(const sse_t *s, const char *want);

/* How many times WANT is in the stream. */
int sse_count(const sse_t *s, const char *want);

void sse_close(sse_t *s);

/* ---- the bus ------------------------------------------------------------ */

/* Connect to the bus on BUS_PORT as Tessera's servers do, with the
 * credential CREDENTIAL_FILE; the test fails unless it connects within
 * 10 s. */
void bus_pub_open(int bus_port, const char *credential_file);

/* Publish PAYLOAD on tessera/v1/TOPIC (not retained; QoS 1). */
void bus_pub(const char *topic, const char *payload);

/* Wait until everything published went out (at most SECONDS). */
int bus_pub_flush(int seconds);

void bus_pub_close(void);

#endif
