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
 * Bad input (malformed hex, a wrong checksum, an invalid key) raises an error
 * object ("enigma.crypto.error") with fields `message` and `code` (EHEX,
 * ELENGTH, EKEY, ECHECKSUM, EAUTH, EFORMAT, ...); tostring gives the message.
 */
#include <lauxlib.h>
#include <lua.h>
#include <string.h>

#include "bindings/binding.h"
#include "core/crypto/crypto.h"
#include "core/crypto/keccak.h"
#include "core/crypto/stealth.h"

#define ERROR_MT "enigma.crypto.error"

typedef struct key {
    uint8_t *bytes; /* ENIGMA_SECKEY_BYTES of guarded memory; NULL once wiped */
} key;

int enigma_lua_crypto_error(lua_State *L, const enigma_error *err)
{
    lua_createtable(L, 0, 2);
    lua_pushstring(L, err->message);
    lua_setfield(L, -2, "message");
    lua_pushstring(L, err->code);
    lua_setfield(L, -2, "code");
    luaL_setmetatable(L, ERROR_MT);
    return lua_error(L);
}

static int error_tostring(lua_State *L)
{
    lua_getfield(L, 1, "message");
    return 1;
}

/* ---- private keys ---------------------------------------------------------- */

uint8_t *enigma_lua_key_new(lua_State *L)
{
    /* Made closed first, so an allocation failure leaves nothing half-built. */
    key *k = lua_newuserdatauv(L, sizeof *k, 0);
    k->bytes = NULL;
    luaL_setmetatable(L, ENIGMA_KEY_MT);
    k->bytes = enigma_secret_alloc(ENIGMA_SECKEY_BYTES);
    if (k->bytes == NULL)
        luaL_error(L, "out of guarded memory for a private key");
    return k->bytes;
}

static key *check_key(lua_State *L, int idx)
{
    key *k = luaL_checkudata(L, idx, ENIGMA_KEY_MT);
    if (k->bytes == NULL)
        luaL_error(L, "attempt to use a wiped private key");
    return k;
}

const uint8_t *enigma_lua_key_arg(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        size_t len;
        const char *hex = lua_tolstring(L, idx, &len);
        uint8_t *bytes = enigma_lua_key_new(L);
        enigma_error err;
        if (enigma_hex_decode_exact(bytes, ENIGMA_SECKEY_BYTES, hex, len, &err) < 0
            || enigma_seckey_verify(bytes, &err) < 0) {
            enigma_crypto_wipe(bytes, ENIGMA_SECKEY_BYTES);
            enigma_error_append(&err, " (argument #%d, a private key)", idx);
            enigma_lua_crypto_error(L, &err);
            return NULL;
        }
        lua_replace(L, idx);
        return bytes;
    }
    if (luaL_testudata(L, idx, ENIGMA_KEY_MT) == NULL)
        luaL_typeerror(L, idx, "private key (enigma.crypto.key or hex string)");
    return check_key(L, idx)->bytes;
}

static int key_wipe(lua_State *L)
{
    key *k = luaL_checkudata(L, 1, ENIGMA_KEY_MT);
    enigma_secret_free(k->bytes); /* wipes */
    k->bytes = NULL;
    return 0;
}

static int key_hex(lua_State *L)
{
    char hex[2 * ENIGMA_SECKEY_BYTES + 3];
    enigma_hex_encode(hex, check_key(L, 1)->bytes, ENIGMA_SECKEY_BYTES, 1);
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
    if (enigma_pubkey_from_seckey(pub, check_key(L, 1)->bytes, &err) < 0)
        return enigma_lua_crypto_error(L, &err);
    push_pubkey_hex(L, pub);
    return 1;
}

static int push_key_address(lua_State *L, const uint8_t *seckey)
{
    uint8_t pub[ENIGMA_PUBKEY_BYTES], address[ENIGMA_ADDRESS_BYTES];
    char text[ENIGMA_ADDRESS_TEXT_MAX];
    enigma_error err;
    if (enigma_pubkey_from_seckey(pub, seckey, &err) < 0
        || enigma_pubkey_address(address, pub, &err) < 0)
        return enigma_lua_crypto_error(L, &err);
    enigma_address_format(text, address);
    lua_pushstring(L, text);
    return 1;
}

static int key_address(lua_State *L)
{
    return push_key_address(L, check_key(L, 1)->bytes);
}

