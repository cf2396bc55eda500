/*
 * enigma.sandbox: untrusted Lua in a state of its own.
 *
 * A box is a separate lua_State with allow-listed globals, a counting
 * allocator with a ceiling, and a count hook on every thread it makes. Code
 * in a box never sees a value of the host's: arguments are copied in and
 * results copied out as plain data (nil, booleans, numbers, strings and
 * tables of them), so neither a metatable nor a function crosses over.
 *
 * A script is compiled once, as the body of a function of its environment
 * ("return function(_ENV, ...) <script> end", after checking that the text
 * compiles alone, so the wrapper cannot change how it parses). Each call of
 * that function with a fresh environment (enigma_sandbox_env) is an
 * instance: the script's own globals, upvalues and module table. box:load
 * makes the template instance; box:start_for(key, ...) runs in the instance
 * of `key` (made on first use, within that run and its limits), so what one
 * key's runs keep is never seen by another's. What instances share (the
 * compiled code and the library's C functions) cannot be changed.
 *
 * A run is one call of a function an instance's module exports, with its own
 * budget: instructions, wall-clock time and net memory growth. It talks to
 * the host only by yielding a request: `sandbox.op(name)` values passed in
 * arrive in the box as functions that yield (name, args...) to the host's
 * run:resume(), whose next call's arguments become their results.
 *
 * Limits are enforced where untrusted code cannot reach them:
 *  - the hook counts instructions and checks the clock every 1000
 *    instructions; once a run is killed the run ends at its next
 *    instruction (the hook yields it), whatever pcall surrounds it, and the
 *    run is a failure however it ended: a broken limit is final;
 *  - the allocator refuses growth past the run's or the box's ceiling, and
 *    every growth once the run is killed;
 *  - the C functions a script could make long are metered (sandbox_lib.c,
 *    sandbox_table.c, sandbox_match.c), and C re-entry is bounded by the C
 *    stack a run may use.
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

static const char module_key = 'm';      /* registry: the template's module */
static const char factory_key = 'f';     /* registry: the script as a function of _ENV */
static const char instances_key = 'i';   /* registry: key -> an instance's module */

/* Instances a box keeps, by default; it also starts again once they hold
 * half its memory. */
#define INSTANCES 4096

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
    b->instances = 0;
    luaL_setmetatable(H, BOX_MT);
    b->cap = (size_t)opt_limit(H, 1, "memory", 64 << 20);
    b->instance_cap = (int)opt_limit(H, 1, "instances", INSTANCES);
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
    int key;                           /* H's slot of an instance's key, or 0 */
    int first, n;                      /* H's argument slots */
} start;

/* Pieces of the wrapped script for lua_load: prefix, the text, suffix. */
typedef struct pieces {
    const char *text[3];
    size_t len[3];
    int next;
} pieces;

static const char *read_pieces(lua_State *B, void *ud, size_t *size)
{
    pieces *p = ud;

    (void)B;
    if (p->next == 3) {
        *size = 0;
        return NULL;
    }
    *size = p->len[p->next];
    return p->text[p->next++];
}

/* Compiles the script as a function of its environment; keeps it, and a
 * fresh table of instances, in the registry. */
static int compile(lua_State *B, start *s)
{
    static const char prefix[] = "return function(_ENV, ...) ", suffix[] = "\nend";
    pieces p = {{prefix, s->source, suffix}, {sizeof prefix - 1, s->len, sizeof suffix - 1}, 0};

    if (luaL_loadbufferx(B, s->source, s->len, s->chunkname, "t") != LUA_OK)
        return lua_error(B);
    lua_pop(B, 1);
    if (lua_load(B, read_pieces, &p, s->chunkname, "t") != LUA_OK)
        return lua_error(B);
    lua_call(B, 0, 1);                 /* only returns the function: no script code runs */
    lua_rawsetp(B, LUA_REGISTRYINDEX, &factory_key);
    lua_newtable(B);
    lua_rawsetp(B, LUA_REGISTRYINDEX, &instances_key);
    s->r->b->instances = 0;
    return 0;
}

/* Results of the call lua_callk made from slot `first` on. */
static int call_done(lua_State *T, int status, lua_KContext first)
{
    (void)status;
    return lua_gettop(T) - (int)first + 1;
}

