/* filesystem.c (win32): is a path on a network drive or share?
 *
 *  - UNC paths (\\server\share\..., \\?\UNC\server\...) are remote by
 *    their form, whatever the drive type says (wine reports
 *    \\localhost\share as fixed, Windows does not);
 *  - a drive letter is remote when GetDriveTypeW says DRIVE_REMOTE
 *    (mapped network drives);
 *  - a SUBST drive is judged by its target (QueryDosDeviceW);
 *  - a volume mount point or junction inside the path is judged by the
 *    volume it leads to (GetVolumePathNameW).
 *
 * Also: who besides this process's account may write in a directory, from
 * its DACL.
 */
#include "tsp.h"

#include <windows.h>
#include <aclapi.h>
#include <wchar.h>
#include <apr_strings.h>

#include "win32_util.h"

static int
is_unc(const wchar_t *p)
{
  if (wcsncmp(p, L"\\\\?\\UNC\\", 8) == 0)
    return 1;
  if (wcsncmp(p, L"\\\\?\\", 4) == 0 || wcsncmp(p, L"\\\\.\\", 4) == 0)
    return 0;
  return (p[0] == L'\\' || p[0] == L'/') && (p[1] == L'\\' || p[1] == L'/');
}

/* The share part of a UNC path, for messages. */
static const char *
share_of(const wchar_t *p, apr_pool_t *pool)
{
  const char *u;
  const char *s, *e;

  if (tsw_wide_to_utf8(&u, p, pool))
    return "\\\\?";
  s = u + (strncmp(u, "\\\\?\\UNC\\", 8) == 0 ? 8 : 2);
  e = strpbrk(s, "\\/");
  if (e)
    e = strpbrk(e + 1, "\\/");
  return apr_pstrcat(pool, "\\\\", e ? apr_pstrndup(pool, s, e - s) : s,
                     NULL);
}

static ts_error_t *
judge(tsp_fs_info_t *info, const wchar_t *full, int depth, apr_pool_t *pool)
{
  wchar_t volume[MAX_PATH + 1], drive[3] = { 0 }, target[MAX_PATH + 1];
  UINT type;

  if (is_unc(full)) {
    info->remote = 1;
    info->fstype = "UNC path";
    info->mount = share_of(full, pool);
    return NULL;
  }
  if (!(full[0] && full[1] == L':'))
    return NULL;
  drive[0] = full[0];
  drive[1] = L':';
  /* SUBST drives show their target as \??\<path> */
  if (depth < 4 && QueryDosDeviceW(drive, target, MAX_PATH)
      && wcsncmp(target, L"\\??\\", 4) == 0) {
    const wchar_t *rest = full + 2;
    wchar_t *mapped = apr_palloc(pool, (wcslen(target) + wcslen(rest) + 8)
                                       * sizeof(wchar_t));
    if (wcsncmp(target + 4, L"UNC\\", 4) == 0) {
      wcscpy(mapped, L"\\\\");
      wcscat(mapped, target + 8);
    }
    else
      wcscpy(mapped, target + 4);
    wcscat(mapped, rest);
    info->fstype = "SUBST drive";
    TS_ERR(judge(info, mapped, depth + 1, pool));
    if (info->remote)
      info->fstype = "SUBST drive onto a network path";
    return NULL;
  }
  if (!GetVolumePathNameW(full, volume, MAX_PATH)) {
    volume[0] = full[0];
    wcscpy(volume + 1, L":\\");
  }
  type = GetDriveTypeW(volume);
  if (tsw_wide_to_utf8(&info->mount, volume, pool))
    info->mount = "?";
  if (type == DRIVE_REMOTE) {
    info->remote = 1;
    info->fstype = "network drive";
  }
  else if (!info->fstype)
    info->fstype = type == DRIVE_FIXED ? "local disk"
                 : type == DRIVE_REMOVABLE ? "removable drive"
                 : type == DRIVE_CDROM ? "CD/DVD drive"
                 : type == DRIVE_RAMDISK ? "RAM disk" : "unknown drive";
  return NULL;
}

ts_error_t *
tsp_path_fs_info(tsp_fs_info_t *info, const char *path, apr_pool_t *pool)
{
  const wchar_t *wpath;
  wchar_t *full;
  DWORD n;

  memset(info, 0, sizeof(*info));
  TS_ERR(tsw_utf8_to_wide(&wpath, path, pool));
  n = GetFullPathNameW(wpath, 0, NULL, NULL);
  if (n == 0)
    return ts_error_aprf(APR_FROM_OS_ERROR(GetLastError()),
                         "GetFullPathNameW(%s) failed", path);
  full = apr_palloc(pool, (n + 1) * sizeof(wchar_t));
  GetFullPathNameW(wpath, n + 1, full, NULL);
  TS_ERR(tsw_wide_to_utf8(&info->resolved, full, pool));
  return judge(info, full, 0, pool);
}

int
tsp_services_refuse_remote_projects(void)
{
  return 1;
}

