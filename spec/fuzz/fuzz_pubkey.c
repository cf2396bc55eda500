/* Fuzzes public-key and meta-address parsing: raw bytes, hex text and "st:eth:0x" text;
 * and checks that the scan takes an ephemeral key exactly when enigma_pubkey_parse does. */
#include <string.h>

#include "core/crypto/stealth.h"
#include "fuzz.h"

/* One announcement of `size` bytes of key, scanned and checked by a fixed recipient. */
static void scan_agrees(const uint8_t *data, size_t size, int parsed, const uint8_t *pub)
{
    static const uint8_t viewing[ENIGMA_SECKEY_BYTES] = {[31] = 7};
    static const uint8_t spending[ENIGMA_SECKEY_BYTES] = {[31] = 11};
    uint8_t spending_pub[ENIGMA_PUBKEY_BYTES];
    enigma_stealth_announcement a = {.view_tag = -1};
    int match = 0;

    if (size > sizeof a.ephemeral_pub)
        return;
    FUZZ_ASSERT(enigma_pubkey_from_seckey(spending_pub, spending, NULL) == 0);
    memcpy(a.ephemeral_pub, data, size);
    a.ephemeral_len = size;
    FUZZ_ASSERT(enigma_stealth_scan(&a, 1, viewing, spending_pub, 1, NULL) >= 0);
    FUZZ_ASSERT((a.match == -1) == !parsed);
    if (parsed) {
        FUZZ_ASSERT(enigma_stealth_check(&match, a.address, pub, viewing, spending_pub, -1, NULL) ==
                    0);
        FUZZ_ASSERT(match == a.match);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pub[ENIGMA_PUBKEY_BYTES];
    int parsed = enigma_pubkey_parse(pub, data, size, NULL) == 0;
    if (parsed) {
        uint8_t again[ENIGMA_PUBKEY_BYTES];
        FUZZ_ASSERT(enigma_pubkey_parse(again, pub, sizeof pub, NULL) == 0);
        FUZZ_ASSERT(memcmp(again, pub, sizeof pub) == 0);
    }
    scan_agrees(data, size, parsed, pub);
    if (enigma_pubkey_parse_hex(pub, (const char *)data, size, NULL) == 0)
        FUZZ_ASSERT(pub[0] == 2 || pub[0] == 3);

    enigma_stealth_meta meta;
    if (enigma_stealth_meta_parse(&meta, (const char *)data, size, NULL) == 0) {
        char text[ENIGMA_META_ADDRESS_TEXT_MAX];
        size_t len = enigma_stealth_meta_format(text, &meta);
        enigma_stealth_meta back;
        FUZZ_ASSERT(enigma_stealth_meta_parse(&back, text, len, NULL) == 0);
        FUZZ_ASSERT(memcmp(&back, &meta, sizeof meta) == 0);
    }
    return 0;
}
