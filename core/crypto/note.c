#include "core/crypto/note.h"

#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/crypto/crypto.h"

#define NOTE_PREFIX "enigma-note-"
#define NOTE_VERSION "v1"
#define NOTE_PARTS 6 /* version, chain id, token, amount, secret, check */
#define NOTE_CHECK_BYTES 4
#define NOTE_INT_DIGITS_MAX 20  /* NUMERIC(38,18) */
#define NOTE_FRAC_DIGITS_MAX 18
#define NOTE_CHAIN_ID_MAX (UINT64_C(1) << 53) /* what a JSON/Lua number holds exactly */

static const char personal_commit[crypto_generichash_blake2b_PERSONALBYTES] = "enigma.commit.v1";
static const char personal_nullif[crypto_generichash_blake2b_PERSONALBYTES] = "enigma.nullif.v1";
static const char personal_notesum[crypto_generichash_blake2b_PERSONALBYTES] = "enigma.notesum.1";

/* BLAKE2b-256 with a 16-byte personalisation and no key or salt. */
static void blake2b_personal(uint8_t out[32], const void *in, size_t n,
                             const char personal[crypto_generichash_blake2b_PERSONALBYTES])
{
    (void)enigma_crypto_init(NULL);
    /* Cannot fail with these fixed, in-range lengths. */
    (void)crypto_generichash_blake2b_salt_personal(out, 32, in, n, NULL, 0, NULL,
                                                   (const unsigned char *)personal);
}

static void put_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!is_digit(c) && !(c >= 'a' && c <= 'f') && !(c >= 'A' && c <= 'F'))
            return 0;
    }
    return 1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

int enigma_note_amount_canonical(char out[ENIGMA_NOTE_AMOUNT_MAX], const char *text, size_t len,
                                 enigma_error *err)
{
    size_t dot = len; /* position of the '.', or len when there is none */

    out[0] = '\0';
    if (len == 0)
        return enigma_error_set(err, "EFORMAT", "not a valid amount: it is empty");
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (is_digit(c))
            continue;
        if (c == '.') {
            if (dot != len)
                return enigma_error_set(err, "EFORMAT",
                                        "not a valid amount: more than one '.' (character %zu)",
                                        i + 1);
            dot = i;
            continue;
        }
        if (c == '-' || c == '+')
            return enigma_error_set(err, "EFORMAT",
                                    "not a valid amount: a sign is not allowed (character %zu is "
                                    "'%c'); amounts are positive decimals like 1.5",
                                    i + 1, c);
        if (c == 'e' || c == 'E')
            return enigma_error_set(err, "EFORMAT",
                                    "not a valid amount: an exponent is not allowed (character "
                                    "%zu is '%c'); write 100000, not 1e5",
                                    i + 1, c);
        if (is_space(c))
            return enigma_error_set(err, "EFORMAT", "not a valid amount: character %zu is a space",
                                    i + 1);
        if ((unsigned char)c >= 0x20 && (unsigned char)c < 0x7f)
            return enigma_error_set(err, "EFORMAT",
                                    "not a valid amount: character %zu is '%c'; only digits "
                                    "and one '.' are allowed",
                                    i + 1, c);
        return enigma_error_set(err, "EFORMAT",
                                "not a valid amount: character %zu is byte 0x%02x; only digits "
                                "and one '.' are allowed",
                                i + 1, (unsigned char)c);
    }

    size_t int_start = 0, int_end = dot;
    size_t frac_start = dot < len ? dot + 1 : len, frac_end = len;
    if (int_end - int_start == 0 && frac_end - frac_start == 0)
        return enigma_error_set(err, "EFORMAT", "not a valid amount: it has no digits");
    /* One amount, one commitment: drop the zeros that do not change the value. */
    while (int_start < int_end && text[int_start] == '0')
        int_start++;
    while (frac_end > frac_start && text[frac_end - 1] == '0')
        frac_end--;
    size_t int_digits = int_end - int_start, frac_digits = frac_end - frac_start;
    if (int_digits > NOTE_INT_DIGITS_MAX)
        return enigma_error_set(err, "EFORMAT",
                                "not a valid amount: %zu integer digits, at most %d "
                                "(NUMERIC(38,18))",
                                int_digits, NOTE_INT_DIGITS_MAX);
    if (frac_digits > NOTE_FRAC_DIGITS_MAX)
        return enigma_error_set(err, "EFORMAT",
                                "not a valid amount: %zu decimal places, at most %d "
                                "(NUMERIC(38,18))",
                                frac_digits, NOTE_FRAC_DIGITS_MAX);
    if (int_digits == 0 && frac_digits == 0)
        return enigma_error_set(err, "EFORMAT", "not a valid amount: it must be greater than 0");

    size_t o = 0;
    if (int_digits == 0) {
        out[o++] = '0'; /* ".5" and "00.5" both become "0.5" */
    } else {
        memcpy(out + o, text + int_start, int_digits);
        o += int_digits;
    }
    if (frac_digits > 0) {
        out[o++] = '.';
        memcpy(out + o, text + frac_start, frac_digits);
        o += frac_digits;
    }
    out[o] = '\0';
    return 0;
}

