/*
 * core/crypto/seal: round trips with both key kinds, everything that must
 * fail to open (wrong key, wrong binding, every tampered byte, truncation,
 * hostile headers), and the master key file's checks.
 */
#include "core/crypto/seal.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto/crypto.h"
#include "test.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define PREFIX_LEN (sizeof ENIGMA_SEAL_PREFIX - 1)

static uint8_t addr[ENIGMA_ADDRESS_BYTES], other_addr[ENIGMA_ADDRESS_BYTES];
static uint8_t master[ENIGMA_MASTER_KEY_BYTES], other_master[ENIGMA_MASTER_KEY_BYTES];
static uint8_t secret[32];

/* The cheapest argon2id libsodium allows, so the tests stay fast. */
static enigma_seal_key pass_key(const char *pass)
{
    enigma_seal_key k = {0};
    k.kdf = ENIGMA_SEAL_ARGON2ID;
    k.passphrase = pass;
    k.passphrase_len = strlen(pass);
    k.opslimit = 1;
    k.memlimit = crypto_pwhash_MEMLIMIT_MIN; /* 8192 */
    return k;
}

static enigma_seal_key master_key(const uint8_t *m)
{
    enigma_seal_key k = {0};
    k.kdf = ENIGMA_SEAL_MASTER_KEY;
    k.master_key = m;
    return k;
}

static int open_text(const char *text, const enigma_seal_key *k, const uint8_t *a, uint64_t chain,
                     uint8_t out[ENIGMA_SEAL_SECRET_MAX], size_t *n, enigma_error *err)
{
    enigma_error_clear(err);
    memset(out, 0, ENIGMA_SEAL_SECRET_MAX);
    return enigma_seal_open(out, ENIGMA_SEAL_SECRET_MAX, n, text, strlen(text), k, a, chain, err);
}

static size_t decode(uint8_t *bin, size_t cap, const char *text)
{
    size_t n = 0;
    if (sodium_base642bin(bin, cap, text + PREFIX_LEN, strlen(text) - PREFIX_LEN, NULL, &n, NULL,
                          B64) != 0)
        return 0;
    return n;
}

/* The envelope text of `n` bytes (caller frees). */
static char *encode(const uint8_t *bin, size_t n)
{
    size_t b = sodium_base64_ENCODED_LEN(n, B64);
    char *t = malloc(PREFIX_LEN + b);
    memcpy(t, ENIGMA_SEAL_PREFIX, PREFIX_LEN);
    sodium_bin2base64(t + PREFIX_LEN, b, bin, n, B64);
    return t;
}

static int has(const enigma_error *err, const char *code, const char *msg)
{
    int ok = strcmp(err->code, code) == 0 && strstr(err->message, msg) != NULL;
    if (!ok)
        fprintf(stderr, "  want %s \"%s\", got %s \"%s\"\n", code, msg, err->code, err->message);
    return ok;
}

