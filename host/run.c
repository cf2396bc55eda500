/*
 * enigma run FILE.lua [ARGS...]: a script in a new Lua state.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "host.h"

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

int enigma_cmd_run(int argc, char **argv)
{
    lua_State *L;
    int i, first = 0, status;

    if (argc > 0 && enigma_host_is_help(argv[0])) {
        fputs(run_usage, stdout);
        return 0;
    }
    if (argc > 0 && strcmp(argv[0], "--sandbox") == 0)
        return enigma_host_lua_command("enigma.cli.agents", "sandbox", argc - 1, argv + 1);
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
