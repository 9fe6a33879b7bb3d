/* ts_bus.h: the bus on port p+1 (SPEC §1): an MQTT broker (mosquitto)
 * owned by one license server, and the license server's connection to it.
 *
 * The broker runs as a child of the license server outside the service
 * manager (restarted when it dies) and as its own service under it
 * (`tesserad bus`); both use ts_bus_broker_start(), which writes the
 * broker's configuration (listeners on the configured addresses only,
 * persistence off or in INOLIC/bus.<p+1>/; its configuration, password
 * file, ACL, log and pid file mosquitto.conf, mosquitto.passwd,
 * mosquitto.acl, mosquitto.log, mosquitto.pid in INOLIC/logs/bus.<p+1>/).
 *
 * Who may say what: only Tessera's servers publish, under tessera/v1/#,
 * as the user TS_BUS_SERVER_USER with the password derived from the
 * server credential (the role derives it: core/license); everyone else
 * connects without a user name and may only read tessera/v1/#. A client
 * with another user name, or a wrong password, is refused. A server's
 * client id ends in a part derived from that password, so a client
 * without the credential cannot take the server's connection over (a
 * second connection with the same id would end the first and publish its
 * last will). The broker never runs as root (tsp_helper_account).
 *
 * The client side is one thread of its own that owns the libmosquitto
 * handle: other threads hand it messages (ts_bus_publish), it connects and
 * reconnects, and publishes every retained message again after a
 * reconnect, so a restarted broker without persistence gets the whole
 * state back at once. It also hands what it hears on the topic filters a
 * server subscribed to (ts_bus_subscribe) to their callbacks, on that
 * thread. Topics: see README, "The bus".
 */
#ifndef TS_BUS_H
#define TS_BUS_H

#include <apr_tables.h>
#include <apr_time.h>
#include "ts_error.h"
#include "ts_log.h"

#define TS_BUS_TOPIC_PREFIX "tessera/v1/"

/* The bus user of Tessera's servers, the only one that may publish. */
#define TS_BUS_SERVER_USER "tessera-server"

/* How a Tessera server logs in to its bus: TS_BUS_SERVER_USER and the
 * password ts_credential_derive(credential, "bus") gives. */
typedef struct ts_bus_login_t {
  const char *username;
  const char *password;
} ts_bus_login_t;

/* ---- the broker --------------------------------------------------------- */

typedef struct ts_bus_broker_t ts_bus_broker_t;

typedef struct ts_bus_broker_options_t {
  const char *program;            /* "mosquitto", or a path */
  int port;                       /* p+1 */
  const apr_array_header_t *listen;  /* const char *; empty: every address */
  const char *logdir;             /* INOLIC/logs/bus.<p+1> */
  const char *persistence;        /* INOLIC/bus.<p+1>, or NULL: off */
  const ts_bus_login_t *server;   /* the only user its password file
                                     names: Tessera's servers */
  const char *owner;              /* the server that runs it, for its pid
                                     file and messages: "the license
                                     server on port 17000", or NULL */
} ts_bus_broker_options_t;

/* Start the broker as a supervised child (core/proc: restarted when it
 * exits, 1 s and doubling up to 30 s while it does not last 60 s, each
 * end logged with its status and the last lines of mosquitto.log; a
 * broker an earlier, killed server left behind is stopped first, while
 * the broker of a server that still runs, with the same files and port,
 * is an error naming that server and its pid); returns once the port
 * accepts connections. Its password file
 * holds OPTIONS->server's password as a salted SHA-512 hash ("$6$") when
 * the broker program checks hashes (mosquitto built with TLS, as Debian's
 * is), else as it is (the mosquitto.exe installer/windows-deps.sh builds
 * has no TLS and compares the text); either way only the broker's
 * account may read it. When this process is root the broker runs as
 * tsp_helper_account()'s account, which is given the files it reads and
 * writes and must be able to reach them (an error says which directory
 * it may not enter). A port held by another program, a broker that is
 * not installed or that exits at once are errors saying which and how to
 * fix it. */
ts_error_t *ts_bus_broker_start(ts_bus_broker_t **broker,
                                const ts_bus_broker_options_t *options,
                                ts_log_t *log, apr_pool_t *pool);

/* The bus port PORT on HOST before a broker PROGRAM with its files in
 * LOGDIR starts on it, judged once for the start and for `--check`:
 * free (NULL, *STALE 0); held by the broker an earlier run of a server
 * that has ended left behind (*STALE its pid, *LEFT_BY who left it: the
 * start stops it, ts_proc_stop_stale); else an error (TS_EUNAVAIL) that
 * names who holds it — the broker of a server that still runs, or another
 * program — and what to do. */
ts_error_t *ts_bus_broker_judge_port(long *stale, const char **left_by,
                                     const char *program,
                                     const char *logdir, const char *host,
                                     int port, ts_log_t *log,
                                     apr_pool_t *pool);

/* The broker PROGRAM (a path, or a name looked up on PATH and then in
 * /usr/sbin, /usr/local/sbin, /sbin) as *PATH; not found is an error
 * saying how to install it. PORT is for the message. */
