/* test_envfile.c: the environment-file format that sh and systemd both
 * read: values survive, comments and unknown lines are kept, and what the
 * two readers would see differently is refused with its line number. */
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_envfile.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(envfile, .init = setup, .fini = teardown);

static ts_envfile_t *
parse(const char *text)
{
  ts_envfile_t *ef = NULL;
  ts_error_t *err = ts_envfile_parse(&ef, "/etc/tessera/environment", text,
                                     strlen(text), pool);

  cr_assert_null(err, "parse failed: %s", err ? ts_error_text(err, pool)
                                              : "");
  return ef;
}

static const char *
parse_error(const char *text)
{
  ts_envfile_t *ef;
  ts_error_t *err = ts_envfile_parse(&ef, "/etc/tessera/environment", text,
                                     strlen(text), pool);
  const char *msg;

  cr_assert_not_null(err, "'%s' was accepted", text);
  msg = ts_error_text(err, pool);
  /* the file holds configuration: the administrator must fix it */
  cr_assert_eq(ts_error_exit_status(err), 78, "EX_CONFIG for %s", msg);
  ts_error_clear(err);
  return msg;
}

Test(envfile, reads_the_three_value_forms)
{
  ts_envfile_t *ef = parse("# c\n\nA=\"x \\\"y\\\" \\$z \\\\ \\`\"\n"
                           "B='a \"b\" $c'\nC=lic1.example.com.17000\n"
                           "D=\nE=\"\"\n");

  cr_assert_str_eq(ts_envfile_get(ef, "A"), "x \"y\" $z \\ `");
  cr_assert_str_eq(ts_envfile_get(ef, "B"), "a \"b\" $c");
  cr_assert_str_eq(ts_envfile_get(ef, "C"), "lic1.example.com.17000");
  cr_assert_str_eq(ts_envfile_get(ef, "D"), "");
  cr_assert_str_eq(ts_envfile_get(ef, "E"), "");
  cr_assert_null(ts_envfile_get(ef, "F"));
}

Test(envfile, set_keeps_comments_and_unknown_lines)
{
  ts_envfile_t *ef = parse("# Tessera settings\nFOO=bar\n"
                           "INOHOST=old.17000\n# end\n");

  ts_envfile_set(ef, "INOHOST", "lic1.17000");
  ts_envfile_set(ef, "INOPRJ", "/srv/my \"projects\" $1");
  cr_assert_str_eq(ts_envfile_render(ef),
                   "# Tessera settings\nFOO=bar\nINOHOST=\"lic1.17000\"\n"
                   "# end\nINOPRJ=\"/srv/my \\\"projects\\\" \\$1\"\n");
  cr_assert_eq(ts_envfile_unset(ef, "FOO"), 1);
  cr_assert_eq(ts_envfile_unset(ef, "FOO"), 0);
  cr_assert_null(ts_envfile_get(ef, "FOO"));
}

Test(envfile, duplicates_last_wins_and_set_leaves_one)
{
  ts_envfile_t *ef = parse("X=1\nX=2\n");

  cr_assert_str_eq(ts_envfile_get(ef, "X"), "2");
  ts_envfile_set(ef, "X", "3");
  cr_assert_str_eq(ts_envfile_render(ef), "X=\"3\"\n");
}

Test(envfile, rendered_values_parse_back)
{
  static const char *const values[] = { "plain", "with space", "q\"uote",
    "single'quote", "dollar$HOME", "back\\slash", "tick`x`", "", "#hash" };
  ts_envfile_t *ef = ts_envfile_create("f", pool), *back;
  const char *text;

  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
    ts_envfile_set(ef, apr_psprintf(pool, "V%d", (int)i), values[i]);
  text = ts_envfile_render(ef);
  back = parse(text);
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
    cr_assert_str_eq(ts_envfile_get(back, apr_psprintf(pool, "V%d", (int)i)),
                     values[i]);
}

Test(envfile, refuses_what_sh_and_systemd_read_differently)
{
  cr_assert(strstr(parse_error("A=1\nB=\"$HOME\"\n"),
                   "/etc/tessera/environment line 2 is malformed: "
                   "unescaped '$'"));
  cr_assert(strstr(parse_error("A=\"x\" # note\n"), "line 1"));
  cr_assert(strstr(parse_error("A=\"open\n"), "never closed"));
  cr_assert(strstr(parse_error("A='open\n"), "never closed"));
  cr_assert(strstr(parse_error("A=two words\n"), "unexpected"));
  cr_assert(strstr(parse_error("export A=1\n"), "expected '='"));
  cr_assert(strstr(parse_error("1A=1\n"), "neither a comment"));
  cr_assert(strstr(parse_error("A=1\r\n"), "carriage return"));
  cr_assert(strstr(parse_error("A=`id`\n"), "unexpected"));
}

Test(envfile, check_refuses_multiline_values_and_bad_names)
{
  ts_error_t *err = ts_envfile_check("INOPRJ", "/a\nb");

  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "control character 0x0a"));
  ts_error_clear(err);
  err = ts_envfile_check("INO-HOST", "x");
  cr_assert_not_null(err);
  ts_error_clear(err);
  cr_assert_null(ts_envfile_check("INOHOST", "lic1.17000"));
}

#ifndef _WIN32
/* ---- whole sentences (issue 16) ----------------------------------------
 * In the made-up language "xx" (pseudo_lang.h) Tessera's own words come
 * out in capitals: why a line is malformed is part of the sentence, not
 * an English phrase put into it. */
#include "pseudo_lang.h"

Test(envfile, a_malformed_line_is_told_in_whole_sentences)
{
  static const struct { const char *text, *want, *value; } bad[] = {
    { "A=1\nB=\"$HOME\"\n", "LINE 2 IS MALFORMED: UNESCAPED '$' INSIDE "
      "DOUBLE QUOTES", NULL },
    { "A=\"open\n", "LINE 1 IS MALFORMED: THE DOUBLE QUOTE IS NEVER "
      "CLOSED", NULL },
    { "A='open\n", "THE SINGLE QUOTE IS NEVER CLOSED", NULL },
    { "A=two words\n", "UNEXPECTED 'w' AFTER THE VALUE", "'w'" },
    { "export A=1\n", "EXPECTED '=' RIGHT AFTER THE NAME 'export'",
      "'export'" },
    { "1A=1\n", "IT IS NEITHER A COMMENT NOR NAME=VALUE", NULL },
    { "A=1\r\n", "IT ENDS WITH A CARRIAGE RETURN", NULL },
  };

  pseudo_lang_speak(pool);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    ts_envfile_t *ef;
    ts_error_t *err = ts_envfile_parse(&ef, "/etc/tessera/environment",
                                       bad[i].text, strlen(bad[i].text),
                                       pool);
    const char *text, *leak;

    cr_assert_not_null(err, "'%s' was accepted", bad[i].text);
    text = ts_error_message(err, pool);
    cr_assert(strstr(text, bad[i].want), "'%s' is not in: %s", bad[i].want,
              text);
    leak = pseudo_lang_leak(text, (const char *const[]){
                            "/etc/tessera/environment", bad[i].value, NULL },
                            pool);
    cr_assert_null(leak, "'%s' is English in: %s", leak, text);
    /* the log keeps English */
    cr_assert(strstr(ts_error_text(err, pool), "is malformed: "));
    ts_error_clear(err);
  }
}
#endif
