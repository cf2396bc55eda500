/* core/db's commands without blocking, driven with poll(2) (needs: cluster). */
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/db.h"
#include "test.h"

static enigma_db *connect_or_die(void)
{
    enigma_error err;
    enigma_db *db = enigma_db_connect_default(ENIGMA_DB_ADMIN, 1, &err); /* temp tables */

    if (db == NULL || enigma_db_set_async(db, 1, &err) < 0) {
        fprintf(stderr, "cannot connect: %s\n", err.message);
        exit(1);
    }
    return db;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Waits once on the socket as progress() asked. */
static void wait_for(enigma_db *db, int want)
{
    struct pollfd p = {enigma_db_socket(db), POLLIN, 0};

    if (want == ENIGMA_DB_WANT_WRITE)
        p.events |= POLLOUT;
    poll(&p, 1, 5000);
}

/* Drives the command in flight to its end: 0 with *res, or -1 with err. */
static int drive(enigma_db *db, PGresult **res, enigma_error *err)
{
    int want;

    while ((want = enigma_db_progress(db, res, err)) > 0)
        wait_for(db, want);
    return want;
}

static PGresult *finish(enigma_db *db, enigma_error *err)
{
    PGresult *res;

    return drive(db, &res, err) == 0 ? res : NULL;
}

static const enigma_db_stmt *prepare(enigma_db *db, const char *sql, enigma_error *err)
{
    PGresult *none;

    if (enigma_db_send_prepare(db, sql, err) < 0 || drive(db, &none, err) < 0)
        return NULL;
    return enigma_db_cached(db, sql);
}

/* prepare + execute; NULL with err on failure. */
static PGresult *execute(enigma_db *db, const char *sql, int n, const char *const *values,
                         enigma_error *err)
{
    const enigma_db_stmt *stmt = prepare(db, sql, err);

    if (stmt == NULL || enigma_db_send_execute(db, stmt, n, values, NULL, err) < 0)
        return NULL;
    return finish(db, err);
}

static PGresult *simple(enigma_db *db, const char *sql, enigma_error *err)
{
    if (enigma_db_send_simple(db, sql, err) < 0)
        return NULL;
    return finish(db, err);
}

static void test_prepare_execute(enigma_db *db)
{
    const char *values[2] = {"40", "2"};
    const enigma_db_stmt *stmt;
    enigma_error err;
    PGresult *res;

    res = execute(db, "select $1::int + $2::int as sum", 2, values, &err);
    CHECK(res != NULL && strcmp(PQgetvalue(res, 0, 0), "42") == 0);
    PQclear(res);
    stmt = enigma_db_cached(db, "select $1::int + $2::int as sum");
    CHECK(stmt != NULL && enigma_db_stmt_nparams(stmt) == 2);
    CHECK(stmt != NULL && enigma_db_stmt_paramtype(stmt, 0) == 23);
    CHECK(stmt != NULL && enigma_db_send_execute(db, stmt, 1, values, NULL, &err) < 0);
    CHECK_STR(err.code, "EPARAMS");
    CHECK(!enigma_db_busy(db));
    CHECK(enigma_db_progress(db, &res, &err) < 0);
    CHECK_STR(err.code, "EIDLE");
}

static void test_simple_multi(enigma_db *db)
{
    enigma_error err;
    PGresult *res = simple(db,
                           "create temp table t_async (n int); "
                           "insert into t_async values (1), (2), (3); "
                           "select sum(n) from t_async",
                           &err);

    CHECK(res != NULL && strcmp(PQgetvalue(res, 0, 0), "6") == 0);
    PQclear(res);
    res = simple(db, "", &err);                     /* empty: ok, like exec_simple */
    CHECK(res != NULL);
    PQclear(res);
}

static void test_error_leaves_usable(enigma_db *db)
{
    const char *values[1] = {"forty"};
    enigma_error err;
    PGresult *res;

    CHECK(simple(db, "select 1; select 1/0; select 3", &err) == NULL);
    CHECK_STR(err.code, "22012");
    CHECK(execute(db, "select $1::int", 1, values, &err) == NULL);
    CHECK_STR(err.code, "22P02");
    CHECK(prepare(db, "selec 1", &err) == NULL);
    CHECK_STR(err.code, "42601");
    CHECK(enigma_db_cached(db, "selec 1") == NULL);
    CHECK(simple(db, "copy (select 1) to stdout", &err) == NULL);
    CHECK_STR(err.code, "ECOPY");
    res = simple(db, "select 7", &err);
    CHECK(res != NULL && strcmp(PQgetvalue(res, 0, 0), "7") == 0);
    PQclear(res);
}

/* A cached statement is executed without preparing; the blocking API shares the cache. */
static void test_cached_statement(enigma_db *db)
{
    const char *values[1] = {"5"};
    const enigma_db_stmt *blocking;
    enigma_error err;
    PGresult *res;

    blocking = enigma_db_prepare(db, "select $1::int8 * 2", &err);
    CHECK(blocking != NULL);
    CHECK(enigma_db_cached(db, "select $1::int8 * 2") == blocking);
    CHECK(enigma_db_send_prepare(db, "select $1::int8 * 2", &err) == 0);
    CHECK(enigma_db_progress(db, &res, &err) == 0);    /* done at once: nothing sent */
    CHECK(res == NULL && !enigma_db_busy(db));
    res = execute(db, "select $1::int8 * 2", 1, values, &err);
    CHECK(res != NULL && strcmp(PQgetvalue(res, 0, 0), "10") == 0);
    PQclear(res);
    CHECK(enigma_db_cached(db, "select $1::int8 * 2") == blocking);
}

/* A plan gone stale is dropped by retry_stale; the next prepare makes a fresh one. */
static void test_stale_retry(enigma_db *db)
{
    enigma_error err;
    PGresult *res;

    PQclear(simple(db, "create temp table t_stale (a int); insert into t_stale values (1)", &err));
    PQclear(execute(db, "select * from t_stale", 0, NULL, &err));
    PQclear(simple(db, "alter table t_stale add column b int", &err));
    res = execute(db, "select * from t_stale", 0, NULL, &err);
    CHECK(res == NULL);
    CHECK(res == NULL && enigma_db_retry_stale(db, "select * from t_stale", &err) == 1);
    CHECK(enigma_db_cached(db, "select * from t_stale") == NULL);
    res = execute(db, "select * from t_stale", 0, NULL, &err);
    CHECK(res != NULL && PQnfields(res) == 2);
    PQclear(res);
}

/* Evicting past the cache's size deallocates without blocking, chained before PREPARE. */
static void test_eviction(enigma_db *db)
{
    enigma_error err;
    char sql[64];
    PGresult *res;
    int i, ok = 1;

    for (i = 0; i < ENIGMA_DB_STMT_CACHE_MAX + 20; i++) {
        snprintf(sql, sizeof sql, "select %d as evict", i);
        res = execute(db, sql, 0, NULL, &err);
        ok = ok && res != NULL;
        PQclear(res);
    }
    CHECK(ok);
    res = simple(db, "select count(*) from pg_prepared_statements", &err);
    CHECK(res != NULL && atoi(PQgetvalue(res, 0, 0)) <= ENIGMA_DB_STMT_CACHE_MAX + 1);
    PQclear(res);
}

static void test_busy(enigma_db *db)
{
    enigma_error err;
    PGresult *res;

    CHECK(enigma_db_send_simple(db, "select pg_sleep(0.05)", &err) == 0);
    CHECK(enigma_db_busy(db));
    CHECK(enigma_db_send_simple(db, "select 1", &err) < 0);
    CHECK_STR(err.code, "EBUSY");
    CHECK(enigma_db_exec_simple(db, "select 1", &err) == NULL);
    CHECK_STR(err.code, "EBUSY");
    CHECK(enigma_db_execute(db, "select 1", 0, NULL, NULL, &err) == NULL);
    CHECK_STR(err.code, "EBUSY");
    res = finish(db, &err);
    CHECK(res != NULL);
    PQclear(res);
    res = enigma_db_exec_simple(db, "select 2", &err);  /* blocking again, between commands */
    CHECK(res != NULL && strcmp(PQgetvalue(res, 0, 0), "2") == 0);
    PQclear(res);
}

static void test_cancel(enigma_db *db)
{
    enigma_error err;
    double started = now();
    PGresult *res;

    CHECK(enigma_db_send_simple(db, "select pg_sleep(10)", &err) == 0);
    CHECK(enigma_db_progress(db, &res, &err) > 0);
    nanosleep(&(struct timespec){0, 200 * 1000 * 1000}, NULL);   /* let the server start on it */
    CHECK(enigma_db_cancel(db, &err) == 0);
    CHECK(finish(db, &err) == NULL);
    CHECK_STR(err.code, "57014");
    CHECK(now() - started < 5);
    res = simple(db, "select 1", &err);
    CHECK(res != NULL);
    PQclear(res);
}

static void test_abandon(enigma_db *db)
{
    enigma_error err;
    PGresult *res;

    CHECK(enigma_db_send_simple(db, "select pg_sleep(10)", &err) == 0);
    CHECK(enigma_db_abandon(db, &err) == 0);
    CHECK(!enigma_db_busy(db));
    res = enigma_db_exec_simple(db, "select 3", &err);
    CHECK(res != NULL && strcmp(PQgetvalue(res, 0, 0), "3") == 0);
    PQclear(res);
    CHECK(enigma_db_send_simple(db, "select pg_sleep(10)", &err) == 0);
}

/* Two connections' commands in flight at once, each driven when its socket is ready. */
static void test_interleaved(void)
{
    enigma_db *slow = connect_or_die(), *fast = connect_or_die();
    enigma_error err;
    PGresult *res = NULL;
    int quick = 0, slow_done = 0, want_slow, want_fast;
    double started = now();

    CHECK(enigma_db_send_simple(slow, "select pg_sleep(0.5), 'slow'", &err) == 0);
    CHECK(enigma_db_send_simple(fast, "select 0", &err) == 0);
    while (!slow_done) {
        struct pollfd p[2] = {
            {enigma_db_socket(slow), POLLIN, 0}, {enigma_db_socket(fast), POLLIN, 0}
        };

        want_slow = enigma_db_progress(slow, &res, &err);
        if (want_slow <= 0) {
            CHECK(want_slow == 0 && res != NULL && strcmp(PQgetvalue(res, 0, 1), "slow") == 0);
            PQclear(res);
            slow_done = 1;
            break;
        }
        want_fast = quick < 10 ? enigma_db_progress(fast, &res, &err) : 1;
        if (want_fast == 0) {
            PQclear(res);
            if (++quick < 10)
                CHECK(enigma_db_send_simple(fast, "select 1", &err) == 0);
            continue;
        }
        poll(p, quick < 10 ? 2 : 1, 5000);
    }
    CHECK(quick == 10);                 /* all ten answered while the slow one slept */
    CHECK(now() - started < 3);
    enigma_db_close(slow);
    enigma_db_close(fast);
}

int main(void)
{
    enigma_db *db = connect_or_die();

    test_prepare_execute(db);
    test_simple_multi(db);
    test_error_leaves_usable(db);
    test_cached_statement(db);
    test_stale_retry(db);
    test_eviction(db);
    test_busy(db);
    test_cancel(db);
    test_abandon(db);
    enigma_db_close(db);               /* with a command in flight: must be safe */
    test_interleaved();
    return test_report();
}
