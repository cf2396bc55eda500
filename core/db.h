/*
 * enigma_db: one PostgreSQL connection over libpq, with a cache of prepared
 * statements and the COPY FROM STDIN path.
 *
 * Results are libpq's own PGresult: the caller reads them with PQgetvalue()
 * and friends and owns them (PQclear). Failures fill the caller's
 * enigma_error with the SQLSTATE as the code, or one of:
 *   EURL   the connection string does not parse
 *   08006  the connection was lost (libpq's connection_failure)
 */
#ifndef ENIGMA_DB_H
#define ENIGMA_DB_H

#include <libpq-fe.h>

#include "core/error.h"

typedef struct enigma_db enigma_db;
typedef struct enigma_db_stmt enigma_db_stmt;

/* How many prepared statements one connection keeps before it deallocates
 * the least recently used. */
#define ENIGMA_DB_STMT_CACHE_MAX 256

/*
 * The login roles of the embedded cluster (schema/014_privilege.sql creates
 * them; an operator of an external database creates them the same way):
 *   ENIGMA_DB_RUNTIME_ROLE  what serve, run, repl and the reports log in as:
 *                           no superuser, starts as service_role
 *   ENIGMA_DB_GATEWAY_ROLE  the login of db:as_user's connection: can become
 *                           anon or authenticated, nothing else
 * The superuser (`postgres`, enigma db url) is for migrate and the operator.
 */
#define ENIGMA_DB_RUNTIME_ROLE "enigma_runtime"
#define ENIGMA_DB_GATEWAY_ROLE "enigma_gateway"

/* Whom a default connection logs in as on the embedded cluster. A URL from
 * the environment is used as it is, whichever is asked for. */
typedef enum { ENIGMA_DB_RUNTIME, ENIGMA_DB_ADMIN } enigma_db_login;

/*
 * Opens a connection. `url` is a libpq connection string or URI; when NULL
 * the first of these wins: $ENIGMA_DATABASE_URL, $DATABASE_URL, libpq's own
 * PG* variables (when PGHOST, PGDATABASE or PGSERVICE is set), and otherwise
 * the embedded cluster of the enigma home (core/home.h) as
 * ENIGMA_DB_RUNTIME_ROLE, started on demand and created when it does not
 * exist.
 * Returns a connection the caller closes with enigma_db_close(), or NULL.
 */
enigma_db *enigma_db_connect(const char *url, enigma_error *err);

/*
 * The default connection (as enigma_db_connect(NULL)) logging in as `login`
 * on the embedded cluster: ENIGMA_DB_ADMIN is its superuser, for migrate and
 * the operator. `create` 0 is for a command that only reads: the embedded
 * cluster is started when stopped but never created. When it does not
 * exist, fails with "ENOCLUSTER" ("no database cluster at <home> (enigma db
 * start creates one)") and nothing has been created.
 */
enigma_db *enigma_db_connect_default(enigma_db_login login, int create, enigma_error *err);

/*
 * Opens db:as_user's connection beside `db` (borrowed): $ENIGMA_GATEWAY_URL
 * when set, else db's server, port and database as ENIGMA_DB_GATEWAY_ROLE
 * (a password comes from libpq's password file). Refuses ("EGATEWAY") a
 * login that is a superuser, bypasses row level security, creates roles or
 * databases, or may become any role but itself, anon and authenticated.
 * Returns a connection the caller closes, or NULL.
 */
enigma_db *enigma_db_connect_gateway(enigma_db *db, enigma_error *err);

/* Closes the connection and frees everything it owns. NULL is a no-op. */
void enigma_db_close(enigma_db *db);

/*
 * Writes the default connection string for `login` into buf, by the rule
 * enigma_db_connect_default() follows; "" means libpq's own PG* variables.
 * For the embedded cluster it starts the server first. Returns 0, or -1.
 */
int enigma_db_default_conninfo(char *buf, size_t size, enigma_db_login login, enigma_error *err);

/* The underlying libpq connection, owned by db (for PQtransactionStatus,
 * PQserverVersion, sockets). Never NULL for an open connection. */
PGconn *enigma_db_pgconn(enigma_db *db);

/*
 * Returns the prepared statement for `sql`, preparing it on first use and
 * asking the server for its parameter types. The statement is owned by the
 * connection's cache: it stays valid until the next call that may evict it
 * (the next enigma_db_prepare), so use it at once. NULL on failure (a syntax
 * error, an unknown column: the server's SQLSTATE).
 */
const enigma_db_stmt *enigma_db_prepare(enigma_db *db, const char *sql, enigma_error *err);

/* The number of $n parameters, and the type OID the server inferred for
 * parameter i (0-based). */
int enigma_db_stmt_nparams(const enigma_db_stmt *stmt);
Oid enigma_db_stmt_paramtype(const enigma_db_stmt *stmt, int i);

/*
 * Executes a prepared statement with parameters in text format (values[i]
 * NULL for SQL NULL). Returns a result with status TUPLES_OK or COMMAND_OK
 * that the caller PQclear()s, or NULL with `err` filled. A statement whose
 * cached plan went stale because the schema changed is prepared again and
 * retried once when no transaction is open.
 */
PGresult *enigma_db_execute(enigma_db *db, const char *sql, int nparams, const char *const *values,
                            const int *lengths, enigma_error *err);

/*
 * Runs `sql` through the simple query protocol: no parameters, and several
 * statements allowed (migrations, BEGIN/COMMIT). Returns the last result,
 * owned by the caller, or NULL with `err` filled.
 */
