#include "core/crypto/seal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crypto/crypto.h"

#define SEAL_MAGIC "ESL\x01"
#define SEAL_MAGIC_BYTES 4
#define SEAL_SALT_BYTES 16
#define SEAL_KEYID_BYTES 8
#define SEAL_NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24 */
#define SEAL_TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES      /* 16 */
#define SEAL_KEY_BYTES crypto_aead_xchacha20poly1305_ietf_KEYBYTES    /* 32 */
/* magic, kdf, then the kdf's fields */
#define SEAL_ARGON2_HEADER (SEAL_MAGIC_BYTES + 1 + 4 + 4 + SEAL_SALT_BYTES)
#define SEAL_MASTER_HEADER (SEAL_MAGIC_BYTES + 1 + 8 + SEAL_KEYID_BYTES)
#define SEAL_BIN_MAX \
    (SEAL_ARGON2_HEADER + SEAL_NONCE_BYTES + ENIGMA_SEAL_SECRET_MAX + SEAL_TAG_BYTES)
#define SEAL_AD_MAX (SEAL_ARGON2_HEADER + SEAL_NONCE_BYTES + ENIGMA_ADDRESS_BYTES + 8)
#define SEAL_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

#define SEAL_OPS_MIN 1U
#define SEAL_OPS_MAX 64U
#define SEAL_MEM_KIB_MIN 8U                  /* crypto_pwhash_MEMLIMIT_MIN */
#define SEAL_MEM_KIB_MAX (4U * 1024U * 1024U) /* 4 GiB */

#define SEAL_KDF_CONTEXT "enigmaSL"
static const char personal_mkeyid[crypto_generichash_blake2b_PERSONALBYTES] = "enigma.mkeyid.v1";

/* A decoded envelope: pointers into `bin`. */
typedef struct envelope {
    uint8_t bin[SEAL_BIN_MAX];
    size_t bin_len;
    enigma_seal_kdf kdf;
    uint32_t opslimit, mem_kib;
    const uint8_t *salt, *subkey_id, *key_id;
    size_t header_len; /* up to the nonce */
    const uint8_t *nonce, *ct;
    size_t ct_len; /* with the tag */
} envelope;

static void put_be32(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)(v & 0xff);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)(v & 0xff);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static const char *kdf_name(int kdf)
{
    return kdf == ENIGMA_SEAL_ARGON2ID ? "a passphrase (argon2id)" : "a master key";
}

static int argon2_bounds(uint64_t ops, uint64_t mem_kib, const char *who, enigma_error *err)
{
    if (ops < SEAL_OPS_MIN || ops > SEAL_OPS_MAX || mem_kib < SEAL_MEM_KIB_MIN ||
        mem_kib > SEAL_MEM_KIB_MAX)
        return enigma_error_set(err, "EFORMAT",
                                "%s asks for argon2id opslimit %" PRIu64 " and memlimit %" PRIu64
                                " KiB, beyond "
                                "the limit (opslimit %u..%u, memlimit %u KiB..%u KiB)",
                                who, ops, mem_kib, SEAL_OPS_MIN, SEAL_OPS_MAX, SEAL_MEM_KIB_MIN,
                                SEAL_MEM_KIB_MAX);
    return 0;
}

/* The key's id: public, so a wrong master key can be named as such. */
static void master_key_id(uint8_t id[SEAL_KEYID_BYTES], const uint8_t *master)
{
    uint8_t digest[32];
    (void)crypto_generichash_blake2b_salt_personal(digest, sizeof digest, master,
                                                   ENIGMA_MASTER_KEY_BYTES, NULL, 0, NULL,
                                                   (const unsigned char *)personal_mkeyid);
    memcpy(id, digest, SEAL_KEYID_BYTES);
    enigma_crypto_wipe(digest, sizeof digest);
}

