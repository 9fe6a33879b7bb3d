/* ts_config.h: tessera.xml, the servers' configuration (SPEC §5), checked
 * against config/tessera.xsd (compiled in). The file lives in INOLIC; a
 * missing file means the defaults (every option has one). Blueprints:
 * config/blueprints/tessera-minimal.xml and tessera-full.xml. */
#ifndef TS_CONFIG_H
#define TS_CONFIG_H

#include <apr_tables.h>
#include "ts_error.h"

typedef enum ts_bus_start_t {
  TS_BUS_AUTO,        /* child outside the service manager, else external */
  TS_BUS_CHILD,       /* always a child of the license server */
  TS_BUS_EXTERNAL     /* its own service (`tesserad bus`) or another broker */
} ts_bus_start_t;

typedef struct ts_project_t {
  const char *version;          /* ##.# */
  int port;                     /* p' */
  int line;                     /* in the file, for messages */
} ts_project_t;

typedef struct ts_endpoint_t {
  const char *address;          /* IPv4, IPv6 or a host name */
  int port;
  int line;
} ts_endpoint_t;

/* Twin mode (SPEC §7): the other front and the three state backends. */
typedef struct ts_twin_t {
  ts_endpoint_t peer;
  int connect_timeout_seconds, transfer_timeout_seconds;
  ts_endpoint_t backends[3];
  int retry_seconds;
  int line;
} ts_twin_t;

/* <model-servers><repository path port/>: the model server of the
 * repository PATH (relative to INOPRJ, or absolute) always takes PORT. */
typedef struct ts_fixed_port_t {
  const char *path;
  int port;
  int line;
} ts_fixed_port_t;

/* <notify>: the notification service's mail part (tesserad notify). */
typedef struct ts_notify_config_t {
  const char *smtp_host;        /* <smtp host>; NULL: no <smtp>, so no
                                   mail goes out (the queue is kept) */
  int smtp_port;
  const char *from;             /* the sender's address */
  int starttls;                 /* 1: required; 0: none (in clear) */
  const char *user;             /* SMTP AUTH, or NULL */
  const char *password_file;    /* absolute (made so from the file's
                                   directory), or NULL */
  int timeout_seconds;          /* one delivery attempt at most */
  int digest_hour;              /* 0..23, local time */
  int retry_seconds;            /* the first wait after a failed attempt */
  int retry_max_seconds;        /* the longest wait */
  int line;                     /* of <smtp> (or <notify>), for messages */
} ts_notify_config_t;

typedef struct ts_config_t {
  const char *path;             /* the file read; NULL: defaults */
  apr_array_header_t *listen;   /* of const char *; empty: every address */
  int lease_seconds;
  int probe_seconds, gone_after_seconds;
  ts_bus_start_t bus_start;
  const char *bus_program;
  int bus_persistence;
  int audit;
  apr_array_header_t *projects; /* of ts_project_t */
  ts_twin_t *twin;              /* NULL: a single license server */
  const char *machine;          /* <machine name>: this machine's name in
                                   the agent's and model servers' records
                                   and registrations; NULL: its host
                                   name */
  int model_max;                /* model servers bind p+6..p+5+max */
  int session_idle_seconds;     /* a model server's session ends after */
  int close_idle_seconds;       /* a version nobody uses closes; 0: never */
  int heartbeat_seconds;        /* a model server's to its license server */
  apr_array_header_t *fixed_ports;  /* of ts_fixed_port_t: repositories
                                       whose model server takes a port of
                                       its own */
  ts_notify_config_t notify;
  int events_buffer;            /* <events buffer>: the notification
                                   service keeps as many events */
  int events_heartbeat_seconds; /* <events heartbeat-seconds> */
  int events_max_queued_kib;    /* <events max-queued-kib>: per
                                   subscriber */
  int proxy_idle_seconds;       /* <proxy idle-seconds>: a tunnel silent
                                   both ways that long is closed */
} ts_config_t;

/* The configuration file of INOLIC: INOLIC/tessera.xml. */
const char *ts_config_path(const char *inolic, apr_pool_t *pool);

/* Read PATH; a file that does not exist gives the defaults. Errors name
 * the file, line and element and what to change; an invalid file is
 * TS_ECONFIG (exit 78: the administrator must fix it), one that cannot be
 * read has the code of the failed read (e.g. TS_EPERM). */
ts_error_t *ts_config_load(ts_config_t **config, const char *path,
                           apr_pool_t *pool);

/* The configuration in TEXT (LEN bytes), read from PATH (for messages):
 * what ts_config_load does once it has read the file. */
ts_error_t *ts_config_parse(ts_config_t **config, const char *path,
                            const char *text, apr_size_t len,
                            apr_pool_t *pool);

/* What the servers need beyond the schema, for the main license
 * server's port P (from INOHOST): each project license server's
 * p'..p'+2 clear of p..p+5 and of each other; no <twin> (twin mode is not
 * available in this version); <notify><smtp> with user and password-file
 * both or neither, and retry-max-seconds not below retry-seconds. Errors
 * (TS_ECONFIG) name the file, line and element. */
ts_error_t *ts_config_check(const ts_config_t *config, int port,
                            apr_pool_t *pool);

/* The project license server for VERSION, or NULL. */
const ts_project_t *ts_config_project(const ts_config_t *config,
                                      const char *version);

#endif
