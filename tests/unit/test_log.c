/* test_log.c: what a client's value looks like once it reaches a log
 * line (ts_log_quote): it can neither start a line of its own (a newline
 * in a Basic-auth user name forged a line in license.log) nor flood one
 * (a 60 KB user name was stored and echoed), and a log line that carries
 * one stays one line in the file. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_file.h"
#include "ts_log.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(log_quote, .init = setup, .fini = teardown);

static const char *
q(const char *value)
{
  return ts_log_quote(value, TS_LOG_VALUE_MAX, pool);
}

Test(log_quote, ordinary_values_are_shown_as_they_are)
{
  cr_assert_str_eq(q("alice"), "alice");
  cr_assert_str_eq(q("Zoë Ødegård, 東京"), "Zoë Ødegård, 東京");
  cr_assert_str_eq(q("client hung: 'it' \"said\""),
                   "client hung: 'it' \"said\"");
  cr_assert_str_eq(q(""), "");
  cr_assert_str_eq(q(NULL), "(none)");
}

Test(log_quote, a_client_cannot_start_a_line_of_its_own)
{
  cr_assert_str_eq(q("eve\n2026-11-22T04:40:00.123Z info  license: forged"),
                   "eve\\x0a2026-11-22T04:40:00.123Z info  license: forged");
  cr_assert_str_eq(q("a\r\nb"), "a\\x0d\\x0ab");
  cr_assert_str_eq(q("\x1b[2Jbell\a\x7f"), "\\x1b[2Jbell\\x07\\x7f");
  /* C1 controls (NEL), line and paragraph separators, bidi overrides */
  cr_assert_str_eq(q("a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xa9"
                     "d\xe2\x80\xae" "e"),
                   "a\\xc2\\x85b\\xe2\\x80\\xa8c\\xe2\\x80\\xa9"
                   "d\\xe2\\x80\\xaee");
  /* the escape itself cannot be forged */
  cr_assert_str_eq(q("not\\x0aa newline"), "not\\\\x0aa newline");
}

Test(log_quote, bytes_that_are_not_utf8_are_shown_as_bytes)
{
  cr_assert_str_eq(q("\xff\xfe" "ok"), "\\xff\\xfeok");
  cr_assert_str_eq(q("\xc3" "("), "\\xc3(");             /* cut sequence */
  cr_assert_str_eq(q("\xc0\xaf"), "\\xc0\\xaf");         /* overlong '/' */
  cr_assert_str_eq(q("\xed\xa0\x80"), "\\xed\\xa0\\x80"); /* a surrogate */
}

Test(log_quote, a_long_value_is_cut_and_says_how_long_it_was)
{
  char *big = malloc(61441);

  memset(big, 'u', 61440);
  big[61440] = '\0';
  cr_assert_str_eq(q(big), apr_pstrcat(pool, apr_pstrndup(pool, big, 256),
                                       "\xe2\x80\xa6(61440 bytes)", NULL));
  free(big);
  /* at a character's end, never inside one */
  cr_assert_str_eq(ts_log_quote("ab\xc3\xa9" "cd", 3, pool),
                   "ab\xc3\xa9\xe2\x80\xa6(6 bytes)");
  cr_assert_str_eq(ts_log_quote("abc", 3, pool), "abc");
}

Test(log_quote, a_quoted_value_stays_on_its_line_in_the_file)
{
  const char *tmp, *path, *text;
  apr_size_t len;
  ts_log_t *log;
  int lines = 0;

  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  path = ts_path_join(tmp, apr_psprintf(pool, "tessera-test-log-%ld/x.log",
                                        (long)apr_time_now()), pool);
  cr_assert_null(ts_log_open(&log, path, 0, 0, pool));
  ts_log(log, TS_LOG_INFO, "released by %s",
         q("eve\n2026-11-22T04:40:00.123Z info  forged"));
  cr_assert_null(ts_file_read_all(&text, &len, path, pool));
  for (const char *p = text; *p; p++)
    lines += *p == '\n';
  cr_assert_eq(lines, 1, "%s", text);
  cr_assert(strstr(text, "info  released by eve\\x0a2026-11-22T04:40:00.123Z "
                   "info  forged\n"), "%s", text);
  apr_file_remove(path, pool);
  apr_dir_remove(ts_path_join(path, "..", pool), pool);
}
