/*
 * core/crypto/note: amount canonicalisation, the two hashes (pinned by
 * known answers), the text form and everything the parser must refuse.
 */
#include "core/crypto/note.h"

#include <ctype.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/crypto/crypto.h"
#include "test.h"

/* Computed independently with Python's hashlib:
 *   n = b"\x01"*32; s = b"\x02"*32; c = (1).to_bytes(8, "big"); t = b"\x00"*20
 *   hashlib.blake2b(n+s+c+t+b"1.5", digest_size=32, person=b"enigma.commit.v1")
 *   hashlib.blake2b(n+c+t, digest_size=32, person=b"enigma.nullif.v1")
 *   check = hashlib.blake2b(head.encode(), digest_size=32,
 *                           person=b"enigma.notesum.1").hexdigest()[:8]
 */
#define KAT_COMMITMENT "1fcd883b6b7043e43be89889c2348c377c591e370445cd90511562d0a4e6ffb5"
#define KAT_NULLIFIER_HASH "3c79ace21c9d431000a9646546486c4c76ae5e8b56eb3b6d90ee634bf1268591"
#define KAT_TEXT                                                       \
    "enigma-note-v1-1-0000000000000000000000000000000000000000-1.5-"   \
    "0101010101010101010101010101010101010101010101010101010101010101" \
    "0202020202020202020202020202020202020202020202020202020202020202-b28587b9"

static const uint8_t zero_token[ENIGMA_ADDRESS_BYTES];

static int is_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != 0)
            return 0;
    return 1;
}

static int parse(enigma_note *note, const char *text, enigma_error *err)
{
    enigma_error_clear(err);
    return enigma_note_parse(note, text, strlen(text), err);
}

static const char *hex32(const uint8_t h[32])
{
    static char buf[2][67];
    static int next;
    char *b = buf[next++ % 2];
    enigma_hex_encode(b, h, 32, 0);
    return b;
}

static void kat_note(enigma_note *n)
{
    memset(n, 0, sizeof *n);
    memset(n->nullifier, 0x01, sizeof n->nullifier);
    memset(n->secret, 0x02, sizeof n->secret);
    n->chain_id = 1;
    strcpy(n->amount, "1.5");
}

static int same_note(const enigma_note *a, const enigma_note *b)
{
    return memcmp(a->nullifier, b->nullifier, 32) == 0 && memcmp(a->secret, b->secret, 32) == 0 &&
           a->chain_id == b->chain_id && memcmp(a->token, b->token, 20) == 0 &&
           strcmp(a->amount, b->amount) == 0;
}

