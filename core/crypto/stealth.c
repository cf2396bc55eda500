#include "core/crypto/stealth.h"

#include <pthread.h>
#include <secp256k1.h>
#include <string.h>
#include <unistd.h>

#include "core/crypto/crypto.h"

#define META_PREFIX_LEN (sizeof ENIGMA_META_ADDRESS_PREFIX - 1)
#define SCAN_MAX_THREADS 64
/* Below this many announcements a thread costs more than it saves. */
#define SCAN_INLINE_BELOW 256

/* The shared context, or NULL (ESODIUM set) if the libraries failed. */
static const secp256k1_context *secp_ctx(enigma_error *err)
{
    if (enigma_crypto_init(err) < 0)
        return NULL;
    return (const secp256k1_context *)enigma_crypto_secp();
}

/* Parses a compressed 33-byte key; `what` names it in the EKEY message. */
static int parse33(const secp256k1_context *ctx, secp256k1_pubkey *pk,
                   const uint8_t in[ENIGMA_PUBKEY_BYTES], const char *what, enigma_error *err)
{
    if (!secp256k1_ec_pubkey_parse(ctx, pk, in, ENIGMA_PUBKEY_BYTES))
        return enigma_error_set(err, "EKEY", "the %s is not a point on secp256k1", what);
    return 0;
}

/*
 * s_h = keccak256(compressed33(scalar * point)). Fails only if `scalar` is
 * not a valid private key (tweak_mul rejects 0 and >= n).
 */
static int shared_hash(const secp256k1_context *ctx, uint8_t s_h[ENIGMA_KECCAK256_BYTES],
                       const secp256k1_pubkey *point, const uint8_t scalar[ENIGMA_SECKEY_BYTES])
{
    secp256k1_pubkey shared = *point;
    uint8_t ser[ENIGMA_PUBKEY_BYTES];
    size_t len = sizeof ser;
    int rc = -1;

    if (!secp256k1_ec_pubkey_tweak_mul(ctx, &shared, scalar))
        goto done;
    if (!secp256k1_ec_pubkey_serialize(ctx, ser, &len, &shared, SECP256K1_EC_COMPRESSED))
        goto done;
    enigma_keccak256(s_h, ser, sizeof ser);
    rc = 0;
done:
    /* The shared point is as secret as the viewing key it unlocks. */
    enigma_crypto_wipe(&shared, sizeof shared);
    enigma_crypto_wipe(ser, sizeof ser);
    return rc;
}

/* address(P_spend + s_h * G). Fails only for s_h >= n or a zero point,
 * both negligible. */
static int stealth_address(const secp256k1_context *ctx, uint8_t addr[ENIGMA_ADDRESS_BYTES],
                           const secp256k1_pubkey *spend, const uint8_t s_h[ENIGMA_KECCAK256_BYTES])
{
    secp256k1_pubkey p = *spend;
    uint8_t ser[65];
    size_t len = sizeof ser;

    if (!secp256k1_ec_pubkey_tweak_add(ctx, &p, s_h))
        return -1;
    if (!secp256k1_ec_pubkey_serialize(ctx, ser, &len, &p, SECP256K1_EC_UNCOMPRESSED))
        return -1;
    enigma_address_from_xy(addr, ser + 1);
    return 0;
}

static int serialize33(const secp256k1_context *ctx, uint8_t out[ENIGMA_PUBKEY_BYTES],
                       const secp256k1_pubkey *pk)
{
    size_t len = ENIGMA_PUBKEY_BYTES;
    return secp256k1_ec_pubkey_serialize(ctx, out, &len, pk, SECP256K1_EC_COMPRESSED) ? 0 : -1;
}

