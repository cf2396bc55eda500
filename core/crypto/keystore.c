#include "core/crypto/keystore.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/pbkdf2.h>
#include <secp256k1.h>
#include <sodium.h>

#include "core/crypto/crypto.h"
#include "core/crypto/keccak.h"

#define DKLEN_MIN 32
#define DKLEN_MAX 64
#define SALT_MAX 1024
#define SCRYPT_RN_MAX (UINT64_C(1) << 23) /* 128*r*n <= 1 GiB  <=>  r*n <= 2^23 */
#define SCRYPT_RP_LIMIT (UINT64_C(1) << 30)
#define PBKDF2_C_MAX 10000000u

/* Every secret of one operation in one guarded allocation. `plain` comes
 * first and the struct is 16-aligned (so is sodium_malloc's pointer for a
 * 16-multiple size) because nettle's CTR only works in dst, without a stack
 * keystream buffer, when dst is aligned and differs from src. */
typedef struct secrets {
    _Alignas(16) uint8_t plain[32];
    uint8_t dk[DKLEN_MAX];
    struct aes128_ctx aes;
} secrets;

/* The parsed crypto section, all public. */
typedef struct params {
    int scrypt;
    uint64_t n, r, p, c, dklen;
    uint8_t salt[SALT_MAX];
    size_t salt_len;
    uint8_t iv[16];
    uint8_t ct[32];
    size_t ct_len;
    uint8_t mac[32];
} params;

static void aes128_ctr_block(const void *ctx, size_t length, uint8_t *dst, const uint8_t *src)
{
    aes128_encrypt(ctx, length, dst, src); /* exact nettle_cipher_func type, no cast */
}

/* What a JSON value is, for messages. */
static const char *kind(const json_t *v)
{
    switch (v == NULL ? -1 : (int)json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a real number";
    case JSON_TRUE:
        return "true";
    case JSON_FALSE:
        return "false";
    case JSON_NULL:
        return "null";
    default:
        return "missing";
    }
}

/* A file's string, made safe to quote in a message: printable ASCII only,
 * at most 40 characters. */
