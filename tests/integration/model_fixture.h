/* model_fixture.h: real model servers (`tesserad model REPOSITORY`) beside
 * the real license server of license_fixture.h (Linux), for
 * test_model_server.c and test_model_crash.c: repositories made in
 * ROOT/prj (INOPRJ) with core/repo, servers started and found by their
 * records, and the HTTP calls a client makes. */
#ifndef TESTS_MODEL_FIXTURE_H
#define TESTS_MODEL_FIXTURE_H

#include <sys/types.h>
#include <jansson.h>

#include "license_fixture.h"

#define MF_SLOTS 64

extern const char *prj;                 /* ROOT/prj, INOPRJ */
extern pid_t ms_pid[MF_SLOTS];          /* model servers, -1: none */
extern int ms_port[MF_SLOTS];

/* tessera.xml for the model tests: 127.0.0.1, seats leased for 2 s,
 * model servers probed every second and gone after 2 s, <machine name="localhost"/>,
 * <model-servers max="60" session-idle-seconds=IDLE heartbeat-seconds="1"
 * close-idle-seconds=CLOSE/>. */
const char *mf_config(int idle, int close);

/* Set up the license server's directory with CONFIG and INOPRJ, and start
 * the license server. */
void mf_setup(const char *config);
void mf_teardown(void);

/* A repository INOPRJ/ivr/bridge/NAME of PRODUCT (READ_ONLY: a backup's
 * meta); its directory. */
const char *mf_repo(const char *name, const char *product, int read_only);

/* The environment of the model servers: the license fixture's, INOPRJ,
 * and EXTRA ("NAME=value", or NULL). */
const char *const *mf_env(const char *extra);

/* Start tesserad model REPO as slot SLOT (stderr in ROOT/msSLOT.err) with
 * ENV_ (NULL: mf_env(NULL)), without waiting. */
void mf_spawn(int slot, const char *repo, const char *const *env_);

/* Wait until slot SLOT serving REPO answers /health on the port its
 * record names (ms_port[SLOT]); the test fails when it ends first or
 * takes longer than SECONDS. */
void mf_wait(int slot, const char *repo, int seconds);

/* mf_spawn and mf_wait. */
void mf_start(int slot, const char *repo);

/* End slot SLOT with SIG and wait for it. */
void mf_stop(int slot, int sig);

/* The record of the model server on PORT_ (INOPRJ/ivm/modelservers/
 * localhost.PORT_.json). */
const char *mf_record_path(int port_);

/* METHOD PATH on PORT_ with JSON (or NULL) as the session TOKEN (or
 * NULL); the status, the answer parsed into *ANSWER (json_decref it;
 * NULL when not JSON) unless ANSWER is NULL. */
int mf_call(int port_, const char *method, const char *path,
            const char *json, const char *token, json_t **answer);

/* Open a session as USER on HOST at PORT_: its token into TOKEN (65
 * bytes) and its id into ID (32); the status. */
int mf_session(int port_, const char *user, const char *host, char *token,
               char *id);

/* Create an element; its id, or the negated status when refused. */
long mf_create(int port_, const char *token, const char *type,
               const char *name, long parent, const char *properties);

/* Wait up to SECONDS for PREDICATE(BATON) to hold, polling every 20 ms;
 * whether it did. */
int mf_poll(int (*predicate)(void *baton), void *baton, int seconds);

#endif
