/*
 * core/proc: running programs with /bin/sh, as ourselves and, when root,
 * as `nobody`; what the child inherits and how failures are reported.
 */
#define _GNU_SOURCE
#include "core/proc.h"

#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

static char base[PATH_MAX], outpath[PATH_MAX + 16];

/* The whole of `path` into `buf` ("" when unreadable). */
static const char *slurp(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd < 0 ? -1 : read(fd, buf, size - 1);

    if (fd >= 0)
        close(fd);
    buf[got > 0 ? got : 0] = '\0';
    return buf;
}

/* Runs `script` with /bin/sh as `u`, output to a fresh outpath; returns
 * enigma_proc_run's result. */
static int sh(const enigma_proc_user *u, const char *script, int *status, enigma_error *err)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};

    unlink(outpath);
    return enigma_proc_run(u, argv, outpath, status, err);
}

static void test_lookup(void)
{
    enigma_proc_user u;
    enigma_error err = {0};

    CHECK(enigma_proc_lookup(&u, "root", &err) == 0);
    CHECK(u.drop == 1 && u.uid == 0 && u.gid == 0 && u.ngroups >= 1);
    CHECK_STR(u.name, "root");
    CHECK(enigma_proc_lookup(&u, "no-such-user-enigma", &err) == -1);
    CHECK_STR(err.code, "ENOUSER");
    CHECK(strstr(err.message, "no-such-user-enigma") != NULL);
    CHECK(u.drop == 0 && u.name[0] == '\0');
}

