/*
 * core/crypto/stealth: EIP-5564 scheme 1 against spec/vectors/eip5564.json,
 * key and meta-address parsing (good and bad), random round trips and the
 * threaded scan.
 */
#include "core/crypto/stealth.h"

#include <jansson.h>
#include <secp256k1.h>
#include <stdlib.h>
#include <string.h>

#include "core/crypto/crypto.h"
#include "core/crypto/keccak.h"
#include "test.h"

#define VECTORS "spec/vectors/eip5564.json"
#define ORDER_N "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141"
/* x = 5: 5^3 + 7 = 132 is not a square mod p, so 0x02||x is no point. */
#define NOT_A_POINT "020000000000000000000000000000000000000000000000000000000000000005"

static enigma_error err;

/* Decodes hex that the test itself supplies; a failure is a test bug. */
static void unhex(uint8_t *out, size_t n, const char *hex)
{
    enigma_error e;
    if (enigma_hex_decode_exact(out, n, hex, strlen(hex), &e) < 0) {
        fprintf(stderr, "bad test hex %s: %s\n", hex, e.message);
        exit(2);
    }
}

/* Lowercase "0x" hex of `n` bytes in one of a few rotating buffers. */
static const char *hex_of(const uint8_t *in, size_t n)
{
    static char bufs[4][2 * 65 + 3];
    static int next;
    char *buf = bufs[next++ % 4];
    enigma_hex_encode(buf, in, n, 1);
    return buf;
}

static const char *field(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    if (s == NULL) {
        fprintf(stderr, "vector field %s missing\n", key);
        exit(2);
    }
    return s;
}

/* The error was `code` and its message contains `part`. */
static int failed_with(const char *code, const char *part)
{
    int ok = strcmp(err.code, code) == 0 && strstr(err.message, part) != NULL;
    if (!ok)
        fprintf(stderr, "  want %s containing \"%s\"; got %s: %s\n", code, part, err.code,
                err.message);
    enigma_error_clear(&err);
    return ok;
}

