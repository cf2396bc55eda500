/*
 * enigma.crypto.note: deposit notes, over core/crypto/note.h.
 *
 *   new{ amount, token, chain_id } -> note   (random nullifier and secret)
 *   parse(text)                    -> note   (raises EFORMAT / ECHECKSUM)
 *   of(note_or_text)               -> note   (the note itself, or its text parsed)
 *   note:amount(), note:token(), note:chain_id()   (canonical amount string,
 *                                                  lowercase 0x token, integer)
 *   note:commitment(), note:nullifier_hash() -> "0x" + 64 hex
 *   note:hashes()                  -> both (what a deposit row stores)
 *   note:text()                    -> "enigma-note-v1-..." (the secret itself)
 *   note:close(), note:wipe()      (also on __gc and __close)
 *
 * A note userdata keeps its enigma_note in guarded memory. Its secret leaves
 * only through note:text(), an explicit export: tostring is redacted (amount
 * and chain, which the deposit row holds in the clear), and the userdata has
 * no __concat, no __index other than the methods above, and no JSON or SQL
 * form (enigma.json and enigma.db refuse it). A closed note raises on use.
 */
#include <lauxlib.h>
#include <lua.h>

#include "bindings/binding.h"
#include "core/crypto/crypto.h"
#include "core/crypto/note.h"

#define NOTE_MT "enigma.crypto.note"

static enigma_note *new_note(lua_State *L)
{
    return enigma_lua_guarded_new(L, NOTE_MT, sizeof(enigma_note));
}

static enigma_note *check_note(lua_State *L, int idx)
{
    enigma_note *note = enigma_lua_guarded_bytes(L, idx, NOTE_MT);
    if (note == NULL)
        luaL_error(L, "attempt to use a closed note");
    return note;
}

