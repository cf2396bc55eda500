/*
 * core/pgcluster against real PostgreSQL binaries: each case gets a fresh
 * home under one mkdtemp directory and stops its cluster whatever happened.
 * Run as root, it also proves the non-root path from a child that becomes
 * `nobody`, and that a home the postgres user cannot reach gets its cluster
 * in /var/lib/enigma.
 */
#define _GNU_SOURCE
#include "core/pgcluster.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "test.h"

static char base[PATH_MAX];
static int notices;                 /* "creating a new database cluster" so far */
static char last_notice[2 * PATH_MAX];

static void count_notice(const char *message, void *ud)
{
    (void)ud;
    notices++;
    snprintf(last_notice, sizeof last_notice, "%s", message);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* <base>/<name> into `out`; -1 when it does not fit. */
static int home_path(char *out, size_t size, const char *name)
{
    int n = snprintf(out, size, "%s/%s", base, name);

    return n >= 0 && (size_t)n < size ? 0 : -1;
}

static int open_home(enigma_pgcluster *c, const char *name)
{
    char home[PATH_MAX];
    enigma_error err = {0};

    if (home_path(home, sizeof home, name) < 0) {
        fprintf(stderr, "home path too long: %s/%s\n", base, name);
        return -1;
    }
    if (enigma_pgcluster_open(c, home, &err) < 0) {
        fprintf(stderr, "open %s: %s: %s\n", home, err.code, err.message);
        return -1;
    }
    return 0;
}

static int start(const enigma_pgcluster *c)
{
    enigma_error err = {0};
    int rc = enigma_pgcluster_start(c, &err);

    if (rc < 0)
        fprintf(stderr, "start %s: %s: %s\n", c->home, err.code, err.message);
    return rc;
}

static int stop(const enigma_pgcluster *c)
{
    enigma_error err = {0};
    int rc = enigma_pgcluster_stop(c, &err);

    if (rc < 0)
        fprintf(stderr, "stop %s: %s: %s\n", c->home, err.code, err.message);
    return rc;
}

static int state_of(const enigma_pgcluster *c)
{
    enigma_pgcluster_state state;
    enigma_error err = {0};

    if (enigma_pgcluster_status(c, &state, &err) < 0) {
        fprintf(stderr, "status %s: %s: %s\n", c->home, err.code, err.message);
        return -1;
    }
    return (int)state;
}

/* Runs `sql` and copies row 0 column `col` into `out` ("" on failure). */
static void fetch(PGconn *conn, const char *sql, int col, char *out, size_t size)
{
    PGresult *res = PQexec(conn, sql);

    out[0] = '\0';
    if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 && PQnfields(res) > col)
        snprintf(out, size, "%s", PQgetvalue(res, 0, col));
    else
        fprintf(stderr, "%s: %s", sql, PQerrorMessage(conn));
    PQclear(res);
}

/* Connects with the cluster's URL and checks who and where we are. */
static void check_connection(const enigma_pgcluster *c)
{
    char url[4 * PATH_MAX], got[256];
    PGconn *conn;

    CHECK(enigma_pgcluster_url(c, NULL, url, sizeof url) == 0);
    conn = PQconnectdb(url);
    CHECK(PQstatus(conn) == CONNECTION_OK);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "connect %s: %s", url, PQerrorMessage(conn));
    } else {
        fetch(conn, "select current_database(), current_user", 0, got, sizeof got);
        CHECK_STR(got, "enigma");
        fetch(conn, "select current_database(), current_user", 1, got, sizeof got);
        CHECK_STR(got, "postgres");
        fetch(conn, "show listen_addresses", 0, got, sizeof got);
        CHECK_STR(got, "");
        fetch(conn, "show shared_preload_libraries", 0, got, sizeof got);
        CHECK_STR(got, "pg_stat_statements");
        fetch(conn, "select rolsuper::text from pg_roles where rolname = current_user", 0, got,
              sizeof got);
        CHECK_STR(got, "true");
    }
    PQfinish(conn);
}

static void test_url(void)
{
    enigma_pgcluster c;
    char buf[256];

    memset(&c, 0, sizeof c);
    snprintf(c.sockdir, sizeof c.sockdir, "/tmp/a b%%c'd~x.y-z/run");
    CHECK(enigma_pgcluster_url(&c, NULL, buf, sizeof buf) == 0);
    CHECK_STR(buf, "postgresql:///enigma?host=/tmp/a%20b%25c%27d~x.y-z/run"
                   "&port=5432&user=postgres");
    CHECK(enigma_pgcluster_url(&c, "my/db", buf, sizeof buf) == 0);
    CHECK_STR(buf, "postgresql:///my%2Fdb?host=/tmp/a%20b%25c%27d~x.y-z/run"
                   "&port=5432&user=postgres");
    CHECK(enigma_pgcluster_url(&c, NULL, buf, 40) == -1);
    CHECK_STR(buf, "");
    CHECK(enigma_pgcluster_url(&c, NULL, buf, 0) == -1);
}

