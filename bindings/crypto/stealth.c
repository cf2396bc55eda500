/*
 * enigma.crypto.stealth: EIP-5564 stealth addresses, over core/crypto/stealth.h.
 *
 *   keygen()                        -> { spending_key, viewing_key, meta_address }
 *   meta_address(spending, viewing) -> "st:eth:0x..."
 *   parse_meta(meta_address)        -> { spending_public_key, viewing_public_key }
 *   generate(meta_address [, ephemeral_private_key])
 *                                   -> { stealth_address, ephemeral_public_key, view_tag }
 *   check(address, ephemeral_public_key, viewing_key, spending_public_key [, view_tag])
 *                                   -> boolean
 *   private_key(ephemeral_public_key, viewing_key, spending_key) -> key
 *   scan(viewing_key, spending_public_key, announcements [, threads])
 *                                   -> { indices of matches }, invalid count
 *
 * Keys are private-key userdata or hex strings; public keys are hex (33 or 65
 * bytes). Addresses come out EIP-55 and are accepted in any valid form.
 */
#include <lauxlib.h>
#include <lua.h>
#include <stdlib.h>
#include <string.h>

#include "bindings/binding.h"
#include "core/crypto/crypto.h"
#include "core/crypto/stealth.h"

static void check_pubkey(lua_State *L, int idx, uint8_t pub[ENIGMA_PUBKEY_BYTES])
{
    size_t len;
    const char *hex = luaL_checklstring(L, idx, &len);
    enigma_error err;
    if (enigma_pubkey_parse_hex(pub, hex, len, &err) < 0) {
        enigma_error_append(&err, " (argument #%d, a public key)", idx);
        enigma_lua_error_raise(L, &err);
    }
}

static void check_address(lua_State *L, int idx, uint8_t address[ENIGMA_ADDRESS_BYTES])
{
    size_t len;
    const char *text = luaL_checklstring(L, idx, &len);
    enigma_error err;
    if (enigma_address_parse(address, text, len, &err) < 0) {
        enigma_error_append(&err, " (argument #%d, an address)", idx);
        enigma_lua_error_raise(L, &err);
    }
}

static void check_meta(lua_State *L, int idx, enigma_stealth_meta *meta)
{
    size_t len;
    const char *text = luaL_checklstring(L, idx, &len);
    enigma_error err;
    if (enigma_stealth_meta_parse(meta, text, len, &err) < 0)
        enigma_lua_error_raise(L, &err);
}

static void push_hex(lua_State *L, const uint8_t *bytes, size_t n)
{
    char hex[2 * 65 + 3];
    lua_pushlstring(L, hex, enigma_hex_encode(hex, bytes, n, 1));
}

static void push_meta(lua_State *L, const enigma_stealth_meta *meta)
{
    char text[ENIGMA_META_ADDRESS_TEXT_MAX];
    lua_pushlstring(L, text, enigma_stealth_meta_format(text, meta));
}

