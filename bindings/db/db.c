/*
 * enigma.db: the Lua face of core/db.
 *
 *   local db = enigma.db.connect([url])       -- or nil, message, code
 *   db:query(sql, ...)   --> rows (rows[i].column, rows.columns) | nil, message, sqlstate
 *                            (rows.columns is shared by the results of one
 *                            statement: read it, do not change it)
 *   db:exec(sql, ...)    --> affected row count                   | nil, message, sqlstate
 *   db:transaction(fn)   --> fn's results; rollback and re-raise on error
 *   db:as_user(claims, fn) -- anon/authenticated: fn runs on the gateway
 *                            connection beside this one (db_transaction.c)
 *   db:copy(sql, function(put) put(a, b, ...) end) --> rows stored
 *   db:run_script(sql)   --> true: several statements, no parameters
 *   db:in_transaction()  --> whether a transaction is open on the connection
 *   db:transaction_status() --> "idle", "active", "intrans", "inerror" or "unknown"
 *   db:listen(channel, fn) --> true: fn(channel, payload, pid) for each NOTIFY
 *   db:unlisten(channel) --> true
 *   db:wait([seconds])   --> how many notifications were handed to their fn
 *                            (0 when the time passed first)  | nil, message, sqlstate
 *   db:cancel()          --> true | false, message: cancels the running statement
 *   db:socket()          --> the connection's file descriptor
 *   db:close()
 *
 * In a task run by an event loop (a coroutine with a waiter, binding.h)
 * query, exec, run_script, transaction, as_user, listen, unlisten and wait
 * do not block the thread: they send, then yield until the server answers,
 * so other tasks run meanwhile. Only db:copy still blocks. One command at a
 * time per connection: another task using it meanwhile gets an error.
 *
 * Misuse (bad arguments, a closed connection, a wrong parameter count)
 * raises. A failure the server reports returns nil, message, sqlstate -- or,
 * inside transaction() or as_user(), raises an enigma.error (bindings/error.c:
 * message, code = the SQLSTATE, detail, hint, position) so that the
 * transaction rolls back.
 *
 * This file has the handle, its statements, COPY and luaopen_enigma_db; how a
 * call waits for the server is in db_async.c, transaction() and as_user() in
 * db_transaction.c, listen(), unlisten() and wait() in db_listen.c. What they
 * share is in db_private.h.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/binding.h"
#include "db_private.h"
#include "core/db.h"

/* Distinct statements whose column names a connection keeps. */
#define COLUMN_CACHE_MAX 256

/* Most statements have few parameters: their text pointers stay on the C stack. */
#define STACK_PARAMS 32

/*
 * A command is in flight for another coroutine. If that coroutine is still
 * waiting for it, raise; if it is gone (finished, closed, collected), nobody
 * will collect the result: give the command up so the connection is usable.
 */
static void check_not_busy(lua_State *L, enigma_luadb_conn *c, int idx)
{
    lua_State *owner;
    enigma_error err;

    lua_getiuservalue(L, idx, ENIGMA_LUADB_UV_OWNER);
    lua_rawgeti(L, -1, 1);
    owner = lua_tothread(L, -1);
    lua_pop(L, 2);
    if (owner != NULL && lua_status(owner) == LUA_YIELD)
        luaL_error(L, "the connection is busy with another query; "
                      "use one connection per task");
    enigma_db_abandon(c->db, &err);
    enigma_db_set_async(c->db, 0, &err);
}

struct pg_cancel *enigma_lua_db_canceller(lua_State *L, int idx)
{
    enigma_luadb_conn *c = luaL_testudata(L, idx, ENIGMA_LUADB_CONN_MT);

    return c != NULL && c->db != NULL ? PQgetCancel(enigma_db_pgconn(c->db)) : NULL;
}

