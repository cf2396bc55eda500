/*
 * enigma.error: the one error type that crosses into Lua.
 *
 * An error is a table with the metatable "enigma.error":
 *   message   what failed and what to do (a server error's DETAIL and HINT
 *             lines follow its first line)
 *   code      a stable code: a SQLSTATE ("23505") or an upper-case name
 *             ("EHEX", "EAUTH")
 *   detail, hint   optional: a server error's DETAIL and HINT alone
 *   position  optional: where in the statement's text the server found the
 *             error, in characters from 1
 *   query     optional: the statement's text, when position is set
 *   sqlstate  the code again, for a server error (the name enigma.db used)
 * tostring(e) is "message (CODE)", or "message (SQLSTATE code)". A raised error is one of these; a
 * failure a caller may expect returns nil, message, code instead (STYLE.md).
 *
 * From Lua: enigma.error(message, code[, {detail=, hint=, position=, query=}])
 * makes one (code defaults to "ERROR"); enigma.error.is(v) tells one;
 * enigma.error.describe(e) is the text the REPL and the command line print:
 * the message's first line and code, then, as psql shows it, the statement's
 * line with a caret under the position, then the DETAIL and HINT lines.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>
#include <string.h>

#include "bindings/binding.h"
#include "core/error.h"

#define ERROR_MT "enigma.error"

static int error_tostring(lua_State *L)
{
    const char *message, *code;

    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "code");
    message = lua_tostring(L, -2);
    code = lua_tostring(L, -1);
    lua_getfield(L, 1, "sqlstate");
    if (lua_isstring(L, -1))
        lua_pushfstring(L, "%s (SQLSTATE %s)", message != NULL ? message : "error", code);
    else if (code != NULL && code[0] != '\0')
        lua_pushfstring(L, "%s (%s)", message != NULL ? message : "error", code);
    else
        lua_pushstring(L, message != NULL ? message : "error");
    return 1;
}

/* The metatable, made on first use: every module that raises may be the first. */
static void set_metatable(lua_State *L)
{
    if (luaL_newmetatable(L, ERROR_MT)) {
        lua_pushcfunction(L, error_tostring);
        lua_setfield(L, -2, "__tostring");
    }
    lua_setmetatable(L, -2);
}

