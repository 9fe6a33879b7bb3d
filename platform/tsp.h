/* tsp.h: the whole contract between Tessera's core and the platform.
 *
 * Two implementations with the same file names live in platform/posix/ and
 * platform/win32/; the build picks one. Core code includes only this header
 * for anything that differs between Linux and Windows, and never tests the
 * platform itself.
 *
 * Errors: every function that can fail returns a ts_error_t (NULL on
 * success). System errors are converted to ts_error_t here, at the
 * boundary, with the failing call and the path or key in the message.
 * Pools: output parameters first, pools last; results are allocated in
 * RESULT_POOL, temporary data in SCRATCH_POOL.
 */
#ifndef TSP_H
#define TSP_H

#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_tables.h>
#include <apr_pools.h>
#include <apr_thread_proc.h>

#include "ts_error.h"

/* ---- the system calls core makes, as a table ---------------------------
 *
 * The file, socket and process calls under Tessera's atomic writes
 * (ts_file_replace), directory creation and listing, log files, the HTTP
 * client's and the probes' connections and the supervised children
 * (core/proc) go through TSP_SYS, one function pointer per call (SQLite's
 * aSyscall[]). The entries of tsp_sys_real are the real calls, APR's or
 * the platform's own; tsp_sys starts as a copy. A test makes one call
 * fail as the system would and sees what a user would see, without
 * mocking the world:
 *
 *   static apr_status_t
 *   disk_full(apr_file_t *f, const void *b, apr_size_t n, apr_size_t *w)
 *   {
 *     return tsp_fault_status(TSP_FAULT_DISK_FULL);
 *   }
 *   ...
 *   tsp_sys.file_write_full = disk_full;
 *   err = ts_file_replace(path, ...);     (the disk is full now)
 *   tsp_sys_reset();
 *
 * An override may pass the calls it does not fail on to tsp_sys_real.
 * Only tests change the table, and only while no other thread uses it;
 * the code reads it and never writes it. Each entry's arguments, result
 * and errors are those of the call named in its comment. */
/* not apr_network_io.h: on Windows it needs winsock2 before windows.h,
 * which files that include this one may have included already */
struct apr_socket_t;
struct apr_sockaddr_t;

typedef struct tsp_sys_t {
  /* apr_file_open, for files created for writing (logs, a child's
   * output), except that a symbolic link at PATH (Windows: any reparse
   * point) is refused, never followed: the status for which
   * tsp_status_is_link() is true. Such files live in directories where
   * another account may have planted a link to a file of its choosing. */
  apr_status_t (*file_open)(apr_file_t **file, const char *path,
                            apr_int32_t flags, apr_fileperms_t perms,
                            apr_pool_t *pool);
  /* apr_file_mktemp: the temporary file of an atomic write */
  apr_status_t (*file_mktemp)(apr_file_t **file, char *templ,
                              apr_int32_t flags, apr_pool_t *pool);
  /* apr_file_write_full */
  apr_status_t (*file_write_full)(apr_file_t *file, const void *buf,
                                  apr_size_t n, apr_size_t *written);
  /* apr_file_sync: the data on disk (fsync, FlushFileBuffers) */
  apr_status_t (*file_sync)(apr_file_t *file);
  /* apr_file_close */
  apr_status_t (*file_close)(apr_file_t *file);
  /* apr_file_perms_set, except that a symbolic link at PATH is refused
   * (Linux: the file is opened for reading without following a link and
   * changed with fchmod()); Windows: not implemented, as in APR */
  apr_status_t (*file_perms_set)(const char *path, apr_fileperms_t perms);
  /* apr_file_rename: the atomic replacement itself */
  apr_status_t (*file_rename)(const char *from, const char *to,
                              apr_pool_t *pool);
  /* apr_file_remove */
  apr_status_t (*file_remove)(const char *path, apr_pool_t *pool);
  /* apr_dir_make_recursive */
  apr_status_t (*dir_make_recursive)(const char *path,
                                     apr_fileperms_t perms,
                                     apr_pool_t *pool);
  /* apr_dir_open: listing a directory */
  apr_status_t (*dir_open)(apr_dir_t **dir, const char *path,
                           apr_pool_t *pool);
  /* make a rename or creation inside DIR durable (Linux: fsync() on the
   * directory; Windows: nothing, NTFS journals it) */
  apr_status_t (*dir_sync)(const char *dir, apr_pool_t *pool);
  /* apr_socket_connect: every outgoing TCP connection (HTTP client,
   * readiness probes), with the socket's timeout */
  apr_status_t (*socket_connect)(struct apr_socket_t *sock,
                                 struct apr_sockaddr_t *sa);
  /* apr_proc_create: a child process */
  apr_status_t (*proc_create)(apr_proc_t *proc, const char *program,
                              const char *const *args,
                              const char *const *env, apr_procattr_t *attr,
                              apr_pool_t *pool);
} tsp_sys_t;

