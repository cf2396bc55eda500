/*
 * enigma.crypto: hashing, hex, addresses and private keys, over
 * core/crypto/crypto.h and core/crypto/keccak.h; and the package that
 * gathers the other crypto bindings (stealth, note, seal, keystore).
 *
 * A private key is a userdata ("enigma.crypto.key") whose 32 bytes live in
 * guarded memory (sodium_malloc). It never becomes a Lua string unless the
 * caller asks with key:hex(); tostring shows only its address. __gc and
 * __close wipe it; a wiped key raises on use. Functions that take a private
 * key accept the userdata or a hex string.
 *
 * Bad input (malformed hex, a wrong checksum, an invalid key) raises an
 * enigma.error (bindings/error.c) with `message` and `code` (EHEX, ELENGTH,
 * EKEY, ECHECKSUM, EAUTH, EFORMAT, ...).
 */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "bindings/binding.h"
#include "core/crypto/crypto.h"
#include "core/crypto/keccak.h"
#include "core/crypto/stealth.h"

typedef struct guarded {
    void *bytes; /* guarded memory; NULL once wiped */
} guarded;

/* ---- guarded userdata ------------------------------------------------------ */

void *enigma_lua_guarded_new(lua_State *L, const char *mt, size_t size)
{
    guarded *g = lua_newuserdatauv(L, sizeof *g, 0);
    g->bytes = NULL;
    luaL_setmetatable(L, mt);
    g->bytes = enigma_secret_alloc(size);
    if (g->bytes == NULL)
        luaL_error(L, "out of guarded memory for a %s", mt);
    return g->bytes;
}

void *enigma_lua_guarded_bytes(lua_State *L, int idx, const char *mt)
{
    return ((guarded *)luaL_checkudata(L, idx, mt))->bytes;
}

void enigma_lua_guarded_wipe(lua_State *L, int idx, const char *mt)
{
    guarded *g = luaL_testudata(L, idx, mt);
    if (g != NULL) {
        enigma_secret_free(g->bytes); /* wipes */
        g->bytes = NULL;
    }
}

/* __gc, __close and wipe(); upvalue 1 is the metatable name. */
static int guarded_wipe(lua_State *L)
{
    const char *mt = lua_tostring(L, lua_upvalueindex(1));
    luaL_checkudata(L, 1, mt);
    enigma_lua_guarded_wipe(L, 1, mt);
    return 0;
}

void enigma_lua_guarded_metatable(lua_State *L, const char *mt, lua_CFunction tostring,
                                  const luaL_Reg *methods)
{
    luaL_newmetatable(L, mt);
    lua_pushstring(L, mt);
    lua_pushcclosure(L, guarded_wipe, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__gc");
    lua_setfield(L, -2, "__close");
    if (tostring != NULL) {
        lua_pushcfunction(L, tostring);
        lua_setfield(L, -2, "__tostring");
    }
    if (methods != NULL) {
        lua_newtable(L);
        luaL_setfuncs(L, methods, 0);
        lua_pushstring(L, mt);
        lua_pushcclosure(L, guarded_wipe, 1);
        lua_setfield(L, -2, "wipe");
        lua_setfield(L, -2, "__index");
    }
    lua_pushstring(L, mt);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);
}

/* ---- private keys ---------------------------------------------------------- */

uint8_t *enigma_lua_key_new(lua_State *L)
{
    return enigma_lua_guarded_new(L, ENIGMA_KEY_MT, ENIGMA_SECKEY_BYTES);
}

static uint8_t *check_key(lua_State *L, int idx)
{
    uint8_t *bytes = enigma_lua_guarded_bytes(L, idx, ENIGMA_KEY_MT);
    if (bytes == NULL)
        luaL_error(L, "attempt to use a wiped private key");
    return bytes;
}

const uint8_t *enigma_lua_key_arg(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *hex = lua_tolstring(L, idx, &len);
        uint8_t *bytes = enigma_lua_key_new(L);
        enigma_error err;
        if (enigma_hex_decode_exact(bytes, ENIGMA_SECKEY_BYTES, hex, len, &err) < 0 ||
            enigma_seckey_verify(bytes, &err) < 0) {
            enigma_crypto_wipe(bytes, ENIGMA_SECKEY_BYTES);
            enigma_error_append(&err, " (argument #%d, a private key)", idx);
            enigma_lua_error_raise(L, &err);
            return NULL;
        }
        lua_replace(L, idx);
        return bytes;
    }
    if (luaL_testudata(L, idx, ENIGMA_KEY_MT) == NULL)
        luaL_typeerror(L, idx, "private key (enigma.crypto.key or hex string)");
    return check_key(L, idx);
}