static int chain_id_check(uint64_t chain_id, enigma_error *err)
{
    if (chain_id == 0 || chain_id > NOTE_CHAIN_ID_MAX)
        return enigma_error_set(err, "EFORMAT",
                                "chain id %" PRIu64 " is out of range: 1 to 2^53 expected",
                                chain_id);
    return 0;
}

int enigma_note_new(enigma_note *note, const char *amount, size_t amount_len,
                    const uint8_t token[ENIGMA_ADDRESS_BYTES], uint64_t chain_id, enigma_error *err)
{
    enigma_note_wipe(note);
    if (enigma_crypto_init(err) < 0)
        return -1;
    if (chain_id_check(chain_id, err) < 0)
        return -1;
    if (enigma_note_amount_canonical(note->amount, amount, amount_len, err) < 0)
        return -1;
    memcpy(note->token, token, ENIGMA_ADDRESS_BYTES);
    note->chain_id = chain_id;
    enigma_crypto_random(note->nullifier, sizeof note->nullifier);
    enigma_crypto_random(note->secret, sizeof note->secret);
    return 0;
}

/* The amount's length, bounded so a hand-built note without a NUL cannot
 * overrun its array. */
static size_t amount_len(const enigma_note *note)
{
    return strnlen(note->amount, sizeof note->amount - 1);
}

void enigma_note_commitment(const enigma_note *note, uint8_t out[ENIGMA_NOTE_HASH_BYTES])
{
    uint8_t buf[2 * ENIGMA_NOTE_SECRET_BYTES + 8 + ENIGMA_ADDRESS_BYTES + ENIGMA_NOTE_AMOUNT_MAX];
    size_t n = 0, alen = amount_len(note);

    memcpy(buf + n, note->nullifier, ENIGMA_NOTE_SECRET_BYTES);
    n += ENIGMA_NOTE_SECRET_BYTES;
    memcpy(buf + n, note->secret, ENIGMA_NOTE_SECRET_BYTES);
    n += ENIGMA_NOTE_SECRET_BYTES;
    put_be64(buf + n, note->chain_id);
    n += 8;
    memcpy(buf + n, note->token, ENIGMA_ADDRESS_BYTES);
    n += ENIGMA_ADDRESS_BYTES;
    memcpy(buf + n, note->amount, alen); /* last, so no length prefix is needed */
    n += alen;
    blake2b_personal(out, buf, n, personal_commit);
    enigma_crypto_wipe(buf, sizeof buf);
}

void enigma_note_nullifier_hash(const enigma_note *note, uint8_t out[ENIGMA_NOTE_HASH_BYTES])
{
    uint8_t buf[ENIGMA_NOTE_SECRET_BYTES + 8 + ENIGMA_ADDRESS_BYTES];

    memcpy(buf, note->nullifier, ENIGMA_NOTE_SECRET_BYTES);
    put_be64(buf + ENIGMA_NOTE_SECRET_BYTES, note->chain_id);
    memcpy(buf + ENIGMA_NOTE_SECRET_BYTES + 8, note->token, ENIGMA_ADDRESS_BYTES);
    blake2b_personal(out, buf, sizeof buf, personal_nullif);
    enigma_crypto_wipe(buf, sizeof buf);
}

static void note_check(uint8_t out[NOTE_CHECK_BYTES], const char *text, size_t n)
{
    uint8_t digest[32];
    blake2b_personal(digest, text, n, personal_notesum);
    memcpy(out, digest, NOTE_CHECK_BYTES);
    enigma_crypto_wipe(digest, sizeof digest);
}