enigma_luadb_conn *enigma_luadb_check_conn(lua_State *L, int idx)
{
    enigma_luadb_conn *c = luaL_checkudata(L, idx, ENIGMA_LUADB_CONN_MT);

    if (c->db == NULL)
        luaL_error(L, "attempt to use a closed database connection");
    if (enigma_db_busy(c->db))
        check_not_busy(L, c, idx);
    if (c->converting != NULL) {
        PQclear(c->converting);
        c->converting = NULL;
    }
    return c;
}

/* --- failures -------------------------------------------------------------------- */

/* The error object for err; a server error that points into the statement
 * gets the statement's text (argument 2 of query, exec, copy) as `query`. */
static void push_error(lua_State *L, const enigma_error *err)
{
    enigma_lua_error_push(L, err);
    if (err->position > 0 && lua_type(L, 2) == LUA_TSTRING) {
        lua_pushvalue(L, 2);
        lua_setfield(L, -2, "query");
    }
}

/* Returns nil, message, code, the error object -- or raises it, inside a transaction. */
int enigma_luadb_fail(lua_State *L, enigma_luadb_conn *c, const enigma_error *err)
{
    push_error(L, err);
    return enigma_luadb_fail_object(L, c);
}

/* Like enigma_luadb_fail(), from the error object at the top of the stack. */
int enigma_luadb_fail_object(lua_State *L, enigma_luadb_conn *c)
{
    if (c != NULL && c->depth > 0)
        return lua_error(L);
    luaL_pushfail(L);
    lua_getfield(L, -2, "message");
    lua_getfield(L, -3, "code");
    lua_rotate(L, -4, -1); /* nil, message, code, object */
    return 4;
}

/*
 * The column-name table of a statement's results, from the connection's
 * cache (uservalue 1: sql -> names) when the result still has those
 * columns, else made and cached. Pushes it.
 */