static int key_hex(lua_State *L)
{
    char hex[2 * ENIGMA_SECKEY_BYTES + 3];
    enigma_hex_encode(hex, check_key(L, 1), ENIGMA_SECKEY_BYTES, 1);
    lua_pushlstring(L, hex, 2 * ENIGMA_SECKEY_BYTES + 2);
    enigma_crypto_wipe(hex, sizeof hex);
    return 1;
}

static void push_pubkey_hex(lua_State *L, const uint8_t pub[ENIGMA_PUBKEY_BYTES])
{
    char hex[2 * ENIGMA_PUBKEY_BYTES + 3];
    lua_pushlstring(L, hex, enigma_hex_encode(hex, pub, ENIGMA_PUBKEY_BYTES, 1));
}

static int key_public_key(lua_State *L)
{
    uint8_t pub[ENIGMA_PUBKEY_BYTES];
    enigma_error err;
    if (enigma_pubkey_from_seckey(pub, check_key(L, 1), &err) < 0)
        return enigma_lua_error_raise(L, &err);
    push_pubkey_hex(L, pub);
    return 1;
}

static int push_key_address(lua_State *L, const uint8_t *seckey)
{
    uint8_t pub[ENIGMA_PUBKEY_BYTES], address[ENIGMA_ADDRESS_BYTES];
    char text[ENIGMA_ADDRESS_TEXT_MAX];
    enigma_error err;
    if (enigma_pubkey_from_seckey(pub, seckey, &err) < 0 ||
        enigma_pubkey_address(address, pub, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    enigma_address_format(text, address);
    lua_pushstring(L, text);
    return 1;
}

static int key_address(lua_State *L)
{
    return push_key_address(L, check_key(L, 1));
}

static int key_tostring(lua_State *L)
{
    const uint8_t *bytes = enigma_lua_guarded_bytes(L, 1, ENIGMA_KEY_MT);
    if (bytes == NULL) {
        lua_pushliteral(L, "enigma.crypto.key (wiped)");
        return 1;
    }
    push_key_address(L, bytes);
    lua_pushfstring(L, "enigma.crypto.key (redacted; address %s)", lua_tostring(L, -1));
    return 1;
}

static int key_eq(lua_State *L)
{
    guarded *a = luaL_testudata(L, 1, ENIGMA_KEY_MT), *b = luaL_testudata(L, 2, ENIGMA_KEY_MT);
    lua_pushboolean(L, a != NULL && b != NULL && a->bytes != NULL && b->bytes != NULL &&
                           enigma_crypto_equal(a->bytes, b->bytes, ENIGMA_SECKEY_BYTES));
    return 1;
}

/* ---- keys as query parameters ------------------------------------------------ */

#define SECRET_TEXT_MT "enigma.crypto.secret_text"
#define KEY_TEXT_BYTES (2 * ENIGMA_SECKEY_BYTES + 3)

const char *enigma_lua_key_push_text(lua_State *L, int idx)
{
    if (luaL_testudata(L, idx, ENIGMA_KEY_MT) == NULL)
        return NULL;
    const uint8_t *bytes = check_key(L, idx);
    char *text = enigma_lua_guarded_new(L, SECRET_TEXT_MT, KEY_TEXT_BYTES);
    enigma_hex_encode(text, bytes, ENIGMA_SECKEY_BYTES, 1);
    return text;
}

const char *enigma_lua_secret_text(lua_State *L, int idx)
{
    guarded *text = luaL_testudata(L, idx, SECRET_TEXT_MT);
    return text != NULL ? text->bytes : NULL;
}

void enigma_lua_secret_text_wipe(lua_State *L, int idx)
{
    enigma_lua_guarded_wipe(L, idx, SECRET_TEXT_MT);
}

/* crypto.private_key(hex) -> key: validates and moves the key into guarded memory. */
static int crypto_private_key(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TSTRING);
    enigma_lua_key_arg(L, 1);
    lua_settop(L, 1);
    return 1;
}

/* crypto.generate_key() -> key */
static int crypto_generate_key(lua_State *L)
{
    enigma_seckey_generate(enigma_lua_key_new(L));
    return 1;
}

/* ---- bytes, hashes, addresses ----------------------------------------------- */

static int crypto_keccak256(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    uint8_t digest[ENIGMA_KECCAK256_BYTES];
    enigma_keccak256(digest, data, len);
    lua_pushlstring(L, (const char *)digest, sizeof digest);
    return 1;
}

static int crypto_hex(lua_State *L)
{
    size_t len;
    const char *data = luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, 2 * len + 3);
    luaL_pushresultsize(&b, enigma_hex_encode(out, (const uint8_t *)data, len, 1));
    return 1;
}