static void test_vector(json_t *v)
{
    json_t *in = json_object_get(v, "inputs");
    json_t *dk = json_object_get(v, "derived_keys");
    json_t *ex = json_object_get(v, "expected");
    uint8_t spend_sk[32], view_sk[32], eph_sk[32], pub[33], addr[20], sk[32], want[65];
    uint8_t ss[33], hs[32];
    char text[ENIGMA_META_ADDRESS_TEXT_MAX], atext[ENIGMA_ADDRESS_TEXT_MAX];
    enigma_stealth_meta meta, parsed;
    enigma_stealth_payment pay;
    int match = -7;
    long tag = strtol(field(ex, "viewTag"), NULL, 16);
    long wrong_tag = strtol(field(ex, "wrongViewTagUsed"), NULL, 16);
    const char *uri = field(dk, "stealthMetaAddressURI");

    unhex(spend_sk, 32, field(in, "spendingPrivateKey"));
    unhex(view_sk, 32, field(in, "viewingPrivateKey"));
    unhex(eph_sk, 32, field(in, "ephemeralPrivateKey"));

    /* derived keys and the meta-address, both ways */
    CHECK(enigma_pubkey_from_seckey(pub, spend_sk, &err) == 0);
    CHECK_STR(hex_of(pub, 33), field(dk, "spendingPublicKey"));
    CHECK(enigma_pubkey_from_seckey(pub, view_sk, &err) == 0);
    CHECK_STR(hex_of(pub, 33), field(dk, "viewingPublicKey"));
    CHECK(enigma_stealth_meta_from_keys(&meta, spend_sk, view_sk, &err) == 0);
    CHECK(enigma_stealth_meta_format(text, &meta) == strlen(uri));
    CHECK_STR(text, uri);
    CHECK(strncmp(uri, "st:eth:", 7) == 0);
    CHECK_STR(uri + 7, field(dk, "stealthMetaAddress"));
    CHECK(enigma_stealth_meta_parse(&parsed, uri, strlen(uri), &err) == 0);
    CHECK(memcmp(&parsed, &meta, sizeof meta) == 0);
    /* hex digits in either case */
    char upper[ENIGMA_META_ADDRESS_TEXT_MAX];
    strcpy(upper, uri);
    for (char *p = upper + 9; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    CHECK(enigma_stealth_meta_parse(&parsed, upper, strlen(upper), &err) == 0);
    CHECK(memcmp(&parsed, &meta, sizeof meta) == 0);

    /* the intermediate values, through libsecp256k1 directly: both sides
     * of the exchange reach the same shared point */
    const secp256k1_context *ctx = enigma_crypto_secp();
    secp256k1_pubkey pt;
    size_t len = 33;
    unhex(ss, 33, field(ex, "sharedSecretCompressed"));
    unhex(hs, 32, field(ex, "hashedSharedSecret"));
    CHECK(secp256k1_ec_pubkey_parse(ctx, &pt, meta.viewing_pub, 33) == 1);
    CHECK(secp256k1_ec_pubkey_tweak_mul(ctx, &pt, eph_sk) == 1);
    CHECK(secp256k1_ec_pubkey_serialize(ctx, pub, &len, &pt, SECP256K1_EC_COMPRESSED) == 1);
    CHECK(memcmp(pub, ss, 33) == 0);
    uint8_t h[32];
    enigma_keccak256(h, ss, 33);
    CHECK(memcmp(h, hs, 32) == 0);
    CHECK(hs[0] == tag);

    /* generate with the given ephemeral key */
    CHECK(enigma_stealth_generate(&pay, &meta, eph_sk, &err) == 0);
    CHECK_STR(hex_of(pay.address, 20), field(ex, "stealthAddressLower"));
    enigma_address_format(atext, pay.address);
    CHECK_STR(atext, field(ex, "stealthAddress"));
    CHECK_STR(hex_of(pay.ephemeral_pub, 33), field(ex, "ephemeralPublicKey"));
    CHECK(pay.view_tag == tag);
    CHECK(secp256k1_ec_pubkey_parse(ctx, &pt, pay.ephemeral_pub, 33) == 1);
    len = 33;
    CHECK(secp256k1_ec_pubkey_tweak_mul(ctx, &pt, view_sk) == 1);
    CHECK(secp256k1_ec_pubkey_serialize(ctx, pub, &len, &pt, SECP256K1_EC_COMPRESSED) == 1);
    CHECK(memcmp(pub, ss, 33) == 0);

    /* the stealth public key in both encodings */
    unhex(want, 65, field(ex, "stealthPublicKeyUncompressed"));
    CHECK(enigma_pubkey_parse(pub, want, 65, &err) == 0);
    CHECK_STR(hex_of(pub, 33), field(ex, "stealthPublicKeyCompressed"));
    CHECK(enigma_pubkey_address(addr, pub, &err) == 0);
    CHECK(memcmp(addr, pay.address, 20) == 0);

    /* check */
    int want_true = json_is_true(json_object_get(ex, "checkStealthAddress_true"));
    int want_wrong = json_is_true(json_object_get(ex, "checkStealthAddress_with_wrong_view_tag"));
    CHECK(want_true == 1 && want_wrong == 0);
    CHECK(enigma_stealth_check(&match, pay.address, pay.ephemeral_pub, view_sk, meta.spending_pub,
                               (int)tag, &err) == 0);
    CHECK(match == want_true);
    match = -7;
    CHECK(enigma_stealth_check(&match, pay.address, pay.ephemeral_pub, view_sk, meta.spending_pub,
                               -1, &err) == 0);
    CHECK(match == 1);
    match = -7;
    CHECK(enigma_stealth_check(&match, pay.address, pay.ephemeral_pub, view_sk, meta.spending_pub,
                               (int)wrong_tag, &err) == 0);
    CHECK(match == want_wrong);
    /* right tag, another address: the full check says no */
    memcpy(addr, pay.address, 20);
    addr[19] ^= 1;
    match = -7;
    CHECK(enigma_stealth_check(&match, addr, pay.ephemeral_pub, view_sk, meta.spending_pub,
                               (int)tag, &err) == 0);
    CHECK(match == 0);

    /* the stealth private key */
    CHECK(enigma_stealth_private_key(sk, pay.ephemeral_pub, view_sk, spend_sk, &err) == 0);
    CHECK_STR(hex_of(sk, 32), field(ex, "stealthPrivateKey"));
    CHECK(enigma_pubkey_from_seckey(pub, sk, &err) == 0);
    CHECK_STR(hex_of(pub, 33), field(ex, "stealthPublicKeyCompressed"));
    CHECK(enigma_pubkey_address(addr, pub, &err) == 0);
    CHECK(memcmp(addr, pay.address, 20) == 0);
    enigma_crypto_wipe(sk, sizeof sk);

    /* invalid keys in the calls that take them, each named */
    uint8_t zero[32] = {0}, bad[33];
    unhex(bad, 33, NOT_A_POINT);
    CHECK(enigma_stealth_check(&match, pay.address, bad, view_sk, meta.spending_pub, -1, &err) < 0);
    CHECK(failed_with("EKEY", "ephemeral public key is not a point"));
    CHECK(enigma_stealth_check(&match, pay.address, pay.ephemeral_pub, view_sk, bad, -1, &err) < 0);
    CHECK(failed_with("EKEY", "spending public key is not a point"));
    CHECK(enigma_stealth_check(&match, pay.address, pay.ephemeral_pub, zero, meta.spending_pub,
                               (int)tag, &err) < 0);
    CHECK(failed_with("EKEY", "viewing private key"));
    CHECK(enigma_stealth_generate(&pay, &meta, zero, &err) < 0);
    CHECK(failed_with("EKEY", "ephemeral private key"));
    parsed = meta;
    memcpy(parsed.viewing_pub, bad, 33);
    CHECK(enigma_stealth_generate(&pay, &parsed, eph_sk, &err) < 0);
    CHECK(failed_with("EKEY", "viewing public key"));
    CHECK(enigma_stealth_private_key(sk, pay.ephemeral_pub, view_sk, zero, &err) < 0);
    CHECK(failed_with("EKEY", "spending private key"));
    CHECK(enigma_stealth_private_key(sk, pay.ephemeral_pub, zero, spend_sk, &err) < 0);
    CHECK(failed_with("EKEY", "viewing private key"));
    CHECK(enigma_stealth_meta_from_keys(&parsed, spend_sk, zero, &err) < 0);
    CHECK(failed_with("EKEY", "viewing private key"));
    CHECK(enigma_stealth_scan(NULL, 0, zero, meta.spending_pub, 1, &err) == -1);
    CHECK(failed_with("EKEY", "viewing private key"));
    CHECK(enigma_stealth_scan(NULL, 0, view_sk, bad, 1, &err) == -1);
    CHECK(failed_with("EKEY", "spending public key"));
    CHECK(enigma_stealth_scan(NULL, 0, view_sk, meta.spending_pub, 1, &err) == 0);
}

static void test_vectors(void)
{
    json_error_t jerr;
    json_t *root = json_load_file(VECTORS, 0, &jerr);
    CHECK(root != NULL);
    if (root == NULL) {
        fprintf(stderr, "%s: %s\n", VECTORS, jerr.text);
        return;
    }
    json_t *list = json_object_get(root, "vectors");
    CHECK(json_array_size(list) >= 1);
    for (size_t i = 0; i < json_array_size(list); i++)
        test_vector(json_array_get(list, i));
    json_decref(root);
}

static void test_pubkey_parse(void)
{
    uint8_t in[66], pub[33], g[33], g65[65];
    const secp256k1_context *ctx = enigma_crypto_secp();
    secp256k1_pubkey pt;
    size_t len = 65;
    uint8_t one[32] = {0};
    one[31] = 1;

    /* G, compressed and uncompressed */
    CHECK(enigma_pubkey_from_seckey(g, one, &err) == 0);
    CHECK_STR(hex_of(g, 33),
              "0x0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    CHECK(secp256k1_ec_pubkey_parse(ctx, &pt, g, 33) == 1);
    CHECK(secp256k1_ec_pubkey_serialize(ctx, g65, &len, &pt, SECP256K1_EC_UNCOMPRESSED) == 1);
    memset(pub, 0, sizeof pub);
    CHECK(enigma_pubkey_parse(pub, g65, 65, &err) == 0);
    CHECK(memcmp(pub, g, 33) == 0);
    CHECK(enigma_pubkey_parse(pub, g, 33, &err) == 0);
    CHECK(memcmp(pub, g, 33) == 0);
    /* and back: enigma_pubkey_uncompress is libsecp256k1's uncompressed form */
    uint8_t full[65];
    CHECK(enigma_pubkey_uncompress(full, g, &err) == 0);
    CHECK(memcmp(full, g65, 65) == 0);
    CHECK_STR(hex_of(full + 33, 32),
              "0x483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");

    /* x = 5 has no y; libsecp256k1 agrees */
    unhex(in, 33, NOT_A_POINT);
    CHECK(secp256k1_ec_pubkey_parse(ctx, &pt, in, 33) == 0);
    CHECK(enigma_pubkey_parse(pub, in, 33, &err) < 0);
    CHECK(failed_with("EKEY", "not a point on secp256k1"));
    CHECK(enigma_pubkey_uncompress(full, in, &err) < 0);
    CHECK(failed_with("EKEY", "not a point on secp256k1"));
    /* x = 2^256 - 1 is not even a field element */
    memset(in, 0xff, 33);
    in[0] = 0x02;
    CHECK(enigma_pubkey_parse(pub, in, 33, &err) < 0);
    CHECK(failed_with("EKEY", "not a point on secp256k1"));
    /* an uncompressed point with y off the curve */
    memcpy(in, g65, 65);
    in[64] ^= 1;
    CHECK(enigma_pubkey_parse(pub, in, 65, &err) < 0);
    CHECK(failed_with("EKEY", "not a point on secp256k1"));
    /* wrong prefixes */
    memcpy(in, g, 33);
    in[0] = 0x04;
    CHECK(enigma_pubkey_parse(pub, in, 33, &err) < 0);
    CHECK(failed_with("EKEY", "0x04"));
    memcpy(in, g65, 65);
    in[0] = 0x06; /* "hybrid", G's y is even */
    CHECK(secp256k1_ec_pubkey_parse(ctx, &pt, in, 65) == 1);
    CHECK(enigma_pubkey_parse(pub, in, 65, &err) < 0);
    CHECK(failed_with("EKEY", "0x06"));
    /* wrong lengths */
    CHECK(enigma_pubkey_parse(pub, g, 32, &err) < 0);
    CHECK(failed_with("ELENGTH", "not 32"));
    memcpy(in, g, 33);
    in[33] = 0;
    CHECK(enigma_pubkey_parse(pub, in, 34, &err) < 0);
    CHECK(failed_with("ELENGTH", "not 34"));
    CHECK(enigma_pubkey_parse(pub, g, 0, &err) < 0);
    CHECK(failed_with("ELENGTH", "not 0"));

    /* hex */
    const char *gh = "0x0279BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798";
    CHECK(enigma_pubkey_parse_hex(pub, gh, strlen(gh), &err) == 0);
    CHECK(memcmp(pub, g, 33) == 0);
    CHECK(enigma_pubkey_parse_hex(pub, gh + 2, strlen(gh) - 2, &err) == 0);
    CHECK(memcmp(pub, g, 33) == 0);
    CHECK(enigma_pubkey_parse_hex(pub, "0x02zz", 6, &err) < 0);
    CHECK(failed_with("EHEX", "'z'"));
    CHECK(enigma_pubkey_parse_hex(pub, gh, strlen(gh) - 2, &err) < 0);
    CHECK(failed_with("ELENGTH", "not 32"));
    CHECK(enigma_pubkey_parse_hex(pub, NOT_A_POINT, strlen(NOT_A_POINT), &err) < 0);
    CHECK(failed_with("EKEY", "not a point"));
    /* G's address, a well-known constant */
    uint8_t addr[20];
    CHECK(enigma_pubkey_address(addr, g, &err) == 0);
    CHECK_STR(hex_of(addr, 20), "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
    unhex(in, 33, NOT_A_POINT);
    CHECK(enigma_pubkey_address(addr, in, &err) < 0);
    CHECK(failed_with("EKEY", "not a point"));
}

static void test_seckeys(void)
{
    uint8_t k[32], pub[33];

    memset(k, 0, sizeof k);
    CHECK(enigma_seckey_verify(k, &err) < 0);
    CHECK(failed_with("EKEY", "zero"));
    CHECK(enigma_pubkey_from_seckey(pub, k, &err) < 0);
    CHECK(failed_with("EKEY", "zero"));
    unhex(k, 32, ORDER_N);
    CHECK(enigma_seckey_verify(k, &err) < 0);
    CHECK(failed_with("EKEY", "group order"));
    memset(k, 0xff, sizeof k);
    CHECK(enigma_seckey_verify(k, &err) < 0);
    CHECK(failed_with("EKEY", "group order"));
    unhex(k, 32, ORDER_N);
    k[31]--; /* n - 1, the largest key */
    CHECK(enigma_seckey_verify(k, &err) == 0);
    CHECK(enigma_pubkey_from_seckey(pub, k, &err) == 0);
    CHECK_STR(hex_of(pub, 33),
              "0x0379be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798");
    CHECK(enigma_seckey_verify(k, NULL) == 0);
    memset(k, 0, sizeof k);
    CHECK(enigma_seckey_verify(k, NULL) < 0); /* a NULL err is fine */
    enigma_seckey_generate(k);
    CHECK(enigma_seckey_verify(k, &err) == 0);
}

static void test_meta_parse(void)
{
    enigma_stealth_meta m;
    char text[300];
    const char *spend = "0283b86204496de3c378077eebf61b580558e40358d1b6fbd48a912275d50d91e1";
    const char *view = "022820d51c295d75c575d22baefd50435bab855cc42da2eeab1ab4220744032ffc";

    snprintf(text, sizeof text, "0x%s%s", spend, view);
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "must start with \"st:eth:0x\""));
    snprintf(text, sizeof text, "ST:ETH:0x%s%s", spend, view);
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "must start with"));
    CHECK(enigma_stealth_meta_parse(&m, "st:eth:", 7, &err) < 0);
    CHECK(failed_with("EFORMAT", "must start with"));
    CHECK(enigma_stealth_meta_parse(&m, "", 0, &err) < 0);
    CHECK(failed_with("EFORMAT", "must start with"));
    CHECK(enigma_stealth_meta_parse(&m, "st:eth:0x", 9, &err) < 0);
    CHECK(failed_with("EFORMAT", "0 hex digits"));

    snprintf(text, sizeof text, "st:eth:0x%s%s", spend, view);
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text) - 1, &err) < 0);
    CHECK(failed_with("EFORMAT", "131 hex digits"));
    CHECK(enigma_stealth_meta_parse(&m, text, 9 + 67, &err) < 0);
    CHECK(failed_with("EFORMAT", "67 hex digits"));
    text[9 + 70] = 'g';
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "character 80 is 'g'"));
    snprintf(text, sizeof text, "st:eth:0x0x%s%s", spend, view);
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "character 11 is 'x'"));
    snprintf(text, sizeof text, "st:eth:0x%s %s", spend, view);
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "character 76 is ' '"));

    /* invalid points, each named */
    snprintf(text, sizeof text, "st:eth:0x%s%s", spend, NOT_A_POINT);
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "the viewing key is not"));
    snprintf(text, sizeof text, "st:eth:0x%s%s", NOT_A_POINT, view);
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "the spending key is not"));
    snprintf(text, sizeof text, "st:eth:0x04%s%s", spend + 2, view);
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "the spending key is not"));
    snprintf(text, sizeof text, "st:eth:0x%s", NOT_A_POINT);
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "spending and viewing key is not"));

    /* a 65-byte uncompressed key is not a meta-address key */
    snprintf(text, sizeof text,
             "st:eth:0x04adbf987292a22d72541d03efabbbfd87512f6b19590facab2350f39f3946a1e6"
             "db68f73a909a20ffd6f75abd6b8bd0621fc7c2ec597e30da0e3b48c5343b9bf5");
    CHECK(enigma_stealth_meta_parse(&m, text, strlen(text), &err) < 0);
    CHECK(failed_with("EFORMAT", "130 hex digits"));
}

