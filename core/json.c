/*
 * The JSON reader of core/json.h: one loop with an explicit nesting stack
 * (no recursion, so no input can overflow the C stack), strings scanned
 * eight bytes at a time, numbers classified as they are read.
 */
#define _GNU_SOURCE /* newlocale, uselocale, strtod_l */
#include "core/json.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERR_CODE "EJSON"

typedef struct reader {
    const char *start, *p, *end;
    const enigma_json_handler *h;
    void *ud;
    enigma_error *err;
    char *scratch; /* for strings with escapes; NULL until the first */
    int owns_scratch;
    size_t depth;
    unsigned char in[ENIGMA_JSON_MAX_DEPTH + 1];  /* enigma_json_place of each level */
    size_t count[ENIGMA_JSON_MAX_DEPTH + 1];      /* values (or members) so far */
} reader;

/* --- the C locale, for numbers whatever setlocale() said ------------------------------- */

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static locale_t get_c_locale(void)
{
    pthread_once(&c_locale_once, make_c_locale);
    return c_locale;
}

/* strtod in the C locale on a NUL-terminated number. */
static double c_strtod(const char *s)
{
    locale_t c = get_c_locale();

    return c != (locale_t)0 ? strtod_l(s, NULL, c) : strtod(s, NULL);
}

size_t enigma_json_format_double(char *buf, double x)
{
    locale_t c = get_c_locale(), old = (locale_t)0;
    int precision, n = 0;

    if (!isfinite(x))
        return 0;
    if (c != (locale_t)0)
        old = uselocale(c);
    precision = (x != 0 && fabs(x) < DBL_MIN) ? 1 : 15;
    for (; precision <= 17; precision++) {
        n = snprintf(buf, ENIGMA_JSON_DOUBLE_MAX, "%.*g", precision, x);
        if (precision == 17 || c_strtod(buf) == x)
            break;
    }
    if (c != (locale_t)0)
        uselocale(old);
    return n > 0 ? (size_t)n : 0;
}

/* --- errors ---------------------------------------------------------------------------- */

/* Appends " at line L, column C (byte offset N)" for `at` to err's message. */
static void append_position(reader *r, const char *at)
{
    size_t line = 1, column = 1;
    const char *q;

    for (q = r->start; q < at; q++) {
        if (*q == '\n') {
            line++;
            column = 1;
        } else if (((unsigned char)*q & 0xC0) != 0x80) { /* columns count characters */
            column++;
        }
    }
    enigma_error_append(r->err, " at line %zu, column %zu (byte offset %zu)", line, column,
                        (size_t)(at - r->start));
}

/* Fails with `what` at `at`: "invalid JSON: <what>, found 'x' at line ..." */
static int fail_at(reader *r, const char *at, const char *what)
{
    unsigned char c;

    if (at >= r->end) {
        enigma_error_set(r->err, ERR_CODE, "invalid JSON: %s, found the end of the text", what);
    } else {
        c = (unsigned char)*at;
        if (c >= 0x21 && c < 0x7F && c != '\'')
            enigma_error_set(r->err, ERR_CODE, "invalid JSON: %s, found '%c'", what, c);
        else
            enigma_error_set(r->err, ERR_CODE, "invalid JSON: %s, found byte 0x%02X", what, c);
    }
    append_position(r, at);
    return -1;
}

static int fail_plain(reader *r, const char *at, const char *what)
{
    enigma_error_set(r->err, ERR_CODE, "invalid JSON: %s", what);
    append_position(r, at);
    return -1;
}

static int emit(reader *r, enigma_json_event *ev)
{
    if (r->h->event(r->ud, ev, r->err) == 0)
        return 0;
    if (r->err != NULL && r->err->code[0] == '\0')
        enigma_error_set(r->err, ERR_CODE, "reading JSON failed");
    append_position(r, r->start + ev->offset);
    return -1;
}

/* --- strings --------------------------------------------------------------------------- */

#define ONES 0x0101010101010101ULL
#define HIGHS 0x8080808080808080ULL