/* Text to fields; checks everything that can be checked without a key. */
static int envelope_decode(envelope *e, const char *text, size_t len, enigma_error *err)
{
    const size_t plen = sizeof ENIGMA_SEAL_PREFIX - 1;
    static const char family[] = "enigma-seal-";

    memset(e, 0, sizeof *e);
    if (enigma_crypto_init(err) < 0)
        return -1;
    if (len < plen || memcmp(text, ENIGMA_SEAL_PREFIX, plen) != 0) {
        size_t flen = sizeof family - 1;
        size_t v = 0; /* the length of a "v<digits>" after the family prefix */
        if (len > flen + 1 && memcmp(text, family, flen) == 0 && text[flen] == 'v')
            for (v = 1; flen + v < len && v < 10 && text[flen + v] >= '0' && text[flen + v] <= '9';)
                v++;
        /* Name another version; "enigma-seal-v1" without its ':' is just wrong. */
        if (v > 1 && !(v == 2 && memcmp(text + flen, "v1", 2) == 0))
            return enigma_error_set(err, "EFORMAT",
                                    "envelope version %.*s is not supported: this build "
                                    "reads " ENIGMA_SEAL_PREFIX,
                                    (int)v, text + flen);
        return enigma_error_set(err, "EFORMAT",
                                "not a sealed envelope: it should start with " ENIGMA_SEAL_PREFIX);
    }
    if (len - plen > sodium_base64_ENCODED_LEN(SEAL_BIN_MAX, SEAL_B64) - 1)
        return enigma_error_set(err, "EFORMAT", "not a sealed envelope: %zu characters is too long",
                                len);
    /* b64_end NULL: the whole text must decode (libsodium also refuses
     * non-zero padding bits, so one envelope has one spelling). */
    if (sodium_base642bin(e->bin, sizeof e->bin, text + plen, len - plen, NULL, &e->bin_len, NULL,
                          SEAL_B64) != 0)
        return enigma_error_set(err, "EFORMAT",
                                "not a sealed envelope: the text after " ENIGMA_SEAL_PREFIX
                                " is not unpadded base64url");

    const uint8_t *b = e->bin;
    if (memcmp(b, SEAL_MAGIC, e->bin_len < 3 ? e->bin_len : 3) != 0)
        return enigma_error_set(err, "EFORMAT", "not a sealed envelope: no ESL magic");
    if (e->bin_len < SEAL_MAGIC_BYTES + 1)
        return enigma_error_set(err, "EFORMAT", "the envelope is truncated (%zu bytes)",
                                e->bin_len);
    if (b[3] != 0x01)
        return enigma_error_set(err, "EFORMAT", "envelope version %u is not supported", b[3]);
    if (b[4] == ENIGMA_SEAL_ARGON2ID) {
        e->kdf = ENIGMA_SEAL_ARGON2ID;
        e->header_len = SEAL_ARGON2_HEADER;
    } else if (b[4] == ENIGMA_SEAL_MASTER_KEY) {
        e->kdf = ENIGMA_SEAL_MASTER_KEY;
        e->header_len = SEAL_MASTER_HEADER;
    } else {
        return enigma_error_set(err, "EFORMAT", "envelope has an unknown key derivation (%u)",
                                b[4]);
    }
    if (e->bin_len < e->header_len + SEAL_NONCE_BYTES + SEAL_TAG_BYTES + 1)
        return enigma_error_set(err, "EFORMAT", "the envelope is truncated (%zu bytes)",
                                e->bin_len);
    if (e->kdf == ENIGMA_SEAL_ARGON2ID) {
        e->opslimit = get_be32(b + 5);
        e->mem_kib = get_be32(b + 9);
        e->salt = b + 13;
        /* Before any KDF runs: a hostile header must not buy memory or time. */
        if (argon2_bounds(e->opslimit, e->mem_kib, "the envelope", err) < 0)
            return -1;
    } else {
        e->subkey_id = b + 5;
        e->key_id = b + 13;
    }
    e->nonce = b + e->header_len;
    e->ct = e->nonce + SEAL_NONCE_BYTES;
    e->ct_len = e->bin_len - e->header_len - SEAL_NONCE_BYTES;
    /* bin is sized for the argon2id header; a master envelope's shorter
     * header leaves room for a few bytes more than the maximum. */
    if (e->ct_len - SEAL_TAG_BYTES > ENIGMA_SEAL_SECRET_MAX)
        return enigma_error_set(err, "EFORMAT", "the envelope holds more than %d bytes",
                                ENIGMA_SEAL_SECRET_MAX);
    return 0;
}

/* AD = header through the nonce || address || chain id. */
static size_t build_ad(uint8_t ad[SEAL_AD_MAX], const uint8_t *bin, size_t header_len,
                       const uint8_t address[ENIGMA_ADDRESS_BYTES], uint64_t chain_id)
{
    size_t n = header_len + SEAL_NONCE_BYTES;
    memcpy(ad, bin, n);
    memcpy(ad + n, address, ENIGMA_ADDRESS_BYTES);
    n += ENIGMA_ADDRESS_BYTES;
    put_be64(ad + n, chain_id);
    return n + 8;
}