ts_error_t *ts_bus_find_program(const char **path, const char *program,
                                int port, apr_pool_t *pool);

/* The broker's pid now (changes when it was restarted). */
long ts_bus_broker_pid(ts_bus_broker_t *broker);

/* Have the broker reopen its log (log rotation; Linux only). */
void ts_bus_broker_reopen(ts_bus_broker_t *broker);

/* Restart the broker no more (a server that stops: Ctrl-C reaches the
 * broker too, as it shares the terminal's process group). */
void ts_bus_broker_quiesce(ts_bus_broker_t *broker);

/* Stop the supervisor and the broker. */
void ts_bus_broker_stop(ts_bus_broker_t *broker);

/* ---- the client --------------------------------------------------------- */

typedef struct ts_bus_t ts_bus_t;

/* Called on the bus thread at most every 250 ms after ts_bus_touch(), and
 * at each connect before the retained messages of OWNED topics are
 * judged (so what it says there counts as this run's). */
typedef void (*ts_bus_tick_t)(void *baton, ts_bus_t *bus);

/* Connect to HOST:PORT in the background as LOGIN (NULL: anonymously,
 * which only reads), with the retained last will WILL_PAYLOAD on
 * WILL_TOPIC (published by the broker when the connection breaks without
 * a clean close). OWNED (NULL-terminated topic filters, without the
 * prefix, e.g. "products/+"; NULL: none) are the topics only this client
 * says: at each connect a retained message there that it has not said
 * since it opened (an earlier run's) is cleared with an empty one. The client id is CLIENT_ID, followed with a LOGIN by
 * "-" and 16 hex digits derived from its password (ts_bus_client_id). A
 * broker that refuses LOGIN is logged, saying how to fix it, and tried
 * again like one that is down. */
ts_error_t *ts_bus_open(ts_bus_t **bus, const char *host, int port,
                        const char *client_id, const ts_bus_login_t *login,
                        const char *will_topic,
                        const char *will_payload, const char *const *owned,
                        ts_bus_tick_t tick, void *baton, ts_log_t *log,
                        apr_pool_t *pool);

/* The client id ts_bus_open() uses for CLIENT_ID and LOGIN. */
const char *ts_bus_client_id(const char *client_id,
                             const ts_bus_login_t *login, apr_pool_t *pool);

/* A message heard on a topic filter this client subscribed to: TOPIC
 * without the prefix, PAYLOAD as it came (NUL-terminated; "" for an
 * empty one), RETAINED whether the broker sent it as a retained message
 * (one kept from before the subscription; a message published while this
 * client listens, a last will included, comes with 0). Called on the bus
 * thread: it may publish (ts_bus_publish, ts_bus_restore) but must not
 * close the bus, and should not wait long (the bus waits meanwhile). */
typedef void (*ts_bus_heard_t)(void *baton, ts_bus_t *bus, const char *topic,
                               const char *payload, int retained);

/* From now on, on this connection and every later one, hand each message
 * on FILTER (a topic filter without the prefix, e.g. "model-servers/+";
 * copied) to HEARD with BATON. What this client publishes there comes
 * back to it too (MQTT 3.1.1): HEARD tells its own messages apart. A
 * filter among the client's OWNED ones is subscribed to once. */
void ts_bus_subscribe(ts_bus_t *bus, const char *filter, ts_bus_heard_t heard,
                      void *baton);

/* Publish again, retained, what this client last said on TOPIC (the
 * prefix is prepended), or clear the topic when it said nothing there:
 * another client's message (a last will the broker published) replaced
 * the retained message of a topic this client owns. */
void ts_bus_restore(ts_bus_t *bus, const char *topic);

/* Publish PAYLOAD on TOPIC (TS_BUS_TOPIC_PREFIX is prepended). A retained
 * message equal to the last one on its topic is not sent again; an empty
 * retained one clears the topic. Never blocks on the network. */
void ts_bus_publish(ts_bus_t *bus, const char *topic, const char *payload,
                    int retain);

/* Ask for a tick (state changed). */
void ts_bus_touch(ts_bus_t *bus);

/* Events (not retained) not sent so far: published while there was no
 * connection, or while MAX_QUEUE (10000) messages waited. */
apr_uint64_t ts_bus_dropped(ts_bus_t *bus);

/* Whether the client is connected now. */
int ts_bus_connected(ts_bus_t *bus);

/* Publish FINAL_PAYLOAD retained on the will topic, then disconnect. */
void ts_bus_close(ts_bus_t *bus, const char *final_payload);

/* Connect to HOST:PORT and read the retained message on TOPIC (the prefix
 * is prepended) within TIMEOUT: *PAYLOAD, or NULL when there is none. No
 * MQTT broker there is TS_EUNAVAIL. (The doctor tells our bus from
 * another program this way.) */
ts_error_t *ts_bus_read_retained(const char **payload, const char *host,
                                 int port, const char *topic,
                                 apr_interval_time_t timeout,
                                 apr_pool_t *pool);

#endif