static void push_columns(lua_State *L, enigma_luadb_conn *c, int connidx, int sqlidx,
                         const PGresult *res)
{
    int ncols = PQnfields(res), j, fresh = 0;

    lua_getiuservalue(L, connidx, ENIGMA_LUADB_UV_COLUMNS);
    lua_pushvalue(L, sqlidx);
    if (lua_rawget(L, -2) == LUA_TTABLE && (int)lua_rawlen(L, -1) == ncols) {
        for (j = 0; j < ncols && !fresh; j++) {
            lua_rawgeti(L, -1, j + 1);
            fresh = strcmp(lua_tostring(L, -1), PQfname(res, j)) != 0;
            lua_pop(L, 1);
        }
    } else {
        fresh = 1;
    }
    if (fresh) {
        lua_pop(L, 1);
        if (++c->ncached > COLUMN_CACHE_MAX) {   /* dynamic SQL: start over */
            lua_newtable(L);
            lua_replace(L, -2);
            lua_pushvalue(L, -1);
            lua_setiuservalue(L, connidx, ENIGMA_LUADB_UV_COLUMNS);
            c->ncached = 1;
        }
        lua_createtable(L, ncols, 0);
        for (j = 0; j < ncols; j++) {
            lua_pushstring(L, PQfname(res, j));
            lua_rawseti(L, -2, j + 1);
        }
        lua_pushvalue(L, sqlidx);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
    lua_remove(L, -2);
}

/* rows = { {col = value, ...}, ..., columns = {"col", ...} } */
static void push_rows(lua_State *L, enigma_luadb_conn *c, int connidx, int sqlidx,
                      const PGresult *res)
{
    int nrows = PQntuples(res), ncols = PQnfields(res), i, j;
    int rows, names;

    luaL_checkstack(L, ncols + 8, "too many result columns");
    lua_createtable(L, nrows, 1);
    rows = lua_gettop(L);
    push_columns(L, c, connidx, sqlidx, res);
    lua_pushvalue(L, -1);
    lua_setfield(L, rows, "columns");
    names = lua_gettop(L) + 1;          /* the names themselves, on the stack */
    for (j = 0; j < ncols; j++)
        lua_rawgeti(L, names - 1, j + 1);
    for (i = 0; i < nrows; i++) {
        lua_createtable(L, 0, ncols);
        for (j = 0; j < ncols; j++) {
            lua_pushvalue(L, names + j);
            if (PQgetisnull(res, i, j))
                lua_pushlightuserdata(L, NULL);
            else
                enigma_lua_push_pgvalue(L, PQftype(res, j), PQgetvalue(res, i, j),
                                        (size_t)PQgetlength(res, i, j));
            lua_rawset(L, -3);
        }
        lua_rawseti(L, rows, i + 1);
    }
    lua_settop(L, rows);
}

/* --- running statements ------------------------------------------------------------- */

/*
 * Pushes the text of each parameter from `first` on, for `stmt`'s types, into
 * values[] (values live as long as the pushed texts). Raises on a wrong
 * count. Returns whether one is a secret the caller must wipe after sending.
 */
static int push_texts(lua_State *L, const enigma_db_stmt *stmt, int first, int nparams,
                      const char **values)
{
    int i, texts, secrets = 0;

    if (nparams != enigma_db_stmt_nparams(stmt)) {
        int want = enigma_db_stmt_nparams(stmt);

        luaL_error(L, "the statement takes %d parameter%s but %d %s given", want,
                   want == 1 ? "" : "s", nparams, nparams == 1 ? "was" : "were");
    }
    texts = lua_gettop(L) + 1;
    for (i = 0; i < nparams; i++) {
        enigma_lua_push_param(L, first + i, first + i, enigma_db_stmt_paramtype(stmt, i));
        if (lua_type(L, texts + i) == LUA_TUSERDATA) {
            values[i] = enigma_lua_secret_text(L, texts + i); /* a private key's hex */
            secrets = 1;
        } else {
            values[i] = lua_tostring(L, texts + i); /* NULL for nil: SQL NULL */
        }
    }
    return secrets;
}

static void wipe_texts(lua_State *L, int texts, int nparams)
{
    int i;

    for (i = 0; i < nparams; i++)
        enigma_lua_secret_text_wipe(L, texts + i);
}

/* Room for the parameters' text pointers: on the C stack when few. */
static const char **param_values(lua_State *L, int nparams, const char **on_stack)
{
    luaL_checkstack(L, nparams + 4, "too many query parameters");
    return nparams <= STACK_PARAMS ? on_stack
                                   : lua_newuserdatauv(L, sizeof(char *) * (size_t)nparams, 0);
}

/*
 * Runs sql (at `sqlidx`) with the Lua values from `first` to the top as
 * parameters, blocking. Returns the result, or NULL with err filled.
 */
static PGresult *run(lua_State *L, enigma_luadb_conn *c, int sqlidx, int first, enigma_error *err)
{
    const char *sql = luaL_checkstring(L, sqlidx);
    int nparams = lua_gettop(L) - first + 1, base, secrets;
    const char *stack_values[STACK_PARAMS];
    const enigma_db_stmt *stmt;
    const char **values;
    PGresult *res;

    if (nparams < 0)
        nparams = 0;
    stmt = enigma_db_prepare(c->db, sql, err);
    if (stmt == NULL)
        return NULL;
    base = lua_gettop(L);
    values = param_values(L, nparams, stack_values);
    secrets = push_texts(L, stmt, first, nparams, values);
    res = enigma_db_execute(c->db, sql, nparams, values, NULL, err);
    if (secrets)
        wipe_texts(L, lua_gettop(L) - nparams + 1, nparams);
    lua_settop(L, base);
    return res;
}

/* What query() and exec() return for a result (freed here). */
static int run_result(lua_State *L, enigma_luadb_conn *c, int exec, PGresult *res)
{
    const char *n;

    if (exec) {
        n = PQcmdTuples(res);
        lua_pushinteger(L, *n ? (lua_Integer)strtoll(n, NULL, 10) : 0);
        PQclear(res);
        return 1;
    }
    c->converting = res;
    push_rows(L, c, 1, 2, res);
    c->converting = NULL;
    PQclear(res);
    return 1;
}

/* ctx of query() and exec() in a task. */
#define RUN_EXEC 1           /* exec(), not query() */
#define RUN_EXECUTING 2      /* the statement was sent, not its preparation */
#define RUN_RETRIED 4        /* a stale plan was prepared again already */

static int run_send(lua_State *L, enigma_luadb_conn *c, lua_KContext ctx);

static int run_k(lua_State *L, int status, lua_KContext ctx)
{
    enigma_luadb_conn *c = enigma_luadb_resumed_conn(L, status);
    enigma_error err;
    PGresult *res;

    if (enigma_luadb_await_command(L, c, &res, &err, ctx, run_k) < 0) {
        if ((ctx & (RUN_EXECUTING | RUN_RETRIED)) == RUN_EXECUTING &&
            enigma_db_retry_stale(c->db, lua_tostring(L, 2), &err))
            return run_send(L, c, (ctx & RUN_EXEC) | RUN_RETRIED);
        return enigma_luadb_fail(L, c, &err);
    }
    if (!(ctx & RUN_EXECUTING))         /* prepared: now run it */
        return run_send(L, c, ctx);
    return run_result(L, c, ctx & RUN_EXEC, res);
}

/* Sends the statement (at 2, parameters from 3 on) -- or first its preparation
 * when it is not cached -- and waits for it in run_k. */
static int run_send(lua_State *L, enigma_luadb_conn *c, lua_KContext ctx)
{
    const char *sql = lua_tostring(L, 2);
    int nparams = lua_gettop(L) - 2, base = lua_gettop(L), secrets, sent;
    const char *stack_values[STACK_PARAMS];
    const enigma_db_stmt *stmt = enigma_db_cached(c->db, sql);
    const char **values;
    enigma_error err;

    if (stmt == NULL) {
        if (enigma_luadb_begin_async(L, c, &err) < 0)
            return enigma_luadb_fail(L, c, &err);
        if (enigma_db_send_prepare(c->db, sql, &err) < 0) {
            enigma_luadb_end_async(c);
            return enigma_luadb_fail(L, c, &err);
        }
        return run_k(L, LUA_OK, ctx & ~RUN_EXECUTING);
    }
    values = param_values(L, nparams, stack_values);
    secrets = push_texts(L, stmt, 3, nparams, values);
    sent = enigma_luadb_begin_async(L, c, &err) == 0
               ? enigma_db_send_execute(c->db, stmt, nparams, values, NULL, &err)
               : -1;
    if (secrets)                        /* libpq holds its own copy now */
        wipe_texts(L, lua_gettop(L) - nparams + 1, nparams);
    lua_settop(L, base);
    if (sent < 0) {
        enigma_luadb_end_async(c);
        return enigma_luadb_fail(L, c, &err);
    }
    return run_k(L, LUA_OK, ctx | RUN_EXECUTING);
}

static int query_or_exec(lua_State *L, int exec)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);
    enigma_error err;
    PGresult *res;

    luaL_checkstring(L, 2);
    if (enigma_luadb_in_task(L))
        return run_send(L, c, exec ? RUN_EXEC : 0);
    res = run(L, c, 2, 3, &err);
    if (res == NULL)
        return enigma_luadb_fail(L, c, &err);
    return run_result(L, c, exec, res);
}