/* Nonzero when one of the 8 bytes in w is '"', '\\', below 0x20 or above 0x7F. */
static inline uint64_t special_bytes(uint64_t w)
{
    uint64_t quote = w ^ (ONES * '"'), backslash = w ^ (ONES * '\\');

    return (((quote - ONES) & ~quote) | ((backslash - ONES) & ~backslash) | (w - ONES * 0x20) | w) &
           HIGHS;
}

/* Length of the valid UTF-8 sequence at p (its first byte >= 0x80), or 0. */
static size_t utf8_length(const unsigned char *p, const unsigned char *end)
{
    unsigned char c = p[0];
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF;

    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong forms */
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;

    for (int i = 0; i < 4; i++) {
        unsigned char c = (unsigned char)p[i];
        unsigned d;

        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (c | 0x20) - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | cp >> 12);
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | cp >> 18);
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* The rest of a string with escapes, from r->p (at a backslash), decoded
 * into the scratch buffer after the `done` bytes from s already scanned. */
static int read_escaped(reader *r, const char *s, size_t done, const char **text, size_t *len)
{
    const char *p = r->p, *end = r->end;
    char *o;

    if (r->scratch == NULL) {
        size_t size = (size_t)(end - s) + 1; /* decoded never outgrows the text */

        if (r->h->scratch != NULL) {
            r->scratch = r->h->scratch(r->ud, size);
        } else {
            r->scratch = malloc(size);
            r->owns_scratch = 1;
        }
        if (r->scratch == NULL) {
            enigma_error_set(r->err, "ENOMEM", "out of memory reading a JSON string");
            return -1;
        }
    }
    memcpy(r->scratch, s, done);
    o = r->scratch + done;
    while (p < end) {
        unsigned char c = (unsigned char)*p;

        if (c == '"') {
            r->p = p + 1;
            *text = r->scratch;
            *len = (size_t)(o - r->scratch);
            return 0;
        }
        if (c == '\\') {
            unsigned cp, lo;

            if (end - p < 2)
                return fail_at(r, p + 1, "expected an escape after '\\'");
            switch (p[1]) {
            case '"':
            case '\\':
            case '/':
                *o++ = p[1];
                break;
            case 'b':
                *o++ = '\b';
                break;
            case 'f':
                *o++ = '\f';
                break;
            case 'n':
                *o++ = '\n';
                break;
            case 'r':
                *o++ = '\r';
                break;
            case 't':
                *o++ = '\t';
                break;
            case 'u':
                if (end - p < 6 || hex4(p + 2, &cp) != 0)
                    return fail_plain(r, p, "a \\u escape needs four hex digits");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail_plain(r, p, "lone low surrogate in a \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || hex4(p + 8, &lo) != 0 ||
                        lo < 0xDC00 || lo > 0xDFFF)
                        return fail_plain(r, p, "lone high surrogate in a \\u escape");
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                }
                o = put_utf8(o, cp);
                p += 4;
                break;
            default:
                return fail_at(r, p + 1,
                               "expected an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u)");
            }
            p += 2;
        } else if (c < 0x20) {
            return fail_at(r, p, "control characters must be escaped in a string");
        } else if (c < 0x80) {
            *o++ = (char)c;
            p++;
        } else {
            size_t n = utf8_length((const unsigned char *)p, (const unsigned char *)end);

            if (n == 0)
                return fail_plain(r, p, "a string is not valid UTF-8");
            memcpy(o, p, n);
            o += n;
            p += n;
        }
    }
    return fail_plain(r, s - 1, "a string is not closed");
}

/* Reads the string at r->p (its opening quote). The text points into the
 * input when there were no escapes, else into the scratch buffer. */
static int read_string(reader *r, const char **text, size_t *len)
{
    const char *s = r->p + 1, *p = s, *end = r->end;

    for (;;) {
        while (end - p >= 8) {
            uint64_t w;

            memcpy(&w, p, 8);
            if (special_bytes(w) != 0)
                break;
            p += 8;
        }
        if (p >= end)
            return fail_plain(r, s - 1, "a string is not closed");
        unsigned char c = (unsigned char)*p;
        if (c == '"') {
            *text = s;
            *len = (size_t)(p - s);
            r->p = p + 1;
            return 0;
        }
        if (c == '\\') {
            r->p = p;
            return read_escaped(r, s, (size_t)(p - s), text, len);
        }
        if (c < 0x20)
            return fail_at(r, p, "control characters must be escaped in a string");
        if (c < 0x80) {
            p++;
        } else {
            size_t n = utf8_length((const unsigned char *)p, (const unsigned char *)end);

            if (n == 0)
                return fail_plain(r, p, "a string is not valid UTF-8");
            p += n;
        }
    }
}