/* With key, fname, args..., module on T's stack: calls module[fname](args...)
 * (fname nil: returns the module). */
static int call_in(lua_State *T)
{
    int nargs = lua_gettop(T) - 3;

    if (lua_isnil(T, 2))
        return 1;
    if (lua_getfield(T, -1, lua_tostring(T, 2)) != LUA_TFUNCTION)
        return luaL_error(T, "the script has no function '%s'", lua_tostring(T, 2));
    lua_remove(T, -2);
    lua_rotate(T, 3, 1);
    lua_callk(T, nargs, LUA_MULTRET, 3, call_done);
    return call_done(T, LUA_OK, 3);
}

/* An instance was made (its module on the top, the instances table below):
 * kept under its key (a nil key is the template's, kept by box:load). */
static int made(lua_State *T, int status, lua_KContext ctx)
{
    enigma_sandbox_box *b = enigma_sandbox_box_of(T);

    (void)status;
    (void)ctx;
    if (!lua_isnil(T, 1)) {
        if (!lua_istable(T, -1))
            return luaL_error(T, "the script must return a table, not %s", luaL_typename(T, -1));
        if (b->instances >= b->instance_cap || b->used > b->cap / 2) {   /* full: start again */
            lua_newtable(T);
            lua_replace(T, -3);
            lua_pushvalue(T, -2);
            lua_rawsetp(T, LUA_REGISTRYINDEX, &instances_key);
            b->instances = 0;
        }
        lua_pushvalue(T, 1);
        lua_pushvalue(T, -2);
        lua_rawset(T, -4);
        b->instances++;
    }
    lua_remove(T, -2);
    return call_in(T);
}

/* The function of an instance's run: (key, fname, args...). Finds or makes
 * the instance of key, then calls its fname. Runs in the run, under its
 * limits; calls with lua_callk so the run can yield its requests. */
