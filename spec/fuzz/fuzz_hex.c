/* Fuzzes the hex and address parsers: never crash, and what parses round-trips. */
#include <stdlib.h>
#include <string.h>

#include "core/crypto/crypto.h"
#include "core/crypto/keccak.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t out[64];
    size_t got;
    char text[2 * sizeof out + 3];

    if (enigma_hex_decode(out, sizeof out, &got, (const char *)data, size, NULL) == 0) {
        enigma_hex_encode(text, out, got, 1);
        uint8_t again[64];
        size_t got2;
        FUZZ_ASSERT(enigma_hex_decode(again, sizeof again, &got2, text, strlen(text), NULL) == 0);
        FUZZ_ASSERT(got2 == got && memcmp(again, out, got) == 0);
    }
    uint8_t address[ENIGMA_ADDRESS_BYTES];
    if (enigma_address_parse(address, (const char *)data, size, NULL) == 0) {
        char formatted[ENIGMA_ADDRESS_TEXT_MAX];
        enigma_address_format(formatted, address);
        uint8_t back[ENIGMA_ADDRESS_BYTES];
        FUZZ_ASSERT(enigma_address_parse(back, formatted, strlen(formatted), NULL) == 0);
        FUZZ_ASSERT(memcmp(back, address, sizeof back) == 0);
    }
    return 0;
}
