/*
 * enigma.db: db:transaction(fn) and db:as_user(claims, fn) (see db.c).
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "bindings/binding.h"
#include "db_private.h"
#include "core/db.h"

/* --- transactions ----------------------------------------------------------------- */

static const char *level_sql(char *sql, size_t size, int level, int commit)
{
    if (commit)
        snprintf(sql, size, level == 1 ? "COMMIT" : "RELEASE SAVEPOINT enigma_%d", level);
    else if (level == 1)
        snprintf(sql, size, "ROLLBACK");
    else
        snprintf(sql, size, "ROLLBACK TO SAVEPOINT enigma_%d; RELEASE SAVEPOINT enigma_%d", level,
                 level);
    return sql;
}

/*
 * A transaction level goes through these states, each a continuation so that
 * the statements and fn may yield in a task. ctx packs the state, the level
 * and `base`, the stack index of fn (its results follow it).
 */
enum { TX_BEGUN, TX_CALLED, TX_COMMITTED, TX_RAISE, TX_DOOMED };
#define TX_CTX(state, level, base) \
    ((lua_KContext)(state) | (lua_KContext)(level) << 4 | (lua_KContext)(base) << 20)
#define TX_STATE(ctx) ((int)((ctx) & 0xf))
#define TX_LEVEL(ctx) ((int)(((ctx) >> 4) & 0xffff))
#define TX_BASE(ctx) ((int)((ctx) >> 20))

static int tx_k(lua_State *L, int status, lua_KContext ctx);

/* fn has returned (ok) or raised: commit, or roll back and re-raise. */
static int tx_end(lua_State *L, enigma_luadb_conn *c, int ok, int level, int base)
{
    char sql[128];

    c->depth = level - 1;
    if (c->db == NULL)                   /* closed inside fn: the server rolled back */
        return ok ? lua_gettop(L) - base : lua_error(L);
    if (ok && PQtransactionStatus(enigma_db_pgconn(c->db)) == PQTRANS_INERROR)
        return enigma_luadb_call_own_statement(L, level_sql(sql, sizeof sql, level, 0),
                                               TX_CTX(TX_DOOMED, level, base), tx_k);
    if (!ok)                             /* re-raise the function's own error after */
        return enigma_luadb_call_own_statement(L, level_sql(sql, sizeof sql, level, 0),
                                               TX_CTX(TX_RAISE, level, base), tx_k);
    return enigma_luadb_call_own_statement(L, level_sql(sql, sizeof sql, level, 1),
                                           TX_CTX(TX_COMMITTED, level, base), tx_k);
}

/* The commit failed (its error object on top): undo what is left, raise it. */
static int tx_commit_failed(lua_State *L, enigma_luadb_conn *c, int level, int base)
{
    char sql[128];

    if (level > 1)
        return enigma_luadb_call_own_statement(L, level_sql(sql, sizeof sql, level, 0),
                                               TX_CTX(TX_RAISE, level, base), tx_k);
    if (PQtransactionStatus(enigma_db_pgconn(c->db)) != PQTRANS_IDLE)
        return enigma_luadb_call_own_statement(L, "ROLLBACK", TX_CTX(TX_RAISE, level, base), tx_k);
    return lua_error(L);
}