static int key_check(const enigma_seal_key *key, enigma_error *err)
{
    if (key == NULL)
        return enigma_error_set(err, "EINVAL", "no sealing key given");
    if (key->kdf == ENIGMA_SEAL_ARGON2ID) {
        if (key->passphrase == NULL && key->passphrase_len != 0)
            return enigma_error_set(err, "EINVAL", "no passphrase given");
        return 0;
    }
    if (key->kdf == ENIGMA_SEAL_MASTER_KEY) {
        if (key->master_key == NULL)
            return enigma_error_set(err, "EINVAL", "no master key given");
        return 0;
    }
    return enigma_error_set(err, "EINVAL", "unknown sealing key kind %d", (int)key->kdf);
}

/* Derives the AEAD key for envelope `e` into guarded `out`. */
static int derive(uint8_t out[SEAL_KEY_BYTES], const envelope *e, const enigma_seal_key *key,
                  enigma_error *err)
{
    if (e->kdf == ENIGMA_SEAL_ARGON2ID) {
        /* libsodium uses memlimit / 1024 KiB, so whole KiB lose nothing. */
        if (crypto_pwhash(out, SEAL_KEY_BYTES, key->passphrase != NULL ? key->passphrase : "",
                          key->passphrase_len, e->salt, e->opslimit, (size_t)e->mem_kib * 1024U,
                          crypto_pwhash_ALG_ARGON2ID13) != 0)
            return enigma_error_set(err, "ENOMEM", "argon2id could not get its %u KiB of memory",
                                    e->mem_kib);
        return 0;
    }
    if (crypto_kdf_derive_from_key(out, SEAL_KEY_BYTES, get_be64(e->subkey_id), SEAL_KDF_CONTEXT,
                                   key->master_key) != 0)
        return enigma_error_set(err, "ESODIUM", "crypto_kdf_derive_from_key failed");
    return 0;
}

int enigma_seal(char **out, const uint8_t *secret, size_t n, const enigma_seal_key *key,
                const uint8_t address[ENIGMA_ADDRESS_BYTES], uint64_t chain_id, enigma_error *err)
{
    envelope e;
    uint8_t ad[SEAL_AD_MAX];
    /* On the stack and wiped, not sodium_malloc'd: a guarded allocation
     * costs ~40 us (mmap, mprotect, mlock), 25x the rest of an open, and
     * the key lives only for this call. */
    uint8_t k[SEAL_KEY_BYTES];
    char *text = NULL;
    size_t ad_len, plen = sizeof ENIGMA_SEAL_PREFIX - 1, b64;
    unsigned long long ct_len;
    int rc = -1;

    *out = NULL;
    memset(&e, 0, sizeof e);
    if (enigma_crypto_init(err) < 0 || key_check(key, err) < 0)
        return -1;
    if (n < 1 || n > ENIGMA_SEAL_SECRET_MAX)
        return enigma_error_set(err, "ELENGTH", "can seal 1 to %d bytes, not %zu",
                                ENIGMA_SEAL_SECRET_MAX, n);

    uint8_t *b = e.bin;
    memcpy(b, SEAL_MAGIC, SEAL_MAGIC_BYTES);
    b[4] = (uint8_t)key->kdf;
    e.kdf = key->kdf;
    if (key->kdf == ENIGMA_SEAL_ARGON2ID) {
        if (key->passphrase_len == 0)
            return enigma_error_set(err, "EINVAL", "refusing to seal with an empty passphrase");
        uint64_t ops = key->opslimit ? key->opslimit : crypto_pwhash_OPSLIMIT_INTERACTIVE;
        uint64_t mem = key->memlimit ? key->memlimit : crypto_pwhash_MEMLIMIT_INTERACTIVE;
        uint64_t kib = mem / 1024U; /* the header holds whole KiB */
        if (argon2_bounds(ops, kib, "sealing", err) < 0)
            return -1;
        e.opslimit = (uint32_t)ops;
        e.mem_kib = (uint32_t)kib;
        put_be32(b + 5, e.opslimit);
        put_be32(b + 9, e.mem_kib);
        enigma_crypto_random(b + 13, SEAL_SALT_BYTES);
        e.salt = b + 13;
        e.header_len = SEAL_ARGON2_HEADER;
    } else {
        enigma_crypto_random(b + 5, 8);
        master_key_id(b + 13, key->master_key);
        e.subkey_id = b + 5;
        e.header_len = SEAL_MASTER_HEADER;
    }
    enigma_crypto_random(b + e.header_len, SEAL_NONCE_BYTES);
    e.bin_len = e.header_len + SEAL_NONCE_BYTES + n + SEAL_TAG_BYTES;

    if (derive(k, &e, key, err) < 0)
        goto done;
    ad_len = build_ad(ad, b, e.header_len, address, chain_id);
    (void)crypto_aead_xchacha20poly1305_ietf_encrypt(b + e.header_len + SEAL_NONCE_BYTES, &ct_len,
                                                     secret, n, ad, ad_len, NULL, b + e.header_len,
                                                     k);

    b64 = sodium_base64_ENCODED_LEN(e.bin_len, SEAL_B64);
    text = malloc(plen + b64);
    if (text == NULL) {
        enigma_error_set(err, "ENOMEM", "out of memory for the envelope");
        goto done;
    }
    memcpy(text, ENIGMA_SEAL_PREFIX, plen);
    sodium_bin2base64(text + plen, b64, b, e.bin_len, SEAL_B64);
    *out = text;
    rc = 0;

done:
    enigma_crypto_wipe(k, sizeof k);
    /* Only ciphertext is left in `e`, but wipe it anyway: cheap, and the
     * rule is simpler than the argument. */
    enigma_crypto_wipe(&e, sizeof e);
    return rc;
}

