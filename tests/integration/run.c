/* run.c: fork/exec with captured stdout and stderr for the integration
 * tests (Linux only; the Windows tests have their own runner). */
#include "run.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void
append(char **buf, size_t *len, const char *data, size_t n)
{
  *buf = realloc(*buf, *len + n + 1);
  memcpy(*buf + *len, data, n);
  *len += n;
  (*buf)[*len] = '\0';
}

run_result_t
run(const char *const *argv, const char *const *env, uid_t uid)
{
  run_result_t r = { -1, calloc(1, 1), calloc(1, 1) };
  int out[2], err[2], status;
  size_t out_len = 0, err_len = 0;
  pid_t pid;

  if (pipe(out) || pipe(err))
    abort();
  pid = fork();
  if (pid == 0) {
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(err[1], 2);
    close(out[0]);
    close(err[0]);
    if (uid != (uid_t)-1 && (setgid(uid) || setuid(uid)))
      _exit(126);
    execve(argv[0], (char *const *)argv, (char *const *)env);
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  for (int open_fds = 2; open_fds > 0;) {
    struct pollfd fds[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
    char buf[4096];
    if (poll(fds, 2, -1) < 0)
      break;
    for (int i = 0; i < 2; i++) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP)))
        continue;
      ssize_t n = read(fds[i].fd, buf, sizeof(buf));
      if (n <= 0) {
        close(fds[i].fd);
        if (i == 0) out[0] = -1; else err[0] = -1;
        open_fds--;
      }
      else if (i == 0)
        append(&r.out, &out_len, buf, (size_t)n);
      else
        append(&r.err, &err_len, buf, (size_t)n);
    }
    if (out[0] < 0 && err[0] < 0)
      break;
  }
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status)
                               : 128 + WTERMSIG(status);
  return r;
}

void
run_free(run_result_t *r)
{
  free(r->out);
  free(r->err);
}
