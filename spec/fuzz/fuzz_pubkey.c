/* Fuzzes public-key and meta-address parsing: raw bytes, hex text and "st:eth:0x" text. */
#include <string.h>

#include "core/crypto/stealth.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t pub[ENIGMA_PUBKEY_BYTES];
    if (enigma_pubkey_parse(pub, data, size, NULL) == 0) {
        uint8_t again[ENIGMA_PUBKEY_BYTES];
        FUZZ_ASSERT(enigma_pubkey_parse(again, pub, sizeof pub, NULL) == 0);
        FUZZ_ASSERT(memcmp(again, pub, sizeof pub) == 0);
    }
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
