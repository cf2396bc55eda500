/*
 * Fuzzes the sandbox with generated Lua programs. Each input is read as a
 * program: every byte picks a fragment (a block to open or close, or a
 * statement built from the dangerous parts of the library: the table
 * functions at the integer extremes, long strings, patterns, load readers,
 * coroutines, to-be-closed variables, metamethods, loops and pcall), and the
 * bytes after it pick the fragment's integers. The program is a strategy's
 * tick, loaded and run in a box of its own under small limits.
 *
 * Properties: the host never crashes and never sees an error from the
 * sandbox's API; every run ends as done, an error or a limit; it ends within
 * its time limit (plus the slack of one metered call) and never runs more
 * instructions than its budget plus one charge.
 *
 * needs: bindings
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <string.h>
#include <time.h>

#include "fuzz.h"

int luaopen_enigma_sandbox(lua_State *L);

#define INSTRUCTIONS 200000
#define TIME_LIMIT 0.1
#define PROGRAM_MAX 16384
#define DEPTH_MAX 8

static const char *const ints[] = {
    "math.mininteger", "math.maxinteger", "0",  "-1",    "1",   "2",   "3",  "255",
    "1 << 31",         "(1 << 53) + 1",   "#t", "1e300", "0/0", "1/0", "-2", "math.maxinteger - 1",
};
static const char *const smalls[] = {"0", "1", "2", "16", "1000", "1 << 16", "1 << 20", "40"};

typedef struct block {
    const char *open, *close;
} block;

static const block blocks[] = {
    {"for i = 1, %s do ", "end "},
    {"pcall(function() ", "end) "},
    {"do local x <close> = setmetatable({}, { __close = function() ", "end }) end "},
    {"pcall(coroutine.wrap(function() ", "end)) "},
    {"do local co = coroutine.create(function() ",
     "end) coroutine.resume(co) coroutine.close(co) end "},
    {"pcall(table.sort, t, function(a, b) ", "return tostring(a) < tostring(b) end) "},
    {"s = string.gsub(s, '.', function(c) ", "return c end) "},
    {"setmetatable(t, { __index = function(_, k) ", "return k end }) "},
    {"xpcall(function() ", "end, function(e) return e end) "},
};

static const char *const statements[] = {
    "table.insert(t, %s, %s) ",
    "table.move(t, %s, %s, %s) ",
    "table.remove(t, %s) ",
    "s = table.concat(t, '', %s, %s) ",
    "s = s:rep(%s) ",
    "load(function() return s end) ",
    "while true do end ",
    "local a = {} for i = 1, 1e7 do a[i] = s end ",
    "s = string.format('%%5.1f %%d', %s, %s) ",
    "s:find(('a*'):rep(%s) .. 'b') ",
    "error(%s) ",
    "t[%s] = s ",
    "s = utf8.char(%s) ",
    "s = string.pack('i' .. %s, %s) ",
    "select(%s, 1, 2) ",
    "table.unpack(t, %s, %s) ",
    "coroutine.yield() ",
    "setmetatable(t, { __len = function() return %s end }) ",
    "t = { s, s, 1, 2 } ",
    "s = tostring(%s) .. s ",
    "coroutine.close(coroutine.create(function() end)) ",
    "s = string.rep(s, %s, s) ",
    "local _ = s < s .. 'x' ",
    "load(s) ",
    "s = ('x'):rep(%s):upper():reverse() ",
    "table.sort(t) ",
    "s = s:sub(%s, %s) ",
    "s = utf8.len(s) and s or '' ",
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct program {
    char text[PROGRAM_MAX];
    size_t len;
    const uint8_t *in, *end;
} program;

static int next_byte(program *p)
{
    return p->in < p->end ? *p->in++ : 0;
}

static const char *pick_int(program *p)
{
    return ints[next_byte(p) % COUNT(ints)];
}

/* Appends a fragment with its integers: each `%s` takes the next byte's
 * pick, the first one of smalls where the fragment sizes something. */
