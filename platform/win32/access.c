/* access.c (win32): what an account may do in a directory tree.
 *
 * Windows decides from each object's DACL and the security identifiers
 * (SIDs) in the caller's token. Another account's token cannot be had
 * without its password (Authz's context-from-SID would build one on a
 * domain; it is a stub under wine, where CI runs), so the account's SIDs
 * are gathered here: its own, its local groups (NetUserGetLocalGroups,
 * nested ones too), and the groups Windows puts into every logged-on
 * token (Everyone, Authenticated Users, Users; SERVICE for the service
 * accounts, Administrators for LocalSystem). Domain-wide groups of a domain
 * account are not read. Each DACL is then judged as AccessCheck judges
 * it: ACEs in their stored order, inherit-only ACEs skipped, a deny for a
 * right not yet granted denies it, allows accumulate; generic rights are
 * mapped to file rights; a NULL DACL grants everything.
 *
 * The walk: one pass with FindFirstFileExW (large fetch), one
 * GetNamedSecurityInfoW per entry; reparse points (symbolic links,
 * junctions) are not followed, as on Linux. Creating and removing a file
 * in the probe directories is judged from the directory's DACL (create
 * files; delete a child, or the delete right a new file would inherit,
 * CREATOR OWNER counting as the account).
 *
 * Only `tessera-admin doctor` scans access, so the texts of the report
 * are made in the language of people with _() (core/i18n/fragments
 * recipe 5): they are shown, never logged.
 */
#include "tsp.h"
#include "ts_i18n.h"

#include <windows.h>
#include <aclapi.h>
#include <lm.h>
#include <sddl.h>
#include <apr_strings.h>

#include "win32_util.h"

/* No FILE_TRAVERSE: every account holds "bypass traverse checking"
 * (SeChangeNotifyPrivilege) unless an administrator took it away. */
#define DIR_RIGHTS  (FILE_GENERIC_READ | FILE_GENERIC_WRITE)
#define FILE_RIGHTS (FILE_GENERIC_READ | FILE_GENERIC_WRITE)

static int
sid_in(PSID sid, PSID const *sids, int n)
{
  for (int i = 0; i < n; i++)
    if (EqualSid(sid, sids[i]))
      return 1;
  return 0;
}

DWORD
tsw_access_granted(PACL dacl, PSID const *sids, int nsids, DWORD desired,
                   int new_child)
{
  static GENERIC_MAPPING map = { FILE_GENERIC_READ, FILE_GENERIC_WRITE,
                                 FILE_GENERIC_EXECUTE, FILE_ALL_ACCESS };
  SID_IDENTIFIER_AUTHORITY creator = { SECURITY_CREATOR_SID_AUTHORITY };
  BYTE creator_owner[SECURITY_MAX_SID_SIZE];
  DWORD granted = 0, denied = 0;
  ACL_SIZE_INFORMATION size;

  if (!dacl)
    return desired;
  InitializeSid(creator_owner, &creator, 1);
  *GetSidSubAuthority(creator_owner, 0) = SECURITY_CREATOR_OWNER_RID;
  if (!GetAclInformation(dacl, &size, sizeof(size), AclSizeInformation))
    return 0;
  for (DWORD i = 0; i < size.AceCount; i++) {
    ACE_HEADER *ace;
    ACCESS_MASK mask;
    PSID sid;
    if (!GetAce(dacl, i, (void **)&ace))
      continue;
    if (ace->AceType == ACCESS_ALLOWED_ACE_TYPE)
      mask = ((ACCESS_ALLOWED_ACE *)ace)->Mask,
      sid = &((ACCESS_ALLOWED_ACE *)ace)->SidStart;
    else if (ace->AceType == ACCESS_DENIED_ACE_TYPE)
      mask = ((ACCESS_DENIED_ACE *)ace)->Mask,
      sid = &((ACCESS_DENIED_ACE *)ace)->SidStart;
    else
      continue;   /* object and callback ACEs do not apply to files */
    if (new_child) {
      /* what a file created in this directory would get */
      if (!(ace->AceFlags & OBJECT_INHERIT_ACE))
        continue;
      if (!sid_in(sid, sids, nsids) && !EqualSid(sid, creator_owner))
        continue;
    }
    else if ((ace->AceFlags & INHERIT_ONLY_ACE) || !sid_in(sid, sids, nsids))
      continue;
    MapGenericMask(&mask, &map);
    mask &= desired & ~(granted | denied);
    if (ace->AceType == ACCESS_ALLOWED_ACE_TYPE)
      granted |= mask;
    else
      denied |= mask;
  }
  return granted;
}

static void
add_sid(apr_array_header_t *sids, const char **names, PSID sid,
        const char *name, apr_pool_t *pool)
{
  DWORD len = GetLengthSid(sid);
  void *copy = apr_pmemdup(pool, sid, len);

  if (sid_in(copy, (PSID const *)sids->elts, sids->nelts))
    return;
  APR_ARRAY_PUSH(sids, PSID) = copy;
  *names = apr_pstrcat(pool, *names, **names ? ", " : "", name, NULL);
}

