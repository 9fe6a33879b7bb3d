/* test_admin_words.c: what tessera-admin prints for people is whole
 * sentences of the catalog (issue 16), through the real program. A copy
 * of tessera-admin finds, beside it, the made-up language "xx"
 * (tests/i18n/pseudo.sh: every marked message in capitals) as its German
 * catalog; with INOLANG=de every word of Tessera's own then comes out in
 * capitals, and a small-letter word next to the values is English that
 * escaped the catalog. What is for programs (--json) stays English.
 * Linux only (the catalog is made with xgettext). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "pseudo_lang.h"
#include "run.h"

static apr_pool_t *pool;
static const char *root, *program, *prj;

static void
sh(const char *cmd)
{
  cr_assert_eq(system(cmd), 0, "%s", cmd);
}

static void
setup(void)
{
  char *dir;

  apr_initialize();
  apr_pool_create(&pool, NULL);
  dir = apr_pstrdup(pool, "/tmp/tessera-admin-words-XXXXXX");
  cr_assert_not_null(mkdtemp(dir));
  root = dir;
  program = apr_pstrcat(pool, root, "/bin/tessera-admin", NULL);
  prj = apr_pstrcat(pool, root, "/prj", NULL);
  sh(apr_psprintf(pool, "chmod 0711 '%s' && mkdir '%s/bin' '%s' '%s/lic' "
                  "'%s/dir' && cp '%s' '%s'", root, root, prj, root, root,
                  TESSERA_ADMIN, program));
  sh(apr_psprintf(pool, "bash '%s/tests/i18n/pseudo.sh' '%s' '%s/pseudo' "
                  "&& mkdir '%s/locale' && mv '%s/pseudo/xx' "
                  "'%s/locale/de'", TESSERA_SOURCE_DIR, TESSERA_SOURCE_DIR,
                  root, root, root, root));
}

static void
teardown(void)
{
  sh(apr_psprintf(pool, "rm -rf '%s'", root));
  apr_pool_destroy(pool);
  apr_terminate();
}

TestSuite(admin_words, .init = setup, .fini = teardown, .timeout = 120);

/* The copy of tessera-admin with ARGS, speaking "xx" as German, with
 * settings of its own. */
static run_result_t
admin(const char *const *args)
{
  const char *argv[16] = { program };
  const char *env[] = {
    "PATH=/usr/bin:/bin", "INOLANG=de",
    apr_psprintf(pool, "HOME=%s", root),
    apr_psprintf(pool, "TESSERA_SYSCONFDIR=%s", root),
    apr_psprintf(pool, "INOPRJ=%s", prj),
    apr_psprintf(pool, "INOLIC=%s/lic", root),
    apr_psprintf(pool, "INODIR=%s/dir", root), NULL
  };

  for (int i = 0; args[i]; i++)
    argv[i + 1] = args[i];
  return run(argv, env, NULL);
}
#define ADMIN(...) admin((const char *[]){ __VA_ARGS__, NULL })

/* The line of TEXT that contains WHAT (the test fails without one). */
static const char *
line_with(const char *text, const char *what)
{
  const char *at = strstr(text, what), *start, *end;

  cr_assert_not_null(at, "no '%s' in:\n%s", what, text);
  for (start = at; start > text && start[-1] != '\n'; start--)
    ;
  end = strchr(at, '\n');
  return end ? apr_pstrndup(pool, start, end - start)
             : apr_pstrdup(pool, start);
}

/* LINE has no English word beside VALUES (as for pseudo_lang_leak). */
static void
whole(const char *line, const char *const *values)
{
  const char *leak = pseudo_lang_leak(line, values, pool);

  cr_assert_null(leak, "'%s' is English in: %s", leak, line);
}

Test(admin_words, a_refused_value_is_explained_in_whole_sentences)
{
  run_result_t r = ADMIN("env", "set", "INOHOST", "lic1.80", "--scope",
                         "user");
  const char *const values[] = { "tessera-admin*", "lic1.*", "env", "set",
                                 "--scope", "user", NULL };

  cr_assert_eq(r.status, 65, "%d %s", r.status, r.err);
  cr_assert(strstr(r.err, "NOTHING WAS WRITTEN."), "%s", r.err);
  cr_assert(strstr(r.err, "EXAMPLE: tessera-admin env set INOHOST "
                   "lic1.17000 --scope user"), "%s", r.err);
  whole(r.err, values);
  run_free(&r);
}

Test(admin_words, env_show_and_a_change_are_whole)
{
  run_result_t r = ADMIN("env", "show");
  const char *const values[] = { "de", NULL };

  cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
  whole(line_with(r.out, "NAME "), NULL);
  whole(line_with(r.out, "INONOTIFY "), values);   /* (UNSET) DEFAULT */
  whole(line_with(r.out, "INOLANG "), values);     /* PROCESS ENVIRONMENT */
  run_free(&r);
  r = ADMIN("env", "set", "INOAGENTPORT", "17100", "--scope", "user");
  cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
  whole(r.out, (const char *const[]){ apr_pstrcat(pool, root, "*", NULL),
                                      NULL });
  cr_assert(strstr(r.out, "(CURRENT USER)"), "%s", r.out);
  run_free(&r);
}

Test(admin_words, doctor_findings_are_whole_and_its_json_english)
{
  run_result_t r = ADMIN("doctor");
  const char *const values[] = { "[project]", "tessera-admin", "project",
                                 "init", apr_pstrcat(pool, prj, "*", NULL),
                                 NULL };
  const char *last;

  cr_assert_eq(r.status, 78, "%d %s", r.status, r.err);
  whole(line_with(r.out, "ERRORS:"), NULL);
  whole(line_with(r.out, "HAS NO <NAME>.INOPRJ.UUID FILE"), values);
  whole(line_with(r.out, "FIX: tessera-admin project init"), values);
  last = strrchr(r.out, '\n');
  while (last > r.out && last[-1] != '\n')   /* the summary, last line */
    last--;
  whole(last, NULL);
  run_free(&r);
  r = ADMIN("doctor", "--json");
  cr_assert(strstr(r.out, "has no <name>.inoprj.uuid file: agents cannot "
                   "tell that they share it"), "%s", r.out);
  cr_assert_null(strstr(r.out, "HAS NO"), "%s", r.out);
  run_free(&r);
}

Test(admin_words, the_port_plan_is_whole)
{
  run_result_t r = ADMIN("ports");
  const char *const values[] = { "localhost.17000", NULL };

  cr_assert_eq(r.status, 0, "%d %s", r.status, r.err);
  whole(line_with(r.out, "PORT PLAN FOR INOHOST"), values);
  whole(line_with(r.out, "FIREWALL: PASS TCP"), NULL);
  whole(line_with(r.out, "TIME_WAIT"), NULL);
  run_free(&r);
  r = ADMIN("ports", "--firewall", "nftables");
  whole(line_with(r.out, "# TESSERA: INOHOST"), values);
  /* the rules are for nft: never translated */
  cr_assert(strstr(r.out, "\nadd table inet filter\n"), "%s", r.out);
  run_free(&r);
}
