/*
 * A growable byte buffer owned by a Lua userdata, for building strings while
 * also using the Lua stack (which luaL_Buffer forbids). If a Lua error
 * unwinds past it, the garbage collector frees it.
 */
#ifndef ENIGMA_STRBUF_H
#define ENIGMA_STRBUF_H

#include <lua.h>
#include <stddef.h>

typedef struct enigma_strbuf {
    char *data;
    size_t len, cap;
} enigma_strbuf;

/* Pushes a new empty buffer onto the stack and returns it. */
enigma_strbuf *enigma_strbuf_new(lua_State *L);

/* Appends bytes; raises a Lua memory error on OOM. */
void enigma_strbuf_add(lua_State *L, enigma_strbuf *sb, const char *s, size_t len);
void enigma_strbuf_addstr(lua_State *L, enigma_strbuf *sb, const char *s);
void enigma_strbuf_addchar(lua_State *L, enigma_strbuf *sb, char c);

#endif