int enigma_seal_open(uint8_t *out, size_t cap, size_t *out_len, const char *text, size_t len,
                     const enigma_seal_key *key, const uint8_t address[ENIGMA_ADDRESS_BYTES],
                     uint64_t chain_id, enigma_error *err)
{
    envelope e;
    uint8_t ad[SEAL_AD_MAX];
    uint8_t k[SEAL_KEY_BYTES]; /* stack and wiped, as in enigma_seal */
    size_t n, ad_len;
    unsigned long long m_len;
    int rc = -1;

    *out_len = 0;
    if (envelope_decode(&e, text, len, err) < 0 || key_check(key, err) < 0)
        return -1;
    if ((int)key->kdf != (int)e.kdf)
        return enigma_error_set(err, "EAUTH",
                                "the envelope was sealed with %s but %s was given to open it",
                                kdf_name(e.kdf), kdf_name(key->kdf));
    if (e.kdf == ENIGMA_SEAL_MASTER_KEY) {
        uint8_t id[SEAL_KEYID_BYTES];
        master_key_id(id, key->master_key);
        if (!enigma_crypto_equal(id, e.key_id, SEAL_KEYID_BYTES)) {
            char want[2 * SEAL_KEYID_BYTES + 3], got[2 * SEAL_KEYID_BYTES + 3];
            enigma_hex_encode(want, e.key_id, SEAL_KEYID_BYTES, 0);
            enigma_hex_encode(got, id, SEAL_KEYID_BYTES, 0);
            return enigma_error_set(err, "EAUTH",
                                    "the envelope was sealed with a different master key "
                                    "(key id %s; this key's id is %s)",
                                    want, got);
        }
    }
    n = e.ct_len - SEAL_TAG_BYTES;
    if (n > cap)
        return enigma_error_set(err, "ELENGTH",
                                "the sealed secret is %zu bytes but the buffer holds %zu", n, cap);

    if (derive(k, &e, key, err) < 0)
        goto done;
    ad_len = build_ad(ad, e.bin, e.header_len, address, chain_id);
    if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &m_len, NULL, e.ct, e.ct_len, ad, ad_len,
                                                   e.nonce, k) != 0) {
        enigma_crypto_wipe(out, n);
        enigma_error_set(err, "EAUTH",
                         "cannot open the envelope: wrong passphrase or key, wrong "
                         "address/chain, or it was tampered with");
        goto done;
    }
    *out_len = (size_t)m_len;
    rc = 0;

done:
    enigma_crypto_wipe(k, sizeof k);
    enigma_crypto_wipe(&e, sizeof e);
    return rc;
}

int enigma_seal_inspect(enigma_seal_kdf *kdf, uint32_t *opslimit, uint64_t *memlimit,
                        const char *text, size_t len, enigma_error *err)
{
    envelope e;

    if (envelope_decode(&e, text, len, err) < 0)
        return -1;
    if (kdf != NULL)
        *kdf = e.kdf;
    if (opslimit != NULL)
        *opslimit = e.opslimit; /* 0 for a master-key envelope */
    if (memlimit != NULL)
        *memlimit = (uint64_t)e.mem_kib * 1024U;
    return 0;
}