static int tx_k(lua_State *L, int status, lua_KContext ctx)
{
    enigma_luadb_conn *c = luaL_checkudata(L, 1, ENIGMA_LUADB_CONN_MT);
    int level = TX_LEVEL(ctx), base = TX_BASE(ctx);

    switch (TX_STATE(ctx)) {
    case TX_BEGUN:                       /* BEGIN's ok, error object on top */
        if (!lua_toboolean(L, -2))
            return lua_error(L);
        lua_settop(L, base);
        c->depth = level;
        lua_pushvalue(L, base);
        lua_pushvalue(L, 1);
        status = lua_pcallk(L, 1, LUA_MULTRET, 0, TX_CTX(TX_CALLED, level, base), tx_k);
        return tx_end(L, c, status == LUA_OK, level, base);
    case TX_CALLED:                      /* fn yielded, then returned or raised */
        return tx_end(L, c, status == LUA_OK || status == LUA_YIELD, level, base);
    case TX_COMMITTED:                   /* fn's results, then the commit's ok and error */
        if (lua_toboolean(L, -2)) {
            lua_pop(L, 2);
            return lua_gettop(L) - base;
        }
        lua_remove(L, -2);
        return tx_commit_failed(L, c, level, base);
    case TX_RAISE:                       /* rolled back; the error lies under the results */
        lua_pop(L, 2);
        return lua_error(L);
    default:                             /* TX_DOOMED */
        return luaL_error(L, "the transaction was rolled back: a statement in it failed "
                             "and the error was caught inside the function");
    }
}

/*
 * Opens a transaction level (BEGIN, or a savepoint when nested), calls the
 * function at `fn` (the top of the stack) with the connection, then commits
 * or rolls back. Returns the function's results; its error is re-raised,
 * unchanged, after the rollback. A statement that failed inside fn while fn
 * caught the error still dooms the level: it is rolled back and an error
 * raised. In a task every step may yield.
 */
static int in_transaction(lua_State *L, enigma_luadb_conn *c, int fn)
{
    /* What a body left in the gateway's session is undone before the next one, so the next
     * user starts from the login's defaults: settings, SET ROLE, cursors, prepared
     * statements (a body could prepare one again under the name our cache runs: the
     * cache is forgotten with them), LISTENs and session advisory locks. (DISCARD ALL
     * itself cannot run in a multi-statement query.) */
    static const char gateway_begin[] = "RESET ALL; RESET ROLE; CLOSE ALL; DEALLOCATE ALL; "
                                        "UNLISTEN *; SELECT pg_advisory_unlock_all(); BEGIN";
    char sql[160];
    int level = c->depth + 1;

    if (level == 1 && c->gateway) {
        enigma_db_forget_statements(c->db);
        snprintf(sql, sizeof sql, "%s", gateway_begin);
    } else
        snprintf(sql, sizeof sql, level == 1 ? "BEGIN" : "SAVEPOINT enigma_%d", level);
    return enigma_luadb_call_own_statement(L, sql, TX_CTX(TX_BEGUN, level, fn), tx_k);
}

int enigma_luadb_transaction(lua_State *L)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);

    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    return in_transaction(L, c, 2);
}

/* --- as_user ----------------------------------------------------------------------- *
 *
 * An end user's body (anon, authenticated) never runs on the caller's connection: it runs
 * on the connection's gateway, a second connection to the same database made on first use
 * and kept beside it (uservalue ENIGMA_LUADB_UV_GATEWAY), logged in as a role that can
 * become only anon or authenticated (core/db.h, enigma_db_connect_gateway). So nothing
 * the body runs -- RESET ROLE, SET ROLE, SET SESSION AUTHORIZATION, set_config('role'),
 * a SECURITY DEFINER function it may not execute -- reaches the caller's rights. The body
 * gets the gateway as its argument; it is its own transaction, not a savepoint of one
 * open on the caller's connection. as_user on a gateway (nested) stays on it.
 * service_role is the platform's own identity: it runs on the caller's connection. */

static const char set_identity_sql[] =
    "select set_config('role', $1, true), set_config('request.jwt.claims', $2, true), "
    "set_config('search_path', 'public, pg_temp', true)";
static const char current_identity_sql[] =
    "select current_setting('role') as role, "
    "coalesce(current_setting('request.jwt.claims', true), '') as claims";

/* as_user_body's steps; its stack is conn, the enclosing role and claims
 * (nil when not nested), then fn's results. */
enum { AS_SAVED, AS_UNNESTED, AS_SET, AS_CALLED, AS_RESTORED };

