/*
 * Values crossing between a box and the host, as plain data: nil, booleans,
 * numbers, strings and tables of them (keys strings, numbers or booleans),
 * nested at most COPY_DEPTH deep. No metatable, function, thread or userdata
 * crosses, so the host never runs a script's metamethod and a script never
 * holds a host value. The reading side is only read (no allocation, so no
 * error there); the writing side runs under lua_pcall.
 *
 * sandbox.op(name) markers passed in arrive as request functions: C closures
 * that yield (request token, name, args...) to the host's run:resume().
 *
 * The one userdata that crosses is a decimal, as a value: an enigma.decimal
 * becomes a box decimal of equal value and back (sandbox_decimal.c).
 */
#include "sandbox_private.h"

#define COPY_DEPTH 32

const char enigma_sandbox_request_token = 'r';
static const char op_key = 'o';          /* host registry: op marker metatable */

/* A request function: yields (request token, its op name, args...) to the host. */
static int request(lua_State *L)
{
    enigma_sandbox_run *r = enigma_sandbox_box_of(L)->running;
    int n = lua_gettop(L);

    if (r == NULL || L != r->T)
        return luaL_error(L,
                          "ctx.%s: ctx functions can only be called by the strategy "
                          "function itself, not from a coroutine it created",
                          lua_tostring(L, lua_upvalueindex(1)));
    if (r->killed != NULL)             /* a run past its limit asks for nothing more */
        return lua_yield(L, 0);
    luaL_checkstack(L, 2, NULL);
    lua_pushlightuserdata(L, (void *)&enigma_sandbox_request_token);
    lua_insert(L, 1);
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 2);
    return lua_yield(L, n + 2);
}

static int is_op(lua_State *H, int idx)
{
    int yes;

    if (!lua_checkstack(H, 2) || !lua_getmetatable(H, idx))
        return 0;
    lua_rawgetp(H, LUA_REGISTRYINDEX, &op_key);
    yes = lua_rawequal(H, -1, -2);
    lua_pop(H, 2);
    return yes;
}

/* Pushes onto box state B a copy of host value H[idx]. Reads H without
 * allocating in it (so without raising there); raises in B. */