static void test_open(void)
{
    enigma_pgcluster c;
    enigma_error err = {0};
    char home[PATH_MAX], want[PATH_MAX + 32], cwd[PATH_MAX];

    CHECK(home_path(home, sizeof home, "env/nested/home") == 0);
    setenv("ENIGMA_HOME", home, 1);
    CHECK(enigma_pgcluster_open(&c, NULL, &err) == 0);
    unsetenv("ENIGMA_HOME");
    CHECK_STR(c.home, home);
    snprintf(want, sizeof want, "%s/data", home);
    CHECK_STR(c.datadir, want);
    snprintf(want, sizeof want, "%s/run", home);
    CHECK_STR(c.sockdir, want);
    snprintf(want, sizeof want, "%s/log/postgresql.log", home);
    CHECK_STR(c.logfile, want);
    CHECK(c.bindir[0] == '/' && c.logdir[0] == '/');
    CHECK(!c.mapped);
    CHECK_STR(c.clusterdir, home);
    /* opening only looks: the home is made by start */
    CHECK(access(c.home, F_OK) < 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_UNINITIALIZED);
    CHECK(access(c.home, F_OK) < 0);
    CHECK(stop(&c) == 0);
    CHECK(access(c.home, F_OK) < 0);

    /* a relative home is made absolute */
    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(base) == 0);
    CHECK(enigma_pgcluster_open(&c, "rel/home", &err) == 0);
    CHECK(chdir(cwd) == 0);
    CHECK(home_path(want, sizeof want, "rel/home") == 0);
    CHECK_STR(c.home, want);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_UNINITIALIZED);

    setenv("ENIGMA_PG_BINDIR", base, 1);
    CHECK(enigma_pgcluster_open(&c, home, &err) == -1);
    unsetenv("ENIGMA_PG_BINDIR");
    CHECK_STR(err.code, "ENOPG");
    CHECK(strstr(err.message, "ENIGMA_PG_BINDIR") != NULL);
}

