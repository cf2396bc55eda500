/*
 * enigma_json: a strict RFC 8259 JSON reader that keeps numbers exact.
 *
 * The reader is one pass over the text, with no recursion and no allocation
 * (except one scratch buffer for strings with escapes). It reports what it
 * reads as events to a callback, which builds whatever it likes (the Lua
 * binding builds tables; the fuzzer writes the text back).
 *
 * Strict means: one value, surrounded only by space, tab, CR and LF; no
 * comments, trailing commas, single quotes, NaN, Infinity, hex, '+' signs,
 * leading zeros or byte order mark; no control characters (below 0x20) in a
 * string; every string is valid UTF-8 (no overlong forms, no encoded
 * surrogates, nothing past U+10FFFF); a \u escape of a surrogate must be a
 * high one followed at once by a low one (a lone surrogate is refused, as
 * PostgreSQL's jsonb refuses it). "\u0000" is accepted and gives a NUL byte.
 * Nesting deeper than ENIGMA_JSON_MAX_DEPTH arrays and objects is refused.
 * Duplicate keys are reported as they come (the Lua binding keeps the last).
 *
 * Numbers. The reader classifies each number literal:
 *  - an integer literal (no '.', no exponent) that fits in int64 is an
 *    INTEGER ("-0" is the integer 0);
 *  - any other integer literal is a DECIMAL;
 *  - a literal with a fraction or an exponent is a FLOAT when the double
 *    nearest to it, written back by enigma_json_format_double(), has the
 *    same value as the literal ("0.1", "1E2", "1.5e-7",
 *    "0.30000000000000004", "-0.0"); otherwise (more significant digits than
 *    a double keeps, out of the double's range such as "1e400", or lost to
 *    underflow such as "1e-400") it is a DECIMAL.
 * A literal of at most 15 significant digits inside the double's normal
 * range is always a FLOAT. So writing an INTEGER with %lld, a FLOAT with
 * enigma_json_format_double() and a DECIMAL digit for digit gives text with
 * the same value as the literal: no number is ever changed by a round trip.
 */
#ifndef ENIGMA_JSON_H
#define ENIGMA_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Arrays and objects nested deeper than this are refused with a clear
 * error; the reader's own memory for nesting is fixed (about 9 KB). */
#define ENIGMA_JSON_MAX_DEPTH 1000

#define ENIGMA_JSON_MUST_CHECK __attribute__((warn_unused_result))

typedef enum enigma_json_kind {
    ENIGMA_JSON_NULL,
    ENIGMA_JSON_FALSE,
    ENIGMA_JSON_TRUE,
    ENIGMA_JSON_INTEGER,      /* `integer` holds it */
    ENIGMA_JSON_FLOAT,        /* `number` holds it */
    ENIGMA_JSON_DECIMAL,      /* exact only as text: `text` is the literal */
    ENIGMA_JSON_STRING,       /* `text`: its bytes, escapes decoded */
    ENIGMA_JSON_KEY,          /* `text`: an object member's name; its value follows */
    ENIGMA_JSON_ARRAY_BEGIN,
    ENIGMA_JSON_ARRAY_END,
    ENIGMA_JSON_OBJECT_BEGIN,
    ENIGMA_JSON_OBJECT_END
} enigma_json_kind;

/* Where a value goes: the top, an array (at `index`), or an object (under
 * the KEY reported just before it). */
typedef enum enigma_json_place {
    ENIGMA_JSON_IN_TOP,
    ENIGMA_JSON_IN_ARRAY,
    ENIGMA_JSON_IN_OBJECT
} enigma_json_place;

typedef struct enigma_json_event {
    enigma_json_kind kind;
    /* For a value, and for both ends of an array or object: where the value
     * goes, and in an array its position there, from 1. */
    enigma_json_place in;
    size_t index;
    /* Byte offset of the token in the text, from 0. */
    size_t offset;
    /* STRING and KEY: the decoded bytes (not NUL-terminated; valid only
     * during the callback). Numbers: the literal as written. Else NULL. */
    const char *text;
    size_t len;
    int64_t integer;
    double number;
    /* OBJECT_END and ARRAY_END: how many members or elements there were. */
    size_t count;
} enigma_json_event;

typedef struct enigma_json_handler {
    /* Called for every event in text order. Returns 0 to go on, or -1
     * having filled `err` (its message gets the position appended) to stop
     * the reading, which then returns -1. */
    int (*event)(void *ud, const enigma_json_event *ev, enigma_error *err);
    /* Optional. Returns a buffer of at least `size` bytes for decoding
     * strings with escapes, owned by the caller, or NULL when out of memory.
     * Asked at most once per reading, for the largest size it can need.
     * When NULL, the reader mallocs the buffer and frees it before it
     * returns; a callback that can leave by longjmp (a Lua error) must
     * therefore supply this, so that nothing the reader holds leaks. */
    char *(*scratch)(void *ud, size_t size);
} enigma_json_handler;

/*
 * Reads `len` bytes of `text` (no terminator needed) as one JSON value,
 * calling `h->event(ud, ...)` for each part. Returns 0, or -1 with `err`
 * filled: code EJSON for text that is not strict JSON or is nested too deep
 * (the message names what was expected, and the line, column and byte
 * offset, e.g. "expected ',' or ']' at line 1, column 4 (byte offset 3)"),
 * ENOMEM when the scratch buffer cannot be had, or the callback's own code.
 * Events already delivered before an error stand; the caller discards them.
 */
ENIGMA_JSON_MUST_CHECK
int enigma_json_read(const char *text, size_t len, const enigma_json_handler *h, void *ud,
                     enigma_error *err);

/* Bytes enough for any enigma_json_format_double() text, terminator included. */
#define ENIGMA_JSON_DOUBLE_MAX 32

/*
 * Writes finite `x` as the shortest of "%.15g", "%.16g", "%.17g" (from
 * "%.1g" for a subnormal) that reads back as `x`, whatever the C locale
 * ("0.1", "1e+300", "-0", "0.30000000000000004"). `buf` must hold
 * ENIGMA_JSON_DOUBLE_MAX bytes. Returns the length, or 0 for NaN and
 * infinity (which JSON cannot hold; nothing is written then).
 */
size_t enigma_json_format_double(char *buf, double x);

#endif
