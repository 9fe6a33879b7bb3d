/* helpers.c (posix): the helper programs a server runs as its children
 * (the bus broker), as the system sees them.
 *
 * A helper never runs as root. When the server is root (an administrator
 * runs `tesserad license` in a terminal), the helper runs as the service
 * account, or as nobody without one: setpriv changes the account and then
 * sets the parent-death signal (a change of account clears that signal,
 * which is why the broker is not told to drop its rights itself with
 * mosquitto's `user`). The files it reads are handed to that account's
 * group, the ones it writes to the account, each opened without following
 * a symbolic link; whether it can reach them at all is asked of the
 * kernel, in a child that became the account.
 *
 * A helper an earlier, killed run left behind is stopped on the word of
 * its pid file only if this account wrote that file (owner, mode, no
 * link) and the pid runs the helper's executable: a fake pid in the file,
 * or a process that merely names the helper's files on its command line,
 * is never signalled. Whether the server that started it still runs is
 * told by the helper's parent (/proc/PID/stat): an orphan was adopted by
 * init or a subreaper.
 */
#include "tsp.h"
#include "ts_i18n.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <apr_strings.h>

#define SETPRIV "/usr/bin/setpriv"

/* ACCOUNT's entry (thread-safe lookup). */
static ts_error_t *
find_account(struct passwd **pw, const char *account, apr_pool_t *pool)
{
  struct passwd *found = NULL;
  long size = sysconf(_SC_GETPW_R_SIZE_MAX);
  char *buf;
  int rc;

  if (size <= 0)
    size = 16384;
  buf = apr_palloc(pool, (apr_size_t)size);
  *pw = apr_palloc(pool, sizeof(**pw));
  rc = getpwnam_r(account, *pw, buf, (size_t)size, &found);
  if (!found && rc)
    return ts_error__createf(TS__WHERE, TS_ENOENT, APR_FROM_OS_ERROR(rc),
                             NULL, N_("there is no account '%s' on this "
                                      "machine"), account);
  if (!found)
    return ts_error_createf(TS_ENOENT, "there is no account '%s' on this "
                            "machine", account);
  return NULL;
}

ts_error_t *
tsp_account_exists(const char *account, apr_pool_t *pool)
{
  struct passwd *pw;

  return find_account(&pw, account, pool);
}

ts_error_t *
tsp_helper_account(const char **account, apr_pool_t *pool)
{
  const char *const names[] = { tsp_service_account(), "nobody", NULL };
  struct passwd *pw;

  *account = NULL;
  if (geteuid() != 0)
    return NULL;
  for (int i = 0; names[i]; i++) {
    ts_error_t *err = find_account(&pw, names[i], pool);
    if (!err) {
      *account = names[i];
      return NULL;
    }
    ts_error_clear(err);
  }
  return ts_error_createf(TS_ECONFIG, "this server runs as root, and the "
    "programs it starts (the bus broker) must not: they run as the account "
    "'%s', or 'nobody' without it, and neither exists; create the service "
    "account (`useradd --system --no-create-home %s`) or run the server as "
    "an unprivileged user", tsp_service_account(), tsp_service_account());
}

/* PATH opened without following a link, and what it is; refuses what is
 * neither a file nor a directory. For messages, PATH is the pid file
 * when ACCOUNT is NULL, else a file handed to ACCOUNT. */
static ts_error_t *
open_nofollow(int *fd, struct stat *st, const char *path,
              const char *account)
{
  int e;

  *fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY
             | O_CLOEXEC);
  e = errno;
  if (*fd < 0 && e == ELOOP)
    return account ? ts_error_createf(TS_EPERM, "%s is a symbolic link, "
                                      "which is not followed (handing it to "
                                      "the account %s); remove it and start "
                                      "again", path, account)
                   : ts_error_createf(TS_EPERM, "the pid file %s is a "
                                      "symbolic link, which is not followed; "
                                      "remove it and start again", path);
  if (*fd < 0)   /* N_(): ts_error__createf's formats are not extracted */
    return ts_error__createf(TS__WHERE, e == ENOENT ? TS_ENOENT : TS_EOS,
                             APR_FROM_OS_ERROR(e), NULL, account
                             ? N_("open(\"%s\") failed (handing it to the "
                                  "account %s)")
                             : N_("open(\"%s\") failed (the pid file)"),
                             path, account);
  if (fstat(*fd, st) != 0 || !(S_ISREG(st->st_mode)
                               || S_ISDIR(st->st_mode))) {
    close(*fd);
    return account ? ts_error_createf(TS_EPERM, "%s is neither a file nor a "
                                      "directory (handing it to the account "
                                      "%s); remove it and start again", path,
                                      account)
                   : ts_error_createf(TS_EPERM, "the pid file %s is neither "
                                      "a file nor a directory; remove it and "
                                      "start again", path);
  }
  return NULL;
}