static void test_amounts(void)
{
    static const struct {
        const char *in, *want, *msg; /* want NULL: EFORMAT containing msg */
    } cases[] = {
        {"1.50", "1.5", NULL},
        {"007", "7", NULL},
        {"0.000000000000000001", "0.000000000000000001", NULL},
        {".5", "0.5", NULL},
        {"5.", "5", NULL},
        {"00.500", "0.5", NULL},
        {"1", "1", NULL},
        {"10", "10", NULL},
        {"100.0", "100", NULL},
        {"99999999999999999999.999999999999999999", "99999999999999999999.999999999999999999",
         NULL},
        {"0000000000000000000000000001", "1", NULL},        /* limits apply after stripping */
        {"1.00000000000000000000000000", "1", NULL},
        {"", NULL, "empty"},
        {"0", NULL, "greater than 0"},
        {"0.0", NULL, "greater than 0"},
        {"000", NULL, "greater than 0"},
        {".", NULL, "no digits"},
        {"1e5", NULL, "exponent"},
        {"1E5", NULL, "exponent"},
        {"-1", NULL, "sign"},
        {"+1", NULL, "sign"},
        {" 1", NULL, "space"},
        {"1 ", NULL, "space"},
        {"1.2.3", NULL, "more than one '.'"},
        {"1,5", NULL, "character 2 is ','"},
        {"0x10", NULL, "character 2 is 'x'"},
        {"100000000000000000000", NULL, "21 integer digits, at most 20"},
        {"0.0000000000000000001", NULL, "19 decimal places, at most 18"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[ENIGMA_NOTE_AMOUNT_MAX];
        enigma_error err;
        enigma_error_clear(&err);
        int rc = enigma_note_amount_canonical(out, cases[i].in, strlen(cases[i].in), &err);
        if (cases[i].want != NULL) {
            CHECK(rc == 0);
            CHECK_STR(out, cases[i].want);
        } else {
            CHECK(rc == -1);
            CHECK_STR(err.code, "EFORMAT");
            CHECK(strstr(err.message, cases[i].msg) != NULL);
            if (strstr(err.message, cases[i].msg) == NULL)
                fprintf(stderr, "  amount \"%s\": %s\n", cases[i].in, err.message);
        }
    }
    /* A NUL byte is a bad character, not an end of string. */
    char out[ENIGMA_NOTE_AMOUNT_MAX];
    enigma_error err;
    CHECK(enigma_note_amount_canonical(out, "1\0", 2, &err) == -1);
    CHECK(strstr(err.message, "byte 0x00") != NULL);
}

static void test_known_answer(void)
{
    enigma_note n, back;
    uint8_t h[32];
    char text[ENIGMA_NOTE_TEXT_MAX];
    enigma_error err;

    kat_note(&n);
    enigma_note_commitment(&n, h);
    CHECK_STR(hex32(h), KAT_COMMITMENT);
    enigma_note_nullifier_hash(&n, h);
    CHECK_STR(hex32(h), KAT_NULLIFIER_HASH);
    size_t len = enigma_note_format(text, &n);
    CHECK_STR(text, KAT_TEXT);
    CHECK(len == strlen(KAT_TEXT));
    CHECK(parse(&back, KAT_TEXT, &err) == 0);
    CHECK(same_note(&n, &back));
}

static void test_round_trip_and_hashes(void)
{
    enigma_note a, b, c;
    uint8_t token[20];
    char text[ENIGMA_NOTE_TEXT_MAX];
    enigma_error err;
    uint8_t ca[32], na[32], cb[32], nb[32];

    for (int i = 0; i < 20; i++)
        token[i] = (uint8_t)(0xa0 + i);
    CHECK(enigma_note_new(&a, "1.50", 4, token, 11155111, &err) == 0);
    CHECK_STR(a.amount, "1.5");
    CHECK(a.chain_id == 11155111);
    CHECK(memcmp(a.token, token, 20) == 0);
    CHECK(!is_zero(a.nullifier, 32) && !is_zero(a.secret, 32));
    CHECK(memcmp(a.nullifier, a.secret, 32) != 0);

    size_t len = enigma_note_format(text, &a);
    CHECK(len == strlen(text));
    CHECK(strncmp(text, "enigma-note-v1-11155111-a0a1a2", 30) == 0);
    CHECK(enigma_note_parse(&b, text, len, &err) == 0);
    CHECK(same_note(&a, &b));

    /* Two new notes never share randomness. */
    CHECK(enigma_note_new(&c, "1.5", 3, token, 11155111, &err) == 0);
    CHECK(memcmp(a.nullifier, c.nullifier, 32) != 0 && memcmp(a.secret, c.secret, 32) != 0);

    /* Deterministic. */
    enigma_note_commitment(&a, ca);
    enigma_note_commitment(&b, cb);
    CHECK(memcmp(ca, cb, 32) == 0);
    enigma_note_nullifier_hash(&a, na);
    enigma_note_nullifier_hash(&b, nb);
    CHECK(memcmp(na, nb, 32) == 0);

    /* "1.50" and "1.5" are one amount and so one commitment. */
    b = a;
    CHECK(enigma_note_amount_canonical(b.amount, "1.500000", 8, &err) == 0);
    enigma_note_commitment(&b, cb);
    CHECK(memcmp(ca, cb, 32) == 0);

    /* Each field changes the commitment; the nullifier hash follows only
     * the nullifier, chain and token (a withdrawal reveals nothing else). */
    for (int field = 0; field < 5; field++) {
        b = a;
        switch (field) {
        case 0:
            strcpy(b.amount, "1.51");
            break;
        case 1:
            b.token[19] ^= 1;
            break;
        case 2:
            b.chain_id = 1;
            break;
        case 3:
            b.nullifier[31] ^= 1;
            break;
        case 4:
            b.secret[0] ^= 0x80;
            break;
        }
        enigma_note_commitment(&b, cb);
        enigma_note_nullifier_hash(&b, nb);
        CHECK(memcmp(ca, cb, 32) != 0);
        if (field == 0 || field == 4)
            CHECK(memcmp(na, nb, 32) == 0);
        else
            CHECK(memcmp(na, nb, 32) != 0);
    }

    /* Domain separation: the personalisations matter. */
    kat_note(&a);
    uint8_t in[32 + 32 + 8 + 20 + 3] = {0}, plain[32];
    memset(in, 1, 32);
    memset(in + 32, 2, 32);
    in[32 + 32 + 7] = 1;
    memcpy(in + 92, "1.5", 3);
    enigma_note_commitment(&a, ca);
    enigma_note_nullifier_hash(&a, na);
    CHECK(memcmp(ca, na, 32) != 0);
    crypto_generichash(plain, 32, in, sizeof in, NULL, 0);
    CHECK(memcmp(ca, plain, 32) != 0);
    uint8_t nin[32 + 8 + 20] = {0};
    memset(nin, 1, 32);
    nin[39] = 1;
    crypto_generichash(plain, 32, nin, sizeof nin, NULL, 0);
    CHECK(memcmp(na, plain, 32) != 0);
    /* ...and the same bytes under the other personalisation differ too. */
    crypto_generichash_blake2b_salt_personal(plain, 32, nin, sizeof nin, NULL, 0, NULL,
                                             (const unsigned char *)"enigma.commit.v1");
    CHECK(memcmp(na, plain, 32) != 0);

    /* The chain id bound is 2^53, inclusive. */
    CHECK(enigma_note_new(&a, "1", 1, token, UINT64_C(9007199254740992), &err) == 0);
    len = enigma_note_format(text, &a);
    CHECK(strstr(text, "-9007199254740992-") != NULL);
    CHECK(enigma_note_parse(&b, text, len, &err) == 0);
    CHECK(b.chain_id == UINT64_C(9007199254740992));
    /* The longest amount fits the text form. */
    CHECK(enigma_note_new(&a, "99999999999999999999.999999999999999999", 39, token,
                          UINT64_C(9007199254740992), &err) == 0);
    len = enigma_note_format(text, &a);
    CHECK(len < ENIGMA_NOTE_TEXT_MAX);
    CHECK(enigma_note_parse(&b, text, len, &err) == 0 && same_note(&a, &b));
}

static void test_new_rejects(void)
{
    enigma_note n;
    enigma_error err;

    memset(&n, 0x55, sizeof n);
    CHECK(enigma_note_new(&n, "1e5", 3, zero_token, 1, &err) == -1);
    CHECK_STR(err.code, "EFORMAT");
    CHECK(strstr(err.message, "exponent") != NULL);
    CHECK(is_zero(&n, sizeof n));
    CHECK(enigma_note_new(&n, "0.00", 4, zero_token, 1, &err) == -1);
    CHECK(strstr(err.message, "greater than 0") != NULL);
    CHECK(enigma_note_new(&n, "1", 1, zero_token, 0, &err) == -1);
    CHECK_STR(err.code, "EFORMAT");
    CHECK(strstr(err.message, "chain id 0 is out of range") != NULL);
    CHECK(enigma_note_new(&n, "1", 1, zero_token, UINT64_C(9007199254740993), &err) == -1);
    CHECK(strstr(err.message, "out of range") != NULL);
    CHECK(is_zero(&n, sizeof n));
    CHECK(enigma_note_new(&n, "1", 1, zero_token, 1, NULL) == 0); /* err may be NULL */
    CHECK(enigma_note_new(&n, "x", 1, zero_token, 1, NULL) == -1);
}

/* Parses `text`, expecting failure with `code` and `msg` in the message,
 * and the note wiped. */
static void reject(const char *text, const char *code, const char *msg)
{
    enigma_note n;
    enigma_error err;

    memset(&n, 0x55, sizeof n);
    int rc = parse(&n, text, &err);
    CHECK(rc == -1);
    CHECK_STR(err.code, code);
    CHECK(strstr(err.message, msg) != NULL);
    CHECK(is_zero(&n, sizeof n));
    if (rc != -1 || strstr(err.message, msg) == NULL)
        fprintf(stderr, "  \"%.40s...\": %s %s\n", text, err.code, err.message);
}

/* KAT_TEXT with `len` bytes at `at` replaced by `with`. */
static const char *edit(const char *at, size_t len, const char *with)
{
    static char buf[ENIGMA_NOTE_TEXT_MAX * 2];
    const char *s = KAT_TEXT;
    size_t off = (size_t)(strstr(s, at) - s);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)off, s, with, s + off + len);
    return buf;
}

