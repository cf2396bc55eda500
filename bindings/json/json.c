/*
 * enigma.json: JSON with exact numbers, both ways.
 *
 * decode is the core's strict reader (core/json.h), which says which number
 * becomes an integer, a float or an enigma.decimal; null is enigma.null (the
 * light userdata NULL, which is also lua-cjson's cjson.null). encode writes
 * integers exactly, floats as the shortest text that reads back the same
 * (enigma_json_format_double) and enigma.decimal values digit for digit, so
 * encode(decode(text)) keeps every number's value. lua-cjson 2.1 would write
 * every number through "%.14g" and read every number as a double.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>

#include "bindings/binding.h"
#include "bindings/strbuf.h"
#include "core/error.h"
#include "core/json.h"

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
    char num[ENIGMA_JSON_DOUBLE_MAX > 32 ? ENIGMA_JSON_DOUBLE_MAX : 32];
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

            if (enigma_json_format_double(num, (double)x) == 0)
                luaL_error(L, "cannot encode %f as JSON", (double)x);
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

/* --- decoding ------------------------------------------------------------------------ */

/* The Lua stack while reading: [scratch] [open containers, each with its
 * pending key when in an object] [the value just made]. */
typedef struct decoder {
    lua_State *L;
    int scratch; /* stack slot of the scratch buffer (nil until needed) */
} decoder;

static char *decode_scratch(void *ud, size_t size)
{
    decoder *d = ud;
    char *buf = lua_newuserdatauv(d->L, size, 0);

    lua_replace(d->L, d->scratch);
    return buf;
}

static int decode_event(void *ud, const enigma_json_event *ev, enigma_error *err)
{
    lua_State *L = ((decoder *)ud)->L;

    switch (ev->kind) {
    case ENIGMA_JSON_NULL:
        lua_pushlightuserdata(L, NULL);
        break;
    case ENIGMA_JSON_FALSE:
    case ENIGMA_JSON_TRUE:
        lua_pushboolean(L, ev->kind == ENIGMA_JSON_TRUE);
        break;
    case ENIGMA_JSON_INTEGER:
        lua_pushinteger(L, (lua_Integer)ev->integer);
        break;
    case ENIGMA_JSON_FLOAT:
        lua_pushnumber(L, (lua_Number)ev->number);
        break;
    case ENIGMA_JSON_DECIMAL:
        if (enigma_lua_decimal_push_text(L, ev->text, ev->len, err) != 0)
            return -1;
        break;
    case ENIGMA_JSON_STRING:
        lua_pushlstring(L, ev->text, ev->len);
        break;
    case ENIGMA_JSON_KEY:
        lua_pushlstring(L, ev->text, ev->len); /* stays until its value comes */
        return 0;
    case ENIGMA_JSON_ARRAY_BEGIN:
    case ENIGMA_JSON_OBJECT_BEGIN:
        luaL_checkstack(L, 4, "JSON nesting");
        lua_createtable(L, 0, 0);
        return 0;
    case ENIGMA_JSON_ARRAY_END:
    case ENIGMA_JSON_OBJECT_END:
        break; /* the finished table is on top */
    }
    if (ev->in == ENIGMA_JSON_IN_ARRAY)
        lua_rawseti(L, -2, (lua_Integer)ev->index);
    else if (ev->in == ENIGMA_JSON_IN_OBJECT)
        lua_rawset(L, -3);
    return 0;
}

int enigma_lua_json_decode(lua_State *L, const char *text, size_t len, enigma_error *err)
{
    static const enigma_json_handler handler = {decode_event, decode_scratch};
    decoder d;

    luaL_checkstack(L, 8, "JSON");
    lua_pushnil(L);
    d.L = L;
    d.scratch = lua_gettop(L);
    if (enigma_json_read(text, len, &handler, &d, err) != 0) {
        lua_settop(L, d.scratch - 1);
        return -1;
    }
    lua_remove(L, d.scratch);
    return 0;
}

static int json_encode(lua_State *L)
{
    luaL_checkany(L, 1);
    lua_settop(L, 1);
    enigma_lua_json_encode(L, 1);
    return 1;
}

/* decode(text): the value, or raises an enigma.error (EJSON, ERANGE). */
static int json_decode(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    enigma_error err;

    lua_settop(L, 1);
    if (enigma_lua_json_decode(L, text, len, &err) != 0)
        return enigma_lua_error_raise(L, &err);
    return 1;
}

static const luaL_Reg json_functions[] = {
    {"encode", json_encode},
    {"decode", json_decode},
    {NULL, NULL},
};

ENIGMA_EXPORT int luaopen_enigma_json(lua_State *L)
{
    luaL_newlib(L, json_functions);
    lua_pushlightuserdata(L, NULL);
    lua_setfield(L, -2, "null");
    return 1;
}