static int stealth_keygen(lua_State *L)
{
    enigma_stealth_meta meta;
    enigma_error err;
    lua_createtable(L, 0, 3);
    uint8_t *spending = enigma_lua_key_new(L);
    enigma_seckey_generate(spending);
    lua_setfield(L, -2, "spending_key");
    uint8_t *viewing = enigma_lua_key_new(L);
    enigma_seckey_generate(viewing);
    lua_setfield(L, -2, "viewing_key");
    if (enigma_stealth_meta_from_keys(&meta, spending, viewing, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    push_meta(L, &meta);
    lua_setfield(L, -2, "meta_address");
    return 1;
}

static int stealth_meta_address(lua_State *L)
{
    const uint8_t *spending = enigma_lua_key_arg(L, 1);
    const uint8_t *viewing = enigma_lua_key_arg(L, 2);
    enigma_stealth_meta meta;
    enigma_error err;
    if (enigma_stealth_meta_from_keys(&meta, spending, viewing, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    push_meta(L, &meta);
    return 1;
}

static int stealth_parse_meta(lua_State *L)
{
    enigma_stealth_meta meta;
    check_meta(L, 1, &meta);
    lua_createtable(L, 0, 2);
    push_hex(L, meta.spending_pub, ENIGMA_PUBKEY_BYTES);
    lua_setfield(L, -2, "spending_public_key");
    push_hex(L, meta.viewing_pub, ENIGMA_PUBKEY_BYTES);
    lua_setfield(L, -2, "viewing_public_key");
    return 1;
}

static void push_address(lua_State *L, const uint8_t address[ENIGMA_ADDRESS_BYTES])
{
    char text[ENIGMA_ADDRESS_TEXT_MAX];
    enigma_address_format(text, address);
    lua_pushstring(L, text);
}

static int stealth_generate(lua_State *L)
{
    enigma_stealth_meta meta;
    enigma_stealth_payment pay;
    enigma_error err;
    const uint8_t *ephemeral = NULL;

    check_meta(L, 1, &meta);
    if (!lua_isnoneornil(L, 2))
        ephemeral = enigma_lua_key_arg(L, 2);
    if (enigma_stealth_generate(&pay, &meta, ephemeral, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    lua_createtable(L, 0, 3);
    push_address(L, pay.address);
    lua_setfield(L, -2, "stealth_address");
    push_hex(L, pay.ephemeral_pub, ENIGMA_PUBKEY_BYTES);
    lua_setfield(L, -2, "ephemeral_public_key");
    lua_pushinteger(L, pay.view_tag);
    lua_setfield(L, -2, "view_tag");
    return 1;
}

static int opt_view_tag(lua_State *L, int idx)
{
    if (lua_isnoneornil(L, idx))
        return -1;
    lua_Integer tag = luaL_checkinteger(L, idx);
    luaL_argcheck(L, tag >= 0 && tag <= 255, idx, "a view tag is 0 to 255");
    return (int)tag;
}

static int stealth_check(lua_State *L)
{
    uint8_t address[ENIGMA_ADDRESS_BYTES], ephemeral[ENIGMA_PUBKEY_BYTES];
    uint8_t spending_pub[ENIGMA_PUBKEY_BYTES];
    enigma_error err;
    int match;

    check_address(L, 1, address);
    check_pubkey(L, 2, ephemeral);
    const uint8_t *viewing = enigma_lua_key_arg(L, 3);
    check_pubkey(L, 4, spending_pub);
    int tag = opt_view_tag(L, 5);
    if (enigma_stealth_check(&match, address, ephemeral, viewing, spending_pub, tag, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    lua_pushboolean(L, match);
    return 1;
}

static int stealth_private_key(lua_State *L)
{
    uint8_t ephemeral[ENIGMA_PUBKEY_BYTES];
    enigma_error err;

    check_pubkey(L, 1, ephemeral);
    const uint8_t *viewing = enigma_lua_key_arg(L, 2);
    const uint8_t *spending = enigma_lua_key_arg(L, 3);
    uint8_t *out = enigma_lua_key_new(L);
    if (enigma_stealth_private_key(out, ephemeral, viewing, spending, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    return 1;
}

/* Reads announcement i (a table with ephemeral_public_key, stealth_address
 * and optional view_tag) into `a`. Malformed text is not an error: the
 * announcements are other people's, so a bad one must not stop the scan. Its
 * bytes stay zero, which is not a curve point, and the scan marks it invalid
 * (or, for a bad address, simply not ours). */
static void read_announcement(lua_State *L, int list, lua_Integer i, enigma_stealth_announcement *a)
{
    size_t len;
    const char *text;

    memset(a, 0, sizeof *a);
    a->view_tag = -1;
    if (lua_geti(L, list, i) != LUA_TTABLE)
        luaL_error(L, "announcement %d is not a table", (int)i);
    lua_getfield(L, -1, "ephemeral_public_key");
    text = lua_tolstring(L, -1, &len);
    if (text == NULL ||
        enigma_hex_decode_exact(a->ephemeral_pub, ENIGMA_PUBKEY_BYTES, text, len, NULL) < 0)
        memset(a->ephemeral_pub, 0, sizeof a->ephemeral_pub);
    lua_getfield(L, -2, "stealth_address");
    text = lua_tolstring(L, -1, &len);
    if (text == NULL ||
        enigma_hex_decode_exact(a->address, ENIGMA_ADDRESS_BYTES, text, len, NULL) < 0)
        memset(a->address, 0, sizeof a->address);
    lua_getfield(L, -3, "view_tag");
    if (lua_isinteger(L, -1)) {
        lua_Integer tag = lua_tointeger(L, -1);
        a->view_tag = tag >= 0 && tag <= 255 ? (int)tag : -1;
    }
    lua_pop(L, 4);
}

static int stealth_scan(lua_State *L)
{
    uint8_t spending_pub[ENIGMA_PUBKEY_BYTES];
    enigma_error err;

    const uint8_t *viewing = enigma_lua_key_arg(L, 1);
    check_pubkey(L, 2, spending_pub);
    luaL_checktype(L, 3, LUA_TTABLE);
    int threads = (int)luaL_optinteger(L, 4, 0);
    lua_Integer n = luaL_len(L, 3);

    /* A userdata, so the list is freed even if reading an entry raises. */
    enigma_stealth_announcement *list =
        lua_newuserdatauv(L, (size_t)(n > 0 ? n : 1) * sizeof *list, 0);
    for (lua_Integer i = 1; i <= n; i++)
        read_announcement(L, 3, i, &list[i - 1]);

    long matches = enigma_stealth_scan(list, (size_t)n, viewing, spending_pub, threads, &err);
    if (matches < 0)
        return enigma_lua_error_raise(L, &err);

    lua_createtable(L, (int)matches, 0);
    lua_Integer found = 0, invalid = 0;
    for (lua_Integer i = 0; i < n; i++) {
        if (list[i].match == 1) {
            lua_pushinteger(L, i + 1);
            lua_rawseti(L, -2, ++found);
        } else if (list[i].match < 0) {
            invalid++;
        }
    }
    lua_pushinteger(L, invalid);
    return 2;
}

static const luaL_Reg stealth_functions[] = {
    {"keygen", stealth_keygen},
    {"meta_address", stealth_meta_address},
    {"parse_meta", stealth_parse_meta},
    {"generate", stealth_generate},
    {"check", stealth_check},
    {"private_key", stealth_private_key},
    {"scan", stealth_scan},
    {NULL, NULL}
};

ENIGMA_EXPORT int luaopen_enigma_crypto_stealth(lua_State *L)
{
    luaL_newlib(L, stealth_functions);
    return 1;
}
