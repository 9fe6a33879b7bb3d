/* service.c (posix): how a Tessera server lives as a Linux process.
 *
 * Foreground is the default and the new-style daemon of systemd's
 * daemon(7): no fork; readiness, reloads and the stop are announced on
 * $NOTIFY_SOCKET (READY=1 only once start() returned, that is once the
 * port accepts connections; RELOADING=1 with MONOTONIC_USEC=; STOPPING=1;
 * STATUS= lines; WATCHDOG=1 at half of $WATCHDOG_USEC). The notification
 * protocol is one datagram per message, sent directly; a failed
 * notification is logged at debug level and never fatal.
 *
 * --daemon is the classic mode for systems without systemd: fork, setsid,
 * fork; stdio to /dev/null; chdir("/"); umask 027. The original parent
 * waits on a readiness pipe and exits 0 only once the grandchild serves,
 * or prints the grandchild's error and exits with its status.
 *
 * In both modes a pid file, when given, is locked for the life of the
 * process: a second instance is refused with the first one's pid, a stale
 * file (no lock held) is taken over.
 *
 * Signal handlers only set flags and wake the main loop through a pipe:
 * SIGTERM/SIGINT stop, SIGHUP reloads. The stop must finish within the
 * deadline, or the process exits with EX_SOFTWARE.
 */
#include "tsp.h"

#include "ts_log.h"

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <apr_env.h>
#include <apr_strings.h>

struct tsp_service_t {
  const tsp_service_hooks_t *hooks;
  const tsp_service_options_t *options;
  const char *notify_path;      /* $NOTIFY_SOCKET, or NULL */
  int ready_fd;                 /* --daemon: write end of the readiness pipe */
  apr_pool_t *pool;
};

/* The only process-wide state: what the signal handlers may touch. */
static volatile sig_atomic_t stop_requested, reload_requested;
static int wake_fd = -1;

static void
on_signal(int sig)
{
  int saved = errno;

  if (sig == SIGHUP)
    reload_requested = 1;
  else
    stop_requested = 1;
  if (wake_fd >= 0)
    (void)!write(wake_fd, "", 1);
  errno = saved;
}

void
tsp_service_request_stop(void)
{
  on_signal(SIGTERM);   /* what the signal does, without a signal */
}

static void
on_deadline(int sig)
{
  (void)sig;
  static const char msg[] = "tesserad: the stop took longer than its "
                            "deadline; exiting\n";
  (void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
  _exit(TS_EX_SOFTWARE);
}

/* sd_notify(3)'s protocol: one datagram to the AF_UNIX socket named by
 * $NOTIFY_SOCKET ('@' = abstract namespace). */
static void
notify(tsp_service_t *svc, const char *message)
{
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  size_t len;
  int fd;

  if (!svc->notify_path)
    return;
  len = strlen(svc->notify_path);
  if (len >= sizeof(sa.sun_path)) {
    ts_log(svc->options->log, TS_LOG_DEBUG, "NOTIFY_SOCKET is too long for a socket address; "
        "not notifying");
    return;
  }
  memcpy(sa.sun_path, svc->notify_path, len);
  if (sa.sun_path[0] == '@')
    sa.sun_path[0] = '\0';
  fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || sendto(fd, message, strlen(message), MSG_NOSIGNAL,
                       (struct sockaddr *)&sa,
                       (socklen_t)(offsetof(struct sockaddr_un, sun_path)
                                   + len)) < 0)
    ts_log(svc->options->log, TS_LOG_DEBUG, "sendto(\"%s\") failed: %s; systemd was not told \"%s\"",
        svc->notify_path, strerror(errno), message);
  if (fd >= 0)
    close(fd);
}

void
tsp_service_status(tsp_service_t *service, const char *text)
{
  notify(service, apr_pstrcat(service->pool, "STATUS=", text, NULL));
}

static apr_uint64_t
monotonic_usec(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (apr_uint64_t)ts.tv_sec * APR_UINT64_C(1000000)
         + (apr_uint64_t)ts.tv_nsec / 1000;
}

