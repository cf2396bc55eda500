/*
 * enigma.sandbox: untrusted Lua in a state of its own.
 *
 * A box is a separate lua_State with allow-listed globals, a counting
 * allocator with a ceiling, and a count hook on every thread it makes. Code
 * in a box never sees a value of the host's: arguments are copied in and
 * results copied out as plain data (nil, booleans, numbers, strings and
 * tables of them), so neither a metatable nor a function crosses over.
 *
 * A run is one call of a function the box's module exports, with its own
 * budget: instructions, wall-clock time and net memory growth. It talks to
 * the host only by yielding a request: `sandbox.op(name)` values passed in
 * arrive in the box as functions that yield (name, args...) to the host's
 * run:resume(), whose next call's arguments become their results.
 *
 * Limits are enforced where untrusted code cannot reach them:
 *  - the hook counts instructions and checks the clock every 1000
 *    instructions; once a run is killed it re-arms itself to fire on every
 *    instruction, so a pcall that catches the error cannot keep running;
 *  - the allocator refuses growth past the run's or the box's ceiling, and
 *    every growth once the run is killed;
 *  - the C loops a script could make long (pattern matching, table.move,
 *    insert, remove) count their steps against the same budget.
 *
 * Every call that may allocate in the box runs under lua_pcall in the box
 * (`protect`), and values are copied out of the box under lua_pcall in the
 * host, so an error on one side never unwinds through the other.
 */
#include "bindings/binding.h"
#include "sandbox_private.h"

#include <stdlib.h>
#include <string.h>

#define BOX_MT "enigma.sandbox.box"
#define RUN_MT "enigma.sandbox.run"

typedef enigma_sandbox_box box;
typedef enigma_sandbox_run run;

static const char module_key = 'm';      /* registry: the loaded module */

/* Calls fn(ud) in protected mode in the box. On failure leaves the error
 * message (a string) in *msg, valid until the next call into the box. */
static int protect(box *b, lua_CFunction fn, void *ud, const char **msg)
{
    int status;

    if (!lua_checkstack(b->L, 2)) {
        *msg = "sandbox out of memory";
        return LUA_ERRMEM;
    }
    lua_pushcfunction(b->L, fn);
    lua_pushlightuserdata(b->L, ud);
    status = lua_pcall(b->L, 1, 0, 0);
    if (status != LUA_OK) {
        *msg = lua_type(b->L, -1) == LUA_TSTRING ? lua_tostring(b->L, -1) : "sandbox error";
        lua_pop(b->L, 1);              /* a string lives on in the state's cache */
    }
    return status;
}

/* ---- boxes -------------------------------------------------------------- */

static box *check_box(lua_State *H, int idx)
{
    box *b = luaL_checkudata(H, idx, BOX_MT);

    if (b->L == NULL)
        luaL_error(H, "sandbox is closed");
    return b;
}

static lua_Integer opt_limit(lua_State *H, int idx, const char *field, lua_Integer dflt)
{
    lua_Integer v;

    if (lua_isnoneornil(H, idx))
        return dflt;
    luaL_checktype(H, idx, LUA_TTABLE);
    if (lua_getfield(H, idx, field) == LUA_TNIL) {
        lua_pop(H, 1);
        return dflt;
    }
    v = (lua_Integer)luaL_checknumber(H, -1);
    lua_pop(H, 1);
    if (v <= 0)
        luaL_error(H, "sandbox limit %s must be positive", field);
    return v;
}

/* sandbox.new{memory = bytes}: a box whose state may hold `memory` bytes. */
static int box_new(lua_State *H)
{
    box *b = lua_newuserdatauv(H, sizeof *b, 0);
    const char *msg;

    b->L = NULL;
    b->used = 0;
    b->running = NULL;
    luaL_setmetatable(H, BOX_MT);
    b->cap = (size_t)opt_limit(H, 1, "memory", 64 << 20);
    b->L = lua_newstate(enigma_sandbox_alloc, b);
    if (b->L == NULL)
        return luaL_error(H, "sandbox: not enough memory for a new state");
    if (protect(b, enigma_sandbox_open, NULL, &msg) != LUA_OK) {
        lua_close(b->L);
        b->L = NULL;
        return luaL_error(H, "sandbox: %s", msg);
    }
    return 1;
}

static int box_close(lua_State *H)
{
    box *b = luaL_checkudata(H, 1, BOX_MT);

    if (b->L != NULL && b->running == NULL) {
        lua_close(b->L);
        b->L = NULL;
    }
    return 0;
}

/* box:memory() -> bytes the box's state holds now. */
static int box_memory(lua_State *H)
{
    lua_pushinteger(H, (lua_Integer)check_box(H, 1)->used);
    return 1;
}

static int box_gc_p(lua_State *B)
{
    lua_gc(B, LUA_GCCOLLECT);
    return 0;
}