int
tsp_file_others_may_access(const char *path, apr_pool_t *pool)
{
  (void)path;
  (void)pool;
  return 0;
}

ts_error_t *
tsp_file_give_to(int *given, const char *path, const char *account,
                 apr_pool_t *pool)
{
  /* the installer's ACL on the folder lets the service account read it */
  (void)path;
  (void)account;
  (void)pool;
  *given = 0;
  return NULL;
}

/* The groups every ordinary account's token holds: what they may do in a
 * directory, any other account may. */
static const struct { WELL_KNOWN_SID_TYPE type; const char *name; }
ordinary[] = {
  { WinWorldSid, "Everyone" },
  { WinAuthenticatedUserSid, "Authenticated Users" },
  { WinBuiltinUsersSid, "Users" },
  { WinInteractiveSid, "INTERACTIVE" },
};
#define ORDINARY (sizeof(ordinary) / sizeof(ordinary[0]))

/* Creating, deleting or renaming an entry, or taking the ACL over. */
#define PLANT_RIGHTS (FILE_ADD_FILE | FILE_ADD_SUBDIRECTORY \
                      | FILE_DELETE_CHILD | WRITE_DAC | WRITE_OWNER)

/* "DOMAIN\name" of this process's account, or NULL. */
static const char *
own_account(apr_pool_t *pool)
{
  HANDLE token;
  BYTE buf[sizeof(TOKEN_USER) + SECURITY_MAX_SID_SIZE];
  wchar_t name[256], domain[256];
  DWORD len = sizeof(buf), nlen = 256, dlen = 256;
  SID_NAME_USE use;
  const char *n, *d;
  BOOL ok;

  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token))
    return NULL;
  ok = GetTokenInformation(token, TokenUser, buf, len, &len);
  CloseHandle(token);
  if (!ok || !LookupAccountSidW(NULL, ((TOKEN_USER *)buf)->User.Sid, name,
                                &nlen, domain, &dlen, &use)
      || tsw_wide_to_utf8(&n, name, pool) || tsw_wide_to_utf8(&d, domain,
                                                               pool))
    return NULL;
  return *d ? apr_pstrcat(pool, d, "\\", n, NULL) : n;
}

ts_error_t *
tsp_dir_others_may_write(const char **fix, const char *dir,
                         apr_pool_t *pool)
{
  BYTE sids[ORDINARY][SECURITY_MAX_SID_SIZE];
  PSID all[ORDINARY];
  const char *names[ORDINARY];
  PSECURITY_DESCRIPTOR sd;
  PACL dacl;
  const wchar_t *wdir;
  const char *who = "", *account;
  DWORD attrs;
  int n = 0;
  ts_error_t *err = tsw_utf8_to_wide(&wdir, dir, pool);

  if (err) {
    ts_error_clear(err);
    return NULL;
  }
  attrs = GetFileAttributesW(wdir);
  if (attrs == INVALID_FILE_ATTRIBUTES
      || !(attrs & FILE_ATTRIBUTE_DIRECTORY)
      || GetNamedSecurityInfoW(wdir, SE_FILE_OBJECT,
                               DACL_SECURITY_INFORMATION, NULL, NULL, &dacl,
                               NULL, &sd) != ERROR_SUCCESS)
    return NULL;                              /* nothing to judge */
  for (size_t i = 0; i < ORDINARY; i++) {
    DWORD len = SECURITY_MAX_SID_SIZE;
    if (CreateWellKnownSid(ordinary[i].type, NULL, sids[n], &len)) {
      all[n] = sids[n];
      names[n++] = ordinary[i].name;
    }
  }
  /* judged as one token holding them all (a deny for one counts), then
   * each, to name the groups that are let in */
  if (dacl && tsw_access_granted(dacl, (PSID const *)all, n, PLANT_RIGHTS,
                                 0))
    for (int i = 0; i < n; i++)
      if (tsw_access_granted(dacl, (PSID const *)&all[i], 1, PLANT_RIGHTS,
                             0))
        who = apr_pstrcat(pool, who, *who ? ", " : "", names[i], NULL);
  LocalFree(sd);
  if (dacl && !*who)
    return NULL;
  account = own_account(pool);
  *fix = apr_psprintf(pool, "icacls \"%s\" /inheritance:r /grant:r "
                      "\"%s:(OI)(CI)F\" *S-1-5-18:(OI)(CI)F "
                      "*S-1-5-32-544:(OI)(CI)F && icacls \"%s\" /remove:g "
                      "*S-1-1-0 *S-1-5-11 *S-1-5-32-545 *S-1-5-4", dir,
                      account ? account : "ACCOUNT", dir);
  if (!dacl)
    return ts_error_createf(TS_ECONFIG, "it has no ACL at all, so every "
                            "account may create, rename or remove files in "
                            "it");
  return ts_error_createf(TS_ECONFIG, "its ACL lets %s create, rename or "
                          "remove files in it", who);
}
