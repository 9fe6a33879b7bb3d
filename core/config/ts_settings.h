/* ts_settings.h: Tessera's architecture settings (SPEC §2).
 *
 * The schema names every setting with its meaning, format, default, an
 * example, and which servers must restart after a change. Values are
 * validated here, once, for every way they can arrive (admin program,
 * installer, servers at start). Resolution combines the process
 * environment, the current user's store, the all-users store and the
 * defaults, and records for every value where it came from.
 */
#ifndef TS_SETTINGS_H
#define TS_SETTINGS_H

#include <apr_tables.h>
#include "ts_error.h"
#include "tsp.h"

typedef enum ts_setting_kind_t {
  TS_KIND_HOSTPORT,   /* <host>.<port> */
  TS_KIND_DIR,        /* an absolute directory */
  TS_KIND_LANG,       /* one of ts_settings_languages */
  TS_KIND_PORT        /* a port number */
} ts_setting_kind_t;

typedef struct ts_setting_def_t {
  const char *name;
  ts_setting_kind_t kind;
  /* MEANING, FORMAT and RESTART are for people: English, marked for the
   * catalog; show them through _() (ts_i18n.h). */
  const char *meaning;
  const char *format;     /* the accepted form */
  const char *example;    /* a good value, shown when one is refused */
  const char *restart;    /* servers to restart after a change, or NULL */
  int optional;           /* may stay unset (no default) */
} ts_setting_def_t;

/* The schema, in display order; *COUNT receives its length. */
const ts_setting_def_t *ts_settings_schema(int *count);

/* The definition of NAME, or NULL. */
const ts_setting_def_t *ts_settings_find(const char *name);

/* The interface languages INOLANG accepts, NULL-terminated. */
extern const char *const ts_settings_languages[];

/* Check VALUE for DEF on its own. The error says what is wrong, gives the
 * accepted form and a good example. */
ts_error_t *ts_setting_validate(const ts_setting_def_t *def,
                                const char *value, apr_pool_t *scratch_pool);

/* The same, only the reason: the error ts_setting_validate() wraps with
 * "invalid NAME 'VALUE'", for a sentence that names the setting
 * itself. */
ts_error_t *ts_setting_reason(const ts_setting_def_t *def,
                              const char *value, apr_pool_t *scratch_pool);

/* Split an INOHOST value into host and port, validating both: the port is
 * after the last dot and lies in TS_PORT_MIN..TS_PORT_MAX; the host is a
 * DNS name (RFC 1123 labels), an IPv4 address or an IPv6 address in
 * brackets (returned without them). */
#define TS_PORT_MIN 1024
#define TS_PORT_MAX 64000
ts_error_t *ts_inohost_parse(const char **host, int *port,
                             const char *value, apr_pool_t *pool);

/* One effective setting. */
typedef struct ts_setting_value_t {
  const ts_setting_def_t *def;
  const char *value;        /* NULL: unset, no default */
  tsp_source_t source;
  const char *location;     /* file or key it came from, or NULL */
  const char *problem;      /* why the value is invalid, or NULL; in
                               English (for logs) */
  const char *problem_message;   /* the same for people, in the language
                                    of ts_i18n.h; NULL with PROBLEM */
} ts_setting_value_t;

/* The effective settings: one ts_setting_value_t per schema entry, in
 * schema order. Later entries may depend on earlier ones (the agent port
 * defaults to the INOHOST port + 3). An invalid stored value is reported in
 * its PROBLEM field, not as an error; a store that cannot be read is an
 * error. OVERRIDE_NAME/OVERRIDE_VALUE, when not NULL, pretend that the
 * user's chosen scope held that value (used to check a change before it is
 * written). */
typedef struct ts_settings_t {
  apr_array_header_t *values;   /* of ts_setting_value_t */
} ts_settings_t;

ts_error_t *ts_settings_resolve(ts_settings_t **settings,
                                tsp_settings_t *store,
                                apr_pool_t *result_pool,
                                apr_pool_t *scratch_pool);

/* The effective entry for NAME in SETTINGS, or NULL. */
const ts_setting_value_t *ts_settings_get(const ts_settings_t *settings,
                                          const char *name);

/* The license server's port from the effective INOHOST, or 0 when INOHOST
 * is invalid. */
int ts_settings_port(const ts_settings_t *settings);

/* The language this process speaks to people (ts_i18n.h), from the
 * effective INOLANG: "en" or "de". Best effort, never an error: when the
 * store cannot be read or its value is invalid (which the commands and
 * the doctor report on their own), the INOLANG environment variable if
 * valid, else "en". */
const char *ts_settings_language(apr_pool_t *scratch_pool);

/* Speak the effective INOLANG (ts_settings_language) with the catalog
 * found beside the running program; NULL, or a warning for people when
 * the catalog is missing (English is spoken then). */
const char *ts_settings_speak(apr_pool_t *scratch_pool);

/* Validate NAME = VALUE on its own and against the other effective
 * settings, then write it to SCOPE. Nothing is written on a refusal. */
ts_error_t *ts_settings_set(tsp_settings_t *store, ts_scope_t scope,
                            const char *name, const char *value,
                            apr_pool_t *scratch_pool);

/* Remove NAME from SCOPE; *REMOVED says whether it was there. */
ts_error_t *ts_settings_unset(int *removed, tsp_settings_t *store,
                              ts_scope_t scope, const char *name,
                              apr_pool_t *scratch_pool);

/* The default of DEF given the license server port PORT (0 if unknown),
 * or NULL when it has none. */
const char *ts_settings_default(const ts_setting_def_t *def, int port,
                                apr_pool_t *pool);

/* Open the settings store at its real place, unless TESSERA_SYSCONFDIR
 * (instead of /etc) or TESSERA_REGISTRY_KEY (instead of
 * Software\Tessera\<major.minor>) move it, for packaging and tests. Every
 * program opens the store this way, so they all agree where it is. */
ts_error_t *ts_settings_open_store(tsp_settings_t **store,
                                   const tsp_settings_roots_t **roots,
                                   apr_pool_t *pool);

/* A label for a source ("user file", "HKLM", ...): English, for tables,
 * JSON and logs; a sentence for people names the source itself
 * (ts_setting_invalid). */
const char *ts_source_name(tsp_source_t source);

/* Why V, an entry of SETTINGS, is invalid (NULL when it has no PROBLEM),
 * as a sentence for each source that names the setting, its value and
 * where it came from, around the reason: "INOHOST 'lic1.80' from the user
 * file (/home/ada/.config/tessera/environment) is invalid: the port 80
 * must lie in 1024..64000 (...)". Code TS_ECONFIG; in English and for
 * people (ts_error_message), with no English label put into a sentence of
 * another language. */
ts_error_t *ts_setting_invalid(const ts_settings_t *settings,
                               const ts_setting_value_t *v,
                               apr_pool_t *pool);

/* Check that directory setting NAME (INOPRJ, INOLIC, ...) with VALUE is
 * not on a network file system. When REFUSE, a network path is a
 * TS_ECONFIG error saying why and how to fix it; otherwise *WARNING gets
 * the same text (NULL when the path is local). */
ts_error_t *ts_check_local_dir(const char **warning, const char *name,
                               const char *value, int refuse,
                               apr_pool_t *pool);

#endif
