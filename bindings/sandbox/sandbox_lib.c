/*
 * The library scripts see in a box: base, string, table, math, utf8 and
 * coroutine, without what reaches outside (os, io, debug, package, require,
 * dofile, loadfile, collectgarbage, print, string.dump), with load limited
 * to text, setmetatable refusing __gc (finalizers run with hooks off), and
 * the string metatable hidden; and `decimal`, exact and bounded
 * (sandbox_decimal.c).
 *
 * Every C function whose cost the count hook cannot see is bounded:
 *  - pattern matching is metered step by step (sandbox_match.c), the table
 *    loops element by element (sandbox_table.c);
 *  - the other string, utf8 and table functions, tostring and tonumber are
 *    "metered": the clock is read before and after each call, and the call
 *    is charged one step per result plus one per 64 bytes of strings made;
 *  - load reads its source in slices of at most LOAD_SLICE bytes, charging
 *    one step per 4 bytes and reading the clock before each, so neither a
 *    reader function nor a long string makes the parser outlive the run;
 *  - coroutine.close checks the C stack first: Lua 5.4.4 does not count the
 *    C levels a __close handler that closes another coroutine adds (the bug
 *    "C-stack overflow with deep nesting of coroutine.close", fixed in 5.4.5
 *    by lua_closethread), so 40,000 coroutines closing each other overflow
 *    the host's stack. resume and wrap check it too.
 *
 * A metered function is called in the wrapper's own frame (its C function
 * pointer, not lua_call), so its errors name the function as the script
 * called it. Only functions without upvalues are wrapped that way.
 */
#include <lualib.h>
#include <string.h>

#include "sandbox_match.h"
#include "sandbox_private.h"

#define LOAD_SLICE (64 * 1024)          /* source bytes the parser gets at a time */

static const char *const libraries[] = {LUA_STRLIBNAME, LUA_TABLIBNAME, LUA_UTF8LIBNAME,
                                        LUA_COLIBNAME,  "decimal",      NULL};

/* ---- metered C functions ------------------------------------------------ */

/* Upvalue 1: the function metered, a light C function without upvalues. */
static int metered(lua_State *L)
{
    lua_CFunction fn = lua_tocfunction(L, lua_upvalueindex(1));
    unsigned long cost = 1;
    int n, i;
    size_t len;

    enigma_sandbox_check_stack(L);
    enigma_sandbox_charge_now(L, 0);
    n = fn(L);
    for (i = 1; i <= n; i++) {
        if (lua_type(L, -i) == LUA_TSTRING) {
            lua_tolstring(L, -i, &len);
            cost += len / 64;
        }
    }
    enigma_sandbox_charge_now(L, cost + (unsigned long)n);
    return n;
}

/* Wraps every function of the table at `idx` that is a C function without
 * upvalues (and is not in `skip`) with `metered`. */
static void meter(lua_State *L, int idx, const char *const *skip)
{
    const char *const *s;
    const char *name;

    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int wrap = 0;

        if (lua_iscfunction(L, -1) && lua_type(L, -2) == LUA_TSTRING) {
            if (lua_getupvalue(L, -1, 1) != NULL)
                lua_pop(L, 1);
            else
                wrap = 1;
        }
        if (wrap) {
            name = lua_tostring(L, -2);
            for (s = skip; s != NULL && *s != NULL; s++)
                if (strcmp(*s, name) == 0)
                    wrap = 0;
        }
        if (wrap) {
            lua_pushcclosure(L, metered, 1);   /* the function, now its upvalue */
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, idx);        /* an existing key: lua_next stays valid */
        } else {
            lua_pop(L, 1);
        }
    }
}

/* string.rep: Lua's loops n times even when each copy is empty, which no
 * allocation bounds (string.rep("", math.maxinteger) runs for centuries);
 * an empty result is returned at once. Found by fuzz_sandbox. */
static lua_CFunction stock_rep;