/* A quote and spaces in the home exercise the .conf quoting and the URL. */
static void test_lifecycle(void)
{
    enigma_pgcluster c;
    struct stat st;
    double t0;

    if (open_home(&c, "it's a home") < 0) {
        CHECK(0);
        return;
    }
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_UNINITIALIZED);
    CHECK(!c.mapped); /* base is 0755: within anyone's reach */
    notices = 0;
    CHECK(start(&c) == 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_RUNNING);
    /* creating said so once, naming the home */
    CHECK(notices == 1);
    CHECK(strstr(last_notice, "creating a new database cluster in ") == last_notice);
    CHECK(strstr(last_notice, c.home) != NULL);
    t0 = now_seconds();
    CHECK(start(&c) == 0);
    CHECK(now_seconds() - t0 < 0.5);
    CHECK(notices == 1);
    check_connection(&c);
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam("postgres");
        CHECK(pw != NULL && stat(c.datadir, &st) == 0 && st.st_uid == pw->pw_uid);
        CHECK(pw != NULL && stat(c.sockdir, &st) == 0 && st.st_uid == pw->pw_uid);
    }
    CHECK(stop(&c) == 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_STOPPED);
    CHECK(stop(&c) == 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_STOPPED);
    /* started again from STOPPED, then left stopped */
    CHECK(start(&c) == 0);
    CHECK(notices == 1);
    check_connection(&c);
    CHECK(stop(&c) == 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int count_in_file(const char *path, const char *needle)
{
    char buf[65536];
    int fd = open(path, O_RDONLY), n = 0;
    ssize_t got = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
    const char *p;

    if (fd >= 0)
        close(fd);
    if (got < 0)
        return -1;
    buf[got] = '\0';
    for (p = buf; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

/* Regression: a caller's PGPORT moved the server and every connection
 * with it, and PGHOSTADDR sent the pings to TCP instead of the socket. */
static void test_pgport_pghostaddr_ignored(void)
{
    enigma_pgcluster c;
    char path[PATH_MAX + 32], url[4 * PATH_MAX], got[64];
    PGconn *conn;

    if (open_home(&c, "pgport") < 0) {
        CHECK(0);
        return;
    }
    setenv("PGPORT", "5999", 1);
    setenv("PGHOSTADDR", "127.0.0.1", 1);
    CHECK(start(&c) == 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_RUNNING);
    snprintf(path, sizeof path, "%s/.s.PGSQL.5432", c.sockdir);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof path, "%s/enigma.conf", c.datadir);
    CHECK(count_in_file(path, "\nport = 5432\n") == 1);
    unsetenv("PGHOSTADDR"); /* the URL leaves that one to whoever connects */
    CHECK(enigma_pgcluster_url(&c, NULL, url, sizeof url) == 0);
    conn = PQconnectdb(url);
    CHECK(PQstatus(conn) == CONNECTION_OK);
    if (PQstatus(conn) == CONNECTION_OK) {
        fetch(conn, "show port", 0, got, sizeof got);
        CHECK_STR(got, "5432");
    }
    PQfinish(conn);
    setenv("PGHOSTADDR", "127.0.0.1", 1);
    CHECK(stop(&c) == 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_STOPPED);
    unsetenv("PGHOSTADDR");
    unsetenv("PGPORT");
}

static void test_concurrent_start(void)
{
    enigma_pgcluster c;
    char home[PATH_MAX], path[PATH_MAX + 32];
    int gate[2], i, status, ok = 0;
    pid_t pids[2];

    CHECK(home_path(home, sizeof home, "concurrent") == 0);
    CHECK(pipe(gate) == 0);
    fflush(NULL);
    for (i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            enigma_pgcluster mine;
            enigma_error err = {0};
            char ch;
            ssize_t ignored;

            close(gate[1]);
            ignored = read(gate[0], &ch, 1); /* both go when the gate closes */
            (void)ignored;
            close(gate[0]);
            if (enigma_pgcluster_open(&mine, home, &err) < 0 ||
                enigma_pgcluster_start(&mine, &err) < 0) {
                fprintf(stderr, "child %d: %s: %s\n", i, err.code, err.message);
                exit(1);
            }
            exit(0);
        }
    }
    close(gate[0]);
    close(gate[1]);
    for (i = 0; i < 2; i++)
        if (pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
            WEXITSTATUS(status) == 0)
            ok++;
    CHECK(ok == 2);
    if (open_home(&c, "concurrent") < 0) {
        CHECK(0);
        return;
    }
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_RUNNING);
    check_connection(&c);
    snprintf(path, sizeof path, "%s/initdb.log", c.logdir);
    CHECK(count_in_file(path, "Success.") == 1); /* initdb ran once */
    snprintf(path, sizeof path, "%s.init", c.datadir);
    CHECK(access(path, F_OK) < 0);
    CHECK(stop(&c) == 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_STOPPED);
}

static void test_failing_start(void)
{
    static const char bogus[] = "shared_buffers = 'bogus'\n";
    enigma_pgcluster c;
    enigma_error err = {0};
    char conf[PATH_MAX + 32];
    int fd;

    if (open_home(&c, "failing") < 0) {
        CHECK(0);
        return;
    }
    CHECK(start(&c) == 0);
    CHECK(stop(&c) == 0);
    snprintf(conf, sizeof conf, "%s/postgresql.conf", c.datadir);
    fd = open(conf, O_WRONLY | O_APPEND);
    CHECK(fd >= 0 && write(fd, bogus, sizeof bogus - 1) == (ssize_t)(sizeof bogus - 1));
    if (fd >= 0)
        close(fd);
    CHECK(enigma_pgcluster_start(&c, &err) == -1);
    CHECK_STR(err.code, "ESTART");
    CHECK(strstr(err.message, "shared_buffers") != NULL);
    CHECK(strstr(err.message, "server log (last lines of ") != NULL);
    CHECK(strstr(err.message, c.logfile) != NULL);
    printf("failing start says:\n%s\n", err.message);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_STOPPED);
    CHECK(stop(&c) == 0);
}

