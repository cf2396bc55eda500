/*
 * enigma.db: the Lua face of core/db.
 *
 *   local db = enigma.db.connect([url])       -- or nil, message, code
 *   db:query(sql, ...)   --> rows (rows[i].column, rows.columns) | nil, message, sqlstate
 *                            (rows.columns is shared by the results of one
 *                            statement: read it, do not change it)
 *   db:exec(sql, ...)    --> affected row count                   | nil, message, sqlstate
 *   db:transaction(fn)   --> fn's results; rollback and re-raise on error
 *   db:as_user(claims, fn)
 *   db:copy(sql, function(put) put(a, b, ...) end) --> rows stored
 *   db:run_script(sql)   --> true: several statements, no parameters
 *   db:in_transaction()  --> whether a transaction is open on the connection
 *   db:close()
 *
 * Misuse (bad arguments, a closed connection, a wrong parameter count)
 * raises. A failure the server reports returns nil, message, sqlstate -- or,
 * inside transaction() or as_user(), raises an enigma.db.error
 * ({ message = , sqlstate = }) so that the transaction rolls back.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/binding.h"
#include "core/db.h"

#define CONN_MT "enigma.db.conn"
#define ERROR_MT "enigma.db.error"

typedef struct conn {
    enigma_db *db;       /* NULL once closed */
    int depth;           /* open transaction() / as_user() levels */
    PGresult *converting; /* the result being turned into Lua values: if that
                             raises, the next call (or close) frees it */
    int ncached;         /* statements in the column-name cache */
} conn;

/* Distinct statements whose column names a connection keeps. */
#define COLUMN_CACHE_MAX 256

/* Most statements have few parameters: their text pointers stay on the C stack. */
#define STACK_PARAMS 32

static conn *check_conn(lua_State *L, int idx)
{
    conn *c = luaL_checkudata(L, idx, CONN_MT);

    if (c->db == NULL)
        luaL_error(L, "attempt to use a closed database connection");
    if (c->converting != NULL) {
        PQclear(c->converting);
        c->converting = NULL;
    }
    return c;
}

/* --- failures -------------------------------------------------------------------- */

static void push_error_object(lua_State *L, const enigma_error *err)
{
    lua_createtable(L, 0, 2);
    lua_pushstring(L, err->message);
    lua_setfield(L, -2, "message");
    lua_pushstring(L, err->code);
    lua_setfield(L, -2, "sqlstate");
    luaL_setmetatable(L, ERROR_MT);
}

/* Returns nil, message, code -- or raises, inside a transaction. */
static int fail(lua_State *L, conn *c, const enigma_error *err)
{
    if (c != NULL && c->depth > 0) {
        push_error_object(L, err);
        return lua_error(L);
    }
    luaL_pushfail(L);
    lua_pushstring(L, err->message);
    lua_pushstring(L, err->code);
    return 3;
}

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "sqlstate");
    lua_pushfstring(L, "%s (SQLSTATE %s)", luaL_optstring(L, -2, "?"), luaL_optstring(L, -1, "?"));
    return 1;
}

/*
 * The column-name table of a statement's results, from the connection's
 * cache (uservalue 1: sql -> names) when the result still has those
 * columns, else made and cached. Pushes it.
 */
