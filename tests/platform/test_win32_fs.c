/* test_win32_fs.c: network drives and shares on Windows (under wine in
 * CI, where installer/windows-test.sh configures N: as a network drive:
 * HKLM\Software\Wine\Drives "n:"="network" plus a dosdevices link). UNC
 * paths are remote by their form, even \\localhost\share, which wine
 * reports as fixed; C:\ is a local disk. */
#include <windows.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>

#include "tsp.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(win32_fs, .init = setup, .fini = teardown);

static tsp_fs_info_t
info(const char *path)
{
  tsp_fs_info_t fs;
  ts_error_t *err = tsp_path_fs_info(&fs, path, pool);

  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
  return fs;
}

Test(win32_fs, configured_network_drive_is_remote)
{
  tsp_fs_info_t fs;

  cr_assert_eq(GetDriveTypeW(L"N:\\"), DRIVE_REMOTE, "N: is not set up as "
               "a network drive (installer/windows-test.sh does that)");
  fs = info("N:\\projects\\repo1");
  cr_assert(fs.remote, "%s: %s", fs.resolved, fs.fstype);
  cr_assert_str_eq(fs.fstype, "network drive");
}

Test(win32_fs, unc_paths_are_remote_by_their_form)
{
  tsp_fs_info_t fs = info("\\\\fileserver\\projects\\repo1");

  cr_assert(fs.remote);
  cr_assert_str_eq(fs.fstype, "UNC path");
  cr_assert_str_eq(fs.mount, "\\\\fileserver\\projects");
  fs = info("\\\\localhost\\share\\x");
  cr_assert(fs.remote, "\\\\localhost\\share must be remote by its form");
  fs = info("\\\\?\\UNC\\fileserver\\projects\\x");
  cr_assert(fs.remote);
  cr_assert_str_eq(fs.mount, "\\\\fileserver\\projects");
}

Test(win32_fs, local_disk_is_not_remote)
{
  tsp_fs_info_t fs = info("C:\\");

  cr_assert(!fs.remote, "C:\\ is %s", fs.fstype);
  fs = info("C:\\Tessera\\projects\\not\\yet\\there");
  cr_assert(!fs.remote);
}