void enigma_lua_error_push(lua_State *L, const enigma_error *err)
{
    /* a SQLSTATE: five digits or capitals; enigma's own codes (EAUTH, ENOPG)
     * start with E, as no SQLSTATE class does */
    int sql = strlen(err->code) == 5 &&
              strspn(err->code, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 5 && err->code[0] != 'E';

    lua_createtable(L, 0, 6);
    lua_pushstring(L, err->message);
    lua_setfield(L, -2, "message");
    lua_pushstring(L, err->code);
    lua_setfield(L, -2, "code");
    if (sql) {
        lua_pushstring(L, err->code);
        lua_setfield(L, -2, "sqlstate");
    }
    if (err->detail[0] != '\0') {
        lua_pushstring(L, err->detail);
        lua_setfield(L, -2, "detail");
    }
    if (err->hint[0] != '\0') {
        lua_pushstring(L, err->hint);
        lua_setfield(L, -2, "hint");
    }
    if (err->position > 0) {
        lua_pushinteger(L, err->position);
        lua_setfield(L, -2, "position");
    }
    set_metatable(L);
}

int enigma_lua_error_raise(lua_State *L, const enigma_error *err)
{
    enigma_lua_error_push(L, err);
    return lua_error(L);
}

int enigma_lua_error_is(lua_State *L, int idx)
{
    int is;

    if (!lua_istable(L, idx) || !lua_getmetatable(L, idx))
        return 0;
    luaL_getmetatable(L, ERROR_MT);
    is = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return is;
}

/* enigma.error(message, code[, fields]) -> a new error (not raised). */
static int error_new(lua_State *L)
{
    const char *message = luaL_checkstring(L, 1);
    const char *code = luaL_optstring(L, 2, "ERROR");

    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    lua_createtable(L, 0, 5);
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    if (lua_istable(L, 3)) {
        static const char *const optional[] = {"detail", "hint", "position", "query", "sqlstate"};
        size_t i;

        for (i = 0; i < sizeof optional / sizeof optional[0]; i++) {
            lua_getfield(L, 3, optional[i]);
            lua_setfield(L, -2, optional[i]);
        }
    }
    set_metatable(L);
    return 1;
}

/* Characters (UTF-8 sequences) in s[0..n). */
static size_t utf8_chars(const char *s, size_t n)
{
    size_t i, count = 0;

    for (i = 0; i < n; i++)
        count += ((unsigned char)s[i] & 0xC0) != 0x80;
    return count;
}

#define CARET_CONTEXT 60 /* characters shown each side of the position on a long line */

/* The byte offset of the character `chars` characters after s[from], or `end`. */
static size_t skip_chars(const char *s, size_t from, size_t end, size_t chars)
{
    while (from < end && chars > 0) {
        from++;
        while (from < end && ((unsigned char)s[from] & 0xC0) == 0x80)
            from++;
        chars--;
    }
    return from;
}

/* Appends "LINE n: <line>\n" and a caret under character `position` (from 1)
 * of `query`, as psql shows it; nothing when the position is past its end. A
 * line longer than 2 * CARET_CONTEXT characters is cut to a window around the
 * position, marked with "..."; a tab before the position stays a tab under it. */
static void add_caret(luaL_Buffer *b, const char *query, size_t len, lua_Integer position)
{
    size_t i, line_start = 0, line_end, chars = 0, col, from, to, pad;
    int line = 1, cut_left, cut_right;
    char prefix[40];

    for (i = 0; i < len; i++) {
        if (((unsigned char)query[i] & 0xC0) == 0x80)
            continue;
        if (++chars == (size_t)position)
            break;
        if (query[i] == '\n') {
            line++;
            line_start = i + 1;
        }
    }
    if (i >= len)
        return;
    for (line_end = line_start;
         line_end < len && query[line_end] != '\n' && query[line_end] != '\r'; line_end++)
        ;
    col = utf8_chars(query + line_start, i - line_start);
    cut_left = col > CARET_CONTEXT;
    from = cut_left ? skip_chars(query, line_start, i, col - CARET_CONTEXT) : line_start;
    to = skip_chars(query, i, line_end, CARET_CONTEXT);
    cut_right = to < line_end;

    snprintf(prefix, sizeof prefix, "LINE %d: %s", line, cut_left ? "..." : "");
    luaL_addstring(b, prefix);
    luaL_addlstring(b, query + from, to - from);
    if (cut_right)
        luaL_addstring(b, "...");
    luaL_addchar(b, '\n');
    for (pad = strlen(prefix); pad > 0; pad--)
        luaL_addchar(b, ' ');
    for (; from < i; from++)
        if (((unsigned char)query[from] & 0xC0) != 0x80)
            luaL_addchar(b, query[from] == '\t' ? '\t' : ' ');
    luaL_addstring(b, "^\n");
}

void enigma_lua_error_describe(lua_State *L, int idx)
{
    luaL_Buffer b;
    const char *message, *code, *query, *rest;
    size_t query_len = 0;
    lua_Integer position;
    int top;

    idx = lua_absindex(L, idx);
    if (!enigma_lua_error_is(L, idx)) {
        if (luaL_callmeta(L, idx, "__tostring")) {
            if (lua_type(L, -1) == LUA_TSTRING)
                return;
            lua_pop(L, 1);
        }
        if (lua_type(L, idx) == LUA_TSTRING || lua_type(L, idx) == LUA_TNUMBER) {
            lua_pushstring(L, lua_tostring(L, idx));
            return;
        }
        lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, idx));
        return;
    }
    top = lua_gettop(L);
    lua_getfield(L, idx, "message");
    lua_getfield(L, idx, "code");
    lua_getfield(L, idx, "query");
    lua_getfield(L, idx, "position");
    lua_getfield(L, idx, "sqlstate"); /* all fetched before the buffer: it owns the stack's top */
    message = lua_isstring(L, top + 1) ? lua_tostring(L, top + 1) : "error";
    code = lua_isstring(L, top + 2) ? lua_tostring(L, top + 2) : "";
    query = lua_type(L, top + 3) == LUA_TSTRING ? lua_tolstring(L, top + 3, &query_len) : NULL;
    position = lua_isinteger(L, top + 4) ? lua_tointeger(L, top + 4) : 0;
    rest = strchr(message, '\n');

    luaL_buffinit(L, &b);
    luaL_addlstring(&b, message, rest != NULL ? (size_t)(rest - message) : strlen(message));
    if (code[0] != '\0') {
        luaL_addstring(&b, lua_isstring(L, top + 5) ? " (SQLSTATE " : " (");
        luaL_addstring(&b, code);
        luaL_addchar(&b, ')');
    }
    luaL_addchar(&b, '\n');
    if (query != NULL && position > 0)
        add_caret(&b, query, query_len, position);
    if (rest != NULL) {
        luaL_addstring(&b, rest + 1);
        luaL_addchar(&b, '\n');
    }
    luaL_pushresult(&b);
    /* drop the trailing newline: the printer adds its own */
    {
        size_t n;
        const char *text = lua_tolstring(L, -1, &n);

        if (n > 0 && text[n - 1] == '\n')
            lua_pushlstring(L, text, n - 1);
        else
            lua_pushvalue(L, -1);
    }
    lua_replace(L, top + 1);
    lua_settop(L, top + 1);
}

static int error_describe(lua_State *L)
{
    luaL_checkany(L, 1);
    enigma_lua_error_describe(L, 1);
    return 1;
}

static int error_call(lua_State *L)
{
    lua_remove(L, 1); /* the module table */
    return error_new(L);
}

static int error_is(lua_State *L)
{
    lua_pushboolean(L, enigma_lua_error_is(L, 1));
    return 1;
}

static const luaL_Reg error_functions[] = {
    {"new", error_new},
    {"is", error_is},
    {"describe", error_describe},
    {NULL, NULL},
};

ENIGMA_EXPORT int luaopen_enigma_error(lua_State *L)
{
    luaL_newlib(L, error_functions);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, error_call);
    lua_setfield(L, -2, "__call");
    lua_setmetatable(L, -2);
    return 1;
}