/* box:collect(): a full garbage collection in the box. */
static int box_collect(lua_State *H)
{
    box *b = check_box(H, 1);
    const char *msg;

    protect(b, box_gc_p, NULL, &msg);
    lua_pushinteger(H, (lua_Integer)b->used);
    return 1;
}

/* ---- runs --------------------------------------------------------------- */

typedef struct start {
    run *r;
    lua_State *H;
    const char *source, *chunkname, *fname;
    size_t len;
    int first, n;                      /* H's argument slots */
} start;

/* In the box: anchor {T, args...}; T gets the function and the arguments. */
static int start_p(lua_State *B)
{
    start *s = lua_touserdata(B, 1);
    run *r = s->r;
    lua_State *T;
    int i;

    lua_settop(B, 0);
    lua_createtable(B, s->n + 1, 0);
    T = lua_newthread(B);
    lua_rawseti(B, 1, 1);
    if (s->source != NULL) {
        if (luaL_loadbufferx(T, s->source, s->len, s->chunkname, "t") != LUA_OK) {
            lua_xmove(T, B, 1);
            return lua_error(B);
        }
    } else {
        if (lua_rawgetp(B, LUA_REGISTRYINDEX, &module_key) != LUA_TTABLE)
            return luaL_error(B, "sandbox has no module loaded");
        if (lua_getfield(B, -1, s->fname) != LUA_TFUNCTION)
            return luaL_error(B, "the script has no function '%s'", s->fname);
        lua_xmove(B, T, 1);
        lua_pop(B, 1);
    }
    for (i = 0; i < s->n; i++) {
        enigma_sandbox_copy_in(B, s->H, s->first + i, 0);
        lua_pushvalue(B, -1);
        lua_rawseti(B, 1, i + 2);
    }
    luaL_checkstack(T, s->n + 1, NULL);
    lua_xmove(B, T, s->n);
    r->ref = luaL_ref(B, LUA_REGISTRYINDEX);
    r->T = T;
    return 0;
}

/* The run is over; its arguments stay readable (run:arg) until release. */
static void finish(run *r)
{
    r->T = NULL;
}

static void release(run *r)
{
    if (r->ref > 0 && r->b->L != NULL)
        luaL_unref(r->b->L, LUA_REGISTRYINDEX, r->ref);
    r->ref = 0;
    r->T = NULL;
}

/* Pushes a new run of box `bidx` with limits from the table at `lidx`. */
static run *new_run(lua_State *H, int bidx, int lidx)
{
    box *b = check_box(H, bidx);
    run *r = lua_newuserdatauv(H, sizeof *r, 1);

    memset(r, 0, sizeof *r);
    r->b = b;
    luaL_setmetatable(H, RUN_MT);
    lua_pushvalue(H, bidx);            /* the run keeps its box alive */
    lua_setiuservalue(H, -2, 1);
    r->instructions = opt_limit(H, lidx, "instructions", 10000000);
    r->memory = opt_limit(H, lidx, "memory", 8 << 20);
    if (!lua_isnoneornil(H, lidx) && lua_getfield(H, lidx, "time") != LUA_TNIL) {
        r->time_limit = luaL_checknumber(H, -1);
        if (!(r->time_limit > 0))
            luaL_error(H, "sandbox limit time must be positive");
    } else {
        r->time_limit = 1.0;
    }
    if (!lua_isnoneornil(H, lidx))
        lua_pop(H, 1);
    r->budget = r->instructions;
    r->grow_cap = r->memory;
    return r;
}

static run *check_run(lua_State *H, int idx)
{
    return luaL_checkudata(H, idx, RUN_MT);
}

/* Sets up run r as `s` says; 0, or -1 with the message pushed on H. */
static int begin(lua_State *H, run *r, start *s)
{
    const char *msg;

    s->r = r;
    s->H = H;
    if (protect(r->b, start_p, s, &msg) != LUA_OK) {
        lua_pushstring(H, msg);
        return -1;
    }
    return 0;
}

/* box:start(fname, limits, ...) -> run: a call of module[fname](...). */
static int box_start(lua_State *H)
{
    start s = {0};
    run *r;

    s.fname = luaL_checkstring(H, 2);
    s.first = 4;
    s.n = lua_gettop(H) >= 4 ? lua_gettop(H) - 3 : 0;
    r = new_run(H, 1, 3);
    if (begin(H, r, &s) < 0)
        return lua_error(H);
    return 1;
}

/* Pushes (nil, message, reason) for a run that failed; finishes it. */
static int push_failure(lua_State *H, run *r, const char *msg, const char *reason)
{
    finish(r);
    lua_pushnil(H);
    lua_pushstring(H, msg);
    lua_pushstring(H, reason);
    return 3;
}

