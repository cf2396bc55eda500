/* core/pgtext: PostgreSQL text formats, table-driven. */
#include <string.h>

#include "core/pgtext.h"
#include "test.h"

static void test_timestamps(void)
{
    static const struct {
        const char *in;
        int utc;
        const char *want;
    } cases[] = {
        {"2024-12-01 02:00:00+00", 1, "2024-12-01T02:00:00Z"},
        {"2024-11-30 18:00:00-08", 1, "2024-12-01T02:00:00Z"},        /* session in Los Angeles */
        {"2024-12-01 07:30:00.123456+05:30", 1, "2024-12-01T02:00:00.123456Z"},
        {"2024-03-01 00:30:00+01", 1, "2024-02-29T23:30:00Z"},        /* back across a leap day */
        {"1999-12-31 23:59:59.5-00:00:36", 1,
         "2000-01-01T00:00:35.5Z"}, /* LMT offsets have seconds */
        {"0001-01-01 00:00:00+00", 1, "0001-01-01T00:00:00Z"},
        {"2024-12-31 23:59:59.999999-14", 1, "2025-01-01T13:59:59.999999Z"},
        {"infinity", 1, "infinity"},
        {"-infinity", 1, "-infinity"},
        {"2024-12-01 02:00:00", 0, "2024-12-01T02:00:00"},
        {"2024-12-01 02:00:00.5", 0, "2024-12-01T02:00:00.5"},
    };
    static const struct {
        const char *in;
        int utc;
    } bad[] = {
        {"2024-12-01 02:00:00", 1},           /* no offset */
        {"0044-03-15 12:00:00+00 BC", 1},
        {"Sun Dec 01 02:00:00 2024 UTC", 1},  /* DateStyle Postgres */
        {"2024-12-01T02:00:00+00", 1},
        {"", 1},
        {"12345-01-01 00:00:00+00", 1},       /* past year 9999: the server's text is kept */
    };
    char out[64];
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(out, 0, sizeof out);
        CHECK(enigma_pgtext_timestamp(cases[i].in, cases[i].utc, out, sizeof out) == 0);
        CHECK_STR(out, cases[i].want);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(enigma_pgtext_timestamp(bad[i].in, bad[i].utc, out, sizeof out) == -1);
    CHECK(enigma_pgtext_timestamp("2024-12-01 02:00:00+00", 1, out, 10) == -1);  /* too small */
}

static void test_bytea(void)
{
    unsigned char out[8];

    CHECK(enigma_pgtext_bytea("\\x00ff10", 8, out) == 3);
    CHECK(out[0] == 0x00 && out[1] == 0xff && out[2] == 0x10);
    CHECK(enigma_pgtext_bytea("\\x", 2, out) == 0);
    CHECK(enigma_pgtext_bytea("\\x0", 3, out) == -1);
    CHECK(enigma_pgtext_bytea("\\xzz", 4, out) == -1);
    CHECK(enigma_pgtext_bytea("\\000", 4, out) == -1);     /* escape format is not read */
}

/* Records the walk as a string: ( ) for nesting, [text] for elements, N for NULL. */
typedef struct trace {
    char buf[256];
} trace;

static int t_open(void *ud)
{
    strcat(((trace *)ud)->buf, "(");
    return 0;
}
static int t_close(void *ud)
{
    strcat(((trace *)ud)->buf, ")");
    return 0;
}
static int t_element(void *ud, const char *text, size_t len)
{
    trace *t = ud;

    if (text == NULL) {
        strcat(t->buf, "N");
    } else {
        strcat(t->buf, "[");
        strncat(t->buf, text, len);
        strcat(t->buf, "]");
    }
    return 0;
}

static void test_arrays(void)
{
    static const enigma_pgtext_array_cb cb = {t_open, t_close, t_element};
    static const struct {
        const char *in;
        const char *want;
    } cases[] = {
        {"{}", "()"},
        {"{1,2,3}", "([1][2][3])"},
        {"{NULL,null,\"NULL\"}", "(NN[NULL])"},
        {"{\"a b\",\"c\\\"d\",\"e\\\\f\",\"\"}", "([a b][c\"d][e\\f][])"},
        {"{{1,2},{3,4}}", "(([1][2])([3][4]))"},
        {"[0:1]={7,8}", "([7][8])"},
        {"{\"{x}\",y}", "([{x}][y])"},
    };
    static const char *const bad[] = {"", "1,2", "{1,2", "{1,2}}", "{\"open}", "{1}x"};
    size_t i;
    trace t;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&t, 0, sizeof t);
        CHECK(enigma_pgtext_array_walk(cases[i].in, &cb, &t) == 0);
        CHECK_STR(t.buf, cases[i].want);
    }
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&t, 0, sizeof t);
        CHECK(enigma_pgtext_array_walk(bad[i], &cb, &t) != 0);
    }
    CHECK(enigma_pgtext_array_elem(1007) == ENIGMA_OID_INT4);
    CHECK(enigma_pgtext_array_elem(1231) == ENIGMA_OID_NUMERIC);
    CHECK(enigma_pgtext_array_elem(ENIGMA_OID_INT4) == 0);
}

int main(void)
{
    test_timestamps();
    test_bytea();
    test_arrays();
    return test_report();
}
