/* filesystem.c (posix): is a path on a network file system?
 *
 * statfs() tells the file system by its magic number, which is enough for
 * NFS, SMB/CIFS, AFS, Ceph, 9p and the like; FUSE file systems share one
 * magic, so their type ("fuse.sshfs", "fuse.rclone", ...) comes from
 * /proc/self/mountinfo, taking the longest mount point that contains the
 * resolved path (bind mounts keep the type of what they show).
 *
 * Also: who besides this process's account may write in a directory.
 */
#include "tsp.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/xattr.h>
#include <apr_file_info.h>
#include <apr_strings.h>
#include <apr_user.h>

static const struct { unsigned long magic; const char *name; } net_magic[] = {
  { 0x6969, "nfs" }, { 0x517B, "smb" }, { 0xFF534D42, "cifs" },
  { 0xFE534D42, "smb2" }, { 0x5346414F, "afs" }, { 0x6B414653, "afs" },
  { 0x00C36400, "ceph" }, { 0x73757245, "coda" }, { 0x01021997, "9p" },
  { 0x0BD00BD0, "lustre" }, { 0x47504653, "gpfs" }, { 0x564C, "ncp" },
  { 0x01161970, "gfs2" }, { 0x7461636F, "ocfs2" },
};

/* Types from mountinfo that are network file systems. */
static const char *const net_types[] = {
  "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "ceph", "9p",
  "glusterfs", "lustre", "gpfs", "gfs2", "ocfs2", "beegfs", "davfs",
  "fuse.sshfs", "sshfs", "fuse.rclone", "fuse.s3fs", "fuse.glusterfs",
  "fuse.cephfs", "fuse.ceph-fuse", "fuse.davfs2", "fuse.gcsfuse",
  "fuse.goofys", "fuse.juicefs", "fuse.smbnetfs", "fuse.curlftpfs",
  NULL
};