/* --- numbers --------------------------------------------------------------------------- */

static const double exact_pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                     1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                     1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static inline int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Significant digits (no leading or trailing zeros) of decimal text such as
 * "1.2345e-07", into digits[] (at most 17), and the value's exponent so
 * that value = 0.d1d2d3... * 10^exp10. Returns the count. */
static int canonical_digits(const char *s, char *digits, long *exp10)
{
    int n = 0, seen = 0, point = 0;
    long lead = 0, e = 0;

    for (; *s != '\0' && *s != 'e' && *s != 'E'; s++) {
        if (is_digit(*s)) {
            if (!seen && *s == '0') {
                if (point)
                    lead--;
                continue;
            }
            seen = 1;
            if (!point)
                lead++;
            if (n < 24)
                digits[n++] = *s;
        } else if (*s != '-' && *s != '+') {
            point = 1; /* '.', or a locale's point */
        }
    }
    if (*s == 'e' || *s == 'E')
        e = strtol(s + 1, NULL, 10);
    while (n > 0 && digits[n - 1] == '0')
        n--;
    *exp10 = lead + e;
    return n;
}

/*
 * The exact decision for a literal of 16 or 17 significant digits D * 10^e10
 * (D without trailing zeros, e10 < 0), without printing anything: 1 when the
 * nearest double, written by enigma_json_format_double(), gives back the
 * literal's value (with that double in *out), 0 when it does not, -1 when
 * this cannot tell cheaply (then the caller prints and compares).
 *
 * Everything is compared exactly as 128-bit integers scaled by 2^b * 10^a:
 * the double x = M * 2^e (M of 53 bits) becomes X = 4 M 10^a, a decimal
 * G * 10^e10 becomes G 2^b, and half an ulp of x becomes 2 * 10^a. That
 * covers |x| from about 1.5e-5 to 2^53, where realistic floats live.
 */
typedef unsigned __int128 u128;

static uint64_t pow10_u64(long k) /* 0 <= k <= 19 */
{
    uint64_t p = 1;

    while (k-- > 0)
        p *= 10;
    return p;
}

static u128 absdiff(u128 x, u128 y)
{
    return x > y ? x - y : y - x;
}

static int classify_long(uint64_t d, long digits, long e10, double *out)
{
    long a = -e10;
    double x;
    uint64_t m = 0;
    int b = 0, ex, ok = 0;
    u128 big_x = 0, half, pow_a;

    if (a <= 0 || a > 21)
        return -1;
    pow_a = (u128)pow10_u64(a > 18 ? 18 : a) * (a > 18 ? pow10_u64(a - 18) : 1);
    half = 2 * pow_a;
    /* A first guess within an ulp (long double holds D and 10^a exactly),
     * then moved to the nearest double by exact comparison. */
    x = (double)((long double)d / ((long double)pow_a));
    for (int tries = 0; tries < 3 && !ok; tries++) {
        if (!(x >= DBL_MIN) || x >= 9007199254740992.0)
            return -1;
        m = (uint64_t)ldexp(frexp(x, &ex), 53);
        b = 53 - ex + 2;
        if (m == 1ULL << 52 || b > 70)
            return -1; /* a power of two has a lopsided interval: leave it to printing */
        big_x = (u128)m * 4 * pow_a;
        u128 lit = (u128)d << b, diff = absdiff(big_x, lit);
        if (diff < half)
            ok = 1;
        else if (diff == half)
            return -1; /* a tie: strtod's even rule decides */
        else
            x = nextafter(x, big_x > lit ? 0.0 : HUGE_VAL);
    }
    if (!ok)
        return -1;
    *out = x;
    /* What the writer prints: the nearest p-digit decimal to x, for the
     * first p from 15 that reads back as x. */
    for (long p = 15; p <= digits; p++) {
        uint64_t unit = pow10_u64(digits - p), base = d / unit, best = 0;
        u128 best_diff = 0;
        int tie = 0, have = 0;

        for (int j = -3; j <= 3; j++) {
            if ((int64_t)base + j < 0)
                continue;
            uint64_t g = (base + (uint64_t)(int64_t)j) * unit;
            u128 diff = absdiff(big_x, (u128)g << b);
            if (!have || diff < best_diff) {
                best = g;
                best_diff = diff;
                tie = 0;
                have = 1;
            } else if (diff == best_diff) {
                tie = 1;
            }
        }
        if (tie || best / unit < pow10_u64(p - 1) || best / unit >= pow10_u64(p))
            return -1; /* a tie, or x's decimal magnitude is not the literal's */
        if (p < digits) {
            if (best_diff < half)
                return 0; /* a shorter text reads back: the writer would not give D */
            if (best_diff == half)
                return -1;
        } else {
            return best == d;
        }
    }
    return -1;
}

