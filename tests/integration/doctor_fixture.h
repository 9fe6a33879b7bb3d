/* doctor_fixture.h: `tessera-admin doctor` in a tree of the test's own
 * (Linux): ROOT with INOPRJ (PRJ), INOLIC and INODIR below it, a plan
 * port P whose p..p+25 are free, and the helpers to run the doctor and
 * read its findings. Shared by test_doctor.c and test_doctor_accounts.c. */
#ifndef TESTS_DOCTOR_FIXTURE_H
#define TESTS_DOCTOR_FIXTURE_H

#include "run.h"

extern char root[], prj[], env_host[], env_prj[], env_lic[], env_home[];
extern char env_dir[];
extern int port;

/* Criterion's .init and .fini. */
void df_setup(void);
void df_teardown(void);

/* doctor with ARGS, as root, or as USER. Without an --account in ARGS
 * doctor checks INOPRJ as the service account 'tessera', which may or may
 * not exist on the test machine: cases not about permissions name root
 * (who may use everything) unless IMPLICIT. */
run_result_t doctor_as(const char *user, int implicit,
                       const char *const *args);
run_result_t doctor(const char *const *args);

/* `tessera-admin project init` in PRJ; the test fails unless it works. */
void init_project(void);

/* The findings of `doctor --json` with CHECK (and SEVERITY unless NULL)
 * and a message containing TEXT; returns how many. */
int findings(const char *json_text, const char *check,
             const char *severity, const char *text);

#endif