void enigma_sandbox_copy_in(lua_State *B, lua_State *H, int idx, int depth)
{
    size_t len;
    const char *s;

    luaL_checkstack(B, 3, NULL);
    switch (lua_type(H, idx)) {
    case LUA_TNIL:
        lua_pushnil(B);
        break;
    case LUA_TBOOLEAN:
        lua_pushboolean(B, lua_toboolean(H, idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(H, idx))
            lua_pushinteger(B, lua_tointeger(H, idx));
        else
            lua_pushnumber(B, lua_tonumber(H, idx));
        break;
    case LUA_TSTRING:
        s = lua_tolstring(H, idx, &len);
        lua_pushlstring(B, s, len);
        break;
    case LUA_TTABLE:
        if (is_op(H, idx)) {
            lua_rawgeti(H, idx, 1);
            s = lua_tolstring(H, -1, &len);
            lua_pushlstring(B, s != NULL ? s : "?", s != NULL ? len : 1);
            lua_pop(H, 1);
            lua_pushcclosure(B, request, 1);
            break;
        }
        if (depth >= COPY_DEPTH)
            luaL_error(B, "value nested too deeply (or cyclic) to pass into the sandbox");
        if (!lua_checkstack(H, 3))
            luaL_error(B, "out of memory");
        idx = lua_absindex(H, idx);
        lua_newtable(B);
        lua_pushnil(H);
        while (lua_next(H, idx)) {
            enigma_sandbox_copy_in(B, H, -2, depth + 1);
            enigma_sandbox_copy_in(B, H, -1, depth + 1);
            lua_rawset(B, -3);
            lua_pop(H, 1);
        }
        break;
    case LUA_TUSERDATA:                /* an enigma.decimal becomes a box decimal */
        enigma_sandbox_decimal_in(B, H, idx);
        break;
    default:
        luaL_error(B, "cannot pass a %s into the sandbox", lua_typename(H, lua_type(H, idx)));
    }
}

int enigma_sandbox_copy_in_p(lua_State *B)
{
    enigma_sandbox_copy *c = lua_touserdata(B, 1);
    int i;

    lua_pop(B, 1);
    for (i = 0; i < c->n; i++)
        enigma_sandbox_copy_in(B, c->from, c->first + i, 0);
    lua_xmove(B, c->to, c->n);         /* the caller made room */
    return 0;
}

/* What one copy out may make: values plus bytes of strings. A table reached by several
 * paths is copied once per path, so without this a DAG of 32 levels ({t, t} each) makes
 * 2^32 copies, outside every limit of the run (the copy runs between resumes). */
#define COPY_COST_MAX ((size_t)64 << 20)

/* Pushes onto host H a copy of box value B[idx]; raises in H. B is only
 * read; its stack grows by at most two slots per level, restored on return. */
static void copy_out(lua_State *H, lua_State *B, int idx, int depth, int functions, size_t *cost)
{
    size_t len;
    const char *s;

    luaL_checkstack(H, 3, NULL);
    *cost += 16 + (lua_type(B, idx) == LUA_TSTRING ? lua_rawlen(B, idx) : 0);
    if (*cost > COPY_COST_MAX)
        luaL_error(H,
                   "a value too large cannot leave the sandbox (more than %d MiB once "
                   "copied; a table reached twice counts twice)",
                   (int)(COPY_COST_MAX >> 20));
    switch (lua_type(B, idx)) {
    case LUA_TNIL:
        lua_pushnil(H);
        break;
    case LUA_TBOOLEAN:
        lua_pushboolean(H, lua_toboolean(B, idx));
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(B, idx))
            lua_pushinteger(H, lua_tointeger(B, idx));
        else
            lua_pushnumber(H, lua_tonumber(B, idx));
        break;
    case LUA_TSTRING:
        s = lua_tolstring(B, idx, &len);
        lua_pushlstring(H, s, len);
        break;
    case LUA_TFUNCTION:
        if (functions) {
            lua_pushliteral(H, "function");
            break;
        }
        luaL_error(H, "a function cannot leave the sandbox");
        break;
    case LUA_TTABLE:
        if (depth >= COPY_DEPTH)
            luaL_error(H, "a table nested too deeply (or cyclic) cannot leave the sandbox");
        if (!lua_checkstack(B, 3))
            luaL_error(H, "sandbox out of memory");
        idx = lua_absindex(B, idx);
        lua_newtable(H);
        lua_pushnil(B);
        while (lua_next(B, idx)) {
            int kt = lua_type(B, -2);

            if (kt != LUA_TSTRING && kt != LUA_TNUMBER && kt != LUA_TBOOLEAN)
                luaL_error(H, "a table keyed by a %s cannot leave the sandbox",
                           lua_typename(B, kt));
            copy_out(H, B, -2, depth + 1, 0, cost);
            copy_out(H, B, -1, depth + 1, functions, cost);
            lua_rawset(H, -3);
            lua_pop(B, 1);
        }
        break;
    case LUA_TUSERDATA:                /* a box decimal becomes an enigma.decimal */
        enigma_sandbox_decimal_out(H, B, idx);
        break;
    default:
        luaL_error(H, "a %s cannot leave the sandbox", lua_typename(B, lua_type(B, idx)));
    }
}

static int copy_out_p(lua_State *H)
{
    enigma_sandbox_copy *c = lua_touserdata(H, 1);
    int i;

    lua_pop(H, 1);
    for (i = 0; i < c->n; i++)
        copy_out(H, c->from, c->first + i, 0, c->functions, &c->cost);
    return c->n;
}

int enigma_sandbox_copy_to_host(lua_State *H, lua_State *B, int first, int n, int functions)
{
    enigma_sandbox_copy c = {B, H, lua_absindex(B, first), n, functions, 0};
    int top = lua_gettop(B);

    luaL_checkstack(H, 2, NULL);
    lua_pushcfunction(H, copy_out_p);
    lua_pushlightuserdata(H, &c);
    if (lua_pcall(H, 1, n, 0) != LUA_OK) {
        lua_settop(B, top);
        return -1;
    }
    return 0;
}

void enigma_sandbox_op_register(lua_State *H)
{
    lua_createtable(H, 0, 1);
    lua_pushliteral(H, "enigma.sandbox.op");
    lua_setfield(H, -2, "__name");
    lua_rawsetp(H, LUA_REGISTRYINDEX, &op_key);
}

int enigma_sandbox_op_new(lua_State *H)
{
    luaL_checkstring(H, 1);
    lua_createtable(H, 1, 0);
    lua_pushvalue(H, 1);
    lua_rawseti(H, -2, 1);
    lua_rawgetp(H, LUA_REGISTRYINDEX, &op_key);
    lua_setmetatable(H, -2);
    return 1;
}