ts_error_t *
tsp_file_hand_over(const char *path, const char *account, int own,
                   apr_pool_t *pool)
{
  struct passwd *pw;
  struct stat st;
  int fd, rc;

  TS_ERR(find_account(&pw, account, pool));
  TS_ERR(open_nofollow(&fd, &st, path, account));
  if (own)
    rc = fchown(fd, pw->pw_uid, pw->pw_gid);
  else {
    /* ours; the account's group reads (and searches), others nothing */
    rc = fchown(fd, (uid_t)-1, pw->pw_gid);
    if (rc == 0)
      rc = fchmod(fd, (st.st_mode & S_IRWXU) | S_IRGRP
                      | (S_ISDIR(st.st_mode) ? S_IXGRP : 0));
  }
  if (rc != 0) {
    int e = errno;
    close(fd);
    return ts_error_aprf(APR_FROM_OS_ERROR(e), own
                         ? N_("cannot let the account %s own %s: changing "
                              "its owner or mode failed (this needs root)")
                         : N_("cannot let the account %s read %s: changing "
                              "its owner or mode failed (this needs root)"),
                         account, path);
  }
  close(fd);
  return NULL;
}

/* The directories from the top down to DIR: "/a", "/a/b", "/a/b/c". */
static apr_array_header_t *
path_prefixes(const char *dir, apr_pool_t *pool)
{
  apr_array_header_t *out = apr_array_make(pool, 8, sizeof(const char *));

  for (const char *p = dir + 1; ; p++)
    if (*p == '/' || *p == '\0') {
      if (p > dir + 1 && p[-1] != '/')
        APR_ARRAY_PUSH(out, const char *) = apr_pstrndup(pool, dir,
                                                         (apr_size_t)(p - dir));
      if (*p == '\0')
        break;
    }
  return out;
}

ts_error_t *
tsp_account_reaches(const char *dir, const char *account, apr_pool_t *pool)
{
  apr_array_header_t *dirs = path_prefixes(dir, pool);
  struct passwd *pw;
  gid_t groups[256];
  int ngroups = 256, status = 0, code;
  const char *denied;
  struct stat st;
  pid_t pid;

  TS_ERR(find_account(&pw, account, pool));
  if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) < 0)
    ngroups = 256;   /* more than that: the first 256 */
  pid = fork();
  if (pid < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "fork() failed (to check "
                         "what the account %s may reach)", account);
  if (pid == 0) {   /* only async-signal-safe calls from here */
    if (setgroups((size_t)ngroups, groups) != 0 || setgid(pw->pw_gid) != 0
        || setuid(pw->pw_uid) != 0)
      _exit(1);
    for (int i = 0; i < dirs->nelts; i++)
      if (access(APR_ARRAY_IDX(dirs, i, const char *), X_OK) != 0)
        _exit(2 + (i < 250 ? i : 250));
    _exit(0);
  }
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (code == 0)
    return NULL;
  if (code == 1)
    return ts_error_createf(TS_EOS, "cannot check what the account %s may "
                            "reach: becoming it failed (this needs root)",
                            account);
  denied = APR_ARRAY_IDX(dirs, code - 2 < dirs->nelts ? code - 2
                         : dirs->nelts - 1, const char *);
  if (stat(denied, &st) != 0)
    memset(&st, 0, sizeof(st));
  return ts_error_createf(TS_EPERM, "the account %s may not enter the "
                          "directory %s (mode %04o, owner uid %ld) on the way "
                          "to %s; let it (`chmod o+x %s`, or `setfacl -m "
                          "u:%s:x %s`)", account, denied,
                          (unsigned)(st.st_mode & 07777), (long)st.st_uid,
                          dir, denied, account, denied);
}

