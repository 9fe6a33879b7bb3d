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
 */
#include "tsp.h"

#include <windows.h>
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
    return tsw_error(GetLastError(), "GetFullPathNameW(%s) failed", path);
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