/* The one-key (66-digit) meta-address: the same key spends and views. */
static void test_single_key(void)
{
    uint8_t k[32], pub[33], sk[32], addr[20];
    char text[ENIGMA_META_ADDRESS_TEXT_MAX], one[80];
    enigma_stealth_meta m;
    enigma_stealth_payment pay;
    int match = -7;

    enigma_seckey_generate(k);
    CHECK(enigma_pubkey_from_seckey(pub, k, &err) == 0);
    strcpy(one, "st:eth:0x");
    enigma_hex_encode(one + 9, pub, 33, 0);
    CHECK(enigma_stealth_meta_parse(&m, one, strlen(one), &err) == 0);
    CHECK(memcmp(m.spending_pub, pub, 33) == 0);
    CHECK(memcmp(m.viewing_pub, pub, 33) == 0);
    CHECK(enigma_stealth_meta_format(text, &m) == 141);
    CHECK(strncmp(text, one, strlen(one)) == 0);
    CHECK_STR(text + 75, one + 9);
    CHECK(enigma_stealth_generate(&pay, &m, NULL, &err) == 0);
    CHECK(enigma_stealth_check(&match, pay.address, pay.ephemeral_pub, k, pub, pay.view_tag,
                               &err) == 0);
    CHECK(match == 1);
    CHECK(enigma_stealth_private_key(sk, pay.ephemeral_pub, k, k, &err) == 0);
    CHECK(enigma_pubkey_from_seckey(pub, sk, &err) == 0);
    CHECK(enigma_pubkey_address(addr, pub, &err) == 0);
    CHECK(memcmp(addr, pay.address, 20) == 0);
    enigma_crypto_wipe(sk, sizeof sk);
    enigma_crypto_wipe(k, sizeof k);
}

