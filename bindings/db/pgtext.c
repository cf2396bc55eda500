/*
 * PostgreSQL values and Lua values, both ways, in PostgreSQL's text format:
 * the Lua side of core/pgtext. The type mapping is DESIGN.md's: int2/4/8 ->
 * integer, float -> number, numeric -> enigma.decimal, bool -> boolean,
 * json/jsonb -> tables (null -> enigma.null), timestamptz -> ISO-8601 UTC,
 * bytea -> bytes, arrays -> sequences, anything else -> its text.
 */
#include <lauxlib.h>
#include <lua.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/binding.h"
#include "bindings/strbuf.h"
#include "core/error.h"
#include "core/pgtext.h"

/* --- Lua values to parameters --------------------------------------------------------- */

static void add_array_element(lua_State *L, enigma_strbuf *sb, int idx, int depth);

static void add_array(lua_State *L, enigma_strbuf *sb, int idx, int depth)
{
    lua_Integer i, n = (lua_Integer)lua_rawlen(L, idx);

    if (depth > 6)
        luaL_error(L, "array parameter nested too deep");
    enigma_strbuf_addchar(L, sb, '{');
    for (i = 1; i <= n; i++) {
        if (i > 1)
            enigma_strbuf_addchar(L, sb, ',');
        lua_rawgeti(L, idx, i);
        add_array_element(L, sb, lua_gettop(L), depth);
        lua_pop(L, 1);
    }
    enigma_strbuf_addchar(L, sb, '}');
}

static void add_array_element(lua_State *L, enigma_strbuf *sb, int idx, int depth)
{
    const char *s;
    size_t len, i;

    if (lua_istable(L, idx)) {
        add_array(L, sb, idx, depth + 1);
        return;
    }
    if (lua_isnoneornil(L, idx) ||
        (lua_islightuserdata(L, idx) && lua_touserdata(L, idx) == NULL)) {
        enigma_strbuf_addstr(L, sb, "NULL");
        return;
    }
    s = luaL_tolstring(L, idx, &len);
    enigma_strbuf_addchar(L, sb, '"');
    for (i = 0; i < len; i++) {
        if (s[i] == '"' || s[i] == '\\')
            enigma_strbuf_addchar(L, sb, '\\');
        enigma_strbuf_addchar(L, sb, s[i]);
    }
    enigma_strbuf_addchar(L, sb, '"');
    lua_pop(L, 1);
}

/*
 * Pushes the text form of the Lua value at `idx` for a parameter of type
 * `oid`, or nil for SQL NULL. Raises on values that have no SQL form.
 */
void enigma_lua_push_param(lua_State *L, int idx, int argn, unsigned oid)
{
    char num[64];

    switch (lua_type(L, idx)) {
    case LUA_TNIL:
        lua_pushnil(L);
        return;
    case LUA_TLIGHTUSERDATA:
        if (lua_touserdata(L, idx) != NULL)
            luaL_argerror(L, argn, "a light userdata cannot be a query parameter");
        lua_pushnil(L);
        return;
    case LUA_TBOOLEAN:
        lua_pushstring(L, lua_toboolean(L, idx) ? "true" : "false");
        return;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            snprintf(num, sizeof num, LUA_INTEGER_FMT, lua_tointeger(L, idx));
        } else {
            double x = (double)lua_tonumber(L, idx);

            if (isnan(x))
                strcpy(num, "NaN");
            else if (isinf(x))
                strcpy(num, x > 0 ? "Infinity" : "-Infinity");
            else
                snprintf(num, sizeof num, "%.17g", x);
        }
        lua_pushstring(L, num);
        return;
    case LUA_TSTRING: {
        size_t len;
        const char *s = lua_tolstring(L, idx, &len);

        if (oid == ENIGMA_OID_BYTEA) {
            static const char hex[] = "0123456789abcdef";
            enigma_strbuf *sb = enigma_strbuf_new(L);
            size_t i;

            enigma_strbuf_addstr(L, sb, "\\x");
            for (i = 0; i < len; i++) {
                char pair[2] = {hex[(unsigned char)s[i] >> 4], hex[s[i] & 15]};
                enigma_strbuf_add(L, sb, pair, 2);
            }
            lua_pushlstring(L, sb->data, sb->len);
            lua_remove(L, -2);
            return;
        }
        if (memchr(s, '\0', len) != NULL)
            luaL_argerror(L, argn,
                          "string contains a zero byte; send binary data to a bytea column");
        lua_pushvalue(L, idx);
        return;
    }
    case LUA_TTABLE:
        if (enigma_pgtext_array_elem(oid) != 0) {
            enigma_strbuf *sb = enigma_strbuf_new(L);

            add_array(L, sb, idx, 0);
            lua_pushlstring(L, sb->data, sb->len);
            lua_remove(L, -2);
        } else {
            enigma_lua_json_encode(L, idx);
        }
        return;
    default:
        if (enigma_lua_isdecimal(L, idx)) {
            luaL_tolstring(L, idx, NULL);
            return;
        }
        if (enigma_lua_key_push_text(L, idx) != NULL)
            return; /* a private key: its hex, in guarded memory, never a Lua string */
        luaL_argerror(
            L, argn, lua_pushfstring(L, "a %s cannot be a query parameter", luaL_typename(L, idx)));
    }
}

