/*
 * core/decimal: parsing and printing PostgreSQL NUMERIC text, exact
 * arithmetic, each rounding mode, division, limits. The cases are tables.
 */
#include "core/decimal.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

enum op { ADD, SUB, MUL, IDIV, MOD };

/* The text of `d` in one of a few rotating buffers, for CHECK_STR. */
static const char *text_of(const enigma_decimal *d)
{
    static char bufs[4][256];
    static int next;
    char *buf = bufs[next++ % 4];

    if (enigma_decimal_format_to(d, buf, sizeof bufs[0]) == 0)
        return "(too long for the test buffer)";
    return buf;
}

static int parse(enigma_decimal *d, const char *text, enigma_error *err)
{
    return enigma_decimal_parse(d, text, strlen(text), err);
}

/* A string of `n` copies of `c` after `prefix`; the caller frees it. */
static char *repeat(const char *prefix, char c, size_t n)
{
    size_t plen = strlen(prefix);
    char *s = malloc(plen + n + 1);

    memcpy(s, prefix, plen);
    memset(s + plen, c, n);
    s[plen + n] = '\0';
    return s;
}

static const struct {
    const char *text;
    const char *want; /* NULL: rejected with `code` */
    const char *code;
} parse_cases[] = {
    /* what PostgreSQL prints */
    {"123", "123", NULL},
    {"-0.000000000000000001", "-0.000000000000000001", NULL},
    {"1.500000000000000000", "1.500000000000000000", NULL},
    {"123456789012345678901234567890.123456789012345678",
     "123456789012345678901234567890.123456789012345678", NULL},
    {"1.50", "1.50", NULL},
    {"-0.5", "-0.5", NULL},
    {"0.00", "0.00", NULL},
    {"0", "0", NULL},
    /* what else is accepted, and how it prints */
    {"-0", "0", NULL},
    {"-0.00", "0.00", NULL},
    {"+5", "5", NULL},
    {"007.10", "7.10", NULL},
    {".5", "0.5", NULL},
    {"1.", "1", NULL},
    {"2.5E+3", "2500", NULL},
    {"1e-5", "0.00001", NULL},
    {"1E3", "1000", NULL},
    {"1e0", "1", NULL},
    {"1.50e1", "15.0", NULL},
    {"12.345e1", "123.45", NULL},
    {"-1.5e-3", "-0.0015", NULL},
    {"0e5", "0", NULL},
    {"0.00e-2", "0.0000", NULL},
    /* rejected */
    {"", NULL, "EINVAL"},
    {"1.2.3", NULL, "EINVAL"},
    {"abc", NULL, "EINVAL"},
    {" 1", NULL, "EINVAL"},
    {"1 ", NULL, "EINVAL"},
    {"1e", NULL, "EINVAL"},
    {"1e+", NULL, "EINVAL"},
    {"--1", NULL, "EINVAL"},
    {"+-1", NULL, "EINVAL"},
    {"0x10", NULL, "EINVAL"},
    {"NaN", NULL, "EINVAL"},
    {"Infinity", NULL, "EINVAL"},
    {"-Infinity", NULL, "EINVAL"},
    {"inf", NULL, "EINVAL"},
    {"+", NULL, "EINVAL"},
    {"-", NULL, "EINVAL"},
    {".", NULL, "EINVAL"},
    {"e5", NULL, "EINVAL"},
    {"1..2", NULL, "EINVAL"},
    {"1,5", NULL, "EINVAL"},
    {"1e5.5", NULL, "EINVAL"},
    {"1_000", NULL, "EINVAL"},
    {"1e999999999", NULL, "ERANGE"},
    {"1e-999999999", NULL, "ERANGE"},
    {"0e999999999", NULL, "ERANGE"},
    {"1e200000", NULL, "ERANGE"},
    {"1e-20001", NULL, "ERANGE"},
    {"1e99999999999999999999999999", NULL, "ERANGE"},
};

static void test_parse_format(void)
{
    size_t i;

    for (i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        enigma_decimal d;
        enigma_error err;
        int rc;

        enigma_decimal_init(&d);
        enigma_error_clear(&err);
        rc = parse(&d, parse_cases[i].text, &err);
        if (parse_cases[i].want != NULL) {
            CHECK(rc == 0);
            CHECK_STR(text_of(&d), parse_cases[i].want);
        } else {
            char quoted[64];
            CHECK(rc == -1);
            CHECK_STR(err.code, parse_cases[i].code);
            snprintf(quoted, sizeof quoted, "\"%s\"", parse_cases[i].text);
            CHECK(strstr(err.message, quoted) != NULL); /* names the bad text */
            CHECK_STR(text_of(&d), "0");                 /* left alone */
        }
        enigma_decimal_clear(&d);
    }
}