static void push_columns(lua_State *L, conn *c, int connidx, int sqlidx, const PGresult *res)
{
    int ncols = PQnfields(res), j, fresh = 0;

    lua_getiuservalue(L, connidx, 1);
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
            lua_setiuservalue(L, connidx, 1);
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
static void push_rows(lua_State *L, conn *c, int connidx, int sqlidx, const PGresult *res)
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
 * Runs sql (at `sqlidx`) with the Lua values from `first` to the top as
 * parameters. Returns the result, or NULL with err filled.
 */
static PGresult *run(lua_State *L, conn *c, int sqlidx, int first, enigma_error *err)
{
    const char *sql = luaL_checkstring(L, sqlidx);
    int nparams = lua_gettop(L) - first + 1, i, base, texts, secrets = 0;
    const char *stack_values[STACK_PARAMS];
    const enigma_db_stmt *stmt;
    const char **values;
    PGresult *res;

    if (nparams < 0)
        nparams = 0;
    stmt = enigma_db_prepare(c->db, sql, err);
    if (stmt == NULL)
        return NULL;
    if (nparams != enigma_db_stmt_nparams(stmt)) {
        int want = enigma_db_stmt_nparams(stmt);

        luaL_error(L, "the statement takes %d parameter%s but %d %s given", want,
                   want == 1 ? "" : "s", nparams, nparams == 1 ? "was" : "were");
    }
    luaL_checkstack(L, nparams + 4, "too many query parameters");
    base = lua_gettop(L);
    values = nparams <= STACK_PARAMS ? stack_values
                                     : lua_newuserdatauv(L, sizeof *values * (size_t)nparams, 0);
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
    res = enigma_db_execute(c->db, sql, nparams, values, NULL, err);
    for (i = 0; secrets && i < nparams; i++)
        enigma_lua_secret_text_wipe(L, texts + i);
    lua_settop(L, base);
    return res;
}

static int conn_query(lua_State *L)
{
    conn *c = check_conn(L, 1);
    enigma_error err;
    PGresult *res = run(L, c, 2, 3, &err);

    if (res == NULL)
        return fail(L, c, &err);
    c->converting = res;
    push_rows(L, c, 1, 2, res);
    c->converting = NULL;
    PQclear(res);
    return 1;
}

static int conn_exec(lua_State *L)
{
    conn *c = check_conn(L, 1);
    enigma_error err;
    PGresult *res = run(L, c, 2, 3, &err);
    const char *n;

    if (res == NULL)
        return fail(L, c, &err);
    n = PQcmdTuples(res);
    lua_pushinteger(L, *n ? (lua_Integer)strtoll(n, NULL, 10) : 0);
    PQclear(res);
    return 1;
}

/* Runs a statement we wrote ourselves (BEGIN, SAVEPOINT ...). */
static int run_simple(conn *c, const char *sql, enigma_error *err)
{
    PGresult *res = enigma_db_exec_simple(c->db, sql, err);

    if (res == NULL)
        return -1;
    PQclear(res);
    return 0;
}

/* db:run_script(sql): several statements, no parameters (a demo-data file). */
static int conn_run_script(lua_State *L)
{
    conn *c = check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    enigma_error err;

    if (run_simple(c, sql, &err) < 0)
        return fail(L, c, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* --- transactions ----------------------------------------------------------------- */

static int end_level(conn *c, int level, int commit, enigma_error *err)
{
    char sql[128];

    if (commit)
        snprintf(sql, sizeof sql, level == 1 ? "COMMIT" : "RELEASE SAVEPOINT enigma_%d", level);
    else if (level == 1)
        snprintf(sql, sizeof sql, "ROLLBACK");
    else
        snprintf(sql, sizeof sql, "ROLLBACK TO SAVEPOINT enigma_%d; RELEASE SAVEPOINT enigma_%d",
                 level, level);
    return run_simple(c, sql, err);
}

/*
 * Opens a transaction level (BEGIN, or a savepoint when nested), calls the
 * function at `fn` with the connection, then commits or rolls back. Returns
 * the function's results; its error is re-raised, unchanged, after the
 * rollback. A statement that failed inside fn while fn caught the error
 * still dooms the level: it is rolled back and an error raised.
 */
static int in_transaction(lua_State *L, conn *c, int fn)
{
    char sql[128];
    enigma_error err;
    int level = c->depth + 1, base, status;

    snprintf(sql, sizeof sql, level == 1 ? "BEGIN" : "SAVEPOINT enigma_%d", level);
    if (run_simple(c, sql, &err) < 0) {
        push_error_object(L, &err);
        return lua_error(L);
    }
    c->depth = level;
    base = lua_gettop(L);
    lua_pushvalue(L, fn);
    lua_pushvalue(L, 1);
    status = lua_pcall(L, 1, LUA_MULTRET, 0);
    c->depth = level - 1;
    if (c->db == NULL)                   /* closed inside fn: the server rolled back */
        return status == LUA_OK ? lua_gettop(L) - base : lua_error(L);

    if (status == LUA_OK && PQtransactionStatus(enigma_db_pgconn(c->db)) == PQTRANS_INERROR) {
        end_level(c, level, 0, &err);
        return luaL_error(L, "the transaction was rolled back: a statement in it failed "
                             "and the error was caught inside the function");
    }
    if (status != LUA_OK) {
        end_level(c, level, 0, &err);
        return lua_error(L);             /* the function's own error */
    }
    if (end_level(c, level, 1, &err) < 0) {
        enigma_error ignored;

        if (level > 1)
            end_level(c, level, 0, &ignored);
        else if (PQtransactionStatus(enigma_db_pgconn(c->db)) != PQTRANS_IDLE)
            run_simple(c, "ROLLBACK", &ignored);
        push_error_object(L, &err);
        return lua_error(L);
    }
    return lua_gettop(L) - base;
}

static int conn_transaction(lua_State *L)
{
    conn *c = check_conn(L, 1);

    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    return in_transaction(L, c, 2);
}

/* --- as_user ----------------------------------------------------------------------- */

static const char set_identity_sql[] =
    "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true)";

static void set_identity(lua_State *L, conn *c, const char *role, const char *claims)
{
    const char *values[2] = {role, claims};
    enigma_error err;
    PGresult *res = enigma_db_execute(c->db, set_identity_sql, 2, values, NULL, &err);

    if (res == NULL) {
        push_error_object(L, &err);
        lua_error(L);
    }
    PQclear(res);
}

/* The body of as_user, run inside in_transaction: upvalues role, claims, fn. */
static int as_user_body(lua_State *L)
{
    conn *c = check_conn(L, 1);
    int nested = c->depth > 1, base, nres;

    if (nested) {       /* an enclosing transaction keeps its own identity afterwards */
        enigma_error err;
        PGresult *res = enigma_db_execute(c->db,
            "select current_setting('role'), current_setting('request.jwt.claims', true)",
            0, NULL, NULL, &err);

        if (res == NULL) {
            push_error_object(L, &err);
            return lua_error(L);
        }
        lua_pushstring(L, PQgetvalue(res, 0, 0));
        lua_pushstring(L, PQgetisnull(res, 0, 1) ? "" : PQgetvalue(res, 0, 1));
        PQclear(res);
    }
    set_identity(L, c, lua_tostring(L, lua_upvalueindex(1)), lua_tostring(L, lua_upvalueindex(2)));
    base = lua_gettop(L);
    lua_pushvalue(L, lua_upvalueindex(3));
    lua_pushvalue(L, 1);
    lua_call(L, 1, LUA_MULTRET);
    nres = lua_gettop(L) - base;
    if (nested)
        set_identity(L, c, lua_tostring(L, base - 1), lua_tostring(L, base));
    return nres;
}

static int conn_as_user(lua_State *L)
{
    static const char *const roles[] = {"authenticated", "anon", "service_role", NULL};
    conn *c = check_conn(L, 1);
    const char *role = "authenticated";
    int i;

    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_settop(L, 3);
    if (lua_getfield(L, 2, "role") != LUA_TNIL) {
        role = lua_tostring(L, -1);
        for (i = 0; roles[i] != NULL && (role == NULL || strcmp(role, roles[i]) != 0); i++)
            ;
        if (roles[i] == NULL)
            return luaL_argerror(L, 2, "claims.role must be 'authenticated', 'anon' or 'service_role'");
    }
    lua_pop(L, 1);
    lua_pushstring(L, role);
    enigma_lua_json_encode(L, 2);
    lua_pushvalue(L, 3);
    lua_pushcclosure(L, as_user_body, 3);
    return in_transaction(L, c, 4);
}

/* --- COPY FROM STDIN ------------------------------------------------------------------ */

static void copy_put(lua_State *L, conn *c, const char *data, size_t len)
{
    enigma_error err;

    if (enigma_db_copy_put(c->db, data, len, &err) < 0) {
        push_error_object(L, &err);
        lua_error(L);
    }
}

/* Writes `s` with COPY text-format escapes, in runs between special bytes. */
static void copy_put_escaped(lua_State *L, conn *c, const char *s, size_t len)
{
    size_t start = 0, i;
    char esc[2] = {'\\', 0};

    for (i = 0; i < len; i++) {
        switch (s[i]) {
        case '\\': esc[1] = '\\'; break;
        case '\t': esc[1] = 't'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        default: continue;
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
    conn *c = check_conn(L, lua_upvalueindex(1));
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
                return luaL_argerror(L, i, lua_pushfstring(L, "a %s cannot be copied",
                                                           luaL_typename(L, i)));
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
    conn *c = check_conn(L, 1);
    const char *sql = luaL_checkstring(L, 2);
    enigma_error err;
    long long rows;

    luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_settop(L, 3);
    if (enigma_db_copy_begin(c->db, sql, &err) < 0)
        return fail(L, c, &err);
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
        return fail(L, c, &err);
    lua_pushinteger(L, (lua_Integer)rows);
    return 1;
}

/* --- the connection's life ------------------------------------------------------------ */

static int conn_close(lua_State *L)
{
    conn *c = luaL_checkudata(L, 1, CONN_MT);

    PQclear(c->converting);
    c->converting = NULL;
    enigma_db_close(c->db);
    c->db = NULL;
    c->depth = 0;
    return 0;
}

static int conn_tostring(lua_State *L)
{
    conn *c = luaL_checkudata(L, 1, CONN_MT);

    if (c->db == NULL)
        lua_pushliteral(L, "enigma.db.conn (closed)");
    else
        lua_pushfstring(L, "enigma.db.conn (%p)", (void *)c);
    return 1;
}

static int conn_in_transaction(lua_State *L)
{
    conn *c = check_conn(L, 1);

    lua_pushboolean(L, PQtransactionStatus(enigma_db_pgconn(c->db)) != PQTRANS_IDLE);
    return 1;
}

static int db_connect(lua_State *L)
{
    const char *url = luaL_optstring(L, 1, NULL);
    conn *c;
    enigma_error err;

    /* Made closed first, so a failure below leaves nothing half-open. */
    c = lua_newuserdatauv(L, sizeof *c, 1);
    c->db = NULL;
    c->depth = 0;
    c->converting = NULL;
    c->ncached = 0;
    lua_newtable(L);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, CONN_MT);
    c->db = enigma_db_connect(url, &err);
    if (c->db == NULL)
        return fail(L, NULL, &err);
    return 1;
}

static const luaL_Reg conn_methods[] = {
    {"query", conn_query},
    {"exec", conn_exec},
    {"transaction", conn_transaction},
    {"as_user", conn_as_user},
    {"copy", conn_copy},
    {"run_script", conn_run_script},
    {"in_transaction", conn_in_transaction},
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

static const luaL_Reg db_functions[] = {
    {"connect", db_connect},
    {NULL, NULL}
};

int luaopen_enigma_db(lua_State *L)
{
    luaL_newmetatable(L, CONN_MT);
    luaL_setfuncs(L, conn_meta, 0);
    luaL_newlib(L, conn_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newmetatable(L, ERROR_MT);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

    luaL_newlib(L, db_functions);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