/* Lock PATH and write our pid into it. Never through a symbolic link
 * (O_NOFOLLOW): one planted there would have this server, often root,
 * truncate and overwrite the file it points to; nor into anything but a
 * regular file (O_NONBLOCK while opening, so a planted FIFO cannot hang
 * the start). */
static ts_error_t *
lock_pidfile(int *fd_p, const char *path)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  struct stat st;
  char buf[32];
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY
                      | O_NONBLOCK, 0644);

  if (fd < 0 && errno == ELOOP)
    return ts_error_createf(TS_EPERM, "the pid file %s is a symbolic link, "
                            "and a server does not write through links (one "
                            "planted there would make it overwrite the file "
                            "it points to): remove it (`rm %s`), and check "
                            "who else may write in its directory", path,
                            path);
  if (fd < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "open(\"%s\") failed",
                         path);
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return ts_error_createf(TS_EPERM, "the pid file %s is not a regular "
                            "file: remove it (`rm %s`), and check who else "
                            "may write in its directory", path, path);
  }
  if (fcntl(fd, F_SETLK, &fl) < 0) {
    int e = errno;
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
    if (e == EAGAIN || e == EACCES)
      return ts_error_createf(TS_EUNAVAIL, "another instance (pid %s) "
                              "holds the pid file %s; stop it first, or "
                              "check what runs there with `ps -p %s`",
                              *buf ? buf : "?", path, *buf ? buf : "?");
    return ts_error_aprf(APR_FROM_OS_ERROR(e), "fcntl(F_SETLK, \"%s\") "
                         "failed", path);
  }
  snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, strlen(buf), 0) < 0) {
    int e = errno;
    close(fd);
    return ts_error_aprf(APR_FROM_OS_ERROR(e), "cannot write the pid file "
                         "%s", path);
  }
  *fd_p = fd;
  return NULL;
}

long
tsp_pidfile_holder(const char *path)
{
  struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY
                      | O_NONBLOCK);
  long pid = 0;

  if (fd < 0)
    return 0;
  if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
    pid = (long)fl.l_pid;
  close(fd);
  return pid;
}

/* The original parent of --daemon: wait for the grandchild's word. */
static int
await_daemon(int ready_fd, pid_t child)
{
  char buf[4096];
  size_t got = 0;
  ssize_t n;
  int status;

  while (got < sizeof(buf) - 1
         && (n = read(ready_fd, buf + got, sizeof(buf) - 1 - got)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    got += (size_t)n;
  }
  buf[got] = '\0';
  waitpid(child, &status, 0);   /* the intermediate child exits at once */
  if (strncmp(buf, "OK ", 3) == 0) {
    printf("%s", buf + 3);
    return 0;
  }
  if (strncmp(buf, "ERR ", 4) == 0) {
    char *msg;
    long code = strtol(buf + 4, &msg, 10);
    fprintf(stderr, "tesserad: %s\n", msg + 1);
    return (int)code;
  }
  fprintf(stderr, "tesserad: the daemon exited before it was ready; its "
          "log file says why\n");
  return TS_EX_SOFTWARE;
}

/* Become a classic daemon. Returns in the grandchild only; the original
 * parent exits here with the grandchild's verdict. */
static ts_error_t *
daemonize(int *ready_fd)
{
  int pipefd[2], devnull;
  pid_t pid;

  if (pipe(pipefd) < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "pipe() failed");
  fflush(NULL);
  pid = fork();
  if (pid < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "fork() failed");
  if (pid > 0) {
    close(pipefd[1]);
    exit(await_daemon(pipefd[0], pid));
  }
  close(pipefd[0]);
  if (setsid() < 0)
    _exit(TS_EX_OSERR);
  pid = fork();
  if (pid < 0)
    _exit(TS_EX_OSERR);
  if (pid > 0)
    _exit(0);
  if (chdir("/") < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "chdir(\"/\") failed");
  umask(027);
  devnull = open("/dev/null", O_RDWR);
  if (devnull < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno),
                         "open(\"/dev/null\") failed");
  dup2(devnull, STDIN_FILENO);
  dup2(devnull, STDOUT_FILENO);
  dup2(devnull, STDERR_FILENO);
  if (devnull > STDERR_FILENO)
    close(devnull);
  fcntl(pipefd[1], F_SETFD, FD_CLOEXEC);
  *ready_fd = pipefd[1];
  return NULL;
}

