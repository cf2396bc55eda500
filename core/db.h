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
 * Opens a connection. `url` is a libpq connection string or URI; when NULL
 * the first of these wins: $ENIGMA_DATABASE_URL, $DATABASE_URL, libpq's own
 * PG* variables (when PGHOST, PGDATABASE or PGSERVICE is set), and otherwise
 * the embedded cluster under $ENIGMA_HOME, started on demand.
 * Returns a connection the caller closes with enigma_db_close(), or NULL.
 */
enigma_db *enigma_db_connect(const char *url, enigma_error *err);

/* Closes the connection and frees everything it owns. NULL is a no-op. */
void enigma_db_close(enigma_db *db);

/*
 * Writes the default connection string into buf, by the rule
 * enigma_db_connect(NULL) follows; "" means libpq's own PG* variables. For
 * the embedded cluster it starts the server first. Returns 0, or -1.
 */
int enigma_db_default_conninfo(char *buf, size_t size, enigma_error *err);

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
PGresult *enigma_db_execute(enigma_db *db, const char *sql, int nparams,
                            const char *const *values, const int *lengths,
                            enigma_error *err);

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

#endif
