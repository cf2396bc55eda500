/*
 * core/json: the strict reader (every malformed class refused with its
 * position), the number rule (integer, float or decimal, checked against a
 * reference that prints and compares), nesting limits, and the writer of
 * doubles. The cases are tables.
 */
#include "core/json.h"

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test.h"

/* Renders the events as compact text: i:42 f:0.5 d:1e400 s:"x" k:"x" [ ] { }. */
typedef struct render {
    char out[4096];
    size_t len;
    int fail_on_key; /* the callback refuses a KEY event */
} render;

static void put(render *r, const char *s, size_t n)
{
    if (r->len + n < sizeof r->out) {
        memcpy(r->out + r->len, s, n);
        r->len += n;
        r->out[r->len] = '\0';
    }
}

static int on_event(void *ud, const enigma_json_event *ev, enigma_error *err)
{
    render *r = ud;
    char buf[64];
    int n = 0;

    if (r->len > 0 && ev->kind != ENIGMA_JSON_ARRAY_END && ev->kind != ENIGMA_JSON_OBJECT_END)
        put(r, " ", 1);
    switch (ev->kind) {
    case ENIGMA_JSON_NULL:
        put(r, "null", 4);
        break;
    case ENIGMA_JSON_FALSE:
        put(r, "false", 5);
        break;
    case ENIGMA_JSON_TRUE:
        put(r, "true", 4);
        break;
    case ENIGMA_JSON_INTEGER:
        n = snprintf(buf, sizeof buf, "i:%lld", (long long)ev->integer);
        put(r, buf, (size_t)n);
        break;
    case ENIGMA_JSON_FLOAT:
        put(r, "f:", 2);
        n = (int)enigma_json_format_double(buf, ev->number);
        put(r, buf, (size_t)n);
        break;
    case ENIGMA_JSON_DECIMAL:
        put(r, "d:", 2);
        put(r, ev->text, ev->len);
        break;
    case ENIGMA_JSON_STRING:
    case ENIGMA_JSON_KEY:
        if (ev->kind == ENIGMA_JSON_KEY && r->fail_on_key)
            return enigma_error_set(err, "ENOPE", "no keys here");
        put(r, ev->kind == ENIGMA_JSON_KEY ? "k:\"" : "s:\"", 3);
        put(r, ev->text, ev->len);
        put(r, "\"", 1);
        break;
    case ENIGMA_JSON_ARRAY_BEGIN:
        put(r, "[", 1);
        break;
    case ENIGMA_JSON_ARRAY_END:
        n = snprintf(buf, sizeof buf, " ]%zu", ev->count);
        put(r, buf, (size_t)n);
        break;
    case ENIGMA_JSON_OBJECT_BEGIN:
        put(r, "{", 1);
        break;
    case ENIGMA_JSON_OBJECT_END:
        n = snprintf(buf, sizeof buf, " }%zu", ev->count);
        put(r, buf, (size_t)n);
        break;
    }
    return 0;
}

static const enigma_json_handler handler = {on_event, NULL};

static const char *read_text(const char *text, size_t len, enigma_error *err, int *rc)
{
    static render r;

    memset(&r, 0, sizeof r);
    *rc = enigma_json_read(text, len, &handler, &r, err);
    return r.out;
}

/* --- valid documents ------------------------------------------------------------------- */

static const struct {
    const char *text, *events;
} valid[] = {
    {"42", "i:42"},
    {" \t\r\n[ ] ", "[ ]0"},
    {"{}", "{ }0"},
    {"[1,-2,3.5,\"x\",true,false,null]", "[ i:1 i:-2 f:3.5 s:\"x\" true false null ]7"},
    {"{\"a\":{\"b\":[]},\"c\":1}", "{ k:\"a\" { k:\"b\" [ ]0 }1 k:\"c\" i:1 }2"},
    {"{\"a\":1,\"a\":2}", "{ k:\"a\" i:1 k:\"a\" i:2 }2"},
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "s:\"\"\\/\b\f\n\r\t\""},
    {"\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"", "s:\"A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\""},
    {"\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\"",
     "s:\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xF4\x8F\xBF\xBF\""},
    {"\"long string with no escapes at all, past eight bytes\"",
     "s:\"long string with no escapes at all, past eight bytes\""},
    {"\"0123456789abcdef\\n0123456789abcdef\"", "s:\"0123456789abcdef\n0123456789abcdef\""},
    {"\"\"", "s:\"\""},
    {"[[[]]]", "[ [ [ ]0 ]1 ]1"},
};

