/* test_i18n.c: INOLANG=de makes tessera-admin speak German (issue 16),
 * through the real program and its compiled catalog, on Linux and under
 * wine: a refused value is explained in German with the same exit status
 * as in English, the help is German, and what is for programs (the JSON
 * of `env show --json`, exit statuses) is the same in both languages.
 * The catalog's completeness is tests/i18n/catalog.sh's job. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <apr_time.h>

#include "run.h"

static apr_pool_t *pool;
static char *root;

static void
setup(void)
{
  const char *tmp;

  apr_initialize();
  apr_pool_create(&pool, NULL);
  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  root = apr_psprintf(pool, "%s/tessera-i18n-%ld-%" APR_TIME_T_FMT, tmp,
                      (long)getpid(), apr_time_now());
  cr_assert_eq(apr_dir_make(root, APR_FPROT_OS_DEFAULT, pool), APR_SUCCESS,
               "cannot create %s", root);
}

/* Remove DIR and everything in it. */
static void
remove_tree(const char *dir)
{
  apr_dir_t *d;
  apr_finfo_t f;

  if (apr_dir_open(&d, dir, pool) == APR_SUCCESS) {
    while (apr_dir_read(&f, APR_FINFO_NAME | APR_FINFO_TYPE, d)
           == APR_SUCCESS) {
      const char *path;
      if (!strcmp(f.name, ".") || !strcmp(f.name, ".."))
        continue;
      path = apr_pstrcat(pool, dir, "/", f.name, NULL);
      if (f.filetype == APR_DIR)
        remove_tree(path);
      else
        apr_file_remove(path, pool);
    }
    apr_dir_close(d);
  }
  apr_dir_remove(dir, pool);
}

static void
teardown(void)
{
  remove_tree(root);
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(i18n, .init = setup, .fini = teardown, .timeout = 120);

/* tessera-admin ARGS with INOLANG=LANG, in settings of the test's own (an
 * empty HOME and /etc on Linux, a registry key of its own on Windows). */
static run_result_t
admin(const char *lang, const char *const *args)
{
  static const char *const keep[] = { "PATH", "SystemRoot", "windir",
                                      "TEMP", "TMP", "ASAN_OPTIONS",
                                      "UBSAN_OPTIONS", NULL };
  const char *argv[16] = { TESSERA_ADMIN };
  const char *env[16];
  int n = 0;

  for (int i = 0; keep[i]; i++)
    if (getenv(keep[i]))
      env[n++] = apr_psprintf(pool, "%s=%s", keep[i], getenv(keep[i]));
  env[n++] = apr_psprintf(pool, "HOME=%s", root);
  env[n++] = apr_psprintf(pool, "TESSERA_SYSCONFDIR=%s", root);
  env[n++] = apr_psprintf(pool, "TESSERA_REGISTRY_KEY=Software\\TesseraTest"
                          "\\i18n-%ld", (long)getpid());
  env[n++] = apr_psprintf(pool, "INOLANG=%s", lang);
  env[n] = NULL;
  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  return run(argv, env, NULL);
}
#define ADMIN(lang, ...) admin(lang, (const char *[]){ __VA_ARGS__, NULL })

Test(i18n, a_refused_value_is_explained_in_german)
{
  run_result_t en = ADMIN("en", "env", "set", "INOHOST", "lic1.80",
                          "--scope", "user");
  run_result_t de = ADMIN("de", "env", "set", "INOHOST", "lic1.80",
                          "--scope", "user");

  cr_assert_eq(en.status, 65, "en: %d %s", en.status, en.err);
  cr_assert_eq(de.status, en.status, "the exit status depends on the "
               "language: en %d, de %d", en.status, de.status);
  cr_assert(strstr(en.err, "invalid INOHOST 'lic1.80'"), "en: %s", en.err);
  cr_assert(strstr(en.err, "nothing was written"), "en: %s", en.err);
  /* German, with the value and the limits as given */
  cr_assert(strstr(de.err, "INOHOST 'lic1.80' ist ungültig"), "de: %s",
            de.err);
  cr_assert(strstr(de.err, "1024..64000"), "de: %s", de.err);
  cr_assert(strstr(de.err, "Es wurde nichts geschrieben"), "de: %s", de.err);
  /* and none of the English lines */
  cr_assert_null(strstr(de.err, "nothing was written"), "de: %s", de.err);
  cr_assert_null(strstr(de.err, "format:"), "de: %s", de.err);
  cr_assert_null(strstr(de.err, "example:"), "de: %s", de.err);
  run_free(&en);
  run_free(&de);
}

Test(i18n, help_and_usage_errors_are_german)
{
  run_result_t help = ADMIN("de", "--help");
  run_result_t bad = ADMIN("de", "frobnicate");

  cr_assert_eq(help.status, 0, "%d %s", help.status, help.err);
  cr_assert(strstr(help.out, "Aufruf: tessera-admin"), "%s", help.out);
  cr_assert(strstr(help.out, "Befehle:"), "%s", help.out);
  cr_assert_null(strstr(help.out, "commands:"), "%s", help.out);
  cr_assert_eq(bad.status, 64, "%d %s", bad.status, bad.err);
  cr_assert(strstr(bad.err, "unbekannter Befehl 'frobnicate'"), "%s",
            bad.err);
  cr_assert(strstr(bad.err, "Aufruf: tessera-admin"), "%s", bad.err);
  run_free(&help);
  run_free(&bad);
}

Test(i18n, json_for_programs_is_the_same_in_every_language)
{
  run_result_t en = ADMIN("en", "env", "show", "--json");
  run_result_t de = ADMIN("de", "env", "show", "--json");

  cr_assert_eq(en.status, 0, "%d %s", en.status, en.err);
  cr_assert_eq(de.status, 0, "%d %s", de.status, de.err);
  /* INOLANG's own value differs; nothing else may */
  cr_assert(strstr(en.out, "\"value\": \"en\""), "%s", en.out);
  cr_assert(strstr(de.out, "\"value\": \"de\""), "%s", de.out);
  {
    char *p = strstr(de.out, "\"value\": \"de\"");
    memcpy(p, "\"value\": \"en\"", strlen("\"value\": \"en\""));
  }
  cr_assert_str_eq(de.out, en.out);
  run_free(&en);
  run_free(&de);
}

Test(i18n, english_is_spoken_without_inolang_or_with_en)
{
  run_result_t en = ADMIN("en", "--help");

  cr_assert_eq(en.status, 0);
  cr_assert(strstr(en.out, "usage: tessera-admin"), "%s", en.out);
  cr_assert(strstr(en.out, "commands:"), "%s", en.out);
  run_free(&en);
}
