/* core/db against the embedded cluster (needs: cluster). */
#include <stdlib.h>
#include <string.h>

#include "core/db.h"
#include "test.h"

static enigma_db *connect_or_die(void)
{
    enigma_error err;
    enigma_db *db = enigma_db_connect_default(ENIGMA_DB_ADMIN, 1, &err); /* temp tables */

    if (db == NULL) {
        fprintf(stderr, "cannot connect: %s\n", err.message);
        exit(1);
    }
    return db;
}

static long long scalar(enigma_db *db, const char *sql)
{
    enigma_error err;
    PGresult *res = enigma_db_execute(db, sql, 0, NULL, NULL, &err);
    long long v;

    if (res == NULL) {
        fprintf(stderr, "%s: %s\n", sql, err.message);
        return -1;
    }
    v = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

static void test_connect_failures(void)
{
    enigma_error err;

    CHECK(enigma_db_connect("postgresql://[::1", &err) == NULL);
    CHECK_STR(err.code, "EURL");
    CHECK(strstr(err.message, "invalid database URL") != NULL);
    CHECK(enigma_db_connect("host=/nonexistent-dir dbname=x", &err) == NULL);
    CHECK_STR(err.code, "08001");
    CHECK(strstr(err.message, "/nonexistent-dir") != NULL);
}

static void test_parameters(enigma_db *db)
{
    const char *values[2] = {"40", "2"};
    enigma_error err;
    PGresult *res;

    res = enigma_db_execute(db, "select $1::int + $2::int", 2, values, NULL, &err);
    CHECK(res != NULL && strcmp(PQgetvalue(res, 0, 0), "42") == 0);
    PQclear(res);
    CHECK(enigma_db_execute(db, "select $1::int + $2::int", 1, values, NULL, &err) == NULL);
    CHECK_STR(err.code, "EPARAMS");
    values[0] = "forty";
    CHECK(enigma_db_execute(db, "select $1::int + $2::int", 2, values, NULL, &err) == NULL);
    CHECK_STR(err.code, "22P02");
    CHECK(strstr(err.message, "forty") != NULL);
    CHECK(enigma_db_execute(db, "selec 1", 0, NULL, NULL, &err) == NULL);
    CHECK_STR(err.code, "42601");
}

static void test_statement_cache(enigma_db *db)
{
    const enigma_db_stmt *a, *b;
    enigma_error err;
    char sql[64];
    int i;

    a = enigma_db_prepare(db, "select $1::text, $2::int8", &err);
    CHECK(a != NULL && enigma_db_stmt_nparams(a) == 2);
    CHECK(a != NULL && enigma_db_stmt_paramtype(a, 1) == 20);
    b = enigma_db_prepare(db, "select $1::text, $2::int8", &err);
    CHECK(a == b);                                   /* a hit, not a second prepare */
    for (i = 0; i < ENIGMA_DB_STMT_CACHE_MAX + 50; i++) {
        snprintf(sql, sizeof sql, "select %d", i);
        CHECK(enigma_db_prepare(db, sql, &err) != NULL);
    }
    /* Evicted statements are deallocated on the server, not leaked. */
    CHECK(scalar(db, "select count(*) from pg_prepared_statements") <=
          ENIGMA_DB_STMT_CACHE_MAX + 1);
}

static void test_stale_plan(enigma_db *db)
{
    enigma_error err;
    PGresult *res;

    PQclear(
        enigma_db_exec_simple(db,
                              "drop table if exists db_test_t; "
                              "create table db_test_t (a int); insert into db_test_t values (1)",
                              &err));
    res = enigma_db_execute(db, "select * from db_test_t", 0, NULL, NULL, &err);
    CHECK(res != NULL && PQnfields(res) == 1);
    PQclear(res);
    PQclear(enigma_db_exec_simple(db, "alter table db_test_t add column b int", &err));
    res = enigma_db_execute(db, "select * from db_test_t", 0, NULL, NULL, &err);
    CHECK(res != NULL && PQnfields(res) == 2);      /* re-prepared after the schema changed */
    PQclear(res);
    PQclear(enigma_db_exec_simple(db, "drop table db_test_t", &err));
}

static void test_copy(enigma_db *db)
{
    enigma_error err;
    PGresult *res;

    PQclear(enigma_db_exec_simple(db, "create temp table copy_t (a int, b text)", &err));
    CHECK(enigma_db_copy_begin(db, "copy copy_t from stdin", &err) == 0);
    CHECK(enigma_db_copy_put(db, "1\tone\n2\t\\N\n", 11, &err) == 0);
    CHECK(enigma_db_copy_end(db, &err) == 2);
    CHECK(scalar(db, "select count(*) from copy_t where b is null") == 1);

    /* bad data: the server's error, and the connection still works */
    CHECK(enigma_db_copy_begin(db, "copy copy_t from stdin", &err) == 0);
    CHECK(enigma_db_copy_put(db, "3\tthree\nx\tbad\n", 14, &err) == 0);
    CHECK(enigma_db_copy_end(db, &err) == -1);
    CHECK_STR(err.code, "22P02");
    CHECK(scalar(db, "select count(*) from copy_t") == 2);

    /* abort: nothing stored */
    CHECK(enigma_db_copy_begin(db, "copy copy_t from stdin", &err) == 0);
    CHECK(enigma_db_copy_put(db, "4\tfour\n", 7, &err) == 0);
    CHECK(enigma_db_copy_abort(db, "changed my mind", &err) == -1);
    CHECK(strstr(err.message, "changed my mind") != NULL);
    CHECK(scalar(db, "select count(*) from copy_t") == 2);

    /* a COPY sent as a query is refused and the connection recovers */
    res = enigma_db_execute(db, "copy copy_t from stdin", 0, NULL, NULL, &err);
    CHECK(res == NULL);
    CHECK_STR(err.code, "ECOPY");
    CHECK(scalar(db, "select 7") == 7);
    CHECK(enigma_db_copy_begin(db, "select 1", &err) == -1);
    CHECK_STR(err.code, "ECOPY");
}

static void test_lost_connection(void)
{
    enigma_db *victim = connect_or_die(), *killer = connect_or_die();
    long long pid = scalar(victim, "select pg_backend_pid()");
    const char *values[1];
    char pidtext[32];
    enigma_error err;

    snprintf(pidtext, sizeof pidtext, "%lld", pid);
    values[0] = pidtext;
    PQclear(enigma_db_execute(killer, "select pg_terminate_backend($1::int, 5000)", 1, values, NULL,
                              &err));
    CHECK(enigma_db_execute(victim, "select 1", 0, NULL, NULL, &err) == NULL);
    CHECK((err.code[0] == '0' && err.code[1] == '8') || strcmp(err.code, "57P01") == 0);
    CHECK(enigma_db_execute(victim, "select 1", 0, NULL, NULL, &err) == NULL);
    CHECK_STR(err.code, "08006");
    CHECK(strstr(err.message, "lost the connection") != NULL);
    enigma_db_close(victim);
    enigma_db_close(killer);
}

int main(void)
{
    enigma_db *db = connect_or_die();

    test_connect_failures();
    test_parameters(db);
    test_statement_cache(db);
    test_stale_plan(db);
    test_copy(db);
    test_lost_connection();
    enigma_db_close(db);
    return test_report();
}
