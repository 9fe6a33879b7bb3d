/* fuzz_records.c: what the doctor reads that other machines wrote: the
 * records agents and model servers keep in the shared project directory
 * (core/project/ts_project_records.c: INOPRJ/ivm/agents/<host>.<port>
 * .json and ivm/modelservers/...) and the judgement of who shares INOPRJ
 * made from them (core/doctor/ts_doctor_scenarios.c).
 *
 * (The bus carries nothing a server parses: the license server only
 * publishes, and the doctor asks whether the retained license/state
 * exists, not what it says; see tests/fuzz/README.md.)
 *
 * An input is up to 8 record files separated by lines "###"; the even
 * ones are agents', the odd ones model servers'. Invariants: every file
 * is either a record or a reject that names it; every finding has its
 * check, subject and message; the accounts the doctor will check are
 * distinct.
 */
#include <string.h>
#include <apr_file_io.h>
#include <apr_strings.h>

#include "fuzz_common.h"
#include "ts_doctor.h"
#include "ts_file.h"
#include "ts_project_records.h"

#define MAX_RECORDS 8

static const char *inoprj, *dirs[2];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  apr_pool_t *pool = fuzz_init();
  ts_error_t *err = NULL;

  (void)argc;
  (void)argv;
  inoprj = ts_path_join(fuzz_scratch_dir(), "projects", pool);
  dirs[0] = ts_path_join(inoprj, "ivm/agents", pool);
  dirs[1] = ts_path_join(inoprj, "ivm/modelservers", pool);
  for (int i = 0; i < 2 && !err; i++)
    err = ts_dir_make(dirs[i], TS_FPROT_DIR, pool);
  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  return 0;
}

/* Remove every file the last input left. */
static void
clear_records(apr_pool_t *pool)
{
  for (int d = 0; d < 2; d++)
    for (int i = 0; i < MAX_RECORDS; i++)
      apr_file_remove(apr_psprintf(pool, "%s/h%d.17003.json", dirs[d], i),
                      pool);
}

static void
check_read(const char *kind, int files, apr_pool_t *pool)
{
  apr_array_header_t *records, *rejects;
  ts_error_t *err = ts_project_records_read(&records, &rejects, inoprj, kind,
                                            pool, pool);

  FUZZ_CHECK(!err, "%s", ts_error_text(err, pool));
  FUZZ_CHECK(records->nelts + rejects->nelts == files, "%d %s files gave "
             "%d records and %d rejects", files, kind, records->nelts,
             rejects->nelts);
  for (int i = 0; i < records->nelts; i++) {
    const ts_project_record_t *r = &APR_ARRAY_IDX(records, i,
                                                  ts_project_record_t);
    FUZZ_CHECK(r->host && r->os && r->account && r->inohost
               && strcmp(r->kind, kind) == 0, "record %s", r->path);
  }
  for (int i = 0; i < rejects->nelts; i++) {
    const ts_project_reject_t *r = &APR_ARRAY_IDX(rejects, i,
                                                  ts_project_reject_t);
    FUZZ_CHECK(r->why && strstr(r->why, r->path), "reject: %s", r->why);
  }
}

static void
check_scenarios(apr_pool_t *pool)
{
  ts_doctor_t doc = { 0 };
  ts_settings_t settings;
  ts_setting_value_t *v;
  apr_array_header_t *accounts = apr_array_make(pool, 2,
                                                sizeof(const char *));

  settings.values = apr_array_make(pool, 1, sizeof(ts_setting_value_t));
  v = apr_array_push(settings.values);
  memset(v, 0, sizeof(*v));
  v->def = ts_settings_find("INOPRJ");
  v->value = inoprj;
  doc.settings = &settings;
  doc.findings = apr_array_make(pool, 4, sizeof(ts_finding_t));
  doc.pool = pool;
  ts_doctor_check_scenarios(&doc, accounts);
  for (int i = 0; i < doc.findings->nelts; i++) {
    const ts_finding_t *f = &APR_ARRAY_IDX(doc.findings, i, ts_finding_t);
    FUZZ_CHECK(f->check && f->subject && f->message && *f->message,
               "finding %d", i);
  }
  for (int i = 0; i < accounts->nelts; i++)
    for (int k = 0; k < i; k++)
      FUZZ_CHECK(strcmp(APR_ARRAY_IDX(accounts, i, const char *),
                        APR_ARRAY_IDX(accounts, k, const char *)) != 0,
                 "account %s twice", APR_ARRAY_IDX(accounts, i,
                                                   const char *));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  apr_pool_t *pool;
  apr_array_header_t *parts, *lens;
  int files[2] = { 0, 0 };

  apr_pool_create(&pool, fuzz_init());
  clear_records(pool);
  parts = fuzz_split(&lens, data, size, "###", MAX_RECORDS, pool);
  for (int i = 0; i < parts->nelts; i++) {
    fuzz_write_file(apr_psprintf(pool, "%s/h%d.17003.json", dirs[i % 2], i),
                    APR_ARRAY_IDX(parts, i, const char *),
                    APR_ARRAY_IDX(lens, i, apr_size_t), pool);
    files[i % 2]++;
  }
  check_read(TS_PROJECT_AGENT, files[0], pool);
  check_read(TS_PROJECT_MODELSERVER, files[1], pool);
  check_scenarios(pool);
  apr_pool_destroy(pool);
  return 0;
}