static void test_parse_rejects(void)
{
    const char *t = KAT_TEXT;
    char buf[ENIGMA_NOTE_TEXT_MAX * 2];
    enigma_note n;
    enigma_error err;

    reject("", "EFORMAT", "not an enigma note");
    reject("   \n", "EFORMAT", "not an enigma note");
    reject("hello", "EFORMAT", "not an enigma note");
    reject(edit("note", 4, "nota"), "EFORMAT", "not an enigma note");
    reject(edit("enigma-", 7, "enigma_"), "EFORMAT", "not an enigma note");
    reject(edit("v1", 2, "v2"), "EFORMAT", "note version v2 is not supported");
    reject(edit("v1", 2, "v10"), "EFORMAT", "note version v10 is not supported");
    reject(edit("v1", 2, "x1"), "EFORMAT", "not an enigma note");
    snprintf(buf, sizeof buf, "%s-00", t);
    reject(buf, "EFORMAT", "7 parts");
    reject(edit("-b28587b9", 9, ""), "EFORMAT", "5 parts");
    reject(edit("-1-", 3, "-0-"), "EFORMAT", "chain id has a leading zero");
    reject(edit("-1-", 3, "-01-"), "EFORMAT", "leading zero");
    reject(edit("-1-", 3, "--"), "EFORMAT", "chain id is empty");
    reject(edit("-1-", 3, "-1a-"), "EFORMAT", "chain id is not a positive decimal");
    reject(edit("-1-", 3, "-9007199254740993-"), "EFORMAT", "chain id is out of range");
    reject(edit("-1-", 3, "-18446744073709551617-"), "EFORMAT", "chain id is out of range");
    reject(edit("-0000", 5, "-0x00"), "EFORMAT", "token has a 0x prefix");
    reject(edit("-0000", 5, "-000"), "EFORMAT", "token is not 40 hex digits (39 characters)");
    reject(edit("-0000", 5, "-00g0"), "EFORMAT",
           "token is not 40 hex digits (40 characters, not all hex)");
    reject(edit("-1.5-", 5, "-1.50-"), "EFORMAT", "amount 1.50 is not canonical (1.5)");
    reject(edit("-1.5-", 5, "-01.5-"), "EFORMAT", "not canonical");
    reject(edit("-1.5-", 5, "-.5-"), "EFORMAT", "not canonical (0.5)");
    reject(edit("-1.5-", 5, "-1e5-"), "EFORMAT", "exponent");
    reject(edit("-1.5-", 5, "-0-"), "EFORMAT", "greater than 0");
    reject(edit("-1.5-", 5, "--"), "EFORMAT", "empty");
    reject(edit("-0101", 5, "-0x01"), "EFORMAT", "secret has a 0x prefix");
    reject(edit("-0101", 5, "-010"), "EFORMAT", "secret is not 128 hex digits (127 characters)");
    reject(edit("-b28587b9", 9, "-b28587b"), "EFORMAT", "check is not 8 hex digits");
    reject(edit("-b28587b9", 9, "-b28587b9a"), "EFORMAT", "check is not 8 hex digits");
    reject(edit("-b28587b9", 9, "-b28587bz"), "EFORMAT", "check is not 8 hex digits");
    reject(edit("-b28587b9", 9, "-b28587b8"), "ECHECKSUM",
           "the note's checksum does not match: it was mistyped or truncated");
    reject(edit("-1.5-", 5, "-2.5-"), "ECHECKSUM", "checksum does not match");
    reject(edit("-1-", 3, "-2-"), "ECHECKSUM", "checksum does not match");
    reject(edit("-0000", 5, "-0001"), "ECHECKSUM", "checksum does not match");
    memset(buf, 'a', 400);
    memcpy(buf, "enigma-note-v1-", 15);
    buf[400] = '\0';
    reject(buf, "EFORMAT", "too long");
    /* A NUL byte inside the text is a bad character, not its end. */
    snprintf(buf, sizeof buf, "%s", t);
    buf[100] = '\0';
    CHECK(enigma_note_parse(&n, buf, strlen(t), &err) == -1);
    CHECK(enigma_note_parse(&n, "x", 1, NULL) == -1); /* err may be NULL */
}