int enigma_luadb_query(lua_State *L)
{
    return query_or_exec(L, 0);
}

int enigma_luadb_exec(lua_State *L)
{
    return query_or_exec(L, 1);
}

/* ctx of the simple-protocol calls. */
#define SIMPLE_SCRIPT 0      /* db:run_script: true | nil, message, code */
#define SIMPLE_OWN 1         /* our own statement: true | false, error object */

static int simple_done(lua_State *L, enigma_luadb_conn *c, lua_KContext ctx, PGresult *res,
                       const enigma_error *err)
{
    if (res == NULL && ctx == SIMPLE_OWN) {
        lua_pushboolean(L, 0);
        enigma_lua_error_push(L, err);
        return 2;
    }
    if (res == NULL)
        return enigma_luadb_fail(L, c, err);
    PQclear(res);
    lua_pushboolean(L, 1);
    return 1;
}

static int simple_k(lua_State *L, int status, lua_KContext ctx)
{
    enigma_luadb_conn *c = enigma_luadb_resumed_conn(L, status);
    enigma_error err;
    PGresult *res;

    if (enigma_luadb_await_command(L, c, &res, &err, ctx, simple_k) < 0)
        res = NULL;
    return simple_done(L, c, ctx, res, &err);
}

/* Runs the sql at 2 through the simple query protocol, waiting as the
 * caller can: yielding in a task, blocking elsewhere. */