static void test_valid(void)
{
    enigma_error err;
    int rc;

    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        const char *got = read_text(valid[i].text, strlen(valid[i].text), &err, &rc);
        CHECK(rc == 0);
        CHECK_STR(got, valid[i].events);
    }
    /* "\u0000" is a NUL byte inside the string */
    const char *got = read_text("\"a\\u0000b\"", 10, &err, &rc);
    CHECK(rc == 0 && memcmp(got, "s:\"a\0b\"", 7) == 0);
    /* no terminator is needed: the length is the end */
    got = read_text("[12]34", 4, &err, &rc);
    CHECK(rc == 0);
    CHECK_STR(got, "[ i:12 ]1");
}

/* --- numbers --------------------------------------------------------------------------- */

static const struct {
    const char *text, *events;
} numbers[] = {
    {"0", "i:0"},
    {"-0", "i:0"},
    {"9007199254740992", "i:9007199254740992"},
    {"9007199254740993", "i:9007199254740993"},
    {"-9007199254740993", "i:-9007199254740993"},
    {"9223372036854775807", "i:9223372036854775807"},
    {"-9223372036854775808", "i:-9223372036854775808"},
    {"9223372036854775808", "d:9223372036854775808"},
    {"-9223372036854775809", "d:-9223372036854775809"},
    {"18446744073709551616", "d:18446744073709551616"},
    {"99999999999999999999", "d:99999999999999999999"},
    {"12345678901234567890123", "d:12345678901234567890123"},
    {"0.0", "f:0"},
    {"-0.0", "f:-0"},
    {"0e10", "f:0"},
    {"0.1", "f:0.1"},
    {"1E2", "f:100"},
    {"1e+2", "f:100"},
    {"1.5e-7", "f:1.5e-07"},
    {"100.50", "f:100.5"},
    {"0.30000000000000004", "f:0.30000000000000004"},
    {"0.10000000000000001", "d:0.10000000000000001"}, /* the writer gives 0.1 */
    {"3.141592653589793", "f:3.141592653589793"},
    {"3.1415926535897932", "d:3.1415926535897932"},
    {"3.14159265358979323846", "d:3.14159265358979323846"},
    {"1.7976931348623157e308", "f:1.7976931348623157e+308"},
    {"1e308", "f:1e+308"},
    {"1e400", "d:1e400"},
    {"-1e400", "d:-1e400"},
    {"1e-400", "d:1e-400"},
    {"5e-324", "f:5e-324"},
    {"4.9406564584124654e-324", "d:4.9406564584124654e-324"}, /* the writer gives 5e-324 */
    {"1e-320", "f:1e-320"},
    {"9.99988671826831e-321", "d:9.99988671826831e-321"}, /* a subnormal: written 1e-320 */
    {"12345678901234567890.123456789012345678", "d:12345678901234567890.123456789012345678"},
    {"1.000000000000000000000", "f:1"},
    {"123456789012345678900000e-5", "d:123456789012345678900000e-5"},
    {"2251799813685248.5", "f:2251799813685248.5"},
    {"4503599627370496.5", "d:4503599627370496.5"}, /* a tie: rounds to even, ...496 */
    {"4503599627370497.5", "d:4503599627370497.5"}, /* a tie: rounds to even, ...498 */
};

static void test_numbers(void)
{
    enigma_error err;
    int rc;

    for (size_t i = 0; i < sizeof numbers / sizeof numbers[0]; i++) {
        const char *got = read_text(numbers[i].text, strlen(numbers[i].text), &err, &rc);
        CHECK(rc == 0);
        CHECK_STR(got, numbers[i].events);
    }
}

