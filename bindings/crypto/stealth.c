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
 * bytes). Addresses come out EIP-55 and are accepted in any valid form. A
 * view tag is an integer 0..255 in any numeric form (integer, integral float,
 * integral enigma.decimal); nil or enigma.null is none. A wrong tag is a
 * non-match even when the address would match (EIP-5564). scan reads each
 * announcement's fields exactly as check reads its arguments, and counts an
 * announcement with any malformed field invalid instead of raising.
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

/* Reads up to 3 integer digits of `s` (the whole of it, after an optional
 * fraction of zeros) into *tag: the text of an integral enigma.decimal. */
static int decimal_tag(const char *s, size_t len, int *tag)
{
    size_t i = 0, digits = 0;
    int negative = 0, value = 0;

    if (i < len && s[i] == '-') {
        negative = 1;
        i++;
    }
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
        value = value * 10 + (s[i] - '0');
        if (value > 255)
            return -1;
    }
    if (digits == 0)
        return -1;
    if (i < len && s[i] == '.')
        for (i++; i < len && s[i] == '0'; i++)
            ;
    if (i != len || (negative && value != 0))
        return -1;
    *tag = value;
    return 0;
}

/*
 * The view tag at `idx`: 0..255, VIEW_TAG_NONE for none (nil or enigma.null,
 * a NULL column), VIEW_TAG_BAD for anything that is not a view tag. A tag is
 * a number whatever its representation: an integer, a float with an integral
 * value (33.0, as a JSON decoder may make it), or an integral enigma.decimal.
 * A fraction, NaN, an infinity, a value outside 0..255, a string or any other
 * type is not one. Used by check (which raises) and scan (which counts the
 * announcement malformed), so both read a tag alike.
 */
#define VIEW_TAG_NONE (-1)
#define VIEW_TAG_BAD (-2)

static int view_tag_at(lua_State *L, int idx)
{
    switch (lua_type(L, idx)) {
    case LUA_TNONE:
    case LUA_TNIL:
        return VIEW_TAG_NONE;
    case LUA_TLIGHTUSERDATA:
        return lua_touserdata(L, idx) == NULL ? VIEW_TAG_NONE : VIEW_TAG_BAD;
    case LUA_TNUMBER:
        if (lua_isinteger(L, idx)) {
            lua_Integer tag = lua_tointeger(L, idx);
            return tag >= 0 && tag <= 255 ? (int)tag : VIEW_TAG_BAD;
        } else {
            lua_Number x = lua_tonumber(L, idx);
            /* NaN fails both comparisons; -0.0 is 0. */
            if (!(x >= 0 && x <= 255) || x != (lua_Number)(int)x)
                return VIEW_TAG_BAD;
            return (int)x;
        }
    case LUA_TUSERDATA:
        if (enigma_lua_isdecimal(L, idx)) {
            size_t len;
            int tag;
            const char *text = luaL_tolstring(L, idx, &len);
            int rc = decimal_tag(text, len, &tag);
            lua_pop(L, 1);
            return rc == 0 ? tag : VIEW_TAG_BAD;
        }
        return VIEW_TAG_BAD;
    default:
        return VIEW_TAG_BAD;
    }
}

static int opt_view_tag(lua_State *L, int idx)
{
    int tag = view_tag_at(L, idx);
    luaL_argcheck(L, tag != VIEW_TAG_BAD, idx,
                  "a view tag is an integer from 0 to 255 (a number or enigma.decimal), or nil");
    return tag;
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

/*
 * Reads announcement i (a table with ephemeral_public_key, stealth_address
 * and optional view_tag) into `a`, reading each field as check reads its
 * argument: the key in either encoding (hex of 33 or 65 bytes, 0x optional),
 * the address as enigma_address_parse takes it, the tag by view_tag_at.
 * Malformed data is not an error: the announcements are other people's, so
 * a bad one must not stop the scan. It is counted invalid instead, whichever
 * field is wrong: the key's length is left 0, which the scan marks invalid.
 */
static void read_announcement(lua_State *L, int list, lua_Integer i, enigma_stealth_announcement *a)
{
    size_t len, n = 0;
    const char *text;
    int ok = 1;

    memset(a, 0, sizeof *a);
    a->view_tag = VIEW_TAG_NONE;
    if (lua_geti(L, list, i) != LUA_TTABLE)
        luaL_error(L, "announcement %d is not a table", (int)i);
    lua_getfield(L, -1, "ephemeral_public_key");
    text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    ok &= text != NULL &&
          enigma_hex_decode(a->ephemeral_pub, sizeof a->ephemeral_pub, &n, text, len, NULL) == 0;
    lua_getfield(L, -2, "stealth_address");
    text = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    ok &= text != NULL && enigma_address_parse(a->address, text, len, NULL) == 0;
    lua_getfield(L, -3, "view_tag");
    a->view_tag = view_tag_at(L, -1);
    ok &= a->view_tag != VIEW_TAG_BAD;
    a->ephemeral_len = ok ? n : 0;
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
