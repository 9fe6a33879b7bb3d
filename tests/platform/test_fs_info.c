/* test_fs_info.c: is a path on a network file system? (Linux)
 *
 * Run by tests/system/test_netfs.sh, which mounts a real sshfs on loopback
 * and names the paths in the environment: inside the mount, a symlink into
 * it and a bind mount of it must be network; tmpfs and the local disk must
 * not. */
#include <stdlib.h>
#include <string.h>
#include <criterion/criterion.h>
#include <apr_general.h>
#include <apr_strings.h>

#include "tsp.h"

static apr_pool_t *pool;

static void setup(void) { apr_initialize(); apr_pool_create(&pool, NULL); }
static void teardown(void) { apr_pool_destroy(pool); apr_terminate(); }

TestSuite(fs_info, .init = setup, .fini = teardown);

static const char *
env(const char *name)
{
  const char *v = getenv(name);
  cr_assert_not_null(v, "%s is not set: run this test through "
                     "tests/system/test_netfs.sh", name);
  return v;
}

static tsp_fs_info_t
info(const char *path)
{
  tsp_fs_info_t fs;
  ts_error_t *err = tsp_path_fs_info(&fs, path, pool);

  cr_assert_null(err, "%s", err ? ts_error_text(err, pool) : "");
  return fs;
}

Test(fs_info, sshfs_mount_is_network)
{
  tsp_fs_info_t fs = info(apr_pstrcat(pool, env("TESSERA_TEST_NETFS_MOUNT"),
                                      "/projects", NULL));
  cr_assert(fs.remote, "%s: %s at %s", fs.resolved, fs.fstype, fs.mount);
  cr_assert_str_eq(fs.fstype, "fuse.sshfs");
  cr_assert_str_eq(fs.mount, env("TESSERA_TEST_NETFS_MOUNT"));
}

Test(fs_info, path_not_yet_created_inside_the_mount_is_network)
{
  tsp_fs_info_t fs = info(apr_pstrcat(pool, env("TESSERA_TEST_NETFS_MOUNT"),
                                      "/projects/new/deeper", NULL));
  cr_assert(fs.remote);
}

Test(fs_info, symlink_into_the_mount_is_network)
{
  tsp_fs_info_t fs = info(env("TESSERA_TEST_NETFS_LINK"));
  cr_assert(fs.remote, "%s resolved to %s: %s", env("TESSERA_TEST_NETFS_LINK"),
            fs.resolved, fs.fstype);
  cr_assert_str_eq(fs.resolved, apr_pstrcat(pool,
                   env("TESSERA_TEST_NETFS_MOUNT"), "/projects", NULL));
}

Test(fs_info, bind_mount_of_the_mount_is_network)
{
  tsp_fs_info_t fs = info(apr_pstrcat(pool, env("TESSERA_TEST_NETFS_BIND"),
                                      "/projects", NULL));
  cr_assert(fs.remote, "%s at %s", fs.fstype, fs.mount);
  cr_assert_str_eq(fs.mount, env("TESSERA_TEST_NETFS_BIND"));
}

Test(fs_info, tmpfs_and_local_disk_are_not)
{
  tsp_fs_info_t fs = info(env("TESSERA_TEST_TMPFS"));
  cr_assert(!fs.remote);
  cr_assert_str_eq(fs.fstype, "tmpfs");
  fs = info(env("TESSERA_TEST_LOCAL"));
  cr_assert(!fs.remote, "%s is %s", env("TESSERA_TEST_LOCAL"), fs.fstype);
}
