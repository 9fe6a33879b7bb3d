/* access.c (posix): what an account may do in a directory tree.
 *
 * Root passes every permission check, so the scan runs in a child process
 * that has become the account (initgroups, setgid, setuid): the kernel
 * then decides with the account's groups, the mode bits and POSIX ACLs,
 * exactly as it will for the service. One pass over the tree; the child
 * reports through a pipe, one line per denied path, then a summary: what
 * was denied as flags and numbers (errno), which the parent puts into
 * whole sentences for people.
 *
 * Only `tessera-admin doctor` scans access, so the texts of the report
 * are made in the language of people with _() (core/i18n/fragments
 * recipe 5): they are shown, never logged.
 */
#include "tsp.h"
#include "ts_i18n.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <sys/stat.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <apr_strings.h>

static FILE *report_out;
static long scanned, denied;

/* "D <denied> <path>": DENIED is 1 (read) + 2 (write) + 4 (search). */
static void
report_denied(int dirfd, const char *path, const char *name, int is_dir)
{
  int r = faccessat(dirfd, name, R_OK, 0) != 0;
  int w = faccessat(dirfd, name, W_OK, 0) != 0;
  int x = is_dir && faccessat(dirfd, name, X_OK, 0) != 0;

  denied++;
  fprintf(report_out, "D %d %s\n", r | w << 1 | x << 2, path);
}

/* One pass, one access check per entry, no stat: the directory entries'
 * d_type tells files from directories (a stat only where it does not),
 * so the walk costs about what `find -perm` costs. */
static void
walk(int dirfd, const char *path)
{
  DIR *d = fdopendir(dirfd);
  struct dirent *e;

  if (!d) {
    close(dirfd);
    return;
  }
  while ((e = readdir(d))) {
    unsigned char type = e->d_type;
    char *child_path;
    int is_dir;

    if (e->d_name[0] == '.' && (e->d_name[1] == '\0'
        || (e->d_name[1] == '.' && e->d_name[2] == '\0')))
      continue;
    if (type == DT_UNKNOWN) {
      struct stat st;
      if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;
      type = S_ISDIR(st.st_mode) ? DT_DIR : S_ISLNK(st.st_mode) ? DT_LNK
             : DT_REG;
    }
    if (type == DT_LNK)
      continue;
    scanned++;
    is_dir = type == DT_DIR;
    if (faccessat(dirfd, e->d_name, is_dir ? R_OK | W_OK | X_OK
                                            : R_OK | W_OK, 0) != 0) {
      if (asprintf(&child_path, "%s/%s", path, e->d_name) >= 0) {
        report_denied(dirfd, child_path, e->d_name, is_dir);
        free(child_path);
      }
      if (is_dir && faccessat(dirfd, e->d_name, R_OK | X_OK, 0) != 0)
        continue;   /* cannot look inside */
    }
    if (is_dir) {
      int fd = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY
                      | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0 && asprintf(&child_path, "%s/%s", path, e->d_name) >= 0) {
        walk(fd, child_path);
        free(child_path);
      }
      else if (fd >= 0)
        close(fd);
    }
  }
  closedir(d);
}

static void
child(int fd, const char *dir, const struct passwd *pw,
      const char *const *probes)
{
  report_out = fdopen(fd, "w");
  if (!report_out)
    _exit(2);
  if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0
      || setuid(pw->pw_uid) != 0) {
    fprintf(report_out, "E %d\n", errno);
    fclose(report_out);
    _exit(3);
  }
  scanned++;
  if (access(dir, R_OK | W_OK | X_OK) != 0)
    report_denied(AT_FDCWD, dir, dir, 1);
  {
    int top = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (top >= 0)
      walk(top, dir);
  }
  for (int i = 0; probes && probes[i]; i++) {
    char tmpl[4096];
    int t;
    snprintf(tmpl, sizeof(tmpl), "%s/.tessera-probe-XXXXXX", probes[i]);
    t = mkstemp(tmpl);
    if (t < 0)   /* "P c|r <errno> <dir>": create or remove failed */
      fprintf(report_out, "P c %d %s\n", errno, probes[i]);
    else {
      close(t);
      if (unlink(tmpl) != 0)
        fprintf(report_out, "P r %d %s\n", errno, probes[i]);
    }
  }
  fprintf(report_out, "S %ld %ld\n", scanned, denied);
  fclose(report_out);
  _exit(0);
}

