/* ts_project_records.h: the records the agents and model servers keep in
 * the project directory they work on, so that whoever looks at INOPRJ
 * (the doctor, other agents) knows who shares it and under which license
 * server.
 *
 * One small JSON file per process, written atomically (ts_file_replace)
 * by the agent or model server at its start:
 *
 *   <INOPRJ>/ivm/agents/<host>.<port>.json
 *   <INOPRJ>/ivm/modelservers/<host>.<port>.json
 *   {"version": 1, "kind": "agent"|"modelserver", "host": "lic1",
 *    "port": 17003, "os": "linux"|"windows", "account": "tessera",
 *    "inohost": "lic1.17000"}
 *
 * "os" is tsp_os_name() of the writer's machine; "inohost" the license
 * server (INOHOST) it belongs to. A model server's record adds
 *
 *   "pid": 4711, "repository": "ivr/bridge/v1" (relative to INOPRJ when
 *   inside it, else absolute), "model": "bridge", "model_version": "v1",
 *   "agent": "host:port" of the agent that started it, or null
 *
 * ("model_version", not "version": that is the record format's). Files
 * not ending in .json are not records; other fields are ignored (a later
 * version may add some), and records without them are read as before.
 */
#ifndef TS_PROJECT_RECORDS_H
#define TS_PROJECT_RECORDS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "ts_error.h"

/* The kinds of record, and the directory below INOPRJ each lives in. */
#define TS_PROJECT_AGENT "agent"              /* ivm/agents */
#define TS_PROJECT_MODELSERVER "modelserver"  /* ivm/modelservers */

typedef struct ts_project_record_t {
  const char *path;      /* the record's file */
  const char *kind;      /* TS_PROJECT_AGENT or TS_PROJECT_MODELSERVER */
  const char *host;      /* a missing string field reads "?" */
  long port;
  const char *os;        /* "linux" or "windows" */
  const char *account;   /* the account the process runs as */
  const char *inohost;   /* its license server, "<host>.<port>" */
  /* model servers' (NULL, 0 where a record has none) */
  long pid;
  const char *repository;
  const char *model, *model_version;
  const char *agent;     /* "<host>:<port>", or NULL */
} ts_project_record_t;

/* A file in a record directory that is no usable record. */
typedef struct ts_project_reject_t {
  const char *path;
  const char *why;       /* says what is wrong, naming PATH, for people
                            (in the language of ts_i18n.h) */
  int malformed;         /* readable, but not a version-1 record: removing
                            it is safe (its writer writes it again) */
} ts_project_reject_t;

/* Read the records of KIND in INOPRJ: *RECORDS (of ts_project_record_t)
 * the usable ones, *REJECTS (of ts_project_reject_t) the files that
 * could not be read or are not version-1 records, both in RESULT_POOL
 * (and both empty when the record directory does not exist). A record
 * directory that exists but cannot be listed is an error naming it; the
 * arrays are empty then. */
ts_error_t *ts_project_records_read(apr_array_header_t **records,
                                    apr_array_header_t **rejects,
                                    const char *inoprj, const char *kind,
                                    apr_pool_t *result_pool,
                                    apr_pool_t *scratch_pool);

/* Write REC (its kind, host, port, os, account, inohost and those of the
 * model servers' fields that are set) as INOPRJ/ivm/<agents|
 * modelservers>/<host>.<port>.json, atomically, making the directories;
 * *PATH gets the file. */
ts_error_t *ts_project_record_write(const char **path, const char *inoprj,
                                    const ts_project_record_t *rec,
                                    apr_pool_t *pool);

#endif
