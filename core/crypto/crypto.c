#include "core/crypto/crypto.h"

#include <pthread.h>
#include <secp256k1.h>
#include <sodium.h>

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static secp256k1_context *secp;
static int init_failed;

static void init_all(void)
{
    if (sodium_init() < 0) {
        init_failed = 1;
        return;
    }
    secp = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (secp == NULL) {
        init_failed = 1;
        return;
    }
    /* Blinding for the context's own signing/keygen tables: side-channel
     * hardening that libsecp256k1 recommends for every context. */
    unsigned char seed[32];
    randombytes_buf(seed, sizeof seed);
    if (!secp256k1_context_randomize(secp, seed))
        init_failed = 1;
    sodium_memzero(seed, sizeof seed);
}

int enigma_crypto_init(enigma_error *err)
{
    pthread_once(&init_once, init_all);
    if (init_failed)
        return enigma_error_set(err, "ESODIUM", "the crypto libraries failed to initialise");
    return 0;
}

const void *enigma_crypto_secp(void)
{
    return enigma_crypto_init(NULL) == 0 ? secp : NULL;
}

void enigma_crypto_random(void *buf, size_t n)
{
    (void)enigma_crypto_init(NULL);
    randombytes_buf(buf, n);
}

int enigma_crypto_equal(const void *a, const void *b, size_t n)
{
    return sodium_memcmp(a, b, n) == 0;
}

size_t enigma_hex_encode(char *out, const uint8_t *in, size_t n, int prefix)
{
    static const char digits[] = "0123456789abcdef";
    char *p = out;
    if (prefix) {
        *p++ = '0';
        *p++ = 'x';
    }
    for (size_t i = 0; i < n; i++) {
        *p++ = digits[in[i] >> 4];
        *p++ = digits[in[i] & 15];
    }
    *p = '\0';
    return (size_t)(p - out);
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int enigma_hex_decode(uint8_t *out, size_t cap, size_t *out_len, const char *hex, size_t len,
                      enigma_error *err)
{
    size_t start = 0;
    if (len >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X'))
        start = 2;
    size_t digits = len - start;
    for (size_t i = start; i < len; i++) {
        if (hex_value(hex[i]) < 0)
            return (unsigned char)hex[i] >= 0x20 && (unsigned char)hex[i] < 0x7f
                       ? enigma_error_set(err, "EHEX", "not hex: character %zu is '%c'", i + 1,
                                          hex[i])
                       : enigma_error_set(err, "EHEX", "not hex: character %zu is byte 0x%02x",
                                          i + 1, (unsigned char)hex[i]);
    }
    if (digits % 2 != 0)
        return enigma_error_set(err, "EHEX", "not hex: an odd number of digits (%zu)", digits);
    if (digits / 2 > cap)
        return enigma_error_set(err, "ELENGTH", "hex too long: %zu bytes, at most %zu expected",
                                digits / 2, cap);
    for (size_t i = 0; i < digits / 2; i++)
        out[i] = (uint8_t)(hex_value(hex[start + 2 * i]) << 4 | hex_value(hex[start + 2 * i + 1]));
    *out_len = digits / 2;
    return 0;
}

int enigma_hex_decode_exact(uint8_t *out, size_t n, const char *hex, size_t len, enigma_error *err)
{
    size_t start = len >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X') ? 2 : 0;
    size_t got;
    if (len - start != 2 * n) {
        /* A bad character is the likelier typo: name it before the length. */
        for (size_t i = start; i < len; i++)
            if (hex_value(hex[i]) < 0)
                return enigma_hex_decode(out, 0, &got, hex, len, err);
        return enigma_error_set(err, "ELENGTH", "wrong length: %zu hex digits, %zu expected",
                                len - start, 2 * n);
    }
    return enigma_hex_decode(out, n, &got, hex, len, err);
}

/*
 * Small secrets (keys, 64 bytes or less) come from slots in guarded slabs:
 * sodium_malloc costs an mmap, two mprotects and an mlock, about 20 µs, which
 * would dominate a 2 µs envelope open. A slab is one sodium_malloc (guard
 * pages, mlock, canary) cut into SLOT-byte slots; a freed slot is wiped and
 * goes on a free list. Slabs are kept until exit. Larger secrets get their own
 * sodium_malloc.
 */
#define SLOT 64
#define SLAB_SLOTS 256
#define MAX_SLABS 1024

typedef union slot {
    union slot *next;
    unsigned char bytes[SLOT];
} slot;

static pthread_mutex_t slab_lock = PTHREAD_MUTEX_INITIALIZER;
static slot *slabs[MAX_SLABS];
static size_t nslabs;
static slot *free_slots;

static int in_slab(const void *p)
{
    for (size_t i = 0; i < nslabs; i++)
        if ((const slot *)p >= slabs[i] && (const slot *)p < slabs[i] + SLAB_SLOTS)
            return 1;
    return 0;
}

void *enigma_secret_alloc(size_t n)
{
    if (enigma_crypto_init(NULL) < 0)
        return NULL;
    if (n > SLOT)
        return sodium_malloc(n);
    pthread_mutex_lock(&slab_lock);
    if (free_slots == NULL && nslabs < MAX_SLABS) {
        slot *slab = sodium_malloc(sizeof(slot) * SLAB_SLOTS);
        if (slab != NULL) {
            slabs[nslabs++] = slab;
            for (size_t i = 0; i < SLAB_SLOTS; i++) {
                slab[i].next = free_slots;
                free_slots = &slab[i];
            }
        }
    }
    slot *s = free_slots;
    if (s != NULL)
        free_slots = s->next;
    pthread_mutex_unlock(&slab_lock);
    if (s != NULL)
        sodium_memzero(s, sizeof *s);
    return s;
}

void enigma_secret_free(void *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&slab_lock);
    if (in_slab(p)) {
        slot *s = p;
        sodium_memzero(s, sizeof *s);
        s->next = free_slots;
        free_slots = s;
        p = NULL;
    }
    pthread_mutex_unlock(&slab_lock);
    if (p != NULL)
        sodium_free(p); /* wipes before unmapping */
}

void enigma_crypto_wipe(void *p, size_t n)
{
    sodium_memzero(p, n);
}