static int
is_net_type(const char *type)
{
  for (int i = 0; net_types[i]; i++)
    if (strcmp(type, net_types[i]) == 0)
      return 1;
  return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \\ooo. */
static void
unescape(char *s)
{
  char *o = s;

  for (; *s; s++) {
    if (s[0] == '\\' && s[1] >= '0' && s[1] <= '7' && s[2] && s[3]) {
      *o++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
      s += 3;
    }
    else
      *o++ = *s;
  }
  *o = '\0';
}

/* The mount holding PATH: its mount point and file system type. */
static void
find_mount(const char **mount, const char **type, const char *path,
           apr_pool_t *pool)
{
  FILE *f = fopen("/proc/self/mountinfo", "r");
  char line[4096];
  size_t best = 0;

  *mount = "/";
  *type = "unknown";
  if (!f)
    return;
  while (fgets(line, sizeof(line), f)) {
    char *fields[10], *save = NULL, *tok, *sep;
    int n = 0;
    size_t len;

    sep = strstr(line, " - ");
    if (!sep)
      continue;
    *sep = '\0';
    for (tok = strtok_r(line, " ", &save); tok && n < 10;
         tok = strtok_r(NULL, " ", &save))
      fields[n++] = tok;
    if (n < 5)
      continue;
    unescape(fields[4]);
    len = strlen(fields[4]);
    if (strncmp(path, fields[4], len) == 0
        && (path[len] == '/' || path[len] == '\0' || len == 1)
        && len >= best) {
      char *rest = sep + 3, *t = strtok_r(rest, " ", &save);
      best = len;
      *mount = apr_pstrdup(pool, fields[4]);
      *type = apr_pstrdup(pool, t ? t : "unknown");
    }
  }
  fclose(f);
}

ts_error_t *
tsp_path_fs_info(tsp_fs_info_t *info, const char *path, apr_pool_t *pool)
{
  char resolved[PATH_MAX];
  char *probe = apr_pstrdup(pool, path);
  struct statfs sf;

  memset(info, 0, sizeof(*info));
  /* the nearest existing ancestor */
  while (!realpath(probe, resolved)) {
    char *slash;
    if (errno != ENOENT && errno != ENOTDIR)
      return ts_error_aprf(APR_FROM_OS_ERROR(errno), "realpath(\"%s\") "
                           "failed", probe);
    slash = strrchr(probe, '/');
    if (!slash || slash == probe) {
      strcpy(resolved, "/");
      break;
    }
    *slash = '\0';
  }
  info->resolved = apr_pstrdup(pool, resolved);
  if (statfs(resolved, &sf) < 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(errno), "statfs(\"%s\") failed",
                         resolved);
  find_mount(&info->mount, &info->fstype, resolved, pool);
  for (size_t i = 0; i < sizeof(net_magic) / sizeof(net_magic[0]); i++)
    if ((unsigned long)sf.f_type == net_magic[i].magic) {
      info->remote = 1;
      if (strcmp(info->fstype, "unknown") == 0)
        info->fstype = net_magic[i].name;
    }
  /* FUSE says nothing by its magic: its type names the network ones. */
  if (is_net_type(info->fstype))
    info->remote = 1;
  return NULL;
}

int
tsp_services_refuse_remote_projects(void)
{
  return 0;
}

int
tsp_file_others_may_access(const char *path, apr_pool_t *pool)
{
  apr_finfo_t fi;

  return apr_stat(&fi, path, APR_FINFO_PROT, pool) == APR_SUCCESS
         && (fi.protection & (APR_FPROT_GREAD | APR_FPROT_GWRITE
                              | APR_FPROT_WREAD | APR_FPROT_WWRITE)) != 0;
}

ts_error_t *
tsp_file_give_to(int *given, const char *path, const char *account,
                 apr_pool_t *pool)
{
  *given = 0;
  if (!getpwnam(account))
    return NULL;
  TS_ERR(tsp_file_hand_over(path, account, 1, pool));
  *given = 1;
  return NULL;
}

static const char *
user_name(uid_t uid, apr_pool_t *pool)
{
  char *name;

  if (apr_uid_name_get(&name, uid, pool) == APR_SUCCESS)
    return name;
  return apr_psprintf(pool, "%ld", (long)uid);
}

static const char *
group_name(gid_t gid, apr_pool_t *pool)
{
  char *name;

  if (apr_gid_name_get(&name, gid, pool) == APR_SUCCESS)
    return name;
  return apr_psprintf(pool, "%ld", (long)gid);
}

ts_error_t *
tsp_dir_others_may_write(const char **fix, const char *dir,
                         apr_pool_t *pool)
{
  uid_t me = geteuid();
  int acl = getxattr(dir, "system.posix_acl_access", NULL, 0) > 0;
  const char *account = user_name(me, pool);
  ts_error_t *why = NULL;
  struct stat st;

  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
    return NULL;
  if (st.st_uid != me && st.st_uid != 0)
    why = ts_error_createf(TS_ECONFIG, "it belongs to the account %s, which "
                           "may write it", user_name(st.st_uid, pool));
  else if (st.st_mode & S_IWOTH)
    why = ts_error_createf(TS_ECONFIG, "every account may write it (mode "
                           "%04o)", (unsigned)(st.st_mode & 07777));
  else if ((st.st_mode & S_IWGRP) && acl)
    why = ts_error_createf(TS_ECONFIG, "its ACL lets other accounts write it "
                           "(see `getfacl %s`)", dir);
  else if (st.st_mode & S_IWGRP)
    why = ts_error_createf(TS_ECONFIG, "the group %s may write it (mode "
                           "%04o)", group_name(st.st_gid, pool),
                           (unsigned)(st.st_mode & 07777));
  if (why)
    *fix = apr_psprintf(pool, "chown %s '%s' && chmod go-w '%s'%s", account,
                        dir, dir, acl ? apr_psprintf(pool, " && setfacl -b "
                                                     "'%s'", dir) : "");
  return why;
}
