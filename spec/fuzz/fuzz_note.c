/* Fuzzes the note text parser: never crash; a note that parses formats back to text that
 * parses to the same note. */
#include <string.h>

#include "core/crypto/note.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enigma_note note, back;
    if (enigma_note_parse(&note, (const char *)data, size, NULL) == 0) {
        char text[ENIGMA_NOTE_TEXT_MAX];
        size_t len = enigma_note_format(text, &note);
        FUZZ_ASSERT(enigma_note_parse(&back, text, len, NULL) == 0);
        FUZZ_ASSERT(memcmp(back.nullifier, note.nullifier, sizeof note.nullifier) == 0);
        FUZZ_ASSERT(memcmp(back.secret, note.secret, sizeof note.secret) == 0);
        FUZZ_ASSERT(back.chain_id == note.chain_id && strcmp(back.amount, note.amount) == 0);
    }
    char amount[ENIGMA_NOTE_AMOUNT_MAX];
    if (enigma_note_amount_canonical(amount, (const char *)data, size, NULL) == 0) {
        char again[ENIGMA_NOTE_AMOUNT_MAX];
        FUZZ_ASSERT(enigma_note_amount_canonical(again, amount, strlen(amount), NULL) == 0);
        FUZZ_ASSERT(strcmp(again, amount) == 0); /* canonical is a fixed point */
    }
    return 0;
}
