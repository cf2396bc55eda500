/*
 * The program's Lua states: standard libraries, the enigma package preloaded,
 * errors printed with a traceback; and the commands written in Lua
 * (lua/enigma/cli/), entered through their main().
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>

#include "bindings/binding.h"
#include "alloc.h"
#include "host.h"

lua_State *enigma_host_newstate(void)
{
    lua_State *L = enigma_host_alloc_newstate();

    if (L == NULL)
        return NULL;
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_enigma);
    lua_setfield(L, -2, "enigma");
    lua_pop(L, 1);

    enigma_lua_package_path(L); /* so `require "enigma.x"` works before "enigma" */
    return L;
}

/* Like lua.c's msghandler: a message with a traceback. An enigma.error is
 * described as the REPL shows it (its code, and a caret under the position
 * in its statement); other objects by their __tostring. */
static int traceback(lua_State *L)
{
    enigma_lua_error_describe(L, 1);
    luaL_traceback(L, L, lua_tostring(L, -1), 1);
    return 1;
}

int enigma_host_pcall(lua_State *L, int nargs, int nresults)
{
    int base = lua_gettop(L) - nargs, status;

    lua_pushcfunction(L, traceback);
    lua_insert(L, base);
    status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    if (status != LUA_OK) {
        fprintf(stderr, "enigma: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
    return status;
}

int enigma_host_lua_command(const char *module, const char *command, int argc, char **argv)
{
    lua_State *L = enigma_host_newstate();
    int i, code = 1;

    if (L == NULL) {
        fputs("enigma: cannot create a Lua state: out of memory\n", stderr);
        return 1;
    }
    lua_getglobal(L, "require");
    lua_pushstring(L, module);
    if (enigma_host_pcall(L, 1, 1) == LUA_OK) {
        lua_getfield(L, -1, "main");
        lua_pushstring(L, command);
        lua_createtable(L, argc, 0);
        for (i = 0; i < argc; i++) {
            lua_pushstring(L, argv[i]);
            lua_rawseti(L, -2, i + 1);
        }
        if (enigma_host_pcall(L, 2, 1) == LUA_OK)
            code = (int)luaL_optinteger(L, -1, 0);
    }
    enigma_host_alloc_close(L);
    return code;
}