/*
 * Reads the number at r->p into ev (kind, integer or number, text). sig
 * counts the mantissa's digits from the first nonzero one; trailing counts
 * the zeros ending it; m holds the first 19 of them.
 */
static int read_number(reader *r, enigma_json_event *ev)
{
    const char *s = r->p, *p = s, *end = r->end;
    int negative = 0, fraction = 0, exponent = 0, exp_negative = 0;
    uint64_t m = 0;
    long sig = 0, trailing = 0, frac_digits = 0, exp_value = 0, int_digits = 0;

    if (*p == '-') {
        negative = 1;
        p++;
    }
    if (p >= end || !is_digit(*p))
        return fail_at(r, p, "expected a digit");
    if (*p == '0') {
        p++;
        int_digits = 1;
        if (p < end && is_digit(*p))
            return fail_plain(r, s, "a number cannot have a leading zero");
    } else {
        for (; p < end && is_digit(*p); p++) {
            sig++;
            trailing = *p == '0' ? trailing + 1 : 0;
            if (sig <= 19)
                m = m * 10 + (uint64_t)(*p - '0');
        }
        int_digits = sig;
    }
    if (p < end && *p == '.') {
        fraction = 1;
        p++;
        if (p >= end || !is_digit(*p))
            return fail_at(r, p, "expected a digit after the decimal point");
        for (; p < end && is_digit(*p); p++) {
            frac_digits++;
            if (sig == 0 && *p == '0')
                continue; /* leading zeros: not significant */
            sig++;
            trailing = *p == '0' ? trailing + 1 : 0;
            if (sig <= 19)
                m = m * 10 + (uint64_t)(*p - '0');
        }
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        exponent = 1;
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            exp_negative = *p++ == '-';
        if (p >= end || !is_digit(*p))
            return fail_at(r, p, "expected a digit in the exponent");
        for (; p < end && is_digit(*p); p++)
            if (exp_value < 1000000000L) /* saturates far past any limit */
                exp_value = exp_value * 10 + (*p - '0');
        if (exp_negative)
            exp_value = -exp_value;
    }
    r->p = p;
    ev->text = s;
    ev->len = (size_t)(p - s);

    if (!fraction && !exponent) {
        /* at most 19 digits always fit in uint64 */
        if (int_digits <= 19 && m <= (uint64_t)INT64_MAX + (uint64_t)negative) {
            ev->kind = ENIGMA_JSON_INTEGER;
            ev->integer = negative ? (m == 0 ? 0 : -(int64_t)(m - 1) - 1) : (int64_t)m;
        } else {
            ev->kind = ENIGMA_JSON_DECIMAL;
        }
        return 0;
    }

    /* value = D * 10^e10, D the significant digits without trailing zeros */
    long digits = sig - trailing;
    long e10 = exp_value - frac_digits + trailing;
    double x;

    if (sig == 0) { /* zero, however written */
        ev->kind = ENIGMA_JSON_FLOAT;
        ev->number = negative ? -0.0 : 0.0;
        return 0;
    }
    if (digits > 17) {
        ev->kind = ENIGMA_JSON_DECIMAL; /* more digits than any double's text */
        return 0;
    }
    uint64_t d = m;
    for (long i = (sig < 19 ? sig : 19) - digits; i > 0; i--)
        d /= 10;
    if (digits <= 15 && e10 >= -22 && e10 <= 22) {
        /* Clinger's fast path: D and 10^|e10| are exact doubles, so one
         * correctly rounded operation gives the nearest double. */
        x = e10 >= 0 ? (double)d * exact_pow10[e10] : (double)d / exact_pow10[-e10];
        ev->kind = ENIGMA_JSON_FLOAT;
        ev->number = negative ? -x : x;
        return 0;
    }

    if (digits >= 16) {
        int known = classify_long(d, digits, e10, &x);

        if (known >= 0) {
            ev->kind = known ? ENIGMA_JSON_FLOAT : ENIGMA_JSON_DECIMAL;
            ev->number = negative ? -x : x;
            return 0;
        }
    }

    char canon[48], back[ENIGMA_JSON_DOUBLE_MAX], want[24], got[24];
    long want_exp, got_exp;
    int want_n, got_n;

    snprintf(canon, sizeof canon, "%s%llue%ld", negative ? "-" : "", (unsigned long long)d, e10);
    x = c_strtod(canon);
    ev->kind = ENIGMA_JSON_DECIMAL;
    if (!isfinite(x) || x == 0)
        return 0; /* out of range, or lost to underflow */
    if (digits <= 15 && fabs(x) >= DBL_MIN) {
        ev->kind = ENIGMA_JSON_FLOAT; /* DBL_DIG: 15 digits always read back */
        ev->number = x;
        return 0;
    }
    if (enigma_json_format_double(back, x) == 0)
        return 0;
    want_n = canonical_digits(canon, want, &want_exp);
    got_n = canonical_digits(back, got, &got_exp);
    if (want_n == got_n && want_exp == got_exp && memcmp(want, got, (size_t)want_n) == 0) {
        ev->kind = ENIGMA_JSON_FLOAT;
        ev->number = x;
    }
    return 0;
}

