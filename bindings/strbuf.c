#include "bindings/strbuf.h"

#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

static int strbuf_gc(lua_State *L)
{
    enigma_strbuf *sb = lua_touserdata(L, 1);

    free(sb->data);
    sb->data = NULL;
    sb->len = sb->cap = 0;
    return 0;
}

enigma_strbuf *enigma_strbuf_new(lua_State *L)
{
    enigma_strbuf *sb = lua_newuserdatauv(L, sizeof *sb, 0);

    memset(sb, 0, sizeof *sb);
    if (luaL_newmetatable(L, "enigma.strbuf")) {
        lua_pushcfunction(L, strbuf_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, -2);
    return sb;
}

void enigma_strbuf_add(lua_State *L, enigma_strbuf *sb, const char *s, size_t len)
{
    if (sb->len + len > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        char *grown;

        while (cap < sb->len + len)
            cap *= 2;
        grown = realloc(sb->data, cap);
        if (grown == NULL)
            luaL_error(L, "out of memory building a string of %zu bytes", sb->len + len);
        sb->data = grown;
        sb->cap = cap;
    }
    memcpy(sb->data + sb->len, s, len);
    sb->len += len;
}

void enigma_strbuf_addstr(lua_State *L, enigma_strbuf *sb, const char *s)
{
    enigma_strbuf_add(L, sb, s, strlen(s));
}

void enigma_strbuf_addchar(lua_State *L, enigma_strbuf *sb, char c)
{
    enigma_strbuf_add(L, sb, &c, 1);
}