/* Every single-character substitution and deletion, and every truncation,
 * of a valid note is refused; hex-for-hex in the secret or check is a
 * checksum failure specifically. */
static void test_every_change(void)
{
    const char *t = KAT_TEXT;
    const size_t len = strlen(t);
    const char *subs = "0123456789abcdefABCDEF-.xgvV :";
    const size_t secret_at = (size_t)(strrchr(t, '-') - t) - 128;
    char buf[ENIGMA_NOTE_TEXT_MAX];
    enigma_note n;
    enigma_error err;
    int accepted = 0, bad_code = 0, hex_not_checksum = 0, not_wiped = 0, tried = 0;

    for (size_t i = 0; i < len; i++) {
        for (const char *c = subs; *c; c++) {
            if (tolower((unsigned char)*c) == tolower((unsigned char)t[i]))
                continue; /* a case change is not a change */
            memcpy(buf, t, len + 1);
            buf[i] = *c;
            memset(&n, 0x55, sizeof n);
            tried++;
            if (enigma_note_parse(&n, buf, len, &err) == 0) {
                if (accepted++ < 5)
                    fprintf(stderr, "  accepted: position %zu -> '%c'\n", i, *c);
                continue;
            }
            not_wiped += !is_zero(&n, sizeof n);
            bad_code += strcmp(err.code, "EFORMAT") != 0 && strcmp(err.code, "ECHECKSUM") != 0;
            if (i >= secret_at && t[i] != '-' && isxdigit((unsigned char)*c) &&
                strcmp(err.code, "ECHECKSUM") != 0)
                hex_not_checksum++;
        }
        /* Deleting the character. */
        memcpy(buf, t, i);
        memcpy(buf + i, t + i + 1, len - i);
        tried++;
        if (enigma_note_parse(&n, buf, len - 1, &err) == 0)
            accepted++;
        /* Truncating before it. */
        tried++;
        if (enigma_note_parse(&n, t, i, &err) == 0)
            accepted++;
    }
    CHECK(tried > 5000);
    CHECK(accepted == 0);
    CHECK(bad_code == 0);
    CHECK(hex_not_checksum == 0);
    CHECK(not_wiped == 0);
}