extern tsp_sys_t tsp_sys;
extern const tsp_sys_t tsp_sys_real;

/* True when S is the refusal of a symbolic link (or reparse point) by
 * tsp_sys.file_open or file_perms_set. */
int tsp_status_is_link(apr_status_t s);

/* Every entry of tsp_sys back to the real call. */
void tsp_sys_reset(void);

/* Faults a test injects, and the status this platform's own call gives
 * for each (the mapping lives here, not in core or the tests). */
typedef enum tsp_fault_t {
  TSP_FAULT_DISK_FULL,           /* Linux ENOSPC, Windows ERROR_DISK_FULL */
  TSP_FAULT_ACCESS_DENIED,       /* EACCES, ERROR_ACCESS_DENIED */
  TSP_FAULT_CONNECTION_REFUSED   /* ECONNREFUSED, WSAECONNREFUSED */
} tsp_fault_t;

apr_status_t tsp_fault_status(tsp_fault_t fault);

/* ---- architecture settings store (SPEC §2) ---------------------------- */

/* Where a setting is stored: for the current user or for all users. */
typedef enum ts_scope_t {
  TS_SCOPE_USER,
  TS_SCOPE_ALL
} ts_scope_t;

/* Where an effective value came from. */
typedef enum tsp_source_t {
  TSP_SRC_DEFAULT,
  TSP_SRC_PROCESS_ENV,
  TSP_SRC_USER_FILE,      /* posix: $XDG_CONFIG_HOME/tessera/environment */
  TSP_SRC_SYSTEM_FILE,    /* posix: /etc/tessera/environment */
  TSP_SRC_HKCU,           /* win32: HKCU\Software\Tessera\<major.minor> */
  TSP_SRC_HKLM            /* win32: HKLM\SOFTWARE\Tessera\<major.minor> */
} tsp_source_t;

/* The roots of the store, injectable so tests never touch the real ones.
 * A NULL field means the real location. */
typedef struct tsp_settings_roots_t {
  const char *sysconfdir;       /* posix: instead of /etc */
  const char *home;             /* posix: instead of $HOME */
  const char *xdg_config_home;  /* posix: instead of $XDG_CONFIG_HOME */
  const char *registry_subkey;  /* win32: instead of Software\Tessera\<v> */
} tsp_settings_roots_t;

typedef struct tsp_settings_t tsp_settings_t;

/* Open the settings store. ROOTS may be NULL. The store lives in POOL. */
ts_error_t *tsp_settings_open(tsp_settings_t **store,
                              const tsp_settings_roots_t *roots,
                              apr_pool_t *pool);

/* Read every value stored in SCOPE into *VALUES (name -> const char *),
 * including names Tessera does not know. A scope with nothing stored yet
 * gives an empty hash. A malformed store is an error naming the file and
 * line (or key and value) and what is wrong. */
ts_error_t *tsp_settings_read(apr_hash_t **values, tsp_settings_t *store,
                              ts_scope_t scope, apr_pool_t *result_pool,
                              apr_pool_t *scratch_pool);