/* Calls db:exec(set_identity_sql, role, claims), then as_user_k(ctx). */
static void call_set_identity(lua_State *L, int role, int claims, lua_KContext ctx, lua_KFunction k)
{
    lua_pushcfunction(L, enigma_luadb_exec);
    lua_pushvalue(L, 1);
    lua_pushstring(L, set_identity_sql);
    lua_pushvalue(L, role);
    lua_pushvalue(L, claims);
    lua_callk(L, 4, 0, ctx, k);
}

static int as_user_k(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    switch (ctx) {
    case AS_SAVED:                       /* conn, rows of current_identity_sql */
        lua_rawgeti(L, 2, 1);
        lua_getfield(L, 3, "role");
        lua_getfield(L, 3, "claims");
        lua_replace(L, 3);
        lua_replace(L, 2);
        /* fallthrough */
    case AS_UNNESTED:
        call_set_identity(L, lua_upvalueindex(1), lua_upvalueindex(2), AS_SET, as_user_k);
        /* fallthrough */
    case AS_SET:
        lua_pushvalue(L, lua_upvalueindex(3));
        lua_pushvalue(L, 1);
        lua_callk(L, 1, LUA_MULTRET, AS_CALLED, as_user_k);
        /* fallthrough */
    case AS_CALLED:                      /* an enclosing transaction gets its identity back */
        if (!lua_isnil(L, 2))
            call_set_identity(L, 2, 3, AS_RESTORED, as_user_k);
        /* fallthrough */
    default:
        return lua_gettop(L) - 3;
    }
}

/* The body of as_user, run inside in_transaction: upvalues role, claims, fn. */
static int as_user_body(lua_State *L)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);

    lua_settop(L, 1);
    if (c->depth > 1) {
        lua_pushcfunction(L, enigma_luadb_query);
        lua_pushvalue(L, 1);
        lua_pushstring(L, current_identity_sql);
        lua_callk(L, 2, 1, AS_SAVED, as_user_k);
        return as_user_k(L, LUA_OK, AS_SAVED);
    }
    lua_pushnil(L);
    lua_pushnil(L);
    return as_user_k(L, LUA_OK, AS_UNNESTED);
}

/* Replaces the connection at 1 by its gateway, made (or made again, when lost) here. */
static enigma_luadb_conn *use_gateway(lua_State *L, enigma_luadb_conn *c)
{
    enigma_luadb_conn *g;
    enigma_error err;

    if (lua_getiuservalue(L, 1, ENIGMA_LUADB_UV_GATEWAY) == LUA_TUSERDATA) {
        g = luaL_checkudata(L, -1, ENIGMA_LUADB_CONN_MT);
        if (g->db != NULL && PQstatus(enigma_db_pgconn(g->db)) == CONNECTION_OK)
            goto found;
        enigma_luadb_close(L, lua_gettop(L));
    }
    lua_pop(L, 1);
    g = enigma_luadb_new_conn(L);
    g->gateway = 1;
    g->db = enigma_db_connect_gateway(c->db, &err);
    if (g->db == NULL) {
        enigma_lua_error_raise(L, &err);
        return NULL;
    }
    lua_pushvalue(L, -1);
    lua_setiuservalue(L, 1, ENIGMA_LUADB_UV_GATEWAY);
found:
    g = enigma_luadb_check_conn(L, lua_gettop(L));
    lua_replace(L, 1);
    return g;
}

int enigma_luadb_as_user(lua_State *L)
{
    static const char *const roles[] = {"authenticated", "anon", "service_role", NULL};
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);
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
            return luaL_argerror(L, 2,
                                 "claims.role must be 'authenticated', 'anon' or 'service_role'");
        role = roles[i];
    }
    lua_pop(L, 1);
    if (strcmp(role, "service_role") != 0 && !c->gateway)
        c = use_gateway(L, c);
    lua_pushstring(L, role);
    enigma_lua_json_encode(L, 2);
    lua_pushvalue(L, 3);
    lua_pushcclosure(L, as_user_body, 3);
    return in_transaction(L, c, 4);
}
