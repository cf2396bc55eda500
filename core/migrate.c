#include "core/migrate.h"
#include "core/paths.h"
#include "core/sqlscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* No migration is this long; a bigger file is refused rather than read. */
#define MIGRATION_MAX_BYTES (64L * 1024 * 1024)

/* "enigma" in ASCII: the advisory lock every migrator takes. */
#define MIGRATE_LOCK_KEY "111524889489761"

static const char create_table_sql[] = "select pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ");"
                                       "create table if not exists schema_migrations ("
                                       "  name text primary key,"
                                       "  checksum text not null,"
                                       "  applied_at timestamptz not null default now())";

const char *enigma_migrate_default_dir(void)
{
    return enigma_paths_get(ENIGMA_PATH_SCHEMA);
}

/* NNN_name.sql: at least three digits, an underscore, .sql */
static int is_migration_name(const char *name)
{
    size_t n = strlen(name), i;

    for (i = 0; i < n && name[i] >= '0' && name[i] <= '9'; i++)
        ;
    return i >= 3 && name[i] == '_' && n > 4 && strcmp(name + n - 4, ".sql") == 0 &&
           n < sizeof((enigma_migration *)0)->name;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const enigma_migration *)a)->name, ((const enigma_migration *)b)->name);
}

/* What a file that is not a regular file is, for a person. */
static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISSOCK(mode))
        return "a socket";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISLNK(mode))
        return "a symbolic link";
    return "not a regular file";
}

static int not_regular(const char *path, const char *name, int dirfd, mode_t mode,
                       enigma_error *err)
{
    struct stat lst;
    int link = fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode);

    return enigma_error_set(err, "EMIGRATION_FILE",
                            "%s is %s%s, not a regular file; the schema directory must hold "
                            "only regular NNN_name.sql files",
                            path, link ? "a symbolic link to " : "", kind_of(mode));
}

/* Reads the regular file `name` of the directory `dirfd` (`dir` names it
 * in messages) into a NUL-terminated malloc'd buffer. Anything else (a
 * FIFO, a device, a directory, a symbolic link to one, a dangling link) is
 * refused without being read, so nothing blocks or runs forever. */
static char *read_file(int dirfd, const char *dir, const char *name, size_t *len, enigma_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    size_t got = 0;
    char *buf;
    int fd;

    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (fstatat(dirfd, name, &st, 0) < 0) {
        int e = errno;
        struct stat lst;

        if (fstatat(dirfd, name, &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode))
            enigma_error_set(err, "EMIGRATION_FILE",
                             "%s is a symbolic link to nothing that can be read (%s), not a "
                             "regular file",
                             path, strerror(e));
        else
            enigma_error_set(err, "EMIGRATION_FILE", "cannot read %s: %s", path, strerror(e));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        not_regular(path, name, dirfd, st.st_mode, err);
        return NULL;
    }
    /* O_NONBLOCK: if it was swapped for a FIFO since, opening does not wait */
    if ((fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) < 0) {
        enigma_error_set(err, "EMIGRATION_FILE", "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        not_regular(path, name, dirfd, st.st_mode, err);
        close(fd);
        return NULL;
    }
    if (st.st_size > MIGRATION_MAX_BYTES) {
        enigma_error_set(err, "EMIGRATION_FILE", "%s is larger than %ld bytes", path,
                         MIGRATION_MAX_BYTES);
        close(fd);
        return NULL;
    }
    if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
        enigma_error_set(err, "ENOMEM", "out of memory reading %s", path);
        close(fd);
        return NULL;
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            enigma_error_set(err, "EMIGRATION_FILE", "cannot read %s: %s", path,
                             n < 0 ? strerror(errno) : "it shrank while being read");
            free(buf);
            close(fd);
            return NULL;
        }
        got += (size_t)n;
    }
    close(fd);
    buf[got] = '\0';
    *len = got;
    return buf;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char digest[crypto_hash_sha256_BYTES];

    crypto_hash_sha256(digest, (const unsigned char *)data, len);
    sodium_bin2hex(out, 65, digest, sizeof digest);
}

static int push_item(enigma_migration_list *list, size_t *cap, enigma_migration **out)
{
    if (list->count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 32;
        enigma_migration *grown = realloc(list->items, ncap * sizeof *grown);

        if (grown == NULL)
            return -1;
        list->items = grown;
        *cap = ncap;
    }
    *out = &list->items[list->count++];
    memset(*out, 0, sizeof **out);
    return 0;
}

static enigma_migration *find(enigma_migration_list *list, const char *name)
{
    size_t i;

    for (i = 0; i < list->count; i++)
        if (strcmp(list->items[i].name, name) == 0)
            return &list->items[i];
    return NULL;
}