static void test_parse_details(void)
{
    enigma_decimal d;
    enigma_error err;
    char *s, buf[4];

    enigma_decimal_init(&d);
    CHECK(enigma_decimal_parse(&d, "12345", 3, &err) == 0); /* reads only len bytes */
    CHECK_STR(text_of(&d), "123");
    CHECK(enigma_decimal_parse(&d,
                               "1\0"
                               "2",
                               3, &err) == -1);
    CHECK_STR(err.message, "invalid decimal: \"1\\x002\"");
    CHECK(parse(&d, "1.2.3", &err) == -1);
    CHECK_STR(err.message, "invalid decimal: \"1.2.3\"");

    /* format_to refuses a buffer that is too small */
    CHECK(parse(&d, "-12.5", &err) == 0);
    CHECK(enigma_decimal_format_to(&d, buf, sizeof buf) == 0);
    s = enigma_decimal_format(&d);
    CHECK_STR(s, "-12.5");
    free(s);

    /* at the limits: 200000 digits and scale 20000 are fine, one more is not */
    s = repeat("", '9', ENIGMA_DECIMAL_MAX_DIGITS);
    CHECK(parse(&d, s, &err) == 0);
    {
        char *back = enigma_decimal_format(&d);
        CHECK(back != NULL && strcmp(back, s) == 0);
        free(back);
    }
    {
        enigma_decimal one;
        enigma_decimal_init(&one);
        enigma_decimal_from_int64(&one, 1);
        CHECK(enigma_decimal_add(&d, &d, &one, &err) == -1);
        CHECK_STR(err.code, "ERANGE");
        CHECK(enigma_decimal_sub(&d, &d, &one, &err) == 0);
        enigma_decimal_clear(&one);
    }
    free(s);
    CHECK(parse(&d, "1e199999", &err) == 0);
    s = repeat("0.", '1', ENIGMA_DECIMAL_MAX_SCALE);
    CHECK(parse(&d, s, &err) == 0);
    CHECK(d.scale == ENIGMA_DECIMAL_MAX_SCALE);
    free(s);
    s = repeat("0.", '0', ENIGMA_DECIMAL_MAX_SCALE + 1);
    CHECK(parse(&d, s, &err) == -1);
    CHECK_STR(err.code, "ERANGE");
    CHECK(strstr(err.message, "...") != NULL); /* long text is cut short */
    free(s);
    s = repeat("", '0', 1000000); /* a million leading zeros is still just 0 */
    CHECK(parse(&d, s, &err) == 0);
    CHECK_STR(text_of(&d), "0");
    free(s);
    enigma_decimal_clear(&d);
}

static const struct {
    enum op op;
    const char *a, *b, *want;
} arith_cases[] = {
    {ADD, "0.1", "0.2", "0.3"},
    {ADD, "1.000000000000000001", "1", "2.000000000000000001"},
    {ADD, "1.50", "2.5", "4.00"},
    {ADD, "1.5", "-1.5", "0.0"},
    {ADD, "10000000000000000000000000000000000000000", "1",
     "10000000000000000000000000000000000000001"},
    {ADD, "-0.000000000000000001", "0.000000000000000001", "0.000000000000000000"},
    {SUB, "0.3", "0.1", "0.2"},
    {SUB, "1", "1.000000000000000001", "-0.000000000000000001"},
    {SUB, "10000000000000000000000000000000000000000", "0.000000000000000001",
     "9999999999999999999999999999999999999999.999999999999999999"},
    {MUL, "1.5", "1.5", "2.25"},
    {MUL, "-0.1", "0.1", "-0.01"},
    {MUL, "1.50", "2", "3.00"},
    {MUL, "0.00", "-5", "0.00"},
    {MUL, "1e20", "1e20", "10000000000000000000000000000000000000000"},
    {MUL, "99999999999999999999.999999999999999999", "-2",
     "-199999999999999999999.999999999999999998"},
    {IDIV, "7.5", "2", "3"},
    {IDIV, "-7.5", "2", "-4"},
    {IDIV, "7.5", "-2", "-4"},
    {IDIV, "-7.5", "-2", "3"},
    {IDIV, "6", "2", "3"},
    {IDIV, "1", "0.3", "3"},
    {MOD, "5.5", "2", "1.5"},
    {MOD, "-5.5", "2", "0.5"},
    {MOD, "5.5", "-2", "-0.5"},
    {MOD, "-5.5", "-2", "-1.5"},
    {MOD, "7", "7", "0"},
    {MOD, "0.3", "0.1", "0.0"},
    {MOD, "1", "0.3", "0.1"},
};