/* The message of the error object on T's top, never running its metamethods. */
static const char *error_text(lua_State *T, run *r, char *buf, size_t size)
{
    if (r->killed != NULL) {
        if (strcmp(r->killed, "memory limit") == 0)
            snprintf(buf, size, "memory limit exceeded (%lld bytes)", r->memory);
        else if (strcmp(r->killed, "time limit") == 0)
            snprintf(buf, size, "time limit exceeded (%.3g s)", r->time_limit);
        else
            snprintf(buf, size, "instruction limit exceeded (%lld instructions)", r->instructions);
    } else if (lua_type(T, -1) == LUA_TSTRING) {
        snprintf(buf, size, "%s", lua_tostring(T, -1));
    } else if (lua_type(T, -1) == LUA_TNUMBER) {
        snprintf(buf, size, "%.14g", lua_tonumber(T, -1));
    } else {
        snprintf(buf, size, "(error object is a %s value)", luaL_typename(T, -1));
    }
    return buf;
}

/*
 * run:resume(...) continues the run, passing ... as the results of the
 * request it is waiting in (nothing on the first call). Returns
 *   "done", results...       it returned (copied out)
 *   "request", op, args...   it called ctx.op(args...)
 *   nil, message, reason     it failed: reason is "error" or the limit
 *                            ("instruction limit", "memory limit", "time limit")
 */
static int run_resume(lua_State *H)
{
    run *r = check_run(H, 1);
    box *b = r->b;
    lua_State *T = r->T;
    int n = lua_gettop(H) - 1, status, nres = 0;
    char buf[512];

    if (b->L == NULL || T == NULL)
        return luaL_error(H, "run:resume: the run has finished");
    if (b->running != NULL)
        return luaL_error(H, "run:resume: the sandbox is already running");
    if (enigma_sandbox_monotonic() > r->deadline && r->started) {
        enigma_sandbox_kill(r, "time limit");
        return push_failure(H, r, error_text(T, r, buf, sizeof buf), r->killed);
    }
    if (!r->started) {
        r->started = 1;
        r->deadline = enigma_sandbox_monotonic() + r->time_limit;
        n = lua_gettop(T) - 1;
    } else if (n > 0) {
        enigma_sandbox_copy c = {H, T, 2, n, 0};
        const char *msg;

        if (!lua_checkstack(T, n) || protect(b, enigma_sandbox_copy_in_p, &c, &msg) != LUA_OK)
            return push_failure(H, r, "the sandbox has no memory left for the results",
                                "memory limit");
    }
    b->running = r;
    status = lua_resume(T, NULL, n, &nres);
    b->running = NULL;
    if (status == LUA_YIELD) {
        if (nres < 2 || lua_touserdata(T, -nres) != &enigma_sandbox_request_token) {
            lua_pop(T, nres);
            return push_failure(H, r, "the strategy yielded outside a ctx call", "error");
        }
        lua_pushliteral(H, "request");
        if (enigma_sandbox_copy_to_host(H, T, -nres + 1, nres - 1, 0) < 0) {
            snprintf(buf, sizeof buf, "ctx.%s: %s", lua_tostring(T, -nres + 1),
                     lua_tostring(H, -1));
            lua_pop(T, nres);
            return push_failure(H, r, buf, "error");
        }
        lua_pop(T, nres);
        return nres;
    }
    if (status == LUA_OK) {
        lua_pushliteral(H, "done");
        if (enigma_sandbox_copy_to_host(H, T, -nres, nres, 0) < 0) {
            snprintf(buf, sizeof buf, "result: %s", lua_tostring(H, -1));
            return push_failure(H, r, buf, "error");
        }
        finish(r);
        return nres + 1;
    }
    return push_failure(H, r, error_text(T, r, buf, sizeof buf), r->killed ? r->killed : "error");
}

/* run:kill([reason]): stops a run waiting in a request. */
static int run_kill(lua_State *H)
{
    run *r = check_run(H, 1);

    enigma_sandbox_kill(r, luaL_optstring(H, 2, "time limit")[0] == 'm' ? "memory limit"
                                                                        : "time limit");
    finish(r);
    return 0;
}

/* run:arg(i, key) -> a copy of the run's i-th argument's field `key` as it is
 * now (read raw: no metamethod of the script's runs). */