static int safe_rep(lua_State *L)
{
    size_t len, seplen;

    luaL_checklstring(L, 1, &len);
    luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &seplen);
    if (len == 0 && seplen == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return stock_rep(L);
}

/* ---- base functions ----------------------------------------------------- */

/* setmetatable, refusing a metatable with __gc (read raw). */
static int safe_setmetatable(lua_State *L)
{
    lua_CFunction fn = lua_tocfunction(L, lua_upvalueindex(1));

    lua_pushliteral(L, "__gc");
    if (lua_type(L, 2) == LUA_TTABLE && lua_rawget(L, 2) != LUA_TNIL)
        return luaL_error(L, "setmetatable: __gc metamethods are not allowed in the sandbox");
    lua_settop(L, 2);
    return fn(L);
}

/* coroutine.close, resume and wrap: the C stack first (see the header). */
static int stack_checked(lua_State *L)
{
    lua_CFunction fn = lua_tocfunction(L, lua_upvalueindex(1));

    enigma_sandbox_check_stack(L);
    return fn(L);
}

typedef struct source {
    const char *text;                  /* the slice being read, or NULL */
    size_t left;
    int reader;                        /* stack slot of the reader function, or 0 */
    int piece;                         /* stack slot anchoring its last result */
} source;

/* lua_Reader: the source in slices, each charged and clocked first. */
static const char *read_slice(lua_State *L, void *ud, size_t *size)
{
    source *src = ud;
    size_t n;

    if (src->left == 0 && src->reader != 0) {
        luaL_checkstack(L, 2, "too many nested functions");
        lua_pushvalue(L, src->reader);
        lua_call(L, 0, 1);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            src->reader = 0;
        } else if (!lua_isstring(L, -1)) {
            luaL_error(L, "reader function must return a string");
        } else {
            lua_replace(L, src->piece);
            src->text = lua_tolstring(L, src->piece, &src->left);
            if (src->left == 0)
                src->reader = 0;
        }
    }
    if (src->left == 0) {
        *size = 0;
        return NULL;
    }
    n = src->left < LOAD_SLICE ? src->left : LOAD_SLICE;
    enigma_sandbox_charge_now(L, n / 4 + 1);
    *size = n;
    src->left -= n;
    src->text += n;
    return src->text - n;
}

/* load(chunk [, chunkname [, mode [, env]]]), text only; without env the
 * chunk's environment is the instance's (upvalue 1). */
static int safe_load(lua_State *L)
{
    source src = {NULL, 0, 0, 0};
    const char *name, *mode = luaL_optstring(L, 3, "t");
    int has_env = !lua_isnone(L, 4);

    if (strcmp(mode, "t") != 0)
        return luaL_error(L, "load: only text chunks (mode \"t\") are allowed in the sandbox");
    if (lua_type(L, 1) == LUA_TSTRING) {
        src.text = lua_tolstring(L, 1, &src.left);
        name = luaL_optstring(L, 2, src.text);
    } else {
        luaL_checktype(L, 1, LUA_TFUNCTION);
        name = luaL_optstring(L, 2, "=(load)");
        src.reader = 1;
    }
    lua_settop(L, 5);
    src.piece = 5;
    if (lua_load(L, read_slice, &src, name, "t") != LUA_OK) {
        luaL_pushfail(L);
        lua_insert(L, -2);
        return 2;
    }
    if (has_env)
        lua_pushvalue(L, 4);
    else
        lua_pushvalue(L, lua_upvalueindex(1));
    if (!lua_setupvalue(L, -2, 1))
        lua_pop(L, 1);
    return 1;
}

static void wrap(lua_State *L, int lib, const char *name, lua_CFunction fn)
{
    lib = lua_absindex(L, lib);
    lua_getfield(L, lib, name);
    lua_pushcclosure(L, fn, 1);
    lua_setfield(L, lib, name);
}

static const char *const forbidden[] = {"dofile", "loadfile", "collectgarbage",
                                        "print",  "require",  NULL};

/* Functions not metered: they take constant time, or their work is Lua's
 * and counted by the hook, or they are wrapped otherwise. */