int enigma_seckey_verify(const uint8_t seckey[ENIGMA_SECKEY_BYTES], enigma_error *err)
{
    uint8_t any = 0;

    /* The static context suffices: verifying a scalar needs no tables. */
    if (secp256k1_ec_seckey_verify(secp256k1_context_static, seckey))
        return 0;
    for (size_t i = 0; i < ENIGMA_SECKEY_BYTES; i++)
        any |= seckey[i];
    if (!any)
        return enigma_error_set(err, "EKEY", "not a private key: it is zero");
    return enigma_error_set(err, "EKEY",
                            "not a private key: it is not below the secp256k1 group order n");
}

void enigma_seckey_generate(uint8_t seckey[ENIGMA_SECKEY_BYTES])
{
    /* Out of range with probability ~2^-128; redraw rather than reduce. */
    do {
        enigma_crypto_random(seckey, ENIGMA_SECKEY_BYTES);
    } while (!secp256k1_ec_seckey_verify(secp256k1_context_static, seckey));
}

int enigma_pubkey_from_seckey(uint8_t pub[ENIGMA_PUBKEY_BYTES],
                              const uint8_t seckey[ENIGMA_SECKEY_BYTES], enigma_error *err)
{
    const secp256k1_context *ctx = secp_ctx(err);
    secp256k1_pubkey pk;

    if (ctx == NULL)
        return -1;
    if (enigma_seckey_verify(seckey, err) < 0)
        return -1;
    if (!secp256k1_ec_pubkey_create(ctx, &pk, seckey) || serialize33(ctx, pub, &pk) < 0)
        return enigma_error_set(err, "EKEY", "not a private key");
    return 0;
}

/*
 * The one rule for a public key's encoding, shared by every key input
 * (enigma_pubkey_parse, and so check, and the scan's ephemeral keys): 33
 * bytes with 0x02/0x03 or 65 with 0x04, on the curve. `err` may be NULL.
 */
static int parse_any(const secp256k1_context *ctx, secp256k1_pubkey *pk, const uint8_t *in,
                     size_t n, enigma_error *err)
{
    if (n != 33 && n != 65)
        return enigma_error_set(err, "ELENGTH",
                                "a public key is 33 bytes (compressed) or 65 (uncompressed), "
                                "not %zu",
                                n);
    /* libsecp256k1 also takes the 65-byte "hybrid" 0x06/0x07 form; nothing
     * in Ethereum uses it, so only 0x04 is accepted at 65 bytes. */
    if (n == 33 && in[0] != 0x02 && in[0] != 0x03)
        return enigma_error_set(err, "EKEY",
                                "not a public key: a 33-byte key starts with 0x02 or 0x03, "
                                "not 0x%02x",
                                in[0]);
    if (n == 65 && in[0] != 0x04)
        return enigma_error_set(err, "EKEY",
                                "not a public key: a 65-byte key starts with 0x04, not 0x%02x",
                                in[0]);
    if (!secp256k1_ec_pubkey_parse(ctx, pk, in, n))
        return enigma_error_set(err, "EKEY", "not a public key: not a point on secp256k1");
    return 0;
}

int enigma_pubkey_parse(uint8_t pub[ENIGMA_PUBKEY_BYTES], const uint8_t *in, size_t n,
                        enigma_error *err)
{
    const secp256k1_context *ctx = secp_ctx(err);
    secp256k1_pubkey pk;

    if (ctx == NULL)
        return -1;
    if (parse_any(ctx, &pk, in, n, err) < 0)
        return -1;
    return serialize33(ctx, pub, &pk) == 0
               ? 0
               : enigma_error_set(err, "EKEY", "not a public key: not a point on secp256k1");
}

int enigma_pubkey_uncompress(uint8_t out[ENIGMA_PUBKEY_MAX_BYTES],
                             const uint8_t pub[ENIGMA_PUBKEY_BYTES], enigma_error *err)
{
    const secp256k1_context *ctx = secp_ctx(err);
    secp256k1_pubkey pk;
    size_t len = ENIGMA_PUBKEY_MAX_BYTES;

    if (ctx == NULL)
        return -1;
    if (parse33(ctx, &pk, pub, "public key", err) < 0)
        return -1;
    if (!secp256k1_ec_pubkey_serialize(ctx, out, &len, &pk, SECP256K1_EC_UNCOMPRESSED))
        return enigma_error_set(err, "EKEY", "the public key is not a point on secp256k1");
    return 0;
}

