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
 *  - the hook counts instructions and checks the clock every HOOK_EVERY
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
#include "bindings/sandbox_match.h"

#include <lualib.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BOX_MT "enigma.sandbox.box"
#define RUN_MT "enigma.sandbox.run"
#define HOOK_EVERY 1000
#define COPY_DEPTH 32
#define SHIFT_MAX (1 << 22)            /* elements table.move/insert/remove may shift */

typedef struct run run;

typedef struct box {
    lua_State *L;                      /* NULL once closed */
    size_t used, cap;                  /* bytes held by L, and their ceiling */
    run *running;                      /* the run executing now, or NULL */
} box;

struct run {
    box *b;
    lua_State *T;                      /* its thread in b->L; NULL when finished */
    int ref;                           /* anchors {T, args...} in b->L's registry */
    int started;
    long long budget;                  /* instructions left */
    double deadline;                   /* monotonic seconds */
    long long grown, grow_cap;         /* net bytes allocated while running */
    const char *killed;                /* the limit that stopped it, or NULL */
    double time_limit;
    long long instructions, memory;
};

static const char request_token = 'r';   /* first value of every request */
static const char module_key = 'm';      /* registry: the loaded module */
static const char op_key = 'o';          /* host registry: op marker metatable */

static double monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static box *box_of(lua_State *L)
{
    void *ud;

    lua_getallocf(L, &ud);
    return ud;
}

/* ---- limits ----------------------------------------------------------- */

static void kill(run *r, const char *limit)
{
    if (r->killed == NULL)
        r->killed = limit;
}

static int raise_killed(lua_State *L, run *r)
{
    if (strcmp(r->killed, "memory limit") == 0)
        return luaL_error(L, "memory limit exceeded (%lld bytes)", r->memory);
    if (strcmp(r->killed, "time limit") == 0)
        return luaL_error(L, "time limit exceeded (%.3g s)", r->time_limit);
    return luaL_error(L, "instruction limit exceeded (%lld instructions)", r->instructions);
}

/* Charges `n` steps of work to the running run; raises once it is over. */
static void charge(lua_State *L, void *ud, unsigned long n)
{
    run *r = box_of(L)->running;

    (void)ud;
    if (r == NULL)
        return;
    r->budget -= (long long)n;
    if (r->budget < 0)
        kill(r, "instruction limit");
    else if (monotonic() > r->deadline)
        kill(r, "time limit");
    if (r->killed != NULL)
        raise_killed(L, r);
}

static void hook(lua_State *L, lua_Debug *ar)
{
    run *r = box_of(L)->running;

    (void)ar;
    if (r == NULL)
        return;
    if (r->killed == NULL) {
        int count = lua_gethookcount(L);

        if (count != HOOK_EVERY)       /* a thread left re-armed by a killed run */
            lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_EVERY);
        charge(L, NULL, (unsigned long)count);
        return;
    }
    lua_sethook(L, hook, LUA_MASKCOUNT, 1);
    raise_killed(L, r);
}

/* lua_Alloc. Shrinking never fails; growth is refused past the box's
 * ceiling, past the running run's, and for a run already killed. */
static void *box_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    box *b = ud;
    run *r = b->running;
    void *fresh;

    if (ptr == NULL)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        b->used -= osize;
        if (r != NULL)
            r->grown -= (long long)osize;
        return NULL;
    }
    if (nsize > osize) {
        size_t more = nsize - osize;

        if (b->used + more > b->cap || (r != NULL && (r->killed != NULL ||
                                                      r->grown + (long long)more > r->grow_cap))) {
            if (r != NULL)
                kill(r, "memory limit");
            return NULL;
        }
    }
    fresh = realloc(ptr, nsize);
    if (fresh == NULL)
        return nsize <= osize ? ptr : NULL;
    b->used += nsize;
    b->used -= osize;
    if (r != NULL)
        r->grown += (long long)nsize - (long long)osize;
    return fresh;
}

/* ---- the box's library ------------------------------------------------ */

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
        lua_Integer pos = lua_gettop(L) >= (name[0] == 'i' ? 3 : 2)
                              ? luaL_checkinteger(L, 2) : len;

        n = len >= pos ? len - pos : 0;
    }
    if (n > SHIFT_MAX)
        return luaL_error(L, "table.%s: %I elements is more than the sandbox shifts (%d)",
                          name, (LUAI_UACINT)n, SHIFT_MAX);
    charge(L, NULL, (unsigned long)n);
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

static const char *const forbidden[] = {
    "dofile", "loadfile", "collectgarbage", "print", "require", NULL
};

static int open_box(lua_State *L)
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
    enigma_sandbox_patterns(L, -1, charge, NULL);
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
    lua_sethook(L, hook, LUA_MASKCOUNT, HOOK_EVERY);   /* inherited by every thread */
    return 0;
}

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

/* ---- copying ------------------------------------------------------------ */

/* Pushes a request function for op `name` (the string at H's top-1 slot). */
static int request(lua_State *L)
{
    run *r = box_of(L)->running;
    int n = lua_gettop(L);

    if (r == NULL || L != r->T)
        return luaL_error(L, "ctx.%s: ctx functions can only be called by the strategy "
                          "function itself, not from a coroutine it created",
                          lua_tostring(L, lua_upvalueindex(1)));
    luaL_checkstack(L, 2, NULL);
    lua_pushlightuserdata(L, (void *)&request_token);
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
static void copy_in(lua_State *B, lua_State *H, int idx, int depth)
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
            copy_in(B, H, -2, depth + 1);
            copy_in(B, H, -1, depth + 1);
            lua_rawset(B, -3);
            lua_pop(H, 1);
        }
        break;
    default:
        luaL_error(B, "cannot pass a %s into the sandbox", lua_typename(H, lua_type(H, idx)));
    }
}

