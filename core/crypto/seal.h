/*
 * enigma_seal: spending keys at rest, in a versioned envelope.
 *
 * The secret is encrypted with XChaCha20-Poly1305 (libsodium's IETF AEAD).
 * The associated data binds it to where it belongs, the stealth address and
 * the chain id, so an envelope copied to another row fails to open. The key
 * comes either
 *   - from argon2id over a passphrase, with a random 16-byte salt and the
 *     opslimit/memlimit written in the header, so stronger parameters can be
 *     adopted later without breaking old envelopes; or
 *   - from a master key (ENIGMA_MASTER_KEY_FILE) as a libsodium KDF subkey
 *     (crypto_kdf_derive_from_key, context "enigmaSL") with a random 64-bit
 *     subkey id written in the header.
 *
 * Binary layout (all integers big-endian), then the whole thing base64url
 * without padding after the text prefix "enigma-seal-v1:":
 *
 *   "ESL" 0x01        magic and version
 *   kdf (1 byte)      1 = argon2id, 2 = master-key subkey
 *   argon2id:         opslimit (4) | memlimit in KiB (4) | salt (16)
 *   master:           subkey id (8) | master key id (8: BLAKE2b of the key,
 *                     so a wrong master key is named as such)
 *   nonce (24)
 *   ciphertext || tag (16)
 *
 * AD = the header up to and including the nonce || address (20) || chain id (8).
 * Any changed header byte therefore fails authentication too.
 *
 * Errors: EFORMAT (not an envelope, unknown version/kdf, truncated, out-of-
 * range parameters), EAUTH (wrong passphrase or key, tampered, wrong AD),
 * EKEYFILE (master key file missing, malformed, or readable by group/others),
 * ENOMEM (argon2id could not get its memory).
 */
#ifndef ENIGMA_SEAL_H
#define ENIGMA_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto/keccak.h"
#include "core/error.h"

#define ENIGMA_SEAL_PREFIX "enigma-seal-v1:"
#define ENIGMA_MASTER_KEY_BYTES 32
/* The most a sealed secret may be (a private key is 32). */
#define ENIGMA_SEAL_SECRET_MAX 64

#define ENIGMA_SEAL_MUST_CHECK __attribute__((warn_unused_result))

typedef enum enigma_seal_kdf {
    ENIGMA_SEAL_ARGON2ID = 1,
    ENIGMA_SEAL_MASTER_KEY = 2
} enigma_seal_kdf;

/* Where the sealing key comes from. Nothing here is copied or kept. */
typedef struct enigma_seal_key {
    enigma_seal_kdf kdf;
    /* ENIGMA_SEAL_ARGON2ID */
    const char *passphrase;
    size_t passphrase_len;
    /* argon2id cost when sealing (opening reads it from the header);
     * 0 means libsodium's INTERACTIVE values. Bounds: opslimit 1..64,
     * memlimit 8 KiB..4 GiB. */
    uint32_t opslimit;
    uint64_t memlimit;
    /* ENIGMA_SEAL_MASTER_KEY */
    const uint8_t *master_key; /* ENIGMA_MASTER_KEY_BYTES */
} enigma_seal_key;

/*
 * Seals `n` bytes (1..ENIGMA_SEAL_SECRET_MAX) for (`address`, `chain_id`).
 * On success *out is a malloc'd NUL-terminated envelope text the caller
 * frees (it holds nothing secret). Returns 0 or -1.
 */
int enigma_seal(char **out, const uint8_t *secret, size_t n, const enigma_seal_key *key,
                const uint8_t address[ENIGMA_ADDRESS_BYTES], uint64_t chain_id,
                enigma_error *err) ENIGMA_SEAL_MUST_CHECK;

/*
 * Opens an envelope (`len` bytes of text) into `out` (capacity `cap`, which
 * should be guarded memory), setting *out_len. `key->kdf` must match the
 * envelope's (EAUTH names the mismatch). On failure nothing is left in `out`.
 */
int enigma_seal_open(uint8_t *out, size_t cap, size_t *out_len, const char *text, size_t len,
                     const enigma_seal_key *key, const uint8_t address[ENIGMA_ADDRESS_BYTES],
                     uint64_t chain_id, enigma_error *err) ENIGMA_SEAL_MUST_CHECK;

/* Reads the header without opening: its kdf and, for argon2id, its cost.
 * For tools that report or upgrade envelopes. */
int enigma_seal_inspect(enigma_seal_kdf *kdf, uint32_t *opslimit, uint64_t *memlimit,
                        const char *text, size_t len, enigma_error *err) ENIGMA_SEAL_MUST_CHECK;

/*
 * Reads a master key from `path` into `key` (ENIGMA_MASTER_KEY_BYTES; pass
 * guarded memory). The file holds 64 hex digits (optionally 0x, trailing
 * newline allowed) or 32 raw bytes. Refused (EKEYFILE) when it is readable
 * or writable by group or others, is not a regular file, or is malformed.
 */
int enigma_seal_master_key_load(uint8_t key[ENIGMA_MASTER_KEY_BYTES], const char *path,
                                enigma_error *err) ENIGMA_SEAL_MUST_CHECK;

#endif