static int run_simple_at(lua_State *L, enigma_luadb_conn *c, lua_KContext ctx)
{
    const char *sql = lua_tostring(L, 2);
    enigma_error err;

    if (!enigma_luadb_in_task(L))
        return simple_done(L, c, ctx, enigma_db_exec_simple(c->db, sql, &err), &err);
    if (enigma_luadb_begin_async(L, c, &err) < 0)
        return simple_done(L, c, ctx, NULL, &err);
    if (enigma_db_send_simple(c->db, sql, &err) < 0) {
        enigma_luadb_end_async(c);
        return simple_done(L, c, ctx, NULL, &err);
    }
    return simple_k(L, LUA_OK, ctx);
}

/* db:run_script(sql): several statements, no parameters (a demo-data file). */
static int conn_run_script(lua_State *L)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);

    luaL_checkstring(L, 2);
    lua_settop(L, 2);
    return run_simple_at(L, c, SIMPLE_SCRIPT);
}

/* own_statement(conn, sql) --> true | false, error object: a statement we
 * wrote ourselves (BEGIN, SAVEPOINT ...), called through lua_callk so that
 * it can yield in a task. Never raises for the server's errors. */
static int own_statement(lua_State *L)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);

    lua_settop(L, 2);
    return run_simple_at(L, c, SIMPLE_OWN);
}

/* Calls own_statement(conn, sql) for its two results, then k(ctx). */
int enigma_luadb_call_own_statement(lua_State *L, const char *sql, lua_KContext ctx,
                                    lua_KFunction k)
{
    lua_pushcfunction(L, own_statement);
    lua_pushvalue(L, 1);
    lua_pushstring(L, sql);
    lua_callk(L, 2, 2, ctx, k);
    return k(L, LUA_OK, ctx);
}

/* --- COPY FROM STDIN ------------------------------------------------------------------ */

static void copy_put(lua_State *L, enigma_luadb_conn *c, const char *data, size_t len)
{
    enigma_error err;

    if (enigma_db_copy_put(c->db, data, len, &err) < 0) {
        enigma_lua_error_push(L, &err);
        lua_error(L);
    }
}

/* Writes `s` with COPY text-format escapes, in runs between special bytes. */
static void copy_put_escaped(lua_State *L, enigma_luadb_conn *c, const char *s, size_t len)
{
    size_t start = 0, i;
    char esc[2] = {'\\', 0};

    for (i = 0; i < len; i++) {
        switch (s[i]) {
        case '\\':
            esc[1] = '\\';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        default:
            continue;
        }
        copy_put(L, c, s + start, i - start);
        copy_put(L, c, esc, 2);
        start = i + 1;
    }
    copy_put(L, c, s + start, len - start);
}