static void test_run_as_self(void)
{
    enigma_proc_user self;
    enigma_error err = {0};
    char buf[4096], script[128];
    sigset_t usr1, old;
    int status = -1, fd;

    memset(&self, 0, sizeof self);
    CHECK(sh(&self, "echo out; echo err >&2; exit 3", &status, &err) == 0);
    CHECK(status == 3);
    CHECK_STR(slurp(outpath, buf, sizeof buf), "out\nerr\n");

    /* appended, not truncated */
    CHECK(sh(&self, "echo one", &status, &err) == 0);
    CHECK(enigma_proc_run(&self, (char *[]){"/bin/echo", "two", NULL}, outpath, &status, &err) ==
          0);
    CHECK(status == 0);
    CHECK_STR(slurp(outpath, buf, sizeof buf), "one\ntwo\n");

    /* in /, stdin empty */
    CHECK(sh(&self, "pwd; wc -c", &status, &err) == 0 && status == 0);
    CHECK_STR(slurp(outpath, buf, sizeof buf), "/\n0\n");

    /* no inherited descriptor above 2, no inherited blocked signal */
    fd = open("/dev/null", O_RDONLY); /* deliberately not close-on-exec */
    snprintf(script, sizeof script,
             "test -e /proc/self/fd/%d && echo leaked; "
             "grep SigBlk /proc/self/status",
             fd);
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    CHECK(sh(&self, script, &status, &err) == 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    close(fd);
    CHECK_STR(slurp(outpath, buf, sizeof buf), "SigBlk:\t0000000000000000\n");

    /* killed by a signal: 128 + its number, not a failure */
    CHECK(sh(&self, "kill -KILL $$", &status, &err) == 0);
    CHECK(status == 128 + SIGKILL);
}

static void test_run_failures(void)
{
    enigma_proc_user self;
    enigma_error err = {0};
    char *missing[] = {"/nonexistent/program", NULL}, bad_out[PATH_MAX + 32];
    int status = -1;

    memset(&self, 0, sizeof self);
    CHECK(enigma_proc_run(&self, missing, outpath, &status, &err) == -1);
    CHECK_STR(err.code, "EIO");
    CHECK_STR(err.message, "could not execute /nonexistent/program");
    CHECK(status == ENIGMA_PROC_EXIT_EXEC);

    snprintf(bad_out, sizeof bad_out, "%s/no/such/dir/out", base);
    CHECK(enigma_proc_run(&self, (char *[]){"/bin/true", NULL}, bad_out, &status, &err) == -1);
    CHECK_STR(err.code, "EIO");
    CHECK(strstr(err.message, "could not open") != NULL && strstr(err.message, bad_out) != NULL);
}

static void test_reach_as_self(void)
{
    enigma_proc_user self;
    enigma_error err = {0};
    char blocked[PATH_MAX] = "x";
    int reachable = -1;

    memset(&self, 0, sizeof self);
    CHECK(enigma_proc_reach(&self, base, &reachable, blocked, sizeof blocked, &err) == 0);
    CHECK(reachable == 1);
    CHECK_STR(blocked, "");
}

/* Root only: programs and reach checks as `nobody`. */
static void test_as_nobody(void)
{
    enigma_proc_user nobody;
    enigma_error err = {0};
    char buf[256], want[64], locked[PATH_MAX + 16], inner[PATH_MAX + 32], blocked[PATH_MAX];
    struct stat st;
    int status = -1, reachable = -1;

    CHECK(enigma_proc_lookup(&nobody, "nobody", &err) == 0);
    CHECK(sh(&nobody, "id -u; id -g", &status, &err) == 0 && status == 0);
    snprintf(want, sizeof want, "%u\n%u\n", (unsigned)nobody.uid, (unsigned)nobody.gid);
    CHECK_STR(slurp(outpath, buf, sizeof buf), want);
    CHECK(stat(outpath, &st) == 0 && st.st_uid == nobody.uid);

    snprintf(locked, sizeof locked, "%s/locked", base);
    snprintf(inner, sizeof inner, "%s/inner", locked);
    CHECK(mkdir(locked, 0700) == 0 && chmod(locked, 0700) == 0 && mkdir(inner, 0755) == 0);
    CHECK(enigma_proc_reach(&nobody, inner, &reachable, blocked, sizeof blocked, &err) == 0);
    CHECK(reachable == 0);
    CHECK_STR(blocked, locked);
    CHECK(enigma_proc_reach(&nobody, base, &reachable, blocked, sizeof blocked, &err) == 0);
    CHECK(reachable == 1);
}

/* Root only: a process that is no longer root cannot switch users. */
static void test_switch_refused(void)
{
    enigma_proc_user root, nobody;
    enigma_error err = {0};
    pid_t pid;
    int status;

    if (enigma_proc_lookup(&root, "root", &err) < 0 ||
        enigma_proc_lookup(&nobody, "nobody", &err) < 0) {
        CHECK(0);
        return;
    }
    fflush(NULL);
    if ((pid = fork()) == 0) {
        char blocked[PATH_MAX];
        int code = -1, reachable;

        test_failed = 0;
        if (setgroups(0, NULL) < 0 || setgid(nobody.gid) < 0 || setuid(nobody.uid) < 0)
            _exit(99);
        CHECK(sh(&root, "true", &code, &err) == -1);
        CHECK_STR(err.code, "EACCES");
        CHECK_STR(err.message, "could not switch to the 'root' user to run /bin/sh");
        CHECK(enigma_proc_reach(&root, "/tmp", &reachable, blocked, sizeof blocked, &err) == -1);
        CHECK_STR(err.code, "EACCES");
        exit(test_failed == 0 ? 0 : 1);
    }
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
          WEXITSTATUS(status) == 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

/* A descriptor passed on is the program's 3, whatever number it had, and
 * a lock on it outlives the caller's copy: how initdb keeps the cluster
 * lock after its enigma is killed. */
static void test_run_keeping(void)
{
    enigma_proc_user self;
    enigma_error err = {0};
    char lockpath[PATH_MAX + 8];
    char *check[] = {"/bin/sh", "-c", "test -e /proc/self/fd/3 && ! test -e /proc/self/fd/4", NULL};
    char *hold[] = {"/bin/sh", "-c", "sleep 1 & exit 0", NULL};
    int status = -1, fd, probe;

    memset(&self, 0, sizeof self);
    snprintf(lockpath, sizeof lockpath, "%s/lock", base);
    probe = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    fd = fcntl(probe, F_DUPFD_CLOEXEC, 10); /* not 3 */
    close(probe);
    CHECK(fd >= 10 && flock(fd, LOCK_EX) == 0);
    CHECK(enigma_proc_run_keeping(&self, check, outpath, fd, &status, &err) == 0);
    CHECK(status == 0);
    CHECK(enigma_proc_run(&self, check, outpath, &status, &err) == 0);
    CHECK(status == 1); /* nothing passed on */
    /* the backgrounded sleep holds the lock after we close ours */
    CHECK(enigma_proc_run_keeping(&self, hold, outpath, fd, &status, &err) == 0);
    close(fd);
    probe = open(lockpath, O_RDWR | O_CLOEXEC);
    CHECK(flock(probe, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK);
    CHECK(flock(probe, LOCK_EX) == 0); /* until it exits */
    close(probe);
}

int main(void)
{
    char tmpl[] = "/tmp/proc_test.XXXXXX";

    if (mkdtemp(tmpl) == NULL || chmod(tmpl, 0777) < 0 || realpath(tmpl, base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(outpath, sizeof outpath, "%s/out", base);
    test_lookup();
    test_run_as_self();
    test_run_failures();
    test_run_keeping();
    test_reach_as_self();
    if (geteuid() == 0) {
        test_as_nobody();
        test_switch_refused();
    } else {
        printf("not root: skipping the nobody cases\n");
    }
    nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return test_report();
}
