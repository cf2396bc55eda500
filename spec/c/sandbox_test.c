/*
 * enigma.sandbox hosted from C, so that valgrind and ASan see every box's
 * whole life: boxes and runs made, killed by each limit, abandoned mid-request,
 * closed before and after their runs, and the host state closed (needs: bindings).
 * The Lua specs (spec/sandbox_spec.lua) test the behaviour; this tests the memory.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "bindings/binding.h"
#include "test.h"

/* Each case is a Lua chunk run in the host state with `sandbox` a global;
 * it returns the string it expects to be "ok". */
static const char *const cases[] = {
    /* a module, a tick with requests, state read back */
    "local box = sandbox.new{ memory = 16 << 20 }\n"
    "local m = assert(box:load('return { tick = function(ctx) ctx.log(1) ctx.state.n = 2 end }', '=t', {}))\n"
    "local run = box:start('tick', {}, { state = {}, log = sandbox.op('log') })\n"
    "local st, op = run:resume()\n"
    "assert(st == 'request' and op == 'log', st)\n"
    "assert(run:resume() == 'done')\n"
    "assert(run:arg(1, 'state').n == 2)\n"
    "run:close() box:close() return 'ok'",

    /* every limit, in the same box, then a healthy run */
    "local box = sandbox.new{}\n"
    "assert(box:load([[return { loop = function() while true do pcall(error) end end,\n"
    "  bomb = function() local t = {} while true do t[#t + 1] = ('x'):rep(64) .. #t end end,\n"
    "  slow = function() while true do end end, ok = function() return 7 end }]], '=t', {}))\n"
    "local _, _, why = box:start('loop', { instructions = 100000 }):resume()\n"
    "assert(why == 'instruction limit', why)\n"
    "_, _, why = box:start('bomb', { memory = 1 << 20 }):resume()\n"
    "assert(why == 'memory limit', why)\n"
    "_, _, why = box:start('slow', { instructions = 1e12, time = 0.05 }):resume()\n"
    "assert(why == 'time limit', why)\n"
    "local st, v = box:start('ok', {}):resume()\n"
    "assert(st == 'done' and v == 7)\n"
    "return 'ok'",

    /* a run abandoned in a request, and one left suspended when its box closes */
    "local box = sandbox.new{}\n"
    "assert(box:load('return { t = function(ctx) ctx.wait() return 1 end }', '=t', {}))\n"
    "local a = box:start('t', {}, { wait = sandbox.op('wait') })\n"
    "assert(a:resume() == 'request') a:kill()\n"
    "local b = box:start('t', {}, { wait = sandbox.op('wait') })\n"
    "assert(b:resume() == 'request')\n"
    "box:close()\n"
    "assert(not pcall(b.resume, b))\n"
    "return 'ok'",

    /* compile errors, bad results, values that cannot leave */
    "local box = sandbox.new{}\n"
    "local m, err = box:load('return {', '=t', {}) assert(not m and err:find('expected'))\n"
    "m, err = box:load('return 1', '=t', {}) assert(m == false and err == 'number')\n"
    "m, err = box:load('x = 1', '=t', {}) assert(m == false and err == 'nil')\n"
    "assert(box:load('return { f = function() return print or pairs end }', '=t', {}))\n"
    "local st, msg = box:start('f', {}):resume() assert(st == nil and msg:find('function cannot leave'))\n"
    "return 'ok'",
};

int main(void)
{
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lua_State *L = luaL_newstate();

        luaL_openlibs(L);
        luaL_requiref(L, "enigma.sandbox", luaopen_enigma_sandbox, 0);
        lua_setglobal(L, "sandbox");
        if (luaL_dostring(L, cases[i]) != LUA_OK) {
            fprintf(stderr, "case %zu: %s\n", i, lua_tostring(L, -1));
            CHECK(0);
        } else {
            CHECK_STR(lua_tostring(L, -1), "ok");
        }
        lua_close(L);
    }
    return test_report();
}
