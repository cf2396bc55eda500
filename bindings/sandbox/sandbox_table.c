/*
 * table.concat, insert, remove, move and sort for the sandbox, with their
 * loops charged to the running run.
 *
 * The stock functions are C loops the count hook never sees: with a __len
 * that lies and an __index that is a table (so no Lua code runs per
 * element), table.concat(t, "", 1, math.maxinteger) or table.move over the
 * integer range would run for centuries. These do what Lua 5.4's do, with
 * the same argument checks and error messages (catchable, as Lua's are, and
 * naming the function the script called), and charge one step per element
 * they touch. Their index arithmetic is Lua's own, in which no expression
 * can overflow: the checks that bound `pos`, `f`, `e` and `t` come first.
 * sort keeps Lua's algorithm and charges each comparison, through a
 * comparator of ours around the script's (or `<`).
 */
#include "sandbox_private.h"

#define CHARGE_EVERY 256               /* elements between two charges */

enum { READ = 1, WRITE = 2, LENGTH = 4 };

/* Whether the metatable on the top of the stack has `event` (read raw). */
static int has_event(lua_State *L, const char *event)
{
    int yes;

    lua_pushstring(L, event);
    yes = lua_rawget(L, -2) != LUA_TNIL;
    lua_pop(L, 1);
    return yes;
}

/* As Lua: argument `arg` must be a table, or have the metamethods `what`
 * needs (__index to read, __newindex to write, __len for the length). */
static void check_table(lua_State *L, int arg, int what)
{
    int ok;

    if (lua_type(L, arg) == LUA_TTABLE)
        return;
    if (lua_getmetatable(L, arg)) {
        ok = (!(what & READ) || has_event(L, "__index")) &&
             (!(what & WRITE) || has_event(L, "__newindex")) &&
             (!(what & LENGTH) || has_event(L, "__len"));
        lua_pop(L, 1);
        if (ok)
            return;
    }
    luaL_checktype(L, arg, LUA_TTABLE);
}

/* Counts one element; charges every CHARGE_EVERY. */
static void step(lua_State *L, unsigned *n)
{
    if (++*n == CHARGE_EVERY) {
        enigma_sandbox_charge(L, NULL, CHARGE_EVERY);
        *n = 0;
    }
}

/* Charges what is left of the count, and at least one step for the call. */
static void settle(lua_State *L, unsigned n)
{
    enigma_sandbox_charge(L, NULL, n + 1u);
}

static lua_Integer length_of(lua_State *L, int what)
{
    check_table(L, 1, what | LENGTH);
    return luaL_len(L, 1);
}

static void add_element(lua_State *L, luaL_Buffer *b, lua_Integer i)
{
    lua_geti(L, 1, i);
    if (!lua_isstring(L, -1))
        luaL_error(L, "invalid value (%s) at index %I in table for 'concat'", luaL_typename(L, -1),
                   (LUAI_UACINT)i);
    luaL_addvalue(b);
}

/* table.concat(list [, sep [, i [, j]]]) */
static int t_concat(lua_State *L)
{
    luaL_Buffer b;
    lua_Integer last = length_of(L, READ), i;
    size_t seplen;
    const char *sep = luaL_optlstring(L, 2, "", &seplen);
    unsigned n = 0;

    i = luaL_optinteger(L, 3, 1);
    last = luaL_optinteger(L, 4, last);
    luaL_buffinit(L, &b);
    for (; i < last; i++) {
        add_element(L, &b, i);
        luaL_addlstring(&b, sep, seplen);
        step(L, &n);
    }
    if (i == last)
        add_element(L, &b, i);
    luaL_pushresult(&b);
    settle(L, n);
    return 1;
}

