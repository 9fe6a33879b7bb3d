/* pseudo_lang.h: a made-up language for tests that messages are whole
 * sentences (issue 16), on Linux.
 *
 * pseudo_lang_speak() builds the catalog of the language "xx"
 * (tests/i18n/pseudo.sh: every message the code marks, translated into
 * itself in capitals, printf directives kept) and speaks it, as
 * INOLANG=xx would. An error's text for people (ts_error_message) then
 * shows every word of Tessera's own formats in capitals, while an English
 * fragment that was passed in as a %s argument ("exited with status 1",
 * "it is not a regular file") keeps its small letters, next to the values
 * that are meant to (paths, names, what a child wrote). The English text
 * for logs (ts_error_text) is unchanged. */
#ifndef PSEUDO_LANG_H
#define PSEUDO_LANG_H

#include <apr_pools.h>

/* Speak "xx" in this process (the catalog is made in a directory of its
 * own, removed with POOL). Fails the test when it cannot be made. */
void pseudo_lang_speak(apr_pool_t *pool);

/* The first word of TEXT in small letters that is not inside one of
 * VALUES (NULL-terminated: the paths, names and other text the message
 * quotes; a value ending in '*' is the start of a word, such as a
 * temporary file's name), or NULL when there is none: in "xx", a word of
 * ours left untranslated. In POOL. */
const char *pseudo_lang_leak(const char *text, const char *const *values,
                             apr_pool_t *pool);

#endif