ts_error_t *
tsp_pidfile_read(const char **text, const char *path, apr_pool_t *pool)
{
  char *buf = apr_palloc(pool, 1024);
  struct stat st;
  ssize_t n;
  int fd;

  *text = NULL;
  TS_ERR(open_nofollow(&fd, &st, path, NULL));
  if (!S_ISREG(st.st_mode) || st.st_uid != geteuid()
      || (st.st_mode & (S_IWGRP | S_IWOTH))) {
    close(fd);
    if (!S_ISREG(st.st_mode))
      return ts_error_createf(TS_EPERM, "the pid file %s is not believed: "
                              "it is not a regular file, so it may name any "
                              "process", path);
    if (st.st_uid != geteuid())
      return ts_error_createf(TS_EPERM, "the pid file %s is not believed: "
                              "it is owned by uid %ld, not by this server's "
                              "uid %ld, so it may name any process", path,
                              (long)st.st_uid, (long)geteuid());
    return ts_error_createf(TS_EPERM, "the pid file %s is not believed: "
                            "other accounts may write it (mode %04o), so it "
                            "may name any process", path,
                            (unsigned)(st.st_mode & 07777));
  }
  n = read(fd, buf, 1023);
  close(fd);
  if (n < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "cannot read the pid "
                         "file %s", path);
  buf[n] = '\0';
  *text = buf;
  return NULL;
}

long
tsp_process_self(void)
{
  return (long)getpid();
}

int
tsp_process_alive(long pid)
{
  return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/* The start of /proc/PID/WHAT into BUF (SIZE bytes, NUL-terminated);
 * how many bytes were read, or -1 when it cannot be read (PID gone). */
static long
read_proc(long pid, const char *what, char *buf, size_t size)
{
  char path[64];
  FILE *f;
  size_t n;

  snprintf(path, sizeof(path), "/proc/%ld/%s", pid, what);
  f = fopen(path, "r");
  if (!f)
    return -1;
  n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = '\0';
  return (long)n;
}

long
tsp_process_parent(long pid)
{
  char buf[1024];
  const char *close_paren;
  long parent = 0;

  /* "pid (comm) state ppid ...": comm may hold spaces and parentheses,
   * so the fields after it are counted from its last ')' */
  if (pid <= 0 || read_proc(pid, "stat", buf, sizeof(buf)) < 0)
    return 0;
  close_paren = strrchr(buf, ')');
  if (close_paren && sscanf(close_paren + 1, " %*c %ld", &parent) != 1)
    parent = 0;
  return parent > 0 ? parent : 0;
}

int
tsp_process_runs_with(long pid, const char *program, const char *needle)
{
  char path[64], buf[4096];
  struct stat want, got;
  long n;

  if (pid <= 0 || !program || stat(program, &want) != 0)
    return 0;
  /* the process's executable: the same file (device and inode), even
   * when it was started through a link or another name */
  snprintf(path, sizeof(path), "/proc/%ld/exe", pid);
  if (stat(path, &got) != 0 || got.st_dev != want.st_dev
      || got.st_ino != want.st_ino)
    return 0;
  if (!needle)
    return 1;
  n = read_proc(pid, "cmdline", buf, sizeof(buf));   /* NUL-separated */
  for (long i = 0; i < n; i++)
    if (buf[i] == '\0')
      buf[i] = ' ';
  return n >= 0 && strstr(buf, needle) != NULL;
}

ts_error_t *
tsp_child_argv(const char ***wrapped, const char **argv, const char *account,
               apr_pool_t *pool)
{
  struct passwd *pw = NULL;
  const char **out;
  int n = 0, i = 0;

  if (account)
    TS_ERR(find_account(&pw, account, pool));
  if (access(SETPRIV, X_OK) != 0) {
    if (account)
      return ts_error_createf(TS_EUNAVAIL, "cannot start %s as the account "
                              "%s (this server runs as root, and it must "
                              "not): %s, which changes the account, is "
                              "missing; install util-linux", argv[0],
                              account, SETPRIV);
    *wrapped = argv;
    return NULL;
  }
  while (argv[n])
    n++;
  out = apr_palloc(pool, (size_t)(n + 9) * sizeof(*out));
  out[i++] = SETPRIV;
  if (pw) {
    out[i++] = apr_psprintf(pool, "--reuid=%ld", (long)pw->pw_uid);
    out[i++] = apr_psprintf(pool, "--regid=%ld", (long)pw->pw_gid);
    out[i++] = "--init-groups";
  }
  out[i++] = "--pdeathsig";
  out[i++] = "TERM";
  out[i++] = "--";
  memcpy(out + i, argv, (size_t)(n + 1) * sizeof(*out));
  *wrapped = out;
  return NULL;
}
