/* Fuzzes envelope parsing and opening. Inputs asking for an expensive argon2id are only
 * inspected: the fuzzer is here to explore the parser, not to run the KDF at 4 GiB. */
#include <string.h>

#include "core/crypto/seal.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t master[ENIGMA_MASTER_KEY_BYTES] = {1, 2, 3};
    static const uint8_t address[ENIGMA_ADDRESS_BYTES] = {0xaa};
    enigma_seal_kdf kdf;
    uint32_t ops;
    uint64_t mem;
    uint8_t out[ENIGMA_SEAL_SECRET_MAX];
    size_t got;

    if (enigma_seal_inspect(&kdf, &ops, &mem, (const char *)data, size, NULL) < 0)
        return 0;
    enigma_seal_key key = {
        .kdf = kdf, .passphrase = "pw", .passphrase_len = 2, .master_key = master
    };
    if (kdf == ENIGMA_SEAL_ARGON2ID && (ops > 1 || mem > 64 * 1024))
        return 0;
    if (enigma_seal_open(out, sizeof out, &got, (const char *)data, size, &key, address, 1, NULL) ==
        0)
        FUZZ_ASSERT(got <= sizeof out);
    return 0;
}
