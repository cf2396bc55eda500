/*
 * enigma_stealth: EIP-5564 stealth addresses, scheme 1 (secp256k1 with view
 * tags), on libsecp256k1.
 *
 *   meta-address  "st:eth:0x" + spending public key (33 bytes, compressed)
 *                 + viewing public key (33 bytes); a 33-byte meta-address
 *                 uses its one key for both.
 *   generate      ephemeral key e: S = e * P_view (the shared secret),
 *                 s_h = keccak256(compressed33(S)), view tag = s_h[0],
 *                 P_stealth = P_spend + s_h * G,
 *                 address = last 20 bytes of keccak256(uncompressed P_stealth
 *                 without its 0x04 prefix).
 *   check         the recipient recomputes S = p_view * P_ephemeral; a view
 *                 tag that differs from s_h[0] rejects the announcement after
 *                 one multiplication and one hash, without the second point
 *                 operation (the fast path).
 *   private key   p_stealth = (p_spend + s_h) mod n.
 *
 * Keys are fixed-size byte arrays: private keys 32 bytes big-endian, public
 * keys 33 bytes compressed (parsed from 33 or 65; a scanned announcement
 * keeps its ephemeral key as announced). Private keys are the caller's; this
 * module keeps no copy and wipes its temporaries. Errors: EKEY (not a valid scalar or
 * curve point), ELENGTH, EHEX, EFORMAT.
 */
#ifndef ENIGMA_STEALTH_H
#define ENIGMA_STEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto/keccak.h"
#include "core/error.h"

#define ENIGMA_SECKEY_BYTES 32
#define ENIGMA_PUBKEY_BYTES 33
#define ENIGMA_PUBKEY_MAX_BYTES 65 /* uncompressed: 0x04 || x || y */
#define ENIGMA_META_ADDRESS_PREFIX "st:eth:0x"
#define ENIGMA_META_ADDRESS_TEXT_MAX (9 + 2 * 66 + 1)

#define ENIGMA_STEALTH_MUST_CHECK __attribute__((warn_unused_result))

