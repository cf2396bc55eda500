/*
 * The allocator behind the enigma program's Lua states.
 *
 * Lua tells its allocator the old size of every block it frees or resizes,
 * so small blocks can be recycled through per-size free lists with no
 * header at all. A query result is a few small tables and strings that die
 * young; keeping them off malloc's slow paths cut enigma.db's per-query
 * client CPU by about a quarter (callgrind). Large blocks go to malloc.
 */
#ifndef ENIGMA_HOST_ALLOC_H
#define ENIGMA_HOST_ALLOC_H

#include <lua.h>

/* A new Lua state using the pooled allocator, with luaL_newstate's panic
 * and warning behaviour, or NULL when out of memory. */
lua_State *enigma_host_alloc_newstate(void);

/* Closes a state made by enigma_host_alloc_newstate and frees its pools. */
void enigma_host_alloc_close(lua_State *L);

#endif
