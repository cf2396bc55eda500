#include "core/decimal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How much of a rejected text an error message quotes. */
#define QUOTE_MAX 64

/* Writes `text` quoted into `out` (QUOTE_MAX * 4 + 8 bytes), escaping what
 * does not print and cutting long text short with "...". */
static void quote_text(char *out, const char *text, size_t len)
{
    size_t i, n = len > QUOTE_MAX ? QUOTE_MAX : len;
    char *p = out;

    *p++ = '"';
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\')
            p += sprintf(p, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            p += sprintf(p, "\\x%02x", c);
        else
            *p++ = (char)c;
    }
    *p++ = '"';
    if (n < len)
        p += sprintf(p, "...");
    *p = '\0';
}

static int invalid_text(enigma_error *err, const char *text, size_t len)
{
    char quoted[QUOTE_MAX * 4 + 8];

    quote_text(quoted, text, len);
    return enigma_error_set(err, "EINVAL", "invalid decimal: %s", quoted);
}

static int out_of_range(enigma_error *err, const char *what)
{
    return enigma_error_set(err, "ERANGE",
                            "decimal out of range: %s (at most %d digits, %d after the point)",
                            what, ENIGMA_DECIMAL_MAX_DIGITS, ENIGMA_DECIMAL_MAX_SCALE);
}

/* 1 when |z| has more than `max` decimal digits. mpz_sizeinbase may say one
 * too many, so the boundary case is settled by comparing with 10^max. */
static int digits_exceed(const mpz_t z, unsigned long max)
{
    size_t n = mpz_sizeinbase(z, 10);
    mpz_t limit;
    int over;

    if (n <= max)
        return 0;
    if (n > max + 1)
        return 1;
    mpz_init(limit);
    mpz_ui_pow_ui(limit, 10, max);
    over = mpz_cmpabs(z, limit) >= 0;
    mpz_clear(limit);
    return over;
}

/* Moves `t` into `r` once it is known to be within the limits; `t` is
 * cleared either way. */
static int commit(enigma_decimal *r, enigma_decimal *t, const char *what, enigma_error *err)
{
    if (t->scale > ENIGMA_DECIMAL_MAX_SCALE ||
        digits_exceed(t->unscaled, ENIGMA_DECIMAL_MAX_DIGITS)) {
        enigma_decimal_clear(t);
        return out_of_range(err, what);
    }
    mpz_swap(r->unscaled, t->unscaled);
    r->scale = t->scale;
    enigma_decimal_clear(t);
    return 0;
}

static void mul_pow10(mpz_t r, const mpz_t a, unsigned long k)
{
    mpz_t p;

    if (k == 0) {
        mpz_set(r, a);
        return;
    }
    mpz_init(p);
    mpz_ui_pow_ui(p, 10, k);
    mpz_mul(r, a, p);
    mpz_clear(p);
}

/* Sets ua, ub to the unscaled values of a and b brought to their common
 * (larger) scale, which it returns. */
static int align(mpz_t ua, mpz_t ub, const enigma_decimal *a, const enigma_decimal *b)
{
    int s = a->scale > b->scale ? a->scale : b->scale;

    mul_pow10(ua, a->unscaled, (unsigned long)(s - a->scale));
    mul_pow10(ub, b->unscaled, (unsigned long)(s - b->scale));
    return s;
}

/* q = n / d rounded by `mode`; d != 0. */
static void div_round(mpz_t q, const mpz_t n, const mpz_t d, enigma_rounding mode)
{
    mpz_t rem;
    int sign, half, away = 0;

    mpz_init(rem);
    mpz_tdiv_qr(q, rem, n, d); /* q is truncated toward zero */
    if (mpz_sgn(rem) != 0) {
        sign = mpz_sgn(n) * mpz_sgn(d); /* the sign of the exact quotient */
        mpz_mul_2exp(rem, rem, 1);
        half = mpz_cmpabs(rem, d); /* 2|rem| against |d|: <0 below half, 0 a tie */
        switch (mode) {
        case ENIGMA_ROUND_HALF_UP:
            away = half >= 0;
            break;
        case ENIGMA_ROUND_HALF_EVEN:
            away = half > 0 || (half == 0 && mpz_odd_p(q));
            break;
        case ENIGMA_ROUND_DOWN:
            away = 0;
            break;
        case ENIGMA_ROUND_UP:
            away = 1;
            break;
        case ENIGMA_ROUND_FLOOR:
            away = sign < 0;
            break;
        case ENIGMA_ROUND_CEIL:
            away = sign > 0;
            break;
        }
        if (away && sign > 0)
            mpz_add_ui(q, q, 1);
        else if (away)
            mpz_sub_ui(q, q, 1);
    }
    mpz_clear(rem);
}

