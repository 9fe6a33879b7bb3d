/* test_win32_access.c: how a DACL is judged for another account on
 * Windows (under wine in CI). Security descriptors are built from SDDL
 * with the real API; the account's SIDs come from LookupAccountNameW.
 * The tree walk over real files is tested end to end in
 * test_admin_win32.c (doctor --account). */
#include <windows.h>
#include <aclapi.h>
#include <sddl.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tsp.h"
#include "win32/win32_util.h"

static apr_pool_t *pool;
static apr_array_header_t *sids;
static const char *names;

#define READ  FILE_GENERIC_READ
#define WRITE FILE_GENERIC_WRITE
#define BOTH  (FILE_GENERIC_READ | FILE_GENERIC_WRITE)

static void
setup(void)
{
  ts_error_t *err;

  apr_initialize();
  apr_pool_create(&pool, NULL);
  err = tsw_account_sids(&sids, &names, "NT AUTHORITY\\LOCAL SERVICE", pool);
  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
}

static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(win32_access, .init = setup, .fini = teardown);

/* The rights DESIRED that the DACL of SDDL grants to LOCAL SERVICE. */
static DWORD
granted(const char *sddl, DWORD desired, int new_child)
{
  PSECURITY_DESCRIPTOR sd;
  BOOL present, defaulted;
  PACL dacl;
  DWORD got;

  cr_assert(ConvertStringSecurityDescriptorToSecurityDescriptorA(
              sddl, SDDL_REVISION_1, &sd, NULL), "SDDL %s: error %lu", sddl,
            GetLastError());
  cr_assert(GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted));
  got = tsw_access_granted(present ? dacl : NULL, (PSID const *)sids->elts,
                           sids->nelts, desired, new_child);
  LocalFree(sd);
  return got;
}

static int
has_sid(const char *text)
{
  PSID want;
  int found = 0;

  cr_assert(ConvertStringSidToSidA(text, &want));
  for (int i = 0; i < sids->nelts; i++)
    found |= EqualSid(APR_ARRAY_IDX(sids, i, PSID), want);
  LocalFree(want);
  return found;
}

Test(win32_access, a_service_account_holds_its_well_known_groups)
{
  cr_assert(has_sid("S-1-5-19"), "LOCAL SERVICE itself: %s", names);
  cr_assert(has_sid("S-1-1-0"), "Everyone: %s", names);
  cr_assert(has_sid("S-1-5-11"), "Authenticated Users: %s", names);
  cr_assert(has_sid("S-1-5-32-545"), "Users: %s", names);
  cr_assert(has_sid("S-1-5-6"), "SERVICE: %s", names);
  cr_assert(!has_sid("S-1-5-18"), "not LocalSystem: %s", names);
  cr_assert(!has_sid("S-1-5-32-544"), "not Administrators: %s", names);
  cr_assert(strstr(names, "Everyone"), "%s", names);
}

Test(win32_access, an_unknown_account_is_named)
{
  apr_array_header_t *none;
  const char *n;
  ts_error_t *err = tsw_account_sids(&none, &n, "no-such-account-4711",
                                     pool);

  cr_assert_not_null(err);
  cr_assert(strstr(ts_error_text(err, pool), "there is no account "
                   "'no-such-account-4711'"), "%s", ts_error_text(err, pool));
  ts_error_clear(err);
}

Test(win32_access, allow_entries_for_the_account_or_its_groups_grant)
{
  cr_assert_eq(granted("D:(A;;FA;;;LS)", BOTH, 0), BOTH);
  cr_assert_eq(granted("D:(A;;FA;;;WD)", BOTH, 0), BOTH);
  cr_assert_eq(granted("D:(A;;FR;;;BU)(A;;FW;;;AU)", BOTH, 0), BOTH);
  /* 0x1200a9: read and execute, as wine maps r-x for "other" */
  cr_assert_eq(granted("D:(A;;0x1200a9;;;WD)", BOTH, 0), READ);
  /* Modify (what icacls /grant :M gives) is enough for files and dirs */
  cr_assert_eq(granted("D:(A;;0x1301bf;;;LS)", BOTH | FILE_TRAVERSE, 0),
               BOTH | FILE_TRAVERSE);
}

Test(win32_access, entries_for_others_grant_nothing)
{
  cr_assert_eq(granted("D:(A;;FA;;;BA)(A;;FA;;;SY)(A;;FA;;;NS)", BOTH, 0),
               0);
  cr_assert_eq(granted("D:", BOTH, 0), 0, "an empty DACL denies all");
}

Test(win32_access, no_dacl_grants_everything)
{
  cr_assert_eq(granted("O:SY", BOTH, 0), BOTH);
}

Test(win32_access, the_first_entry_that_decides_a_right_wins)
{
  /* deny before allow: writing data denied, reading still granted (a
   * deny of all of FW would also deny READ_CONTROL and SYNCHRONIZE, which
   * reading needs: the same as on Windows) */
  DWORD got = granted("D:(D;;0x2;;;WD)(A;;FA;;;LS)", BOTH, 0);
  cr_assert_eq(got & READ, READ);
  cr_assert_eq(got & FILE_WRITE_DATA, 0);
  cr_assert_eq(granted("D:(D;;FW;;;WD)(A;;FA;;;LS)", READ, 0) & READ,
               READ & ~(READ_CONTROL | SYNCHRONIZE));
  /* allow before deny (a non-canonical order): the allow has decided */
  cr_assert_eq(granted("D:(A;;FA;;;LS)(D;;FW;;;WD)", BOTH, 0), BOTH);
  /* a deny for someone else does not matter */
  cr_assert_eq(granted("D:(D;;FA;;;BA)(A;;FA;;;WD)", BOTH, 0), BOTH);
}

Test(win32_access, inherit_only_entries_apply_to_new_files_only)
{
  const char *dir = "D:(A;;FR;;;WD)(A;OIIO;FA;;;CO)";

  cr_assert_eq(granted(dir, BOTH, 0), READ, "not to the directory itself");
  cr_assert_eq(granted(dir, DELETE, 1), DELETE,
               "CREATOR OWNER: the account that creates the file");
  cr_assert_eq(granted("D:(A;CIIO;FA;;;CO)", DELETE, 1), 0,
               "container-inherit only: not to files");
}
