/*
 * enigma serve / jobs / agents: thin entries into the Lua command lines
 * (bindings/lua/enigma/runner_cli.lua, agents_cli.lua), which parse their own
 * options.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>

#include "bindings/host/alloc.h"
#include "bindings/host/host.h"

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

int enigma_cmd_serve(int argc, char **argv)
{
    return enigma_host_lua_command("enigma.runner_cli", "serve", argc, argv);
}

int enigma_cmd_jobs(int argc, char **argv)
{
    return enigma_host_lua_command("enigma.runner_cli", "jobs", argc, argv);
}

int enigma_cmd_agents(int argc, char **argv)
{
    return enigma_host_lua_command("enigma.agents_cli", "agents", argc, argv);
}