static void test_random_round_trips(void)
{
    int ok_check = 0, ok_untagged = 0, ok_key = 0, ok_other = 0, ok_meta = 0;

    for (int i = 0; i < 20; i++) {
        uint8_t spend[32], view[32], other[32], sk[32], pub[33], addr[20];
        char text[ENIGMA_META_ADDRESS_TEXT_MAX];
        enigma_stealth_meta m, back;
        enigma_stealth_payment pay;
        int match = -7;

        enigma_seckey_generate(spend);
        enigma_seckey_generate(view);
        enigma_seckey_generate(other);
        if (enigma_stealth_meta_from_keys(&m, spend, view, &err) < 0)
            continue;
        enigma_stealth_meta_format(text, &m);
        ok_meta += enigma_stealth_meta_parse(&back, text, strlen(text), &err) == 0 &&
                   memcmp(&back, &m, sizeof m) == 0;
        if (enigma_stealth_generate(&pay, &m, NULL, &err) < 0)
            continue;
        ok_check += enigma_stealth_check(&match, pay.address, pay.ephemeral_pub, view,
                                         m.spending_pub, pay.view_tag, &err) == 0 &&
                    match == 1;
        ok_untagged += enigma_stealth_check(&match, pay.address, pay.ephemeral_pub, view,
                                            m.spending_pub, -1, &err) == 0 &&
                       match == 1;
        /* another viewing key: not ours (even without the tag) */
        ok_other += enigma_stealth_check(&match, pay.address, pay.ephemeral_pub, other,
                                         m.spending_pub, -1, &err) == 0 &&
                    match == 0;
        ok_key += enigma_stealth_private_key(sk, pay.ephemeral_pub, view, spend, &err) == 0 &&
                  enigma_pubkey_from_seckey(pub, sk, &err) == 0 &&
                  enigma_pubkey_address(addr, pub, &err) == 0 && memcmp(addr, pay.address, 20) == 0;
        enigma_crypto_wipe(sk, sizeof sk);
    }
    CHECK(ok_meta == 20);
    CHECK(ok_check == 20);
    CHECK(ok_untagged == 20);
    CHECK(ok_other == 20);
    CHECK(ok_key == 20);
}