static const char *quote(char out[48], const char *s)
{
    size_t i;
    for (i = 0; s[i] != '\0' && i < 40; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    strcpy(out + i, s[i] != '\0' ? "..." : "");
    return out;
}

static int get_object(const json_t *obj, const char *prefix, const char *key, json_t **out,
                      enigma_error *err)
{
    *out = json_object_get(obj, key);
    if (*out == NULL)
        return enigma_error_set(err, "EFORMAT", "%s%s is missing", prefix, key);
    if (!json_is_object(*out))
        return enigma_error_set(err, "EFORMAT", "%s%s must be an object, not %s", prefix, key,
                                kind(*out));
    return 0;
}

static int get_string(const json_t *obj, const char *prefix, const char *key, const char **out,
                      size_t *len, enigma_error *err)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return enigma_error_set(err, "EFORMAT", "%s%s is missing", prefix, key);
    if (!json_is_string(v))
        return enigma_error_set(err, "EFORMAT", "%s%s must be a string, not %s", prefix, key,
                                kind(v));
    *out = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

/* Hex of min..max bytes into `out` (capacity max). */
static int get_hex(const json_t *obj, const char *prefix, const char *key, uint8_t *out, size_t min,
                   size_t max, size_t *n, enigma_error *err)
{
    const char *s;
    size_t len;
    enigma_error e;
    if (get_string(obj, prefix, key, &s, &len, err) < 0)
        return -1;
    if (enigma_hex_decode(out, max, n, s, len, &e) < 0) {
        if (strcmp(e.code, "EHEX") == 0) {
            const char *m = strncmp(e.message, "not hex: ", 9) == 0 ? e.message + 9 : e.message;
            return enigma_error_set(err, "EFORMAT", "%s%s is not hex: %s", prefix, key, m);
        }
        /* ELENGTH: valid hex with an even count, so the length is known */
        *n = (len - (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') ? 2 : 0)) / 2;
    }
    if (*n == 0)
        return enigma_error_set(err, "EFORMAT", "%s%s is empty", prefix, key);
    if (*n < min || *n > max) {
        if (min == max)
            return enigma_error_set(err, "EFORMAT", "%s%s must be %zu bytes, found %zu", prefix,
                                    key, max, *n);
        return enigma_error_set(err, "EFORMAT", "%s%s must be %zu to %zu bytes, found %zu", prefix,
                                key, min, max, *n);
    }
    return 0;
}

static int get_uint(const json_t *obj, const char *prefix, const char *key, uint64_t *out,
                    enigma_error *err)
{
    const json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return enigma_error_set(err, "EFORMAT", "%s%s is missing", prefix, key);
    if (!json_is_integer(v))
        return enigma_error_set(err, "EFORMAT", "%s%s must be a positive integer, not %s", prefix,
                                key, kind(v));
    if (json_integer_value(v) <= 0)
        return enigma_error_set(err, "EFORMAT",
                                "%s%s must be a positive integer, not %" JSON_INTEGER_FORMAT,
                                prefix, key, json_integer_value(v));
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

/* The bounds that keep a hostile file from asking for unbounded memory;
 * shared by import ("crypto.kdfparams.") and export ("opts."). */
#define SCRYPT_WORK_MAX ((uint64_t)1 << 32)

static int check_scrypt(uint64_t n, uint64_t r, uint64_t p, const char *prefix, enigma_error *err)
{
    if (n < 2 || (n & (n - 1)) != 0)
        return enigma_error_set(err, "EKDF",
                                "%sn is %" PRIu64 ": it must be a power of two, at least 2", prefix,
                                n);
    if (r == 0 || p == 0)
        return enigma_error_set(err, "EKDF", "%s%s is 0: it must be positive", prefix,
                                r == 0 ? "r" : "p");
    if (r > SCRYPT_RN_MAX || n > SCRYPT_RN_MAX / r)
        return enigma_error_set(err, "EKDF",
                                "%sn (%" PRIu64 ") and r (%" PRIu64 ") ask scrypt for more than "
                                "1 GiB: 128*r*n must be at most 2^30",
                                prefix, n, r);
    if (p > (SCRYPT_RP_LIMIT - 1) / r)
        return enigma_error_set(err, "EKDF",
                                "%sr (%" PRIu64 ") times p (%" PRIu64 ") must be below 2^30",
                                prefix, r, p);
    /* Memory is 128*r*(n + p) and time grows with n*r*p: bound both, or p alone could ask
     * for 128 GiB or years. 2^32 is 16 times geth's standard (and its r=1, p=8) settings. */
    if (p > SCRYPT_WORK_MAX / (128 * r * n))
        return enigma_error_set(err, "EKDF",
                                "%sn (%" PRIu64 "), r (%" PRIu64 ") and p (%" PRIu64 ") ask scrypt "
                                "for too much work: 128*n*r*p must be at most 2^32",
                                prefix, n, r, p);
    return 0;
}

static int check_pbkdf2(uint64_t c, const char *prefix, enigma_error *err)
{
    if (c == 0 || c > PBKDF2_C_MAX)
        return enigma_error_set(err, "EKDF", "%sc is %" PRIu64 ": it must be 1 to %u iterations",
                                prefix, c, PBKDF2_C_MAX);
    return 0;
}

/* DK into s->dk. */
static int derive(secrets *s, const params *k, const char *password, size_t password_len,
                  enigma_error *err)
{
    if (k->scrypt) {
        /* the bounds checked above make r and p fit uint32_t */
        if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)password, password_len, k->salt,
                                                  k->salt_len, k->n, (uint32_t)k->r, (uint32_t)k->p,
                                                  s->dk, (size_t)k->dklen) != 0)
            return errno == ENOMEM
                       ? enigma_error_set(err, "ENOMEM", "scrypt: out of memory")
                       : enigma_error_set(err, "EKDF", "scrypt failed: %s", strerror(errno));
    } else {
        pbkdf2_hmac_sha256(password_len, (const uint8_t *)password, (unsigned)k->c, k->salt_len,
                           k->salt, (size_t)k->dklen, s->dk);
    }
    return 0;
}

/* keccak256(DK[16..31] || ciphertext) */
static void compute_mac(uint8_t mac[32], const secrets *s, const uint8_t *ct, size_t ct_len)
{
    enigma_keccak256_ctx kc;
    enigma_keccak256_init(&kc);
    enigma_keccak256_update(&kc, s->dk + 16, 16);
    enigma_keccak256_update(&kc, ct, ct_len);
    enigma_keccak256_final(&kc, mac); /* wipes kc, which absorbed DK */
}

/* s->plain = AES-128-CTR(DK[0..15], iv) over `in` zero-padded to 32 bytes:
 * full blocks keep nettle from putting keystream in a stack buffer. */
static void ctr32(secrets *s, const uint8_t iv[16], const uint8_t *in, size_t len)
{
    uint8_t ctr[16], src[32] = {0};
    memcpy(ctr, iv, 16);
    memcpy(src, in, len);
    aes128_set_encrypt_key(&s->aes, s->dk);
    ctr_crypt(&s->aes, aes128_ctr_block, AES_BLOCK_SIZE, ctr, sizeof src, s->plain, src);
    enigma_crypto_wipe(src, sizeof src); /* the plaintext on export */
}

static int parse(params *k, const char *json, size_t len, enigma_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je), *cr, *cp, *kp;
    const char *s, *cname = "crypto";
    size_t slen, n;
    char q[48];
    int rc = -1;

    if (root == NULL)
        return enigma_error_set(err, "EFORMAT", "not JSON: %s (line %d, column %d)", je.text,
                                je.line, je.column);
    if (!json_is_object(root)) {
        enigma_error_set(err, "EFORMAT",
                         "not a keystore v3 file: the top level is %s, not an object", kind(root));
        goto done;
    }
    const json_t *v = json_object_get(root, "version");
    if (!json_is_integer(v) || json_integer_value(v) != 3) {
        if (json_is_integer(v))
            enigma_error_set(err, "EFORMAT",
                             "not a keystore v3 file: version is %" JSON_INTEGER_FORMAT,
                             json_integer_value(v));
        else
            enigma_error_set(err, "EFORMAT", "not a keystore v3 file: version is %s", kind(v));
        goto done;
    }
    /* geth reads "Crypto" too; both at once would be ambiguous */
    if (json_object_get(root, "crypto") == NULL && json_object_get(root, "Crypto") != NULL)
        cname = "Crypto";
    else if (json_object_get(root, "Crypto") != NULL) {
        enigma_error_set(err, "EFORMAT", "both crypto and Crypto are present");
        goto done;
    }
    if (get_object(root, "", cname, &cr, err) < 0)
        goto done;

    char pc[16], pp[32], pk[32];
    snprintf(pc, sizeof pc, "%s.", cname);
    snprintf(pp, sizeof pp, "%s.cipherparams.", cname);
    snprintf(pk, sizeof pk, "%s.kdfparams.", cname);

    if (get_string(cr, pc, "cipher", &s, &slen, err) < 0)
        goto done;
    if (strcmp(s, "aes-128-ctr") != 0 || slen != 11) {
        enigma_error_set(err, "EFORMAT", "%scipher is \"%s\": only aes-128-ctr is supported", pc,
                         quote(q, s));
        goto done;
    }
    if (get_object(cr, pc, "cipherparams", &cp, err) < 0 ||
        get_hex(cp, pp, "iv", k->iv, 16, 16, &n, err) < 0 ||
        get_hex(cr, pc, "ciphertext", k->ct, 1, 32, &k->ct_len, err) < 0 ||
        get_string(cr, pc, "kdf", &s, &slen, err) < 0)
        goto done;
    if (strcmp(s, "scrypt") == 0 && slen == 6) {
        k->scrypt = 1;
    } else if (strcmp(s, "pbkdf2") != 0 || slen != 6) {
        enigma_error_set(err, "EKDF", "%skdf is \"%s\": only scrypt and pbkdf2 are supported", pc,
                         quote(q, s));
        goto done;
    }
    if (get_object(cr, pc, "kdfparams", &kp, err) < 0)
        goto done;
    if (k->scrypt) {
        if (get_uint(kp, pk, "n", &k->n, err) < 0 || get_uint(kp, pk, "r", &k->r, err) < 0 ||
            get_uint(kp, pk, "p", &k->p, err) < 0)
            goto done;
    } else {
        if (get_uint(kp, pk, "c", &k->c, err) < 0 || get_string(kp, pk, "prf", &s, &slen, err) < 0)
            goto done;
        if (strcmp(s, "hmac-sha256") != 0 || slen != 11) {
            enigma_error_set(err, "EKDF", "%sprf is \"%s\": only hmac-sha256 is supported", pk,
                             quote(q, s));
            goto done;
        }
    }
    if (get_uint(kp, pk, "dklen", &k->dklen, err) < 0 ||
        get_hex(kp, pk, "salt", k->salt, 1, SALT_MAX, &k->salt_len, err) < 0 ||
        get_hex(cr, pc, "mac", k->mac, 32, 32, &n, err) < 0)
        goto done;
    if (k->dklen < DKLEN_MIN || k->dklen > DKLEN_MAX) {
        enigma_error_set(err, "EKDF", "%sdklen is %" PRIu64 ": it must be %d to %d", pk, k->dklen,
                         DKLEN_MIN, DKLEN_MAX);
        goto done;
    }
    if (k->scrypt ? check_scrypt(k->n, k->r, k->p, pk, err) : check_pbkdf2(k->c, pk, err))
        goto done;
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int enigma_keystore_decrypt(uint8_t key[32], const char *json, size_t len, const char *password,
                            size_t password_len, enigma_error *err)
{
    params k = {0};
    secrets *s = NULL;
    uint8_t mac[32];
    int rc = -1;

    enigma_crypto_wipe(key, 32);
    if (password == NULL && password_len == 0)
        password = "";
    if (json == NULL && len == 0)
        json = "";
    if (password == NULL || json == NULL)
        return enigma_error_set(err, "EINVAL",
                                "enigma_keystore_decrypt: NULL with a nonzero length");
    if (enigma_crypto_init(err) < 0 || parse(&k, json, len, err) < 0)
        return -1;
    if ((s = enigma_secret_alloc(sizeof *s)) == NULL)
        return enigma_error_set(err, "ENOMEM", "out of memory for the derived key");
    if (derive(s, &k, password, password_len, err) < 0)
        goto done;
    compute_mac(mac, s, k.ct, k.ct_len);
    if (!enigma_crypto_equal(mac, k.mac, 32)) {
        enigma_error_set(err, "EAUTH",
                         "wrong password, or the keystore file is corrupted (MAC mismatch)");
        goto done;
    }
    ctr32(s, k.iv, k.ct, k.ct_len);
    /* old wallets wrote 30- and 31-byte keys: a big-endian number, so pad left */
    memcpy(key + 32 - k.ct_len, s->plain, k.ct_len);
    if (!secp256k1_ec_seckey_verify((const secp256k1_context *)enigma_crypto_secp(), key)) {
        enigma_error_set(err, "EKEY", "the keystore decrypts to an invalid secp256k1 private key");
        goto done;
    }
    rc = 0;
done:
    if (rc < 0)
        enigma_crypto_wipe(key, 32);
    enigma_secret_free(s);
    return rc;
}

int enigma_keystore_encrypt(char **out, const uint8_t key[32], const char *password,
                            size_t password_len, const enigma_keystore_opts *opts,
                            enigma_error *err)
{
    static const enigma_keystore_opts defaults = {0};
    const secp256k1_context *ctx;
    secp256k1_pubkey pub;
    params k = {0};
    secrets *s = NULL;
    uint8_t ser[65], addr[ENIGMA_ADDRESS_BYTES], mac[32], uuid[16];
    size_t ser_len = sizeof ser;
    char addr_hex[2 * ENIGMA_ADDRESS_BYTES + 3], salt_hex[2 * 32 + 3], iv_hex[2 * 16 + 3];
    char ct_hex[2 * 32 + 3], mac_hex[2 * 32 + 3], id[37];
    json_t *root = NULL;
    json_error_t je;
    int rc = -1;

    if (out == NULL)
        return enigma_error_set(err, "EINVAL", "enigma_keystore_encrypt: out is NULL");
    *out = NULL;
    if (password == NULL && password_len == 0)
        password = "";
    if (password == NULL)
        return enigma_error_set(err, "EINVAL",
                                "enigma_keystore_encrypt: NULL with a nonzero length");
    if (enigma_crypto_init(err) < 0)
        return -1;
    ctx = (const secp256k1_context *)enigma_crypto_secp();
    if (!secp256k1_ec_seckey_verify(ctx, key))
        return enigma_error_set(
            err, "EKEY", "not a valid secp256k1 private key (zero, or not below the curve order)");

    if (opts == NULL)
        opts = &defaults;
    k.dklen = 32;
    if (opts->kdf == 0 || opts->kdf == ENIGMA_KEYSTORE_SCRYPT) {
        k.scrypt = 1;
        k.n = opts->n ? opts->n : 262144;
        k.r = opts->r ? opts->r : 8;
        k.p = opts->p ? opts->p : 1;
        if (check_scrypt(k.n, k.r, k.p, "opts.", err) < 0)
            return -1;
    } else if (opts->kdf == ENIGMA_KEYSTORE_PBKDF2) {
        k.c = opts->c ? opts->c : 262144;
        if (check_pbkdf2(k.c, "opts.", err) < 0)
            return -1;
    } else {
        return enigma_error_set(err, "EKDF",
                                "opts.kdf is %d: it must be ENIGMA_KEYSTORE_SCRYPT or "
                                "ENIGMA_KEYSTORE_PBKDF2",
                                (int)opts->kdf);
    }

    if (!secp256k1_ec_pubkey_create(ctx, &pub, key) ||
        !secp256k1_ec_pubkey_serialize(ctx, ser, &ser_len, &pub, SECP256K1_EC_UNCOMPRESSED) ||
        ser_len != 65)
        return enigma_error_set(err, "EKEY", "libsecp256k1 could not derive the public key");
    enigma_address_from_xy(addr, ser + 1);

    k.salt_len = 32;
    enigma_crypto_random(k.salt, k.salt_len);
    enigma_crypto_random(k.iv, sizeof k.iv);
    enigma_crypto_random(uuid, sizeof uuid);
    uuid[6] = (uint8_t)((uuid[6] & 0x0f) | 0x40); /* version 4 */
    uuid[8] = (uint8_t)((uuid[8] & 0x3f) | 0x80); /* variant 10 (RFC 4122) */

    if ((s = enigma_secret_alloc(sizeof *s)) == NULL)
        return enigma_error_set(err, "ENOMEM", "out of memory for the derived key");
    if (derive(s, &k, password, password_len, err) < 0)
        goto done;
    ctr32(s, k.iv, key, 32);
    memcpy(k.ct, s->plain, 32);
    compute_mac(mac, s, k.ct, 32);

    enigma_hex_encode(addr_hex, addr, sizeof addr, 0);
    enigma_hex_encode(salt_hex, k.salt, k.salt_len, 0);
    enigma_hex_encode(iv_hex, k.iv, sizeof k.iv, 0);
    enigma_hex_encode(ct_hex, k.ct, 32, 0);
    enigma_hex_encode(mac_hex, mac, sizeof mac, 0);
    snprintf(id, sizeof id, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
             uuid[0], uuid[1], uuid[2], uuid[3], uuid[4], uuid[5], uuid[6], uuid[7], uuid[8],
             uuid[9], uuid[10], uuid[11], uuid[12], uuid[13], uuid[14], uuid[15]);

    /* geth's field order; jansson keeps insertion order */
    if (k.scrypt)
        root = json_pack_ex(&je, 0,
                            "{s:s, s:{s:s, s:s, s:{s:s}, s:s, s:{s:I, s:I, s:I, s:I, s:s}, s:s},"
                            " s:s, s:i}",
                            "address", addr_hex, "crypto", "cipher", "aes-128-ctr", "ciphertext",
                            ct_hex, "cipherparams", "iv", iv_hex, "kdf", "scrypt", "kdfparams",
                            "dklen", (json_int_t)k.dklen, "n", (json_int_t)k.n, "p",
                            (json_int_t)k.p, "r", (json_int_t)k.r, "salt", salt_hex, "mac", mac_hex,
                            "id", id, "version", 3);
    else
        root = json_pack_ex(&je, 0,
                            "{s:s, s:{s:s, s:s, s:{s:s}, s:s, s:{s:I, s:I, s:s, s:s}, s:s},"
                            " s:s, s:i}",
                            "address", addr_hex, "crypto", "cipher", "aes-128-ctr", "ciphertext",
                            ct_hex, "cipherparams", "iv", iv_hex, "kdf", "pbkdf2", "kdfparams", "c",
                            (json_int_t)k.c, "dklen", (json_int_t)k.dklen, "prf", "hmac-sha256",
                            "salt", salt_hex, "mac", mac_hex, "id", id, "version", 3);
    if (root == NULL) {
        enigma_error_set(err, "ENOMEM", "could not build the keystore JSON: %s", je.text);
        goto done;
    }
    if ((*out = json_dumps(root, JSON_COMPACT)) == NULL) {
        enigma_error_set(err, "ENOMEM", "could not write the keystore JSON");
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    enigma_secret_free(s);
    return rc;
}
