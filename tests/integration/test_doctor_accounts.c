/* test_doctor_accounts.c: `tessera-admin doctor` and accounts (Linux,
 * as root): INOPRJ checked as each real account with groups, modes and
 * POSIX ACLs; without --account, as the service account 'tessera' with
 * or without one on the machine (an account database of the test's own,
 * bind-mounted in a mount namespace); an --account that cannot be
 * checked is said and fails the run; --fix refuses the queues of an
 * account that does not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <criterion/criterion.h>
#include <jansson.h>
#include <apr_general.h>

#include "doctor_fixture.h"
#include "run.h"

TestSuite(doctor_accounts, .init = df_setup, .fini = df_teardown,
          .timeout = 60);

/* Real accounts: two agents' users and a group, modes and POSIX ACLs on a
 * test INOPRJ; doctor checks as each account (not as root). */
static int
sh(const char *before, const char *path, const char *after)
{
  char cmd[1024];
  snprintf(cmd, sizeof(cmd), "%s'%s'%s", before, path, after);
  return system(cmd);
}

Test(doctor_accounts, permissions_as_each_account_with_groups_and_acls)
{
  run_result_t r;
  char file[400];

  cr_assert_eq(system("getent group tstagents >/dev/null || groupadd "
                      "--system tstagents"), 0);
  cr_assert_eq(system("id tstagent1 >/dev/null 2>&1 || useradd --system "
                      "--no-create-home -G tstagents tstagent1"), 0);
  cr_assert_eq(system("id tstagent2 >/dev/null 2>&1 || useradd --system "
                      "--no-create-home tstagent2"), 0);
  init_project();
  snprintf(file, sizeof(file), "%s/repo1", prj);
  mkdir(file, 0770);
  snprintf(file, sizeof(file), "%s/repo1/model.db", prj);
  fclose(fopen(file, "w"));
  /* the group may read and write everything, nobody else */
  cr_assert_eq(sh("chgrp -R tstagents ", prj, ""), 0);
  cr_assert_eq(sh("chmod -R g+rwX,o-rwx ", prj, ""), 0);

  r = doctor((const char *[]){ "--json", "--account", "tstagent1",
                               "--account", "tstagent2", NULL });
  cr_assert_eq(r.status, 78);
  cr_assert_eq(findings(r.out, "permissions", "info", "the account "
               "tstagent1 can read and write all"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "permissions", "error", "the account "
               "tstagent2 may not use"), 1, "%s", r.out);
  run_free(&r);

  /* an ACL entry gives tstagent2 what the group gives tstagent1 */
  cr_assert_eq(sh("setfacl -R -m u:tstagent2:rwX ", prj, ""), 0);
  /* and a file handed to another group fails tstagent1 alone (a chmod
   * g-w would not do: with an ACL it lowers the mask for tstagent2 too) */
  cr_assert_eq(sh("chgrp root ", file, ""), 0);
  r = doctor((const char *[]){ "--json", "--account", "tstagent1",
                               "--account", "tstagent2", NULL });
  cr_assert_eq(findings(r.out, "permissions", "info", "the account "
               "tstagent2 can read and write all"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "permissions", "error", "the account "
               "tstagent1 may not use 1 of"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "permissions", "error", "model.db: no "
               "read/write"), 1, "%s", r.out);
  run_free(&r);
  cr_assert_eq(system("userdel tstagent1 && userdel tstagent2 && groupdel "
                      "tstagents"), 0);
}

/* doctor --json with an account database of the test's own, whatever
 * the machine has: in a mount namespace of its own (unshare -m), a copy
 * of /etc/passwd with a 'tessera' account (WITH_TESSERA) or without one
 * is bind-mounted over /etc/passwd; doctor runs as root, or as nobody
 * (AS_NOBODY, from a copy every account may run). */
static run_result_t doctor_with_accounts_args(int with_tessera,
                                              int as_nobody,
                                              const char *args);

static run_result_t
doctor_with_accounts(int with_tessera, int as_nobody)
{
  return doctor_with_accounts_args(with_tessera, as_nobody, "--json");
}

/* The same with ARGS (words for sh) instead of --json. */
static run_result_t
doctor_with_accounts_args(int with_tessera, int as_nobody, const char *args)
{
  const char *env[] = { "PATH=/usr/bin:/bin:/usr/sbin:/sbin", env_host,
                        env_prj, env_lic, env_home,
                        "ASAN_OPTIONS=detect_leaks=0", NULL };
  char passwd[400], admin[400], cmd[2000], line[1024];
  FILE *in = fopen("/etc/passwd", "r"), *out;

  snprintf(passwd, sizeof(passwd), "%s/passwd", root);
  out = fopen(passwd, "w");
  cr_assert(in && out);
  while (fgets(line, sizeof(line), in))
    if (strncmp(line, "tessera:", 8) != 0)
      fputs(line, out);
  if (with_tessera)
    fputs("tessera:x:64990:64990:Tessera services:/nonexistent:"
          "/usr/sbin/nologin\n", out);
  fclose(in);
  fclose(out);
  chmod(passwd, 0644);
  snprintf(admin, sizeof(admin), "%s/tessera-admin", root);
  snprintf(cmd, sizeof(cmd), "cp '%s' '%s' && chmod 755 '%s'",
           TESSERA_ADMIN, admin, admin);
  cr_assert_eq(system(cmd), 0);
  snprintf(cmd, sizeof(cmd), "mount --bind '%s' /etc/passwd && exec %s "
           "'%s' doctor %s", passwd, as_nobody ? "setpriv --reuid=nobody "
           "--regid=nogroup --clear-groups" : "", admin, args);
  return run((const char *[]){ "/usr/bin/unshare", "-m", "/bin/sh", "-c",
                               cmd, NULL }, env, NULL);
}