/* --- the reader ------------------------------------------------------------------------ */

static inline const char *skip_space(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
        p++;
    return p;
}

static int literal(reader *r, const char *word, size_t n, enigma_json_kind kind,
                   enigma_json_event *ev)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return fail_at(r, r->p, "expected a value");
    r->p += n;
    ev->kind = kind;
    return 0;
}

/* Opens an array or object at r->p: reports its start, pushes a level. */
static int open_container(reader *r, enigma_json_event *ev, enigma_json_kind kind)
{
    if (r->depth >= ENIGMA_JSON_MAX_DEPTH) {
        enigma_error_set(r->err, ERR_CODE, "invalid JSON: nested deeper than %d arrays and objects",
                         ENIGMA_JSON_MAX_DEPTH);
        append_position(r, r->p);
        return -1;
    }
    ev->kind = kind;
    if (emit(r, ev) != 0)
        return -1;
    r->depth++;
    r->in[r->depth] =
        kind == ENIGMA_JSON_ARRAY_BEGIN ? ENIGMA_JSON_IN_ARRAY : ENIGMA_JSON_IN_OBJECT;
    r->count[r->depth] = 0;
    r->p++;
    return 0;
}

/* Closes the innermost container at r->p: reports its end where it goes. */
static int close_container(reader *r, enigma_json_kind kind)
{
    enigma_json_event ev;

    memset(&ev, 0, sizeof ev);
    ev.kind = kind;
    ev.offset = (size_t)(r->p - r->start);
    ev.count = r->count[r->depth];
    r->depth--;
    ev.in = (enigma_json_place)r->in[r->depth];
    ev.index = r->count[r->depth];
    r->p++;
    return emit(r, &ev);
}