/* --- results to Lua values ------------------------------------------------------------ */

/* Arrays nest: each '{' pushes a table, each '}' hands it to its parent. */
typedef struct array_ctx {
    lua_State *L;
    unsigned elem;
    int depth;
} array_ctx;

static int array_open(void *ud)
{
    array_ctx *a = ud;

    a->depth++;
    luaL_checkstack(a->L, 4, "array nesting");
    lua_newtable(a->L);
    return 0;
}

static int array_close(void *ud)
{
    array_ctx *a = ud;

    if (--a->depth > 0)
        lua_rawseti(a->L, -2, (lua_Integer)lua_rawlen(a->L, -2) + 1);
    return 0;
}

static int array_element(void *ud, const char *text, size_t len)
{
    array_ctx *a = ud;

    if (text == NULL)
        lua_pushlightuserdata(a->L, NULL);
    else
        enigma_lua_push_pgvalue(a->L, a->elem, text, len);
    lua_rawseti(a->L, -2, (lua_Integer)lua_rawlen(a->L, -2) + 1);
    return 0;
}

static void push_array(lua_State *L, unsigned elem, const char *text, size_t len)
{
    static const enigma_pgtext_array_cb cb = {array_open, array_close, array_element};
    array_ctx a = {L, elem, 0};
    int top = lua_gettop(L);

    if (enigma_pgtext_array_walk(text, &cb, &a) != 0 || lua_gettop(L) != top + 1) {
        lua_settop(L, top);             /* not a literal we read: keep the text */
        lua_pushlstring(L, text, len);
    }
}

/* json and jsonb through enigma.json's reader, numbers exact. PostgreSQL's
 * json type keeps the text as written and accepts a few things the strict
 * reader refuses (a lone surrogate escape, a number past enigma.decimal's
 * limits): such a value stays text, as an array literal we cannot read does. */
static void push_json(lua_State *L, const char *text, size_t len)
{
    enigma_error err;

    if (enigma_lua_json_decode(L, text, len, &err) != 0)
        lua_pushlstring(L, text, len);
}

/* Pushes the Lua value of one non-NULL field in text format. */
void enigma_lua_push_pgvalue(lua_State *L, unsigned oid, const char *text, size_t len)
{
    char buf[64];
    unsigned elem;

    switch (oid) {
    case ENIGMA_OID_TEXT:
    case ENIGMA_OID_VARCHAR:
    case ENIGMA_OID_BPCHAR:
    case ENIGMA_OID_UUID:
    case ENIGMA_OID_NAME:
        lua_pushlstring(L, text, len);
        return;
    case ENIGMA_OID_INT2:
    case ENIGMA_OID_INT4:
    case ENIGMA_OID_INT8:
    case ENIGMA_OID_OID:
        lua_pushinteger(L, (lua_Integer)strtoll(text, NULL, 10));
        return;
    case ENIGMA_OID_FLOAT4:
    case ENIGMA_OID_FLOAT8:
        lua_pushnumber(L, (lua_Number)strtod(text, NULL));
        return;
    case ENIGMA_OID_NUMERIC:
        if (strcmp(text, "NaN") == 0)
            lua_pushnumber(L, (lua_Number)NAN);
        else if (strcmp(text, "Infinity") == 0 || strcmp(text, "-Infinity") == 0)
            lua_pushnumber(L, (lua_Number)(text[0] == '-' ? -HUGE_VAL : HUGE_VAL));
        else
            enigma_lua_decimal_push(L, text, len);
        return;
    case ENIGMA_OID_BOOL:
        lua_pushboolean(L, text[0] == 't');
        return;
    case ENIGMA_OID_JSON:
    case ENIGMA_OID_JSONB:
        push_json(L, text, len);
        return;
    case ENIGMA_OID_TIMESTAMPTZ:
    case ENIGMA_OID_TIMESTAMP:
        if (enigma_pgtext_timestamp(text, oid == ENIGMA_OID_TIMESTAMPTZ, buf, sizeof buf) == 0)
            lua_pushstring(L, buf);
        else
            lua_pushlstring(L, text, len);
        return;
    case ENIGMA_OID_BYTEA: {
        unsigned char *bytes = lua_newuserdatauv(L, len / 2 + 1, 0);
        long n = enigma_pgtext_bytea(text, len, bytes);

        if (n < 0)
            lua_pushlstring(L, text, len);
        else
            lua_pushlstring(L, (const char *)bytes, (size_t)n);
        lua_remove(L, -2);
        return;
    }
    default:
        elem = enigma_pgtext_array_elem(oid);
        if (elem != 0)
            push_array(L, elem, text, len);
        else
            lua_pushlstring(L, text, len);
    }
}
