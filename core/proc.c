/*
 * Child processes as another user: fork, drop privileges, exec, wait. See
 * core/proc.h for the contract. Everything a child does between fork and
 * exec (or _exit) is async-signal-safe.
 */
#define _GNU_SOURCE /* close_range, pipe2, getgrouplist */
#include "core/proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int enigma_proc_lookup(enigma_proc_user *u, const char *name, enigma_error *err)
{
    struct passwd pw, *found = NULL;
    char buf[4096];
    int n = ENIGMA_PROC_MAX_GROUPS, rc;

    memset(u, 0, sizeof *u);
    if (strlen(name) >= sizeof u->name)
        return enigma_error_set(err, "ENOUSER", "no system user '%s'", name);
    rc = getpwnam_r(name, &pw, buf, sizeof buf, &found);
    if (found == NULL) {
        if (rc != 0)
            return enigma_error_set(err, "EIO", "getpwnam_r %s: %s", name, strerror(rc));
        return enigma_error_set(err, "ENOUSER", "no system user '%s'", name);
    }
    u->drop = 1;
    snprintf(u->name, sizeof u->name, "%s", name);
    u->uid = pw.pw_uid;
    u->gid = pw.pw_gid;
    if (getgrouplist(name, pw.pw_gid, u->groups, &n) < 0)
        n = ENIGMA_PROC_MAX_GROUPS; /* more groups than we keep: the first ones do */
    u->ngroups = n;
    return 0;
}

/* In a forked child: become `u` (setgroups = initgroups without reading
 * /etc/group after fork). */
static int child_become(const enigma_proc_user *u)
{
    if (!u->drop)
        return 0;
    if (setgroups((size_t)u->ngroups, u->groups) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0)
        return -1;
    return setuid(0) == 0 ? -1 : 0; /* must not be able to get root back */
}

/* In a forked child: default signal state, no inherited descriptors but
 * 0-2, and `keep` as descriptor 3 when it is not -1. */
static void child_reset(int keep)
{
    sigset_t none;
    struct sigaction dfl;
    int fd;

    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, NULL);
    sigaction(SIGPIPE, &dfl, NULL);
    if (keep >= 0) {
        if (keep == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(keep, 3) < 0)
            _exit(ENIGMA_PROC_EXIT_OPEN);
    }
    if (close_range(keep >= 0 ? 4 : 3, ~0U, 0) < 0)
        for (fd = keep >= 0 ? 4 : 3; fd < 65536; fd++)
            close(fd);
}

/* In a forked child: stdin from /dev/null, stdout and stderr appended to
 * `outpath`. */
static int child_redirect(const char *outpath)
{
    int in = open("/dev/null", O_RDONLY);
    int out = open(outpath, O_WRONLY | O_CREAT | O_APPEND, 0600);

    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        return -1;
    if (in > 2)
        close(in);
    if (out > 2)
        close(out);
    return 0;
}

static int wait_child(pid_t pid, int *status, enigma_error *err)
{
    int ws;

    while (waitpid(pid, &ws, 0) < 0) {
        if (errno != EINTR)
            return enigma_error_set(err, "EIO", "waitpid: %s", strerror(errno));
    }
    *status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    return 0;
}

int enigma_proc_run(const enigma_proc_user *u, char *const argv[], const char *outpath, int *status,
                    enigma_error *err)
{
    return enigma_proc_run_keeping(u, argv, outpath, -1, status, err);
}

int enigma_proc_run_keeping(const enigma_proc_user *u, char *const argv[], const char *outpath,
                            int keep_fd, int *status, enigma_error *err)
{
    pid_t pid = fork();

    if (pid < 0)
        return enigma_error_set(err, "EIO", "fork: %s", strerror(errno));
    if (pid == 0) {
        child_reset(keep_fd);
        if (child_become(u) < 0)
            _exit(ENIGMA_PROC_EXIT_BECOME);
        if (chdir("/") < 0 || child_redirect(outpath) < 0)
            _exit(ENIGMA_PROC_EXIT_OPEN);
        execv(argv[0], argv);
        _exit(ENIGMA_PROC_EXIT_EXEC);
    }
    if (wait_child(pid, status, err) < 0)
        return -1;
    if (*status == ENIGMA_PROC_EXIT_BECOME)
        return enigma_error_set(err, "EACCES", "could not switch to the '%s' user to run %s",
                                u->name, argv[0]);
    if (*status == ENIGMA_PROC_EXIT_OPEN)
        return enigma_error_set(err, "EIO", "could not open %s for %s's output", outpath, argv[0]);
    if (*status == ENIGMA_PROC_EXIT_EXEC)
        return enigma_error_set(err, "EIO", "could not execute %s", argv[0]);
    return 0;
}

/* In a forked child: exits 0 when `u` can search every directory on
 * `path` (`len` bytes), else 1 after writing the first one it cannot
 * search to `fd`. */
__attribute__((noreturn)) static void child_reach(const enigma_proc_user *u, char *path, size_t len,
                                                  int fd)
{
    size_t i;

    if (child_become(u) < 0)
        _exit(ENIGMA_PROC_EXIT_BECOME);
    for (i = 1; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        path[i] = '\0';
        if (access(path, X_OK) < 0) {
            ssize_t ignored = write(fd, path, i);
            (void)ignored;
            _exit(1);
        }
        path[i] = '/';
    }
    _exit(0);
}

int enigma_proc_reach(const enigma_proc_user *u, const char *path, int *reachable, char *blocked,
                      size_t size, enigma_error *err)
{
    char copy[PATH_MAX], got_path[PATH_MAX];
    size_t len = strlen(path);
    int fds[2], status;
    ssize_t got;
    pid_t pid;

    if (len >= sizeof copy)
        return enigma_error_set(err, "EIO", "path too long: %s", path);
    memcpy(copy, path, len + 1);
    if (pipe2(fds, O_CLOEXEC) < 0)
        return enigma_error_set(err, "EIO", "pipe: %s", strerror(errno));
    if ((pid = fork()) < 0) {
        close(fds[0]);
        close(fds[1]);
        return enigma_error_set(err, "EIO", "fork: %s", strerror(errno));
    }
    if (pid == 0)
        child_reach(u, copy, len, fds[1]);
    close(fds[1]);
    got = read(fds[0], got_path, sizeof got_path - 1);
    close(fds[0]);
    got_path[got > 0 ? got : 0] = '\0';
    if (wait_child(pid, &status, err) < 0)
        return -1;
    if (status == ENIGMA_PROC_EXIT_BECOME)
        return enigma_error_set(err, "EACCES", "could not switch to the '%s' user", u->name);
    *reachable = status == 0;
    if (size > 0)
        snprintf(blocked, size, "%s", status == 0 ? "" : got_path);
    return 0;
}