void enigma_migrate_list_free(enigma_migration_list *list)
{
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static int list_files(const char *dir, enigma_migration_list *list, size_t *cap, enigma_error *err)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (d == NULL)
        return enigma_error_set(err, "EIO", "cannot open the schema directory %s: %s", dir,
                                strerror(errno));
    while ((e = readdir(d)) != NULL) {
        enigma_migration *m;
        size_t len;
        char *text;

        if (!is_migration_name(e->d_name))
            continue;
        if ((text = read_file(dirfd(d), dir, e->d_name, &len, err)) == NULL)
            goto fail;
        if (push_item(list, cap, &m) < 0) {
            free(text);
            enigma_error_set(err, "ENOMEM", "out of memory");
            goto fail;
        }
        snprintf(m->name, sizeof m->name, "%s", e->d_name);
        sha256_hex(text, len, m->checksum);
        m->state = ENIGMA_MIGRATION_PENDING;
        free(text);
    }
    closedir(d);
    return 0;
fail:
    closedir(d);
    return -1;
}

int enigma_migrate_status(enigma_db *db, const char *dir, enigma_migration_list *out,
                          enigma_error *err)
{
    size_t cap = 0;
    PGresult *res;
    int i;

    memset(out, 0, sizeof *out);
    if (list_files(dir, out, &cap, err) < 0)
        goto fail;
    res = enigma_db_exec_simple(db, create_table_sql, err);
    if (res == NULL)
        goto fail;
    PQclear(res);
    res = enigma_db_execute(db,
                            "select name, checksum, to_char(applied_at at time zone 'UTC', "
                            "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') from schema_migrations",
                            0, NULL, NULL, err);
    if (res == NULL)
        goto fail;
    for (i = 0; i < PQntuples(res); i++) {
        enigma_migration *m = find(out, PQgetvalue(res, i, 0));

        if (m == NULL) {
            if (push_item(out, &cap, &m) < 0) {
                PQclear(res);
                enigma_error_set(err, "ENOMEM", "out of memory");
                goto fail;
            }
            snprintf(m->name, sizeof m->name, "%s", PQgetvalue(res, i, 0));
            m->state = ENIGMA_MIGRATION_MISSING;
        } else {
            m->state = strcmp(m->checksum, PQgetvalue(res, i, 1)) == 0 ? ENIGMA_MIGRATION_APPLIED
                                                                       : ENIGMA_MIGRATION_CHANGED;
        }
        snprintf(m->applied_at, sizeof m->applied_at, "%s", PQgetvalue(res, i, 2));
    }
    PQclear(res);
    qsort(out->items, out->count, sizeof *out->items, by_name);
    return 0;
fail:
    enigma_migrate_list_free(out);
    return -1;
}

/* The 1-based line of a 1-based character position in text. */
static int line_of(const char *text, long pos)
{
    int line = 1;
    long i;

    for (i = 0; i < pos - 1 && text[i]; i++)
        if (text[i] == '\n')
            line++;
    return line;
}

/* Reads pending migration `m` again, checks it is the text that was
 * listed, and that it has no transaction control at top level. Returns
 * the text (the caller frees it) or NULL. */
static char *read_pending(int dirfd, const char *dir, const enigma_migration *m, size_t *len,
                          enigma_error *err)
{
    char sum[65], word[32];
    char *text;
    long pos;

    if ((text = read_file(dirfd, dir, m->name, len, err)) == NULL)
        return NULL;
    sha256_hex(text, *len, sum);
    if (strcmp(sum, m->checksum) != 0) {
        enigma_error_set(err, "EMIGRATION_CHANGED", "%s changed while migrating; run it again",
                         m->name);
        free(text);
        return NULL;
    }
    if ((pos = enigma_sqlscan_transaction_control(text, *len, word, sizeof word)) >= 0) {
        enigma_error_set(err, "EMIGRATION",
                         "%s, line %d: %s controls the transaction; a migration must not "
                         "contain BEGIN, COMMIT, ROLLBACK, END, SAVEPOINT, RELEASE or PREPARE "
                         "TRANSACTION, as enigma runs each file in one transaction; nothing "
                         "was applied",
                         m->name, line_of(text, pos + 1), word);
        free(text);
        return NULL;
    }
    return text;
}

