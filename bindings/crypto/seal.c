/*
 * enigma.crypto.seal: private keys at rest, over core/crypto/seal.h.
 *
 *   wrap(key, opts)       -> envelope text ("enigma-seal-v1:...")
 *   open(envelope, opts)  -> key
 *   inspect(envelope)     -> { kdf = "argon2id" | "master_key", opslimit, memlimit }
 *   master_key([path])    -> master key (default path: $ENIGMA_MASTER_KEY_FILE)
 *
 * opts: { address = stealth address, chain_id = integer (default 1),
 *         passphrase = string | master_key = master key userdata,
 *         opslimit, memlimit (argon2id cost, wrap only) }
 * With neither passphrase nor master_key, the master key file named by
 * ENIGMA_MASTER_KEY_FILE is used. A master key is guarded memory, redacted
 * in tostring, wiped on __gc/__close.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/binding.h"
#include "core/crypto/crypto.h"
#include "core/crypto/seal.h"
#include "core/crypto/stealth.h"

#define MASTER_MT "enigma.crypto.master_key"

static int master_tostring(lua_State *L)
{
    lua_pushstring(L, enigma_lua_guarded_bytes(L, 1, MASTER_MT)
                          ? "enigma.crypto.master_key (redacted)"
                          : "enigma.crypto.master_key (wiped)");
    return 1;
}

/* Pushes a master key loaded from `path`. */
static const uint8_t *push_master(lua_State *L, const char *path)
{
    enigma_error err;
    uint8_t *bytes = enigma_lua_guarded_new(L, MASTER_MT, ENIGMA_MASTER_KEY_BYTES);
    if (enigma_seal_master_key_load(bytes, path, &err) < 0)
        enigma_lua_error_raise(L, &err);
    return bytes;
}

static const char *default_master_path(lua_State *L)
{
    const char *path = getenv("ENIGMA_MASTER_KEY_FILE");
    if (path == NULL || path[0] == '\0')
        luaL_error(L, "no passphrase or master key given, and ENIGMA_MASTER_KEY_FILE is not set: "
                      "set it to a file holding 64 hex digits, mode 0600");
    return path;
}

static int seal_master_key(lua_State *L)
{
    const char *path = lua_isnoneornil(L, 1) ? default_master_path(L) : luaL_checkstring(L, 1);
    push_master(L, path);
    return 1;
}

/* Reads opts (a table at `idx`) into `key`, the address and the chain. Any
 * master key loaded here is left on the stack, keeping its memory alive. */
static void read_opts(lua_State *L, int idx, int sealing, enigma_seal_key *key,
                      uint8_t address[ENIGMA_ADDRESS_BYTES], uint64_t *chain_id)
{
    size_t len;
    enigma_error err;

    luaL_checktype(L, idx, LUA_TTABLE);
    *key = (enigma_seal_key){0};

    lua_getfield(L, idx, "address");
    const char *text = lua_tolstring(L, -1, &len);
    if (text == NULL)
        luaL_error(L, "seal: opts.address (the stealth address the key belongs to) is required");
    if (enigma_address_parse(address, text, len, &err) < 0)
        enigma_lua_error_raise(L, &err);
    lua_pop(L, 1);

    lua_getfield(L, idx, "chain_id");
    lua_Integer chain = lua_isnil(L, -1) ? 1 : luaL_checkinteger(L, -1);
    if (chain <= 0)
        luaL_error(L, "seal: opts.chain_id must be a positive integer");
    *chain_id = (uint64_t)chain;
    lua_pop(L, 1);

    if (sealing) { /* opening reads the cost from the envelope */
        lua_getfield(L, idx, "opslimit");
        key->opslimit = (uint32_t)luaL_optinteger(L, -1, 0);
        lua_getfield(L, idx, "memlimit");
        key->memlimit = (uint64_t)luaL_optinteger(L, -1, 0);
        lua_pop(L, 2);
    }

    lua_getfield(L, idx, "passphrase");
    if (!lua_isnil(L, -1)) {
        key->kdf = ENIGMA_SEAL_ARGON2ID;
        key->passphrase = luaL_checklstring(L, -1, &key->passphrase_len);
        return; /* the string stays on the stack */
    }
    lua_pop(L, 1);

    lua_getfield(L, idx, "master_key");
    key->kdf = ENIGMA_SEAL_MASTER_KEY;
    if (!lua_isnil(L, -1)) {
        key->master_key = enigma_lua_guarded_bytes(L, -1, MASTER_MT);
        if (key->master_key == NULL)
            luaL_error(L, "attempt to use a wiped master key");
        return;
    }
    lua_pop(L, 1);
    key->master_key = push_master(L, default_master_path(L));
}