static int run_arg(lua_State *H)
{
    run *r = check_run(H, 1);
    lua_Integer i = luaL_checkinteger(H, 2);
    size_t klen, len;
    const char *key = luaL_checklstring(H, 3, &klen), *s;
    lua_State *B = r->b->L;
    int top;

    if (B == NULL || !lua_checkstack(B, 4))
        return luaL_error(H, "run:arg: the sandbox is closed");
    top = lua_gettop(B);
    if (r->ref <= 0 || lua_rawgeti(B, LUA_REGISTRYINDEX, r->ref) != LUA_TTABLE ||
        lua_rawgeti(B, -1, i + 1) != LUA_TTABLE) {
        lua_settop(B, top);
        lua_pushnil(H);
        return 1;
    }
    lua_pushnil(B);
    while (lua_next(B, -2)) {
        if (lua_type(B, -2) == LUA_TSTRING && (s = lua_tolstring(B, -2, &len)) != NULL &&
            len == klen && memcmp(s, key, len) == 0) {
            if (enigma_sandbox_copy_to_host(H, B, -1, 1, 0) < 0) {
                lua_settop(B, top);
                return lua_error(H);
            }
            lua_settop(B, top);
            return 1;
        }
        lua_pop(B, 1);
    }
    lua_settop(B, top);
    lua_pushnil(H);
    return 1;
}

/* run:used() -> instructions, seconds (since the first resume), net bytes. */
static int run_used(lua_State *H)
{
    run *r = check_run(H, 1);

    lua_pushinteger(H, r->instructions - (r->budget > 0 ? r->budget : 0));
    lua_pushnumber(H,
                   r->started ? enigma_sandbox_monotonic() - (r->deadline - r->time_limit) : 0.0);
    lua_pushinteger(H, r->grown);
    return 3;
}

/* run:close(): frees what the run holds in the box (also on __gc). */
static int run_close(lua_State *H)
{
    release(check_run(H, 1));
    return 0;
}

typedef struct keep {
    run *r;
} keep;

static int keep_module_p(lua_State *B)
{
    keep *k = lua_touserdata(B, 1);

    lua_pop(B, 1);
    lua_xmove(k->r->T, B, 1);
    lua_rawsetp(B, LUA_REGISTRYINDEX, &module_key);
    return 0;
}

/*
 * box:load(source, chunkname, limits) runs a script's text in the box under
 * the limits and keeps the table it returns as the module for box:start().
 * Returns a copy of the module with functions as the string "function", or
 * nil, message, reason as run:resume does.
 */
static int box_load(lua_State *H)
{
    start s = {0};
    run *r;
    int status, nres = 0;
    char buf[512];
    const char *msg;

    s.source = luaL_checklstring(H, 2, &s.len);
    s.chunkname = luaL_checkstring(H, 3);
    r = new_run(H, 1, 4);
    if (begin(H, r, &s) < 0) {
        lua_pushnil(H);
        lua_insert(H, -2);
        lua_pushliteral(H, "error");
        return 3;
    }
    r->started = 1;
    r->deadline = enigma_sandbox_monotonic() + r->time_limit;
    r->b->running = r;
    status = lua_resume(r->T, NULL, 0, &nres);
    r->b->running = NULL;
    if (status == LUA_YIELD)
        return push_failure(H, r, "the script yielded while loading", "error");
    if (status != LUA_OK)
        return push_failure(H, r, error_text(r->T, r, buf, sizeof buf),
                            r->killed ? r->killed : "error");
    if (nres < 1 || !lua_istable(r->T, -nres))
        return push_failure(H, r, "the script must return a table", "error");
    lua_settop(r->T, lua_gettop(r->T) - nres + 1);   /* the first result only */
    if (enigma_sandbox_copy_to_host(H, r->T, -1, 1, 1) < 0) {
        snprintf(buf, sizeof buf, "module: %s", lua_tostring(H, -1));
        return push_failure(H, r, buf, "error");
    }
    {
        keep k = {r};

        if (protect(r->b, keep_module_p, &k, &msg) != LUA_OK)
            return push_failure(H, r, msg, "memory limit");
    }
    release(r);
    return 1;
}

static const luaL_Reg box_methods[] = {{"load", box_load},     {"start", box_start},
                                       {"memory", box_memory}, {"collect", box_collect},
                                       {"close", box_close},   {NULL, NULL}};

static const luaL_Reg run_methods[] = {{"resume", run_resume}, {"kill", run_kill},
                                       {"arg", run_arg},       {"used", run_used},
                                       {"close", run_close},   {NULL, NULL}};

static const luaL_Reg funcs[] = {{"new", box_new}, {"op", enigma_sandbox_op_new}, {NULL, NULL}};

static void metatable(lua_State *H, const char *name, const luaL_Reg *methods, lua_CFunction gc)
{
    luaL_newmetatable(H, name);
    lua_newtable(H);
    luaL_setfuncs(H, methods, 0);
    lua_setfield(H, -2, "__index");
    lua_pushcfunction(H, gc);
    lua_setfield(H, -2, "__gc");
    lua_pop(H, 1);
}

ENIGMA_EXPORT int luaopen_enigma_sandbox(lua_State *H)
{
    metatable(H, BOX_MT, box_methods, box_close);
    metatable(H, RUN_MT, run_methods, run_close);
    enigma_sandbox_op_register(H);
    luaL_newlib(H, funcs);
    return 1;
}