static void test_lenient_input(void)
{
    enigma_note want, n;
    enigma_error err;
    char buf[ENIGMA_NOTE_TEXT_MAX * 2];

    kat_note(&want);
    /* Upper-cased hex (token, secret and check). */
    snprintf(buf, sizeof buf, "%s", KAT_TEXT);
    for (char *p = buf + strlen("enigma-note-v1-1-"); *p; p++)
        *p = (char)toupper((unsigned char)*p);
    CHECK(strstr(buf, "-B28587B9") != NULL);
    CHECK(parse(&n, buf, &err) == 0);
    CHECK(same_note(&want, &n));
    /* Wholly upper-cased, prefix too. */
    for (char *p = buf; *p; p++)
        *p = (char)toupper((unsigned char)*p);
    CHECK(parse(&n, buf, &err) == 0);
    CHECK(same_note(&want, &n));
    /* Surrounding whitespace. */
    snprintf(buf, sizeof buf, " \t\n%s\r\n \t", KAT_TEXT);
    CHECK(parse(&n, buf, &err) == 0);
    CHECK(same_note(&want, &n));
    /* ...but not inside it. */
    snprintf(buf, sizeof buf, "%s", edit("-1.5-", 5, "- 1.5-"));
    CHECK(parse(&n, buf, &err) == -1);
    CHECK(strstr(err.message, "space") != NULL);
}

int main(void)
{
    CHECK(enigma_crypto_init(NULL) == 0);
    test_amounts();
    test_known_answer();
    test_round_trip_and_hashes();
    test_new_rejects();
    test_parse_rejects();
    test_every_change();
    test_lenient_input();
    return test_report();
}
