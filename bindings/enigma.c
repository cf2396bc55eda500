/*
 * The `enigma` package: the C modules (db, decimal, json, crypto, sched,
 * sandbox) plus the pure-Lua half in lua/enigma/, loaded on first use
 * (enigma.format -> require "enigma.format").
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bindings/binding.h"
#include "core/paths.h"
#include "core/pgcluster.h"

void enigma_lua_package_path(lua_State *L)
{
    const char *dir = enigma_paths_get(ENIGMA_PATH_LUA), *path;

    lua_getglobal(L, "package");
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
    lua_getfield(L, -2, "path");
    path = lua_tostring(L, -1);
    if (path != NULL && strstr(path, lua_tostring(L, -2)) == NULL) {
        lua_concat(L, 2);
        lua_setfield(L, -2, "path");
    } else {
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

/* enigma.paths: where the schema, the shipped scripts and examples, and the
 * package's Lua half are (core/paths.h). */
static void push_paths(lua_State *L)
{
    static const struct {
        const char *name;
        enigma_path_kind kind;
    } paths[] = {
        {"schema", ENIGMA_PATH_SCHEMA},
        {"scripts", ENIGMA_PATH_SCRIPTS},
        {"examples", ENIGMA_PATH_EXAMPLES},
        {"lua", ENIGMA_PATH_LUA}
    };
    size_t i;

    lua_createtable(L, 0, 5);
    for (i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        lua_pushstring(L, enigma_paths_get(paths[i].kind));
        lua_setfield(L, -2, paths[i].name);
    }
    lua_pushboolean(L, enigma_paths_installed());
    lua_setfield(L, -2, "installed");
}

/* enigma.<name> for a name not set yet: require "enigma.<name>". */
static int enigma_index(lua_State *L)
{
    const char *name = luaL_checkstring(L, 2);

    if (name[0] == '_' || strchr(name, '.') != NULL)
        return 0;
    lua_getglobal(L, "require");
    lua_pushfstring(L, "enigma.%s", name);
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, 1, name);
    return 1;
}

/* enigma.monotime() -> seconds on a monotonic clock, for measuring intervals. */
static int enigma_monotime(lua_State *L)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

static void add_module(lua_State *L, const char *name, const char *field, lua_CFunction open)
{
    luaL_requiref(L, name, open, 0);
    lua_setfield(L, -2, field);
}

/* The one line on stderr that says a new database cluster is being made,
 * and where: from stock Lua too, not only from the enigma program. */
static void print_notice(const char *message, void *ud)
{
    (void)ud;
    fprintf(stderr, "enigma: %s\n", message);
}

ENIGMA_EXPORT int luaopen_enigma(lua_State *L)
{
    enigma_pgcluster_set_notice(print_notice, NULL);
    enigma_lua_package_path(L);
    lua_newtable(L);
    add_module(L, "enigma.db", "db", luaopen_enigma_db);
    add_module(L, "enigma.decimal", "decimal", luaopen_enigma_decimal);
    add_module(L, "enigma.json", "json", luaopen_enigma_json);
    add_module(L, "enigma.crypto", "crypto", luaopen_enigma_crypto);
    add_module(L, "enigma.sched", "sched", luaopen_enigma_sched);
    add_module(L, "enigma.sandbox", "sandbox", luaopen_enigma_sandbox);
    add_module(L, "enigma.error", "error", luaopen_enigma_error);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    lua_pushliteral(L, ENIGMA_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushcfunction(L, enigma_monotime);
    lua_setfield(L, -2, "monotime");
    push_paths(L);
    lua_setfield(L, -2, "paths");

    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, enigma_index);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    return 1;
}