/* table.insert(list, [pos,] value) */
static int t_insert(lua_State *L)
{
    lua_Integer end = length_of(L, READ | WRITE), pos, i;
    unsigned n = 0;

    end = (lua_Integer)((lua_Unsigned)end + 1u);   /* the first empty slot, wrapping as Lua's */
    switch (lua_gettop(L)) {
    case 2:
        pos = end;
        break;
    case 3:
        pos = luaL_checkinteger(L, 2);
        luaL_argcheck(L, (lua_Unsigned)pos - 1u < (lua_Unsigned)end, 2, "position out of bounds");
        for (i = end; i > pos; i--) {   /* pos >= 1, so i - 1 cannot overflow */
            lua_geti(L, 1, i - 1);
            lua_seti(L, 1, i);
            step(L, &n);
        }
        break;
    default:
        return luaL_error(L, "wrong number of arguments to 'insert'");
    }
    lua_seti(L, 1, pos);
    settle(L, n);
    return 0;
}

/* table.remove(list [, pos]) */
static int t_remove(lua_State *L)
{
    lua_Integer size = length_of(L, READ | WRITE);
    lua_Integer pos = luaL_optinteger(L, 2, size);
    unsigned n = 0;

    if (pos != size)   /* Lua 5.4 names argument #1 here */
        luaL_argcheck(L, (lua_Unsigned)pos - 1u <= (lua_Unsigned)size, 1, "position out of bounds");
    lua_geti(L, 1, pos);
    for (; pos < size; pos++) {        /* pos < size, so pos + 1 cannot overflow */
        lua_geti(L, 1, pos + 1);
        lua_seti(L, 1, pos);
        step(L, &n);
    }
    lua_pushnil(L);
    lua_seti(L, 1, pos);
    settle(L, n);
    return 1;
}

/* table.move(a1, f, e, t [, a2]) */
static int t_move(lua_State *L)
{
    lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
    lua_Integer t = luaL_checkinteger(L, 4), count, i;
    int to = lua_isnoneornil(L, 5) ? 1 : 5;
    unsigned n = 0;

    check_table(L, 1, READ);
    check_table(L, to, WRITE);
    if (e >= f) {
        /* f > 0: e - f < maxinteger; f <= 0: maxinteger + f cannot overflow */
        luaL_argcheck(L, f > 0 || e < LUA_MAXINTEGER + f, 3, "too many elements to move");
        count = e - f + 1;
        luaL_argcheck(L, t <= LUA_MAXINTEGER - count + 1, 4, "destination wrap around");
        if (t > e || t <= f || (to != 1 && !lua_compare(L, 1, to, LUA_OPEQ))) {
            for (i = 0; i < count; i++) {
                lua_geti(L, 1, f + i);
                lua_seti(L, to, t + i);
                step(L, &n);
            }
        } else {                       /* overlapping, moving up: from the end */
            for (i = count - 1; i >= 0; i--) {
                lua_geti(L, 1, f + i);
                lua_seti(L, to, t + i);
                step(L, &n);
            }
        }
    }
    lua_pushvalue(L, to);
    settle(L, n);
    return 1;
}

/* The comparator sort gets: one step per comparison, then the script's
 * comparator (upvalue 1) or `<`. */
static int charged_less(lua_State *L)
{
    enigma_sandbox_charge(L, NULL, 1);
    if (lua_isnil(L, lua_upvalueindex(1))) {
        lua_pushboolean(L, lua_compare(L, 1, 2, LUA_OPLT));
        return 1;
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 1);
    return 1;
}

/* table.sort(list [, comp]): Lua's, called in this frame (so its errors
 * name 'sort') with our comparator. */
static int t_sort(lua_State *L)
{
    lua_CFunction sort = lua_tocfunction(L, lua_upvalueindex(1));

    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 2);
    lua_pushvalue(L, 2);
    lua_pushcclosure(L, charged_less, 1);
    lua_replace(L, 2);
    enigma_sandbox_charge(L, NULL, 1);
    return sort(L);
}

void enigma_sandbox_tables(lua_State *L, int idx)
{
    static const luaL_Reg funcs[] = {
        {"concat", t_concat},
        {"insert", t_insert},
        {"remove", t_remove},
        {"move", t_move},
        {NULL, NULL}
    };

    idx = lua_absindex(L, idx);
    lua_pushvalue(L, idx);
    luaL_setfuncs(L, funcs, 0);
    lua_getfield(L, idx, "sort");
    lua_pushcclosure(L, t_sort, 1);
    lua_setfield(L, idx, "sort");
    lua_pop(L, 1);
}
