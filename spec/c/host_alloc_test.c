/* host/alloc: the pooled allocator behind the program's Lua states. */
#include <lauxlib.h>
#include <lualib.h>

#include "host/alloc.h"
#include "test.h"

/* Grows and shrinks tables and strings across every size class and past the
 * pooled sizes, and checks the contents survived each move. */
static const char churn[] =
    "local t = {}\n"
    "for round = 1, 3 do\n"
    "  for i = 1, 2000 do t[i] = string.rep('x', i % 300) .. i end\n"
    "  for i = 1, 2000 do assert(t[i] == string.rep('x', i % 300) .. i) end\n"
    "  for i = 2000, 1, -1 do t[i] = nil end\n"
    "  local h = {}\n"
    "  for i = 1, 500 do h['k' .. i] = { i, tostring(i) } end\n"
    "  for i = 1, 500 do assert(h['k' .. i][2] == tostring(i)) end\n"
    "  collectgarbage()\n"
    "end\n"
    "local big = string.rep('y', 100000)\n"
    "return #big + #t\n";

int main(void)
{
    lua_State *L = enigma_host_alloc_newstate();

    CHECK(L != NULL);
    luaL_openlibs(L);
    CHECK(luaL_dostring(L, churn) == LUA_OK);
    CHECK(lua_tointeger(L, -1) == 100000);
    if (lua_type(L, -1) == LUA_TSTRING)
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    /* an error outside pcall is caught by the test's own pcall here */
    CHECK(luaL_dostring(L, "error('deliberate')") != LUA_OK);
    enigma_host_alloc_close(L);
    return test_report();
}
