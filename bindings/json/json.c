/*
 * enigma.json: encode with exact numbers, decode with lua-cjson.
 *
 * Decoding is lua-cjson's, so JSON null is cjson.null, which is also
 * enigma.null. Encoding is ours because lua-cjson 2.1 writes every number
 * through "%.14g": 1234567890123456 would become 1.2345678901235e+15. Here
 * integers are exact, floats round-trip (%.17g) and enigma.decimal values
 * are written digit for digit.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>

#include "bindings/binding.h"
#include "bindings/strbuf.h"

#define JSON_MAX_DEPTH 128

static void encode_value(lua_State *L, enigma_strbuf *b, int idx, int depth);

static void encode_string(lua_State *L, enigma_strbuf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t i;

    enigma_strbuf_addchar(L, b, '"');
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        switch (c) {
        case '"':
            enigma_strbuf_addstr(L, b, "\\\"");
            break;
        case '\\':
            enigma_strbuf_addstr(L, b, "\\\\");
            break;
        case '\n':
            enigma_strbuf_addstr(L, b, "\\n");
            break;
        case '\r':
            enigma_strbuf_addstr(L, b, "\\r");
            break;
        case '\t':
            enigma_strbuf_addstr(L, b, "\\t");
            break;
        case '\b':
            enigma_strbuf_addstr(L, b, "\\b");
            break;
        case '\f':
            enigma_strbuf_addstr(L, b, "\\f");
            break;
        default:
            if (c < 0x20) {
                char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0'};
                enigma_strbuf_addstr(L, b, u);
            } else {
                enigma_strbuf_addchar(L, b, (char)c);
            }
        }
    }
    enigma_strbuf_addchar(L, b, '"');
}

/* The length n when the table at idx is a non-empty sequence 1..n, else 0. */
static lua_Integer array_length(lua_State *L, int idx)
{
    lua_Integer n = 0, max = 0;

    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) {
            lua_pop(L, 1);
            return 0;
        }
        if (lua_tointeger(L, -1) > max)
            max = lua_tointeger(L, -1);
        n++;
    }
    return n == max ? n : 0;
}

static void encode_table(lua_State *L, enigma_strbuf *b, int idx, int depth)
{
    lua_Integer i, n = array_length(L, idx);
    int first = 1;

    if (n > 0) {
        enigma_strbuf_addchar(L, b, '[');
        for (i = 1; i <= n; i++) {
            if (i > 1)
                enigma_strbuf_addchar(L, b, ',');
            lua_rawgeti(L, idx, i);
            encode_value(L, b, lua_gettop(L), depth + 1);
            lua_pop(L, 1);
        }
        enigma_strbuf_addchar(L, b, ']');
        return;
    }
    enigma_strbuf_addchar(L, b, '{');
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        int key = lua_gettop(L) - 1;
        size_t len;
        const char *s;

        if (!first)
            enigma_strbuf_addchar(L, b, ',');
        first = 0;
        if (lua_type(L, key) == LUA_TSTRING) {
            s = lua_tolstring(L, key, &len);
        } else if (lua_type(L, key) == LUA_TNUMBER) {
            lua_pushvalue(L, key);       /* tolstring on a copy: lua_next needs the key intact */
            s = lua_tolstring(L, -1, &len);
        } else {
            luaL_error(L, "cannot encode a %s key as JSON", luaL_typename(L, key));
            return;
        }
        encode_string(L, b, s, len);
        enigma_strbuf_addchar(L, b, ':');
        encode_value(L, b, key + 1, depth + 1);
        lua_settop(L, key);
    }
    enigma_strbuf_addchar(L, b, '}');
}

static void encode_value(lua_State *L, enigma_strbuf *b, int idx, int depth)
{
    char num[64];
    size_t len;
    const char *s;

    if (depth > JSON_MAX_DEPTH)
        luaL_error(L, "cannot encode JSON nested deeper than %d levels (a cycle?)", JSON_MAX_DEPTH);
    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        enigma_strbuf_addstr(L, b, "null");
        break;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL)
            luaL_error(L, "cannot encode a light userdata as JSON");
        enigma_strbuf_addstr(L, b, "null");
        break;
    case LUA_TBOOLEAN:
        enigma_strbuf_addstr(L, b, lua_toboolean(L, idx) ? "true" : "false");
        break;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            snprintf(num, sizeof num, LUA_INTEGER_FMT, lua_tointeger(L, idx));
        } else {
            lua_Number x = lua_tonumber(L, idx);

            if (isnan(x) || isinf(x))
                luaL_error(L, "cannot encode %f as JSON", (double)x);
            snprintf(num, sizeof num, "%.17g", (double)x);
        }
        enigma_strbuf_addstr(L, b, num);
        break;
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &len);
        encode_string(L, b, s, len);
        break;
    case LUA_TTABLE:
        encode_table(L, b, idx, depth);
        break;
    default:
        if (enigma_lua_isdecimal(L, idx)) {
            s = luaL_tolstring(L, idx, &len);
            enigma_strbuf_add(L, b, s, len);
            lua_pop(L, 1);
            break;
        }
        luaL_error(L, "cannot encode a %s as JSON", luaL_typename(L, idx));
    }
}

void enigma_lua_json_encode(lua_State *L, int idx)
{
    enigma_strbuf *b;

    idx = lua_absindex(L, idx);
    luaL_checkstack(L, 3 * JSON_MAX_DEPTH + 10, "JSON nesting");
    b = enigma_strbuf_new(L);
    encode_value(L, b, idx, 0);
    lua_pushlstring(L, b->data ? b->data : "", b->len);
    lua_remove(L, -2);
}

static int json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    enigma_lua_json_encode(L, 1);
    return 1;
}

ENIGMA_EXPORT int luaopen_enigma_json(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, json_encode);
    lua_setfield(L, -2, "encode");
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    lua_call(L, 0, 1);          /* a private instance: nobody else's settings */
    lua_getfield(L, -1, "decode");
    lua_setfield(L, -4, "decode");
    lua_pop(L, 2);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