/* put(v1, v2, ...): one row. Upvalue 1 is the connection. */
static int copy_row(lua_State *L)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, lua_upvalueindex(1));
    int n = lua_gettop(L), i;
    char num[64];
    size_t len;
    const char *s;

    if (!enigma_db_in_copy(c->db))
        return luaL_error(L, "put() called after its COPY ended");
    for (i = 1; i <= n; i++) {
        if (i > 1)
            copy_put(L, c, "\t", 1);
        switch (lua_type(L, i)) {
        case LUA_TNIL:
            copy_put(L, c, "\\N", 2);
            break;
        case LUA_TLIGHTUSERDATA:
            if (lua_touserdata(L, i) != NULL)
                return luaL_argerror(L, i, "a light userdata cannot be copied");
            copy_put(L, c, "\\N", 2);
            break;
        case LUA_TBOOLEAN:
            copy_put(L, c, lua_toboolean(L, i) ? "t" : "f", 1);
            break;
        case LUA_TNUMBER:
            if (lua_isinteger(L, i))
                len = (size_t)snprintf(num, sizeof num, LUA_INTEGER_FMT, lua_tointeger(L, i));
            else
                len = (size_t)snprintf(num, sizeof num, "%.17g", (double)lua_tonumber(L, i));
            copy_put(L, c, num, len);
            break;
        case LUA_TSTRING:
            s = lua_tolstring(L, i, &len);
            copy_put_escaped(L, c, s, len);
            break;
        case LUA_TTABLE:
            enigma_lua_json_encode(L, i);
            s = lua_tolstring(L, -1, &len);
            copy_put_escaped(L, c, s, len);
            lua_pop(L, 1);
            break;
        default:
            if (!enigma_lua_isdecimal(L, i))
                return luaL_argerror(
                    L, i, lua_pushfstring(L, "a %s cannot be copied", luaL_typename(L, i)));
            s = luaL_tolstring(L, i, &len);
            copy_put(L, c, s, len);
            lua_pop(L, 1);
        }
    }
    copy_put(L, c, "\n", 1);
    return 0;
}

static int conn_copy(lua_State *L)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    enigma_error err;
    long long rows;

    luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_settop(L, 3);
    if (enigma_db_copy_begin(c->db, sql, &err) < 0)
        return enigma_luadb_fail(L, c, &err);
    lua_pushvalue(L, 3);
    lua_pushvalue(L, 1);
    lua_pushcclosure(L, copy_row, 1);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        if (c->db != NULL)
            enigma_db_copy_abort(c->db, "the copy function raised an error", &err);
        return lua_error(L);
    }
    rows = enigma_db_copy_end(c->db, &err);
    if (rows < 0)
        return enigma_luadb_fail(L, c, &err);
    lua_pushinteger(L, (lua_Integer)rows);
    return 1;
}

/* db:cancel(): asks the server to cancel the statement in flight (from a task
 * waiting on it, or a blocking one run by another thread). */
static int conn_cancel(lua_State *L)
{
    enigma_luadb_conn *c = luaL_checkudata(L, 1, ENIGMA_LUADB_CONN_MT);
    enigma_error err;

    if (c->db == NULL)
        return luaL_error(L, "attempt to use a closed database connection");
    if (enigma_db_cancel(c->db, &err) < 0) {
        lua_pushboolean(L, 0);
        lua_pushstring(L, err.message);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int conn_socket(lua_State *L)
{
    enigma_luadb_conn *c = luaL_checkudata(L, 1, ENIGMA_LUADB_CONN_MT);

    if (c->db == NULL)
        return luaL_error(L, "attempt to use a closed database connection");
    lua_pushinteger(L, enigma_db_socket(c->db));
    return 1;
}

/* --- the connection's life ------------------------------------------------------------ */

void enigma_luadb_close(lua_State *L, int idx)
{
    enigma_luadb_conn *c = luaL_checkudata(L, idx, ENIGMA_LUADB_CONN_MT);

    PQclear(c->converting);
    c->converting = NULL;
    enigma_db_close(c->db);
    c->db = NULL;
    c->depth = 0;
    if (lua_getiuservalue(L, idx, ENIGMA_LUADB_UV_GATEWAY) == LUA_TUSERDATA)
        enigma_luadb_close(L, lua_gettop(L));
    lua_pop(L, 1);
}

static int conn_close(lua_State *L)
{
    enigma_luadb_close(L, 1);
    return 0;
}

static int conn_tostring(lua_State *L)
{
    enigma_luadb_conn *c = luaL_checkudata(L, 1, ENIGMA_LUADB_CONN_MT);

    if (c->db == NULL)
        lua_pushliteral(L, "enigma.db.conn (closed)");
    else
        lua_pushfstring(L, "enigma.db.conn (%p)", (void *)c);
    return 1;
}

static int conn_in_transaction(lua_State *L)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);

    lua_pushboolean(L, PQtransactionStatus(enigma_db_pgconn(c->db)) != PQTRANS_IDLE);
    return 1;
}