typedef struct copy {
    lua_State *from, *to;
    int first, n;                      /* slots of `from` to copy */
    int functions;                     /* copy out: a function becomes "function" */
} copy;

static int copy_in_p(lua_State *B)
{
    copy *c = lua_touserdata(B, 1);
    int i;

    lua_pop(B, 1);
    for (i = 0; i < c->n; i++)
        copy_in(B, c->from, c->first + i, 0);
    lua_xmove(B, c->to, c->n);         /* the caller made room */
    return 0;
}

/* Pushes onto host H a copy of box value B[idx]; raises in H. B is only
 * read; its stack grows by at most two slots per level, restored on return. */
static void copy_out(lua_State *H, lua_State *B, int idx, int depth, int functions)
{
    size_t len;
    const char *s;

    luaL_checkstack(H, 3, NULL);
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
            copy_out(H, B, -2, depth + 1, 0);
            copy_out(H, B, -1, depth + 1, functions);
            lua_rawset(H, -3);
            lua_pop(B, 1);
        }
        break;
    default:
        luaL_error(H, "a %s cannot leave the sandbox", lua_typename(B, lua_type(B, idx)));
    }
}

static int copy_out_p(lua_State *H)
{
    copy *c = lua_touserdata(H, 1);
    int i;

    lua_pop(H, 1);
    for (i = 0; i < c->n; i++)
        copy_out(H, c->from, c->first + i, 0, c->functions);
    return c->n;
}

/* Copies B[first .. first+n-1] onto H. 0, or -1 with the message on H. */
static int copy_to_host(lua_State *H, lua_State *B, int first, int n, int functions)
{
    copy c = {B, H, lua_absindex(B, first), n, functions};
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
    b->L = lua_newstate(box_alloc, b);
    if (b->L == NULL)
        return luaL_error(H, "sandbox: not enough memory for a new state");
    if (protect(b, open_box, NULL, &msg) != LUA_OK) {
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
        copy_in(B, s->H, s->first + i, 0);
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
    if (monotonic() > r->deadline && r->started) {
        kill(r, "time limit");
        return push_failure(H, r, error_text(T, r, buf, sizeof buf), r->killed);
    }
    if (!r->started) {
        r->started = 1;
        r->deadline = monotonic() + r->time_limit;
        n = lua_gettop(T) - 1;
    } else if (n > 0) {
        copy c = {H, T, 2, n, 0};
        const char *msg;

        if (!lua_checkstack(T, n) || protect(b, copy_in_p, &c, &msg) != LUA_OK)
            return push_failure(H, r, "the sandbox has no memory left for the results",
                                "memory limit");
    }
    b->running = r;
    status = lua_resume(T, NULL, n, &nres);
    b->running = NULL;
    if (status == LUA_YIELD) {
        if (nres < 2 || lua_touserdata(T, -nres) != &request_token) {
            lua_pop(T, nres);
            return push_failure(H, r, "the strategy yielded outside a ctx call", "error");
        }
        lua_pushliteral(H, "request");
        if (copy_to_host(H, T, -nres + 1, nres - 1, 0) < 0) {
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
        if (copy_to_host(H, T, -nres, nres, 0) < 0) {
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

    kill(r, luaL_optstring(H, 2, "time limit")[0] == 'm' ? "memory limit" : "time limit");
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
            if (copy_to_host(H, B, -1, 1, 0) < 0) {
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
    lua_pushnumber(H, r->started ? monotonic() - (r->deadline - r->time_limit) : 0.0);
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
    r->deadline = monotonic() + r->time_limit;
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
    if (copy_to_host(H, r->T, -1, 1, 1) < 0) {
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

/* sandbox.op(name) -> a value that arrives in the box as ctx function `name`. */
static int op_new(lua_State *H)
{
    luaL_checkstring(H, 1);
    lua_createtable(H, 1, 0);
    lua_pushvalue(H, 1);
    lua_rawseti(H, -2, 1);
    lua_rawgetp(H, LUA_REGISTRYINDEX, &op_key);
    lua_setmetatable(H, -2);
    return 1;
}

static const luaL_Reg box_methods[] = {
    {"load", box_load},
    {"start", box_start},
    {"memory", box_memory},
    {"collect", box_collect},
    {"close", box_close},
    {NULL, NULL}
};

static const luaL_Reg run_methods[] = {
    {"resume", run_resume},
    {"kill", run_kill},
    {"arg", run_arg},
    {"used", run_used},
    {"close", run_close},
    {NULL, NULL}
};

static const luaL_Reg funcs[] = {
    {"new", box_new},
    {"op", op_new},
    {NULL, NULL}
};

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

int luaopen_enigma_sandbox(lua_State *H)
{
    metatable(H, BOX_MT, box_methods, box_close);
    metatable(H, RUN_MT, run_methods, run_close);
    lua_createtable(H, 0, 1);
    lua_pushliteral(H, "enigma.sandbox.op");
    lua_setfield(H, -2, "__name");
    lua_rawsetp(H, LUA_REGISTRYINDEX, &op_key);
    luaL_newlib(H, funcs);
    return 1;
}
