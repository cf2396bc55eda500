/*
 * enigma_decimal: exact decimal numbers on GMP, for PostgreSQL NUMERIC.
 *
 * A value is `unscaled * 10^-scale` with scale >= 0, as NUMERIC keeps it:
 * "1.50" has unscaled 150 and scale 2 and prints back as "1.50". Addition,
 * subtraction and multiplication are exact; division and rounding take an
 * explicit scale and rounding mode.
 *
 * Every result `r` is a value the caller has initialised (enigma_decimal_init)
 * and later clears; `r` may be the same object as an operand. A function that
 * fails returns -1, fills `err` (which may be NULL) and leaves `r` unchanged.
 * Codes: EINVAL (text that is not a decimal, NaN), ERANGE (past the limits
 * below, infinity), EDIVZERO (division by zero). GMP itself aborts when
 * memory runs out.
 */
#ifndef ENIGMA_DECIMAL_H
#define ENIGMA_DECIMAL_H

#include <gmp.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

/* Limits on a value's unscaled digits and on its scale, so that text like
 * "1e999999999" fails instead of allocating. PostgreSQL's own NUMERIC stops
 * at 131072 digits before the point and 16383 after, well inside these. */
#define ENIGMA_DECIMAL_MAX_DIGITS 200000
#define ENIGMA_DECIMAL_MAX_SCALE 20000

#define ENIGMA_DECIMAL_MUST_CHECK __attribute__((warn_unused_result))

typedef struct enigma_decimal {
    mpz_t unscaled;
    int scale;
} enigma_decimal;

typedef enum enigma_rounding {
    ENIGMA_ROUND_HALF_UP,   /* ties away from zero, like PostgreSQL's round() */
    ENIGMA_ROUND_HALF_EVEN, /* ties to the even neighbour */
    ENIGMA_ROUND_DOWN,      /* toward zero */
    ENIGMA_ROUND_UP,        /* away from zero */
    ENIGMA_ROUND_FLOOR,     /* toward -infinity */
    ENIGMA_ROUND_CEIL       /* toward +infinity */
} enigma_rounding;

/* Makes `d` zero with scale 0. Pair with enigma_decimal_clear(). */
void enigma_decimal_init(enigma_decimal *d);

/* Releases what `d` holds; `d` must be initialised again before reuse. */
void enigma_decimal_clear(enigma_decimal *d);

/* Copies `a` into `r` (both initialised). Cannot fail. */
void enigma_decimal_set(enigma_decimal *r, const enigma_decimal *a);

/*
 * Reads `len` bytes of `text` (no terminator needed): an optional sign,
 * digits with an optional '.', and an optional exponent ("1e-5", "2.5E+3"),
 * which PostgreSQL folds into the scale ("2.5E+3" is 2500, "1e-5" 0.00001).
 * No spaces, NaN, Infinity or hex. Returns 0, or -1 with EINVAL naming the
 * text, or ERANGE past the limits above.
 */
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_parse(enigma_decimal *d, const char *text, size_t len, enigma_error *err);

/* Bytes enigma_decimal_format_to() needs for `d`, terminator included. */
size_t enigma_decimal_format_size(const enigma_decimal *d);

/*
 * Writes `d` as PostgreSQL prints NUMERIC: all `scale` fractional digits, no
 * exponent, never "-0". `buf` is the caller's and must hold `size` >=
 * enigma_decimal_format_size(d) bytes. Returns the length written (without
 * the terminator), or 0 when `size` is too small.
 */
size_t enigma_decimal_format_to(const enigma_decimal *d, char *buf, size_t size);

/* The same text in a malloc'd string the caller frees; NULL when out of memory. */
char *enigma_decimal_format(const enigma_decimal *d);

/* r = a + b and r = a - b, with scale max(a.scale, b.scale). -1 ERANGE. */
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_add(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       enigma_error *err);
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_sub(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       enigma_error *err);

/* r = a * b, with scale a.scale + b.scale. -1 ERANGE. */
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_mul(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       enigma_error *err);

/* r = a / b rounded by `mode` to `scale` (0..MAX_SCALE) fractional digits.
 * -1 with EDIVZERO, or ERANGE for a scale or result past the limits. */
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_div(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       int scale, enigma_rounding mode, enigma_error *err);

/* r = floor(a / b), scale 0. -1 with EDIVZERO or ERANGE. */
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_idiv(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                        enigma_error *err);

/* r = a - b * floor(a / b): zero or the sign of b, as Lua's %; scale
 * max(a.scale, b.scale). -1 with EDIVZERO. */
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_mod(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       enigma_error *err);

/* r = a rounded by `mode` to `scale` fractional digits; a larger scale pads
 * with zeros ("1.5" to 3 is "1.500"), a negative one rounds to tens,
 * hundreds... with result scale 0. -1 ERANGE when scale is outside
 * -MAX_DIGITS..MAX_SCALE. */
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_round(enigma_decimal *r, const enigma_decimal *a, int scale,
                         enigma_rounding mode, enigma_error *err);

/* -1, 0 or 1 as a <, = or > b, by value: "1.50" equals "1.5". */
int enigma_decimal_cmp(const enigma_decimal *a, const enigma_decimal *b);

/* -1, 0 or 1 by the sign of `d`. */
int enigma_decimal_sign(const enigma_decimal *d);

/* r = -a and r = |a|, same scale. Cannot fail. */
void enigma_decimal_neg(enigma_decimal *r, const enigma_decimal *a);
void enigma_decimal_abs(enigma_decimal *r, const enigma_decimal *a);

/* d = x, scale 0. Cannot fail. */
void enigma_decimal_from_int64(enigma_decimal *d, int64_t x);

/* d = the shortest decimal that reads back as `x` (0.1 gives "0.1", not
 * 0.1000000000000000055...). -1 with EINVAL for NaN, ERANGE for infinity. */
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_from_double(enigma_decimal *d, double x, enigma_error *err);

/* The double nearest `d` (+-HUGE_VAL past its range); NaN only when out of memory. */
double enigma_decimal_to_double(const enigma_decimal *d);

/* Stores `d` in *out and returns 0 when it is integral ("2.00" is) and fits
 * in int64; otherwise returns -1 and leaves *out alone. */
ENIGMA_DECIMAL_MUST_CHECK
int enigma_decimal_to_int64(const enigma_decimal *d, int64_t *out);

#endif