static void
add_well_known(apr_array_header_t *sids, const char **names,
               WELL_KNOWN_SID_TYPE type, const char *name, apr_pool_t *pool)
{
  BYTE sid[SECURITY_MAX_SID_SIZE];
  DWORD len = sizeof(sid);

  if (CreateWellKnownSid(type, NULL, sid, &len))
    add_sid(sids, names, sid, name, pool);
}

ts_error_t *
tsp_account_exists(const char *account, apr_pool_t *pool)
{
  BYTE sid[SECURITY_MAX_SID_SIZE];
  DWORD len = sizeof(sid), dlen = 256;
  wchar_t domain[256];
  const wchar_t *wname;
  SID_NAME_USE use;

  TS_ERR(tsw_utf8_to_wide(&wname, account, pool));
  if (!LookupAccountNameW(NULL, wname, sid, &len, domain, &dlen, &use))
    return ts_error_createf(TS_ENOENT, "there is no account '%s' on this "
                            "machine (LookupAccountNameW error %lu)",
                            account, GetLastError());
  return NULL;
}

ts_error_t *
tsw_account_sids(apr_array_header_t **sids_p, const char **names,
                 const char *account, apr_pool_t *pool)
{
  apr_array_header_t *sids = apr_array_make(pool, 8, sizeof(PSID));
  BYTE sid[SECURITY_MAX_SID_SIZE];
  DWORD len = sizeof(sid), dlen = 256;
  wchar_t domain[256];
  const wchar_t *wname;
  SID_NAME_USE use;
  LOCALGROUP_USERS_INFO_0 *groups;
  DWORD ngroups, total;

  TS_ERR(tsw_utf8_to_wide(&wname, account, pool));
  if (!LookupAccountNameW(NULL, wname, sid, &len, domain, &dlen, &use))
    return ts_error_createf(TS_ENOENT, "there is no account '%s' on this "
                            "machine (LookupAccountNameW error %lu); give it "
                            "as NAME or DOMAIN\\NAME", account,
                            GetLastError());
  *names = "";
  add_sid(sids, names, sid, account, pool);
  add_well_known(sids, names, WinWorldSid, "Everyone", pool);
  add_well_known(sids, names, WinAuthenticatedUserSid, "Authenticated Users",
                 pool);
  add_well_known(sids, names, WinBuiltinUsersSid, "Users", pool);
  if (IsWellKnownSid(sid, WinLocalServiceSid)
      || IsWellKnownSid(sid, WinNetworkServiceSid)
      || IsWellKnownSid(sid, WinLocalSystemSid))
    add_well_known(sids, names, WinServiceSid, "SERVICE", pool);
  if (IsWellKnownSid(sid, WinLocalSystemSid))
    add_well_known(sids, names, WinBuiltinAdministratorsSid,
                   "Administrators", pool);
  if (use == SidTypeUser
      && NetUserGetLocalGroups(NULL, wname, 0, LG_INCLUDE_INDIRECT,
                               (BYTE **)&groups, MAX_PREFERRED_LENGTH,
                               &ngroups, &total) == NERR_Success) {
    for (DWORD i = 0; i < ngroups; i++) {
      BYTE gsid[SECURITY_MAX_SID_SIZE];
      DWORD glen = sizeof(gsid);
      const char *gname;
      dlen = 256;
      if (LookupAccountNameW(NULL, groups[i].lgrui0_name, gsid, &glen,
                             domain, &dlen, &use)
          && !tsw_wide_to_utf8(&gname, groups[i].lgrui0_name, pool))
        add_sid(sids, names, gsid, gname, pool);
    }
    NetApiBufferFree(groups);
  }
  *sids_p = sids;
  return NULL;
}

typedef struct scan_t {
  tsp_access_report_t *report;
  PSID const *sids;
  int nsids;
  apr_pool_t *pool;
} scan_t;

/* "path: no read/write" for what the DACL at WPATH withholds. True if
 * the account could look inside (a directory it may list). */
static int
judge(scan_t *s, const wchar_t *wpath, const char *path, int is_dir)
{
  PSECURITY_DESCRIPTOR sd;
  PACL dacl;
  DWORD rc = GetNamedSecurityInfoW(wpath, SE_FILE_OBJECT,
                                   DACL_SECURITY_INFORMATION, NULL, NULL,
                                   &dacl, NULL, &sd);
  DWORD want = is_dir ? DIR_RIGHTS : FILE_RIGHTS, got;
  int no_read, no_write;

  s->report->scanned++;
  if (rc != ERROR_SUCCESS) {
    s->report->denied++;
    if (s->report->examples->nelts < 10)
      APR_ARRAY_PUSH(s->report->examples, const char *) =
        apr_psprintf(s->pool, _("%s: its permissions cannot be read "
                     "(GetNamedSecurityInfoW error %lu)"), path, rc);
    return 0;
  }
  got = tsw_access_granted(dacl, s->sids, s->nsids, want, 0);
  LocalFree(sd);
  if ((got & want) == want)
    return 1;
  s->report->denied++;
  if (s->report->examples->nelts < 10) {
    no_read = (got & FILE_GENERIC_READ) != FILE_GENERIC_READ;
    no_write = (got & FILE_GENERIC_WRITE) != FILE_GENERIC_WRITE;
    APR_ARRAY_PUSH(s->report->examples, const char *) =
      no_read && no_write ? apr_psprintf(s->pool, _("%s: no read/write"),
                                         path)
      : no_read ? apr_psprintf(s->pool, _("%s: no read"), path)
      : apr_psprintf(s->pool, _("%s: no write"), path);
  }
  return (got & FILE_LIST_DIRECTORY) != 0;
}