static int enter(lua_State *T)
{
    luaL_checkstack(T, 6, NULL);
    lua_rawgetp(T, LUA_REGISTRYINDEX, &instances_key);
    if (!lua_isnil(T, 1)) {
        lua_pushvalue(T, 1);
        if (lua_rawget(T, -2) == LUA_TTABLE) {
            lua_remove(T, -2);
            return call_in(T);
        }
        lua_pop(T, 1);
    }
    lua_rawgetp(T, LUA_REGISTRYINDEX, &factory_key);
    enigma_sandbox_env(T);
    lua_callk(T, 1, 1, 0, made);
    return made(T, LUA_OK, 0);
}

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
    luaL_checkstack(T, s->n + 3, NULL);
    if (s->source != NULL) {           /* box:load: the template instance */
        compile(B, s);
        lua_pushcfunction(T, enter);
        lua_pushnil(T);
        lua_pushnil(T);
    } else if (s->key != 0) {          /* box:start_for: key's instance */
        if (lua_rawgetp(B, LUA_REGISTRYINDEX, &factory_key) != LUA_TFUNCTION)
            return luaL_error(B, "sandbox has no script loaded");
        lua_pop(B, 1);
        lua_pushcfunction(T, enter);
        enigma_sandbox_copy_in(B, s->H, s->key, 0);
        lua_xmove(B, T, 1);
        lua_pushstring(T, s->fname);
    } else {                           /* box:start: the template's */
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

/* Starts a run of the function named at H[key + 1] (key: H's slot of an
 * instance's key, or 0 for the template), its limits next, its arguments
 * after them. */
static int start_run(lua_State *H, int key)
{
    int fname = key ? key + 1 : 2;
    start s = {0};
    run *r;

    s.key = key;
    s.fname = luaL_checkstring(H, fname);
    s.first = fname + 2;
    s.n = lua_gettop(H) >= s.first ? lua_gettop(H) - s.first + 1 : 0;
    r = new_run(H, 1, fname + 1);
    if (begin(H, r, &s) < 0)
        return lua_error(H);
    return 1;
}

/* box:start(fname, limits, ...) -> run: a call of module[fname](...). */
static int box_start(lua_State *H)
{
    return start_run(H, 0);
}

/* box:start_for(key, fname, limits, ...) -> run: a call of fname(...) in
 * the instance of `key` (a string), made first if the box has none. */
static int box_start_for(lua_State *H)
{
    luaL_checktype(H, 2, LUA_TSTRING);
    return start_run(H, 2);
}

static int forget_p(lua_State *B)
{
    const char *key = lua_touserdata(B, 1);

    if (lua_rawgetp(B, LUA_REGISTRYINDEX, &instances_key) == LUA_TTABLE) {
        lua_pushstring(B, key);
        if (lua_rawget(B, -2) != LUA_TNIL) {
            lua_pushstring(B, key);
            lua_pushnil(B);
            lua_rawset(B, -4);
            enigma_sandbox_box_of(B)->instances--;
        }
    }
    return 0;
}

/* box:forget(key): drops key's instance (its next run makes a new one). */
static int box_forget(lua_State *H)
{
    box *b = check_box(H, 1);
    const char *key = luaL_checkstring(H, 2), *msg;

    protect(b, forget_p, (void *)key, &msg);
    return 0;
}

static int reset_p(lua_State *B)
{
    lua_newtable(B);
    lua_rawsetp(B, LUA_REGISTRYINDEX, &instances_key);
    enigma_sandbox_box_of(B)->instances = 0;
    lua_gc(B, LUA_GCCOLLECT);
    return 0;
}

/* box:reset() -> bytes held after: drops every instance (each key's next run makes a new
 * one) and collects. For a box whose instances grew, tick by tick, past what it can spare. */
static int box_reset(lua_State *H)
{
    box *b = check_box(H, 1);
    const char *msg;

    if (b->running == NULL)
        protect(b, reset_p, NULL, &msg);
    lua_pushinteger(H, (lua_Integer)b->used);
    return 1;
}

/* box:instances() -> how many instances the box keeps. */
static int box_instances(lua_State *H)
{
    lua_pushinteger(H, check_box(H, 1)->instances);
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
        enigma_sandbox_copy c = {H, T, 2, n, 0, 0};
        const char *msg;

        if (!lua_checkstack(T, n) || protect(b, enigma_sandbox_copy_in_p, &c, &msg) != LUA_OK)
            return push_failure(H, r, "the sandbox has no memory left for the results",
                                "memory limit");
    }
    b->running = r;
    ENIGMA_SANDBOX_STACK_TOP(r);
    status = lua_resume(T, NULL, n, &nres);
    b->running = NULL;
    if (r->killed != NULL) {           /* final, however the run ended */
        if (status == LUA_OK || status == LUA_YIELD)
            lua_pop(T, nres);
        return push_failure(H, r, error_text(T, r, buf, sizeof buf), r->killed);
    }
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
 * box:load(source, chunkname, limits) compiles a script's text in the box
 * and runs its template instance under the limits, keeping the table it
 * returns as the module for box:start(). Returns a copy of the module with
 * functions as the string "function"; false and the type of what it
 * returned when that is not a table (a plain script, which has run); or
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
    ENIGMA_SANDBOX_STACK_TOP(r);
    status = lua_resume(r->T, NULL, 2, &nres);
    r->b->running = NULL;
    if (r->killed != NULL)
        return push_failure(H, r, error_text(r->T, r, buf, sizeof buf), r->killed);
    if (status == LUA_YIELD)
        return push_failure(H, r, "the script yielded while loading", "error");
    if (status != LUA_OK)
        return push_failure(H, r, error_text(r->T, r, buf, sizeof buf), "error");
    if (nres < 1 || !lua_istable(r->T, -nres)) {   /* a plain script: it ran */
        lua_pushboolean(H, 0);
        lua_pushstring(H, nres < 1 ? "no value" : luaL_typename(r->T, -nres));
        release(r);
        return 2;
    }
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

static const luaL_Reg box_methods[] = {{"load", box_load},           {"start", box_start},
                                       {"start_for", box_start_for}, {"forget", box_forget},
                                       {"instances", box_instances}, {"reset", box_reset},
                                       {"memory", box_memory},       {"collect", box_collect},
                                       {"close", box_close},         {NULL, NULL}};

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