int enigma_pubkey_parse_hex(uint8_t pub[ENIGMA_PUBKEY_BYTES], const char *hex, size_t len,
                            enigma_error *err)
{
    uint8_t buf[65];
    size_t n;

    if (enigma_hex_decode(buf, sizeof buf, &n, hex, len, err) < 0)
        return -1;
    return enigma_pubkey_parse(pub, buf, n, err);
}

int enigma_pubkey_address(uint8_t address[ENIGMA_ADDRESS_BYTES],
                          const uint8_t pub[ENIGMA_PUBKEY_BYTES], enigma_error *err)
{
    const secp256k1_context *ctx = secp_ctx(err);
    secp256k1_pubkey pk;
    uint8_t ser[65];
    size_t len = sizeof ser;

    if (ctx == NULL)
        return -1;
    if (parse33(ctx, &pk, pub, "public key", err) < 0)
        return -1;
    if (!secp256k1_ec_pubkey_serialize(ctx, ser, &len, &pk, SECP256K1_EC_UNCOMPRESSED))
        return enigma_error_set(err, "EKEY", "the public key is not a point on secp256k1");
    enigma_address_from_xy(address, ser + 1);
    return 0;
}

static int is_hex_digit(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int enigma_stealth_meta_parse(enigma_stealth_meta *meta, const char *text, size_t len,
                              enigma_error *err)
{
    const secp256k1_context *ctx = secp_ctx(err);
    uint8_t keys[2 * ENIGMA_PUBKEY_BYTES];
    secp256k1_pubkey pk;
    size_t digits, nkeys;

    if (ctx == NULL)
        return -1;
    if (len < META_PREFIX_LEN || memcmp(text, ENIGMA_META_ADDRESS_PREFIX, META_PREFIX_LEN) != 0)
        return enigma_error_set(err, "EFORMAT",
                                "not a stealth meta-address: it must start with \"%s\"",
                                ENIGMA_META_ADDRESS_PREFIX);
    /* A bad character is the likelier typo: name it before the length. */
    for (size_t i = META_PREFIX_LEN; i < len; i++) {
        if (!is_hex_digit(text[i]))
            return (unsigned char)text[i] >= 0x20 && (unsigned char)text[i] < 0x7f
                       ? enigma_error_set(err, "EFORMAT",
                                          "not a stealth meta-address: character %zu is '%c', "
                                          "not a hex digit",
                                          i + 1, text[i])
                       : enigma_error_set(err, "EFORMAT",
                                          "not a stealth meta-address: character %zu is byte "
                                          "0x%02x, not a hex digit",
                                          i + 1, (unsigned char)text[i]);
    }
    digits = len - META_PREFIX_LEN;
    if (digits != 4 * ENIGMA_PUBKEY_BYTES && digits != 2 * ENIGMA_PUBKEY_BYTES)
        return enigma_error_set(err, "EFORMAT",
                                "not a stealth meta-address: %zu hex digits after \"%s\"; "
                                "132 (spending and viewing keys) or 66 (one key) expected",
                                digits, ENIGMA_META_ADDRESS_PREFIX);
    nkeys = digits / (2 * ENIGMA_PUBKEY_BYTES);
    if (enigma_hex_decode_exact(keys, nkeys * ENIGMA_PUBKEY_BYTES, text + META_PREFIX_LEN, digits,
                                err) < 0)
        return -1; /* unreachable: the digits were checked above */
    if (!secp256k1_ec_pubkey_parse(ctx, &pk, keys, ENIGMA_PUBKEY_BYTES))
        return enigma_error_set(err, "EFORMAT",
                                "not a stealth meta-address: the %s key is not a compressed "
                                "point on secp256k1",
                                nkeys == 2 ? "spending" : "spending and viewing");
    if (nkeys == 2 &&
        !secp256k1_ec_pubkey_parse(ctx, &pk, keys + ENIGMA_PUBKEY_BYTES, ENIGMA_PUBKEY_BYTES))
        return enigma_error_set(err, "EFORMAT",
                                "not a stealth meta-address: the viewing key is not a compressed "
                                "point on secp256k1");
    memcpy(meta->spending_pub, keys, ENIGMA_PUBKEY_BYTES);
    memcpy(meta->viewing_pub, keys + (nkeys - 1) * ENIGMA_PUBKEY_BYTES, ENIGMA_PUBKEY_BYTES);
    return 0;
}

size_t enigma_stealth_meta_format(char out[ENIGMA_META_ADDRESS_TEXT_MAX],
                                  const enigma_stealth_meta *meta)
{
    size_t n = META_PREFIX_LEN;

    memcpy(out, ENIGMA_META_ADDRESS_PREFIX, META_PREFIX_LEN);
    n += enigma_hex_encode(out + n, meta->spending_pub, ENIGMA_PUBKEY_BYTES, 0);
    n += enigma_hex_encode(out + n, meta->viewing_pub, ENIGMA_PUBKEY_BYTES, 0);
    return n;
}

int enigma_stealth_meta_from_keys(enigma_stealth_meta *meta,
                                  const uint8_t spending_seckey[ENIGMA_SECKEY_BYTES],
                                  const uint8_t viewing_seckey[ENIGMA_SECKEY_BYTES],
                                  enigma_error *err)
{
    enigma_stealth_meta m;

    if (enigma_pubkey_from_seckey(m.spending_pub, spending_seckey, err) < 0) {
        enigma_error_append(err, " (the spending private key)");
        return -1;
    }
    if (enigma_pubkey_from_seckey(m.viewing_pub, viewing_seckey, err) < 0) {
        enigma_error_append(err, " (the viewing private key)");
        return -1;
    }
    *meta = m;
    return 0;
}

int enigma_stealth_generate(enigma_stealth_payment *out, const enigma_stealth_meta *meta,
                            const uint8_t *ephemeral_seckey, enigma_error *err)
{
    const secp256k1_context *ctx = secp_ctx(err);
    secp256k1_pubkey spend, view, eph;
    uint8_t e[ENIGMA_SECKEY_BYTES], s_h[ENIGMA_KECCAK256_BYTES];
    enigma_stealth_payment p;
    int rc = -1;

    if (ctx == NULL)
        return -1;
    if (parse33(ctx, &spend, meta->spending_pub, "spending public key", err) < 0 ||
        parse33(ctx, &view, meta->viewing_pub, "viewing public key", err) < 0)
        return -1;
    if (ephemeral_seckey == NULL) {
        enigma_seckey_generate(e);
    } else {
        memcpy(e, ephemeral_seckey, sizeof e);
        if (enigma_seckey_verify(e, err) < 0) {
            enigma_error_append(err, " (the ephemeral private key)");
            goto done;
        }
    }
    if (!secp256k1_ec_pubkey_create(ctx, &eph, e) || serialize33(ctx, p.ephemeral_pub, &eph) < 0) {
        enigma_error_set(err, "EKEY", "the ephemeral private key is not valid");
        goto done;
    }
    if (shared_hash(ctx, s_h, &view, e) < 0 || stealth_address(ctx, p.address, &spend, s_h) < 0) {
        enigma_error_set(err, "EKEY", "no stealth address for this ephemeral key; draw another");
        goto done;
    }
    p.view_tag = s_h[0];
    *out = p;
    rc = 0;
done:
    enigma_crypto_wipe(e, sizeof e);
    enigma_crypto_wipe(s_h, sizeof s_h);
    return rc;
}

/*
 * The check with both public keys already parsed: 1 mine, 0 not, -1 if
 * the viewing key is invalid or (negligibly) s_h is not a scalar. The
 * caller wipes `s_h`, which is left holding the hashed shared secret.
 */
static int check_parsed(const secp256k1_context *ctx, uint8_t s_h[ENIGMA_KECCAK256_BYTES],
                        const uint8_t address[ENIGMA_ADDRESS_BYTES], const secp256k1_pubkey *eph,
                        const uint8_t viewing_seckey[ENIGMA_SECKEY_BYTES],
                        const secp256k1_pubkey *spend, int view_tag)
{
    uint8_t mine[ENIGMA_ADDRESS_BYTES];

    if (shared_hash(ctx, s_h, eph, viewing_seckey) < 0)
        return -1;
    if (view_tag >= 0 && s_h[0] != view_tag)
        return 0; /* the fast path: 255 of 256 foreign announcements end here */
    if (stealth_address(ctx, mine, spend, s_h) < 0)
        return -1;
    return enigma_crypto_equal(mine, address, ENIGMA_ADDRESS_BYTES);
}

int enigma_stealth_check(int *match, const uint8_t address[ENIGMA_ADDRESS_BYTES],
                         const uint8_t ephemeral_pub[ENIGMA_PUBKEY_BYTES],
                         const uint8_t viewing_seckey[ENIGMA_SECKEY_BYTES],
                         const uint8_t spending_pub[ENIGMA_PUBKEY_BYTES], int view_tag,
                         enigma_error *err)
{
    const secp256k1_context *ctx = secp_ctx(err);
    secp256k1_pubkey eph, spend;
    uint8_t s_h[ENIGMA_KECCAK256_BYTES];
    int rc;

    if (ctx == NULL)
        return -1;
    /* The spending key is checked even when the fast path would not need it,
     * so a bad key fails every call, not just 1 in 256. */
    if (parse33(ctx, &eph, ephemeral_pub, "ephemeral public key", err) < 0 ||
        parse33(ctx, &spend, spending_pub, "spending public key", err) < 0)
        return -1;
    rc = check_parsed(ctx, s_h, address, &eph, viewing_seckey, &spend, view_tag);
    enigma_crypto_wipe(s_h, sizeof s_h);
    if (rc < 0) {
        /* tweak_mul rejected the viewing key; say why. */
        if (enigma_seckey_verify(viewing_seckey, err) < 0) {
            enigma_error_append(err, " (the viewing private key)");
            return -1;
        }
        return enigma_error_set(err, "EKEY", "the shared secret is not a valid scalar");
    }
    *match = rc;
    return 0;
}

int enigma_stealth_private_key(uint8_t out[ENIGMA_SECKEY_BYTES],
                               const uint8_t ephemeral_pub[ENIGMA_PUBKEY_BYTES],
                               const uint8_t viewing_seckey[ENIGMA_SECKEY_BYTES],
                               const uint8_t spending_seckey[ENIGMA_SECKEY_BYTES],
                               enigma_error *err)
{
    const secp256k1_context *ctx = secp_ctx(err);
    secp256k1_pubkey eph;
    uint8_t s_h[ENIGMA_KECCAK256_BYTES], k[ENIGMA_SECKEY_BYTES];
    int rc = -1;

    if (ctx == NULL)
        return -1;
    if (parse33(ctx, &eph, ephemeral_pub, "ephemeral public key", err) < 0)
        return -1;
    if (enigma_seckey_verify(viewing_seckey, err) < 0) {
        enigma_error_append(err, " (the viewing private key)");
        return -1;
    }
    if (enigma_seckey_verify(spending_seckey, err) < 0) {
        enigma_error_append(err, " (the spending private key)");
        return -1;
    }
    memcpy(k, spending_seckey, sizeof k);
    if (shared_hash(ctx, s_h, &eph, viewing_seckey) < 0) {
        enigma_error_set(err, "EKEY", "not a private key (the viewing private key)");
        goto done;
    }
    if (!secp256k1_ec_seckey_tweak_add(ctx, k, s_h)) {
        enigma_error_set(err, "EKEY", "the stealth private key would be zero or s_h >= n");
        goto done;
    }
    memcpy(out, k, sizeof k);
    rc = 0;
done:
    enigma_crypto_wipe(k, sizeof k);
    enigma_crypto_wipe(s_h, sizeof s_h);
    return rc;
}

/* One contiguous share of a scan. Everything but `list[...].match` and
 * `matches` is read-only and shared between the threads. */
typedef struct scan_job {
    const secp256k1_context *ctx;
    enigma_stealth_announcement *list;
    size_t n;
    const uint8_t *viewing_seckey;
    const secp256k1_pubkey *spend;
    long matches;
} scan_job;

static void scan_range(scan_job *job)
{
    uint8_t s_h[ENIGMA_KECCAK256_BYTES];
    secp256k1_pubkey eph;
    long matches = 0;

    for (size_t i = 0; i < job->n; i++) {
        enigma_stealth_announcement *a = &job->list[i];
        if (a->view_tag < -1 || a->view_tag > 255 ||
            parse_any(job->ctx, &eph, a->ephemeral_pub, a->ephemeral_len, NULL) < 0) {
            a->match = -1;
            continue;
        }
        a->match = check_parsed(job->ctx, s_h, a->address, &eph, job->viewing_seckey, job->spend,
                                a->view_tag);
        if (a->match == 1)
            matches++;
    }
    enigma_crypto_wipe(s_h, sizeof s_h);
    job->matches = matches;
}

static void *scan_thread(void *arg)
{
    scan_range(arg);
    return NULL;
}

long enigma_stealth_scan(enigma_stealth_announcement *list, size_t n,
                         const uint8_t viewing_seckey[ENIGMA_SECKEY_BYTES],
                         const uint8_t spending_pub[ENIGMA_PUBKEY_BYTES], int threads,
                         enigma_error *err)
{
    const secp256k1_context *ctx = secp_ctx(err);
    scan_job jobs[SCAN_MAX_THREADS];
    pthread_t tids[SCAN_MAX_THREADS];
    int started[SCAN_MAX_THREADS];
    secp256k1_pubkey spend;
    size_t nthreads, off = 0;
    long total = 0;

    if (ctx == NULL)
        return -1;
    if (enigma_seckey_verify(viewing_seckey, err) < 0) {
        enigma_error_append(err, " (the viewing private key)");
        return -1;
    }
    if (parse33(ctx, &spend, spending_pub, "spending public key", err) < 0)
        return -1;
    if (n == 0)
        return 0;

    if (threads <= 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        threads = cpus > 0 ? (cpus > SCAN_MAX_THREADS ? SCAN_MAX_THREADS : (int)cpus) : 1;
    }
    nthreads = threads > SCAN_MAX_THREADS ? SCAN_MAX_THREADS : (size_t)threads;
    if (nthreads > n)
        nthreads = n;
    if (n < SCAN_INLINE_BELOW)
        nthreads = 1;

    for (size_t t = 0; t < nthreads; t++) {
        size_t share = n / nthreads + (t < n % nthreads ? 1 : 0);
        jobs[t] = (scan_job){ctx, list + off, share, viewing_seckey, &spend, 0};
        off += share;
        started[t] = 0;
    }
    /* The calling thread takes the last share itself; a thread that cannot
     * be created has its share run here too, so the scan never fails for
     * want of threads. */
    for (size_t t = 0; t + 1 < nthreads; t++)
        started[t] = pthread_create(&tids[t], NULL, scan_thread, &jobs[t]) == 0;
    scan_range(&jobs[nthreads - 1]);
    for (size_t t = 0; t + 1 < nthreads; t++) {
        if (started[t])
            (void)pthread_join(tids[t], NULL);
        else
            scan_range(&jobs[t]);
    }
    for (size_t t = 0; t < nthreads; t++)
        total += jobs[t].matches;
    return total;
}
