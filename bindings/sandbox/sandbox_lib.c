/*
 * The library scripts see in a box: base, string, table, math, utf8 and
 * coroutine, without what reaches outside (os, io, debug, package, require,
 * dofile, loadfile, collectgarbage, print, string.dump), with load limited
 * to text, setmetatable refusing __gc (finalizers run with hooks off), the
 * string metatable hidden, and the C loops a script could make long
 * (pattern matching, table.move/insert/remove) charged to the run's budget.
 * It also has `decimal`, exact and bounded (sandbox_decimal.c).
 */
#include <lualib.h>
#include <string.h>

#include "sandbox_match.h"
#include "sandbox_private.h"

#define SHIFT_MAX (1 << 22)            /* elements table.move/insert/remove may shift */

static int safe_setmetatable(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TTABLE && lua_getfield(L, 2, "__gc") != LUA_TNIL)
        return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
    lua_settop(L, 2);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* load, text chunks only; the environment defaults to the box's globals. */
static int safe_load(lua_State *L)
{
    int nargs = lua_gettop(L);

    if (nargs >= 3 && !lua_isnil(L, 3)) {
        const char *mode = luaL_checkstring(L, 3);

        if (strcmp(mode, "t") != 0)
            return luaL_error(L, "load: only text chunks (mode \"t\") are allowed in the sandbox");
    }
    lua_settop(L, nargs < 4 ? 4 : nargs);
    lua_pushliteral(L, "t");
    lua_replace(L, 3);
    if (nargs < 4)
        lua_remove(L, 4);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* table.move/insert/remove with the number of elements they shift bounded
 * and charged: with a __len that lies, a raw loop in C could run for hours. */
static int shifting(lua_State *L)
{
    const char *name = lua_tostring(L, lua_upvalueindex(2));
    lua_Integer n;

    if (name[0] == 'm') {              /* move(a1, f, e, t [,a2]) */
        lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);

        n = e >= f ? e - f : 0;
    } else {                           /* insert(t, [pos,] v), remove(t [,pos]) */
        lua_Integer len = luaL_len(L, 1);
        lua_Integer pos = lua_gettop(L) >= (name[0] == 'i' ? 3 : 2) ? luaL_checkinteger(L, 2) : len;

        n = len >= pos ? len - pos : 0;
    }
    if (n > SHIFT_MAX)
        return luaL_error(L, "table.%s: %I elements is more than the sandbox shifts (%d)", name,
                          (LUAI_UACINT)n, SHIFT_MAX);
    enigma_sandbox_charge(L, NULL, (unsigned long)n);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

static void wrap(lua_State *L, int lib, const char *name, lua_CFunction fn)
{
    lib = lua_absindex(L, lib);
    lua_getfield(L, lib, name);
    lua_pushstring(L, name);
    lua_pushcclosure(L, fn, 2);
    lua_setfield(L, lib, name);
}

static const char *const forbidden[] = {"dofile", "loadfile", "collectgarbage",
                                        "print",  "require",  NULL};

int enigma_sandbox_open(lua_State *L)
{
    const char *const *name;

    luaL_requiref(L, "_G", luaopen_base, 1);
    for (name = forbidden; *name != NULL; name++) {
        lua_pushnil(L);
        lua_setfield(L, -2, *name);
    }
    wrap(L, -1, "setmetatable", safe_setmetatable);
    wrap(L, -1, "load", safe_load);
    lua_pop(L, 1);

    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    enigma_sandbox_patterns(L, -1, enigma_sandbox_charge, NULL);
    lua_pop(L, 1);
    lua_pushliteral(L, "");            /* getmetatable("") gives false */
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    wrap(L, -1, "move", shifting);
    wrap(L, -1, "insert", shifting);
    wrap(L, -1, "remove", shifting);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
    lua_pop(L, 3);
    enigma_sandbox_decimal_open(L);
    lua_sethook(L, enigma_sandbox_hook, LUA_MASKCOUNT,
                ENIGMA_SANDBOX_HOOK_EVERY);   /* inherited by every thread */
    return 0;
}
