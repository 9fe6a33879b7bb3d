/* pseudo_lang.c: the made-up language "xx" (see pseudo_lang.h). */
#include "pseudo_lang.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "ts_i18n.h"
#include "tsp.h"

/* A pool cleanup: run the command REMOVE ("rm -rf DIR"). */
static apr_status_t
remove_catalog(void *remove)
{
  return system(remove) == 0 ? APR_SUCCESS : APR_EGENERAL;
}

void
pseudo_lang_speak(apr_pool_t *pool)
{
  const char *tmp, *dir, *cmd, *problem;
  unsigned char r[4];

  cr_assert_eq(apr_temp_dir_get(&tmp, pool), APR_SUCCESS);
  cr_assert_eq(apr_generate_random_bytes(r, sizeof(r)), APR_SUCCESS);
  dir = apr_psprintf(pool, "%s/tessera-pseudo-%02x%02x%02x%02x", tmp, r[0],
                     r[1], r[2], r[3]);
  cmd = apr_psprintf(pool, "bash '%s/tests/i18n/pseudo.sh' '%s' '%s/locale'",
                     TESSERA_SOURCE_DIR, TESSERA_SOURCE_DIR, dir);
  cr_assert_eq(system(cmd), 0, "the catalog of \"xx\" was not made: %s",
               cmd);
  apr_pool_cleanup_register(pool, apr_psprintf(pool, "rm -rf '%s'", dir),
                            remove_catalog,
                            apr_pool_cleanup_null);
  cr_assert_null(tsp_env_set("LANGUAGE", "xx", pool));   /* gettext's */
  problem = ts_i18n_set("xx", apr_pstrcat(pool, dir, "/program", NULL));
  cr_assert_null(problem, "%s", problem);
  cr_assert(ts_i18n_translating());
}

const char *
pseudo_lang_leak(const char *text, const char *const *values,
                 apr_pool_t *pool)
{
  char *left = apr_pstrdup(pool, text);

  /* blank out the values (found in TEXT, so one inside another counts),
   * then look for a small letter */
  for (int i = 0; values && values[i]; i++) {
    apr_size_t n = strlen(values[i]);
    int word = n && values[i][n - 1] == '*';   /* a prefix of a word */
    const char *v = word ? apr_pstrndup(pool, values[i], --n) : values[i];
    for (const char *at = n ? strstr(text, v) : NULL; at;
         at = strstr(at + 1, v)) {
      apr_size_t len = n;
      while (word && at[len] && at[len] != ' ')
        len++;
      memset(left + (at - text), ' ', len);
    }
  }
  for (apr_size_t i = 0; left[i]; i++)
    if (left[i] >= 'a' && left[i] <= 'z') {   /* the word around it */
      apr_size_t start = i, end = i;
      while (start > 0 && text[start - 1] != ' ')
        start--;
      while (text[end] && text[end] != ' ')
        end++;
      return apr_pstrndup(pool, text + start, end - start);
    }
  return NULL;
}