/* db:transaction_status() -> "idle", "active" (a command runs), "intrans", "inerror" (a
 * failed statement: only ROLLBACK works) or "unknown" (the connection is bad). */
static int conn_transaction_status(lua_State *L)
{
    static const char *const names[] = {"idle", "active", "intrans", "inerror", "unknown"};
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);
    PGTransactionStatusType st = PQtransactionStatus(enigma_db_pgconn(c->db));

    lua_pushstring(L, names[(unsigned)st <= PQTRANS_UNKNOWN ? st : PQTRANS_UNKNOWN]);
    return 1;
}

enigma_luadb_conn *enigma_luadb_new_conn(lua_State *L)
{
    enigma_luadb_conn *c = lua_newuserdatauv(L, sizeof *c, ENIGMA_LUADB_NUV);

    c->db = NULL;
    c->depth = 0;
    c->converting = NULL;
    c->ncached = 0;
    c->gateway = 0;
    lua_newtable(L);
    lua_setiuservalue(L, -2, ENIGMA_LUADB_UV_COLUMNS);
    lua_newtable(L);
    lua_setiuservalue(L, -2, ENIGMA_LUADB_UV_HANDLERS);
    lua_newtable(L);                     /* weak, so a waiting task can be collected */
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "v");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_setiuservalue(L, -2, ENIGMA_LUADB_UV_OWNER);
    luaL_setmetatable(L, ENIGMA_LUADB_CONN_MT);
    return c;
}

static int db_connect(lua_State *L)
{
    const char *url = luaL_optstring(L, 1, NULL);
    enigma_luadb_conn *c;
    enigma_error err;

    /* Made closed first, so a failure below leaves nothing half-open. */
    c = enigma_luadb_new_conn(L);
    c->db = enigma_db_connect(url, &err);
    if (c->db == NULL)
        return enigma_luadb_fail(L, NULL, &err);
    return 1;
}

static const luaL_Reg conn_methods[] = {
    {"query", enigma_luadb_query},
    {"exec", enigma_luadb_exec},
    {"transaction", enigma_luadb_transaction},
    {"as_user", enigma_luadb_as_user},
    {"copy", conn_copy},
    {"run_script", conn_run_script},
    {"in_transaction", conn_in_transaction},
    {"transaction_status", conn_transaction_status},
    {"listen", enigma_luadb_listen},
    {"unlisten", enigma_luadb_unlisten},
    {"wait", enigma_luadb_wait},
    {"cancel", conn_cancel},
    {"socket", conn_socket},
    {"close", conn_close},
    {NULL, NULL}
};

static const luaL_Reg conn_meta[] = {
    {"__gc", conn_close},
    {"__close", conn_close},
    {"__tostring", conn_tostring},
    {"__index", NULL},
    {NULL, NULL}
};

/* enigma.db.default_url() -> the URL enigma.db.connect() uses when given none (the runtime's
 * login), or nil,
 * message, code. For the embedded cluster it starts (or creates) the cluster, once: a
 * long-running command resolves it at start-up and reconnects to the URL, so a stopped
 * cluster stays stopped. */
static int db_default_url(lua_State *L)
{
    char url[4096];
    enigma_error err;

    if (enigma_db_default_conninfo(url, sizeof url, ENIGMA_DB_RUNTIME, &err) < 0)
        return enigma_luadb_fail(L, NULL, &err);
    lua_pushstring(L, url);
    return 1;
}

static const luaL_Reg db_functions[] = {
    {"connect", db_connect}, {"default_url", db_default_url}, {NULL, NULL}
};

ENIGMA_EXPORT int luaopen_enigma_db(lua_State *L)
{
    luaL_newmetatable(L, ENIGMA_LUADB_CONN_MT);
    luaL_setfuncs(L, conn_meta, 0);
    luaL_newlib(L, conn_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newlib(L, db_functions);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
