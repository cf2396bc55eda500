/*
 * Fuzzes the JSON reader (core/json.h): never crash; what reads is written
 * back canonically (integers %lld, floats enigma_json_format_double(),
 * decimals as their literal), and that text reads again to the same
 * canonical text with every number of the same kind; a float's or an
 * integer's written text has the literal's value (the number rule).
 */
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "fuzz.h"

typedef struct writer {
    char *data;
    size_t len, cap;
    char *kinds; /* one letter per number: i, f or d */
    size_t nkinds, kcap;
    int need_comma;
} writer;

static void grow(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return;
    size_t cap2 = *cap ? *cap : 256;
    while (cap2 < need)
        cap2 *= 2;
    *buf = realloc(*buf, cap2);
    if (*buf == NULL)
        abort();
    *cap = cap2;
}

static void put(writer *w, const char *s, size_t n)
{
    grow(&w->data, &w->cap, w->len + n + 1);
    memcpy(w->data + w->len, s, n);
    w->len += n;
}

static void put_string(writer *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    put(w, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            put(w, e, 2);
        } else if (c < 0x20) {
            char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            put(w, e, 6);
        } else {
            put(w, (const char *)&c, 1);
        }
    }
    put(w, "\"", 1);
}

/* Whether two number texts have the same value (signs of zero aside). */
static int same_value(const char *a, size_t alen, const char *b, size_t blen)
{
    char dig[2][64];
    long exp10[2];
    int n[2], neg[2];

    for (int side = 0; side < 2; side++) {
        const char *s = side ? b : a, *end = s + (side ? blen : alen);
        int seen = 0, point = 0;
        long lead = 0, e = 0;

        n[side] = 0;
        neg[side] = s < end && *s == '-';
        for (; s < end && *s != 'e' && *s != 'E'; s++) {
            if (*s == '.') {
                point = 1;
            } else if (*s >= '0' && *s <= '9') {
                if (!seen && *s == '0') {
                    lead -= point;
                    continue;
                }
                seen = 1;
                lead += !point;
                if (n[side] < 60)
                    dig[side][n[side]++] = *s;
                else if (*s != '0')
                    return 0; /* too long to be a float's or an integer's text */
            }
        }
        if (s < end) { /* the exponent, saturating as the reader does */
            int eneg = 0;
            s++;
            if (s < end && (*s == '+' || *s == '-'))
                eneg = *s++ == '-';
            for (; s < end; s++)
                if (e < 1000000000L)
                    e = e * 10 + (*s - '0');
            if (eneg)
                e = -e;
        }
        while (n[side] > 0 && dig[side][n[side] - 1] == '0')
            n[side]--;
        exp10[side] = n[side] ? lead + e : 0;
    }
    if (n[0] == 0 || n[1] == 0)
        return n[0] == n[1];
    return n[0] == n[1] && exp10[0] == exp10[1] && neg[0] == neg[1] &&
           memcmp(dig[0], dig[1], (size_t)n[0]) == 0;
}

static int on_event(void *ud, const enigma_json_event *ev, enigma_error *err)
{
    writer *w = ud;
    char num[64];
    size_t n = 0;

    (void)err;
    if (ev->kind == ENIGMA_JSON_ARRAY_END || ev->kind == ENIGMA_JSON_OBJECT_END) {
        put(w, ev->kind == ENIGMA_JSON_ARRAY_END ? "]" : "}", 1);
        w->need_comma = 1;
        return 0;
    }
    if (w->need_comma)
        put(w, ",", 1);
    w->need_comma = 1;
    switch (ev->kind) {
    case ENIGMA_JSON_NULL:
        put(w, "null", 4);
        break;
    case ENIGMA_JSON_FALSE:
        put(w, "false", 5);
        break;
    case ENIGMA_JSON_TRUE:
        put(w, "true", 4);
        break;
    case ENIGMA_JSON_INTEGER:
    case ENIGMA_JSON_FLOAT:
        if (ev->kind == ENIGMA_JSON_INTEGER)
            n = (size_t)snprintf(num, sizeof num, "%lld", (long long)ev->integer);
        else
            n = enigma_json_format_double(num, ev->number);
        FUZZ_ASSERT(n > 0);
        FUZZ_ASSERT(same_value(ev->text, ev->len, num, n));
        put(w, num, n);
        if (ev->kind == ENIGMA_JSON_FLOAT && strpbrk(num, ".e") == NULL)
            put(w, ".0", 2); /* else "100" or "-0" would read back as an integer */
        break;
    case ENIGMA_JSON_DECIMAL:
        put(w, ev->text, ev->len);
        break;
    case ENIGMA_JSON_STRING:
        put_string(w, ev->text, ev->len);
        break;
    case ENIGMA_JSON_KEY:
        put_string(w, ev->text, ev->len);
        put(w, ":", 1);
        w->need_comma = 0;
        break;
    case ENIGMA_JSON_ARRAY_BEGIN:
    case ENIGMA_JSON_OBJECT_BEGIN:
        put(w, ev->kind == ENIGMA_JSON_ARRAY_BEGIN ? "[" : "{", 1);
        w->need_comma = 0;
        break;
    default:
        break;
    }
    if (ev->kind == ENIGMA_JSON_INTEGER || ev->kind == ENIGMA_JSON_FLOAT ||
        ev->kind == ENIGMA_JSON_DECIMAL) {
        grow(&w->kinds, &w->kcap, w->nkinds + 1);
        w->kinds[w->nkinds++] = ev->kind == ENIGMA_JSON_INTEGER ? 'i'
                                : ev->kind == ENIGMA_JSON_FLOAT ? 'f'
                                                                : 'd';
    }
    return 0;
}

static const enigma_json_handler handler = {on_event, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    writer first = {0}, second = {0};
    enigma_error err;

    if (enigma_json_read((const char *)data, size, &handler, &first, &err) == 0) {
        FUZZ_ASSERT(enigma_json_read(first.data, first.len, &handler, &second, &err) == 0);
        FUZZ_ASSERT(second.len == first.len && memcmp(second.data, first.data, first.len) == 0);
        FUZZ_ASSERT(second.nkinds == first.nkinds);
        FUZZ_ASSERT(first.nkinds == 0 || memcmp(second.kinds, first.kinds, first.nkinds) == 0);
    } else {
        FUZZ_ASSERT(strstr(err.message, "(byte offset ") != NULL);
    }
    free(first.data);
    free(first.kinds);
    free(second.data);
    free(second.kinds);
    return 0;
}