void enigma_decimal_init(enigma_decimal *d)
{
    mpz_init(d->unscaled);
    d->scale = 0;
}

void enigma_decimal_clear(enigma_decimal *d)
{
    mpz_clear(d->unscaled);
}

void enigma_decimal_set(enigma_decimal *r, const enigma_decimal *a)
{
    mpz_set(r->unscaled, a->unscaled);
    r->scale = a->scale;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The i-th digit of a mantissa split by its point. */
static char mantissa_digit(const char *int_start, size_t int_len, const char *frac_start, size_t i)
{
    return i < int_len ? int_start[i] : frac_start[i - int_len];
}

int enigma_decimal_parse(enigma_decimal *d, const char *text, size_t len, enigma_error *err)
{
    const char *p = text, *end = text + len, *int_start, *frac_start = NULL;
    size_t int_len, frac_len = 0, lead, sig, i;
    long long exponent = 0, scale, total;
    int negative = 0, exp_negative = 0;
    char *digits;

    if (p < end && (*p == '+' || *p == '-'))
        negative = *p++ == '-';
    int_start = p;
    while (p < end && is_digit(*p))
        p++;
    int_len = (size_t)(p - int_start);
    if (p < end && *p == '.') {
        frac_start = ++p;
        while (p < end && is_digit(*p))
            p++;
        frac_len = (size_t)(p - frac_start);
    }
    if (int_len + frac_len == 0)
        return invalid_text(err, text, len);
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            exp_negative = *p++ == '-';
        if (p == end || !is_digit(*p))
            return invalid_text(err, text, len);
        for (; p < end && is_digit(*p); p++)
            if (exponent < 1000000000LL) /* saturates; far past any limit */
                exponent = exponent * 10 + (*p - '0');
        if (exp_negative)
            exponent = -exponent;
    }
    if (p != end)
        return invalid_text(err, text, len);
    /* The significant digits: the mantissa's, across the point, without
     * leading zeros. */
    lead = 0;
    while (lead < int_len + frac_len && mantissa_digit(int_start, int_len, frac_start, lead) == '0')
        lead++;
    sig = int_len + frac_len - lead;

    /* Value = digits * 10^(exponent - frac_len), with PostgreSQL's scale
     * max(0, frac_len - exponent). */
    scale = (long long)frac_len - exponent;
    total = (long long)sig + (scale < 0 ? -scale : 0);
    if (scale > ENIGMA_DECIMAL_MAX_SCALE || (sig > 0 && total > ENIGMA_DECIMAL_MAX_DIGITS) ||
        exponent > ENIGMA_DECIMAL_MAX_DIGITS + (long long)frac_len) {
        char quoted[QUOTE_MAX * 4 + 8];
        quote_text(quoted, text, len);
        return out_of_range(err, quoted);
    }

    digits = malloc(sig + 1);
    if (digits == NULL)
        return enigma_error_set(err, "ENOMEM", "out of memory reading a decimal");
    for (i = 0; i < sig; i++)
        digits[i] = mantissa_digit(int_start, int_len, frac_start, lead + i);
    digits[sig] = '\0';
    if (sig == 0)
        mpz_set_ui(d->unscaled, 0);
    else
        mpz_set_str(d->unscaled, digits, 10); /* cannot fail: only digits */
    free(digits);
    if (scale < 0) {
        if (sig > 0)
            mul_pow10(d->unscaled, d->unscaled, (unsigned long)-scale);
        scale = 0;
    }
    if (negative)
        mpz_neg(d->unscaled, d->unscaled);
    d->scale = (int)scale;
    return 0;
}

size_t enigma_decimal_format_size(const enigma_decimal *d)
{
    size_t ndig = mpz_sizeinbase(d->unscaled, 10), width;

    width = ndig > (size_t)d->scale ? ndig : (size_t)d->scale + 1;
    return 1 /* sign */ + width + 1 /* point */ + 1 /* terminator */;
}