static void test_arithmetic(void)
{
    size_t i;

    for (i = 0; i < sizeof arith_cases / sizeof arith_cases[0]; i++) {
        enigma_decimal a, b, r;
        enigma_error err;
        int rc = -1;

        enigma_decimal_init(&a);
        enigma_decimal_init(&b);
        enigma_decimal_init(&r);
        CHECK(parse(&a, arith_cases[i].a, &err) == 0);
        CHECK(parse(&b, arith_cases[i].b, &err) == 0);
        switch (arith_cases[i].op) {
        case ADD:
            rc = enigma_decimal_add(&r, &a, &b, &err);
            break;
        case SUB:
            rc = enigma_decimal_sub(&r, &a, &b, &err);
            break;
        case MUL:
            rc = enigma_decimal_mul(&r, &a, &b, &err);
            break;
        case IDIV:
            rc = enigma_decimal_idiv(&r, &a, &b, &err);
            break;
        case MOD:
            rc = enigma_decimal_mod(&r, &a, &b, &err);
            break;
        }
        CHECK(rc == 0);
        CHECK_STR(text_of(&r), arith_cases[i].want);
        enigma_decimal_clear(&a);
        enigma_decimal_clear(&b);
        enigma_decimal_clear(&r);
    }
}

static const struct {
    const char *a, *b;
    int scale;
    enigma_rounding mode;
    const char *want;
} div_cases[] = {
    {"1", "3", 18, ENIGMA_ROUND_HALF_UP, "0.333333333333333333"},
    {"2", "3", 18, ENIGMA_ROUND_HALF_UP, "0.666666666666666667"},
    {"-2", "3", 18, ENIGMA_ROUND_HALF_UP, "-0.666666666666666667"},
    {"2", "3", 18, ENIGMA_ROUND_DOWN, "0.666666666666666666"},
    {"1", "8", 2, ENIGMA_ROUND_HALF_UP, "0.13"},
    {"1", "8", 2, ENIGMA_ROUND_HALF_EVEN, "0.12"},
    {"-1", "8", 2, ENIGMA_ROUND_HALF_EVEN, "-0.12"},
    {"-1", "8", 2, ENIGMA_ROUND_HALF_UP, "-0.13"},
    {"10", "4", 0, ENIGMA_ROUND_HALF_EVEN, "2"},
    {"1", "3", 0, ENIGMA_ROUND_CEIL, "1"},
    {"-1", "3", 0, ENIGMA_ROUND_FLOOR, "-1"},
    {"-1", "3", 0, ENIGMA_ROUND_DOWN, "0"},
    {"-1", "3", 0, ENIGMA_ROUND_CEIL, "0"},
    {"1", "-3", 2, ENIGMA_ROUND_UP, "-0.34"},
    {"1.00", "0.5", 2, ENIGMA_ROUND_HALF_UP, "2.00"},
    {"0.000000000000000001", "1000", 18, ENIGMA_ROUND_HALF_UP, "0.000000000000000000"},
    {"0.000000000000000001", "1000", 21, ENIGMA_ROUND_HALF_UP, "0.000000000000000000001"},
    {"100", "0.001", 0, ENIGMA_ROUND_HALF_UP, "100000"},
};