static void
tell_parent(tsp_service_t *svc, const char *text)
{
  if (svc->ready_fd < 0)
    return;
  (void)!write(svc->ready_fd, text, strlen(text));
  close(svc->ready_fd);
  svc->ready_fd = -1;
}

static ts_error_t *
install_signals(int wake[2])
{
  struct sigaction sa;

  if (pipe(wake) < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "pipe() failed");
  fcntl(wake[0], F_SETFL, O_NONBLOCK);
  fcntl(wake[1], F_SETFL, O_NONBLOCK);
  fcntl(wake[0], F_SETFD, FD_CLOEXEC);
  fcntl(wake[1], F_SETFD, FD_CLOEXEC);
  wake_fd = wake[1];
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);
  sa.sa_handler = SIG_IGN;
  sigaction(SIGPIPE, &sa, NULL);
  return NULL;
}

/* Half of $WATCHDOG_USEC in milliseconds, or -1 without a watchdog (or
 * when it is meant for another process, $WATCHDOG_PID). */
static int
watchdog_interval_ms(apr_pool_t *pool)
{
  char *usec, *wpid;
  long long v;

  if (apr_env_get(&usec, "WATCHDOG_USEC", pool) != APR_SUCCESS)
    return -1;
  if (apr_env_get(&wpid, "WATCHDOG_PID", pool) == APR_SUCCESS
      && atol(wpid) != (long)getpid())
    return -1;
  v = atoll(usec);
  if (v <= 0)
    return -1;
  v = v / 2000;
  return v > 0 ? (int)v : 1;
}

/* One reload (SIGHUP), in a pool of its own. */
static void
reload(tsp_service_t *svc)
{
  apr_pool_t *pool;
  char text[80];
  ts_error_t *err;

  apr_pool_create(&pool, svc->pool);
  apr_snprintf(text, sizeof(text), "RELOADING=1\nMONOTONIC_USEC=%"
               APR_UINT64_T_FMT "\n"
               "STATUS=reloading", monotonic_usec());
  notify(svc, text);
  err = svc->hooks->reload(svc->hooks->baton, pool);
  if (err) {
    ts_log(svc->options->log, TS_LOG_ERROR, "reload failed, still running "
           "on the previous configuration: %s", ts_error_text(err, pool));
    ts_error_clear(err);
  }
  apr_pool_destroy(pool);
  notify(svc, "READY=1\nSTATUS=serving");
}

static void
main_loop(tsp_service_t *svc, int wake_rd)
{
  int wd = watchdog_interval_ms(svc->pool);
  char drain[64];

  if (wd > 0)
    notify(svc, "WATCHDOG=1");
  while (!stop_requested) {
    struct pollfd p = { .fd = wake_rd, .events = POLLIN };
    int n = poll(&p, 1, wd);

    if (n < 0 && errno != EINTR)
      ts_log(svc->options->log, TS_LOG_ERROR, "poll() failed: %s", strerror(errno));
    while (read(wake_rd, drain, sizeof(drain)) > 0)
      ;
    if (wd > 0)
      notify(svc, "WATCHDOG=1");
    if (reload_requested && !stop_requested) {
      reload_requested = 0;
      reload(svc);
    }
  }
}

