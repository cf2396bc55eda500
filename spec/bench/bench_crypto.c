/*
 * bench_tool crypto ITERATIONS ROUNDS
 *
 * Each crypto operation twice in one process: through enigma.crypto in an
 * embedded Lua state (as `enigma run` makes it) and as the same loop in C
 * calling the core, with the same inputs (text in, text out where the Lua
 * API takes and gives text). Rounds alternate A B, B A, ... Prints one line
 * per operation: name, Lua seconds, C seconds, iterations (summed over rounds).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bindings/binding.h"
#include "host/alloc.h"
#include "core/crypto/crypto.h"
#include "core/crypto/note.h"
#include "core/crypto/seal.h"
#include "core/crypto/stealth.h"
#include "bench_crypto.h"

/* The EIP-5564 vector of spec/vectors/eip5564.json. */
#define META                                                                      \
    "st:eth:0x0283b86204496de3c378077eebf61b580558e40358d1b6fbd48a912275d50d91e1" \
    "022820d51c295d75c575d22baefd50435bab855cc42da2eeab1ab4220744032ffc"
#define VIEWING_KEY "0x7ab575723f05d81f57668e5f1c02fc36317d1b828c58061b1ad786b42839056d"
#define SPENDING_PUB "0x0283b86204496de3c378077eebf61b580558e40358d1b6fbd48a912275d50d91e1"
#define EPHEMERAL_PUB "0x02709315ef14ed649757db73fe4ffc4dfc821ab84883a251ce0276706d272d43da"
#define STEALTH_ADDRESS "0x72B21331C05d86aeF71Ab02d4126E428e9C63C75"
#define VIEW_TAG 0xb3
#define WRONG_TAG 0xb4

static const char lua_setup[] =
    "local crypto = require('enigma').crypto\n"
    "local meta, viewing, spend_pub, eph, address, tag, wrong, envelope, master_path = ...\n"
    "viewing = crypto.private_key(viewing)\n"
    "local note = crypto.note.new { amount = '1.5', chain_id = 1 }\n"
    "local opts = { address = address, chain_id = 1, master_key = crypto.seal.master_key(master_path) }\n"
    "local loops = {}\n"
    "function loops.note(n)\n"
    "  for _ = 1, n do local c, h = note:hashes() end\n"
    "end\n"
    "function loops.generate(n)\n"
    "  for _ = 1, n do local p = crypto.stealth.generate(meta) end\n"
    "end\n"
    "function loops.check_miss(n)\n"
    "  for _ = 1, n do assert(not crypto.stealth.check(address, eph, viewing, spend_pub, wrong)) end\n"
    "end\n"
    "function loops.check_full(n)\n"
    "  for _ = 1, n do assert(crypto.stealth.check(address, eph, viewing, spend_pub, tag)) end\n"
    "end\n"
    "function loops.seal_open(n)\n"
    "  for _ = 1, n do local k = crypto.seal.open(envelope, opts) end\n"
    "end\n"
    "return loops\n";

typedef struct fixture {
    enigma_note note;
    uint8_t viewing[ENIGMA_SECKEY_BYTES];
    uint8_t master[ENIGMA_MASTER_KEY_BYTES];
    char *envelope;
} fixture;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
    fprintf(stderr, "bench_tool crypto: %s\n", what);
    exit(1);
}

/* ---- the C loops: the core, from the same text the Lua API receives -------- */

static void c_note(fixture *f, long n)
{
    uint8_t c[ENIGMA_NOTE_HASH_BYTES], h[ENIGMA_NOTE_HASH_BYTES];
    char ch[2 * ENIGMA_NOTE_HASH_BYTES + 3], hh[2 * ENIGMA_NOTE_HASH_BYTES + 3];
    for (long i = 0; i < n; i++) {
        enigma_note_commitment(&f->note, c);
        enigma_note_nullifier_hash(&f->note, h);
        enigma_hex_encode(ch, c, sizeof c, 1);
        enigma_hex_encode(hh, h, sizeof h, 1);
    }
}

static void c_generate(fixture *f, long n)
{
    (void)f;
    for (long i = 0; i < n; i++) {
        enigma_stealth_meta meta;
        enigma_stealth_payment pay;
        char address[ENIGMA_ADDRESS_TEXT_MAX], eph[2 * ENIGMA_PUBKEY_BYTES + 3];
        if (enigma_stealth_meta_parse(&meta, META, strlen(META), NULL) < 0 ||
            enigma_stealth_generate(&pay, &meta, NULL, NULL) < 0)
            die("generate failed");
        enigma_address_format(address, pay.address);
        enigma_hex_encode(eph, pay.ephemeral_pub, ENIGMA_PUBKEY_BYTES, 1);
    }
}

static void c_check(fixture *f, long n, int tag, int want)
{
    for (long i = 0; i < n; i++) {
        uint8_t address[ENIGMA_ADDRESS_BYTES], eph[ENIGMA_PUBKEY_BYTES], spend[ENIGMA_PUBKEY_BYTES];
        int match;
        if (enigma_address_parse(address, STEALTH_ADDRESS, strlen(STEALTH_ADDRESS), NULL) < 0 ||
            enigma_pubkey_parse_hex(eph, EPHEMERAL_PUB, strlen(EPHEMERAL_PUB), NULL) < 0 ||
            enigma_pubkey_parse_hex(spend, SPENDING_PUB, strlen(SPENDING_PUB), NULL) < 0 ||
            enigma_stealth_check(&match, address, eph, f->viewing, spend, tag, NULL) < 0 ||
            match != want)
            die("check failed");
    }
}

