/*
 * What one binding file offers another. Each binding exports only its
 * luaopen_enigma_<module>; the helpers here are for the few values that cross
 * modules (a NUMERIC column read by the db binding becomes an enigma.decimal).
 */
#ifndef ENIGMA_BINDING_H
#define ENIGMA_BINDING_H

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>
#include <stdint.h>

struct enigma_error;

/* What enigma.so exports. The bindings and the core are compiled with
 * -fvisibility=hidden, so the module's only public names are its openers:
 * luaopen_enigma for require "enigma", and luaopen_enigma_<module>, which
 * Lua's all-in-one loader finds for require "enigma.<module>". */
#define ENIGMA_EXPORT __attribute__((visibility("default")))

/* Each module's opener; bindings/enigma.c assembles the package from them. */
ENIGMA_EXPORT int luaopen_enigma(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_db(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_decimal(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_json(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_crypto(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_crypto_stealth(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_crypto_note(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_crypto_seal(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_crypto_keystore(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_sched(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_sandbox(lua_State *L);
ENIGMA_EXPORT int luaopen_enigma_error(lua_State *L);

/* ---- errors (bindings/error.c) ---- */

/* Pushes a new enigma.error made from `err`: message, code, and detail,
 * hint, position when set (sqlstate too when the code is a SQLSTATE). */
void enigma_lua_error_push(lua_State *L, const struct enigma_error *err);

/* Raises a new enigma.error made from `err`. Declared int so a binding can
 * `return enigma_lua_error_raise(L, &err);`. */
int enigma_lua_error_raise(lua_State *L, const struct enigma_error *err);

/* 1 if the value at idx is an enigma.error, else 0. Never raises. */
int enigma_lua_error_is(lua_State *L, int idx);

/* Pushes the text to print for the error value at idx: for an enigma.error
 * its first line and code, the statement's line with a caret under the
 * position (as psql shows it), then its DETAIL and HINT lines; for anything
 * else its __tostring, its text, or "(error object is a T value)". */
void enigma_lua_error_describe(lua_State *L, int idx);

/* Puts the package's Lua half (enigma_paths_get(ENIGMA_PATH_LUA)) first on
 * package.path, once. */
void enigma_lua_package_path(lua_State *L);

/* Pushes the JSON text of the value at idx (integers and decimals exact);
 * raises on values JSON cannot hold. Implemented in bindings/json/json.c. */
void enigma_lua_json_encode(lua_State *L, int idx);

/* Reads `len` bytes of JSON text (core/json.h: strict, numbers exact) and
 * pushes its Lua value: objects and arrays as tables, null as enigma.null,
 * integers as integers, other numbers as floats or enigma.decimal. Returns
 * 0, or -1 with nothing pushed and `err` filled (EJSON naming the line,
 * column and byte offset; ERANGE for a number past enigma.decimal's limits).
 * Only running out of memory raises. */
int enigma_lua_json_decode(lua_State *L, const char *text, size_t len, struct enigma_error *err);

/* Pushes the text form of the Lua value at idx for a parameter of type `oid`
 * (0 when unknown), or nil for SQL NULL (nil or enigma.null). Raises an
 * argument error naming `argn` for values that have no SQL form. */
void enigma_lua_push_param(lua_State *L, int idx, int argn, unsigned oid);

/* A new cancel handle (PQgetCancel; free it with PQfreeCancel) for the open
 * enigma.db connection at idx, or NULL when the value is not one, is closed,
 * or libpq cannot make one. Never raises. For a host that cancels a running
 * query from a signal handler. */
struct pg_cancel *enigma_lua_db_canceller(lua_State *L, int idx);

/* Pushes the Lua value of one non-NULL field of type `oid` in text format. */
void enigma_lua_push_pgvalue(lua_State *L, unsigned oid, const char *text, size_t len);

/* The registry name of enigma.decimal's metatable. */
#define ENIGMA_DECIMAL_MT "enigma.decimal"

/* Pushes a new enigma.decimal read from `len` bytes of `text` as PostgreSQL
 * prints NUMERIC ("-0.000000000000000001"). Raises a Lua error naming the
 * text when it is not a decimal (NaN and Infinity are not). */
void enigma_lua_decimal_push(lua_State *L, const char *text, size_t len);

/* The same without raising: 0 with the decimal pushed, or -1 with nothing
 * pushed and `err` filled (EINVAL, or ERANGE past core/decimal.h's limits).
 * Only running out of memory raises. */
int enigma_lua_decimal_push_text(lua_State *L, const char *text, size_t len,
                                 struct enigma_error *err);

/* 1 if the value at `idx` is an enigma.decimal, else 0. Never raises. */
int enigma_lua_isdecimal(lua_State *L, int idx);

/* ---- crypto (bindings/crypto/crypto.c) ---- */

/*
 * Guarded userdata: a Lua handle on a secret in guarded memory (keys, notes,
 * master keys). Each kind has its own metatable name `mt`; every one wipes on
 * __gc, __close and its wipe() method, and a wiped handle holds NULL.
 */

/* Registers metatable `mt` with __gc/__close wiping, __tostring `tostring`
 * (may be NULL), __index = `methods` plus wipe (when methods is not NULL),
 * and __metatable = mt so scripts cannot reach or change it. Pops it. */
void enigma_lua_guarded_metatable(lua_State *L, const char *mt, lua_CFunction tostring,
                                  const luaL_Reg *methods);

/* Pushes a new handle of kind `mt` on `size` zeroed bytes of guarded memory
 * and returns them. It is made wiped first, so running out of guarded memory
 * (which raises) leaves nothing half-built. */
void *enigma_lua_guarded_new(lua_State *L, const char *mt, size_t size);

/* The bytes of the handle at `idx`: raises unless it is of kind `mt`;
 * NULL when it has been wiped. */
void *enigma_lua_guarded_bytes(lua_State *L, int idx, const char *mt);

/* Wipes and frees the bytes of the handle at `idx` if it is of kind `mt`
 * (anything else is left alone). Idempotent. */
void enigma_lua_guarded_wipe(lua_State *L, int idx, const char *mt);

/* The registry name of the private-key userdata's metatable. */
#define ENIGMA_KEY_MT "enigma.crypto.key"

/* Pushes a new private-key userdata and returns its 32 bytes of guarded
 * memory for the caller to fill. Raises if guarded memory runs out. */
uint8_t *enigma_lua_key_new(lua_State *L);

/* The private key at `idx`: a key userdata, or a hex string, which is
 * validated, copied into a new key userdata and replaces the argument (so
 * the bytes stay alive, in guarded memory, while the argument is on the
 * stack). Raises for anything else or an invalid key. */
const uint8_t *enigma_lua_key_arg(lua_State *L, int idx);

/* If the value at `idx` is a private key, pushes a "secret text" userdata
 * holding its "0x" + 64 hex in guarded memory, for use as a query parameter
 * without ever making a Lua string of it, and returns that text; else
 * returns NULL and pushes nothing. enigma_lua_secret_text_wipe(L, idx) wipes
 * such a userdata at once (the GC would, later). */
const char *enigma_lua_key_push_text(lua_State *L, int idx);
void enigma_lua_secret_text_wipe(lua_State *L, int idx);
/* The text of a secret-text userdata at `idx`, or NULL if it is not one. */
const char *enigma_lua_secret_text(lua_State *L, int idx);

/* ---- waiting without blocking (bindings/sched/waiter.c) ---- */

/*
 * A coroutine run by an event loop (an enigma.sched task) has a waiter. A
 * binding whose call would block on a file descriptor -- a query waiting for
 * its result -- asks the waiter to resume the coroutine when the descriptor
 * is ready, then yields with lua_yieldk and no values. The loop resumes it
 * with one boolean: true when the descriptor is ready, false when `timeout`
 * seconds (< 0: none) passed first. Anywhere else there is no waiter, and
 * the binding blocks as it always has.
 */
#define ENIGMA_WAIT_READ 1
#define ENIGMA_WAIT_WRITE 2

typedef struct enigma_lua_waiter enigma_lua_waiter;
struct enigma_lua_waiter {
    /* Arranges the resumption of L; 0, or -1 when it cannot (then do not yield). */
    int (*wait_fd)(enigma_lua_waiter *w, lua_State *L, int fd, int events, double timeout);
};

/* Gives coroutine `co` a waiter (NULL removes it). Kept in a weak registry
 * table keyed by the coroutine, so a collected coroutine needs no cleanup. */
void enigma_lua_waiter_set(lua_State *L, lua_State *co, enigma_lua_waiter *w);

/* The waiter of the running coroutine when it has one and may yield here
 * (lua_isyieldable), else NULL: the caller should block instead. */
enigma_lua_waiter *enigma_lua_waiter_get(lua_State *L);

/* The waiter of coroutine L whether or not it may yield here (for hooks). */
enigma_lua_waiter *enigma_lua_waiter_find(lua_State *L);

#endif