/* Removes the mapped cluster directory a test made (after stopping it). */
static void remove_mapped(const enigma_pgcluster *c)
{
    if (c->mapped && strncmp(c->clusterdir, "/var/lib/enigma/", 16) == 0)
        nftw(c->clusterdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Root only: a home inside a 0700 directory is out of the postgres user's
 * reach, so its cluster lives under /var/lib/enigma, owned by postgres,
 * and the home records where. */
static void test_unreachable_home(void)
{
    enigma_pgcluster c, again;
    struct passwd *pw = getpwnam("postgres");
    char locked[PATH_MAX], link[PATH_MAX], want[PATH_MAX + 32];
    struct stat st;
    ssize_t n;

    CHECK(home_path(locked, sizeof locked, "locked") == 0);
    CHECK(mkdir(locked, 0700) == 0 && chmod(locked, 0700) == 0);
    if (open_home(&c, "locked/home") < 0) {
        CHECK(0);
        return;
    }
    CHECK(c.mapped);
    CHECK(strncmp(c.clusterdir, "/var/lib/enigma/", 16) == 0);
    CHECK(strstr(c.clusterdir, "-home") != NULL);
    snprintf(want, sizeof want, "%s/run", c.clusterdir);
    CHECK_STR(c.sockdir, want);
    CHECK(strlen(c.sockdir) < 80);
    /* opening created neither the home nor the cluster directory */
    CHECK(access(c.home, F_OK) < 0 && access(c.clusterdir, F_OK) < 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_UNINITIALIZED);
    notices = 0;
    CHECK(start(&c) == 0);
    CHECK(notices == 1 && strstr(last_notice, c.clusterdir) != NULL);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_RUNNING);
    check_connection(&c);
    CHECK(pw != NULL && stat(c.datadir, &st) == 0 && st.st_uid == pw->pw_uid);
    CHECK(pw != NULL && stat(c.clusterdir, &st) == 0 && st.st_uid == pw->pw_uid);
    CHECK(stat("/var/lib/enigma", &st) == 0 && st.st_uid == 0 && (st.st_mode & 07777) == 0755);
    /* the home says where its cluster is */
    snprintf(want, sizeof want, "%s/cluster", c.home);
    n = readlink(want, link, sizeof link - 1);
    CHECK(n > 0);
    link[n > 0 ? n : 0] = '\0';
    CHECK_STR(link, c.clusterdir);
    snprintf(want, sizeof want, "%s/home", c.clusterdir);
    CHECK(count_in_file(want, c.home) == 1);
    /* the same home, opened again, finds the same cluster */
    CHECK(open_home(&again, "locked/home") == 0);
    CHECK_STR(again.clusterdir, c.clusterdir);
    CHECK(state_of(&again) == ENIGMA_PGCLUSTER_RUNNING);
    CHECK(stop(&c) == 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_STOPPED);
    remove_mapped(&c);
}

/* Runs `body` in a child that has become `pw`; returns the child's verdict. */
static int as_user(const struct passwd *pw, void (*body)(void))
{
    pid_t pid;
    int status;

    fflush(NULL);
    if ((pid = fork()) == 0) {
        if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
            exit(99);
        body();
        exit(test_failed == 0 ? 0 : 1);
    }
    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) ? WEXITSTATUS(status)
                                                                           : -1;
}

static void nobody_lifecycle(void)
{
    enigma_pgcluster c;
    struct stat st;

    test_failed = 0;
    if (open_home(&c, "nobody") < 0) {
        CHECK(0);
        return;
    }
    CHECK(start(&c) == 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_RUNNING);
    check_connection(&c);
    CHECK(stat(c.datadir, &st) == 0 && st.st_uid == getuid());
    CHECK(stop(&c) == 0);
    CHECK(state_of(&c) == ENIGMA_PGCLUSTER_STOPPED);
}

static void nobody_stop(void)
{
    enigma_pgcluster c;

    test_failed = 0;
    CHECK(open_home(&c, "nobody") == 0 && stop(&c) == 0);
}

static void test_as_nobody(void)
{
    struct passwd *pw = getpwnam("nobody");
    char home[PATH_MAX];

    CHECK(pw != NULL);
    if (pw == NULL)
        return;
    CHECK(home_path(home, sizeof home, "nobody") == 0);
    CHECK(mkdir(home, 0755) == 0 && chown(home, pw->pw_uid, pw->pw_gid) == 0);
    CHECK(as_user(pw, nobody_lifecycle) == 0);
    CHECK(as_user(pw, nobody_stop) == 0); /* in case the first child died early */
}

int main(void)
{
    char tmpl[] = "/tmp/pgcluster_test.XXXXXX";
    double t0 = now_seconds();

    if (mkdtemp(tmpl) == NULL || chmod(tmpl, 0755) < 0 || realpath(tmpl, base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    enigma_pgcluster_set_notice(count_notice, NULL);
    test_url();
    test_open();
    test_lifecycle();
    test_concurrent_start();
    test_failing_start();
    test_pgport_pghostaddr_ignored();
    if (geteuid() == 0) {
        test_unreachable_home();
        test_as_nobody();
    } else {
        printf("not root: skipping the unreachable-home and nobody cases\n");
    }
    nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    printf("%.1f s\n", now_seconds() - t0);
    return test_report();
}