/* The rule's reference: print the nearest double, compare values as text. */
static int same_value(const char *a, const char *b)
{
    char da[64], db[64];
    long ea = 0, eb = 0;
    int na = 0, nb = 0;

    for (int side = 0; side < 2; side++) {
        const char *s = side ? b : a;
        char *dig = side ? db : da;
        int *n = side ? &nb : &na, seen = 0, point = 0;
        long lead = 0, e = 0;

        for (; *s && *s != 'e' && *s != 'E'; s++) {
            if (*s == '.') {
                point = 1;
            } else if (*s >= '0' && *s <= '9') {
                if (!seen && *s == '0') {
                    lead -= point;
                    continue;
                }
                seen = 1;
                lead += !point;
                if (*n < 60)
                    dig[(*n)++] = *s;
            }
        }
        if (*s)
            e = strtol(s + 1, NULL, 10);
        while (*n > 0 && dig[*n - 1] == '0')
            (*n)--;
        *(side ? &eb : &ea) = *n ? lead + e : 0;
    }
    return na == nb && ea == eb && memcmp(da, db, (size_t)na) == 0 &&
           (na == 0 || (a[0] == '-') == (b[0] == '-'));
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_random(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Literals of 15 to 17 digits near random doubles (and near powers of two,
 * ties and decade edges): the reader's kind matches the printing reference. */
static void test_number_rule_against_reference(void)
{
    enigma_error err;
    int rc, mismatches = 0, floats = 0, decimals = 0;
    char lit[64], back[ENIGMA_JSON_DOUBLE_MAX];

    for (int i = 0; i < 300000; i++) {
        double x;
        uint64_t u = next_random();

        switch (i % 4) {
        case 0: /* any double in a wide range */
            x = ldexp((double)(u >> 11) / 9007199254740992.0 + 0.5, (int)(u % 140) - 70);
            break;
        case 1: /* a power of two, or next to one */
            x = ldexp(1.0, (int)(u % 120) - 60);
            x = (u & 256) ? nextafter(x, 0) : (u & 512) ? nextafter(x, 10) : x;
            break;
        case 2: /* near a power of ten */
            x = pow(10.0, (double)((int)(u % 40) - 20)) *
                (1 + ((double)(int)(u >> 60) - 8) * 1e-16);
            break;
        default: /* a computed ratio, as a program writes them */
            x = (double)(u % 1000000) / (double)(1 + (u >> 40) % 9999);
        }
        int digits = 15 + (int)((u >> 20) % 3);
        snprintf(lit, sizeof lit, "%.*g", digits, x);
        if ((u >> 24) % 5 == 0) { /* move the last digit: not the nearest text */
            size_t n = strcspn(lit, "e");
            if (n > 0 && lit[n - 1] >= '1' && lit[n - 1] <= '8')
                lit[n - 1] = (char)(lit[n - 1] + ((u >> 30) & 1 ? 1 : -1));
        }
        if (strpbrk(lit, ".e") == NULL)
            continue; /* an integer literal: an integer, not this rule */
        const char *got = read_text(lit, strlen(lit), &err, &rc);
        double nearest = strtod(lit, NULL);
        int want_float = isfinite(nearest) && enigma_json_format_double(back, nearest) > 0 &&
                         same_value(back, lit);
        int is_float = strncmp(got, "f:", 2) == 0;

        floats += is_float;
        decimals += !is_float;
        if (rc != 0 || is_float != want_float || (is_float && !same_value(got + 2, back))) {
            if (mismatches++ < 5)
                fprintf(stderr, "number rule: %s read as %s, reference %s (%s)\n", lit, got,
                        want_float ? "float" : "decimal", back);
        }
    }
    CHECK(mismatches == 0);
    CHECK(floats > 1000 && decimals > 1000); /* both kinds were exercised */
}

static void test_format_double(void)
{
    static const struct {
        double x;
        const char *text;
    } cases[] = {
        {0.1, "0.1"},
        {-0.0, "-0"},
        {0.0, "0"},
        {1e300, "1e+300"},
        {100.0, "100"},
        {0.30000000000000004, "0.30000000000000004"},
        {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e+308"},
        {9007199254740993.0, "9007199254740992"},
    };
    char buf[ENIGMA_JSON_DOUBLE_MAX];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(enigma_json_format_double(buf, cases[i].x) > 0);
        CHECK(strtod(buf, NULL) == cases[i].x);
        CHECK_STR(buf, cases[i].text);
    }
    CHECK(enigma_json_format_double(buf, NAN) == 0);
    CHECK(enigma_json_format_double(buf, HUGE_VAL) == 0);
    CHECK(enigma_json_format_double(buf, -HUGE_VAL) == 0);
}

/* --- malformed text -------------------------------------------------------------------- */

static const struct {
    const char *text;
    size_t len; /* 0: strlen */
    const char *message;
    size_t offset;
} invalid[] = {
    {"", 0, "expected a value, found the end of the text", 0},
    {"   ", 0, "expected a value, found the end of the text", 3},
    {"[1,]", 0, "a trailing comma before ']'", 3},
    {"{\"a\":1,}", 0, "a trailing comma before '}'", 7},
    {"[1 2]", 0, "expected ',' or ']' after an array element, found '2'", 3},
    {"{\"a\":1 \"b\":2}", 0, "expected ',' or '}' after an object member", 7},
    {"{\"a\" 1}", 0, "expected ':' after an object member's name", 5},
    {"{a:1}", 0, "expected a string (an object member's name), found 'a'", 1},
    {"{'a':1}", 0, "expected a string (an object member's name), found byte 0x27", 1},
    {"[1] x", 0, "expected the end of the text after the value, found 'x'", 4},
    {"1 2", 0, "expected the end of the text after the value", 2},
    {"// c\n1", 0, "expected a value, found '/'", 0},
    {"/* c */ 1", 0, "expected a value, found '/'", 0},
    {"[1 /* c */]", 0, "expected ',' or ']' after an array element, found '/'", 3},
    {"NaN", 0, "expected a value, found 'N'", 0},
    {"Infinity", 0, "expected a value, found 'I'", 0},
    {"-Infinity", 0, "expected a digit, found 'I'", 1},
    {"+1", 0, "expected a value, found '+'", 0},
    {"01", 0, "a number cannot have a leading zero", 0},
    {"-01", 0, "a number cannot have a leading zero", 0},
    {"00.5", 0, "a number cannot have a leading zero", 0},
    {"1.", 0, "expected a digit after the decimal point, found the end of the text", 2},
    {".5", 0, "expected a value, found '.'", 0},
    {"1e", 0, "expected a digit in the exponent", 2},
    {"1e+", 0, "expected a digit in the exponent", 3},
    {"0x10", 0, "expected the end of the text after the value, found 'x'", 1},
    {"-", 0, "expected a digit, found the end of the text", 1},
    {"tru", 0, "expected a value, found 't'", 0},
    {"nul", 0, "expected a value, found 'n'", 0},
    {"True", 0, "expected a value, found 'T'", 0},
    {"\"abc", 0, "a string is not closed", 0},
    {"\"a\\\"", 0, "a string is not closed", 0},
    {"\"a\tb\"", 0, "control characters must be escaped in a string, found byte 0x09", 2},
    {"\"a\nb\"", 0, "control characters must be escaped in a string", 2},
    {"\"\\x41\"", 0, "expected an escape", 2},
    {"\"\\u12\"", 0, "a \\u escape needs four hex digits", 1},
    {"\"\\u12G4\"", 0, "a \\u escape needs four hex digits", 1},
    {"\"\\ud800\"", 0, "lone high surrogate", 1},
    {"\"\\ud800\\u0041\"", 0, "lone high surrogate", 1},
    {"\"\\udc00\"", 0, "lone low surrogate", 1},
    {"\"\xff\"", 0, "not valid UTF-8", 1},
    {"\"\xC0\xAF\"", 0, "not valid UTF-8", 1},         /* overlong '/' */
    {"\"\xE0\x80\xAF\"", 0, "not valid UTF-8", 1},     /* overlong */
    {"\"\xED\xA0\x80\"", 0, "not valid UTF-8", 1},     /* an encoded surrogate */
    {"\"\xF4\x90\x80\x80\"", 0, "not valid UTF-8", 1}, /* past U+10FFFF */
    {"\"\xE2\x82\"", 0, "not valid UTF-8", 1},         /* truncated */
    {"\"ok \\n then \x80\"", 0, "not valid UTF-8", 12}, /* after an escape */
    {"\xEF\xBB\xBF{}", 0, "a byte order mark is not allowed", 0},
    {"[1]\0", 4, "expected the end of the text after the value, found byte 0x00", 3},
    {"{\"a\":[1,{\"b\":\n  nope}]}", 0, "expected a value, found 'n' at line 2, column 3", 16},
};

static void test_invalid(void)
{
    enigma_error err;
    int rc;
    char where[64];

    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        size_t len = invalid[i].len ? invalid[i].len : strlen(invalid[i].text);

        memset(&err, 0, sizeof err);
        read_text(invalid[i].text, len, &err, &rc);
        CHECK(rc == -1);
        CHECK_STR(err.code, "EJSON");
        snprintf(where, sizeof where, "(byte offset %zu)", invalid[i].offset);
        if (strstr(err.message, invalid[i].message) == NULL || strstr(err.message, where) == NULL)
            fprintf(stderr, "case %zu: %s\n  want \"%s\" %s\n", i, err.message, invalid[i].message,
                    where);
        CHECK(strstr(err.message, invalid[i].message) != NULL);
        CHECK(strstr(err.message, where) != NULL);
    }
}

/* --- nesting, callbacks ---------------------------------------------------------------- */

static int count_event(void *ud, const enigma_json_event *ev, enigma_error *err)
{
    (void)ev;
    (void)err;
    (*(size_t *)ud)++;
    return 0;
}

static void test_depth(void)
{
    static const enigma_json_handler counter = {count_event, NULL};
    size_t n = 1000000, events = 0;
    char *text = malloc(2 * n + 1);
    enigma_error err;

    /* exactly the limit reads; one more is refused */
    memset(text, '[', ENIGMA_JSON_MAX_DEPTH);
    memset(text + ENIGMA_JSON_MAX_DEPTH, ']', ENIGMA_JSON_MAX_DEPTH);
    CHECK(enigma_json_read(text, 2 * ENIGMA_JSON_MAX_DEPTH, &counter, &events, &err) == 0);
    CHECK(events == 2 * ENIGMA_JSON_MAX_DEPTH);
    memset(text, '[', ENIGMA_JSON_MAX_DEPTH + 1);
    memset(text + ENIGMA_JSON_MAX_DEPTH + 1, ']', ENIGMA_JSON_MAX_DEPTH + 1);
    CHECK(enigma_json_read(text, 2 * ENIGMA_JSON_MAX_DEPTH + 2, &counter, &events, &err) == -1);
    CHECK(strstr(err.message, "nested deeper than 1000") != NULL);
    CHECK(strstr(err.message, "(byte offset 1000)") != NULL);

    /* a million open brackets, and a million alternating objects */
    memset(text, '[', n);
    CHECK(enigma_json_read(text, n, &counter, &events, &err) == -1);
    CHECK(strstr(err.message, "nested deeper") != NULL);
    for (size_t i = 0; i + 5 <= 2 * n; i += 5)
        memcpy(text + i, "{\"a\":", 5);
    CHECK(enigma_json_read(text, 2 * n - (2 * n) % 5, &counter, &events, &err) == -1);
    CHECK(strstr(err.message, "nested deeper") != NULL);
    free(text);
}

static void test_callback_failure(void)
{
    render r;
    static const enigma_json_handler h = {on_event, NULL};
    enigma_error err;

    memset(&r, 0, sizeof r);
    r.fail_on_key = 1;
    CHECK(enigma_json_read("[1, {\"k\": 2}]", 13, &h, &r, &err) == -1);
    CHECK_STR(err.code, "ENOPE");
    CHECK(strstr(err.message, "no keys here at line 1, column 6 (byte offset 5)") != NULL);
}

int main(void)
{
    test_valid();
    test_numbers();
    test_number_rule_against_reference();
    test_format_double();
    test_invalid();
    test_depth();
    test_callback_failure();
    return test_report();
}