static void test_round_trips(void)
{
    enigma_seal_key pk = pass_key("correct horse"), mk = master_key(master);
    char *a = NULL, *b = NULL, *m = NULL;
    uint8_t out[ENIGMA_SEAL_SECRET_MAX];
    size_t n;
    enigma_error err;
    enigma_seal_kdf kdf;
    uint32_t ops;
    uint64_t mem;

    CHECK(enigma_seal(&a, secret, sizeof secret, &pk, addr, 1, &err) == 0);
    CHECK(a != NULL && strncmp(a, ENIGMA_SEAL_PREFIX, PREFIX_LEN) == 0);
    CHECK(open_text(a, &pk, addr, 1, out, &n, &err) == 0);
    CHECK(n == sizeof secret && memcmp(out, secret, n) == 0);
    CHECK(enigma_seal_inspect(&kdf, &ops, &mem, a, strlen(a), &err) == 0);
    CHECK(kdf == ENIGMA_SEAL_ARGON2ID && ops == 1 && mem == 8192);
    /* Layout: magic, version, kdf, opslimit, memlimit in KiB, salt, nonce, ct||tag. */
    uint8_t bin[256];
    size_t len = decode(bin, sizeof bin, a);
    CHECK(len == 4 + 1 + 4 + 4 + 16 + 24 + 32 + 16);
    CHECK(memcmp(bin, "ESL\x01\x01\x00\x00\x00\x01\x00\x00\x00\x08", 13) == 0);

    /* Random salt and nonce: the same secret seals differently each time. */
    CHECK(enigma_seal(&b, secret, sizeof secret, &pk, addr, 1, &err) == 0);
    CHECK(b != NULL && strcmp(a, b) != 0);
    CHECK(strstr(a, "correct") == NULL);

    CHECK(enigma_seal(&m, secret, sizeof secret, &mk, addr, 1, &err) == 0);
    CHECK(open_text(m, &mk, addr, 1, out, &n, &err) == 0);
    CHECK(n == sizeof secret && memcmp(out, secret, n) == 0);
    CHECK(enigma_seal_inspect(&kdf, &ops, &mem, m, strlen(m), &err) == 0);
    CHECK(kdf == ENIGMA_SEAL_MASTER_KEY && ops == 0 && mem == 0);
    len = decode(bin, sizeof bin, m);
    CHECK(len == 4 + 1 + 8 + 8 + 24 + 32 + 16);
    CHECK(memcmp(bin, "ESL\x01\x02", 5) == 0);
    /* The key id is the first 8 bytes of BLAKE2b-256("enigma.mkeyid.v1", key). */
    uint8_t id[32];
    crypto_generichash_blake2b_salt_personal(id, 32, master, 32, NULL, 0, NULL,
                                             (const unsigned char *)"enigma.mkeyid.v1");
    CHECK(memcmp(bin + 13, id, 8) == 0);
    free(a);
    free(b);
    free(m);

    /* The smallest and largest secrets; a buffer of exactly the size. */
    for (size_t size = 1; size <= ENIGMA_SEAL_SECRET_MAX; size += ENIGMA_SEAL_SECRET_MAX - 1) {
        uint8_t big[ENIGMA_SEAL_SECRET_MAX], got[ENIGMA_SEAL_SECRET_MAX];
        memset(big, 0xa5, sizeof big);
        CHECK(enigma_seal(&m, big, size, &mk, addr, 1, &err) == 0);
        CHECK(enigma_seal_open(got, size, &n, m, strlen(m), &mk, addr, 1, &err) == 0);
        CHECK(n == size && memcmp(got, big, size) == 0);
        if (size > 1) {
            CHECK(enigma_seal_open(got, size - 1, &n, m, strlen(m), &mk, addr, 1, &err) == -1);
            CHECK(has(&err, "ELENGTH", "64 bytes but the buffer holds 63"));
        }
        free(m);
    }

    /* memlimit is kept in whole KiB (libsodium uses memlimit/1024 anyway). */
    pk.memlimit = 8192 + 1000;
    CHECK(enigma_seal(&a, secret, 1, &pk, addr, 1, &err) == 0);
    CHECK(enigma_seal_inspect(NULL, &ops, &mem, a, strlen(a), &err) == 0 && mem == 8192);
    CHECK(open_text(a, &pk, addr, 1, out, &n, &err) == 0);
    free(a);

    /* 0 means libsodium's INTERACTIVE cost. */
    pk.opslimit = 0;
    pk.memlimit = 0;
    CHECK(enigma_seal(&a, secret, 1, &pk, addr, 1, &err) == 0);
    CHECK(enigma_seal_inspect(&kdf, &ops, &mem, a, strlen(a), &err) == 0);
    CHECK(ops == crypto_pwhash_OPSLIMIT_INTERACTIVE && mem == crypto_pwhash_MEMLIMIT_INTERACTIVE);
    free(a);
}