static int key_tostring(lua_State *L)
{
    key *k = luaL_checkudata(L, 1, ENIGMA_KEY_MT);
    if (k->bytes == NULL) {
        lua_pushliteral(L, "enigma.crypto.key (wiped)");
        return 1;
    }
    push_key_address(L, k->bytes);
    lua_pushfstring(L, "enigma.crypto.key (redacted; address %s)", lua_tostring(L, -1));
    return 1;
}

static int key_eq(lua_State *L)
{
    key *a = luaL_testudata(L, 1, ENIGMA_KEY_MT), *b = luaL_testudata(L, 2, ENIGMA_KEY_MT);
    lua_pushboolean(L, a != NULL && b != NULL && a->bytes != NULL && b->bytes != NULL
                           && enigma_crypto_equal(a->bytes, b->bytes, ENIGMA_SECKEY_BYTES));
    return 1;
}

/* ---- keys as query parameters ------------------------------------------------ */

#define SECRET_TEXT_MT "enigma.crypto.secret_text"
#define KEY_TEXT_BYTES (2 * ENIGMA_SECKEY_BYTES + 3)

const char *enigma_lua_key_push_text(lua_State *L, int idx)
{
    key *k = luaL_testudata(L, idx, ENIGMA_KEY_MT);
    if (k == NULL)
        return NULL;
    if (k->bytes == NULL)
        luaL_error(L, "attempt to use a wiped private key");
    key *text = lua_newuserdatauv(L, sizeof *text, 0);
    text->bytes = NULL;
    luaL_setmetatable(L, SECRET_TEXT_MT);
    text->bytes = enigma_secret_alloc(KEY_TEXT_BYTES);
    if (text->bytes == NULL)
        luaL_error(L, "out of guarded memory");
    enigma_hex_encode((char *)text->bytes, k->bytes, ENIGMA_SECKEY_BYTES, 1);
    return (const char *)text->bytes;
}

const char *enigma_lua_secret_text(lua_State *L, int idx)
{
    key *text = luaL_testudata(L, idx, SECRET_TEXT_MT);
    return text != NULL ? (const char *)text->bytes : NULL;
}

static int secret_text_wipe(lua_State *L)
{
    key *text = luaL_checkudata(L, 1, SECRET_TEXT_MT);
    enigma_secret_free(text->bytes);
    text->bytes = NULL;
    return 0;
}

void enigma_lua_secret_text_wipe(lua_State *L, int idx)
{
    key *text = luaL_testudata(L, idx, SECRET_TEXT_MT);
    if (text != NULL) {
        enigma_secret_free(text->bytes);
        text->bytes = NULL;
    }
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
        return enigma_lua_crypto_error(L, &err);
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
        return enigma_lua_crypto_error(L, &err);
    enigma_address_format(out, address);
    lua_pushstring(L, out);
    return 1;
}

/* crypto.public_key(hex) -> compressed 0x + 66 hex; validates the point. */
static int crypto_public_key(lua_State *L)
{
    size_t len;
    const char *hex = luaL_checklstring(L, 1, &len);
    uint8_t pub[ENIGMA_PUBKEY_BYTES];
    enigma_error err;
    if (enigma_pubkey_parse_hex(pub, hex, len, &err) < 0)
        return enigma_lua_crypto_error(L, &err);
    push_pubkey_hex(L, pub);
    return 1;
}

static const luaL_Reg key_methods[] = {
    {"hex", key_hex},
    {"public_key", key_public_key},
    {"address", key_address},
    {"wipe", key_wipe},
    {NULL, NULL}
};

static const luaL_Reg key_meta[] = {
    {"__gc", key_wipe},
    {"__close", key_wipe},
    {"__tostring", key_tostring},
    {"__eq", key_eq},
    {"__index", NULL},
    {"__metatable", NULL},
    {NULL, NULL}
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

int luaopen_enigma_crypto(lua_State *L)
{
    enigma_error err;
    if (enigma_crypto_init(&err) < 0)
        return luaL_error(L, "%s", err.message);

    luaL_newmetatable(L, ENIGMA_KEY_MT);
    luaL_setfuncs(L, key_meta, 0);
    luaL_newlib(L, key_methods);
    lua_setfield(L, -2, "__index");
    lua_pushliteral(L, "enigma.crypto.key");
    lua_setfield(L, -2, "__metatable"); /* getmetatable cannot reach the methods */
    lua_pop(L, 1);

    luaL_newmetatable(L, SECRET_TEXT_MT);
    lua_pushcfunction(L, secret_text_wipe);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, SECRET_TEXT_MT);
    lua_setfield(L, -2, "__metatable");
    lua_pop(L, 1);

    luaL_newmetatable(L, ERROR_MT);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pop(L, 1);

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
