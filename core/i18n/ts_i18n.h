/* ts_i18n.h: the language of the messages people read.
 *
 * INOLANG (en | de) names the language tessera-admin speaks and the
 * servers answer their clients in. Messages are written in English in the
 * code and looked up in a GNU gettext catalog (core/i18n/de.po, compiled
 * with msgfmt into <locale dir>/de/LC_MESSAGES/tessera.mo) when another
 * language is chosen. What is for programs (JSON keys and values, exit
 * codes) and the servers' logs (for support and search) stay English:
 * errors carry both texts (ts_error.h), so a log line and an answer can
 * differ in language.
 *
 * Marking: _("text") translates at once; N_("text") only marks a string
 * that is translated later (a table, a format handed on); ts_ntext()
 * chooses the singular or the plural form by a count. The catalog test
 * (tests/i18n/catalog.sh) extracts every marked string with xgettext and
 * fails on one the German catalog lacks.
 *
 * Threads: ts_i18n_set() once at start, before other threads; the rest
 * may be called from any thread.
 */
#ifndef TS_I18N_H
#define TS_I18N_H

/* The translation of MSGID in the chosen language, or MSGID. (format_arg:
 * the compiler checks a translated format against its arguments as if it
 * were the English literal.) */
const char *ts_i18n_text(const char *msgid)
  __attribute__((format_arg(1)));

/* SINGULAR or PLURAL by N, translated. */
const char *ts_ntext(const char *singular, const char *plural,
                     unsigned long n)
  __attribute__((format_arg(1))) __attribute__((format_arg(2)));

#define _(msgid) ts_i18n_text(msgid)
#define N_(msgid) msgid

/* Speak LANG ("en", "de"; NULL or "en": English). gettext reads the
 * language from the environment variable LANGUAGE, which the caller sets
 * to LANG beforehand (tsp_env_set: the C library must see it). The
 * catalog is looked
 * for beside PROGRAM (the running program's path): in <dir>/locale,
 * <dir>/../locale (the build tree) and <dir>/../share/locale (an
 * installation), then in the directory the build was configured to
 * install to. Returns NULL, or (English is spoken then) a message for
 * people saying which catalog was missing where and how to fix it. The
 * returned text is static or lives until the next call. */
const char *ts_i18n_set(const char *lang, const char *program);

/* The language spoken: "en" or the one ts_i18n_set() took. */
const char *ts_i18n_lang(void);

/* Non-zero when messages are translated (a language other than English
 * with its catalog found). */
int ts_i18n_translating(void);

#endif /* TS_I18N_H */