static void test_seal_rejects(void)
{
    enigma_seal_key pk = pass_key("pw"), mk = master_key(master), bad;
    char *out = (char *)1;
    enigma_error err;

    CHECK(enigma_seal(&out, secret, 0, &mk, addr, 1, &err) == -1);
    CHECK(out == NULL);
    CHECK(has(&err, "ELENGTH", "1 to 64 bytes, not 0"));
    CHECK(enigma_seal(&out, secret, 65, &mk, addr, 1, &err) == -1);
    CHECK(has(&err, "ELENGTH", "not 65"));
    bad = pk;
    bad.opslimit = 65;
    CHECK(enigma_seal(&out, secret, 32, &bad, addr, 1, &err) == -1);
    CHECK(has(&err, "EFORMAT", "opslimit 65 and memlimit 8 KiB, beyond the limit"));
    bad = pk;
    bad.memlimit = 4096;
    CHECK(enigma_seal(&out, secret, 32, &bad, addr, 1, &err) == -1);
    CHECK(has(&err, "EFORMAT", "memlimit 4 KiB, beyond the limit"));
    bad = pk;
    bad.memlimit = (UINT64_C(4) << 30) + 1024;
    CHECK(enigma_seal(&out, secret, 32, &bad, addr, 1, &err) == -1);
    CHECK(has(&err, "EFORMAT", "memlimit 4194305 KiB, beyond the limit"));
    bad = pk;
    bad.opslimit = UINT32_MAX;
    CHECK(enigma_seal(&out, secret, 32, &bad, addr, 1, &err) == -1);
    CHECK(has(&err, "EFORMAT", "beyond the limit"));
    bad = pk;
    bad.passphrase_len = 0;
    CHECK(enigma_seal(&out, secret, 32, &bad, addr, 1, &err) == -1);
    CHECK(has(&err, "EINVAL", "empty passphrase"));
    bad = mk;
    bad.master_key = NULL;
    CHECK(enigma_seal(&out, secret, 32, &bad, addr, 1, &err) == -1);
    CHECK(has(&err, "EINVAL", "no master key"));
    bad.kdf = (enigma_seal_kdf)7;
    CHECK(enigma_seal(&out, secret, 32, &bad, addr, 1, &err) == -1);
    CHECK(has(&err, "EINVAL", "unknown sealing key kind 7"));
    CHECK(enigma_seal(&out, secret, 32, NULL, addr, 1, &err) == -1);
    CHECK(enigma_seal(&out, secret, 32, NULL, addr, 1, NULL) == -1); /* err may be NULL */
    CHECK(out == NULL);
}