static int is_hex_digit(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Parses the file's bytes into `key`: 32 raw bytes, or 64 hex digits with
 * an optional 0x and trailing whitespace. Never echoes the content. */
static int master_key_parse(uint8_t key[ENIGMA_MASTER_KEY_BYTES], const uint8_t *buf, size_t n,
                            const char *path, enigma_error *err)
{
    if (n == ENIGMA_MASTER_KEY_BYTES) {
        memcpy(key, buf, n);
        return 0;
    }
    size_t total = n;
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || buf[n - 1] == '\n' ||
                     buf[n - 1] == '\r' || buf[n - 1] == '\v' || buf[n - 1] == '\f'))
        n--;
    size_t start = n >= 2 && buf[0] == '0' && (buf[1] == 'x' || buf[1] == 'X') ? 2 : 0;
    for (size_t i = start; i < n; i++)
        if (!is_hex_digit(buf[i]))
            return enigma_error_set(err, "EKEYFILE",
                                    "master key file %s holds %zu bytes, neither 64 hex "
                                    "digits (byte %zu is not a hex digit) nor exactly 32 raw "
                                    "bytes",
                                    path, total, i + 1);
    if (n - start != 2 * ENIGMA_MASTER_KEY_BYTES)
        return enigma_error_set(err, "EKEYFILE",
                                "master key file %s holds %zu hex digits: 64 (or 32 raw "
                                "bytes) expected",
                                path, n - start);
    size_t got;
    if (enigma_hex_decode(key, ENIGMA_MASTER_KEY_BYTES, &got, (const char *)buf + start, n - start,
                          NULL) < 0)
        return enigma_error_set(err, "EKEYFILE", "master key file %s is not hex", path);
    return 0;
}

int enigma_seal_master_key_load(uint8_t key[ENIGMA_MASTER_KEY_BYTES], const char *path,
                                enigma_error *err)
{
    /* Room for the longest valid form plus one byte, to tell "too long". */
    uint8_t buf[2 + 2 * ENIGMA_MASTER_KEY_BYTES + 64 + 1];
    size_t n = 0;
    struct stat st;
    int fd = -1, rc = -1;

    enigma_crypto_wipe(key, ENIGMA_MASTER_KEY_BYTES);
    if (enigma_crypto_init(err) < 0)
        return -1;
    /* Open, then fstat the open file, so what is checked is what is read;
     * O_NONBLOCK so a FIFO cannot hang us before it is refused. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0)
        return enigma_error_set(err, "EKEYFILE", "cannot open master key file %s: %s", path,
                                strerror(errno));
    if (fstat(fd, &st) != 0) {
        enigma_error_set(err, "EKEYFILE", "cannot stat master key file %s: %s", path,
                         strerror(errno));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        enigma_error_set(err, "EKEYFILE", "master key file %s is not a regular file%s", path,
                         S_ISDIR(st.st_mode) ? " (it is a directory)" : "");
        goto done;
    }
    if ((st.st_mode & 077) != 0) {
        enigma_error_set(err, "EKEYFILE",
                         "master key file %s is %s by group or others (mode %04o): chmod 600 it",
                         path, (st.st_mode & 044) ? "readable" : "writable or executable",
                         (unsigned)(st.st_mode & 07777));
        goto done;
    }
    for (;;) {
        ssize_t r = read(fd, buf + n, sizeof buf - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            enigma_error_set(err, "EKEYFILE", "cannot read master key file %s: %s", path,
                             strerror(errno));
            goto done;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == sizeof buf) {
            enigma_error_set(err, "EKEYFILE",
                             "master key file %s is too long: 64 hex digits or 32 raw bytes "
                             "expected",
                             path);
            goto done;
        }
    }
    if (n == 0) {
        enigma_error_set(err, "EKEYFILE", "master key file %s is empty", path);
        goto done;
    }
    if (master_key_parse(key, buf, n, path, err) < 0)
        goto done;
    if (sodium_is_zero(key, ENIGMA_MASTER_KEY_BYTES)) {
        enigma_error_set(err, "EKEYFILE",
                         "master key file %s holds an all-zero key: generate a random one", path);
        goto done;
    }
    rc = 0;

done:
    enigma_crypto_wipe(buf, sizeof buf);
    if (rc != 0)
        enigma_crypto_wipe(key, ENIGMA_MASTER_KEY_BYTES);
    close(fd);
    return rc;
}
