/* ipc.c (posix): System V message queues and who listens on a port, for
 * the doctor's checks. Read from /proc, as ipcs(1) and ss(8) do. */
#include "tsp.h"

#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>
#include <apr_strings.h>

static int
alive(long pid)
{
  return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

ts_error_t *
tsp_msgqueues(apr_array_header_t **queues, long *msgmni, apr_pool_t *pool)
{
  FILE *f;
  char line[512];

  *msgmni = -1;
  f = fopen("/proc/sys/kernel/msgmni", "r");
  if (f) {
    if (fscanf(f, "%ld", msgmni) != 1)
      *msgmni = -1;
    fclose(f);
  }
  *queues = apr_array_make(pool, 8, sizeof(tsp_msgqueue_t));
  f = fopen("/proc/sysvipc/msg", "r");
  if (!f)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno),
                         "cannot read /proc/sysvipc/msg");
  if (!fgets(line, sizeof(line), f)) {   /* header */
    fclose(f);
    return NULL;
  }
  while (fgets(line, sizeof(line), f)) {
    tsp_msgqueue_t *q;
    long key, id, perms, cbytes, qnum, lspid, lrpid, uid;
    struct passwd *pw;

    /* key msqid perms cbytes qnum lspid lrpid uid gid cuid cgid ... */
    if (sscanf(line, "%ld %ld %lo %ld %ld %ld %ld %ld", &key, &id, &perms,
               &cbytes, &qnum, &lspid, &lrpid, &uid) != 8)
      continue;
    q = apr_array_push(*queues);
    q->key = key;
    q->id = id;
    q->uid = uid;
    pw = getpwuid((uid_t)uid);
    q->owner = pw ? apr_pstrdup(pool, pw->pw_name) : apr_ltoa(pool, uid);
    q->messages = qnum;
    q->last_sender = lspid;
    q->last_receiver = lrpid;
    q->stale = !alive(lspid) && !alive(lrpid);
  }
  fclose(f);
  return NULL;
}

ts_error_t *
tsp_msgqueue_remove(long id)
{
  if (msgctl((int)id, IPC_RMID, NULL) < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "msgctl(%ld, IPC_RMID) "
                         "failed", id);
  return NULL;
}

/* The socket inode listening on PORT, from /proc/net/tcp{,6}. */
static unsigned long
listening_inode(int port)
{
  static const char *const files[] = { "/proc/net/tcp", "/proc/net/tcp6",
                                       NULL };
  char line[512];

  for (int i = 0; files[i]; i++) {
    FILE *f = fopen(files[i], "r");
    if (!f)
      continue;
    while (fgets(line, sizeof(line), f)) {
      char local[64];
      unsigned int st, lport;
      unsigned long inode;
      char *colon;
      if (sscanf(line, " %*d: %63s %*s %x %*s %*s %*s %*s %*s %lu", local,
                 &st, &inode) != 3 || st != 0x0A)    /* 0A = LISTEN */
        continue;
      colon = strrchr(local, ':');
      if (colon && sscanf(colon + 1, "%x", &lport) == 1
          && (int)lport == port) {
        fclose(f);
        return inode;
      }
    }
    fclose(f);
  }
  return 0;
}

const char *
tsp_port_owner(int port, apr_pool_t *pool)
{
  unsigned long inode = listening_inode(port);
  char want[64], path[600], link[128], comm[64];
  DIR *proc;
  struct dirent *p;
  const char *owner = NULL;

  if (!inode)
    return NULL;
  snprintf(want, sizeof(want), "socket:[%lu]", inode);
  proc = opendir("/proc");
  if (!proc)
    return NULL;
  while (!owner && (p = readdir(proc))) {
    DIR *fds;
    struct dirent *fd;
    if (p->d_name[0] < '0' || p->d_name[0] > '9')
      continue;
    snprintf(path, sizeof(path), "/proc/%s/fd", p->d_name);
    fds = opendir(path);
    if (!fds)
      continue;
    while ((fd = readdir(fds))) {
      ssize_t n;
      snprintf(path, sizeof(path), "/proc/%s/fd/%s", p->d_name, fd->d_name);
      n = readlink(path, link, sizeof(link) - 1);
      if (n <= 0)
        continue;
      link[n] = '\0';
      if (strcmp(link, want) == 0) {
        FILE *f;
        snprintf(path, sizeof(path), "/proc/%s/comm", p->d_name);
        f = fopen(path, "r");
        comm[0] = '\0';
        if (f) {
          if (fgets(comm, sizeof(comm), f))
            comm[strcspn(comm, "\n")] = '\0';
          fclose(f);
        }
        owner = apr_psprintf(pool, "pid %s (%s)", p->d_name,
                             *comm ? comm : "?");
        break;
      }
    }
    closedir(fds);
  }
  closedir(proc);
  return owner;
}