/* Store NAME = VALUE in SCOPE, or remove NAME when VALUE is NULL. The
 * change is atomic and serialized against other writers; other entries,
 * comments and unknown lines are kept. Lacking the right to write gives an
 * error with code TS_EPERM. Validation is the caller's job. */
ts_error_t *tsp_settings_write(tsp_settings_t *store, ts_scope_t scope,
                               const char *name, const char *value,
                               apr_pool_t *scratch_pool);

/* Where SCOPE is stored: a file path or a registry key, for messages. */
const char *tsp_settings_location(const tsp_settings_t *store,
                                  ts_scope_t scope);

/* The provenance of values read from SCOPE. */
tsp_source_t tsp_settings_source(ts_scope_t scope);

/* ---- file systems ------------------------------------------------------- */

typedef struct tsp_fs_info_t {
  int remote;            /* a network file system, drive or share */
  const char *fstype;    /* "nfs4", "fuse.sshfs", "network drive", ... */
  const char *mount;     /* its mount point, drive or share */
  const char *resolved;  /* PATH with symlinks (junctions, SUBST) resolved */
} tsp_fs_info_t;

/* Whether accounts other than the file's owner (and, on Windows, the
 * administrators and the system) may read or change the file PATH: a
 * secret must be owner-only. Linux: the group and other mode bits. Windows:
 * not judged yet (the installer sets the folder's ACL): 0. */
int tsp_file_others_may_access(const char *path, apr_pool_t *pool);

/* Make ACCOUNT the owner of the file PATH, so that a service running as
 * ACCOUNT may read a secret that is owner-only. *GIVEN: whether it was
 * done (0 when ACCOUNT does not exist yet, or where services read such
 * files anyway: Windows, whose installer sets the folder's ACL). */
ts_error_t *tsp_file_give_to(int *given, const char *path,
                             const char *account, apr_pool_t *pool);

/* Whether accounts other than this process's own (and root; on Windows
 * the administrators and the system) may create, rename or remove
 * entries in the directory DIR, and so plant a link where a server
 * writes: NULL when they may not (or DIR does not exist), else an error
 * (TS_ECONFIG) that says why in a sentence of its own ("every account
 * may write it (mode 0777)", "it belongs to the account bob, which may
 * write it"), for the caller to quote, with *FIX the command that makes
 * DIR private. Linux: the owner and the group and other write bits
 * (which also reflect POSIX ACL entries). Windows: the DACL, judged for
 * the groups every account's token holds (Everyone, Authenticated Users,
 * Users, INTERACTIVE, Guests). */
ts_error_t *tsp_dir_others_may_write(const char **fix, const char *dir,
                                     apr_pool_t *pool);

/* Where PATH lives. A path that does not exist yet is judged by its
 * nearest existing ancestor. Linux: statfs() magic numbers and the file
 * system type from /proc/self/mountinfo (longest mount point, so bind and
 * nested mounts are right). Windows: UNC paths by their form, drive types,
 * SUBST targets and volume mount points. */
ts_error_t *tsp_path_fs_info(tsp_fs_info_t *info, const char *path,
                             apr_pool_t *pool);

/* The program listening on TCP PORT, as "pid N (name)", or NULL when it
 * cannot be told (another user's process, or not supported). */
const char *tsp_port_owner(int port, apr_pool_t *pool);

/* Where programs are looked for besides PATH (NULL-terminated; Linux:
 * the sbin directories, which a user's PATH lacks), and the suffixes a
 * program's file may have ("" and, on Windows, ".exe"). */
const char *const *tsp_program_dirs(void);
const char *const *tsp_program_suffixes(void);

/* Whether this process may run the program file PATH (Linux: access()
 * with X_OK, which root passes when any execute bit is set). Windows: 1,
 * a program found is runnable as far as can be told before running it. */
int tsp_program_runnable(const char *path);

