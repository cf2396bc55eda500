/*
 * enigma.crypto.keystore: Ethereum keystore v3 files, over core/crypto/keystore.h.
 *
 *   decrypt(json_text, password)       -> key
 *   encrypt(key, password [, opts])    -> json_text
 *
 * opts: { kdf = "scrypt" | "pbkdf2", n, r, p (scrypt), c (pbkdf2) }; the
 * defaults are geth's (scrypt n=262144, r=8, p=1).
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>

#include "bindings/binding.h"
#include "core/crypto/keystore.h"

static int keystore_decrypt(lua_State *L)
{
    size_t len, password_len;
    const char *json = luaL_checklstring(L, 1, &len);
    const char *password = luaL_checklstring(L, 2, &password_len);
    enigma_error err;

    uint8_t *key = enigma_lua_key_new(L);
    if (enigma_keystore_decrypt(key, json, len, password, password_len, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    return 1;
}

static lua_Integer opt_field(lua_State *L, int idx, const char *name)
{
    lua_getfield(L, idx, name);
    lua_Integer v = luaL_optinteger(L, -1, 0);
    lua_pop(L, 1);
    if (v < 0 || v > (lua_Integer)UINT32_MAX * 4)
        luaL_error(L, "keystore.encrypt: opts.%s is out of range", name);
    return v;
}

static int keystore_encrypt(lua_State *L)
{
    static const char *const kdfs[] = {"scrypt", "pbkdf2", NULL};
    enigma_keystore_opts opts = {0};
    size_t password_len;
    enigma_error err;
    char *json;

    const uint8_t *key = enigma_lua_key_arg(L, 1);
    const char *password = luaL_checklstring(L, 2, &password_len);
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        lua_getfield(L, 3, "kdf");
        opts.kdf = luaL_checkoption(L, -1, "scrypt", kdfs) == 0 ? ENIGMA_KEYSTORE_SCRYPT
                                                                : ENIGMA_KEYSTORE_PBKDF2;
        lua_pop(L, 1);
        opts.n = (uint64_t)opt_field(L, 3, "n");
        opts.r = (uint32_t)opt_field(L, 3, "r");
        opts.p = (uint32_t)opt_field(L, 3, "p");
        opts.c = (uint32_t)opt_field(L, 3, "c");
    }
    if (enigma_keystore_encrypt(&json, key, password, password_len, &opts, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    lua_pushstring(L, json);
    free(json);
    return 1;
}

static const luaL_Reg keystore_functions[] = {
    {"decrypt", keystore_decrypt}, {"encrypt", keystore_encrypt}, {NULL, NULL}
};

ENIGMA_EXPORT int luaopen_enigma_crypto_keystore(lua_State *L)
{
    luaL_newlib(L, keystore_functions);
    return 1;
}
