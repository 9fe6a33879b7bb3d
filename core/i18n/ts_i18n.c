/* ts_i18n.c: choosing the language of messages (GNU gettext). */
#include "ts_i18n.h"

#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DOMAIN "tessera"

static int translating;
static char lang[8] = "en";
static char problem[1024];

const char *
ts_i18n_text(const char *msgid)
{
  return translating ? dgettext(DOMAIN, msgid) : msgid;
}

const char *
ts_ntext(const char *singular, const char *plural, unsigned long n)
{
  if (translating)
    return dngettext(DOMAIN, singular, plural, n);
  return n == 1 ? singular : plural;
}

const char *
ts_i18n_lang(void)
{
  return lang;
}

int
ts_i18n_translating(void)
{
  return translating;
}

/* Whether DIR holds LANG's catalog. */
static int
has_catalog(const char *dir, const char *language)
{
  char path[4096];
  struct stat st;

  if (snprintf(path, sizeof(path), "%s/%s/LC_MESSAGES/" DOMAIN ".mo", dir,
               language) >= (int)sizeof(path))
    return 0;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The directory that holds LANG's catalog, into BUF; 0 when none does. */
static int
find_catalog(char *buf, size_t size, const char *language,
             const char *program)
{
  static const char *const beside[] = { "locale", "../locale",
                                        "../share/locale" };
  size_t dirlen = 0;

  if (program) {
    const char *slash = strrchr(program, '/');
    const char *bslash = strrchr(program, '\\');
    if (bslash && (!slash || bslash > slash))
      slash = bslash;
    dirlen = slash ? (size_t)(slash - program) : 0;
  }
  for (size_t i = 0; program && dirlen && i < 3; i++)
    if (snprintf(buf, size, "%.*s/%s", (int)dirlen, program, beside[i])
        < (int)size && has_catalog(buf, language))
      return 1;
  if (snprintf(buf, size, "%s", TS_LOCALEDIR) < (int)size
      && has_catalog(buf, language))
    return 1;
  return 0;
}

const char *
ts_i18n_set(const char *language, const char *program)
{
  char dir[4096];
  const char *now;

  translating = 0;
  snprintf(lang, sizeof(lang), "en");
  if (!language || !*language || strcmp(language, "en") == 0)
    return NULL;
  if (strlen(language) >= sizeof(lang) || strspn(language,
      "abcdefghijklmnopqrstuvwxyz") != strlen(language)) {
    snprintf(problem, sizeof(problem), "INOLANG=%.16s is not a language "
             "code; messages stay English. Set INOLANG to en or de.",
             language);
    return problem;
  }
  if (!find_catalog(dir, sizeof(dir), language, program)) {
    snprintf(problem, sizeof(problem), "no message catalog for INOLANG=%s "
             "(%s/LC_MESSAGES/" DOMAIN ".mo) beside %s or in %s; messages "
             "stay English. Reinstall Tessera, or set INOLANG to en.",
             language, language, program ? program : "this program",
             TS_LOCALEDIR);
    return problem;
  }
  /* gettext takes the language from LANGUAGE (the caller's to set), which
   * glibc ignores while the message locale is "C": C.UTF-8 is C in all
   * else and lets it count. Numbers and dates keep the C locale: LC_NUMERIC
   * is not touched. (libintl on Windows reads only the environment.) */
  now = setlocale(LC_MESSAGES, NULL);
  if (!now || strcmp(now, "C") == 0 || strcmp(now, "POSIX") == 0)
    setlocale(LC_MESSAGES, "C.UTF-8");
  bindtextdomain(DOMAIN, dir);
  bind_textdomain_codeset(DOMAIN, "UTF-8");
  snprintf(lang, sizeof(lang), "%s", language);
  translating = 1;
  return NULL;
}