/* note.new{ amount = "1.5" | decimal | integer, token = "0x...", chain_id = 1 } */
static int note_new(lua_State *L)
{
    uint8_t token[ENIGMA_ADDRESS_BYTES] = {0};
    enigma_error err;
    size_t len;

    luaL_checktype(L, 1, LUA_TTABLE);
    /* Floats are refused: 0.1 + 0.2 is not an amount anyone meant. */
    lua_getfield(L, 1, "amount");
    if (lua_type(L, -1) == LUA_TNUMBER && !lua_isinteger(L, -1))
        return luaL_error(L, "note.new: amount must be a string, an integer or an enigma.decimal, "
                             "not a float");
    if (lua_isnil(L, -1))
        return luaL_error(L, "note.new: amount is required");
    luaL_tolstring(L, -1, &len); /* index 3 */

    lua_getfield(L, 1, "token");
    if (!lua_isnil(L, -1)) {
        const char *text = luaL_checklstring(L, -1, &len);
        if (enigma_address_parse(token, text, len, &err) < 0) {
            enigma_error_append(&err, " (the note's token)");
            return enigma_lua_error_raise(L, &err);
        }
    }
    lua_getfield(L, 1, "chain_id");
    lua_Integer chain = lua_isnil(L, -1) ? 1 : luaL_checkinteger(L, -1);
    if (chain <= 0)
        return luaL_error(L, "note.new: chain_id must be a positive integer");

    size_t amount_len;
    const char *amount = lua_tolstring(L, 3, &amount_len); /* the tostring'd amount */
    enigma_note *note = new_note(L);
    if (enigma_note_new(note, amount, amount_len, token, (uint64_t)chain, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    return 1;
}

static int note_parse(lua_State *L)
{
    size_t len;
    const char *text = luaL_checklstring(L, 1, &len);
    enigma_error err;
    enigma_note *note = new_note(L);
    if (enigma_note_parse(note, text, len, &err) < 0)
        return enigma_lua_error_raise(L, &err);
    return 1;
}

/* note.of(v): v when it is an open note; a new note parsed from v when it is
 * the text form (raises EFORMAT / ECHECKSUM). For functions that take either,
 * as deposits.withdraw does; the caller wipes a note it did not get. */
static int note_of(lua_State *L)
{
    if (lua_type(L, 1) == LUA_TSTRING)
        return note_parse(L);
    if (luaL_testudata(L, 1, NOTE_MT) == NULL)
        return luaL_typeerror(L, 1, "enigma.crypto.note or the text of one");
    check_note(L, 1);
    lua_settop(L, 1);
    return 1;
}

static int note_close(lua_State *L)
{
    luaL_checkudata(L, 1, NOTE_MT);
    enigma_lua_guarded_wipe(L, 1, NOTE_MT);
    return 0;
}

static void push_hash(lua_State *L, const uint8_t hash[ENIGMA_NOTE_HASH_BYTES])
{
    char hex[2 * ENIGMA_NOTE_HASH_BYTES + 3];
    lua_pushlstring(L, hex, enigma_hex_encode(hex, hash, ENIGMA_NOTE_HASH_BYTES, 1));
}

static int note_commitment(lua_State *L)
{
    uint8_t hash[ENIGMA_NOTE_HASH_BYTES];
    enigma_note_commitment(check_note(L, 1), hash);
    push_hash(L, hash);
    return 1;
}

static int note_nullifier_hash(lua_State *L)
{
    uint8_t hash[ENIGMA_NOTE_HASH_BYTES];
    enigma_note_nullifier_hash(check_note(L, 1), hash);
    push_hash(L, hash);
    return 1;
}

/* note:hashes() -> commitment, nullifier_hash: what a deposit stores, in one call. */
static int note_hashes(lua_State *L)
{
    enigma_note *note = check_note(L, 1);
    uint8_t hash[ENIGMA_NOTE_HASH_BYTES];
    enigma_note_commitment(note, hash);
    push_hash(L, hash);
    enigma_note_nullifier_hash(note, hash);
    push_hash(L, hash);
    return 2;
}

static int note_text(lua_State *L)
{
    char text[ENIGMA_NOTE_TEXT_MAX];
    size_t len = enigma_note_format(text, check_note(L, 1));
    lua_pushlstring(L, text, len);
    enigma_crypto_wipe(text, sizeof text);
    return 1;
}

static int note_tostring(lua_State *L)
{
    const enigma_note *note = enigma_lua_guarded_bytes(L, 1, NOTE_MT);
    if (note == NULL)
        lua_pushliteral(L, "enigma.crypto.note (closed)");
    else
        lua_pushfstring(L, "enigma.crypto.note (redacted; %s on chain %I)", note->amount,
                        (lua_Integer)note->chain_id);
    return 1;
}

static int note_amount(lua_State *L)
{
    lua_pushstring(L, check_note(L, 1)->amount);
    return 1;
}

static int note_token(lua_State *L)
{
    char hex[2 * ENIGMA_ADDRESS_BYTES + 3];
    enigma_hex_encode(hex, check_note(L, 1)->token, ENIGMA_ADDRESS_BYTES, 1);
    lua_pushstring(L, hex);
    return 1;
}

static int note_chain_id(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_note(L, 1)->chain_id);
    return 1;
}

static const luaL_Reg note_methods[] = {
    {"amount", note_amount},
    {"token", note_token},
    {"chain_id", note_chain_id},
    {"commitment", note_commitment},
    {"nullifier_hash", note_nullifier_hash},
    {"hashes", note_hashes},
    {"text", note_text},
    {"close", note_close},
    {NULL, NULL}
};

static const luaL_Reg note_functions[] = {
    {"new", note_new}, {"parse", note_parse}, {"of", note_of}, {NULL, NULL}
};

ENIGMA_EXPORT int luaopen_enigma_crypto_note(lua_State *L)
{
    enigma_lua_guarded_metatable(L, NOTE_MT, note_tostring, note_methods);

    luaL_newlib(L, note_functions);
    return 1;
}
