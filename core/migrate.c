#include "core/migrate.h"
#include "core/paths.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

/* Reads a whole file into a NUL-terminated malloc'd buffer. */
static char *read_file(const char *path, size_t *len, enigma_error *err)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long size;

    if (f == NULL) {
        enigma_error_set(err, "EIO", "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (buf = malloc((size_t)size + 1)) != NULL &&
        fread(buf, 1, (size_t)size, f) == (size_t)size) {
        buf[size] = '\0';
        *len = (size_t)size;
    } else {
        free(buf);
        buf = NULL;
        enigma_error_set(err, "EIO", "cannot read %s: %s", path, strerror(errno));
    }
    fclose(f);
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
    char path[PATH_MAX];

    if (d == NULL)
        return enigma_error_set(err, "EIO", "cannot open the schema directory %s: %s", dir,
                                strerror(errno));
    while ((e = readdir(d)) != NULL) {
        enigma_migration *m;
        size_t len;
        char *text;

        if (!is_migration_name(e->d_name))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if ((text = read_file(path, &len, err)) == NULL)
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

/*
 * Finds a top-level statement that would end or nest the migration's
 * transaction (BEGIN, COMMIT, ROLLBACK, END, ABORT, START, PREPARE
 * TRANSACTION) by reading the SQL with just enough of PostgreSQL's lexical
 * rules (comments, quotes, dollar quoting) to know where statements start.
 * Returns the offending keyword's offset, or -1.
 */
static long find_transaction_control(const char *sql)
{
    static const char *const words[] = {
        "begin", "commit", "rollback", "end", "abort", "start", "prepare transaction", NULL
    };
    const char *p = sql;
    int at_start = 1, i;

    while (*p) {
        if (p[0] == '-' && p[1] == '-') {
            p = strchr(p, '\n');
            if (p == NULL)
                break;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            int depth = 1;

            for (p += 2; *p && depth > 0; p++) {
                if (p[0] == '/' && p[1] == '*')
                    depth++, p++;
                else if (p[0] == '*' && p[1] == '/')
                    depth--, p++;
            }
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            p++;
            continue;
        }
        if (at_start) {
            for (i = 0; words[i] != NULL; i++) {
                size_t n = strlen(words[i]);

                if (strncasecmp(p, words[i], n) == 0 && !isalnum((unsigned char)p[n]) &&
                    p[n] != '_')
                    return p - sql;
            }
            at_start = 0;
        }
        if (*p == ';') {
            at_start = 1;
            p++;
        } else if (*p == '\'' || *p == '"') {
            char q = *p;
            int backslash = q == '\'' && p > sql && (p[-1] == 'E' || p[-1] == 'e');

            for (p++; *p; p++) {
                if (backslash && *p == '\\' && p[1]) {
                    p++;
                    continue;
                }
                if (*p == q) {
                    if (p[1] == q) {
                        p++;
                        continue;
                    }
                    break;
                }
            }
            if (*p)
                p++;
        } else if (*p == '$' && (p == sql || !isalnum((unsigned char)p[-1]))) {
            const char *tag_end = p + 1;

            while (isalnum((unsigned char)*tag_end) || *tag_end == '_')
                tag_end++;
            if (*tag_end == '$') {
                size_t taglen = (size_t)(tag_end - p) + 1;
                const char *close = p + taglen;

                while ((close = strchr(close, '$')) != NULL && strncmp(close, p, taglen) != 0)
                    close++;
                p = close ? close + taglen : p + strlen(p);
            } else {
                p++;
            }
        } else {
            p++;
        }
    }
    return -1;
}

/* Runs one file in one transaction. Returns 1 if applied, 0 if another
 * migrator applied it first, -1 on failure (rolled back). */
static int apply_one(enigma_db *db, const char *dir, const enigma_migration *m, enigma_error *err)
{
    PGconn *conn = enigma_db_pgconn(db);
    const char *params[2] = {m->name, m->checksum};
    char path[PATH_MAX];
    PGresult *res;
    size_t len;
    char *text;
    long pos;
    int done;

    snprintf(path, sizeof path, "%s/%s", dir, m->name);
    if ((text = read_file(path, &len, err)) == NULL)
        return -1;
    if ((pos = find_transaction_control(text)) >= 0) {
        enigma_error_set(err, "EMIGRATION",
                         "%s, line %d: a migration must not contain BEGIN, "
                         "COMMIT or ROLLBACK; enigma runs each file in one transaction",
                         m->name, line_of(text, pos + 1));
        free(text);
        return -1;
    }
    res =
        enigma_db_exec_simple(db, "begin; select pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", err);
    if (res == NULL)
        goto fail;
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

    res = PQexec(conn, text);
    if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK &&
        PQresultStatus(res) != PGRES_EMPTY_QUERY) {
        const char *at = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
        enigma_error inner;

        enigma_db_error_from_result(db, res, &inner);
        if (at != NULL)
            enigma_error_set(err, inner.code, "%s, line %d: %s", m->name,
                             line_of(text, strtol(at, NULL, 10)), inner.message);
        else
            enigma_error_set(err, inner.code, "%s: %s", m->name, inner.message);
        PQclear(res);
        goto rollback;
    }
    PQclear(res);
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
        enigma_error_set(err, "EMIGRATION",
                         "%s ends the transaction it runs in; "
                         "a migration must not contain COMMIT or ROLLBACK",
                         m->name);
        goto rollback;
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
    int count = 0, rc;

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
    for (i = 0; i < list.count; i++) {
        double start;

        if (list.items[i].state != ENIGMA_MIGRATION_PENDING)
            continue;
        start = now_ms();
        rc = apply_one(db, dir, &list.items[i], err);
        if (rc < 0) {
            enigma_migrate_list_free(&list);
            return -1;
        }
        if (rc > 0) {
            count++;
            if (applied != NULL)
                applied(&list.items[i], now_ms() - start, ud);
        }
    }
    enigma_migrate_list_free(&list);
    return count;
}