static void test_division(void)
{
    size_t i;
    enigma_decimal a, b, r;
    enigma_error err;

    enigma_decimal_init(&a);
    enigma_decimal_init(&b);
    enigma_decimal_init(&r);
    for (i = 0; i < sizeof div_cases / sizeof div_cases[0]; i++) {
        CHECK(parse(&a, div_cases[i].a, &err) == 0);
        CHECK(parse(&b, div_cases[i].b, &err) == 0);
        CHECK(enigma_decimal_div(&r, &a, &b, div_cases[i].scale, div_cases[i].mode, &err) == 0);
        CHECK_STR(text_of(&r), div_cases[i].want);
    }

    /* by zero, whatever its scale: EDIVZERO, and r untouched */
    CHECK(parse(&a, "1", &err) == 0);
    CHECK(parse(&r, "42", &err) == 0);
    for (i = 0; i < 2; i++) {
        CHECK(parse(&b, i == 0 ? "0" : "-0.00", &err) == 0);
        CHECK(enigma_decimal_div(&r, &a, &b, 18, ENIGMA_ROUND_HALF_UP, &err) == -1);
        CHECK_STR(err.code, "EDIVZERO");
        CHECK_STR(err.message, "division by zero");
        CHECK(enigma_decimal_idiv(&r, &a, &b, &err) == -1);
        CHECK_STR(err.code, "EDIVZERO");
        CHECK(enigma_decimal_mod(&r, &a, &b, &err) == -1);
        CHECK_STR(err.code, "EDIVZERO");
        CHECK_STR(text_of(&r), "42");
    }
    CHECK(parse(&b, "3", &err) == 0);
    CHECK(enigma_decimal_div(&r, &a, &b, -1, ENIGMA_ROUND_HALF_UP, &err) == -1);
    CHECK_STR(err.code, "ERANGE");
    CHECK(enigma_decimal_div(&r, &a, &b, ENIGMA_DECIMAL_MAX_SCALE + 1, ENIGMA_ROUND_HALF_UP,
                             &err) == -1);
    CHECK_STR(err.code, "ERANGE");
    CHECK(enigma_decimal_div(&r, &a, &b, 2, ENIGMA_ROUND_HALF_UP, NULL) == 0); /* err may be NULL */
    CHECK_STR(text_of(&r), "0.33");
    CHECK(parse(&b, "0", &err) == 0);
    CHECK(enigma_decimal_div(&r, &a, &b, 2, ENIGMA_ROUND_HALF_UP, NULL) == -1);

    /* results past the limits fail instead of growing */
    CHECK(parse(&a, "1e150000", &err) == 0);
    CHECK(enigma_decimal_mul(&r, &a, &a, &err) == -1);
    CHECK_STR(err.code, "ERANGE");
    CHECK(parse(&a, "1e190000", &err) == 0);
    CHECK(parse(&b, "1e-20000", &err) == 0);
    CHECK(enigma_decimal_div(&r, &a, &b, 0, ENIGMA_ROUND_HALF_UP, &err) == -1);
    CHECK_STR(err.code, "ERANGE");
    enigma_decimal_clear(&a);
    enigma_decimal_clear(&b);
    enigma_decimal_clear(&r);
}

#define H ENIGMA_ROUND_HALF_UP
#define E ENIGMA_ROUND_HALF_EVEN
#define D ENIGMA_ROUND_DOWN
#define U ENIGMA_ROUND_UP
#define F ENIGMA_ROUND_FLOOR
#define C ENIGMA_ROUND_CEIL

static const struct {
    const char *value;
    int scale;
    enigma_rounding mode;
    const char *want;
} round_cases[] = {
    {"2.5", 0, H, "3"},
    {"2.5", 0, E, "2"},
    {"2.5", 0, D, "2"},
    {"2.5", 0, U, "3"},
    {"2.5", 0, F, "2"},
    {"2.5", 0, C, "3"},
    {"-2.5", 0, H, "-3"},
    {"-2.5", 0, E, "-2"},
    {"-2.5", 0, D, "-2"},
    {"-2.5", 0, U, "-3"},
    {"-2.5", 0, F, "-3"},
    {"-2.5", 0, C, "-2"},
    {"2.45", 1, H, "2.5"},
    {"2.45", 1, E, "2.4"},
    {"2.45", 1, D, "2.4"},
    {"2.45", 1, U, "2.5"},
    {"2.45", 1, F, "2.4"},
    {"2.45", 1, C, "2.5"},
    {"-2.45", 1, H, "-2.5"},
    {"-2.45", 1, E, "-2.4"},
    {"-2.45", 1, D, "-2.4"},
    {"-2.45", 1, U, "-2.5"},
    {"-2.45", 1, F, "-2.5"},
    {"-2.45", 1, C, "-2.4"},
    {"3.5", 0, E, "4"},
    {"-3.5", 0, E, "-4"},
    {"2.46", 1, E, "2.5"},
    {"2.44", 1, H, "2.4"},
    {"2.41", 1, U, "2.5"},
    {"2.49", 1, D, "2.4"},
    {"0.4", 0, H, "0"},
    {"-0.4", 0, H, "0"},
    {"-0.4", 0, F, "-1"},
    {"0.4", 0, C, "1"},
    {"1.5", 3, H, "1.500"},
    {"1.50", 2, H, "1.50"},
    {"1234.5", -2, H, "1200"},
    {"1250", -2, E, "1200"},
    {"1250", -2, H, "1300"},
    {"-0.000000000000000001", 17, H, "0.00000000000000000"},
    {"-0.000000000000000005", 17, H, "-0.00000000000000001"},
};