static int read_all(reader *r)
{
    const char *end = r->end;
    enigma_json_event ev;

    r->depth = 0;
    r->in[0] = ENIGMA_JSON_IN_TOP;
    r->count[0] = 0;
    r->p = skip_space(r->p, end);
    if (end - r->p >= 3 && memcmp(r->p, "\xEF\xBB\xBF", 3) == 0)
        return fail_plain(r, r->p, "a byte order mark is not allowed");

value:
    r->p = skip_space(r->p, end);
    memset(&ev, 0, sizeof ev);
    ev.in = (enigma_json_place)r->in[r->depth];
    ev.offset = (size_t)(r->p - r->start);
    if (ev.in != ENIGMA_JSON_IN_OBJECT)
        ev.index = ++r->count[r->depth];
    if (r->p >= end)
        return fail_at(r, r->p, "expected a value");
    switch (*r->p) {
    case '{':
        if (open_container(r, &ev, ENIGMA_JSON_OBJECT_BEGIN) != 0)
            return -1;
        r->p = skip_space(r->p, end);
        if (r->p < end && *r->p == '}') {
            if (close_container(r, ENIGMA_JSON_OBJECT_END) != 0)
                return -1;
            goto after;
        }
        goto key;
    case '[':
        if (open_container(r, &ev, ENIGMA_JSON_ARRAY_BEGIN) != 0)
            return -1;
        r->p = skip_space(r->p, end);
        if (r->p < end && *r->p == ']') {
            if (close_container(r, ENIGMA_JSON_ARRAY_END) != 0)
                return -1;
            goto after;
        }
        goto value;
    case '"':
        ev.kind = ENIGMA_JSON_STRING;
        if (read_string(r, &ev.text, &ev.len) != 0)
            return -1;
        break;
    case 't':
        if (literal(r, "true", 4, ENIGMA_JSON_TRUE, &ev) != 0)
            return -1;
        break;
    case 'f':
        if (literal(r, "false", 5, ENIGMA_JSON_FALSE, &ev) != 0)
            return -1;
        break;
    case 'n':
        if (literal(r, "null", 4, ENIGMA_JSON_NULL, &ev) != 0)
            return -1;
        break;
    default:
        if (*r->p != '-' && !is_digit(*r->p))
            return fail_at(r, r->p, "expected a value");
        if (read_number(r, &ev) != 0)
            return -1;
    }
    if (emit(r, &ev) != 0)
        return -1;

after:
    r->p = skip_space(r->p, end);
    switch (r->in[r->depth]) {
    case ENIGMA_JSON_IN_TOP:
        if (r->p < end)
            return fail_at(r, r->p, "expected the end of the text after the value");
        return 0;
    case ENIGMA_JSON_IN_ARRAY:
        if (r->p < end && *r->p == ',') {
            r->p = skip_space(r->p + 1, end);
            if (r->p < end && *r->p == ']')
                return fail_plain(r, r->p, "a trailing comma before ']'");
            goto value;
        }
        if (r->p < end && *r->p == ']') {
            if (close_container(r, ENIGMA_JSON_ARRAY_END) != 0)
                return -1;
            goto after;
        }
        return fail_at(r, r->p, "expected ',' or ']' after an array element");
    default:
        if (r->p < end && *r->p == ',') {
            r->p = skip_space(r->p + 1, end);
            if (r->p < end && *r->p == '}')
                return fail_plain(r, r->p, "a trailing comma before '}'");
            goto key;
        }
        if (r->p < end && *r->p == '}') {
            if (close_container(r, ENIGMA_JSON_OBJECT_END) != 0)
                return -1;
            goto after;
        }
        return fail_at(r, r->p, "expected ',' or '}' after an object member");
    }

key:
    r->p = skip_space(r->p, end);
    if (r->p >= end || *r->p != '"')
        return fail_at(r, r->p, "expected a string (an object member's name)");
    memset(&ev, 0, sizeof ev);
    ev.kind = ENIGMA_JSON_KEY;
    ev.in = ENIGMA_JSON_IN_OBJECT;
    ev.offset = (size_t)(r->p - r->start);
    ev.index = ++r->count[r->depth];
    if (read_string(r, &ev.text, &ev.len) != 0 || emit(r, &ev) != 0)
        return -1;
    r->p = skip_space(r->p, end);
    if (r->p >= end || *r->p != ':')
        return fail_at(r, r->p, "expected ':' after an object member's name");
    r->p++;
    goto value;
}

int enigma_json_read(const char *text, size_t len, const enigma_json_handler *h, void *ud,
                     enigma_error *err)
{
    reader r;
    int rc;

    r.start = r.p = text;
    r.end = text + len;
    r.h = h;
    r.ud = ud;
    r.err = err;
    r.scratch = NULL;
    r.owns_scratch = 0;
    rc = read_all(&r);
    if (r.owns_scratch)
        free(r.scratch);
    return rc;
}