/* ---- helper programs a server runs as its children (helpers.c) -------
 *
 * The bus broker is such a helper. It never runs as root: when this
 * process is root, it runs as another account (tsp_helper_account), gets
 * the files it needs handed over (tsp_file_hand_over), and must be able
 * to reach them (tsp_account_reaches). A helper an earlier, killed run
 * left behind is recognised by its pid file, written by this account and
 * by no other (tsp_pidfile_read), and by its executable
 * (tsp_process_runs_with), never by its command line alone; it is left
 * behind only if it is no longer the child of the server that started it
 * (tsp_process_parent). */

/* *ACCOUNT: the account a helper runs as when not this process's own, or
 * NULL. Linux, when this process is root: the service account
 * (tsp_service_account(), created by `tessera-admin service install`) if
 * it exists, else "nobody"; neither existing is an error saying how to
 * create the service account. Otherwise, and on Windows (a service runs
 * as LocalService already), NULL. */
ts_error_t *tsp_helper_account(const char **account, apr_pool_t *pool);

/* Let ACCOUNT use PATH, a file or directory this process made. OWN: the
 * account becomes its owner (where it writes: its log, its persistence);
 * else it stays this account's and ACCOUNT's group may read (and search)
 * it, others nothing (its configuration and password file). PATH is
 * opened without following a symbolic link; a link, or what is neither a
 * file nor a directory, is refused. Windows: nothing (NULL). */
ts_error_t *tsp_file_hand_over(const char *path, const char *account,
                               int own, apr_pool_t *pool);

/* NULL when ACCOUNT may search every directory down to DIR and DIR
 * itself; else an error naming the first one it may not search and how
 * to let it. Linux: judged by the kernel, in a child process that became
 * ACCOUNT (mode bits and ACLs count); needs root. Windows: NULL. */
ts_error_t *tsp_account_reaches(const char *dir, const char *account,
                                apr_pool_t *pool);

/* The text of the pid file PATH (its first 1023 bytes), believed only if
 * this account wrote it: a regular file (opened without following a
 * symbolic link) owned by this process's user and writable by no other
 * account. No file: TS_ENOENT; a file that is not believed: TS_EPERM
 * saying why. Windows: the file's text (the folder's ACL guards
 * INOLIC). */
ts_error_t *tsp_pidfile_read(const char **text, const char *path,
                             apr_pool_t *pool);

/* This process's pid. */
long tsp_process_self(void);

/* Whether a process PID exists now (on this machine). */
int tsp_process_alive(long pid);

/* The parent of process PID now: the process that started it while that
 * one runs; once it has ended, whoever adopted the orphan (init, a
 * subreaper). 0 when it cannot be told (PID is gone; Windows, where a
 * helper cannot outlive the server that started it and the recorded
 * parent of a process is not updated when that parent ends). */
long tsp_process_parent(long pid);

/* Whether process PID runs the executable PROGRAM (the same file, not a
 * file of the same name) and NEEDLE (unless NULL) is on its command line:
 * a helper left behind by a crashed server, not another program that got
 * its pid or names its files. 0 when it cannot be told (Windows: another
 * process's command line is not readable; a helper there cannot outlive
 * the server, see tsp_child_started). */
int tsp_process_runs_with(long pid, const char *program, const char *needle);

/* *WRAPPED: ARGV (NULL-terminated, argv[0] a full path) wrapped so that
 * the child ends when this process does, even by kill -9, and runs as
 * ACCOUNT unless that is NULL (Linux: setpriv --pdeathsig, and --reuid,
 * --regid, --init-groups; setpriv changes the account before it sets the
 * parent-death signal, which a change of account clears, so the broker is
 * not told to drop its rights itself). Where the system offers no such
 * wrapper, ARGV itself, or an error when ACCOUNT cannot be honoured. */
ts_error_t *tsp_child_argv(const char ***wrapped, const char **argv,
                           const char *account, apr_pool_t *pool);