static void test_rounding(void)
{
    size_t i;
    enigma_decimal a, r;
    enigma_error err;

    enigma_decimal_init(&a);
    enigma_decimal_init(&r);
    for (i = 0; i < sizeof round_cases / sizeof round_cases[0]; i++) {
        CHECK(parse(&a, round_cases[i].value, &err) == 0);
        CHECK(enigma_decimal_round(&r, &a, round_cases[i].scale, round_cases[i].mode, &err) == 0);
        CHECK_STR(text_of(&r), round_cases[i].want);
    }
    CHECK(enigma_decimal_round(&a, &a, 0, H, &err) == 0); /* in place */
    CHECK_STR(text_of(&a), "0");
    CHECK(enigma_decimal_round(&r, &a, ENIGMA_DECIMAL_MAX_SCALE + 1, H, &err) == -1);
    CHECK_STR(err.code, "ERANGE");
    enigma_decimal_clear(&a);
    enigma_decimal_clear(&r);
}

static const struct {
    const char *a, *b;
    int want;
} cmp_cases[] = {
    {"1.50", "1.5", 0},
    {"0.1", "0.2", -1},
    {"0.2", "0.1", 1},
    {"-1", "-0.5", -1},
    {"0", "-0.00", 0},
    {"-0.000000000000000001", "0", -1},
    {"10000000000000000000000000000000000000000", "9999999999999999999999999999999999999999.9", 1},
    {"-10000000000000000000000000000000000000000", "1", -1},
};

static void test_compare_and_signs(void)
{
    size_t i;
    enigma_decimal a, b, r;
    enigma_error err;

    enigma_decimal_init(&a);
    enigma_decimal_init(&b);
    enigma_decimal_init(&r);
    for (i = 0; i < sizeof cmp_cases / sizeof cmp_cases[0]; i++) {
        CHECK(parse(&a, cmp_cases[i].a, &err) == 0);
        CHECK(parse(&b, cmp_cases[i].b, &err) == 0);
        CHECK(enigma_decimal_cmp(&a, &b) == cmp_cases[i].want);
        CHECK(enigma_decimal_cmp(&b, &a) == -cmp_cases[i].want);
    }

    /* 0.1 + 0.2 == 0.3 exactly */
    CHECK(parse(&a, "0.1", &err) == 0);
    CHECK(parse(&b, "0.2", &err) == 0);
    CHECK(enigma_decimal_add(&r, &a, &b, &err) == 0);
    CHECK(parse(&a, "0.3", &err) == 0);
    CHECK(enigma_decimal_cmp(&r, &a) == 0);

    CHECK(parse(&a, "-1.50", &err) == 0);
    CHECK(enigma_decimal_sign(&a) == -1);
    enigma_decimal_neg(&r, &a);
    CHECK_STR(text_of(&r), "1.50");
    CHECK(enigma_decimal_sign(&r) == 1);
    enigma_decimal_abs(&r, &a);
    CHECK_STR(text_of(&r), "1.50");
    enigma_decimal_neg(&a, &a);
    CHECK_STR(text_of(&a), "1.50");
    CHECK(parse(&a, "0.00", &err) == 0);
    enigma_decimal_neg(&r, &a);
    CHECK_STR(text_of(&r), "0.00");
    CHECK(enigma_decimal_sign(&r) == 0);
    enigma_decimal_set(&r, &b);
    CHECK_STR(text_of(&r), "0.2");
    CHECK(enigma_decimal_add(&b, &b, &b, &err) == 0); /* result aliases both operands */
    CHECK_STR(text_of(&b), "0.4");
    enigma_decimal_clear(&a);
    enigma_decimal_clear(&b);
    enigma_decimal_clear(&r);
}

