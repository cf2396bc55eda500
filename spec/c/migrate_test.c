/* core/migrate on scratch databases in the embedded cluster (needs: cluster). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/db.h"
#include "core/migrate.h"
#include "core/pgcluster.h"
#include "test.h"

static char schema_dir[256];

static void write_file(const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", schema_dir, name);
    f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void run(enigma_db *db, const char *sql)
{
    enigma_error err;
    PGresult *res = enigma_db_exec_simple(db, sql, &err);

    if (res == NULL)
        fprintf(stderr, "%s: %s\n", sql, err.message);
    PQclear(res);
}

/* A fresh database named `name` in the cluster, and a connection to it. */
static enigma_db *fresh_database(const char *name)
{
    enigma_pgcluster c;
    enigma_error err;
    char url[4096], sql[128];
    enigma_db *admin, *db;

    if (enigma_pgcluster_open(&c, NULL, &err) < 0 ||
        (admin = enigma_db_connect_default(ENIGMA_DB_ADMIN, 1, &err)) == NULL) {
        fprintf(stderr, "%s\n", err.message);
        exit(1);
    }
    snprintf(sql, sizeof sql, "drop database if exists %s with (force)", name);
    run(admin, sql);
    snprintf(sql, sizeof sql, "create database %s", name);
    run(admin, sql);
    enigma_db_close(admin);
    if (enigma_pgcluster_url(&c, name, url, sizeof url) < 0 ||
        (db = enigma_db_connect(url, &err)) == NULL) {
        fprintf(stderr, "cannot connect to %s\n", name);
        exit(1);
    }
    return db;
}

static long long count(enigma_db *db, const char *sql)
{
    enigma_error err;
    PGresult *res = enigma_db_execute(db, sql, 0, NULL, NULL, &err);
    long long n = res ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : -1;

    PQclear(res);
    return n;
}

static void test_apply_and_refuse(void)
{
    enigma_db *db = fresh_database("migrate_test_a");
    enigma_migration_list list;
    enigma_error err;

    write_file("001_first.sql", "create table m_first (a int);\n");
    write_file("002_second.sql",
               "create table m_second (b int);\ninsert into m_second values (1);\n"
               "-- commit: words in comments, strings and function bodies are not statements\n"
               "create function m_f() returns text language plpgsql as $body$\n"
               "begin\n  return 'commit; rollback';\nend $body$;\n"
               "select 'begin', $$end$$, E'\\'; commit';\n");
    write_file("notes.txt", "not a migration");
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == 2);
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == 0); /* up to date: a no-op */
    CHECK(count(db, "select count(*) from schema_migrations") == 2);
    CHECK(count(db, "select count(*) from m_second") == 1);

    /* a failing migration is rolled back whole and names its line */
    write_file("003_broken.sql", "create table m_third (c int);\n\nselect nosuch from m_third;\n");
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == -1);
    CHECK_STR(err.code, "42703");
    CHECK(strstr(err.message, "003_broken.sql, line 3") != NULL);
    CHECK(count(db, "select count(*) from pg_tables where tablename = 'm_third'") == 0);
    CHECK(enigma_migrate_status(db, schema_dir, &list, &err) == 0);
    CHECK(list.count == 3 && list.items[2].state == ENIGMA_MIGRATION_PENDING);
    CHECK(list.count == 3 && list.items[0].state == ENIGMA_MIGRATION_APPLIED);
    enigma_migrate_list_free(&list);

    /* a migration may not end its own transaction */
    write_file("003_broken.sql", "create table m_third (c int);\ncommit;\n");
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == -1);
    CHECK_STR(err.code, "EMIGRATION");

    /* an applied file that changed is refused, and nothing else runs */
    write_file("003_broken.sql", "create table m_third (c int);\n");
    write_file("001_first.sql", "create table m_first (a int, sneaky int);\n");
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == -1);
    CHECK_STR(err.code, "EMIGRATION_CHANGED");
    CHECK(strstr(err.message, "001_first.sql") != NULL);
    CHECK(count(db, "select count(*) from pg_tables where tablename = 'm_third'") == 0);
    CHECK(enigma_migrate_status(db, schema_dir, &list, &err) == 0);
    CHECK(list.count == 3 && list.items[0].state == ENIGMA_MIGRATION_CHANGED);
    enigma_migrate_list_free(&list);
    write_file("001_first.sql", "create table m_first (a int);\n");
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == 1);
    enigma_db_close(db);
}

static void test_concurrent_migrators(void)
{
    enigma_db *db = fresh_database("migrate_test_b");
    pid_t pids[2];
    int i, status, total = 0;

    write_file("004_slow.sql", "create table m_slow (a int);\nselect pg_sleep(0.5);\n");
    enigma_db_close(db);
    for (i = 0; i < 2; i++) {
        pids[i] = fork();
        if (pids[i] == 0) {
            enigma_pgcluster c;
            enigma_error err;
            char url[4096];
            int n;

            if (enigma_pgcluster_open(&c, NULL, &err) < 0 ||
                enigma_pgcluster_url(&c, "migrate_test_b", url, sizeof url) < 0 ||
                (db = enigma_db_connect(url, &err)) == NULL)
                _exit(100);
            n = enigma_migrate_apply(db, schema_dir, NULL, NULL, &err);
            if (n < 0)
                fprintf(stderr, "migrator %d: %s\n", i, err.message);
            enigma_db_close(db);
            _exit(n < 0 ? 100 : n);
        }
    }
    for (i = 0; i < 2; i++) {
        waitpid(pids[i], &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) != 100);
        total += WEXITSTATUS(status);
    }
    CHECK(total == 4); /* each of the 4 files applied exactly once, by one of them */
    db = fresh_database("migrate_test_c");
    enigma_db_close(db);
}

