/*
 * The embedded PostgreSQL cluster: initdb, pg_ctl start/stop, status by
 * PQping. See core/pgcluster.h for the layout and the contract.
 *
 * initdb and pg_ctl run through core/proc, as the postgres user when we
 * are root. The server listens on the socket only, always on port 5432:
 * the conf file and every connection string name it, so the caller's
 * PGPORT and PGHOSTADDR do not move it.
 */
#define _GNU_SOURCE /* nftw */
#include "core/pgcluster.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "core/home.h"
#include "core/homemap.h"
#include "core/proc.h"

#define SERVER_USER "postgres"  /* the OS user when we are root, and the superuser role */
#define DEFAULT_DB "enigma"
#define LOG_TAIL_LINES 10
#define LOCK_WAIT_SECONDS 180   /* covers initdb plus pg_ctl's own 60 s */
#define READY_WAIT_SECONDS 60
#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)
#define PORT_TEXT TEXT(ENIGMA_PGCLUSTER_PORT)

/* --- small helpers ------------------------------------------------------ */

static int join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

static int exists(const char *dir, const char *name)
{
    char path[PATH_MAX];
    return join(path, sizeof path, dir, name) == 0 && access(path, F_OK) == 0;
}

static int is_initialized(const enigma_pgcluster *c)
{
    return exists(c->datadir, "PG_VERSION");
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Appends "<label> (last lines of <path>):\n<lines>" to err's message: the
 * last LOG_TAIL_LINES lines written at or after `from`, dropping the oldest
 * ones until they fit. Returns 0 when there was nothing to quote. */
static int append_tail(enigma_error *err, const char *label, const char *path, off_t from)
{
    char buf[8192], header[PATH_MAX + 64];
    off_t size = file_size(path), start = from;
    ssize_t got;
    size_t len, used, avail;
    char *p;
    int fd, lines = 0;

    if (err == NULL || size <= from)
        return 0;
    if (size - start > (off_t)sizeof buf - 1)
        start = size - (off_t)sizeof buf + 1;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    got = pread(fd, buf, sizeof buf - 1, start);
    close(fd);
    if (got <= 0)
        return 0;
    len = (size_t)got;
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    buf[len] = '\0';
    if (len == 0)
        return 0;
    for (p = buf + len; p > buf; p--)
        if (p[-1] == '\n' && ++lines == LOG_TAIL_LINES)
            break;
    snprintf(header, sizeof header, "%s (last lines of %s):\n", label, path);
    used = strlen(err->message) + strlen(header) + 1;
    avail = used < sizeof err->message ? sizeof err->message - used : 0;
    while (strlen(p) > avail) {   /* keep the newest lines: they say why */
        char *nl = strchr(p, '\n');
        p = nl != NULL ? nl + 1 : buf + len - avail;
    }
    enigma_error_append(err, "%s%s", header, p);
    return 1;
}

/* --- the server's user -------------------------------------------------- */

/* Fills `u` with who the server runs as: when we are root, the postgres
 * user; otherwise all zeroes, the calling user. */
static int server_user(enigma_proc_user *u, enigma_error *err)
{
    enigma_error why;

    memset(u, 0, sizeof *u);
    if (geteuid() != 0)
        return 0;
    if (enigma_proc_lookup(u, SERVER_USER, &why) < 0) {
        int absent = strcmp(why.code, "ENOUSER") == 0;

        return enigma_error_set(err, "EACCES",
                                "running as root, the database server must run as the '%s' "
                                "system user, which does not exist%s%s; install postgresql-15 "
                                "or run as a normal user",
                                SERVER_USER, absent ? "" : ": ", absent ? "" : why.message);
    }
    return 0;
}

/* Root only: the postgres user must be able to traverse every directory
 * down to the cluster, or it cannot reach its data. open() chose a place it
 * can reach, unless a cluster was already in a home it no longer can.
 * Checked as that user. */
static int check_reachable(const enigma_pgcluster *c, const enigma_proc_user *u, enigma_error *err)
{
    char blocked[PATH_MAX];
    int reachable;

    if (enigma_proc_reach(u, c->clusterdir, &reachable, blocked, sizeof blocked, err) < 0)
        return -1;
    if (!reachable)
        return enigma_error_set(err, "EACCES",
                                "the '%s' user, which runs the database server when enigma "
                                "runs as root, cannot traverse %s to reach the cluster in %s; "
                                "allow it (chmod o+x %s) or set ENIGMA_HOME to another "
                                "directory",
                                SERVER_USER, blocked[0] ? blocked : "a parent directory",
                                c->clusterdir, blocked[0] ? blocked : "...");
    return 0;
}

/* mkdir (0700 unless `mode` says otherwise), owned by `u` when root. An
 * existing directory is kept, and given to `u`. */
static int ensure_dir(const char *path, mode_t mode, const enigma_proc_user *u, enigma_error *err)
{
    struct stat st;

    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return enigma_error_set(err, "EIO", "mkdir %s: %s", path, strerror(errno));
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return enigma_error_set(err, "EIO", "%s is not a directory", path);
    if (u->drop && (st.st_uid != u->uid || st.st_gid != u->gid) && chown(path, u->uid, u->gid) < 0)
        return enigma_error_set(err, "EIO", "chown %s: %s", path, strerror(errno));
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int remove_tree(const char *path)
{
    if (access(path, F_OK) < 0 && errno == ENOENT)
        return 0;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* --- server binaries ------------------------------------------------------ */

static int has_server_bins(const char *dir)
{
    char path[PATH_MAX];
    return join(path, sizeof path, dir, "initdb") == 0 && access(path, X_OK) == 0 &&
           join(path, sizeof path, dir, "pg_ctl") == 0 && access(path, X_OK) == 0;
}

static int find_bindir(enigma_pgcluster *c, enigma_error *err)
{
    const char *env = getenv("ENIGMA_PG_BINDIR"), *path;
    char dir[PATH_MAX];
    long best = -1;
    DIR *d;

    if (env != NULL && env[0] != '\0') {
        if (!has_server_bins(env) || realpath(env, c->bindir) == NULL)
            return enigma_error_set(err, "ENOPG",
                                    "ENIGMA_PG_BINDIR=%s has no executable initdb and pg_ctl", env);
        return 0;
    }
    if ((d = opendir("/usr/lib/postgresql")) != NULL) {
        struct dirent *e;

        while ((e = readdir(d)) != NULL) {
            char *end;
            long major = strtol(e->d_name, &end, 10);

            if (end == e->d_name || major <= best)
                continue;
            if (snprintf(dir, sizeof dir, "/usr/lib/postgresql/%s/bin", e->d_name) <
                    (int)sizeof dir &&
                has_server_bins(dir)) {
                best = major;
                snprintf(c->bindir, sizeof c->bindir, "%s", dir);
            }
        }
        closedir(d);
        if (best >= 0)
            return 0;
    }
    for (path = getenv("PATH"); path != NULL && *path != '\0';) {
        size_t n = strcspn(path, ":");

        if (n > 0 && n < sizeof dir) {
            memcpy(dir, path, n);
            dir[n] = '\0';
            if (has_server_bins(dir) && realpath(dir, c->bindir) != NULL)
                return 0;
        }
        path += n + (path[n] == ':');
    }
    return enigma_error_set(err, "ENOPG",
                            "PostgreSQL server binaries (initdb, pg_ctl) not found in "
                            "/usr/lib/postgresql/<N>/bin or PATH: install postgresql-15 "
                            "(apt-get install postgresql-15) or set ENIGMA_PG_BINDIR");
}

/* --- open, url, status ---------------------------------------------------- */

/* mkdir -p; when root, new directories get 0755 whatever the umask, so the
 * postgres user can traverse them. */
static int make_dirs(const char *home, enigma_error *err)
{
    char path[PATH_MAX];
    size_t i, len;

    if (snprintf(path, sizeof path, "%s", home) >= (int)sizeof path)
        return enigma_error_set(err, "EIO", "path too long: %s", home);
    len = strlen(path);
    for (i = 1; i <= len; i++) {
        if (i < len && path[i] != '/')
            continue;
        path[i] = '\0';
        if (mkdir(path, 0755) == 0) {
            if (geteuid() == 0)
                chmod(path, 0755);
        } else if (errno != EEXIST) {
            return enigma_error_set(err, "EIO", "cannot create %s: %s", path, strerror(errno));
        }
        path[i] = '/';
    }
    return 0;
}

/* A cluster's own: the home's (not mapped), or a mapped one the home records. */
static int is_current(const enigma_pgcluster *c)
{
    return !c->mapped || enigma_homemap_recorded(c->home, c->clusterdir);
}

/* Chooses where the cluster lives: in the home, or, when we are root and
 * the postgres user cannot reach the home, where core/homemap says. A
 * cluster already in the home stays there. */
static int place_cluster(enigma_pgcluster *c, enigma_error *err)
{
    char mapped[PATH_MAX];
    enigma_proc_user u;
    enigma_error why;

    snprintf(c->clusterdir, sizeof c->clusterdir, "%s", c->home);
    c->mapped = 0;
    if (geteuid() != 0 || exists(c->home, "data/PG_VERSION"))
        return 0;
    if (enigma_proc_lookup(&u, SERVER_USER, &why) < 0)
        return 0;                       /* start says why */
    if (enigma_homemap_choose(c->home, &u, mapped, sizeof mapped, &c->mapped, err) < 0)
        return -1;
    if (c->mapped)
        snprintf(c->clusterdir, sizeof c->clusterdir, "%s", mapped);
    return 0;
}

int enigma_pgcluster_open(enigma_pgcluster *c, const char *home, enigma_error *err)
{
    char cwd[PATH_MAX];
    const size_t sock_max = sizeof(((struct sockaddr_un *)0)->sun_path);

    memset(c, 0, sizeof *c);
    if (home == NULL || home[0] == '\0') {
        if (enigma_home_locate(c->home, sizeof c->home, NULL, err) < 0)
            return -1;
    } else if (enigma_home_absolute(home, getcwd(cwd, sizeof cwd), c->home, sizeof c->home, err) <
               0) {
        return -1;
    }
    /* pg_ctl puts paths in "..." in a shell command, libpq splits host lists
     * on commas, and a .conf line cannot hold a line break */
    if (strpbrk(c->home, "\"$`\\,\n\r") != NULL)
        return enigma_error_set(err, "EIO",
                                "the enigma home %s contains one of \" $ ` \\ , or a line "
                                "break, which pg_ctl and libpq cannot take in a path; set "
                                "ENIGMA_HOME to another directory",
                                c->home);
    if (place_cluster(c, err) < 0)
        return -1;
    if (join(c->datadir, sizeof c->datadir, c->clusterdir, "data") < 0 ||
        join(c->sockdir, sizeof c->sockdir, c->clusterdir, "run") < 0 ||
        join(c->logdir, sizeof c->logdir, c->clusterdir, "log") < 0 ||
        join(c->logfile, sizeof c->logfile, c->logdir, "postgresql.log") < 0)
        return enigma_error_set(err, "EIO", "home path too long: %s", c->home);
    if (strlen(c->sockdir) + sizeof "/.s.PGSQL.65535" > sock_max)
        return enigma_error_set(err, "EIO",
                                "the socket path under %s is longer than the %zu bytes a unix "
                                "socket allows; set ENIGMA_HOME to a shorter path",
                                c->home, sock_max - 1);
    return find_bindir(c, err);
}

/* Percent-encodes `s` onto `out` at *pos; `keep` lists the punctuation
 * left as is besides letters and digits. */
static int encode(char *out, size_t size, size_t *pos, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;
        int plain = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
                    (ch >= '0' && ch <= '9') || (ch != '\0' && strchr(keep, ch) != NULL);

        if (*pos + (plain ? 1 : 3) >= size)
            return -1;
        if (plain) {
            out[(*pos)++] = (char)ch;
        } else {
            out[(*pos)++] = '%';
            out[(*pos)++] = hex[ch >> 4];
            out[(*pos)++] = hex[ch & 15];
        }
    }
    out[*pos] = '\0';
    return 0;
}

int enigma_pgcluster_url(const enigma_pgcluster *c, const char *dbname, char *buf, size_t size)
{
    return enigma_pgcluster_url_as(c, dbname, SERVER_USER, buf, size);
}

int enigma_pgcluster_url_as(const enigma_pgcluster *c, const char *dbname, const char *user,
                            char *buf, size_t size)
{
    static const char scheme[] = "postgresql:///",
                      host[] = "?host=", rest[] = "&port=" PORT_TEXT "&user=";
    size_t pos = sizeof scheme - 1;

    if (size < sizeof scheme)
        goto too_small;
    memcpy(buf, scheme, sizeof scheme);
    if (encode(buf, size, &pos, dbname != NULL ? dbname : DEFAULT_DB, "._~-") < 0 ||
        pos + sizeof host > size)
        goto too_small;
    memcpy(buf + pos, host, sizeof host);
    pos += sizeof host - 1;
    if (encode(buf, size, &pos, c->sockdir, "/._~-") < 0 || pos + sizeof rest > size)
        goto too_small;
    memcpy(buf + pos, rest, sizeof rest);
    pos += sizeof rest - 1;
    if (encode(buf, size, &pos, user, "._~-") < 0)
        goto too_small;
    return 0;
too_small:
    if (size > 0)
        buf[0] = '\0';
    return -1;
}

/* The URL plus a connect timeout, for our own connections. An empty
 * hostaddr overrides $PGHOSTADDR, which would take precedence over host. */
static int internal_conninfo(const enigma_pgcluster *c, const char *dbname, char *buf, size_t size,
                             enigma_error *err)
{
    static const char timeout[] = "&hostaddr=&connect_timeout=10";
    size_t len;

    if (enigma_pgcluster_url(c, dbname, buf, size) < 0 ||
        (len = strlen(buf)) + sizeof timeout > size)
        return enigma_error_set(err, "EIO", "connection string too long for %s", c->sockdir);
    memcpy(buf + len, timeout, sizeof timeout);
    return 0;
}

static int ping(const enigma_pgcluster *c, PGPing *result, enigma_error *err)
{
    char conninfo[4 * PATH_MAX];

    if (internal_conninfo(c, "postgres", conninfo, sizeof conninfo, err) < 0)
        return -1;
    *result = PQping(conninfo);
    if (*result == PQPING_NO_ATTEMPT)
        return enigma_error_set(err, "EIO", "libpq could not attempt a connection to %s", conninfo);
    return 0;
}

int enigma_pgcluster_status(const enigma_pgcluster *c, enigma_pgcluster_state *state,
                            enigma_error *err)
{
    PGPing p;

    if (ping(c, &p, err) < 0)
        return -1;
    if (p == PQPING_OK || p == PQPING_REJECT)
        *state = ENIGMA_PGCLUSTER_RUNNING;
    else
        *state = is_initialized(c) ? ENIGMA_PGCLUSTER_STOPPED : ENIGMA_PGCLUSTER_UNINITIALIZED;
    if (!is_current(c))     /* left by a deleted home: start replaces it */
        *state = ENIGMA_PGCLUSTER_UNINITIALIZED;
    return 0;
}

/* --- the lock --------------------------------------------------------------- */

/* Exclusive flock on <cluster dir>/cluster.lock; close *fd to release it.
 * The lock lives beside data/, so it is the same for every process that
 * names the same home, even one whose home has been deleted. */
static int lock_cluster(const enigma_pgcluster *c, int *fd, enigma_error *err)
{
    char path[PATH_MAX];
    double deadline = now_seconds() + LOCK_WAIT_SECONDS;

    if (join(path, sizeof path, c->clusterdir, "cluster.lock") < 0)
        return enigma_error_set(err, "ELOCK", "lock path too long under %s", c->clusterdir);
    if ((*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
        return enigma_error_set(err, "ELOCK", "cannot open %s: %s", path, strerror(errno));
    while (flock(*fd, LOCK_EX | LOCK_NB) < 0) {
        int rc = 0;

        if (errno != EWOULDBLOCK && errno != EINTR)
            rc = enigma_error_set(err, "ELOCK", "flock %s: %s", path, strerror(errno));
        else if (now_seconds() > deadline)
            rc = enigma_error_set(err, "ELOCK",
                                  "another process has held %s for over %d s (starting or "
                                  "stopping the database server); try again",
                                  path, LOCK_WAIT_SECONDS);
        if (rc < 0) {
            close(*fd);
            *fd = -1;
            return -1;
        }
        sleep_ms(20);
    }
    return 0;
}

/* --- start and stop ----------------------------------------------------------- */

/* fsync a directory, so a rename in it is on disk before we go on. */
static void sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* initdb into data.init, then rename it to data: a crash at any point leaves
 * either no data/ or a complete one. initdb gets the cluster lock's
 * descriptor (`lock_fd`), so the lock is held until initdb and the backends
 * it starts have exited, even when we are killed first: whoever takes the
 * lock next knows that no initdb owns data.init, and removes it. */
static int init_cluster(const enigma_pgcluster *c, const enigma_proc_user *u, int lock_fd,
                        enigma_error *err)
{
    static const char include[] = "\n# added by enigma: settings it rewrites at each start\n"
                                  "include_if_exists = 'enigma.conf'\n";
    char tmpdir[PATH_MAX], out[PATH_MAX], conf[PATH_MAX], bin[PATH_MAX], dashd[PATH_MAX + 8];
    char locale[] = "--locale=C.UTF-8";
    char *argv[] = {bin,  dashd,  "-U",   SERVER_USER, "--auth-local=trust", "--auth-host=reject",
                    "-E", "UTF8", locale, NULL};
    locale_t utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
    off_t from;
    int code, fd;

    if (utf8 == (locale_t)0)
        strcpy(locale, "--locale=C");  /* no C.UTF-8 on this system */
    else
        freelocale(utf8);
    /* initdb works in data.init, renamed to data when complete: a crash
     * half-way leaves no half-made cluster behind that looks like one */
    if (snprintf(tmpdir, sizeof tmpdir, "%s.init", c->datadir) >= (int)sizeof tmpdir ||
        snprintf(dashd, sizeof dashd, "-D%s", tmpdir) >= (int)sizeof dashd ||
        join(out, sizeof out, c->logdir, "initdb.log") < 0 ||
        join(conf, sizeof conf, tmpdir, "postgresql.conf") < 0 ||
        join(bin, sizeof bin, c->bindir, "initdb") < 0)
        return enigma_error_set(err, "EIO", "path too long under %s", c->clusterdir);
    if (remove_tree(tmpdir) < 0)
        return enigma_error_set(err, "EINITDB", "cannot remove the leftover %s: %s", tmpdir,
                                strerror(errno));
    if (ensure_dir(tmpdir, 0700, u, err) < 0)
        return -1;
    from = file_size(out);
    if (enigma_proc_run_keeping(u, argv, out, lock_fd, &code, err) < 0)
        return -1;
    if (code != 0) {
        enigma_error_set(err, "EINITDB", "initdb failed (exit status %d)\n", code);
        append_tail(err, "initdb output", out, from);
        remove_tree(tmpdir);
        return -1;
    }
    if ((fd = open(conf, O_WRONLY | O_APPEND | O_CLOEXEC)) < 0)
        return enigma_error_set(err, "EINITDB", "cannot open %s: %s", conf, strerror(errno));
    if (write(fd, include, sizeof include - 1) != (ssize_t)(sizeof include - 1)) {
        close(fd);
        return enigma_error_set(err, "EINITDB", "cannot write %s", conf);
    }
    if (fsync(fd) < 0 || close(fd) < 0)
        return enigma_error_set(err, "EINITDB", "cannot write %s: %s", conf, strerror(errno));
    if (rename(tmpdir, c->datadir) < 0)
        return enigma_error_set(err, "EINITDB", "cannot rename %s to %s: %s", tmpdir, c->datadir,
                                strerror(errno));
    sync_dir(c->clusterdir);
    return 0;
}

/* Rewrites data/enigma.conf, which postgresql.conf includes. The socket
 * directory is a list entry in double quotes (it may hold spaces) inside a
 * .conf string, where ' is doubled; open() refused paths with " or \. */
static int write_conf(const enigma_pgcluster *c, const enigma_proc_user *u, enigma_error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX], quoted[2 * PATH_MAX + 4];
    const char *s;
    size_t pos = 0;
    FILE *f;
    int fd, failed;

    quoted[pos++] = '"';
    for (s = c->sockdir; *s != '\0'; s++) {
        if (*s == '\'')
            quoted[pos++] = '\'';
        quoted[pos++] = *s;
    }
    quoted[pos++] = '"';
    quoted[pos] = '\0';
    if (join(path, sizeof path, c->datadir, "enigma.conf") < 0 ||
        join(tmp, sizeof tmp, c->datadir, "enigma.conf.tmp") < 0)
        return enigma_error_set(err, "EIO", "path too long under %s", c->clusterdir);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        return enigma_error_set(err, "EIO", "cannot write %s: %s", tmp, strerror(errno));
    if ((f = fdopen(fd, "w")) == NULL) {
        close(fd);
        return enigma_error_set(err, "EIO", "cannot write %s: %s", tmp, strerror(errno));
    }
    fprintf(f,
            "# Written by enigma at each start of the server; edits here are lost.\n"
            "listen_addresses = ''\n"
            "port = " PORT_TEXT "\n"
            "unix_socket_directories = '%s'\n"
            "shared_preload_libraries = 'pg_stat_statements'\n"
            "max_connections = 100\n",
            quoted);
    failed = ferror(f) | fflush(f);
    if (!failed && u->drop && fchown(fd, u->uid, u->gid) < 0)
        failed = 1;
    if ((fclose(f) != 0 || failed) || rename(tmp, path) < 0) {
        unlink(tmp);
        return enigma_error_set(err, "EIO", "cannot write %s: %s", path, strerror(errno));
    }
    return 0;
}

/* Waits until the server accepts connections (after pg_ctl -w it should). */
static int wait_ready(const enigma_pgcluster *c, enigma_error *err)
{
    double deadline = now_seconds() + READY_WAIT_SECONDS;
    PGPing p;

    for (;;) {
        if (ping(c, &p, err) < 0)
            return -1;
        if (p == PQPING_OK)
            return 0;
        if (now_seconds() > deadline || p == PQPING_NO_RESPONSE) {
            enigma_error_set(err, "ESTART", "the database server %s on %s\n",
                             p == PQPING_NO_RESPONSE ? "is not answering" : "is not ready",
                             c->sockdir);
            append_tail(err, "server log", c->logfile, 0);
            return -1;
        }
        sleep_ms(50);
    }
}

static int create_default_db(const enigma_pgcluster *c, enigma_error *err)
{
    const char *params[1] = {DEFAULT_DB};
    char conninfo[4 * PATH_MAX], sql[128];
    PGconn *conn;
    PGresult *res;
    char *ident;
    int rc = 0;

    if (internal_conninfo(c, "postgres", conninfo, sizeof conninfo, err) < 0)
        return -1;
    conn = PQconnectdb(conninfo);
    if (PQstatus(conn) != CONNECTION_OK) {
        rc = enigma_error_set(err, "EIO", "cannot connect to %s: %s", conninfo,
                              PQerrorMessage(conn));
        PQfinish(conn);
        return rc;
    }
    res = PQexecParams(conn, "SELECT 1 FROM pg_database WHERE datname = $1", 1, NULL, params, NULL,
                       NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = enigma_error_set(err, "EIO", "cannot list databases: %s", PQerrorMessage(conn));
    } else if (PQntuples(res) == 0) {
        PQclear(res);
        res = NULL;
        ident = PQescapeIdentifier(conn, DEFAULT_DB, strlen(DEFAULT_DB));
        if (ident == NULL) {
            rc = enigma_error_set(err, "EIO", "cannot quote a name: %s", PQerrorMessage(conn));
        } else {
            snprintf(sql, sizeof sql, "CREATE DATABASE %s", ident);
            PQfreemem(ident);
            res = PQexec(conn, sql);
            if (PQresultStatus(res) != PGRES_COMMAND_OK)
                rc = enigma_error_set(err, "EIO", "cannot create database %s: %s", DEFAULT_DB,
                                      PQerrorMessage(conn));
        }
    }
    PQclear(res);
    PQfinish(conn);
    return rc;
}

static int serves_default_db(const enigma_pgcluster *c)
{
    char conninfo[4 * PATH_MAX];
    PGconn *conn;
    int ok;

    if (internal_conninfo(c, DEFAULT_DB, conninfo, sizeof conninfo, NULL) < 0)
        return 0;
    conn = PQconnectdb(conninfo);
    ok = PQstatus(conn) == CONNECTION_OK;
    PQfinish(conn);
    return ok;
}

static int stop_locked(const enigma_pgcluster *c, const enigma_proc_user *u, enigma_error *err);

/* Root, a mapped cluster the home does not record (a new home, or one
 * deleted and made again): stops whatever server still runs there and
 * removes its data, so a new home gets a new cluster; then records the
 * cluster in the home and names the home in the cluster directory. The
 * lock file stays: other processes may be waiting on it. */
static int adopt_mapped(const enigma_pgcluster *c, const enigma_proc_user *u, enigma_error *err)
{
    char path[PATH_MAX];

    if (stop_locked(c, u, err) < 0)
        return -1;
    if (snprintf(path, sizeof path, "%s.init", c->datadir) >= (int)sizeof path)
        return enigma_error_set(err, "EIO", "path too long under %s", c->clusterdir);
    if (remove_tree(c->datadir) < 0 || remove_tree(path) < 0 || remove_tree(c->logdir) < 0 ||
        remove_tree(c->sockdir) < 0)
        return enigma_error_set(err, "EIO", "cannot remove the old cluster in %s: %s",
                                c->clusterdir, strerror(errno));
    if (make_dirs(c->home, err) < 0)
        return -1;
    return enigma_homemap_record(c->home, c->clusterdir, err);
}

/* Makes the home, and the cluster directory when it is elsewhere. */
static int make_cluster_dir(const enigma_pgcluster *c, const enigma_proc_user *u, enigma_error *err)
{
    if (!c->mapped)
        return make_dirs(c->home, err);
    if (make_dirs(ENIGMA_HOMEMAP_ROOT, err) < 0)
        return -1;
    return ensure_dir(c->clusterdir, 0700, u, err);
}

static enigma_pgcluster_notice_fn *notice_fn;
static void *notice_ud;

void enigma_pgcluster_set_notice(enigma_pgcluster_notice_fn *fn, void *ud)
{
    notice_fn = fn;
    notice_ud = ud;
}

static void notice_creating(const enigma_pgcluster *c)
{
    char msg[3 * PATH_MAX];

    if (notice_fn == NULL)
        return;
    if (c->mapped)
        snprintf(msg, sizeof msg, "creating a new database cluster in %s (its data in %s)", c->home,
                 c->clusterdir);
    else
        snprintf(msg, sizeof msg, "creating a new database cluster in %s", c->home);
    notice_fn(msg, notice_ud);
}

/* Whether a postmaster runs in data/ (pg_ctl status says 0), answering or
 * not yet: one started by a pg_ctl whose enigma was killed. */
static int server_process_runs(const enigma_pgcluster *c, const enigma_proc_user *u)
{
    char bin[PATH_MAX], out[PATH_MAX], dashd[PATH_MAX + 8];
    char *argv[] = {bin, "status", dashd, NULL};
    int code;

    if (!exists(c->datadir, "postmaster.pid") || join(bin, sizeof bin, c->bindir, "pg_ctl") < 0 ||
        join(out, sizeof out, c->logdir, "pg_ctl.log") < 0 ||
        snprintf(dashd, sizeof dashd, "-D%s", c->datadir) >= (int)sizeof dashd)
        return 0;
    return enigma_proc_run(u, argv, out, &code, NULL) == 0 && code == 0;
}

/* Waits for a server that is starting without us (see above) to answer. */
static int wait_started(const enigma_pgcluster *c, enigma_error *err)
{
    double deadline = now_seconds() + READY_WAIT_SECONDS;
    PGPing p;

    for (;;) {
        if (ping(c, &p, err) < 0)
            return -1;
        if (p != PQPING_NO_RESPONSE || now_seconds() > deadline)
            return wait_ready(c, err);
        sleep_ms(50);
    }
}

static int start_locked(const enigma_pgcluster *c, const enigma_proc_user *u, int lock_fd,
                        enigma_error *err)
{
    char bin[PATH_MAX], out[PATH_MAX], dashd[PATH_MAX + 8], dashl[PATH_MAX + 8];
    char *argv[] = {bin, "start", "-w", "-t", "60", dashd, dashl, NULL};
    off_t log_from, out_from;
    PGPing p;
    int code;

    if (!is_current(c) && adopt_mapped(c, u, err) < 0)
        return -1;
    if (ping(c, &p, err) < 0)
        return -1;
    if (p == PQPING_OK || p == PQPING_REJECT)  /* another process started it */
        return wait_ready(c, err) < 0 ? -1 : create_default_db(c, err);
    if (ensure_dir(c->logdir, 0700, u, err) < 0 || ensure_dir(c->sockdir, 0700, u, err) < 0)
        return -1;
    if (!is_initialized(c)) {
        notice_creating(c);
        if (init_cluster(c, u, lock_fd, err) < 0)
            return -1;
    } else if (server_process_runs(c, u)) {
        return wait_started(c, err) < 0 ? -1 : create_default_db(c, err);
    }
    if (write_conf(c, u, err) < 0)
        return -1;
    if (join(bin, sizeof bin, c->bindir, "pg_ctl") < 0 ||
        join(out, sizeof out, c->logdir, "pg_ctl.log") < 0 ||
        snprintf(dashd, sizeof dashd, "-D%s", c->datadir) >= (int)sizeof dashd ||
        snprintf(dashl, sizeof dashl, "-l%s", c->logfile) >= (int)sizeof dashl)
        return enigma_error_set(err, "EIO", "path too long under %s", c->clusterdir);
    log_from = file_size(c->logfile);
    out_from = file_size(out);
    if (enigma_proc_run(u, argv, out, &code, err) < 0)
        return -1;
    if (code != 0 && server_process_runs(c, u)) /* started meanwhile by an orphaned pg_ctl */
        return wait_started(c, err) < 0 ? -1 : create_default_db(c, err);
    if (code != 0) {
        enigma_error_set(err, "ESTART", "the database server in %s did not start\n", c->datadir);
        if (!append_tail(err, "server log", c->logfile, log_from))
            append_tail(err, "pg_ctl output", out, out_from);
        return -1;
    }
    if (wait_ready(c, err) < 0)
        return -1;
    return create_default_db(c, err);
}

int enigma_pgcluster_start(const enigma_pgcluster *c, enigma_error *err)
{
    enigma_proc_user u;
    int fd, rc;

    if (is_current(c) && serves_default_db(c))
        return 0;
    if (server_user(&u, err) < 0)
        return -1;
    if (make_cluster_dir(c, &u, err) < 0)
        return -1;
    if (u.drop && check_reachable(c, &u, err) < 0)
        return -1;
    if (lock_cluster(c, &fd, err) < 0)
        return -1;
    rc = start_locked(c, &u, fd, err);
    close(fd);
    return rc;
}

static int stop_locked(const enigma_pgcluster *c, const enigma_proc_user *u, enigma_error *err)
{
    char bin[PATH_MAX], out[PATH_MAX], dashd[PATH_MAX + 8];
    char *stop[] = {bin, "stop", "-m", "fast", "-w", "-t", "60", dashd, NULL};
    char *status[] = {bin, "status", dashd, NULL};
    off_t from;
    int code;

    if (!exists(c->datadir, "postmaster.pid"))
        return 0;
    if (join(bin, sizeof bin, c->bindir, "pg_ctl") < 0 ||
        join(out, sizeof out, c->logdir, "pg_ctl.log") < 0 ||
        snprintf(dashd, sizeof dashd, "-D%s", c->datadir) >= (int)sizeof dashd)
        return enigma_error_set(err, "EIO", "path too long under %s", c->clusterdir);
    if (ensure_dir(c->logdir, 0700, u, err) < 0)
        return -1;
    from = file_size(out);
    if (enigma_proc_run(u, stop, out, &code, err) < 0)
        return -1;
    if (code == 0)
        return 0;
    /* a postmaster.pid left by a crash: pg_ctl status says 3, not running */
    if (enigma_proc_run(u, status, out, &code, err) < 0)
        return -1;
    if (code == 3)
        return 0;
    enigma_error_set(err, "ESTOP", "pg_ctl stop failed for %s\n", c->datadir);
    append_tail(err, "pg_ctl output", out, from);
    return -1;
}

int enigma_pgcluster_stop(const enigma_pgcluster *c, enigma_error *err)
{
    enigma_proc_user u;
    int fd, rc;

    if (!is_initialized(c))
        return 0;
    if (server_user(&u, err) < 0)
        return -1;
    if (lock_cluster(c, &fd, err) < 0)
        return -1;
    rc = stop_locked(c, &u, err);
    close(fd);
    return rc;
}