static void test_wrong_keys_and_bindings(void)
{
    enigma_seal_key pk = pass_key("correct horse"), mk = master_key(master);
    enigma_seal_key wrong_pass = pass_key("correct horsE"), wrong_master = master_key(other_master);
    char *p = NULL, *m = NULL;
    uint8_t out[ENIGMA_SEAL_SECRET_MAX];
    size_t n = 99;
    enigma_error err;
    const char *auth = "cannot open the envelope: wrong passphrase or key, wrong address/chain, "
                       "or it was tampered with";

    CHECK(enigma_seal(&p, secret, sizeof secret, &pk, addr, 1, &err) == 0);
    CHECK(enigma_seal(&m, secret, sizeof secret, &mk, addr, 1, &err) == 0);

    CHECK(open_text(p, &wrong_pass, addr, 1, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", auth));
    CHECK(n == 0 && sodium_is_zero(out, sizeof out));
    CHECK(open_text(p, &pk, other_addr, 1, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", auth));
    CHECK(open_text(p, &pk, addr, 2, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", auth));
    CHECK(open_text(p, &pk, addr, (UINT64_C(1) << 32) | 1, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", auth)); /* all 8 chain-id bytes are bound */
    CHECK(open_text(m, &mk, other_addr, 1, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", auth));
    CHECK(open_text(m, &mk, addr, 5, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", auth));
    CHECK(sodium_is_zero(out, sizeof out));

    CHECK(open_text(m, &wrong_master, addr, 1, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", "sealed with a different master key"));
    CHECK(open_text(p, &mk, addr, 1, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", "sealed with a passphrase (argon2id) but a master key was given"));
    CHECK(open_text(m, &pk, addr, 1, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", "sealed with a master key but a passphrase (argon2id) was given"));
    CHECK(sodium_is_zero(out, sizeof out));
    free(p);
    free(m);
}

/* Every byte of the envelope flipped (three ways), and every truncation:
 * never opens. */
static void tamper(const char *text, const enigma_seal_key *k)
{
    uint8_t bin[256], out[ENIGMA_SEAL_SECRET_MAX];
    size_t len = decode(bin, sizeof bin, text), n;
    static const uint8_t masks[] = {0x01, 0x80, 0xff};
    int opened = 0, bad_code = 0, tried = 0;
    enigma_error err;

    CHECK(len > 0);
    for (size_t i = 0; i < len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            bin[i] ^= masks[m];
            char *t = encode(bin, len);
            tried++;
            if (open_text(t, k, addr, 1, out, &n, &err) == 0)
                opened++;
            else if (strcmp(err.code, "EAUTH") != 0 && strcmp(err.code, "EFORMAT") != 0)
                bad_code++, fprintf(stderr, "  byte %zu ^%02x: %s %s\n", i, masks[m], err.code,
                                    err.message);
            free(t);
            bin[i] ^= masks[m];
        }
    }
    for (size_t cut = 0; cut < len; cut++) {
        char *t = encode(bin, cut);
        tried++;
        if (open_text(t, k, addr, 1, out, &n, &err) == 0)
            opened++;
        else if (strcmp(err.code, "EAUTH") != 0 && strcmp(err.code, "EFORMAT") != 0)
            bad_code++; /* a cut inside the ciphertext still parses: EAUTH */
        free(t);
    }
    /* Text truncated by a character, or with one appended. */
    char buf[512];
    snprintf(buf, sizeof buf, "%.*s", (int)strlen(text) - 1, text);
    CHECK(open_text(buf, k, addr, 1, out, &n, &err) == -1);
    snprintf(buf, sizeof buf, "%sA", text);
    CHECK(open_text(buf, k, addr, 1, out, &n, &err) == -1);
    CHECK(tried == (int)(4 * len));
    CHECK(opened == 0);
    CHECK(bad_code == 0);
    /* Untouched, it still opens. */
    CHECK(open_text(text, k, addr, 1, out, &n, &err) == 0);
}

static void test_tampering(void)
{
    enigma_seal_key pk = pass_key("pw"), mk = master_key(master);
    char *p = NULL, *m = NULL;
    enigma_error err;

    CHECK(enigma_seal(&p, secret, sizeof secret, &pk, addr, 1, &err) == 0);
    CHECK(enigma_seal(&m, secret, sizeof secret, &mk, addr, 1, &err) == 0);
    tamper(p, &pk);
    tamper(m, &mk);
    free(p);
    free(m);
}

static void expect_format(const char *text, const char *msg)
{
    enigma_seal_key mk = master_key(master);
    uint8_t out[ENIGMA_SEAL_SECRET_MAX];
    size_t n;
    enigma_error err;
    enigma_seal_kdf kdf;

    CHECK(open_text(text, &mk, addr, 1, out, &n, &err) == -1);
    CHECK(has(&err, "EFORMAT", msg));
    enigma_error_clear(&err);
    CHECK(enigma_seal_inspect(&kdf, NULL, NULL, text, strlen(text), &err) == -1);
    CHECK(has(&err, "EFORMAT", msg));
}

/* A hand-made argon2id envelope with the given cost. */
static char *argon2_envelope(uint32_t ops, uint32_t kib)
{
    uint8_t bin[4 + 1 + 4 + 4 + 16 + 24 + 32 + 16] = {'E', 'S', 'L', 1, 1};
    for (int i = 0; i < 4; i++) {
        bin[5 + i] = (uint8_t)(ops >> (24 - 8 * i));
        bin[9 + i] = (uint8_t)(kib >> (24 - 8 * i));
    }
    return encode(bin, sizeof bin);
}

static void test_malformed(void)
{
    enigma_seal_key mk = master_key(master), pk = pass_key("pw");
    char *m = NULL, *t;
    char buf[512];
    uint8_t bin[256], out[ENIGMA_SEAL_SECRET_MAX];
    size_t len, n;
    enigma_error err;
    enigma_seal_kdf kdf;
    uint32_t ops;
    uint64_t mem;

    CHECK(enigma_seal(&m, secret, sizeof secret, &mk, addr, 1, &err) == 0);
    expect_format("", "not a sealed envelope");
    expect_format("hello", "not a sealed envelope");
    snprintf(buf, sizeof buf, "enigma-seal-v2:%s", m + PREFIX_LEN);
    expect_format(buf, "envelope version v2 is not supported");
    snprintf(buf, sizeof buf, "enigma-seal-v1%s", m + PREFIX_LEN);
    expect_format(buf, "not a sealed envelope: it should start with enigma-seal-v1:");
    snprintf(buf, sizeof buf, "ENIGMA-SEAL-V1:%s", m + PREFIX_LEN);
    expect_format(buf, "not a sealed envelope");
    expect_format("enigma-seal-v1:", "truncated");
    expect_format("enigma-seal-v1:@@@@@@@@", "not unpadded base64url");
    snprintf(buf, sizeof buf, "%s=", m);
    expect_format(buf, "base64url");
    snprintf(buf, sizeof buf, "%s", m);
    for (char *c = buf + PREFIX_LEN; *c; c++)
        if (*c == '-' || *c == '_')
            *c = '+'; /* standard base64 is not base64url */
    if (strchr(buf, '+') != NULL)
        expect_format(buf, "base64url");
    snprintf(buf, sizeof buf, "%s\n", m);
    expect_format(buf, "base64url");
    memset(buf, 'A', 400);
    memcpy(buf, ENIGMA_SEAL_PREFIX, PREFIX_LEN);
    buf[400] = '\0';
    expect_format(buf, "too long");

    len = decode(bin, sizeof bin, m);
    bin[0] = 'X';
    t = encode(bin, len);
    expect_format(t, "no ESL magic");
    free(t);
    bin[0] = 'E';
    bin[3] = 2;
    t = encode(bin, len);
    expect_format(t, "envelope version 2 is not supported");
    free(t);
    bin[3] = 1;
    for (int k = 0; k < 256; k += 3) {
        if (k == 1 || k == 2)
            continue;
        bin[4] = (uint8_t)k;
        t = encode(bin, len);
        snprintf(buf, sizeof buf, "unknown key derivation (%d)", k);
        expect_format(t, buf);
        free(t);
    }
    bin[4] = 2;
    /* A master envelope one byte longer than the 64-byte maximum secret
     * (it fits the decoder's buffer, so the length check must catch it). */
    uint8_t big[4 + 1 + 16 + 24 + 65 + 16] = {'E', 'S', 'L', 1, 2};
    t = encode(big, sizeof big);
    expect_format(t, "more than 64 bytes");
    free(t);
    free(m);

    /* Hostile costs are refused before any KDF runs: 4 TiB would otherwise
     * fail with ENOMEM (or take minutes), not EFORMAT. */
    static const uint32_t costs[][2] = {
        {UINT32_MAX, UINT32_MAX}, {0, 8}, {65, 8}, {1, 7}, {1, 0}, {1, 4194305}, {64, UINT32_MAX},
    };
    for (size_t i = 0; i < sizeof costs / sizeof costs[0]; i++) {
        t = argon2_envelope(costs[i][0], costs[i][1]);
        CHECK(open_text(t, &pk, addr, 1, out, &n, &err) == -1);
        CHECK(has(&err, "EFORMAT", "envelope asks for argon2id opslimit"));
        CHECK(has(&err, "EFORMAT", "beyond the limit"));
        CHECK(enigma_seal_inspect(&kdf, &ops, &mem, t, strlen(t), &err) == -1);
        free(t);
    }
    /* The bounds themselves are accepted (inspect runs no KDF). */
    t = argon2_envelope(64, 4194304);
    CHECK(enigma_seal_inspect(&kdf, &ops, &mem, t, strlen(t), &err) == 0);
    CHECK(kdf == ENIGMA_SEAL_ARGON2ID && ops == 64 && mem == (UINT64_C(4) << 30));
    free(t);
    /* An in-range hand-made envelope goes as far as authentication. */
    t = argon2_envelope(1, 8);
    CHECK(open_text(t, &pk, addr, 1, out, &n, &err) == -1);
    CHECK(has(&err, "EAUTH", "cannot open the envelope"));
    free(t);
    CHECK(enigma_seal_inspect(&kdf, &ops, &mem, "x", 1, NULL) == -1); /* err may be NULL */
}

/* Master key files. */
static char dir[64];

static const char *write_file(const char *name, const void *data, size_t n, mode_t mode)
{
    static char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return path;
    fwrite(data, 1, n, f);
    fclose(f);
    chmod(path, mode); /* explicitly: the umask is not ours to trust */
    return path;
}

static void key_ok(const char *name, const char *data, size_t n, const uint8_t *want)
{
    uint8_t key[ENIGMA_MASTER_KEY_BYTES];
    enigma_error err;
    const char *path = write_file(name, data, n, 0600);
    int rc = enigma_seal_master_key_load(key, path, &err);
    CHECK(rc == 0);
    if (rc != 0)
        fprintf(stderr, "  %s: %s\n", name, err.message);
    CHECK(memcmp(key, want, sizeof key) == 0);
}

static void key_bad(const char *path, const char *msg)
{
    uint8_t key[ENIGMA_MASTER_KEY_BYTES];
    enigma_error err;
    memset(key, 0x55, sizeof key);
    CHECK(enigma_seal_master_key_load(key, path, &err) == -1);
    CHECK(has(&err, "EKEYFILE", msg));
    CHECK(sodium_is_zero(key, sizeof key));
}

static void test_master_key_file(void)
{
    uint8_t want[32];
    char hex[80], buf[200];
    const char *p;

    snprintf(dir, sizeof dir, "/tmp/enigma-seal-test-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    for (int i = 0; i < 32; i++)
        want[i] = (uint8_t)(0xf0 - i);
    enigma_hex_encode(hex, want, 32, 0);

    key_ok("hex", hex, 64, want);
    snprintf(buf, sizeof buf, "%s\n", hex);
    key_ok("hex-newline", buf, 65, want);
    snprintf(buf, sizeof buf, "0x%s \r\n\t\n", hex);
    key_ok("hex-0x-whitespace", buf, strlen(buf), want);
    snprintf(buf, sizeof buf, "0X%s", hex);
    for (char *c = buf; *c; c++)
        *c = (char)(*c >= 'a' && *c <= 'f' ? *c - 32 : *c);
    key_ok("hex-upper", buf, strlen(buf), want);
    key_ok("raw", (const char *)want, 32, want);
    /* Raw bytes that happen to be whitespace and hex digits are still raw. */
    memcpy(buf, "0123456789abcdef0123456789abcde\n", 32);
    key_ok("raw-texty", buf, 32, (const uint8_t *)buf);

    p = write_file("open", hex, 64, 0644);
    key_bad(p, "is readable by group or others (mode 0644): chmod 600 it");
    p = write_file("group", hex, 64, 0640);
    key_bad(p, "is readable by group or others (mode 0640): chmod 600 it");
    p = write_file("gwrite", hex, 64, 0620);
    key_bad(p, "is writable or executable by group or others (mode 0620)");
    p = write_file("oexec", hex, 64, 0601);
    key_bad(p, "(mode 0601)");
    key_bad(dir, "is not a regular file (it is a directory)");
    snprintf(buf, sizeof buf, "%s/fifo", dir);
    CHECK(mkfifo(buf, 0600) == 0);
    key_bad(buf, "is not a regular file");
    unlink(buf);
    key_bad(write_file("raw31", (const char *)want, 31, 0600),
            "holds 31 bytes, neither 64 hex digits");
    memcpy(buf, want, 32);
    buf[32] = (char)0xee;
    key_bad(write_file("raw33", buf, 33, 0600), "holds 33 bytes");
    key_bad(write_file("hex63", hex, 63, 0600), "holds 63 hex digits: 64 (or 32 raw bytes)");
    snprintf(buf, sizeof buf, "%s0", hex);
    key_bad(write_file("hex65", buf, 65, 0600), "holds 65 hex digits");
    snprintf(buf, sizeof buf, "%s", hex);
    buf[10] = 'g';
    key_bad(write_file("nonhex", buf, 64, 0600), "byte 11 is not a hex digit");
    snprintf(buf, sizeof buf, " %s", hex);
    key_bad(write_file("leading-space", buf, 65, 0600), "byte 1 is not a hex digit");
    key_bad(write_file("empty", "", 0, 0600), "is empty");
    memset(buf, '0', 64);
    key_bad(write_file("zero", buf, 64, 0600), "all-zero key");
    memset(buf, 'a', 200);
    key_bad(write_file("long", buf, 200, 0600), "too long");
    snprintf(buf, sizeof buf, "%s/missing", dir);
    key_bad(buf, "cannot open master key file");
    key_bad(buf, "No such file");

    /* Clean up: every name written above. */
    static const char *names[] = {"hex",           "hex-newline", "hex-0x-whitespace",
                                  "hex-upper",     "raw",         "raw-texty",
                                  "open",          "group",       "gwrite",
                                  "oexec",         "raw31",       "raw33",
                                  "hex63",         "hex65",       "nonhex",
                                  "leading-space", "empty",       "zero",
                                  "long"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(buf, sizeof buf, "%s/%s", dir, names[i]);
        CHECK(unlink(buf) == 0);
    }
    CHECK(rmdir(dir) == 0);
}

int main(void)
{
    CHECK(enigma_crypto_init(NULL) == 0);
    for (int i = 0; i < 20; i++) {
        addr[i] = (uint8_t)(0x10 + i);
        other_addr[i] = addr[i];
    }
    other_addr[19] ^= 1;
    enigma_crypto_random(master, sizeof master);
    memcpy(other_master, master, sizeof master);
    other_master[0] ^= 1;
    enigma_crypto_random(secret, sizeof secret);

    test_round_trips();
    test_seal_rejects();
    test_wrong_keys_and_bindings();
    test_tampering();
    test_malformed();
    test_master_key_file();
    return test_report();
}