static int seal_wrap(lua_State *L)
{
    enigma_seal_key key;
    uint8_t address[ENIGMA_ADDRESS_BYTES];
    uint64_t chain_id;
    enigma_error err;
    char *envelope;

    const uint8_t *secret = enigma_lua_key_arg(L, 1);
    read_opts(L, 2, 1, &key, address, &chain_id);
    if (enigma_seal(&envelope, secret, ENIGMA_SECKEY_BYTES, &key, address, chain_id, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    lua_pushstring(L, envelope);
    free(envelope);
    return 1;
}

static int seal_open(lua_State *L)
{
    enigma_seal_key key;
    uint8_t address[ENIGMA_ADDRESS_BYTES];
    uint64_t chain_id;
    enigma_error err;
    size_t len, got;

    const char *envelope = luaL_checklstring(L, 1, &len);
    read_opts(L, 2, 0, &key, address, &chain_id);
    uint8_t *out = enigma_lua_key_new(L);
    /* Straight into the key's guarded memory: a secret longer than a key
     * fails (ELENGTH) before anything is decrypted. */
    int rc = enigma_seal_open(out, ENIGMA_SECKEY_BYTES, &got, envelope, len, &key, address,
                              chain_id, &err);
    if (rc == 0 && got != ENIGMA_SECKEY_BYTES)
        rc = enigma_error_set(&err, "EFORMAT", "the envelope holds %zu bytes, not a private key",
                              got);
    if (rc == 0)
        rc = enigma_seckey_verify(out, &err);
    if (rc < 0)
        enigma_crypto_wipe(out, ENIGMA_SECKEY_BYTES);
    if (rc < 0)
        return enigma_lua_error_raise(L, &err);
    return 1;
}

static int seal_inspect(lua_State *L)
{
    size_t len;
    const char *envelope = luaL_checklstring(L, 1, &len);
    enigma_seal_kdf kdf;
    uint32_t opslimit;
    uint64_t memlimit;
    enigma_error err;

    if (enigma_seal_inspect(&kdf, &opslimit, &memlimit, envelope, len, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    lua_createtable(L, 0, 3);
    lua_pushstring(L, kdf == ENIGMA_SEAL_ARGON2ID ? "argon2id" : "master_key");
    lua_setfield(L, -2, "kdf");
    if (kdf == ENIGMA_SEAL_ARGON2ID) {
        lua_pushinteger(L, opslimit);
        lua_setfield(L, -2, "opslimit");
        lua_pushinteger(L, (lua_Integer)memlimit);
        lua_setfield(L, -2, "memlimit");
    }
    return 1;
}

static const luaL_Reg seal_functions[] = {
    {"wrap", seal_wrap},
    {"open", seal_open},
    {"inspect", seal_inspect},
    {"master_key", seal_master_key},
    {NULL, NULL}
};

ENIGMA_EXPORT int luaopen_enigma_crypto_seal(lua_State *L)
{
    enigma_lua_guarded_metatable(L, MASTER_MT, master_tostring, NULL);

    luaL_newlib(L, seal_functions);
    return 1;
}