static void c_seal_open(fixture *f, long n)
{
    enigma_seal_key key = {.kdf = ENIGMA_SEAL_MASTER_KEY, .master_key = f->master};
    size_t len = strlen(f->envelope);
    for (long i = 0; i < n; i++) {
        uint8_t address[ENIGMA_ADDRESS_BYTES], out[ENIGMA_SEAL_SECRET_MAX];
        size_t got;
        if (enigma_address_parse(address, STEALTH_ADDRESS, strlen(STEALTH_ADDRESS), NULL) < 0 ||
            enigma_seal_open(out, sizeof out, &got, f->envelope, len, &key, address, 1, NULL) < 0 ||
            enigma_seckey_verify(out, NULL) < 0)
            die("seal_open failed");
        enigma_crypto_wipe(out, sizeof out);
    }
}

static void c_loop(fixture *f, const char *name, long n)
{
    if (strcmp(name, "note") == 0)
        c_note(f, n);
    else if (strcmp(name, "generate") == 0)
        c_generate(f, n);
    else if (strcmp(name, "check_miss") == 0)
        c_check(f, n, WRONG_TAG, 0);
    else if (strcmp(name, "check_full") == 0)
        c_check(f, n, VIEW_TAG, 1);
    else
        c_seal_open(f, n);
}

static void lua_loop(lua_State *L, const char *name, long n)
{
    lua_getfield(L, 1, name);
    lua_pushinteger(L, n);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
        die(lua_tostring(L, -1));
}

/* ---- set-up ------------------------------------------------------------------ */

static void make_fixture(fixture *f, char *dir, char *master_path, size_t cap)
{
    static const uint8_t zero_token[ENIGMA_ADDRESS_BYTES] = {0};
    uint8_t spending[ENIGMA_SECKEY_BYTES], address[ENIGMA_ADDRESS_BYTES];
    enigma_error err;

    if (enigma_note_new(&f->note, "1.5", 3, zero_token, 1, &err) < 0 ||
        enigma_hex_decode_exact(f->viewing, sizeof f->viewing, VIEWING_KEY, strlen(VIEWING_KEY),
                                &err) < 0 ||
        enigma_address_parse(address, STEALTH_ADDRESS, strlen(STEALTH_ADDRESS), &err) < 0)
        die(err.message);
    enigma_crypto_random(f->master, sizeof f->master);
    enigma_seckey_generate(spending);
    enigma_seal_key key = {.kdf = ENIGMA_SEAL_MASTER_KEY, .master_key = f->master};
    if (enigma_seal(&f->envelope, spending, sizeof spending, &key, address, 1, &err) < 0)
        die(err.message);

    /* The Lua side reads the same master key from a file, as a user's would. */
    if (mkdtemp(dir) == NULL)
        die("mkdtemp failed");
    snprintf(master_path, cap, "%s/master.key", dir);
    FILE *fp = fopen(master_path, "w");
    char hex[2 * ENIGMA_MASTER_KEY_BYTES + 3];
    enigma_hex_encode(hex, f->master, sizeof f->master, 0);
    if (fp == NULL || chmod(master_path, 0600) < 0 || fputs(hex, fp) < 0 || fclose(fp) != 0)
        die("cannot write the master key file");
}

int enigma_bench_crypto(long n, int rounds)
{
    static const char *const ops[] = {"note", "generate", "check_miss", "check_full", "seal_open"};
    /* Per-op iteration scale: hashing is ~100x cheaper than a curve multiplication. */
    static const long scale[] = {100, 1, 1, 1, 20};
    char dir[] = "/tmp/enigma-bench-XXXXXX", master_path[256];
    fixture f;

    make_fixture(&f, dir, master_path, sizeof master_path);
    lua_State *L = enigma_host_alloc_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "enigma", luaopen_enigma, 0);
    lua_pop(L, 1);
    if (luaL_loadstring(L, lua_setup) != LUA_OK)
        die(lua_tostring(L, -1));
    const char *args[] = {META, VIEWING_KEY, SPENDING_PUB, EPHEMERAL_PUB, STEALTH_ADDRESS};
    for (size_t i = 0; i < sizeof args / sizeof *args; i++)
        lua_pushstring(L, args[i]);
    lua_pushinteger(L, VIEW_TAG);
    lua_pushinteger(L, WRONG_TAG);
    lua_pushstring(L, f.envelope);
    lua_pushstring(L, master_path);
    if (lua_pcall(L, 9, 1, 0) != LUA_OK)
        die(lua_tostring(L, -1));
    /* stack: [1] the table of Lua loops */

    for (size_t op = 0; op < sizeof ops / sizeof *ops; op++) {
        long iters = n * scale[op];
        double t_lua = 0, t_c = 0, t;
        lua_loop(L, ops[op], iters / 10 + 1); /* warm up */
        c_loop(&f, ops[op], iters / 10 + 1);
        for (int r = 0; r < rounds; r++) {
            if (r % 2 == 0) {
                t = now();
                lua_loop(L, ops[op], iters);
                t_lua += now() - t;
                t = now();
                c_loop(&f, ops[op], iters);
                t_c += now() - t;
            } else {
                t = now();
                c_loop(&f, ops[op], iters);
                t_c += now() - t;
                t = now();
                lua_loop(L, ops[op], iters);
                t_lua += now() - t;
            }
        }
        printf("%s %.6f %.6f %ld\n", ops[op], t_lua, t_c, iters * rounds);
        fflush(stdout);
    }
    enigma_host_alloc_close(L);
    enigma_note_wipe(&f.note);
    enigma_crypto_wipe(f.master, sizeof f.master);
    free(f.envelope);
    unlink(master_path);
    rmdir(dir);
    return 0;
}