static const char *const base_unmetered[] = {"assert", "error",  "getmetatable", "ipairs",
                                             "next",   "pairs",  "pcall",        "rawequal",
                                             "rawget", "rawlen", "rawset",       "select",
                                             "type",   "xpcall", "setmetatable", "load",
                                             NULL};
static const char *const string_unmetered[] = {"find", "gmatch", "gsub", "match", "len", NULL};
static const char *const table_unmetered[] = {"concat", "insert", "remove", "move", "sort", NULL};

int enigma_sandbox_open(lua_State *L)
{
    const char *const *name;

    luaL_requiref(L, "_G", luaopen_base, 1);
    for (name = forbidden; *name != NULL; name++) {
        lua_pushnil(L);
        lua_setfield(L, -2, *name);
    }
    wrap(L, -1, "setmetatable", safe_setmetatable);
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, safe_load, 1);
    lua_setfield(L, -2, "load");
    meter(L, -1, base_unmetered);
    lua_pop(L, 1);

    luaL_requiref(L, LUA_STRLIBNAME, luaopen_string, 1);
    lua_pushnil(L);
    lua_setfield(L, -2, "dump");
    enigma_sandbox_patterns(L, -1, enigma_sandbox_charge, NULL);
    lua_getfield(L, -1, "rep");
    stock_rep = lua_tocfunction(L, -1);   /* the same function in every state */
    lua_pop(L, 1);
    lua_pushcfunction(L, safe_rep);
    lua_setfield(L, -2, "rep");
    meter(L, -1, string_unmetered);
    lua_pop(L, 1);
    lua_pushliteral(L, "");            /* getmetatable("") gives false */
    lua_getmetatable(L, -1);
    lua_pushboolean(L, 0);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 2);

    luaL_requiref(L, LUA_TABLIBNAME, luaopen_table, 1);
    enigma_sandbox_tables(L, -1);
    meter(L, -1, table_unmetered);
    lua_pop(L, 1);
    luaL_requiref(L, LUA_MATHLIBNAME, luaopen_math, 1);
    luaL_requiref(L, LUA_UTF8LIBNAME, luaopen_utf8, 1);
    meter(L, -1, NULL);
    luaL_requiref(L, LUA_COLIBNAME, luaopen_coroutine, 1);
    wrap(L, -1, "close", stack_checked);
    wrap(L, -1, "resume", stack_checked);
    wrap(L, -1, "wrap", stack_checked);
    lua_pop(L, 4);
    enigma_sandbox_decimal_open(L);
    lua_sethook(L, enigma_sandbox_hook, LUA_MASKCOUNT,
                ENIGMA_SANDBOX_HOOK_EVERY);   /* inherited by every thread */
    return 0;
}

/* Pushes a shallow copy of the table at `idx`, with its metatable (the
 * library's, which scripts can neither read nor change: __metatable). */
static void copy_table(lua_State *L, int idx)
{
    int n = 0;

    idx = lua_absindex(L, idx);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        n++;
    }
    lua_createtable(L, 0, n + 2);      /* room for _G and load */
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, -4);
    }
    if (lua_getmetatable(L, idx))
        lua_setmetatable(L, -2);
}

void enigma_sandbox_env(lua_State *L)
{
    const char *const *lib;

    luaL_checkstack(L, 6, NULL);
    lua_pushglobaltable(L);
    copy_table(L, -1);
    for (lib = libraries; *lib != NULL; lib++) {
        lua_getfield(L, -2, *lib);
        copy_table(L, -1);
        lua_setfield(L, -3, *lib);
        lua_pop(L, 1);
    }
    lua_pushcfunction(L, luaopen_math);   /* its own: math.random's state is the library's */
    lua_call(L, 0, 1);
    lua_setfield(L, -2, LUA_MATHLIBNAME);
    lua_pushvalue(L, -1);
    lua_setfield(L, -2, "_G");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, safe_load, 1);
    lua_setfield(L, -2, "load");
    lua_remove(L, -2);
}