/* The same promise for PROC, once it runs (Windows: a job object of its
 * own that kills it when this process ends; elsewhere nothing more).
 * *TOKEN gets what to give tsp_child_forget() once the child has been
 * waited for (NULL when there is nothing). A failure is returned for the
 * log; the child runs anyway. */
struct apr_proc_t;
apr_status_t tsp_child_started(void **token, struct apr_proc_t *proc);
void tsp_child_forget(void *token);

/* Limit child PROC (TOKEN: tsp_child_started's) to MB megabytes of
 * memory: Linux the address space (RLIMIT_AS, set with prlimit(2)), so
 * that an allocation over it fails in the child; Windows the job
 * object's process memory limit. */
apr_status_t tsp_child_limit_memory(void *token, struct apr_proc_t *proc,
                                    long mb);

/* Tell child PROC to reopen its log files (Linux: SIGHUP; Windows has no
 * such signal: nothing). */
void tsp_child_reopen_logs(struct apr_proc_t *proc);

/* This process's id. */
long tsp_pid(void);

/* Have the server PID reload, as the service manager would (Linux:
 * SIGHUP). Only for a pid a believed pid file names (tsp_pidfile_read)
 * and the server itself reports. Not allowed: TS_EPERM; no such process:
 * TS_ENOENT; Windows, where only the service manager sends PARAMCHANGE:
 * TS_EUNAVAIL. */
ts_error_t *tsp_server_reload(long pid);

/* Whether this system has such a HUP (Linux 1, Windows 0). */
int tsp_has_hup(void);

/* True where services must not keep projects on network file systems
 * (Windows, SPEC §4); elsewhere a network path is only reported. */
int tsp_services_refuse_remote_projects(void);

/* ---- access as another account ----------------------------------------- */

typedef struct tsp_access_report_t {
  const char *identity;          /* whom the check counted as the account:
                                    "tessera (groups tessera, agents)" */
  long scanned;                  /* files and directories looked at */
  long denied;                   /* how many the account may not use */
  apr_array_header_t *examples;  /* of const char *: "path: what" (<= 10) */
  apr_array_header_t *probes;    /* of const char *: failed create probes */
} tsp_access_report_t;

/* Walk DIR once as ACCOUNT would: directories must be readable, writable
 * and searchable, files readable and writable; in each of PROBE_DIRS
 * (NULL-terminated) the account must be able to create and remove a file.
 * Linux: a child process becomes ACCOUNT (its uid, group and
 * supplementary groups; needs root) and the kernel applies modes and
 * POSIX ACLs; the probes really create and remove a file. Windows: each
 * DACL is judged for the account's SIDs (its own, its local groups and
 * the well-known groups of a logged-on token). Symbolic links and
 * junctions are not followed. */
ts_error_t *tsp_access_scan(tsp_access_report_t **report, const char *dir,
                            const char *account,
                            const char *const *probe_dirs, apr_pool_t *pool);

/* NULL when ACCOUNT exists on this machine; else TS_ENOENT saying so. */
ts_error_t *tsp_account_exists(const char *account, apr_pool_t *pool);

/* The command that gives ACCOUNT read and write access to the tree DIR,
 * for this platform's permission model. */
const char *tsp_access_fix(const char *dir, const char *account,
                           apr_pool_t *pool);

/* The account Tessera's services run as: Linux the dedicated user
 * "tessera" (created by service install), Windows "NT AUTHORITY\LocalService".
 * doctor checks INOPRJ as this account unless told others. */
const char *tsp_service_account(void);

/* "linux" or "windows": the os field of the records agents and model
 * servers leave in INOPRJ. */
const char *tsp_os_name(void);

/* ---- System V message queues (Linux; none on Windows) ------------------ */

typedef struct tsp_msgqueue_t {
  long key, id;
  long uid;              /* owner */
  const char *owner;     /* owner's name, or the number */
  long messages;
  long last_sender, last_receiver;   /* pids, 0 if none */
  int stale;             /* neither pid exists any more */
} tsp_msgqueue_t;

