/*
 * enigma.db: LISTEN / NOTIFY -- db:listen(channel, fn), db:unlisten(channel)
 * and db:wait([seconds]), which hands notifications to their fn (see
 * db.c).
 */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "bindings/binding.h"
#include "db_private.h"
#include "core/db.h"

/* --- notifications --------------------------------------------------------------------- */

/* Channel names cannot be bind parameters: only a plain identifier passes,
 * and it is quoted by libpq besides. */
static const char *check_channel(lua_State *L, int idx)
{
    size_t len, i;
    const char *s = luaL_checklstring(L, idx, &len);
    int ok = len > 0 && len <= 63 && !(s[0] >= '0' && s[0] <= '9');

    for (i = 0; ok && i < len; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
             (s[i] >= '0' && s[i] <= '9') || s[i] == '_';
    if (!ok)
        luaL_argerror(L, idx,
                      "a channel is a plain identifier: letters, digits and _, "
                      "not starting with a digit, at most 63 bytes");
    return s;
}

/* listen_k's ctx: the statement was LISTEN (fn at 3 is kept) or UNLISTEN. */
static int listen_k(lua_State *L, int status, lua_KContext ctx)
{
    enigma_luadb_conn *c = luaL_checkudata(L, 1, ENIGMA_LUADB_CONN_MT);

    (void)status;
    if (!lua_toboolean(L, -2))
        return enigma_luadb_fail_object(L, c);
    lua_getiuservalue(L, 1, ENIGMA_LUADB_UV_HANDLERS);
    lua_pushvalue(L, 2);
    if (ctx)
        lua_pushvalue(L, 3);
    else
        lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pushboolean(L, 1);
    return 1;
}

/* Runs "<command> <quoted channel>" and records the handler in listen_k. */
static int channel_command(lua_State *L, enigma_luadb_conn *c, const char *command, int listening)
{
    const char *channel = check_channel(L, 2);
    char *quoted = PQescapeIdentifier(enigma_db_pgconn(c->db), channel, strlen(channel));

    if (quoted == NULL)
        return luaL_error(L, "out of memory");
    lua_pushfstring(L, "%s %s", command, quoted);
    PQfreemem(quoted);
    return enigma_luadb_call_own_statement(L, lua_tostring(L, -1), listening, listen_k);
}

/* db:listen(channel, fn): fn(channel, payload, backend_pid) runs in db:wait. */
int enigma_luadb_listen(lua_State *L)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);

    check_channel(L, 2);
    luaL_checktype(L, 3, LUA_TFUNCTION);
    lua_settop(L, 3);
    return channel_command(L, c, "LISTEN", 1);
}

int enigma_luadb_unlisten(lua_State *L)
{
    enigma_luadb_conn *c = enigma_luadb_check_conn(L, 1);

    check_channel(L, 2);
    lua_settop(L, 2);
    return channel_command(L, c, "UNLISTEN", 0);
}

/*
 * db:wait's stack: conn, the deadline (monotonic seconds, < 0: none), the
 * count handed out. WAIT_READY comes back from a wait on the socket,
 * WAIT_HANDLED from a handler that yielded.
 */
enum { WAIT_CHECK, WAIT_READY, WAIT_HANDLED };

static int wait_k(lua_State *L, int status, lua_KContext ctx)
{
    enigma_luadb_conn *c = ctx == WAIT_READY ? enigma_luadb_resumed_conn(L, status)
                                             : luaL_checkudata(L, 1, ENIGMA_LUADB_CONN_MT);
    PGconn *pg;
    PGnotify *n;
    double deadline, left;
    enigma_error err;

    for (;;) {
        if (c->db == NULL)               /* a handler closed it */
            return lua_tointeger(L, 3) > 0
                       ? 1
                       : luaL_error(L, "attempt to use a closed database connection");
        pg = enigma_db_pgconn(c->db);
        if (!PQconsumeInput(pg)) {
            enigma_db_error_from_result(c->db, NULL, &err);
            return enigma_luadb_fail(L, c, &err);
        }
        while ((n = PQnotifies(pg)) != NULL) {
            lua_getiuservalue(L, 1, ENIGMA_LUADB_UV_HANDLERS);
            lua_getfield(L, -1, n->relname);
            lua_remove(L, -2);
            if (!lua_isfunction(L, -1)) {    /* unlistened since it was sent */
                lua_pop(L, 1);
                PQfreemem(n);
                continue;
            }
            lua_pushstring(L, n->relname);
            lua_pushstring(L, n->extra);
            lua_pushinteger(L, n->be_pid);
            PQfreemem(n);                    /* before fn runs: it may raise */
            lua_pushinteger(L, lua_tointeger(L, 3) + 1);
            lua_replace(L, 3);
            lua_callk(L, 3, 0, WAIT_HANDLED, wait_k);
        }
        if (lua_tointeger(L, 3) > 0)
            return 1;
        deadline = lua_tonumber(L, 2);
        left = deadline < 0 ? -1 : deadline - enigma_luadb_now();
        if (deadline >= 0 && left <= 0)
            return 1;
        enigma_luadb_wait_fd(L, PQsocket(pg), ENIGMA_WAIT_READ, left, WAIT_READY, wait_k);
    }
}

/* db:wait([seconds]): hands every pending notification to its handler, after
 * waiting for one to arrive or the time to pass (none: for ever). */
int enigma_luadb_wait(lua_State *L)
{
    double timeout = luaL_optnumber(L, 2, -1);

    enigma_luadb_check_conn(L, 1);
    lua_settop(L, 1);
    lua_pushnumber(L, timeout < 0 ? -1 : enigma_luadb_now() + timeout);
    lua_pushinteger(L, 0);
    return wait_k(L, LUA_OK, WAIT_CHECK);
}