size_t enigma_decimal_format_to(const enigma_decimal *d, char *buf, size_t size)
{
    size_t ndig, scale = (size_t)d->scale;
    char *digits;
    int negative;

    if (size < enigma_decimal_format_size(d))
        return 0;
    mpz_get_str(buf, 10, d->unscaled);
    negative = buf[0] == '-';
    digits = buf + negative;
    ndig = strlen(digits);
    if (scale == 0)
        return (size_t)negative + ndig;
    if (ndig > scale) { /* "12345" scale 2 -> "123.45" */
        memmove(digits + ndig - scale + 1, digits + ndig - scale, scale + 1);
        digits[ndig - scale] = '.';
        return (size_t)negative + ndig + 1;
    }
    /* "5" scale 3 -> "0.005" */
    memmove(digits + 2 + (scale - ndig), digits, ndig + 1);
    digits[0] = '0';
    digits[1] = '.';
    memset(digits + 2, '0', scale - ndig);
    return (size_t)negative + 2 + scale;
}

char *enigma_decimal_format(const enigma_decimal *d)
{
    size_t size = enigma_decimal_format_size(d);
    char *buf = malloc(size);

    if (buf != NULL)
        enigma_decimal_format_to(d, buf, size);
    return buf;
}

static int add_or_sub(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                      int subtract, enigma_error *err)
{
    enigma_decimal t;
    mpz_t ub;

    enigma_decimal_init(&t);
    mpz_init(ub);
    t.scale = align(t.unscaled, ub, a, b);
    if (subtract)
        mpz_sub(t.unscaled, t.unscaled, ub);
    else
        mpz_add(t.unscaled, t.unscaled, ub);
    mpz_clear(ub);
    return commit(r, &t, subtract ? "difference" : "sum", err);
}

int enigma_decimal_add(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       enigma_error *err)
{
    return add_or_sub(r, a, b, 0, err);
}

int enigma_decimal_sub(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       enigma_error *err)
{
    return add_or_sub(r, a, b, 1, err);
}

int enigma_decimal_mul(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       enigma_error *err)
{
    enigma_decimal t;

    enigma_decimal_init(&t);
    mpz_mul(t.unscaled, a->unscaled, b->unscaled);
    t.scale = a->scale + b->scale; /* each is at most MAX_SCALE: no overflow */
    return commit(r, &t, "product", err);
}

int enigma_decimal_div(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       int scale, enigma_rounding mode, enigma_error *err)
{
    enigma_decimal t;
    mpz_t num, den;
    long e;

    if (mpz_sgn(b->unscaled) == 0)
        return enigma_error_set(err, "EDIVZERO", "division by zero");
    if (scale < 0 || scale > ENIGMA_DECIMAL_MAX_SCALE)
        return out_of_range(err, "division scale");
    /* a/b * 10^scale = A * 10^(scale + b.scale - a.scale) / B */
    e = (long)scale + b->scale - a->scale;
    mpz_init(num);
    mpz_init(den);
    if (e >= 0) {
        mul_pow10(num, a->unscaled, (unsigned long)e);
        mpz_set(den, b->unscaled);
    } else {
        mpz_set(num, a->unscaled);
        mul_pow10(den, b->unscaled, (unsigned long)-e);
    }
    enigma_decimal_init(&t);
    div_round(t.unscaled, num, den, mode);
    t.scale = scale;
    mpz_clear(num);
    mpz_clear(den);
    return commit(r, &t, "quotient", err);
}

int enigma_decimal_idiv(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                        enigma_error *err)
{
    return enigma_decimal_div(r, a, b, 0, ENIGMA_ROUND_FLOOR, err);
}

int enigma_decimal_mod(enigma_decimal *r, const enigma_decimal *a, const enigma_decimal *b,
                       enigma_error *err)
{
    enigma_decimal t;
    mpz_t ub;

    if (mpz_sgn(b->unscaled) == 0)
        return enigma_error_set(err, "EDIVZERO", "division by zero");
    enigma_decimal_init(&t);
    mpz_init(ub);
    t.scale = align(t.unscaled, ub, a, b);
    mpz_fdiv_r(t.unscaled, t.unscaled, ub); /* floor division: the sign of the divisor */
    mpz_clear(ub);
    return commit(r, &t, "remainder", err);
}

int enigma_decimal_round(enigma_decimal *r, const enigma_decimal *a, int scale,
                         enigma_rounding mode, enigma_error *err)
{
    enigma_decimal t;
    mpz_t p;

    if (scale < -ENIGMA_DECIMAL_MAX_DIGITS || scale > ENIGMA_DECIMAL_MAX_SCALE)
        return out_of_range(err, "rounding scale");
    enigma_decimal_init(&t);
    if (scale >= a->scale) {
        mul_pow10(t.unscaled, a->unscaled, (unsigned long)(scale - a->scale));
        t.scale = scale;
    } else {
        mpz_init(p);
        mpz_ui_pow_ui(p, 10, (unsigned long)(a->scale - scale));
        div_round(t.unscaled, a->unscaled, p, mode);
        mpz_clear(p);
        t.scale = scale;
        if (scale < 0) { /* rounded to tens, hundreds...: back to units */
            mul_pow10(t.unscaled, t.unscaled, (unsigned long)-scale);
            t.scale = 0;
        }
    }
    return commit(r, &t, "rounded value", err);
}

