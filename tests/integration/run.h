/* run.h: run a real program as a user would, and collect what it says. */
#ifndef TESTS_RUN_H
#define TESTS_RUN_H

#include <sys/types.h>

typedef struct run_result_t {
  int status;      /* exit status, or 128 + signal */
  char *out;       /* stdout, NUL-terminated, malloc'ed */
  char *err;       /* stderr */
} run_result_t;

/* Run ARGV (NULL-terminated) with ENV (NULL-terminated "NAME=value"
 * entries replacing the whole environment), as UID unless UID is -1,
 * with stdin from /dev/null. */
run_result_t run(const char *const *argv, const char *const *env, uid_t uid);

void run_free(run_result_t *r);

#endif