size_t enigma_note_format(char out[ENIGMA_NOTE_TEXT_MAX], const enigma_note *note)
{
    uint8_t check[NOTE_CHECK_BYTES];
    size_t alen = amount_len(note);
    /* Longest case: 15 + 20 + 1 + 40 + 1 + 63 + 1 + 128 + 1 + 8 = 278 < 320. */
    int head = snprintf(out, ENIGMA_NOTE_TEXT_MAX, NOTE_PREFIX NOTE_VERSION "-%" PRIu64 "-",
                        note->chain_id);
    size_t n = (size_t)head;

    n += enigma_hex_encode(out + n, note->token, ENIGMA_ADDRESS_BYTES, 0);
    out[n++] = '-';
    memcpy(out + n, note->amount, alen);
    n += alen;
    out[n++] = '-';
    n += enigma_hex_encode(out + n, note->nullifier, ENIGMA_NOTE_SECRET_BYTES, 0);
    n += enigma_hex_encode(out + n, note->secret, ENIGMA_NOTE_SECRET_BYTES, 0);
    note_check(check, out, n);
    out[n++] = '-';
    n += enigma_hex_encode(out + n, check, sizeof check, 0);
    return n;
}

/* A failed parse: wipe what was decoded so far and report. */
static int parse_fail(enigma_note *note, char *canon, size_t canon_size)
{
    enigma_note_wipe(note);
    enigma_crypto_wipe(canon, canon_size);
    return -1;
}

static int parse_chain_id(uint64_t *out, const char *s, size_t n, enigma_error *err)
{
    uint64_t v = 0;

    if (n == 0)
        return enigma_error_set(err, "EFORMAT", "the note's chain id is empty");
    for (size_t i = 0; i < n; i++)
        if (!is_digit(s[i]))
            return enigma_error_set(err, "EFORMAT",
                                    "the note's chain id is not a positive decimal integer "
                                    "(character %zu of it)",
                                    i + 1);
    /* One note, one text: a leading zero would be a second spelling. */
    if (s[0] == '0')
        return enigma_error_set(err, "EFORMAT", "the note's chain id has a leading zero");
    if (n > 16) /* 2^53 has 16 digits; more would overflow the sum below */
        return enigma_error_set(err, "EFORMAT",
                                "the note's chain id is out of range: 1 to 2^53 expected");
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > NOTE_CHAIN_ID_MAX)
        return enigma_error_set(err, "EFORMAT",
                                "the note's chain id is out of range: 1 to 2^53 expected");
    *out = v;
    return 0;
}