PGresult *enigma_db_exec_simple(enigma_db *db, const char *sql, enigma_error *err);

/*
 * COPY ... FROM STDIN. begin() sends the COPY statement; put() queues bytes
 * of COPY data (buffered, flushed in large writes); end() finishes and
 * returns the number of rows the server stored, or -1. abort() cancels the
 * COPY with `reason` so the server rolls it back; it returns -1 with `err`
 * holding the server's answer.
 */
int enigma_db_copy_begin(enigma_db *db, const char *sql, enigma_error *err);
int enigma_db_copy_put(enigma_db *db, const char *data, size_t len, enigma_error *err);
long long enigma_db_copy_end(enigma_db *db, enigma_error *err);
int enigma_db_copy_abort(enigma_db *db, const char *reason, enigma_error *err);
int enigma_db_in_copy(const enigma_db *db);

/* Fills `err` from a failed result (SQLSTATE, primary message, detail and
 * hint) or, when res is NULL or carries no SQLSTATE, from the connection. */
int enigma_db_error_from_result(enigma_db *db, const PGresult *res, enigma_error *err);

/*
 * Without blocking. A task run by an event loop sends a command, then calls
 * enigma_db_progress() each time the socket is ready until the command is
 * done; one command at a time per connection. The blocking calls above keep
 * working between commands and refuse (EBUSY) while one is in flight.
 *
 *   enigma_db_set_async(db, 1, err);
 *   enigma_db_send_execute(db, stmt, n, values, NULL, err);
 *   while ((want = enigma_db_progress(db, &res, err)) > 0)
 *       wait for enigma_db_socket(db): readable, or also writable for WANT_WRITE
 *   enigma_db_set_async(db, 0, err);
 *
 * Results are as enigma_db_execute's and enigma_db_exec_simple's, with the
 * same codes, plus:
 *   EBUSY  a command is already in flight on the connection
 *   EIDLE  enigma_db_progress() with nothing in flight
 */
#define ENIGMA_DB_WANT_READ 1   /* wait until the socket is readable */
#define ENIGMA_DB_WANT_WRITE 2  /* wait until it is writable or readable */

/* The connection's socket, to wait on. */
int enigma_db_socket(enigma_db *db);

/* Puts libpq's sending into non-blocking mode (on) or back (off, which
 * flushes). Leave it off outside a command: the COPY API needs it off.
 * Returns 0, or -1 with `err` filled. */
int enigma_db_set_async(enigma_db *db, int on, enigma_error *err);

/* 1 while a command sent by the functions below has not been collected. */
int enigma_db_busy(const enigma_db *db);

/* The cached statement for `sql` (valid as enigma_db_prepare's result is),
 * or NULL when it has not been prepared: never talks to the server. */
const enigma_db_stmt *enigma_db_cached(enigma_db *db, const char *sql);

/*
 * Sends the preparation of `sql`, as enigma_db_prepare does it (deallocating
 * evicted statements first, then PREPARE, then DESCRIBE for the parameter
 * types; enigma_db_progress() chains the steps). When progress() reports
 * done the statement is in the cache: enigma_db_cached(). Sends nothing when
 * it is cached already. Returns 0, or -1 with `err` filled.
 */
int enigma_db_send_prepare(enigma_db *db, const char *sql, enigma_error *err);

/* Sends the execution of a prepared statement; libpq copies `values`, so
 * the caller may wipe them as soon as this returns. 0, or -1 (EPARAMS for a
 * wrong parameter count). */
int enigma_db_send_execute(enigma_db *db, const enigma_db_stmt *stmt, int nparams,
                           const char *const *values, const int *lengths, enigma_error *err);

/* Sends `sql` through the simple query protocol (several statements, no
 * parameters). 0, or -1. */
int enigma_db_send_simple(enigma_db *db, const char *sql, enigma_error *err);

/*
 * Moves the command in flight on: sends what is queued, reads what arrived,
 * and sends the next step of a preparation. Returns ENIGMA_DB_WANT_READ or
 * ENIGMA_DB_WANT_WRITE while it waits on the server; 0 when done, with *res
 * the command's result (TUPLES_OK or COMMAND_OK, the caller PQclear()s it;
 * NULL for a preparation); -1 with `err` filled when the command failed, after
 * which the connection is idle again and usable (unless the code is 08006).
 */
int enigma_db_progress(enigma_db *db, PGresult **res, enigma_error *err);

/* Forgets every cached statement without deallocating it: for after the session's
 * statements were dropped on the server (DEALLOCATE ALL), so none is run by a name
 * someone else may have prepared again. */
void enigma_db_forget_statements(enigma_db *db);

/* 1 when `err`, from executing `sql`, means its cached plan went stale (the
 * schema changed) and no transaction is open: the statement has been dropped
 * from the cache, so prepare and execute it again, once. Else 0. */
int enigma_db_retry_stale(enigma_db *db, const char *sql, const enigma_error *err);

/* Asks the server to cancel the statement it is running (a new connection
 * to the server, so it waits for that). The statement then fails with 57014.
 * 0 when the request was sent (the statement may have finished already), or
 * -1 with `err` filled. */
int enigma_db_cancel(enigma_db *db, enigma_error *err);

/* Gives up on the command in flight, if any: cancels it, waits for its end
 * (blocking) and forgets it, so the connection is idle. 0, or -1 when the
 * connection is lost. enigma_db_close() needs none of this. */
int enigma_db_abandon(enigma_db *db, enigma_error *err);

#endif