ts_error_t *
tsp_service_run(int *exit_status, const tsp_service_options_t *options,
                const tsp_service_hooks_t *hooks, apr_pool_t *pool)
{
  tsp_service_t *svc = apr_pcalloc(pool, sizeof(*svc));
  char *notify_path;
  int wake[2], pid_fd = -1;
  ts_error_t *err;

  svc->hooks = hooks;
  svc->options = options;
  svc->pool = pool;
  svc->ready_fd = -1;
  if (apr_env_get(&notify_path, "NOTIFY_SOCKET", pool) == APR_SUCCESS
      && *notify_path)
    svc->notify_path = notify_path;
  /* Children of ours must not talk to systemd in our name. */
  apr_env_delete("NOTIFY_SOCKET", pool);

  if (options->mode == TSP_RUN_DAEMON)
    TS_ERR(daemonize(&svc->ready_fd));
  err = install_signals(wake);
  if (!err && options->pidfile)
    err = lock_pidfile(&pid_fd, options->pidfile);
  if (!err) {
    notify(svc, "STATUS=starting");
    err = hooks->start(hooks->baton, svc);
  }
  if (err) {
    int status = ts_error_exit_status(err);
    const char *text = ts_error_text(err, pool);
    int os_errno = 0;
    for (const ts_error_t *e = err; e; e = e->cause)
      if (e->apr_err && e->apr_err < APR_OS_START_ERROR)
        os_errno = e->apr_err;
    notify(svc, apr_psprintf(pool, "STATUS=failed: %s\nERRNO=%d", text,
                             os_errno));
    tell_parent(svc, apr_psprintf(pool, "ERR %d %s", status, text));
    if (pid_fd >= 0) {
      unlink(options->pidfile);
      close(pid_fd);
    }
    *exit_status = status;
    return err;
  }
  notify(svc, "READY=1\nSTATUS=serving");
  tell_parent(svc, apr_psprintf(pool, "OK %s serving, pid %ld\n",
                                options->name, (long)getpid()));

  main_loop(svc, wake[0]);

  notify(svc, "STOPPING=1\nSTATUS=stopping");
  {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_deadline;
    sigaction(SIGALRM, &sa, NULL);
    alarm((unsigned)(apr_time_sec(options->stop_deadline) > 0
                     ? apr_time_sec(options->stop_deadline) : 1));
  }
  hooks->stop(hooks->baton);
  alarm(0);
  if (pid_fd >= 0) {
    unlink(options->pidfile);
    close(pid_fd);
  }
  *exit_status = TS_EX_OK;
  return NULL;
}

ts_error_t *
tsp_fd_limit_raise(long *soft, long *hard, long want)
{
  struct rlimit rl;

  if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno),
                         "getrlimit(RLIMIT_NOFILE) failed");
  if (want == 0 || (want > 0 && (rlim_t)want > rl.rlim_max))
    want = rl.rlim_max == RLIM_INFINITY ? -1 : (long)rl.rlim_max;
  if (want > 0 && (rlim_t)want > rl.rlim_cur) {
    rl.rlim_cur = (rlim_t)want;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
      return ts_error_aprf(APR_FROM_OS_ERROR(errno),
                           "setrlimit(RLIMIT_NOFILE, %ld) failed", want);
  }
  *soft = rl.rlim_cur == RLIM_INFINITY ? -1 : (long)rl.rlim_cur;
  *hard = rl.rlim_max == RLIM_INFINITY ? -1 : (long)rl.rlim_max;
  return NULL;
}

int
tsp_stderr_is_journal(void)
{
  char *stream;
  struct stat st;
  unsigned long long dev, ino;
  apr_pool_t *pool;
  int yes = 0;

  apr_pool_create(&pool, NULL);
  /* $JOURNAL_STREAM is "device:inode" of the journal's socket; it only
   * counts when stderr really is that socket. */
  if (apr_env_get(&stream, "JOURNAL_STREAM", pool) == APR_SUCCESS
      && sscanf(stream, "%llu:%llu", &dev, &ino) == 2
      && fstat(STDERR_FILENO, &st) == 0)
    yes = (unsigned long long)st.st_dev == dev
          && (unsigned long long)st.st_ino == ino;
  apr_pool_destroy(pool);
  return yes;
}

void
tsp_allocator_tune(void)
{
#ifdef M_TRIM_THRESHOLD
  /* 256 MiB: never in practice; also fixes the mmap threshold */
  mallopt(M_TRIM_THRESHOLD, 256 * 1024 * 1024);
#endif
}