int enigma_decimal_cmp(const enigma_decimal *a, const enigma_decimal *b)
{
    mpz_t ua, ub;
    int c;

    if (a->scale == b->scale)
        c = mpz_cmp(a->unscaled, b->unscaled);
    else if (mpz_sgn(a->unscaled) != mpz_sgn(b->unscaled))
        c = mpz_sgn(a->unscaled) - mpz_sgn(b->unscaled);
    else {
        mpz_init(ua);
        mpz_init(ub);
        align(ua, ub, a, b);
        c = mpz_cmp(ua, ub);
        mpz_clear(ua);
        mpz_clear(ub);
    }
    return (c > 0) - (c < 0);
}

int enigma_decimal_sign(const enigma_decimal *d)
{
    return mpz_sgn(d->unscaled);
}

void enigma_decimal_neg(enigma_decimal *r, const enigma_decimal *a)
{
    mpz_neg(r->unscaled, a->unscaled);
    r->scale = a->scale;
}

void enigma_decimal_abs(enigma_decimal *r, const enigma_decimal *a)
{
    mpz_abs(r->unscaled, a->unscaled);
    r->scale = a->scale;
}

void enigma_decimal_from_int64(enigma_decimal *d, int64_t x)
{
    /* through the magnitude, so INT64_MIN and a 32-bit long both work */
    uint64_t magnitude = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;

    mpz_import(d->unscaled, 1, 1, sizeof magnitude, 0, 0, &magnitude);
    if (x < 0)
        mpz_neg(d->unscaled, d->unscaled);
    d->scale = 0;
}

int enigma_decimal_from_double(enigma_decimal *d, double x, enigma_error *err)
{
    char text[40];
    int precision;

    if (isnan(x))
        return enigma_error_set(err, "EINVAL", "cannot convert NaN to a decimal");
    if (isinf(x))
        return enigma_error_set(err, "ERANGE", "cannot convert %s to a decimal",
                                x > 0 ? "inf" : "-inf");
    for (precision = 15; precision <= 17; precision++) {
        snprintf(text, sizeof text, "%.*g", precision, x);
        if (strtod(text, NULL) == x)
            break;
    }
    /* %.17g always reads back; %g's output is always a valid decimal */
    return enigma_decimal_parse(d, text, strlen(text), err);
}

double enigma_decimal_to_double(const enigma_decimal *d)
{
    /* "<digits>e-<scale>" lets strtod do the correctly rounded conversion */
    size_t size = mpz_sizeinbase(d->unscaled, 10) + 2 + 16;
    char *text = malloc(size);
    double x;

    if (text == NULL)
        return NAN;
    mpz_get_str(text, 10, d->unscaled);
    snprintf(text + strlen(text), 16, "e-%d", d->scale);
    x = strtod(text, NULL);
    free(text);
    return x;
}

int enigma_decimal_to_int64(const enigma_decimal *d, int64_t *out)
{
    mpz_t q, rem;
    uint64_t magnitude = 0;
    int ok = 0;

    mpz_init(q);
    mpz_init(rem);
    if (d->scale == 0)
        mpz_set(q, d->unscaled);
    else {
        mpz_ui_pow_ui(rem, 10, (unsigned long)d->scale);
        mpz_tdiv_qr(q, rem, d->unscaled, rem);
    }
    if (mpz_sgn(rem) == 0 && mpz_sizeinbase(q, 2) <= 64) {
        mpz_export(&magnitude, NULL, 1, sizeof magnitude, 0, 0, q); /* |q| */
        if (mpz_sgn(q) >= 0 && magnitude <= (uint64_t)INT64_MAX) {
            *out = (int64_t)magnitude;
            ok = 1;
        } else if (mpz_sgn(q) < 0 && magnitude <= (uint64_t)INT64_MAX + 1) {
            *out = magnitude == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)magnitude;
            ok = 1;
        }
    }
    mpz_clear(q);
    mpz_clear(rem);
    return ok ? 0 : -1;
}