/* The current transaction's id, as text in `out` (65 bytes). */
static int current_xid(enigma_db *db, char out[65], enigma_error *err)
{
    PGresult *res = enigma_db_exec_simple(db, "select pg_current_xact_id()::text", err);

    if (res == NULL)
        return -1;
    snprintf(out, 65, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return 0;
}

/* The migration's SQL ended the transaction it ran in (which the scanner
 * should have refused, so something it cannot see did: a procedure, a
 * rule): whatever it did before is committed and cannot be undone. Rolls
 * back what is still open and says so. */
static int ended_transaction(enigma_db *db, const enigma_migration *m, const char *inner,
                             enigma_error *err)
{
    PGconn *conn = enigma_db_pgconn(db);

    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        PQclear(PQexec(conn, "rollback"));
    return enigma_error_set(err, "EMIGRATION_ENDED",
                            "%s ended the transaction it runs in%s%s; what it did before that "
                            "was committed and could not be rolled back, and it was not recorded "
                            "as applied: repair the database by hand, and remove the transaction "
                            "control from the file",
                            m->name, inner[0] ? ", then failed: " : "", inner);
}

/* Runs one file in one transaction. Returns 1 if applied, 0 if another
 * migrator applied it first, -1 on failure (rolled back). */
static int apply_one(enigma_db *db, int dirfd, const char *dir, const enigma_migration *m,
                     enigma_error *err)
{
    PGconn *conn = enigma_db_pgconn(db);
    const char *params[2] = {m->name, m->checksum};
    char xid[65], xid_after[65];
    PGresult *res;
    size_t len;
    char *text;
    int done;

    if ((text = read_pending(dirfd, dir, m, &len, err)) == NULL)
        return -1;
    /* the text is lexed as the scanner did: with standard strings, whatever
     * an earlier migration set for the session */
    res = enigma_db_exec_simple(db,
                                "begin; set local standard_conforming_strings = on;"
                                "select pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")",
                                err);
    if (res == NULL)
        goto rollback;
    PQclear(res);
    res = enigma_db_execute(db, "select 1 from schema_migrations where name = $1", 1, params, NULL,
                            err);
    if (res == NULL)
        goto rollback;
    done = PQntuples(res) > 0;
    PQclear(res);
    if (done) {
        PQclear(PQexec(conn, "rollback"));
        free(text);
        return 0;
    }
    if (current_xid(db, xid, err) < 0)
        goto rollback;

    res = PQexec(conn, text);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
        PQresultStatus(res) != PGRES_EMPTY_QUERY) {
        const char *at = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
        long position = at != NULL ? strtol(at, NULL, 10) : -1;   /* `at` is res's: read first */
        enigma_error inner;

        enigma_db_error_from_result(db, res, &inner);
        PQclear(res);
        if (PQtransactionStatus(conn) != PQTRANS_INERROR) {
            ended_transaction(db, m, inner.message, err);
            goto fail;
        }
        if (position >= 0)
            enigma_error_set(err, inner.code, "%s, line %d: %s", m->name, line_of(text, position),
                             inner.message);
        else
            enigma_error_set(err, inner.code, "%s: %s", m->name, inner.message);
        goto rollback;
    }
    PQclear(res);
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS || current_xid(db, xid_after, err) < 0 ||
        strcmp(xid, xid_after) != 0) {
        ended_transaction(db, m, "", err);
        goto fail;
    }
    res = enigma_db_execute(db, "insert into schema_migrations (name, checksum) values ($1, $2)", 2,
                            params, NULL, err);
    if (res == NULL)
        goto rollback;
    PQclear(res);
    res = enigma_db_exec_simple(db, "commit", err);
    if (res == NULL)
        goto fail;
    PQclear(res);
    free(text);
    return 1;

rollback:
    PQclear(PQexec(conn, "rollback"));
fail:
    free(text);
    return -1;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int enigma_migrate_apply(enigma_db *db, const char *dir,
                         void (*applied)(const enigma_migration *m, double ms, void *ud), void *ud,
                         enigma_error *err)
{
    enigma_migration_list list;
    size_t i;
    int count = 0, rc, fd;

    if (sodium_init() < 0)
        return enigma_error_set(err, "ESODIUM", "libsodium failed to initialise");
    if (enigma_migrate_status(db, dir, &list, err) < 0)
        return -1;
    for (i = 0; i < list.count; i++) {
        if (list.items[i].state == ENIGMA_MIGRATION_CHANGED) {
            enigma_error_set(err, "EMIGRATION_CHANGED",
                             "%s was edited after it was applied (its checksum no longer "
                             "matches schema_migrations); restore it and put the change in "
                             "a new migration",
                             list.items[i].name);
            enigma_migrate_list_free(&list);
            return -1;
        }
    }
    if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        enigma_error_set(err, "EIO", "cannot open the schema directory %s: %s", dir,
                         strerror(errno));
        enigma_migrate_list_free(&list);
        return -1;
    }
    /* every pending file is checked before the first one runs */
    for (i = 0; i < list.count; i++) {
        size_t len;
        char *text;

        if (list.items[i].state != ENIGMA_MIGRATION_PENDING)
            continue;
        if ((text = read_pending(fd, dir, &list.items[i], &len, err)) == NULL)
            goto fail;
        free(text);
    }
    for (i = 0; i < list.count; i++) {
        double start;

        if (list.items[i].state != ENIGMA_MIGRATION_PENDING)
            continue;
        start = now_ms();
        rc = apply_one(db, fd, dir, &list.items[i], err);
        if (rc < 0)
            goto fail;
        if (rc > 0) {
            count++;
            if (applied != NULL)
                applied(&list.items[i], now_ms() - start, ud);
        }
    }
    close(fd);
    enigma_migrate_list_free(&list);
    return count;
fail:
    close(fd);
    enigma_migrate_list_free(&list);
    return -1;
}
