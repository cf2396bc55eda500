/*
 * enigma_note: deposit notes.
 *
 * A note is what a depositor keeps to withdraw later: a random 32-byte
 * nullifier and a random 32-byte secret, bound to the deposit's amount, token
 * and chain. The database stores only two hashes of it:
 *
 *   commitment_hash = BLAKE2b-256, personal "enigma.commit.v1",
 *                     over nullifier || secret || chain_id (8 bytes, big-endian)
 *                     || token (20 bytes) || amount (canonical decimal text)
 *   nullifier_hash  = BLAKE2b-256, personal "enigma.nullif.v1",
 *                     over nullifier || chain_id (8, BE) || token (20)
 *
 * The personalisations keep the two hashes (and any future use of BLAKE2b
 * here) in separate domains. The canonical amount has no sign, no leading
 * zeros and no trailing fractional zeros ("1.50" -> "1.5", "007" -> "7",
 * "0.0" is refused), so one amount has one commitment.
 *
 * Text form, shown to the user once:
 *
 *   enigma-note-v1-<chain_id>-<token: 40 hex>-<amount>-<nullifier||secret: 128 hex>-<check: 8 hex>
 *
 * where check is the first 4 bytes of BLAKE2b-256 (personal
 * "enigma.notesum.1") of everything before the last '-'. A mistyped
 * character fails the check (ECHECKSUM) instead of pointing at nothing.
 *
 * An enigma_note holds secrets: keep it in guarded memory or wipe it with
 * enigma_note_wipe on every path.
 */
#ifndef ENIGMA_NOTE_H
#define ENIGMA_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include "core/crypto/keccak.h"
#include "core/error.h"

#define ENIGMA_NOTE_SECRET_BYTES 32
#define ENIGMA_NOTE_HASH_BYTES 32
/* 38 integer digits (NUMERIC(38,18) allows 20) + '.' + 18 decimals + NUL, generously */
#define ENIGMA_NOTE_AMOUNT_MAX 64
#define ENIGMA_NOTE_TEXT_MAX 320

#define ENIGMA_NOTE_MUST_CHECK __attribute__((warn_unused_result))

typedef struct enigma_note {
    uint8_t nullifier[ENIGMA_NOTE_SECRET_BYTES];
    uint8_t secret[ENIGMA_NOTE_SECRET_BYTES];
    uint64_t chain_id;
    uint8_t token[ENIGMA_ADDRESS_BYTES];
    char amount[ENIGMA_NOTE_AMOUNT_MAX]; /* canonical, NUL-terminated */
} enigma_note;

/*
 * Canonicalises `len` bytes of decimal text into `out` (ENIGMA_NOTE_AMOUNT_MAX).
 * Accepts digits with at most one '.', at most 20 integer and 18 fractional
 * digits (NUMERIC(38,18)), value > 0. EFORMAT otherwise, naming the problem.
 * The digit limits apply after canonicalising; ".5" reads as "0.5", "5." as "5".
 */
int enigma_note_amount_canonical(char out[ENIGMA_NOTE_AMOUNT_MAX], const char *text, size_t len,
                                 enigma_error *err) ENIGMA_NOTE_MUST_CHECK;

/* A new note with a random nullifier and secret. The amount is
 * canonicalised; -1 EFORMAT if it is not a valid amount or chain_id is not
 * in 1..2^53 (the range the text form parses). */
int enigma_note_new(enigma_note *note, const char *amount, size_t amount_len,
                    const uint8_t token[ENIGMA_ADDRESS_BYTES], uint64_t chain_id,
                    enigma_error *err) ENIGMA_NOTE_MUST_CHECK;

void enigma_note_commitment(const enigma_note *note, uint8_t out[ENIGMA_NOTE_HASH_BYTES]);
void enigma_note_nullifier_hash(const enigma_note *note, uint8_t out[ENIGMA_NOTE_HASH_BYTES]);

/* Writes the text form and a NUL into `out` (ENIGMA_NOTE_TEXT_MAX bytes);
 * returns its length. The text is as secret as the note. */
size_t enigma_note_format(char out[ENIGMA_NOTE_TEXT_MAX], const enigma_note *note);

/* Parses the text form (surrounding whitespace allowed). EFORMAT names the
 * part that is wrong; ECHECKSUM for a mistyped note. On failure `note` is
 * wiped. */
int enigma_note_parse(enigma_note *note, const char *text, size_t len,
                      enigma_error *err) ENIGMA_NOTE_MUST_CHECK;

void enigma_note_wipe(enigma_note *note);

#endif