/* EFORMAT unless `s` is exactly `digits` bare hex digits, naming `what`. */
static int hex_part_check(const char *s, size_t n, size_t digits, const char *what,
                          enigma_error *err)
{
    if (n >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return enigma_error_set(err, "EFORMAT",
                                "the note's %s has a 0x prefix: it is written as bare hex", what);
    if (n != digits || !is_hex(s, n))
        return enigma_error_set(err, "EFORMAT",
                                "the note's %s is not %zu hex digits (%zu characters%s)", what,
                                digits, n, is_hex(s, n) ? "" : ", not all hex");
    return 0;
}

int enigma_note_parse(enigma_note *note, const char *text, size_t len, enigma_error *err)
{
    char canon[ENIGMA_NOTE_TEXT_MAX];
    char amount[ENIGMA_NOTE_AMOUNT_MAX];
    const char *part[NOTE_PARTS];
    size_t plen[NOTE_PARTS];
    size_t nparts = 0;
    const size_t prefix_len = sizeof NOTE_PREFIX - 1;

    enigma_note_wipe(note);
    canon[0] = '\0';
    if (enigma_crypto_init(err) < 0)
        return -1;
    while (len > 0 && is_space(text[0])) {
        text++;
        len--;
    }
    while (len > 0 && is_space(text[len - 1]))
        len--;
    /* The prefix is matched without regard to case, like the hex: a note
     * that went through an upper-casing channel is still the same note. */
    if (len < prefix_len || strncasecmp(text, NOTE_PREFIX, prefix_len) != 0)
        return enigma_error_set(err, "EFORMAT",
                                "not an enigma note: it should start with " NOTE_PREFIX NOTE_VERSION
                                "-");
    if (len >= ENIGMA_NOTE_TEXT_MAX)
        return enigma_error_set(err, "EFORMAT",
                                "not an enigma note: %zu characters is too long for one", len);

    /* Split the rest on '-', counting parts beyond the expected six. */
    const char *p = text + prefix_len, *end = text + len;
    size_t total = 0;
    for (;;) {
        const char *dash = memchr(p, '-', (size_t)(end - p));
        const char *stop = dash != NULL ? dash : end;
        if (nparts < NOTE_PARTS) {
            part[nparts] = p;
            plen[nparts] = (size_t)(stop - p);
            nparts++;
        }
        total++;
        if (dash == NULL)
            break;
        p = dash + 1;
    }

    if (plen[0] != 2 || strncasecmp(part[0], NOTE_VERSION, 2) != 0) {
        int versioned = plen[0] >= 2 && plen[0] <= 10 && (part[0][0] == 'v' || part[0][0] == 'V');
        for (size_t i = 1; versioned && i < plen[0]; i++)
            versioned = is_digit(part[0][i]);
        if (versioned)
            return enigma_error_set(
                err, "EFORMAT",
                "note version %.*s is not supported: this build reads " NOTE_VERSION, (int)plen[0],
                part[0]);
        return enigma_error_set(err, "EFORMAT",
                                "not an enigma note: it should start with " NOTE_PREFIX NOTE_VERSION
                                "-");
    }
    if (total != NOTE_PARTS)
        return enigma_error_set(err, "EFORMAT",
                                "the note has %zu parts after " NOTE_PREFIX ", %d expected "
                                "(version, chain id, token, amount, secret, check): it was "
                                "truncated or mistyped",
                                total, NOTE_PARTS);

    if (parse_chain_id(&note->chain_id, part[1], plen[1], err) < 0)
        return parse_fail(note, canon, sizeof canon);
    if (hex_part_check(part[2], plen[2], 2 * ENIGMA_ADDRESS_BYTES, "token", err) < 0 ||
        enigma_hex_decode_exact(note->token, ENIGMA_ADDRESS_BYTES, part[2], plen[2], err) < 0)
        return parse_fail(note, canon, sizeof canon);

    if (enigma_note_amount_canonical(amount, part[3], plen[3], err) < 0) {
        enigma_error_append(err, " (in the note's amount)");
        return parse_fail(note, canon, sizeof canon);
    }
    /* The commitment hashes the canonical text, so a note must carry it. */
    if (strlen(amount) != plen[3] || memcmp(amount, part[3], plen[3]) != 0) {
        enigma_error_set(err, "EFORMAT", "the note's amount %.*s is not canonical (%s)",
                         (int)plen[3], part[3], amount);
        return parse_fail(note, canon, sizeof canon);
    }
    memcpy(note->amount, amount, sizeof amount);

    const size_t half = 2 * ENIGMA_NOTE_SECRET_BYTES;
    if (hex_part_check(part[4], plen[4], 2 * half, "secret", err) < 0 ||
        enigma_hex_decode_exact(note->nullifier, ENIGMA_NOTE_SECRET_BYTES, part[4], half, err) <
            0 ||
        enigma_hex_decode_exact(note->secret, ENIGMA_NOTE_SECRET_BYTES, part[4] + half, half, err) <
            0)
        return parse_fail(note, canon, sizeof canon);

    uint8_t given[NOTE_CHECK_BYTES], want[NOTE_CHECK_BYTES];
    if (plen[5] != 2 * NOTE_CHECK_BYTES || !is_hex(part[5], plen[5])) {
        enigma_error_set(err, "EFORMAT",
                         "the note's check is not %d hex digits (%zu characters): it was "
                         "truncated or mistyped",
                         2 * NOTE_CHECK_BYTES, plen[5]);
        return parse_fail(note, canon, sizeof canon);
    }
    if (enigma_hex_decode_exact(given, sizeof given, part[5], plen[5], err) < 0)
        return parse_fail(note, canon, sizeof canon);

    /* Check the canonical (lowercase) rendering, so case changes pass and
     * any changed digit does not. */
    size_t n = enigma_note_format(canon, note);
    note_check(want, canon, n - (1 + 2 * NOTE_CHECK_BYTES));
    enigma_crypto_wipe(canon, sizeof canon);
    if (!enigma_crypto_equal(given, want, sizeof want)) {
        enigma_error_set(err, "ECHECKSUM",
                         "the note's checksum does not match: it was mistyped or truncated");
        return parse_fail(note, canon, sizeof canon);
    }
    return 0;
}

void enigma_note_wipe(enigma_note *note)
{
    if (note != NULL)
        enigma_crypto_wipe(note, sizeof *note);
}