static void remove_file(const char *name)
{
    char path[512];

    snprintf(path, sizeof path, "%s/%s", schema_dir, name);
    unlink(path);
}

/* Regression: `select 1 as _$a$; commit; ...` slipped past the guard (the
 * identifier was taken for a dollar quote), was half applied and not
 * recorded, and every later migrate failed. Now nothing runs, not even the
 * pending files before it. */
static void test_guard_identifier_with_dollar(void)
{
    enigma_db *db = fresh_database("migrate_test_d");
    enigma_error err;

    write_file("005_fine.sql", "create table m_fine (a int);\n");
    write_file("006_sneaky.sql",
               "create table m_sneaky (a int);\nselect 1 as _$a$; commit; create table m_after "
               "(a int);\n");
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == -1);
    CHECK_STR(err.code, "EMIGRATION");
    CHECK(strstr(err.message, "006_sneaky.sql, line 2: COMMIT") != NULL);
    CHECK(count(db, "select count(*) from pg_tables where tablename in ('m_fine', 'm_sneaky', "
                    "'m_after')") == 0);
    CHECK(count(db, "select count(*) from schema_migrations") == 0);

    /* a procedure that commits is stopped by the server, and rolled back */
    write_file("006_sneaky.sql",
               "create table m_sneaky (a int);\n"
               "create procedure m_p() language plpgsql as $$ begin commit; end $$;\n"
               "call m_p();\ncreate table m_after (a int);\n");
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == -1);
    CHECK_STR(err.code, "2D000"); /* invalid transaction termination */
    CHECK(count(db, "select count(*) from pg_tables where tablename in ('m_sneaky', 'm_after')") ==
          0);
    CHECK(count(db, "select count(*) from schema_migrations") == 5);

    /* a session setting from an earlier migration does not change the lexing */
    write_file("006_sneaky.sql", "set standard_conforming_strings = off;\n");
    write_file("007_strings.sql", "create table m_s as select 'a\\' as t;\n");
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == 2);
    CHECK(count(db, "select count(*) from m_s where t = chr(97) || chr(92)") == 1);
    remove_file("005_fine.sql");
    remove_file("006_sneaky.sql");
    remove_file("007_strings.sql");
    enigma_db_close(db);
}

static void on_alarm(int sig)
{
    (void)sig;
    fprintf(stderr, "migrate_test: blocked on a schema file\n");
    _exit(1);
}

/* Only regular files are read: a FIFO, a symlink to a device or to
 * nothing, a directory are refused by name and kind, without blocking. */
static void test_only_regular_files(void)
{
    static const struct {
        const char *make, *says;
    } odd[] = {
        {"mkfifo %s/008_odd.sql", "is a FIFO (named pipe), not a regular file"},
        {"ln -s /dev/zero %s/008_odd.sql", "is a symbolic link to a character device"},
        {"mkdir %s/008_odd.sql", "is a directory, not a regular file"},
        {"ln -s /nonexistent %s/008_odd.sql", "is a symbolic link to nothing"},
    };
    enigma_db *db = fresh_database("migrate_test_e");
    enigma_migration_list list;
    enigma_error err;
    char cmd[600];
    size_t i;

    signal(SIGALRM, on_alarm);
    alarm(60);
    for (i = 0; i < sizeof odd / sizeof *odd; i++) {
        snprintf(cmd, sizeof cmd, odd[i].make, schema_dir);
        CHECK(system(cmd) == 0);
        CHECK(enigma_migrate_status(db, schema_dir, &list, &err) == -1);
        CHECK_STR(err.code, "EMIGRATION_FILE");
        CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == -1);
        CHECK_STR(err.code, "EMIGRATION_FILE");
        if (strstr(err.message, "008_odd.sql") == NULL || strstr(err.message, odd[i].says) == NULL)
            fprintf(stderr, "%s: %s\n", odd[i].make, err.message);
        CHECK(strstr(err.message, "008_odd.sql") != NULL);
        CHECK(strstr(err.message, odd[i].says) != NULL);
        snprintf(cmd, sizeof cmd, "rm -rf %s/008_odd.sql", schema_dir);
        CHECK(system(cmd) == 0);
    }
    /* a symlink to a regular file is read */
    write_file("009_target.txt", "create table m_linked (a int);\n");
    snprintf(cmd, sizeof cmd, "ln -s 009_target.txt %s/009_linked.sql", schema_dir);
    CHECK(system(cmd) == 0);
    CHECK(enigma_migrate_apply(db, schema_dir, NULL, NULL, &err) == 5);
    CHECK(count(db, "select count(*) from m_linked") == 0);
    alarm(0);
    enigma_db_close(db);
}

int main(void)
{
    char cmd[512];
    int rc;

    snprintf(schema_dir, sizeof schema_dir, "/tmp/enigma-migrate-test-XXXXXX");
    if (mkdtemp(schema_dir) == NULL)
        return 1;
    test_apply_and_refuse();
    test_concurrent_migrators();
    test_guard_identifier_with_dollar();
    test_only_regular_files();
    rc = test_report();
    snprintf(cmd, sizeof cmd, "rm -rf %s", schema_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", schema_dir);
    return rc;
}