/* PATH and what DENIED (see report_denied) withholds, for people. */
static const char *
denied_text(int denied_bits, const char *path, apr_pool_t *pool)
{
  switch (denied_bits) {
  case 1: return apr_psprintf(pool, _("%s: no read"), path);
  case 2: return apr_psprintf(pool, _("%s: no write"), path);
  case 3: return apr_psprintf(pool, _("%s: no read/write"), path);
  case 4: return apr_psprintf(pool, _("%s: no search"), path);
  case 5: return apr_psprintf(pool, _("%s: no read/search"), path);
  case 6: return apr_psprintf(pool, _("%s: no write/search"), path);
  default: return apr_psprintf(pool, _("%s: no read/write/search"), path);
  }
}

/* A probe's line ("c|r <errno> <dir>") for people. */
static const char *
probe_text(const char *line, apr_pool_t *pool)
{
  char *dir;
  int e = (int)strtol(line + 2, &dir, 10);

  dir += *dir == ' ';
  return line[0] == 'c'
    ? apr_psprintf(pool, _("%s: cannot create a file: %s"), dir, strerror(e))
    : apr_psprintf(pool, _("%s: cannot remove a file: %s"), dir,
                   strerror(e));
}

/* "tessera (groups tessera, agents)": the groups initgroups() gives. */
static const char *
groups_of(const struct passwd *pw, apr_pool_t *pool)
{
  gid_t groups[256];
  int n = 256;
  const char *text = "";

  if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) < 0)
    n = 0;
  for (int i = 0; i < n; i++) {
    struct group *gr = getgrgid(groups[i]);
    text = gr ? apr_pstrcat(pool, text, i ? ", " : "", gr->gr_name, NULL)
              : apr_psprintf(pool, "%s%s%ld", text, i ? ", " : "",
                             (long)groups[i]);
  }
  return apr_psprintf(pool, _("%s (groups %s)"), pw->pw_name, text);
}

ts_error_t *
tsp_access_scan(tsp_access_report_t **report_p, const char *dir,
                const char *account, const char *const *probe_dirs,
                apr_pool_t *pool)
{
  tsp_access_report_t *report = apr_pcalloc(pool, sizeof(*report));
  struct passwd *pw = getpwnam(account);
  int pipefd[2], status, summary = 0;
  char line[8192];
  FILE *in;
  pid_t pid;

  if (!pw)
    return ts_error_createf(TS_ENOENT, "there is no account '%s' on this "
                            "machine", account);
  if (geteuid() != 0)
    return ts_error_createf(TS_EPERM, "checking access as '%s' needs root "
                            "(only root can become another account): run "
                            "`sudo tessera-admin doctor`", account);
  if (pipe(pipefd) < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "pipe() failed");
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "fork() failed");
  if (pid == 0) {
    close(pipefd[0]);
    child(pipefd[1], dir, pw, probe_dirs);
  }
  close(pipefd[1]);
  report->identity = groups_of(pw, pool);
  report->examples = apr_array_make(pool, 10, sizeof(const char *));
  report->probes = apr_array_make(pool, 2, sizeof(const char *));
  in = fdopen(pipefd[0], "r");
  while (in && fgets(line, sizeof(line), in)) {
    line[strcspn(line, "\n")] = '\0';
    if (line[0] == 'D' && line[1] && report->examples->nelts < 10)
      APR_ARRAY_PUSH(report->examples, const char *) =
        denied_text(line[2] - '0', line + 4, pool);
    else if (line[0] == 'P' && line[1])
      APR_ARRAY_PUSH(report->probes, const char *) =
        probe_text(line + 2, pool);
    else if (line[0] == 'S')
      summary = sscanf(line + 2, "%ld %ld", &report->scanned,
                       &report->denied) == 2;
    else if (line[0] == 'E') {
      int e = atoi(line + 2);
      fclose(in);
      waitpid(pid, &status, 0);
      return ts_error__createf(TS__WHERE, TS_EOS, APR_FROM_OS_ERROR(e), NULL,
                               N_("cannot become %s"), account);
    }
  }
  if (in)
    fclose(in);
  waitpid(pid, &status, 0);
  if (!summary)
    return ts_error_createf(TS_EOS, "the access check as '%s' ended "
                            "without a result (exit status %d)", account,
                            status);
  *report_p = report;
  return NULL;
}

const char *
tsp_access_fix(const char *dir, const char *account, apr_pool_t *pool)
{
  return apr_psprintf(pool, _("setfacl -R -m u:%s:rwX -m d:u:%s:rwX %s (or "
                      "a group shared by the agents' accounts with chmod -R "
                      "g+rwX)"), account, account, dir);
}