static const struct {
    double x;
    const char *want;
} from_double_cases[] = {
    {0.1, "0.1"},
    {0.3, "0.3"},
    {0.1 + 0.2, "0.30000000000000004"},
    {1.0 / 3.0, "0.3333333333333333"},
    {1.5, "1.5"},
    {-2.0, "-2"},
    {-0.0, "0"},
    {123456.789, "123456.789"},
    {1e20, "100000000000000000000"},
    {1.5e-7, "0.00000015"},
    {9007199254740993.0, "9007199254740992"},
};

static void test_doubles(void)
{
    size_t i;
    enigma_decimal d;
    enigma_error err;

    enigma_decimal_init(&d);
    for (i = 0; i < sizeof from_double_cases / sizeof from_double_cases[0]; i++) {
        CHECK(enigma_decimal_from_double(&d, from_double_cases[i].x, &err) == 0);
        CHECK_STR(text_of(&d), from_double_cases[i].want);
        CHECK(enigma_decimal_to_double(&d) == from_double_cases[i].x);
    }
    CHECK(enigma_decimal_from_double(&d, 5e-324, &err) == 0); /* the smallest denormal */
    CHECK(enigma_decimal_to_double(&d) == 5e-324);
    CHECK(enigma_decimal_from_double(&d, 1.7976931348623157e308, &err) == 0);
    CHECK(enigma_decimal_to_double(&d) == 1.7976931348623157e308);
    CHECK(enigma_decimal_from_double(&d, NAN, &err) == -1);
    CHECK_STR(err.code, "EINVAL");
    CHECK(enigma_decimal_from_double(&d, INFINITY, &err) == -1);
    CHECK_STR(err.code, "ERANGE");
    CHECK(enigma_decimal_from_double(&d, -INFINITY, &err) == -1);
    CHECK_STR(err.code, "ERANGE");

    CHECK(parse(&d, "0.30000000000000004", &err) == 0);
    CHECK(enigma_decimal_to_double(&d) == 0.1 + 0.2);
    CHECK(parse(&d, "-123456789012345678901234567890", &err) == 0);
    CHECK(enigma_decimal_to_double(&d) == -1.2345678901234568e29);
    CHECK(parse(&d, "1e400", &err) == 0);
    CHECK(enigma_decimal_to_double(&d) == HUGE_VAL);
    CHECK(parse(&d, "1.000000000000000001", &err) == 0);
    CHECK(enigma_decimal_to_double(&d) == 1.0);
    enigma_decimal_clear(&d);
}

static const struct {
    const char *text;
    int ok;
    int64_t want;
} int64_cases[] = {
    {"42", 1, 42},
    {"-42", 1, -42},
    {"2.00", 1, 2},
    {"0.000", 1, 0},
    {"9223372036854775807", 1, INT64_MAX},
    {"-9223372036854775808", 1, INT64_MIN},
    {"-9223372036854775808.000", 1, INT64_MIN},
    {"1.5", 0, 0},
    {"-0.000000000000000001", 0, 0},
    {"9223372036854775808", 0, 0},
    {"-9223372036854775809", 0, 0},
    {"18446744073709551616", 0, 0},
    {"10000000000000000000000000000000000000000", 0, 0},
};

static void test_integers(void)
{
    size_t i;
    enigma_decimal d;
    enigma_error err;

    enigma_decimal_init(&d);
    for (i = 0; i < sizeof int64_cases / sizeof int64_cases[0]; i++) {
        int64_t got = 7;
        CHECK(parse(&d, int64_cases[i].text, &err) == 0);
        if (int64_cases[i].ok) {
            CHECK(enigma_decimal_to_int64(&d, &got) == 0);
            CHECK(got == int64_cases[i].want);
        } else {
            CHECK(enigma_decimal_to_int64(&d, &got) == -1);
            CHECK(got == 7);
        }
    }
    enigma_decimal_from_int64(&d, INT64_MIN);
    CHECK_STR(text_of(&d), "-9223372036854775808");
    enigma_decimal_from_int64(&d, INT64_MAX);
    CHECK_STR(text_of(&d), "9223372036854775807");
    enigma_decimal_from_int64(&d, 0);
    CHECK_STR(text_of(&d), "0");
    enigma_decimal_clear(&d);
}

int main(void)
{
    test_parse_format();
    test_parse_details();
    test_arithmetic();
    test_division();
    test_rounding();
    test_compare_and_signs();
    test_doubles();
    test_integers();
    return test_report();
}
