/* test_doctor_words.c: the doctor's findings are whole sentences (issue
 * 16). In the made-up language "xx" (pseudo_lang.h) every word of a
 * finding's text for people comes out in capitals, values aside, while
 * the English text that `doctor --json` gives programs stays English.
 * Linux only: the catalog of "xx" is made with xgettext. */
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "pseudo_lang.h"
#include "ts_doctor.h"
#include "tsp.h"

static apr_pool_t *pool;
static const char *root;

static void
setup(void)
{
  char *dir;

  apr_initialize();
  apr_pool_create(&pool, NULL);
  dir = apr_pstrdup(pool, "/tmp/tessera-doctor-words-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  root = dir;
}

static void
teardown(void)
{
  cr_assert_eq(system(apr_psprintf(pool, "rm -rf '%s'", root)), 0);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(doctor_words, .init = setup, .fini = teardown, .timeout = 60);

/* A doctor for the settings of this process's environment plus NAME=VALUE
 * pairs (NULL-terminated), stored settings of its own (empty), speaking
 * "xx". */
static ts_doctor_t *
doctor(const char *const *env)
{
  ts_doctor_t *doc = apr_pcalloc(pool, sizeof(*doc));
  tsp_settings_t *store;

  cr_assert_null(tsp_env_set("HOME", root, pool));
  cr_assert_null(tsp_env_set("TESSERA_SYSCONFDIR", root, pool));
  for (int i = 0; env && env[i]; i += 2)
    cr_assert_null(tsp_env_set(env[i], env[i + 1], pool));
  cr_assert_null(ts_settings_open_store(&store, NULL, pool));
  cr_assert_null(ts_settings_resolve(&doc->settings, store, pool, pool));
  doc->pool = pool;
  doc->connections = 1000;
  doc->findings = apr_array_make(pool, 8, sizeof(ts_finding_t));
  pseudo_lang_speak(pool);
  return doc;
}

#define FINDING(doc, i) APR_ARRAY_IDX((doc)->findings, (i), ts_finding_t)

Test(doctor_words, project_findings_are_whole)
{
  const char *prj = apr_pstrcat(pool, root, "/prj", NULL);
  ts_doctor_t *doc;
  const char *leak;

  cr_assert_eq(apr_dir_make(prj, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS);
  doc = doctor((const char *[]){ "INOPRJ", prj, NULL });
  doc->fix = 1;   /* "fixed: created the identity ..." */
  ts_doctor_check_project(doc);
  cr_assert_geq(doc->findings->nelts, 1);
  for (int i = 0; i < doc->findings->nelts; i++) {
    const ts_finding_t *f = &FINDING(doc, i);
    leak = pseudo_lang_leak(f->local, (const char *[]){
                              apr_pstrcat(pool, prj, "*", NULL), NULL },
                            pool);
    cr_assert_null(leak, "'%s' in: %s", leak, f->local);
    /* the English for programs */
    cr_assert(strstr(f->message, "fixed: created the identity ")
              || strstr(f->message, "INOPRJ "), "%s", f->message);
  }
  cr_assert(strstr(FINDING(doc, 0).local, "FIXED: CREATED THE IDENTITY "),
            "%s", FINDING(doc, 0).local);
}

Test(doctor_words, where_a_setting_came_from_is_part_of_the_sentence)
{
  ts_doctor_t *doc = doctor((const char *[]){ "INOLIC", "relative/dir",
                                               NULL });
  const ts_finding_t *f = NULL;

  ts_doctor_check_settings(doc);
  for (int i = 0; i < doc->findings->nelts; i++)
    if (strcmp(FINDING(doc, i).subject, "INOLIC") == 0)
      f = &FINDING(doc, i);
  cr_assert_not_null(f);
  cr_assert(strstr(f->message, "INOLIC 'relative/dir' from the process "
                   "environment is invalid: "), "%s", f->message);
  cr_assert(strstr(f->local, "INOLIC 'relative/dir' FROM THE PROCESS "
                   "ENVIRONMENT IS INVALID: "), "%s", f->local);
  /* a fix with a word in it: both languages; without: a command */
  cr_assert_str_eq(f->fix, "tessera-admin env set INOLIC <value>");
  cr_assert_str_eq(f->fix_local, "TESSERA-ADMIN ENV SET INOLIC <VALUE>");
}

Test(doctor_words, the_source_of_a_value_is_a_phrase_in_each_language)
{
  ts_setting_value_t v = { .def = ts_settings_find("INOHOST"),
                           .value = "lic1.17000",
                           .source = TSP_SRC_USER_FILE,
                           .location = "/home/a/env" };

  doctor(NULL);
  cr_assert_str_eq(ts_doctor_from_source(&v, 0, pool),
                   "from the user file (/home/a/env)");
  cr_assert_str_eq(ts_doctor_from_source(&v, 1, pool),
                   "FROM THE USER FILE (/home/a/env)");
}

Test(doctor_words, counts_and_errors_are_whole)
{
  ts_doctor_t *doc = doctor(NULL);
  ts_error_t *err = ts_error_createf(TS_ENOENT, "cannot read %s", "/x");
  const ts_finding_t *f;
  const char *leak;

  ts_doctor_check_files(doc);
  cr_assert_eq(doc->findings->nelts, 1);
  f = &FINDING(doc, 0);
  cr_assert(strstr(f->message, "client connections"), "%s", f->message);
  leak = pseudo_lang_leak(f->local, NULL, pool);
  cr_assert_null(leak, "'%s' in: %s", leak, f->local);
  /* an error's two texts: English for programs, the other for people */
  ts_doctor_add_error(doc, TS_SEV_ERROR, "test", "/x", NULL, err);
  f = &FINDING(doc, 1);
  cr_assert_str_eq(f->message, ts_error_text(err, pool));
  cr_assert_str_eq(f->local, ts_error_message(err, pool));
  ts_error_clear(err);
}

Test(doctor_words, a_port_in_use_is_told_in_a_whole_sentence)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0), port = 24000 + getpid() % 8000;
  struct sockaddr_in sa = { .sin_family = AF_INET };
  ts_doctor_t *doc;
  const ts_finding_t *f = NULL;

  sa.sin_port = htons((unsigned short)(port + 5));   /* the proxy's, p+5 */
  cr_assert_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  cr_assert_eq(listen(fd, 1), 0);
  doc = doctor((const char *[]){ "INOHOST", apr_psprintf(pool, "lic1.%d",
                                                          port), NULL });
  ts_doctor_check_ports(doc);
  close(fd);
  for (int i = 0; i < doc->findings->nelts; i++)
    if (FINDING(doc, i).severity == TS_SEV_ERROR)
      f = &FINDING(doc, i);
  cr_assert_not_null(f);
  cr_assert(strstr(f->message, "is in use by pid "), "%s", f->message);
  cr_assert(strstr(f->local, ") IS IN USE BY "), "%s", f->local);
  cr_assert(strstr(f->fix_local, "STOP THAT PROGRAM"), "%s", f->fix_local);
}