/* The system's queues and its queue limit (kernel.msgmni). Where the
 * system has none (Windows), *QUEUES is NULL and *MSGMNI -1. */
ts_error_t *tsp_msgqueues(apr_array_header_t **queues, long *msgmni,
                          apr_pool_t *pool);

/* Remove queue ID. */
ts_error_t *tsp_msgqueue_remove(long id);

/* ---- the local control channel (control.c; core/proc/ts_control) ------
 *
 * An agent and the model servers it started on this machine exchange
 * short requests and replies, at most TSP_CTL_MAX bytes each. The agent
 * creates the channel and passes its name to each model server; a model
 * server serves what is addressed to its own pid.
 *
 * Linux: one System V message queue per agent (IPC_PRIVATE, mode 0600),
 * named "<queue id>.<agent pid>". A request's type is the model server's
 * pid, a reply's the agent's; a reply carries its request's number, and
 * a thread of the agent's routes it to the thread that waits for it. The
 * queue's last sender or last receiver is always the agent while it runs
 * (it touches the queue at creation, and receives a word from each model
 * server that stops serving), so the doctor lists the queue as stale
 * (neither pid alive) exactly when the agent has ended without removing
 * it. Windows: each model server listens on the named pipe
 * \\.\pipe\<name>.<pid> (one instance, local clients only, the default
 * security of its account); the name is the agent's own
 * ("tessera.<agent pid>.<random>"), and there is nothing to remove. */
#define TSP_CTL_MAX 4096

typedef struct tsp_ctl_t tsp_ctl_t;

/* Agent: a new channel, living in POOL until tsp_ctl_remove(). Linux:
 * when this process is root, the queue is handed to tsp_helper_account(),
 * as which its model servers run. Too many queues already (msgget:
 * ENOSPC, kernel.msgmni): TS_EUNAVAIL with the vendor's words for it and
 * the doctor's fix. */
ts_error_t *tsp_ctl_create(tsp_ctl_t **ctl, apr_pool_t *pool);

/* The name a model server gives tsp_ctl_open (TESSERA_CONTROL). */
const char *tsp_ctl_name(const tsp_ctl_t *ctl);

/* Agent: send REQUEST (LEN bytes, <= TSP_CTL_MAX) to the model server
 * PID and wait up to TIMEOUT for its reply: *REPLY, NUL-terminated, in
 * POOL. Safe from several threads at once. No reply in time: TS_EUNAVAIL
 * naming PID and whether such a process runs (Linux: the request is
 * taken back out of the queue). */
ts_error_t *tsp_ctl_call(const char **reply, tsp_ctl_t *ctl, long pid,
                         const char *request, apr_size_t len,
                         apr_interval_time_t timeout, apr_pool_t *pool);

/* Agent, at a clean stop: remove the channel (Linux: end the routing
 * thread, remove the queue). No call may be under way or follow. */
ts_error_t *tsp_ctl_remove(tsp_ctl_t *ctl);

/* Model server: open the channel NAME (from its agent) for requests
 * addressed to this process, in POOL. A malformed name: TS_EINVAL; a
 * channel that is gone (Linux: no such queue): TS_ENOENT; one of another
 * account: TS_EPERM; Windows: a pipe of that name already served by
 * another process: TS_EUNAVAIL. */
ts_error_t *tsp_ctl_open(tsp_ctl_t **ctl, const char *name,
                         apr_pool_t *pool);

/* Model server: wait for the next request, *REQUEST (NUL-terminated, in
 * POOL), or NULL once tsp_ctl_wake() was called. One thread only; answer
 * each request with tsp_ctl_answer() before the next. */
ts_error_t *tsp_ctl_next(const char **request, tsp_ctl_t *ctl,
                         apr_pool_t *pool);

/* Model server: REPLY (LEN bytes, <= TSP_CTL_MAX) to the request
 * tsp_ctl_next() gave last. */
