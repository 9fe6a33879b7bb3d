/* ts_models.h: the managed models of a project directory and their
 * versions on disk (SPEC §6a, §5), as the agents keep them:
 *
 *   <INOPRJ>/ivr/<model>/model.json      the managed model's settings
 *   <INOPRJ>/ivr/<model>/<version>/      a version: a repository (ts_repo.h)
 *   <INOPRJ>/readonly/<model>/<name>/    a read-only backup of a version
 *
 * model.json: {"version": 1, "model": "bridge", "product": "demo",
 * "check": "^b[0-9]+$" | null, "proposal": "b$(YYYY)$(MM)$(DD)" | null,
 * "quota_ram_mb": 512 | null, "quota_disk_mb": 1024 | null,
 * "restart": false}, written atomically; every agent sharing the INOPRJ
 * reads it, so a definition made through one agent holds for all.
 *
 * Versions appear and disappear whole: a new one (empty, or a successor
 * copied from another) and a backup are built in a directory whose name
 * begins with "." beside their place and renamed into it once complete
 * and on disk; a deleted one is renamed away before it is removed. A
 * crash at any moment leaves the old state and at most a "." directory,
 * which no listing shows and ts_models_sweep() removes.
 *
 * Names of models, versions and backups: 1..128 of A-Z a-z 0-9 . _ -,
 * not beginning with "." (what fits a directory, a URL path segment and a
 * bus topic level on every platform).
 */
#ifndef TS_MODELS_H
#define TS_MODELS_H

#include <apr_tables.h>
#include <apr_time.h>
#include "ts_error.h"

#define TS_MODELS_DIR "ivr"
#define TS_MODELS_READONLY_DIR "readonly"
#define TS_MODEL_FILE "model.json"

/* The proposal when a model has none. */
#define TS_MODEL_DEFAULT_PROPOSAL "$(YYYY)-$(MM)-$(DD)_$(hh)$(mm)$(ss)"

typedef struct ts_model_def_t {
  const char *model;
  const char *product;         /* whose seats its users take */
  const char *check;           /* the check expression (PCRE2, matched
                                  against the whole name), or NULL */
  const char *proposal;        /* the naming proposal, or NULL: the
                                  default */
  long quota_ram_mb;           /* 0: unlimited */
  long quota_disk_mb;          /* 0: unlimited */
  int restart;                 /* a crashed version is started again */
} ts_model_def_t;

/* Whether NAME is a valid model, version or backup name. */
int ts_models_valid_name(const char *name);

/* The error for a NAME that is not valid; WHAT says which ("model",
 * "version"). */
ts_error_t *ts_models_name_error(const char *what, const char *name);

/* Write DEF as INOPRJ/ivr/<model>/model.json (atomically; the directories
 * are made). An invalid name, product or check expression is TS_EINVAL
 * saying why; nothing is written then. */
ts_error_t *ts_model_define(const char *inoprj, const ts_model_def_t *def,
                            apr_pool_t *pool);

/* Read MODEL's settings: TS_ENOENT when it is not defined (saying how to
 * define it), TS_EINVAL when model.json is malformed (naming it). */
ts_error_t *ts_model_read(ts_model_def_t **def, const char *inoprj,
                          const char *model, apr_pool_t *pool);

/* Every defined model (of ts_model_def_t *), by name; models whose
 * model.json cannot be read are left out. */
ts_error_t *ts_models_list(apr_array_header_t **defs, const char *inoprj,
                           apr_pool_t *pool);

/* What the placeholders of a naming proposal stand for. */
typedef struct ts_naming_t {
  const char *source;          /* $(Source.Name): the version copied, or
                                  NULL ("") */
  const char *user;            /* $(User.Name) */
  const char *login;           /* $(User.LoginName) */
  apr_time_t now;              /* $(YYYY) ... $(ss), local time */
} ts_naming_t;

/* DEF's proposal filled in; characters a name may not hold become "_". */
const char *ts_model_propose(const ts_model_def_t *def,
                             const ts_naming_t *naming, apr_pool_t *pool);

/* NULL when NAME may name a version or backup of DEF's model; else
 * TS_EINVAL with the check expression and the proposal filled in. */
ts_error_t *ts_model_check_name(const ts_model_def_t *def, const char *name,
                                const ts_naming_t *naming, apr_pool_t *pool);

/* A version or backup on disk. */
typedef struct ts_version_t {
  const char *model, *version;
  const char *dir;             /* its repository */
  int read_only;               /* a backup under readonly/ */
} ts_version_t;

/* Every version and backup of INOPRJ (of ts_version_t), by model, then
 * versions before backups, by name. */
ts_error_t *ts_versions_list(apr_array_header_t **versions,
                             const char *inoprj, apr_pool_t *pool);

/* The directory of MODEL's VERSION (READ_ONLY: the backup). */
const char *ts_version_dir(const char *inoprj, const char *model,
                           const char *version, int read_only,
                           apr_pool_t *pool);

/* Whether the version exists (has a repository). */
int ts_version_exists(const char *inoprj, const char *model,
                      const char *version, int read_only, apr_pool_t *pool);

/* Create VERSION of DEF's model: empty, or (FROM not NULL) a successor
 * copied from FROM, which may be running. Refuses a version that exists
 * (TS_EINVAL naming it). */
ts_error_t *ts_version_create(const char *inoprj, const ts_model_def_t *def,
                              const char *version, const char *from,
                              const char *host, apr_pool_t *pool);

/* Back VERSION up as the read-only NAME under readonly/<model>/. */
ts_error_t *ts_version_backup(const char *inoprj, const ts_model_def_t *def,
                              const char *version, const char *name,
                              const char *host, apr_pool_t *pool);

/* Remove VERSION (READ_ONLY: the backup); the caller made sure it does
 * not run. HOST: this machine's name (for ts_models_sweep). */
ts_error_t *ts_version_delete(const char *inoprj, const char *model,
                              const char *version, int read_only,
                              const char *host, apr_pool_t *pool);

/* Bytes VERSION's repository takes on disk. */
ts_error_t *ts_version_size(apr_off_t *bytes, const char *inoprj,
                            const char *model, const char *version,
                            int read_only, apr_pool_t *pool);

/* Remove what an interrupted create, backup or delete of this machine
 * left: "." directories named for HOST whose process (the pid in the
 * name) no longer runs. *REMOVED: how many. */
ts_error_t *ts_models_sweep(int *removed, const char *inoprj,
                           const char *host, apr_pool_t *pool);

#endif
