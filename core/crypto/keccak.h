/*
 * enigma_keccak: Ethereum's Keccak-256 (the original 0x01 padding, not FIPS
 * SHA3-256's 0x06) and the addresses built on it: an address is the last 20
 * bytes of keccak256 of the 64-byte uncompressed public key, shown with the
 * EIP-55 mixed-case checksum.
 *
 * The sponge is ours; the permutation is nettle's (nettle_sha3_permute).
 */
#ifndef ENIGMA_KECCAK_H
#define ENIGMA_KECCAK_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define ENIGMA_KECCAK256_BYTES 32
#define ENIGMA_ADDRESS_BYTES 20
#define ENIGMA_ADDRESS_TEXT_MAX 43 /* "0x" + 40 + NUL */

/* Incremental hashing: init, update any number of times, final. The context
 * holds no pointers and may be copied. */
typedef struct enigma_keccak256_ctx {
    uint64_t lanes[25];
    size_t used; /* bytes absorbed into the current block */
} enigma_keccak256_ctx;

void enigma_keccak256_init(enigma_keccak256_ctx *ctx);
void enigma_keccak256_update(enigma_keccak256_ctx *ctx, const void *data, size_t n);
/* Writes the digest and wipes the context. */
void enigma_keccak256_final(enigma_keccak256_ctx *ctx, uint8_t out[ENIGMA_KECCAK256_BYTES]);

/* One-shot keccak256(data). */
void enigma_keccak256(uint8_t out[ENIGMA_KECCAK256_BYTES], const void *data, size_t n);

/* The address of an uncompressed public key given as x || y (64 bytes, no
 * 0x04 prefix). */
void enigma_address_from_xy(uint8_t out[ENIGMA_ADDRESS_BYTES], const uint8_t xy[64]);

/* Writes "0x" + the EIP-55 checksummed hex of `address` and a NUL into `out`
 * (ENIGMA_ADDRESS_TEXT_MAX bytes). */
void enigma_address_format(char out[ENIGMA_ADDRESS_TEXT_MAX],
                           const uint8_t address[ENIGMA_ADDRESS_BYTES]);

/*
 * Parses `len` characters: "0x" + 40 hex digits. All-lowercase and
 * all-uppercase are accepted as unchecksummed; mixed case must be a correct
 * EIP-55 checksum (ECHECKSUM otherwise, since a mixed-case typo is exactly
 * what the checksum exists to catch). EFORMAT for a missing "0x", EHEX or
 * ELENGTH otherwise.
 */
int enigma_address_parse(uint8_t out[ENIGMA_ADDRESS_BYTES], const char *text, size_t len,
                         enigma_error *err) __attribute__((warn_unused_result));

#endif