ts_error_t *tsp_ctl_answer(tsp_ctl_t *ctl, const char *reply,
                           apr_size_t len);

/* Model server, from another thread: make tsp_ctl_next() return NULL
 * now and from then on. */
ts_error_t *tsp_ctl_wake(tsp_ctl_t *ctl);

/* Model server, once tsp_ctl_next() has returned for the last time:
 * close the channel (Windows: the pipe; Linux: take back what is left
 * addressed to this process and tell the agent, whose receipt keeps its
 * queue from looking stale). */
void tsp_ctl_close(tsp_ctl_t *ctl);

/* ---- process and system ------------------------------------------------ */

/* True when this process may write the all-users scope (root on Linux, an
 * elevated administrator on Windows). */
int tsp_is_privileged(void);

/* How to run COMMAND with the rights for the all-users scope, as a phrase
 * for tessera-admin's messages ("`sudo COMMAND`" on Linux; on Windows a
 * phrase in the language of people, ts_i18n.h). */
const char *tsp_privileged_command(const char *command, apr_pool_t *pool);

/* The directory under which Tessera keeps licenses, parameters and
 * projects when the settings do not say otherwise. */
const char *tsp_default_data_dir(apr_pool_t *pool);

/* Prepare SOCK, not yet bound, to listen: a restarted server may bind its
 * port again at once (SO_REUSEADDR on Linux, where TIME_WAIT would hold
 * it), and no other program may bind it while we hold it
 * (SO_EXCLUSIVEADDRUSE on Windows, where SO_REUSEADDR would allow that). */
struct apr_socket_t;
apr_status_t tsp_listener_prepare(struct apr_socket_t *sock);

/* True when S says an address (a port) is already in use. */
int tsp_status_is_addr_in_use(apr_status_t s);

/* ---- service runtime ---------------------------------------------------
 *
 * The platform owns the process lifecycle (systemd notify, signals and the
 * classic --daemon fork on Linux; the service control manager or a console
 * on Windows); the server logic comes in as hooks. One start path serves
 * every mode. */

typedef enum tsp_run_mode_t {
  TSP_RUN_FOREGROUND,   /* Linux default (new-style daemon), Windows --console */
  TSP_RUN_DAEMON,       /* Linux --daemon: fork, setsid, fork, pid file */
  TSP_RUN_SERVICE       /* --service, under the service manager: Windows
                           SCM; Linux: systemd (runs as in the foreground) */
} tsp_run_mode_t;

typedef struct tsp_service_t tsp_service_t;

typedef struct tsp_service_hooks_t {
  void *baton;
  /* Bring the server up; return only when it serves (its port accepts
   * connections), or with the reason it cannot. */
  ts_error_t *(*start)(void *baton, tsp_service_t *service);
  /* Re-read the configuration and reopen the log files. An error keeps
   * the server running on its old configuration. SCRATCH_POOL is this
   * reload's, destroyed after it: a reload takes nothing from the
   * process's pool, so any number of them leave it as it was. */
  ts_error_t *(*reload)(void *baton, apr_pool_t *scratch_pool);
  /* Stop serving; called once, on the main thread. */
  void (*stop)(void *baton);
} tsp_service_hooks_t;

typedef struct tsp_service_options_t {
  const char *name;             /* service name, e.g. "tessera-license" */
  tsp_run_mode_t mode;
  const char *pidfile;          /* Linux: locked pid file, or NULL */
  apr_interval_time_t stop_deadline;
  struct ts_log_t *log;         /* where the runtime logs its own lines */
} tsp_service_options_t;

/* Run until told to stop. *EXIT_STATUS receives the status the process
 * should exit with. An error means the server could not start; in
 * --daemon mode the platform has already reported it to the parent. */
ts_error_t *tsp_service_run(int *exit_status,
                            const tsp_service_options_t *options,
                            const tsp_service_hooks_t *hooks,
                            apr_pool_t *pool);

