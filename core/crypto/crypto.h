/*
 * enigma_crypto: what every crypto module shares.
 *
 * Initialisation (libsodium and one libsecp256k1 context), random bytes,
 * constant-time comparison, strict hex and guarded memory for secrets.
 * Error codes used across core/crypto/: EHEX (bad hex), ELENGTH (a wrong
 * length), EKEY (a key that is not a valid curve scalar or point), ECHECKSUM
 * (a checksum that does not match), EAUTH (authentication failed: a wrong
 * passphrase, a tampered envelope, wrong associated data, a bad MAC),
 * EFORMAT (malformed text or JSON), ESODIUM (libsodium failed), ENOMEM.
 */
#ifndef ENIGMA_CRYPTO_H
#define ENIGMA_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define ENIGMA_CRYPTO_MUST_CHECK __attribute__((warn_unused_result))

/* Initialises libsodium and the shared secp256k1 context. Idempotent and
 * thread-safe; every other function in core/crypto/ calls it, so callers
 * need it only to see the error early. Returns 0 or -1 (ESODIUM). */
int enigma_crypto_init(enigma_error *err);

/* The process's secp256k1 context (randomised, read-only after init).
 * Returned as void * so this header does not pull in secp256k1.h. NULL if
 * enigma_crypto_init failed. */
const void *enigma_crypto_secp(void);

/* Fills `buf` with `n` bytes from the system CSPRNG (randombytes_buf). */
void enigma_crypto_random(void *buf, size_t n);

/* 1 if the `n` bytes at `a` and `b` are equal, 0 if not, in time that
 * depends only on `n`. */
int enigma_crypto_equal(const void *a, const void *b, size_t n);

/* Writes lowercase hex of `in` to `out`, with "0x" first when `prefix`, and a
 * terminating NUL. `out` must hold 2*n + 3 bytes. Returns the length written
 * (without the NUL). */
size_t enigma_hex_encode(char *out, const uint8_t *in, size_t n, int prefix);

/*
 * Decodes `len` characters of hex at `hex`, with or without a leading
 * "0x"/"0X", either case, into `out` (capacity `cap`), setting *out_len.
 * Rejects (EHEX) an odd number of digits or a non-hex character, naming its
 * position; rejects (ELENGTH) more bytes than `cap`. On failure `out` may
 * hold partial output, which the caller wipes if it is secret.
 */
int enigma_hex_decode(uint8_t *out, size_t cap, size_t *out_len, const char *hex, size_t len,
                      enigma_error *err) ENIGMA_CRYPTO_MUST_CHECK;

/* As enigma_hex_decode, but exactly `n` bytes must result (ELENGTH names
 * what was expected and what was found). */
int enigma_hex_decode_exact(uint8_t *out, size_t n, const char *hex, size_t len,
                            enigma_error *err) ENIGMA_CRYPTO_MUST_CHECK;

/* Guarded memory for secrets (sodium_malloc: guard pages, mlock, canary);
 * secrets of 64 bytes or less share slabs of it, so a key costs a free-list
 * pop rather than an mmap. Returned memory is zeroed. enigma_secret_free
 * wipes and frees; NULL is a no-op. Thread-safe. */
void *enigma_secret_alloc(size_t n);
void enigma_secret_free(void *p);

/* Wipes `n` bytes at `p` (sodium_memzero, which the compiler cannot drop). */
void enigma_crypto_wipe(void *p, size_t n);

#endif