static void emit(program *p, const char *fragment, int small)
{
    const char *arg[3] = {"0", "0", "0"}, *f;
    int n, k = 0;

    for (f = strstr(fragment, "%s"); f != NULL && k < 3; f = strstr(f + 2, "%s"), k++)
        arg[k] = k == 0 && small ? smalls[next_byte(p) % COUNT(smalls)] : pick_int(p);
    n = snprintf(p->text + p->len, sizeof p->text - p->len, fragment, arg[0], arg[1], arg[2]);

    if (n > 0 && (size_t)n < sizeof p->text - p->len)
        p->len += (size_t)n;
}

static void generate(program *p)
{
    const block *open[DEPTH_MAX];
    int depth = 0;

    p->len = 0;
    emit(p, "local t, s = { 1, 2, 3 }, 'abc' return { tick = function(ctx) ", 0);
    while (p->in < p->end && p->len < sizeof p->text - 512) {
        int op = next_byte(p);

        if (op < 64 && depth < DEPTH_MAX) {
            const block *blk = &blocks[op % COUNT(blocks)];

            emit(p, blk->open, 1);
            open[depth++] = blk;
        } else if (op < 96 && depth > 0) {
            emit(p, open[--depth]->close, 0);
        } else {
            const char *st = statements[(op >> 1) % COUNT(statements)];

            if (op & 1)                /* half of them run under pcall, so programs go on */
                emit(p, "pcall(function() ", 0);
            emit(p, st, strstr(st, "rep(%s)") != NULL || strstr(st, "'i' ..") != NULL);
            if (op & 1)
                emit(p, "end) ", 0);
        }
    }
    while (depth > 0)
        emit(p, open[--depth]->close, 0);
    emit(p, "end }", 0);
}

static const char driver[] =
    "local sandbox, src, instructions, time = ...\n"
    "local limits = { instructions = instructions, memory = 4 << 20, time = time }\n"
    "local box = sandbox.new{ memory = 32 << 20 }\n"
    "local m, err, why = box:load(src, '=fuzz', limits)\n"
    "if m == nil then box:close() return why, 0 end\n"
    "local run = box:start_for('k', 'tick', limits, {})\n"
    "local st, msg, reason = run:resume()\n"
    "local used = run:used()\n"
    "run:close() box:close()\n"
    "return st == 'done' and 'done' or reason or st, used\n";

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static lua_State *H;
    static program p;
    const char *outcome;
    double started, took;
    lua_Integer used;
    int known;

    if (H == NULL) {
        H = luaL_newstate();
        luaL_openlibs(H);
    }
    p.in = data;
    p.end = data + size;
    generate(&p);
    lua_settop(H, 0);
    FUZZ_ASSERT(luaL_loadbuffer(H, driver, sizeof driver - 1, "=driver") == LUA_OK);
    luaopen_enigma_sandbox(H);
    lua_pushlstring(H, p.text, p.len);
    lua_pushinteger(H, INSTRUCTIONS);
    lua_pushnumber(H, TIME_LIMIT);
    started = now();
    if (lua_pcall(H, 4, 2, 0) != LUA_OK) {
        fprintf(stderr, "the host saw an error: %s\nprogram: %s\n", lua_tostring(H, -1), p.text);
        FUZZ_ASSERT(0);
    }
    took = now() - started;
    if (getenv("FUZZ_VERBOSE") != NULL)
        fprintf(stderr, "%s %.3f s: %s\n", lua_tostring(H, 1), took, p.text);
    outcome = lua_tostring(H, 1);
    used = lua_tointeger(H, 2);
    known = outcome != NULL &&
            (strcmp(outcome, "done") == 0 || strcmp(outcome, "error") == 0 ||
             strcmp(outcome, "instruction limit") == 0 || strcmp(outcome, "memory limit") == 0 ||
             strcmp(outcome, "time limit") == 0);
    if (!known)
        fprintf(stderr, "outcome %s\nprogram: %s\n", outcome ? outcome : "(none)", p.text);
    FUZZ_ASSERT(known);
    /* twice the limit (load and the run each have one), and a second of slack for
     * one metered call on a loaded (or sanitized) machine */
    if (took > 2 * TIME_LIMIT + 1.0)
        fprintf(stderr, "took %.3f s\nprogram: %s\n", took, p.text);
    FUZZ_ASSERT(took <= 2 * TIME_LIMIT + 1.0);
    /* one charge may overshoot: a load slice (16 Ki steps) or a metered result */
    FUZZ_ASSERT(used <= INSTRUCTIONS + (1 << 20));
    return 0;
}