#define SCAN_N 2000

/* The same point, 65 bytes uncompressed (0x04 || x || y). */
static void uncompress(uint8_t out[65], const uint8_t in[33])
{
    secp256k1_pubkey pk;
    size_t len = 65;
    if (!secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, in, 33) ||
        !secp256k1_ec_pubkey_serialize(secp256k1_context_static, out, &len, &pk,
                                       SECP256K1_EC_UNCOMPRESSED)) {
        fprintf(stderr, "uncompress: not a point\n");
        exit(2);
    }
}

/* Announcement `a` from payment `pay`, its key compressed or not. */
static void announce(enigma_stealth_announcement *a, const enigma_stealth_payment *pay,
                     int uncompressed)
{
    memset(a->ephemeral_pub, 0, sizeof a->ephemeral_pub);
    if (uncompressed) {
        uncompress(a->ephemeral_pub, pay->ephemeral_pub);
        a->ephemeral_len = 65;
    } else {
        memcpy(a->ephemeral_pub, pay->ephemeral_pub, 33);
        a->ephemeral_len = 33;
    }
    memcpy(a->address, pay->address, 20);
    a->view_tag = pay->view_tag;
}

static void test_scan(void)
{
    static const size_t mine_at[] = {0, 3, 511, 1000, 1001, 1500, 1999};
    enum { MINE = 1, OTHER = 0, MALFORMED = -1 };
    static int want[SCAN_N];
    enigma_stealth_announcement *list = calloc(SCAN_N, sizeof *list);
    uint8_t spend[32], view[32], osk[3][32];
    enigma_stealth_meta me, others[3];
    enigma_stealth_payment pay;
    int setup_ok = 1;

    enigma_seckey_generate(spend);
    enigma_seckey_generate(view);
    setup_ok &= enigma_stealth_meta_from_keys(&me, spend, view, &err) == 0;
    for (int i = 0; i < 3; i++)
        enigma_seckey_generate(osk[i]);
    for (int i = 0; i < 3; i++)
        setup_ok &= enigma_stealth_meta_from_keys(&others[i], osk[i], osk[(i + 1) % 3], &err) == 0;
    for (size_t i = 0; i < SCAN_N; i++) {
        setup_ok &= enigma_stealth_generate(&pay, &others[i % 3], NULL, &err) == 0;
        announce(&list[i], &pay, i % 7 == 3); /* some keys uncompressed */
        if (i % 5 == 0)
            list[i].view_tag = -1; /* some without a tag */
        want[i] = OTHER;
        if (i % 97 == 5) { /* malformed ephemeral keys */
            list[i].ephemeral_pub[0] = i % 2 ? 0x05 : list[i].ephemeral_len == 33 ? 0x04 : 0x02;
            want[i] = MALFORMED;
        } else if (i % 211 == 7) {
            unhex(list[i].ephemeral_pub, 33, NOT_A_POINT);
            list[i].ephemeral_len = 33;
            want[i] = MALFORMED;
        }
    }
    /* ours, in both encodings, with and without a tag */
    for (size_t j = 0; j < sizeof mine_at / sizeof mine_at[0]; j++) {
        size_t i = mine_at[j];
        setup_ok &= enigma_stealth_generate(&pay, &me, NULL, &err) == 0;
        announce(&list[i], &pay, j % 2);
        list[i].view_tag = j == 2 ? -1 : pay.view_tag;
        want[i] = MINE;
    }
    /* ours by ephemeral key and tag, but a different address: not ours */
    setup_ok &= enigma_stealth_generate(&pay, &me, NULL, &err) == 0;
    announce(&list[42], &pay, 0);
    list[42].address[0] ^= 0x80;
    /* A wrong view tag is a non-match even when the address is ours (EIP-5564):
     * every wrong tag, in either encoding of the key. */
    for (size_t i = 43; i <= 46; i++) {
        setup_ok &= enigma_stealth_generate(&pay, &me, NULL, &err) == 0;
        announce(&list[i], &pay, i % 2);
        list[i].view_tag = i < 45 ? pay.view_tag ^ 1 : (pay.view_tag + 128) % 256;
        want[i] = OTHER;
    }
    /* ours, with an uncompressed key and no tag: the full check finds it */
    setup_ok &= enigma_stealth_generate(&pay, &me, NULL, &err) == 0;
    announce(&list[51], &pay, 1);
    list[51].view_tag = -1;
    want[51] = MINE;
    /* Ours, but malformed: encodings check does not take, a tag out of range,
     * a length the caller marked bad. */
    for (size_t i = 60; i <= 67; i++) {
        setup_ok &= enigma_stealth_generate(&pay, &me, NULL, &err) == 0;
        announce(&list[i], &pay, 1);
        want[i] = MALFORMED;
    }
    list[60].ephemeral_pub[0] = 0x06 | (list[60].ephemeral_pub[64] & 1); /* hybrid: a point */
    list[61].ephemeral_pub[64] ^= 1;                                      /* y off the curve */
    list[62].ephemeral_len = 0;
    list[63].ephemeral_len = 64;
    list[64].view_tag = 256;
    list[65].view_tag = -2;
    list[66].view_tag = 65536 + list[66].view_tag; /* the right tag, mod 2^16 */
    list[67].ephemeral_pub[0] = 0x04;
    list[67].ephemeral_len = 33; /* an uncompressed prefix on a compressed length */
    CHECK(setup_ok);

    static const int thread_counts[] = {1, 4, 2, 0, -3, 1000};
    for (size_t t = 0; t < sizeof thread_counts / sizeof thread_counts[0]; t++) {
        int exact = 1;
        for (size_t i = 0; i < SCAN_N; i++)
            list[i].match = 42;
        long got = enigma_stealth_scan(list, SCAN_N, view, me.spending_pub, thread_counts[t], &err);
        for (size_t i = 0; i < SCAN_N; i++)
            if (list[i].match != want[i]) {
                if (exact)
                    fprintf(stderr, "threads=%d: [%zu] match %d, want %d\n", thread_counts[t], i,
                            list[i].match, want[i]);
                exact = 0;
            }
        CHECK(got == 8);
        CHECK(exact);
    }
    /* a short list runs inline whatever the thread count */
    for (size_t i = 0; i < 101; i++)
        list[i].match = 42;
    CHECK(enigma_stealth_scan(list, 100, view, me.spending_pub, 8, &err) == 3);
    CHECK(list[0].match == 1 && list[3].match == 1 && list[51].match == 1);
    CHECK(list[42].match == 0 && list[43].match == 0 && list[44].match == 0);
    CHECK(list[5].match == -1 && list[7].match == -1 && list[60].match == -1);
    CHECK(list[99].match == 0);
    CHECK(list[100].match == 42); /* past the end: untouched */

    /* check and scan agree on every announcement */
    int agree = 1;
    for (size_t i = 0; i < 100; i++) {
        uint8_t eph[33];
        int match = 0;
        if (enigma_pubkey_parse(eph, list[i].ephemeral_pub, list[i].ephemeral_len, NULL) < 0 ||
            list[i].view_tag < -1 || list[i].view_tag > 255) {
            agree &= list[i].match == -1;
            continue;
        }
        agree &= enigma_stealth_check(&match, list[i].address, eph, view, me.spending_pub,
                                      list[i].view_tag, &err) == 0 &&
                 match == list[i].match;
    }
    CHECK(agree);

    enigma_crypto_wipe(spend, sizeof spend);
    enigma_crypto_wipe(view, sizeof view);
    enigma_crypto_wipe(osk, sizeof osk);
    free(list);
}

int main(void)
{
    CHECK(enigma_crypto_init(&err) == 0);
    test_vectors();
    test_pubkey_parse();
    test_seckeys();
    test_meta_parse();
    test_single_key();
    test_random_round_trips();
    test_scan();
    return test_report();
}