static void
walk(scan_t *s, const wchar_t *wdir, const char *dir)
{
  apr_pool_t *sub;
  WIN32_FIND_DATAW fd;
  HANDLE h;
  const wchar_t *pattern;

  apr_pool_create(&sub, s->pool);
  pattern = apr_palloc(sub, (wcslen(wdir) + 3) * sizeof(wchar_t));
  wcscpy((wchar_t *)pattern, wdir);
  wcscat((wchar_t *)pattern, L"\\*");
  h = FindFirstFileExW(pattern, FindExInfoBasic, &fd, FindExSearchNameMatch,
                       NULL, FIND_FIRST_EX_LARGE_FETCH);
  if (h == INVALID_HANDLE_VALUE) {
    apr_pool_destroy(sub);
    return;
  }
  do {
    wchar_t *wpath;
    const char *name, *path;
    int is_dir = (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;

    if (wcscmp(fd.cFileName, L".") == 0 || wcscmp(fd.cFileName, L"..") == 0
        || (fd.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT))
      continue;
    if (tsw_wide_to_utf8(&name, fd.cFileName, sub))
      continue;
    path = apr_pstrcat(sub, dir, "\\", name, NULL);
    wpath = apr_palloc(sub, (wcslen(wdir) + wcslen(fd.cFileName) + 2)
                       * sizeof(wchar_t));
    wcscpy(wpath, wdir);
    wcscat(wpath, L"\\");
    wcscat(wpath, fd.cFileName);
    if (judge(s, wpath, path, is_dir) && is_dir)
      walk(s, wpath, path);
  } while (FindNextFileW(h, &fd));
  FindClose(h);
  apr_pool_destroy(sub);
}

/* Could the account create a file in DIR and remove it again? */
static void
probe(scan_t *s, const char *dir, const char *account)
{
  PSECURITY_DESCRIPTOR sd;
  PACL dacl;
  const wchar_t *wdir;
  DWORD rc, got;
  const char *why = NULL;

  if (tsw_utf8_to_wide(&wdir, dir, s->pool))
    return;
  rc = GetNamedSecurityInfoW(wdir, SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                             NULL, NULL, &dacl, NULL, &sd);
  if (rc != ERROR_SUCCESS) {
    APR_ARRAY_PUSH(s->report->probes, const char *) =
      apr_psprintf(s->pool, _("%s: its permissions cannot be read "
                   "(GetNamedSecurityInfoW error %lu)"), dir, rc);
    return;
  }
  got = tsw_access_granted(dacl, s->sids, s->nsids,
                           FILE_ADD_FILE | FILE_DELETE_CHILD, 0);
  if (!(got & FILE_ADD_FILE))
    why = apr_psprintf(s->pool, _("%s: cannot create a file: the "
                       "directory's DACL does not let %s create files"), dir,
                       account);
  else if (!(got & FILE_DELETE_CHILD)
           && !(tsw_access_granted(dacl, s->sids, s->nsids, DELETE, 1)
                & DELETE))
    why = apr_psprintf(s->pool, _("%s: cannot remove a file: neither "
                       "'delete subfolders and files' on the directory nor "
                       "'delete' on new files is granted to %s"), dir,
                       account);
  LocalFree(sd);
  if (why)
    APR_ARRAY_PUSH(s->report->probes, const char *) = why;
}

ts_error_t *
tsp_access_scan(tsp_access_report_t **report_p, const char *dir,
                const char *account, const char *const *probe_dirs,
                apr_pool_t *pool)
{
  tsp_access_report_t *report = apr_pcalloc(pool, sizeof(*report));
  apr_array_header_t *sids;
  const wchar_t *wdir;
  scan_t s;

  TS_ERR(tsw_account_sids(&sids, &report->identity, account, pool));
  TS_ERR(tsw_utf8_to_wide(&wdir, dir, pool));
  report->examples = apr_array_make(pool, 10, sizeof(const char *));
  report->probes = apr_array_make(pool, 2, sizeof(const char *));
  s.report = report;
  s.sids = (PSID const *)sids->elts;
  s.nsids = sids->nelts;
  s.pool = pool;
  if (judge(&s, wdir, dir, 1))
    walk(&s, wdir, dir);
  for (int i = 0; probe_dirs && probe_dirs[i]; i++)
    probe(&s, probe_dirs[i], account);
  *report_p = report;
  return NULL;
}

const char *
tsp_access_fix(const char *dir, const char *account, apr_pool_t *pool)
{
  return apr_psprintf(pool, _("icacls \"%s\" /grant \"%s:(OI)(CI)M\" /T "
                      "(Modify for the account on the tree and what is "
                      "created in it)"), dir, account);
}