/* 0 if `seckey` is a valid secp256k1 private key (0 < k < n), else -1 EKEY. */
int enigma_seckey_verify(const uint8_t seckey[ENIGMA_SECKEY_BYTES],
                         enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

/* A fresh random private key. */
void enigma_seckey_generate(uint8_t seckey[ENIGMA_SECKEY_BYTES]);

/* The compressed public key of `seckey`; -1 EKEY if it is not valid. */
int enigma_pubkey_from_seckey(uint8_t pub[ENIGMA_PUBKEY_BYTES],
                              const uint8_t seckey[ENIGMA_SECKEY_BYTES],
                              enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

/* Parses a public key of 33 (compressed) or 65 (uncompressed, 0x04) bytes
 * and writes it compressed. Rejects a point not on the curve (EKEY) and any
 * other length (ELENGTH). */
int enigma_pubkey_parse(uint8_t pub[ENIGMA_PUBKEY_BYTES], const uint8_t *in, size_t n,
                        enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

/* The 65-byte uncompressed form (0x04 || x || y) of a compressed key;
 * -1 EKEY if `pub` is not a point. */
int enigma_pubkey_uncompress(uint8_t out[ENIGMA_PUBKEY_MAX_BYTES],
                             const uint8_t pub[ENIGMA_PUBKEY_BYTES],
                             enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

/* As enigma_pubkey_parse, from hex text (with or without 0x). */
int enigma_pubkey_parse_hex(uint8_t pub[ENIGMA_PUBKEY_BYTES], const char *hex, size_t len,
                            enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

/* The Ethereum address of a public key. -1 EKEY if `pub` is not a point. */
int enigma_pubkey_address(uint8_t address[ENIGMA_ADDRESS_BYTES],
                          const uint8_t pub[ENIGMA_PUBKEY_BYTES],
                          enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

typedef struct enigma_stealth_meta {
    uint8_t spending_pub[ENIGMA_PUBKEY_BYTES];
    uint8_t viewing_pub[ENIGMA_PUBKEY_BYTES];
} enigma_stealth_meta;

/* Parses "st:eth:0x" + 132 hex digits (spending, viewing) or + 66 (one key
 * for both); both points are validated. EFORMAT names what is wrong. */
int enigma_stealth_meta_parse(enigma_stealth_meta *meta, const char *text, size_t len,
                              enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

/* Writes the 66-byte form, lowercase, NUL-terminated; returns its length. */
size_t enigma_stealth_meta_format(char out[ENIGMA_META_ADDRESS_TEXT_MAX],
                                  const enigma_stealth_meta *meta);

/* The meta-address of a key pair. -1 EKEY if either key is invalid. */
int enigma_stealth_meta_from_keys(enigma_stealth_meta *meta,
                                  const uint8_t spending_seckey[ENIGMA_SECKEY_BYTES],
                                  const uint8_t viewing_seckey[ENIGMA_SECKEY_BYTES],
                                  enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

typedef struct enigma_stealth_payment {
    uint8_t address[ENIGMA_ADDRESS_BYTES];
    uint8_t ephemeral_pub[ENIGMA_PUBKEY_BYTES];
    uint8_t view_tag;
} enigma_stealth_payment;

/* A stealth address for `meta`. `ephemeral_seckey` NULL draws a random one
 * (and wipes it); given, the result is deterministic (tests, vectors). */
int enigma_stealth_generate(enigma_stealth_payment *out, const enigma_stealth_meta *meta,
                            const uint8_t *ephemeral_seckey,
                            enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

/*
 * Sets *match to 1 if `address` is the recipient's stealth address for the
 * announcement (`ephemeral_pub`), 0 if not. `view_tag` is 0..255, or -1 when
 * the announcement has none (then the full check always runs). Returns -1
 * (EKEY) only when a key is invalid.
 */
int enigma_stealth_check(int *match, const uint8_t address[ENIGMA_ADDRESS_BYTES],
                         const uint8_t ephemeral_pub[ENIGMA_PUBKEY_BYTES],
                         const uint8_t viewing_seckey[ENIGMA_SECKEY_BYTES],
                         const uint8_t spending_pub[ENIGMA_PUBKEY_BYTES], int view_tag,
                         enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

/* p_stealth = (p_spend + s_h) mod n, into `out` (the caller's, to wipe).
 * -1 EKEY for an invalid key or the (negligible) zero result. */
int enigma_stealth_private_key(uint8_t out[ENIGMA_SECKEY_BYTES],
                               const uint8_t ephemeral_pub[ENIGMA_PUBKEY_BYTES],
                               const uint8_t viewing_seckey[ENIGMA_SECKEY_BYTES],
                               const uint8_t spending_seckey[ENIGMA_SECKEY_BYTES],
                               enigma_error *err) ENIGMA_STEALTH_MUST_CHECK;

/*
 * One announcement for enigma_stealth_scan: inputs, then the verdict. The
 * ephemeral key is as announced, in either encoding enigma_pubkey_parse
 * takes (33 bytes compressed, 65 uncompressed with 0x04), so the scan finds
 * every announcement enigma_stealth_check would; it is validated by the
 * scan. An announcement is invalid (match -1, and no work is spent on it)
 * when its key is not a point in one of those encodings, or its view tag is
 * neither -1 nor 0..255. A caller that found some other field malformed
 * sets ephemeral_len to 0 to have it counted invalid too.
 */
typedef struct enigma_stealth_announcement {
    uint8_t ephemeral_pub[ENIGMA_PUBKEY_MAX_BYTES];
    size_t ephemeral_len; /* 33 or 65; anything else is invalid */
    uint8_t address[ENIGMA_ADDRESS_BYTES];
    int view_tag;  /* 0..255, or -1 if none */
    int match;     /* out: 1 mine, 0 not mine, -1 invalid */
} enigma_stealth_announcement;

/*
 * Checks `n` announcements for one recipient, using the view tag (a tag that
 * differs from the shared secret's rejects the announcement, whatever its
 * address), spread over `threads` threads (0: one per online CPU). The
 * secp256k1 multiplication is the whole cost, so threads scale it. Returns the number of matches,
 * or -1 (EKEY for an invalid recipient key, ENOMEM/ETHREAD).
 */
long enigma_stealth_scan(enigma_stealth_announcement *list, size_t n,
                         const uint8_t viewing_seckey[ENIGMA_SECKEY_BYTES],
                         const uint8_t spending_pub[ENIGMA_PUBKEY_BYTES], int threads,
                         enigma_error *err);

#endif
