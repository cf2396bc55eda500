#include "core/crypto/keccak.h"

#include <ctype.h>
#include <nettle/sha3.h>
#include <string.h>

#include "core/crypto/crypto.h"

/* Keccak-256: capacity 512 bits, so the rate is 1088 bits = 136 bytes. */
#define RATE 136

/* nettle's state is 25 little-endian 64-bit lanes; we keep our own copy of
 * the same shape so the context does not depend on nettle's struct layout. */
static void permute(uint64_t lanes[25])
{
    struct sha3_state st;
    memcpy(st.a, lanes, sizeof st.a);
    sha3_permute(&st);
    memcpy(lanes, st.a, sizeof st.a);
    enigma_crypto_wipe(&st, sizeof st);
}

static void xor_byte(uint64_t lanes[25], size_t pos, uint8_t byte)
{
    lanes[pos / 8] ^= (uint64_t)byte << (8 * (pos % 8));
}

void enigma_keccak256_init(enigma_keccak256_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
}

void enigma_keccak256_update(enigma_keccak256_ctx *ctx, const void *data, size_t n)
{
    const uint8_t *p = data;
    while (n > 0) {
        /* Whole aligned lanes at a time when we can: the common, long case. */
        if (ctx->used % 8 == 0 && n >= 8) {
            while (n >= 8 && ctx->used < RATE) {
                uint64_t lane = 0;
                for (int i = 7; i >= 0; i--)
                    lane = lane << 8 | p[i];
                ctx->lanes[ctx->used / 8] ^= lane;
                ctx->used += 8;
                p += 8;
                n -= 8;
            }
        } else {
            xor_byte(ctx->lanes, ctx->used++, *p++);
            n--;
        }
        if (ctx->used == RATE) {
            permute(ctx->lanes);
            ctx->used = 0;
        }
    }
}

void enigma_keccak256_final(enigma_keccak256_ctx *ctx, uint8_t out[ENIGMA_KECCAK256_BYTES])
{
    /* Keccak's pad10*1 with the original 0x01 domain byte (SHA-3 uses 0x06). */
    xor_byte(ctx->lanes, ctx->used, 0x01);
    xor_byte(ctx->lanes, RATE - 1, 0x80);
    permute(ctx->lanes);
    for (size_t i = 0; i < ENIGMA_KECCAK256_BYTES; i++)
        out[i] = (uint8_t)(ctx->lanes[i / 8] >> (8 * (i % 8)));
    enigma_crypto_wipe(ctx, sizeof *ctx);
}

void enigma_keccak256(uint8_t out[ENIGMA_KECCAK256_BYTES], const void *data, size_t n)
{
    enigma_keccak256_ctx ctx;
    enigma_keccak256_init(&ctx);
    enigma_keccak256_update(&ctx, data, n);
    enigma_keccak256_final(&ctx, out);
}

void enigma_address_from_xy(uint8_t out[ENIGMA_ADDRESS_BYTES], const uint8_t xy[64])
{
    uint8_t digest[ENIGMA_KECCAK256_BYTES];
    enigma_keccak256(digest, xy, 64);
    memcpy(out, digest + 12, ENIGMA_ADDRESS_BYTES);
}

void enigma_address_format(char out[ENIGMA_ADDRESS_TEXT_MAX],
                           const uint8_t address[ENIGMA_ADDRESS_BYTES])
{
    /* EIP-55: hex digit i is upper-cased when nibble i of
     * keccak256(lowercase hex without 0x) is 8 or more. */
    enigma_hex_encode(out, address, ENIGMA_ADDRESS_BYTES, 1);
    uint8_t digest[ENIGMA_KECCAK256_BYTES];
    enigma_keccak256(digest, out + 2, 2 * ENIGMA_ADDRESS_BYTES);
    for (size_t i = 0; i < 2 * ENIGMA_ADDRESS_BYTES; i++) {
        unsigned nibble = (digest[i / 2] >> (i % 2 ? 0 : 4)) & 15;
        if (nibble >= 8)
            out[2 + i] = (char)toupper((unsigned char)out[2 + i]);
    }
}

int enigma_address_parse(uint8_t out[ENIGMA_ADDRESS_BYTES], const char *text, size_t len,
                         enigma_error *err)
{
    if (len < 2 || text[0] != '0' || (text[1] != 'x' && text[1] != 'X'))
        return enigma_error_set(err, "EFORMAT", "not an address: it must start with 0x");
    if (enigma_hex_decode_exact(out, ENIGMA_ADDRESS_BYTES, text, len, err) < 0) {
        if (err != NULL && strcmp(err->code, "ELENGTH") == 0)
            enigma_error_set(err, "ELENGTH", "not an address: %zu hex digits, 40 expected",
                             len - 2);
        return -1;
    }
    int lower = 0, upper = 0;
    for (size_t i = 2; i < len; i++) {
        lower |= text[i] >= 'a' && text[i] <= 'f';
        upper |= text[i] >= 'A' && text[i] <= 'F';
    }
    if (lower && upper) {
        char want[ENIGMA_ADDRESS_TEXT_MAX];
        enigma_address_format(want, out);
        if (memcmp(want + 2, text + 2, 2 * ENIGMA_ADDRESS_BYTES) != 0)
            return enigma_error_set(err, "ECHECKSUM",
                                    "address %.*s fails its EIP-55 checksum: a character's "
                                    "case is wrong, so a digit may be mistyped",
                                    (int)len, text);
    }
    return 0;
}
