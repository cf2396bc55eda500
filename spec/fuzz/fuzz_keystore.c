/* Fuzzes keystore v3 import. Files asking for a costly KDF are skipped before decrypting (the
 * parser's own bounds still allow up to 1 GiB of scrypt, a lifetime in fuzzing terms). */
#include <jansson.h>
#include <string.h>

#include "core/crypto/keystore.h"
#include "fuzz.h"

static int costly(const uint8_t *data, size_t size)
{
    json_t *doc = json_loadb((const char *)data, size, 0, NULL);
    int expensive = 0;
    if (doc == NULL)
        return 0;
    json_t *crypto = json_object_get(doc, "crypto");
    if (crypto == NULL)
        crypto = json_object_get(doc, "Crypto");
    json_t *params = json_object_get(crypto, "kdfparams");
    json_int_t n = json_integer_value(json_object_get(params, "n"));
    json_int_t r = json_integer_value(json_object_get(params, "r"));
    json_int_t p = json_integer_value(json_object_get(params, "p"));
    json_int_t c = json_integer_value(json_object_get(params, "c"));
    expensive = n > 1024 || r > 8 || p > 2 || c > 2000;
    json_decref(doc);
    return expensive;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t key[32];
    if (costly(data, size))
        return 0;
    if (enigma_keystore_decrypt(key, (const char *)data, size, "pw", 2, NULL) == 0)
        return 0; /* a key came out: nothing more to check without its password */
    return 0;
}
