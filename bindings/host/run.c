/*
 * enigma run FILE.lua [ARGS...]: the Lua state, and running a script in it.
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <string.h>

#include "bindings/binding.h"
#include "bindings/host/alloc.h"
#include "bindings/host/host.h"

static const char run_usage[] =
    "usage: enigma run FILE.lua [ARGS...]\n"
    "       enigma run --sandbox FILE.lua\n"
    "\n"
    "Runs a Lua 5.4 script with the enigma package preloaded (require \"enigma\").\n"
    "The script gets its arguments as `arg` (arg[0] is FILE.lua) and as `...`.\n"
    "An error prints its message and a traceback on stderr and exits 1.\n"
    "\n"
    "--sandbox runs FILE as an agent tick runs: sandboxed, with its limits and a\n"
    "ctx without a database; exit 3 when a limit stopped it (--sandbox --help).\n";

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

    /* The source tree's Lua half comes first, so `require "enigma.x"` works anywhere. */
    lua_getglobal(L, "package");
    lua_pushstring(L, ENIGMA_SOURCE_DIR "/bindings/lua/?.lua;");
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    return L;
}

/* Like lua.c's msghandler: a message with a traceback, using __tostring for objects. */
static int traceback(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);

    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            msg = lua_tostring(L, -1);
        else
            msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
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

int enigma_cmd_run(int argc, char **argv)
{
    lua_State *L;
    int i, first = 0, status;

    if (argc > 0 && enigma_host_is_help(argv[0])) {
        fputs(run_usage, stdout);
        return 0;
    }
    if (argc > 0 && strcmp(argv[0], "--sandbox") == 0)
        return enigma_host_lua_command("enigma.agents_cli", "sandbox", argc - 1, argv + 1);
    if (argc > 0 && strcmp(argv[0], "--") == 0)
        first = 1;
    else if (argc > 0 && argv[0][0] == '-' && argv[0][1] != '\0')
        return enigma_host_usage_error("run", "unknown option '%s'", argv[0]);
    if (first >= argc)
        return enigma_host_usage_error("run", "a script file is required");

    L = enigma_host_newstate();
    if (L == NULL) {
        fputs("enigma: cannot create a Lua state: out of memory\n", stderr);
        return 1;
    }
    lua_createtable(L, argc - first, 1);
    for (i = first; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - first);
    }
    lua_setglobal(L, "arg");

    if (luaL_loadfile(L, argv[first]) != LUA_OK) {
        fprintf(stderr, "enigma: %s\n", lua_tostring(L, -1));
        enigma_host_alloc_close(L);
        return 1;
    }
    for (i = first + 1; i < argc; i++)
        lua_pushstring(L, argv[i]);
    status = enigma_host_pcall(L, argc - first - 1, 0);
    enigma_host_alloc_close(L);
    return status == LUA_OK ? 0 : 1;
}
