/*
 * enigma_keystore: Ethereum keystore v3 ("Web3 Secret Storage") files, so
 * keys can come from and go to Ethereum wallets.
 *
 *   DK   = scrypt(password, salt, n, r, p, dklen) or
 *          PBKDF2-HMAC-SHA256(password, salt, c, dklen); dklen >= 32
 *   key  = AES-128-CTR(DK[0..15], iv as the initial 128-bit big-endian
 *          counter block) over the ciphertext
 *   mac  = keccak256(DK[16..31] || ciphertext), compared in constant time
 *          before anything is decrypted
 *
 * scrypt is libsodium's crypto_pwhash_scryptsalsa208sha256_ll (which, unlike
 * some, accepts geth's n=262144, r=1, p=8 vector); PBKDF2 and AES-CTR are
 * nettle's. JSON is read and written with jansson.
 *
 * Keys shorter than 32 bytes (old wallets wrote 30- and 31-byte ones) are
 * left-padded with zeros. KDF parameters are bounded so a hostile file cannot
 * ask for unbounded memory or time: scrypt 128*r*n <= 1 GiB, r*p < 2^30,
 * 128*n*r*p <= 2^32 (16 times geth's standard cost), n a power of two;
 * PBKDF2 c <= 10,000,000.
 *
 * Errors: EFORMAT (not keystore v3 JSON, naming the field), EKDF (an
 * unsupported or out-of-bounds KDF), EAUTH (MAC mismatch: a wrong password or
 * a corrupted file), EKEY (decrypts to an invalid private key), ENOMEM.
 */
#ifndef ENIGMA_KEYSTORE_H
#define ENIGMA_KEYSTORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define ENIGMA_KEYSTORE_MUST_CHECK __attribute__((warn_unused_result))

typedef enum enigma_keystore_kdf {
    ENIGMA_KEYSTORE_SCRYPT = 1,
    ENIGMA_KEYSTORE_PBKDF2 = 2
} enigma_keystore_kdf;

/* Export options; zero fields take the defaults (geth's "standard" scrypt:
 * n=262144, r=8, p=1; PBKDF2 c=262144). */
typedef struct enigma_keystore_opts {
    enigma_keystore_kdf kdf; /* 0: scrypt */
    uint64_t n;
    uint32_t r, p;
    uint32_t c;
} enigma_keystore_opts;

/*
 * Decrypts `len` bytes of keystore JSON with `password` into `key` (32
 * bytes; pass guarded memory). Verifies the MAC first. On failure `key` is
 * wiped.
 */
int enigma_keystore_decrypt(uint8_t key[32], const char *json, size_t len, const char *password,
                            size_t password_len, enigma_error *err) ENIGMA_KEYSTORE_MUST_CHECK;

/*
 * Encrypts `key` (a valid secp256k1 private key) into keystore v3 JSON with
 * a random salt, iv and UUIDv4 id, and the lowercase "address" field. On
 * success *out is a malloc'd NUL-terminated string the caller frees.
 * `opts` may be NULL.
 */
int enigma_keystore_encrypt(char **out, const uint8_t key[32], const char *password,
                            size_t password_len, const enigma_keystore_opts *opts,
                            enigma_error *err) ENIGMA_KEYSTORE_MUST_CHECK;

#endif