static int crypto_unhex(lua_State *L)
{
    size_t len, got;
    const char *hex = luaL_checklstring(L, 1, &len);
    luaL_Buffer b;
    uint8_t *out = (uint8_t *)luaL_buffinitsize(L, &b, len / 2 + 1);
    enigma_error err;
    if (enigma_hex_decode(out, len / 2 + 1, &got, hex, len, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    luaL_pushresultsize(&b, got);
    return 1;
}

static int crypto_random(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    luaL_argcheck(L, n >= 0 && n <= 1 << 20, 1, "must be 0 to 1048576 bytes");
    luaL_Buffer b;
    char *out = luaL_buffinitsize(L, &b, (size_t)n);
    enigma_crypto_random(out, (size_t)n);
    luaL_pushresultsize(&b, (size_t)n);
    return 1;
}

/* crypto.equal(a, b): constant-time for equal lengths. */
static int crypto_equal(lua_State *L)
{
    size_t na, nb;
    const char *a = luaL_checklstring(L, 1, &na), *b = luaL_checklstring(L, 2, &nb);
    lua_pushboolean(L, na == nb && enigma_crypto_equal(a, b, na));
    return 1;
}

/* crypto.checksum_address(text) -> EIP-55 text; raises for a bad address or checksum. */
static int crypto_checksum_address(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    uint8_t address[ENIGMA_ADDRESS_BYTES];
    char out[ENIGMA_ADDRESS_TEXT_MAX];
    enigma_error err;
    if (enigma_address_parse(address, text, len, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    enigma_address_format(out, address);
    lua_pushstring(L, out);
    return 1;
}

/* crypto.public_key(hex [, "compressed" | "uncompressed"]) -> 0x + 66 hex
 * (compressed, the default) or 0x04 + 128 hex; validates the point. */
static int crypto_public_key(lua_State *L)
{
    static const char *const forms[] = {"compressed", "uncompressed", NULL};
    size_t len;
    const char *hex = luaL_checklstring(L, 1, &len);
    int uncompressed = luaL_checkoption(L, 2, "compressed", forms);
    uint8_t pub[ENIGMA_PUBKEY_BYTES], full[ENIGMA_PUBKEY_MAX_BYTES];
    char text[2 * ENIGMA_PUBKEY_MAX_BYTES + 3];
    enigma_error err;
    if (enigma_pubkey_parse_hex(pub, hex, len, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    if (!uncompressed) {
        push_pubkey_hex(L, pub);
        return 1;
    }
    if (enigma_pubkey_uncompress(full, pub, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    lua_pushlstring(L, text, enigma_hex_encode(text, full, sizeof full, 1));
    return 1;
}

static const luaL_Reg key_methods[] = {
    {"hex", key_hex}, {"public_key", key_public_key}, {"address", key_address}, {NULL, NULL}
};

static const luaL_Reg crypto_functions[] = {
    {"keccak256", crypto_keccak256},
    {"hex", crypto_hex},
    {"unhex", crypto_unhex},
    {"random", crypto_random},
    {"equal", crypto_equal},
    {"checksum_address", crypto_checksum_address},
    {"public_key", crypto_public_key},
    {"private_key", crypto_private_key},
    {"generate_key", crypto_generate_key},
    {NULL, NULL}
};

ENIGMA_EXPORT int luaopen_enigma_crypto(lua_State *L)
{
    enigma_error err;
    if (enigma_crypto_init(&err) < 0)
        return luaL_error(L, "%s", err.message);

    enigma_lua_guarded_metatable(L, ENIGMA_KEY_MT, key_tostring, key_methods);
    luaL_getmetatable(L, ENIGMA_KEY_MT);
    lua_pushcfunction(L, key_eq);
    lua_setfield(L, -2, "__eq");
    lua_pop(L, 1);
    enigma_lua_guarded_metatable(L, SECRET_TEXT_MT, NULL, NULL);

    luaL_newlib(L, crypto_functions);
    luaL_requiref(L, "enigma.crypto.stealth", luaopen_enigma_crypto_stealth, 0);
    lua_setfield(L, -2, "stealth");
    luaL_requiref(L, "enigma.crypto.note", luaopen_enigma_crypto_note, 0);
    lua_setfield(L, -2, "note");
    luaL_requiref(L, "enigma.crypto.seal", luaopen_enigma_crypto_seal, 0);
    lua_setfield(L, -2, "seal");
    luaL_requiref(L, "enigma.crypto.keystore", luaopen_enigma_crypto_keystore, 0);
    lua_setfield(L, -2, "keystore");
    return 1;
}
