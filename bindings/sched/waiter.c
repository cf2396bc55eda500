/*
 * Which coroutines an event loop runs: a weak-keyed registry table from
 * coroutine to its enigma_lua_waiter (see binding.h).
 */
#include "bindings/binding.h"

static const char waiters_key = 'w';   /* its address is the registry key */

static void push_waiters(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &waiters_key) == LUA_TTABLE)
        return;
    lua_pop(L, 1);
    lua_newtable(L);
    lua_createtable(L, 0, 1);
    lua_pushliteral(L, "k");
    lua_setfield(L, -2, "__mode");
    lua_setmetatable(L, -2);
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &waiters_key);
}

void enigma_lua_waiter_set(lua_State *L, lua_State *co, enigma_lua_waiter *w)
{
    push_waiters(L);
    lua_pushthread(co);
    if (co != L)
        lua_xmove(co, L, 1);
    if (w != NULL)
        lua_pushlightuserdata(L, w);
    else
        lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

enigma_lua_waiter *enigma_lua_waiter_get(lua_State *L)
{
    return lua_isyieldable(L) ? enigma_lua_waiter_find(L) : NULL;
}

enigma_lua_waiter *enigma_lua_waiter_find(lua_State *L)
{
    enigma_lua_waiter *w;

    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &waiters_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        return NULL;
    }
    lua_pushthread(L);
    lua_rawget(L, -2);
    w = lua_touserdata(L, -1);
    lua_pop(L, 2);
    return w;
}