/* Without --account, INOPRJ is checked as the account the services run
 * as (tessera): when it exists, as that account; when not, an info saying
 * how to create it; as a user who cannot become it, an info saying to run
 * doctor as root. Never a warning for what was not asked. Each case runs
 * on every machine, with or without a real 'tessera' account. */
Test(doctor_accounts, without_an_account_the_service_account_is_checked)
{
  run_result_t r;

  init_project();
  chmod(root, 0755);
  r = doctor_with_accounts(1, 0);
  cr_assert_eq(findings(r.out, "permissions", NULL, "the account tessera "),
               1, "%s%s", r.out, r.err);
  run_free(&r);

  r = doctor_with_accounts(0, 0);
  cr_assert_eq(findings(r.out, "permissions", "info", "INOPRJ was not "
                        "checked as the service account tessera: there is "
                        "no account 'tessera'"), 1, "%s%s", r.out, r.err);
  run_free(&r);

  r = doctor_with_accounts(1, 1);
  cr_assert_eq(findings(r.out, "permissions", "info", "INOPRJ was not "
                        "checked as the service account tessera: checking "
                        "access as 'tessera' needs root"), 1, "%s%s", r.out,
               r.err);
  cr_assert_eq(findings(r.out, "permissions", "warning", ""), 0, "%s",
               r.out);
  run_free(&r);
}

/* --account run without root: the check as that account cannot be made;
 * the doctor says so, and exits 77 (EX_NOPERM), not 0 as if all were
 * well. An account that does not exist here: said, exit 65. */
Test(doctor_accounts, an_account_that_cannot_be_checked_is_said_and_not_passed)
{
  char cmd[400];
  run_result_t r;
  json_t *j;

  init_project();
  /* nobody may use the project, so no other finding is an error */
  snprintf(cmd, sizeof(cmd), "chown -R nobody '%s'", prj);
  cr_assert_eq(system(cmd), 0);
  r = doctor_as("nobody", 0, (const char *[]){ "--json", "--account",
                                               "nobody", NULL });
  cr_assert_eq(r.status, 77, "exit %d: %s%s", r.status, r.out, r.err);
  cr_assert_eq(findings(r.out, "permissions", "warning", "INOPRJ was NOT "
                        "checked as the account nobody: checking access as "
                        "'nobody' needs root"), 1, "%s", r.out);
  cr_assert_eq(findings(r.out, "project", "error", ""), 0, "%s", r.out);
  j = json_loads(r.out, 0, NULL);
  cr_assert_str_eq(json_string_value(json_array_get(json_object_get(j,
                   "not_checked_as"), 0)), "nobody", "%s", r.out);
  json_decref(j);
  run_free(&r);
  r = doctor_as("nobody", 0, (const char *[]){ "--account", "nobody",
                                               NULL });
  cr_assert_eq(r.status, 77);
  cr_assert(strstr(r.out, "; INOPRJ was not checked as nobody\n"), "%s",
            r.out);
  run_free(&r);

  r = doctor((const char *[]){ "--json", "--account", "tessera-no-such-"
                               "account", NULL });
  cr_assert_eq(r.status, 65, "exit %d: %s", r.status, r.out);
  cr_assert_eq(findings(r.out, "permissions", "warning", "INOPRJ was NOT "
                        "checked as the account tessera-no-such-account: "
                        "there is no account"), 1, "%s", r.out);
  run_free(&r);

  /* as root, the account is checked: exit 0 */
  r = doctor((const char *[]){ "--json", "--account", "nobody", NULL });
  cr_assert_eq(r.status, 0, "exit %d: %s", r.status, r.out);
  cr_assert_eq(findings(r.out, "permissions", "info", "the account nobody "
                        "can read and write"), 1, "%s", r.out);
  run_free(&r);
}

/* --fix removes the stale queues of the first --account: one that does
 * not exist is refused before anything is changed; without --account, a
 * service account that does not exist yet is not offered. */
Test(doctor_accounts, fix_refuses_the_queues_of_an_account_that_does_not_exist)
{
  char uuid[400];
  run_result_t r;
  struct stat st;

  r = doctor((const char *[]){ "--fix", "--yes", "--account",
                               "tessera-no-such-account", NULL });
  cr_assert_eq(r.status, 65, "exit %d: %s%s", r.status, r.out, r.err);
  cr_assert(strstr(r.err, "doctor --fix would remove the stale message "
                   "queues of the account tessera-no-such-account (the "
                   "first --account), but there is no account "
                   "'tessera-no-such-account' on this machine; nothing was "
                   "checked or changed"), "%s", r.err);
  run_free(&r);
  snprintf(uuid, sizeof(uuid), "%s/ivm", prj);
  cr_assert_neq(stat(uuid, &st), 0, "the refused --fix changed INOPRJ");

  mkdir(prj, 0755);
  chmod(root, 0755);
  r = doctor_with_accounts_args(0, 0, "--fix");
  cr_assert(strstr(r.out, "Apply the safe fixes: give INOPRJ its identity "
                   "and ivm/logs where they are missing? [y/N]"), "%s%s",
            r.out, r.err);
  cr_assert_null(strstr(r.out, "message queues of the account"), "%s",
                 r.out);
  run_free(&r);
  r = doctor_with_accounts_args(1, 0, "--fix");
  cr_assert(strstr(r.out, "and remove the stale message queues of the "
                   "account 'tessera'? [y/N]"), "%s%s", r.out, r.err);
  run_free(&r);
}
