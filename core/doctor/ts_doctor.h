/* ts_doctor.h: `tessera-admin doctor`, the environment checks (SPEC §4).
 *
 * Every check adds findings; a finding says how bad it is, what exactly
 * (path, port, value) it is about, why it matters and the command that
 * fixes it. Checks never stop at the first problem, never crash on bad
 * input, and change nothing unless asked to fix (and then only the safe
 * fixes, each reported).
 */
#ifndef TS_DOCTOR_H
#define TS_DOCTOR_H

#include <apr_tables.h>
#include "ts_error.h"
#include "ts_settings.h"

typedef enum ts_severity_t {
  TS_SEV_ERROR,
  TS_SEV_WARNING,
  TS_SEV_INFO
} ts_severity_t;

/* MESSAGE and FIX are English (for `doctor --json`, which is for
 * programs); LOCAL and FIX_LOCAL are the same in the language of
 * ts_i18n.h (INOLANG), for people. */
typedef struct ts_finding_t {
  ts_severity_t severity;
  const char *check;     /* "network-drive", "ports", ... */
  const char *subject;   /* the path, port or value concerned */
  const char *message;   /* what is wrong (or fine) and why it matters */
  const char *fix;       /* the command or step that fixes it, or NULL */
  const char *local;     /* MESSAGE for people */
  const char *fix_local; /* FIX for people, or NULL */
} ts_finding_t;

typedef struct ts_doctor_t {
  ts_settings_t *settings;
  int fix;               /* apply safe fixes */
  long connections;      /* expected client connections (fd check) */
  int account_implicit;  /* access checked as the service account because
                            no --account was given */
  int named;             /* the first NAMED accounts of the access check
                            were named with --account */
  apr_array_header_t *unchecked;  /* of const char *: accounts named with
                                     --account as which INOPRJ could not
                                     be checked (or NULL: none yet) */
  int unchecked_status;  /* their exit status: 77 (EX_NOPERM) when one
                            needed root, else 65 (EX_DATAERR) when one
                            does not exist; 0: all were checked */
  apr_array_header_t *findings;   /* of ts_finding_t */
  apr_pool_t *pool;
} ts_doctor_t;

/* Add a finding whose message is FMT (English; the catalog has it,
 * core/i18n/extract.sh) with its arguments, and whose fix is FIX: a
 * literal marked N_(), a command without words to translate, or NULL.
 * Both are also made in the language spoken: FMT and FIX translated, the
 * arguments the same (so an argument is a name, a path or a number, never
 * an English word). Returns the finding, valid until the next is added
 * (for ts_doctor_fix()). */
ts_finding_t *ts_doctor_add(ts_doctor_t *doc, ts_severity_t severity,
                            const char *check, const char *subject,
                            const char *fix, const char *fmt, ...)
  __attribute__((format(printf, 6, 7)));

/* A finding whose message is ERR's (not cleared): its English text and
 * its text for people (ts_error_text, ts_error_message). */
ts_finding_t *ts_doctor_add_error(ts_doctor_t *doc, ts_severity_t severity,
                                  const char *check, const char *subject,
                                  const char *fix, const ts_error_t *err);

/* A finding with its MESSAGE and LOCAL made by the caller (where an
 * argument differs by language). */
ts_finding_t *ts_doctor_add_texts(ts_doctor_t *doc, ts_severity_t severity,
                                  const char *check, const char *subject,
                                  const char *fix, const char *message,
                                  const char *local);

/* F's fix: FMT (a literal marked N_()) with its arguments, in English and
 * translated. */
void ts_doctor_fix(ts_doctor_t *doc, ts_finding_t *f, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));

/* "error", "warning", "info": for programs (JSON), English. */
const char *ts_severity_name(ts_severity_t severity);

/* Where V came from, as a phrase for a sentence: "from the user file
 * (PATH)", "from the process environment", ...; translated when LOCAL
 * (then for people only). Also for tessera-admin's other commands. */
const char *ts_doctor_from_source(const ts_setting_value_t *v, int local,
                                  apr_pool_t *pool);

/* The checks. Each adds findings and returns an error only when the check
 * itself could not run (which is reported as a finding by the caller). */
void ts_doctor_check_settings(ts_doctor_t *doc);
/* INOLIC/tessera.xml (valid, or absent: defaults) and, where the license
 * server starts its bus, that the broker is installed. */
void ts_doctor_check_config(ts_doctor_t *doc);
void ts_doctor_check_network_drives(ts_doctor_t *doc);
void ts_doctor_check_ports(ts_doctor_t *doc);
void ts_doctor_check_files(ts_doctor_t *doc);
void ts_doctor_check_project(ts_doctor_t *doc);
/* Servers sharing INOPRJ, from their records in ivm/agents and
 * ivm/modelservers (format in ts_project_records.h): agents or an agent
 * and a model server of different license servers are errors; mixed
 * Linux/Windows agents a warning, whose Linux accounts are added to
 * ACCOUNTS (of const char *) for the access check. */
void ts_doctor_check_scenarios(ts_doctor_t *doc,
                               apr_array_header_t *accounts);

/* Access to INOPRJ for each of ACCOUNTS (NULL-terminated): every entry
 * readable and writable, ivm and ivm/logs take a create-and-remove probe.
 * Checked as the account, not as root (which needs root on Linux). One of
 * the first DOC->named that cannot be checked is a warning saying so, and
 * recorded in DOC->unchecked and DOC->unchecked_status. */
void ts_doctor_check_access(ts_doctor_t *doc, const char *const *accounts);
/* ACCOUNT: Tessera's service account; only its stale queues are removed
 * by --fix. */
void ts_doctor_check_msgqueues(ts_doctor_t *doc, const char *account);

#endif