/* Stop the server that tsp_service_run() runs in this process, as the
 * service manager's stop would (cleanly: the hooks' stop runs on the main
 * thread): for a server that decides to stop on its own (a model server
 * nobody uses, or told so over the control channel). Any thread. */
void tsp_service_request_stop(void);

/* A one-line status for the service manager (systemd STATUS=). */
void tsp_service_status(tsp_service_t *service, const char *text);

/* The pid of another process that holds the lock on the pid file PATH
 * (a server running now), or 0. Not for a process that holds the lock
 * itself: opening and closing the file would drop it (POSIX record
 * locks). Windows, which has no pid file: 0. */
long tsp_pidfile_holder(const char *path);

/* ---- service registration (tessera-admin service ...) ------------------ */

typedef struct tsp_service_spec_t {
  const char *role;             /* "license" */
  const char *name;             /* "tessera-license" */
  const char *description;
  const char *program;          /* absolute path of tesserad */
  const char *account;          /* tsp_service_account() */
  const char *const *after;     /* services this one starts after, or NULL */
  const char *const *writable;  /* directories the account must write */
  const char *const *owned;     /* files the account must own (the server
                                   credential), or NULL; Linux only */
  long nofile;                  /* Linux: LimitNOFILE= */
  const char *sysconfdir;       /* Linux: instead of /etc, or NULL */
} tsp_service_spec_t;

/* Register SPEC with the service manager (systemd unit, enabled and
 * started; Windows service with description, restart on failure and
 * dependencies, started). */
ts_error_t *tsp_service_install(const tsp_service_spec_t *spec,
                                apr_pool_t *pool);

/* Stop and remove service NAME; data, logs and settings stay. */
ts_error_t *tsp_service_uninstall(const tsp_service_spec_t *spec,
                                  apr_pool_t *pool);

/* Start (START non-zero) or stop service NAME and wait for the result. */
ts_error_t *tsp_service_control(const tsp_service_spec_t *spec, int start,
                                apr_pool_t *pool);

/* *STATE: "running", "stopped", "starting", "stopping", "failed" or
 * "not installed"; *DETAIL: the service manager's own words. */
ts_error_t *tsp_service_query(const char **state, const char **detail,
                              const tsp_service_spec_t *spec,
                              apr_pool_t *pool);

/* The path of the running program, for finding tesserad beside it. */
ts_error_t *tsp_program_path(const char **path, apr_pool_t *pool);

/* Set NAME=VALUE in this process's environment where both the system and
 * the C library's getenv() see it (libintl reads LANGUAGE there), and
 * children inherit it. Before other threads start. (Windows: putenv()
 * cannot grow the copy of the environment apr_app_initialize() made.) */
ts_error_t *tsp_env_set(const char *name, const char *value,
                        apr_pool_t *pool);

/* A copy of this process's environment (NAME=value strings, NULL-
 * terminated, in POOL): what a child should inherit, with EXTRA (NULL-
 * terminated NAME=value, or NULL) added, replacing variables of the same
 * name. */
const char *const *tsp_environment(const char *const *extra,
                                   apr_pool_t *pool);

/* Raise the soft limit of open files to WANT (0: as high as allowed;
 * negative: only read the limits); *SOFT and *HARD receive the limits in
 * force afterwards (-1: none). */
ts_error_t *tsp_fd_limit_raise(long *soft, long *hard, long want);

/* True when stderr is connected to the systemd journal. */
int tsp_stderr_is_journal(void);

/* Tune the memory allocator for a long-running server, before any thread
 * starts. Linux (glibc): freed memory stays in the process instead of
 * being handed back (madvise) whenever a thread's heap shrinks, which a
 * busy license server did on almost every request (7 % of its time, and
 * TLB shootdowns on every core); checkout + check-in pairs at 64 / 1000
 * clients went from ~9.9k / 8.2k to ~11.8k / 10.3k per second, RSS with
 * 687k open sessions 51 MB. Windows: nothing. */
void tsp_allocator_tune(void);

#endif
