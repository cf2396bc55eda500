/*
 * What one binding file offers another. Each binding exports only its
 * luaopen_enigma_<module>; the helpers here are for the few values that cross
 * modules (a NUMERIC column read by the db binding becomes an enigma.decimal).
 */
#ifndef ENIGMA_BINDING_H
#define ENIGMA_BINDING_H

#include <lua.h>
#include <stddef.h>

/* Each module's opener; bindings/enigma.c assembles the package from them. */
int luaopen_enigma(lua_State *L);
int luaopen_enigma_db(lua_State *L);
int luaopen_enigma_decimal(lua_State *L);
int luaopen_enigma_json(lua_State *L);

/* Pushes the JSON text of the value at idx (integers and decimals exact);
 * raises on values JSON cannot hold. Implemented in bindings/json.c. */
void enigma_lua_json_encode(lua_State *L, int idx);

/* Pushes the text form of the Lua value at idx for a parameter of type `oid`
 * (0 when unknown), or nil for SQL NULL (nil or enigma.null). Raises an
 * argument error naming `argn` for values that have no SQL form. */
void enigma_lua_push_param(lua_State *L, int idx, int argn, unsigned oid);

/* Pushes the Lua value of one non-NULL field of type `oid` in text format. */
void enigma_lua_push_pgvalue(lua_State *L, unsigned oid, const char *text, size_t len);

/* The registry name of enigma.decimal's metatable. */
#define ENIGMA_DECIMAL_MT "enigma.decimal"

/* Pushes a new enigma.decimal read from `len` bytes of `text` as PostgreSQL
 * prints NUMERIC ("-0.000000000000000001"). Raises a Lua error naming the
 * text when it is not a decimal (NaN and Infinity are not). */
void enigma_lua_decimal_push(lua_State *L, const char *text, size_t len);

/* 1 if the value at `idx` is an enigma.decimal, else 0. Never raises. */
int enigma_lua_isdecimal(lua_State *L, int idx);

#endif
