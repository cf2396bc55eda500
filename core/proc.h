/*
 * enigma_proc: child processes run as another system user.
 *
 * A program runs in a forked child that, when given a user, drops to it
 * (supplementary groups, group, user, then proves it cannot get root back)
 * before exec. Between fork and exec the child calls only
 * async-signal-safe functions, so the caller may have threads. A program
 * starts with default SIGCHLD and SIGPIPE handling, no blocked signals, and
 * no descriptors but 0-2 (unless the caller passes one on): a long-lived one (a server) never holds
 * the caller's files or locks.
 */
#ifndef ENIGMA_PROC_H
#define ENIGMA_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "core/error.h"

#define ENIGMA_PROC_MAX_GROUPS 256
#define ENIGMA_PROC_NAME_MAX 256

/* Exit statuses of a child that failed before its program ran; a program
 * that exits with one of these itself is taken for that failure. */
#define ENIGMA_PROC_EXIT_BECOME 124 /* could not switch to the user */
#define ENIGMA_PROC_EXIT_OPEN 125   /* could not set up stdin, stdout, stderr */
#define ENIGMA_PROC_EXIT_EXEC 127   /* could not execute the program */

/* Who a child runs as. Plain data that owns nothing. All zeroes (drop == 0)
 * means "as the calling process": no switch is attempted. */
typedef struct enigma_proc_user {
    int drop; /* switch to the fields below in the child */
    char name[ENIGMA_PROC_NAME_MAX];
    uid_t uid;
    gid_t gid;
    int ngroups; /* at most ENIGMA_PROC_MAX_GROUPS: the first ones are kept */
    gid_t groups[ENIGMA_PROC_MAX_GROUPS];
} enigma_proc_user;

/* Fills `u` (caller-owned) for the system user `name`, its groups
 * included, with drop set. Switching to it later needs root.
 * Fails with "ENOUSER" (no such user) or "EIO" (the user database could
 * not be read; the message says why); `u` is then zeroed. */
int enigma_proc_lookup(enigma_proc_user *u, const char *name, enigma_error *err)
    __attribute__((warn_unused_result));

/* Runs argv[0] (an absolute path; argv is NULL-terminated and stays the
 * caller's) as `u` in the directory /, with stdin from /dev/null and stdout
 * and stderr appended to `outpath` (created 0600 when missing, owned by
 * `u`), and waits for it. Sets *status to its exit status, or 128 + the
 * signal number when a signal killed it; a non-zero status is not a
 * failure here.
 * Fails with "EACCES" (could not switch to `u`), "EIO" (fork or waitpid
 * failed, `outpath` could not be opened, argv[0] could not be executed);
 * *status is then the child's status when there was a child, else
 * unchanged. */
int enigma_proc_run(const enigma_proc_user *u, char *const argv[], const char *outpath, int *status,
                    enigma_error *err) __attribute__((warn_unused_result));

/* enigma_proc_run, with `keep_fd` (-1 for none) passed to the program as
 * its descriptor 3, inherited by whatever it starts in turn. A lock held
 * on it (flock) is then held until the program and all its children have
 * exited, even when the caller dies first. */
int enigma_proc_run_keeping(const enigma_proc_user *u, char *const argv[], const char *outpath,
                            int keep_fd, int *status, enigma_error *err)
    __attribute__((warn_unused_result));

/* Checks, as `u` in a forked child, that `u` can search every directory on
 * the absolute `path`, from the first component down to `path` itself.
 * Sets *reachable to 1, or to 0 and copies the first directory it cannot
 * search into `blocked` (caller-owned, `size` bytes; "" when the child
 * could not say which, truncated when too long).
 * Fails with "EACCES" (could not switch to `u`) or "EIO" (pipe, fork or
 * waitpid failed, or `path` does not fit PATH_MAX). */
int enigma_proc_reach(const enigma_proc_user *u, const char *path, int *reachable, char *blocked,
                      size_t size, enigma_error *err) __attribute__((warn_unused_result));

#endif
