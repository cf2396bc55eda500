/*
 * core/sched/cron: parsing, next fire times in UTC and across DST changes,
 * errors. Expected times were worked out by hand (reasoning in comments).
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* timegm */
#endif

#include "core/sched/cron.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test.h"

/* `t` as YYYY-MM-DDTHH:MM:SSZ, in one of a few rotating buffers. */
static const char *iso(time_t t)
{
    static char bufs[4][32];
    static int next;
    char *buf = bufs[next++ % 4];
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof bufs[0], "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return "(bad time)";
    return buf;
}

static time_t parse_iso(const char *s)
{
    struct tm tm;

    memset(&tm, 0, sizeof tm);
    if (sscanf(s, "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return (time_t)-1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return timegm(&tm);
}

struct next_case {
    const char *expr, *tz, *from;
    const char *want[7]; /* NULL-terminated */
};

static const struct next_case next_cases[] = {
    /* ---- basics, UTC; 2024-01-01 is a Monday ---- */
    {"*/15 * * * *",
     NULL,
     "2024-01-01T00:00:00",
     {"2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z", "2024-01-01T00:45:00Z",
      "2024-01-01T01:00:00Z"}},
    /* Friday Jan 5 10:00 -> Monday Jan 8 */
    {"0 9 * * MON-FRI",
     "UTC",
     "2024-01-05T10:00:00",
     {"2024-01-08T09:00:00Z", "2024-01-09T09:00:00Z", "2024-01-10T09:00:00Z"}},
    {"30 2 1 * *",
     NULL,
     "2024-01-15T00:00:00",
     {"2024-02-01T02:30:00Z", "2024-03-01T02:30:00Z", "2024-04-01T02:30:00Z"}},
    {"0 0 29 2 *", NULL, "2024-03-01T00:00:00", {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
    {"*/10 * * * * *",
     NULL,
     "2024-01-01T00:00:05",
     {"2024-01-01T00:00:10Z", "2024-01-01T00:00:20Z", "2024-01-01T00:00:30Z",
      "2024-01-01T00:00:40Z", "2024-01-01T00:00:50Z", "2024-01-01T00:01:00Z"}},
    /* Sundays of January, then July: Jul 1 2024 is a Monday (182 days = 26 weeks on) */
    {"0 0 * jan,Jul sun",
     NULL,
     "2024-01-01T00:00:00",
     {"2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z", "2024-01-21T00:00:00Z",
      "2024-01-28T00:00:00Z", "2024-07-07T00:00:00Z"}},
    {"0 12 * * 7", NULL, "2024-01-01T00:00:00", {"2024-01-07T12:00:00Z", "2024-01-14T12:00:00Z"}},
    {"0 0 * * 5-7",
     NULL,
     "2024-01-01T00:00:00",
     {"2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z",
      "2024-01-12T00:00:00Z"}},
    {"0 0 * * fri-SUN",
     NULL,
     "2024-01-01T00:00:00",
     {"2024-01-05T00:00:00Z", "2024-01-06T00:00:00Z", "2024-01-07T00:00:00Z"}},
    {"5/20 * * * *",
     NULL,
     "2024-01-01T00:00:00",
     {"2024-01-01T00:05:00Z", "2024-01-01T00:25:00Z", "2024-01-01T00:45:00Z",
      "2024-01-01T01:05:00Z"}},
    {"0,30 8-9/1 * * *",
     NULL,
     "2024-01-01T00:00:00",
     {"2024-01-01T08:00:00Z", "2024-01-01T08:30:00Z", "2024-01-01T09:00:00Z",
      "2024-01-01T09:30:00Z", "2024-01-02T08:00:00Z"}},
    /* ---- day of month vs day of week ---- */
    /* both restricted: the 13th OR a Friday (Jan 13 2024 is a Saturday) */
    {"0 0 13 * FRI",
     NULL,
     "2024-01-01T00:00:00",
     {"2024-01-05T00:00:00Z", "2024-01-12T00:00:00Z", "2024-01-13T00:00:00Z",
      "2024-01-19T00:00:00Z", "2024-01-26T00:00:00Z"}},
    /* dom starts with '*': odd day AND Monday: Jan 1, 15, 29, Feb 5, 19 */
    {"0 0 */2 * MON",
     NULL,
     "2023-12-31T12:00:00",
     {"2024-01-01T00:00:00Z", "2024-01-15T00:00:00Z", "2024-01-29T00:00:00Z",
      "2024-02-05T00:00:00Z", "2024-02-19T00:00:00Z"}},
    {"0 0 * * FRI", NULL, "2024-01-01T00:00:00", {"2024-01-05T00:00:00Z", "2024-01-12T00:00:00Z"}},
    /* Feb 30 never, but either may match: Mondays of February */
    {"0 0 30 2 MON",
     NULL,
     "2024-01-01T00:00:00",
     {"2024-02-05T00:00:00Z", "2024-02-12T00:00:00Z", "2024-02-19T00:00:00Z",
      "2024-02-26T00:00:00Z", "2025-02-03T00:00:00Z"}},
    /* ---- macros and "every" ---- */
    {"@daily", NULL, "2024-01-01T12:00:00", {"2024-01-02T00:00:00Z", "2024-01-03T00:00:00Z"}},
    {"@midnight", NULL, "2024-01-01T00:00:00", {"2024-01-02T00:00:00Z"}},
    {"@hourly", NULL, "2024-01-01T12:30:00", {"2024-01-01T13:00:00Z", "2024-01-01T14:00:00Z"}},
    {"@weekly", NULL, "2024-01-01T00:00:00", {"2024-01-07T00:00:00Z", "2024-01-14T00:00:00Z"}},
    {"@yearly", NULL, "2024-01-01T00:00:00", {"2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"}},
    {"@annually", NULL, "2024-06-01T00:00:00", {"2025-01-01T00:00:00Z"}},
    {"@monthly", NULL, "2024-01-31T23:59:59", {"2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"}},
    {"every 30s", NULL, "2024-01-01T12:00:10", {"2024-01-01T12:00:30Z", "2024-01-01T12:01:00Z"}},
    {"every 30 s", NULL, "2024-01-01T12:00:30", {"2024-01-01T12:01:00Z"}},
    {"every 5m",
     "America/New_York",
     "2024-01-01T12:03:00",
     {"2024-01-01T12:05:00Z", "2024-01-01T12:10:00Z"}},
    {"every 1d", NULL, "1969-12-31T12:00:00", {"1970-01-01T00:00:00Z", "1970-01-02T00:00:00Z"}},
    /* ---- termination and speed: 2100 is not a leap year ---- */
    {"@yearly", NULL, "2100-03-01T00:00:00", {"2101-01-01T00:00:00Z"}},
    {"0 0 29 2 *", NULL, "2100-03-01T00:00:00", {"2104-02-29T00:00:00Z"}},
    {"0 0 29 2 *", "America/New_York", "2100-03-01T00:00:00", {"2104-02-29T05:00:00Z"}},
    /* ---- America/New_York, spring forward 2024-03-10: 02:00 EST becomes 03:00 EDT
     * at 07:00Z, so local 02:00-02:59 does not exist that day. ---- */
    /* fixed: Mar 9 02:30 EST (07:30Z) is before the start (12:00Z = 07:00 EST), so the
     * first is Mar 10's skipped 02:30, run at the change (07:00Z); then Mar 11 02:30
     * EDT = 06:30Z */
    {"30 2 * * *",
     "America/New_York",
     "2024-03-09T12:00:00",
     {"2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"}},
    /* one second before the change, and exactly at it */
    {"30 2 * * *", "America/New_York", "2024-03-10T06:59:59", {"2024-03-10T07:00:00Z"}},
    {"30 2 * * *", "America/New_York", "2024-03-10T07:00:00", {"2024-03-11T06:30:00Z"}},
    /* 6-field fixed job inside the gap */
    {"15 30 2 * * *", "America/New_York", "2024-03-10T00:00:00", {"2024-03-10T07:00:00Z"}},
    /* 03:00 EDT exists, = 07:00Z, and is the same instant; it fires once */
    {"0 3 * * *",
     "America/New_York",
     "2024-03-09T12:00:00",
     {"2024-03-10T07:00:00Z", "2024-03-11T07:00:00Z"}},
    /* wildcard (minute starts with '*'): Mar 9 02:00/02:30 EST = 07:00Z/07:30Z, nothing on
     * Mar 10, then Mar 11 02:00/02:30 EDT = 06:00Z/06:30Z */
    {"*/30 2 * * *",
     "America/New_York",
     "2024-03-09T06:00:00",
     {"2024-03-09T07:00:00Z", "2024-03-09T07:30:00Z", "2024-03-11T06:00:00Z",
      "2024-03-11T06:30:00Z"}},
    /* ---- fall back 2024-11-03: 02:00 EDT becomes 01:00 EST at 06:00Z; local 01:00-01:59
     * happens at 05:00-05:59Z (EDT) and again at 06:00-06:59Z (EST) ---- */
    /* fixed: first pass only (05:30Z); then Nov 4 01:30 EST = 06:30Z */
    {"30 1 * * *",
     "America/New_York",
     "2024-11-02T12:00:00",
     {"2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"}},
    /* wildcard: both passes, then Nov 4 01:00 EST = 06:00Z */
    {"*/30 1 * * *",
     "America/New_York",
     "2024-11-02T12:00:00",
     {"2024-11-03T05:00:00Z", "2024-11-03T05:30:00Z", "2024-11-03T06:00:00Z",
      "2024-11-03T06:30:00Z", "2024-11-04T06:00:00Z"}},
    /* midnight jobs on the change days: EST midnight = 05:00Z, EDT midnight = 04:00Z */
    {"@daily",
     "America/New_York",
     "2024-03-09T12:00:00",
     {"2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"}},
    {"@daily",
     "America/New_York",
     "2024-11-02T12:00:00",
     {"2024-11-03T04:00:00Z", "2024-11-04T05:00:00Z"}},
    /* a month jump across the March change must not overshoot April 1 00:00 EDT (04:00Z) */
    {"0 0 1 4 *", "America/New_York", "2024-03-01T06:00:00", {"2024-04-01T04:00:00Z"}},
    /* ---- Australia/Lord_Howe: a 30-minute shift. Standard +10:30, summer +11:00.
     * Spring 2024-10-06: 02:00 +10:30 (2024-10-05T15:30Z) becomes 02:30 +11:00, so
     * 02:00-02:29 is skipped. Autumn 2024-04-07: 02:00 +11:00 (2024-04-06T15:00Z)
     * becomes 01:30 +10:30, so 01:30-01:59 happens twice. ---- */
    /* Oct 5 02:15 +10:30 = Oct 4 15:45Z; Oct 6 02:15 skipped -> the change at
     * Oct 5 15:30Z; Oct 7 02:15 +11:00 = Oct 6 15:15Z */
    {"15 2 * * *",
     "Australia/Lord_Howe",
     "2024-10-04T12:00:00",
     {"2024-10-04T15:45:00Z", "2024-10-05T15:30:00Z", "2024-10-06T15:15:00Z"}},
    /* Apr 7 01:45 first pass at +11:00 = Apr 6 14:45Z (second at 15:15Z is skipped);
     * Apr 8 01:45 +10:30 = Apr 7 15:15Z */
    {"45 1 * * *",
     "Australia/Lord_Howe",
     "2024-04-06T12:00:00",
     {"2024-04-06T14:45:00Z", "2024-04-07T15:15:00Z"}},
    /* wildcard on the same morning (00:00 +11:00 = 13:00Z): 00:45 and 01:45 at +11:00
     * (13:45Z, 14:45Z), 01:45 again at +10:30 (15:15Z), 02:45 +10:30 (16:15Z) */
    {"45 * 7 4 *",
     "Australia/Lord_Howe",
     "2024-04-06T13:00:00",
     {"2024-04-06T13:45:00Z", "2024-04-06T14:45:00Z", "2024-04-06T15:15:00Z",
      "2024-04-06T16:15:00Z"}},
    /* Europe/London: BST ends 2024-10-27 02:00 BST = 01:00Z -> 01:00 GMT; "30 1" fixed
     * runs at 00:30Z only, then Oct 28 01:30 GMT = 01:30Z */
    {"30 1 * * *",
     "Europe/London",
     "2024-10-26T12:00:00",
     {"2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"}},
};

static void test_next(void)
{
    size_t i, k;

    for (i = 0; i < sizeof next_cases / sizeof next_cases[0]; i++) {
        const struct next_case *c = &next_cases[i];
        enigma_cron cron;
        enigma_error err = {0};
        time_t t = parse_iso(c->from), next = 0;

        if (enigma_cron_parse(&cron, c->expr, &err) != 0) {
            fprintf(stderr, "case %zu '%s': parse failed: %s\n", i, c->expr, err.message);
            CHECK(0);
            continue;
        }
        for (k = 0; k < 7 && c->want[k] != NULL; k++) {
            if (enigma_cron_next(&cron, c->tz, t, &next, &err) != 0) {
                fprintf(stderr, "case %zu '%s': next failed: %s\n", i, c->expr, err.message);
                CHECK(0);
                break;
            }
            if (strcmp(iso(next), c->want[k]) != 0)
                fprintf(stderr, "case %zu '%s' (%s) from %s:\n", i, c->expr, c->tz ? c->tz : "UTC",
                        iso(t));
            CHECK_STR(iso(next), c->want[k]);
            t = next;
        }
    }
}

struct bad_case {
    const char *expr;
    const char *want[3]; /* substrings the ECRON message must contain */
};

static const struct bad_case bad_cases[] = {
    {"61 * * * *", {"minute", "'61'", "0-59"}},
    {"* 24 * * *", {"hour", "'24'", "0-23"}},
    {"* * 0 * *", {"day-of-month", "'0'", "1-31"}},
    {"* * * 13 *", {"month", "'13'", "1-12"}},
    {"* * * * 8", {"day-of-week", "'8'", "0-7"}},
    {"60 * * * * *", {"second", "'60'", NULL}},
    {"*/0 * * * *", {"minute", "'0'", "*/0"}},
    {"5-1 * * * *", {"minute", "'5-1'", NULL}},
    {"* * * * FUNDAY", {"day-of-week", "'FUNDAY' is not a number or a name", NULL}},
    {"* * * JANUARY *", {"month", "'JANUARY'", NULL}},
    {"* * *", {"expected 5 or 6 fields, got 3", NULL, NULL}},
    {"", {"expected 5 or 6 fields, got 0", NULL, NULL}},
    {"* * * * * * *", {"expected 5 or 6 fields, got 7", NULL, NULL}},
    {"1,,2 * * * *", {"minute", "'1,,2'", NULL}},
    {"1, * * * *", {"minute", "'1,'", NULL}},
    {"5x * * * *", {"minute", "'5x'", NULL}},
    {"MON * * * *", {"minute", "'MON' is not a number", NULL}},
    {"*/5x * * * *", {"minute", "'5x'", NULL}},
    {"*-5 * * * *", {"minute", "'*-5'", NULL}},
    {"1-2-3 * * * *", {"minute", "'2-3'", NULL}},
    {"-5 * * * *", {"minute", NULL, NULL}},
    {"every 0s", {"every", "'0s'", NULL}},
    {"every 10x", {"every", "'10x'", NULL}},
    {"every 10", {"every", "'10'", NULL}},
    {"every 367d", {"every", "'367d'", NULL}},
    {"every", {"every", NULL, NULL}},
    {"@reboot", {"'@reboot'", NULL, NULL}},
    {"@daily 5", {"@daily", "'5'", NULL}},
    {"0 0 30 2 *", {"never fires", "'30'", NULL}},
    {"0 0 31 4,6,9,11 *", {"never fires", "'31'", NULL}},
    {"0 0 30-31 2 *", {"never fires", NULL, NULL}},
};

static void test_bad(void)
{
    size_t i, k;

    for (i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        enigma_cron cron;
        enigma_error err = {0};
        int rc = enigma_cron_parse(&cron, bad_cases[i].expr, &err);

        CHECK(rc == -1);
        CHECK_STR(err.code, "ECRON");
        for (k = 0; k < 3 && bad_cases[i].want[k] != NULL; k++) {
            if (strstr(err.message, bad_cases[i].want[k]) == NULL)
                fprintf(stderr, "'%s': message \"%s\" lacks \"%s\"\n", bad_cases[i].expr,
                        err.message, bad_cases[i].want[k]);
            CHECK(strstr(err.message, bad_cases[i].want[k]) != NULL);
        }
    }
    /* exact wording of the documented examples */
    {
        enigma_cron cron;
        enigma_error err;

        CHECK(enigma_cron_parse(&cron, "61 * * * *", &err) == -1);
        CHECK_STR(err.message, "minute: '61' is out of range 0-59");
        CHECK(enigma_cron_parse(&cron, "* * 32 * *", &err) == -1);
        CHECK_STR(err.message, "day-of-month: '32' is out of range 1-31");
        CHECK(enigma_cron_parse(&cron, "* * * * FUNDAY", &err) == -1);
        CHECK_STR(err.message, "day-of-week: 'FUNDAY' is not a number or a name");
        CHECK(enigma_cron_parse(&cron, "* * * *", &err) == -1);
        CHECK_STR(err.message, "expected 5 or 6 fields, got 4");
        /* err may be NULL */
        CHECK(enigma_cron_parse(&cron, "bad", NULL) == -1);
    }
}

static void test_fields(void)
{
    enigma_cron c;
    enigma_error err;

    CHECK(enigma_cron_parse(&c, "  0  9 * * MON-FRI  ", &err) == 0);
    CHECK(c.seconds == 1 && c.minutes == 1 && c.hours == 1u << 9);
    CHECK(c.wdays == 0x3e && c.mday_star && !c.wday_star && c.fixed && c.every == 0);
    CHECK(enigma_cron_parse(&c, "*/2 0 */3 * *", &err) == 0);
    CHECK(!c.fixed && c.mday_star && c.wday_star);
    CHECK(c.mdays == ((1u << 1) | (1u << 4) | (1u << 7) | (1u << 10) | (1u << 13) | (1u << 16) |
                      (1u << 19) | (1u << 22) | (1u << 25) | (1u << 28) | (1u << 31)));
    CHECK(enigma_cron_parse(&c, "0 */2 1 * 1", &err) == 0);
    CHECK(!c.fixed && !c.mday_star && !c.wday_star);
    CHECK(enigma_cron_parse(&c, "0 0 * * 0,7", &err) == 0);
    CHECK(c.wdays == 1);
    CHECK(enigma_cron_parse(&c, "0 0 * * 5/1", &err) == 0); /* 5 to 7: Fri, Sat, Sun */
    CHECK(c.wdays == ((1u << 5) | (1u << 6) | 1u));
    CHECK(enigma_cron_parse(&c, "0 0 1 dec/2 *", &err) == 0); /* DEC to 12: December */
    CHECK(c.months == 1u << 12);
    CHECK(enigma_cron_parse(&c, "0 0 1 oct/2 *", &err) == 0);
    CHECK(c.months == ((1u << 10) | (1u << 12)));
    CHECK(enigma_cron_parse(&c, "@hourly", &err) == 0);
    CHECK(c.seconds == 1 && c.minutes == 1 && c.hours == 0xffffff && !c.fixed);
    CHECK(enigma_cron_parse(&c, "every 2h", &err) == 0);
    CHECK(c.every == 7200);
    CHECK(enigma_cron_parse(&c, "EVERY 366d", &err) == 0);
    CHECK(c.every == 366 * 86400);
}

static void test_zones(void)
{
    enigma_cron c;
    enigma_error err = {0};
    time_t next;

    CHECK(enigma_cron_parse(&c, "@daily", &err) == 0);
    CHECK(enigma_cron_next(&c, "Mars/Olympus", 0, &next, &err) == -1);
    CHECK_STR(err.code, "ETZ");
    CHECK_STR(err.message, "unknown time zone 'Mars/Olympus'");
    CHECK(enigma_cron_next(&c, "../etc/passwd", 0, &next, &err) == -1);
    CHECK_STR(err.code, "ETZ");
    CHECK(enigma_cron_next(&c, "/etc/passwd", 0, &next, &err) == -1);
    CHECK(enigma_cron_next(&c, "America", 0, &next, &err) == -1); /* a directory */
    CHECK(enigma_cron_next(&c, "", 0, &next, NULL) == -1);
    /* TZ is restored after the call, whether it was set or not */
    unsetenv("TZ");
    CHECK(enigma_cron_next(&c, "Asia/Tokyo", 0, &next, &err) == 0);
    CHECK_STR(iso(next), "1970-01-01T15:00:00Z"); /* JST midnight = 15:00Z the day before */
    CHECK(getenv("TZ") == NULL);
    setenv("TZ", "Europe/Paris", 1);
    tzset();
    CHECK(enigma_cron_next(&c, "Asia/Tokyo", 0, &next, &err) == 0);
    CHECK(getenv("TZ") != NULL && strcmp(getenv("TZ"), "Europe/Paris") == 0);
    unsetenv("TZ");
    tzset();
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Many starting points, in a DST zone; each result must match and be the first. */
static void test_speed_and_consistency(void)
{
    const char *exprs[] = {
        "@yearly", "0 0 29 2 *", "30 2 * * *", "*/7 */5 * * *", "0 0 */31 2 MON"
    };
    enigma_cron c;
    enigma_error err;
    size_t e;
    int i, bad = 0;
    double start = now_seconds(), elapsed;
    int calls = 0;

    for (e = 0; e < sizeof exprs / sizeof exprs[0]; e++) {
        CHECK(enigma_cron_parse(&c, exprs[e], &err) == 0);
        for (i = 0; i < 200; i++) {
            time_t from = (time_t)1700000000 + (time_t)i * 7919 * 3607, next;

            calls++;
            if (enigma_cron_next(&c, "America/New_York", from, &next, &err) != 0 || next <= from)
                bad++;
        }
    }
    elapsed = now_seconds() - start;
    CHECK(bad == 0);
    /* generous: well under a millisecond each natively, but valgrind is slow */
    CHECK(elapsed / calls < 0.05);
    printf("cron_next: %.1f us per call over %d calls\n", elapsed / calls * 1e6, calls);
}

/* ---- a brute-force reference: every UTC minute in turn, the header's rules
 * applied literally; compared with enigma_cron_next around DST changes ---- */

static int ref_match(const enigma_cron *c, const struct tm *tm)
{
    int dom = (int)(c->mdays >> tm->tm_mday & 1), dow = c->wdays >> tm->tm_wday & 1;
    int day = (c->mday_star || c->wday_star) ? dom && dow : dom || dow;

    return day && (c->months >> (tm->tm_mon + 1) & 1) && (c->hours >> tm->tm_hour & 1) &&
           (c->minutes >> tm->tm_min & 1) && tm->tm_sec == 0 && (c->seconds & 1);
}

static long ref_off(time_t t)
{
    struct tm tm;

    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}

/* TZ must already be set. 5-field expressions only; transitions on minutes. */
static time_t ref_next(const enigma_cron *c, time_t after)
{
    time_t t;

    for (t = after - ((after % 60) + 60) % 60 + 60; t < after + 40 * 86400; t += 60) {
        struct tm tm;
        long off = ref_off(t), prev = ref_off(t - 60);

        localtime_r(&t, &tm);
        if (c->fixed && off > prev) { /* wall times [t - 60 + prev + 60, t + off) skipped */
            time_t w;
            for (w = t + prev; w < t + off; w += 60) {
                struct tm wt;
                gmtime_r(&w, &wt);
                if (ref_match(c, &wt))
                    return t;
            }
        }
        if (!ref_match(c, &tm))
            continue;
        if (c->fixed && (ref_off(t - 1800) == off + 1800 || ref_off(t - 3600) == off + 3600))
            continue; /* the same wall time came earlier: second pass */
        return t;
    }
    return 0;
}

static void test_against_reference(void)
{
    static const char *const exprs[] = {"30 2 * * *",     "0 2 * * *",      "*/30 2 * * *",
                                        "15 1 * * *",     "*/20 1,2 * * *", "0 * * * *",
                                        "45 1,2 * * SUN", "0,30 0-3 * * *", "59 1 * * *",
                                        "0 3 * * *",      "*/7 */2 * * *",  "30 0 * * *",
                                        "0 0 10 3 *",     "0 2 * * *",      "15,45 2 10,11 3,11 *"};
    static const struct {
        const char *tz, *from;
    } spans[] = {{"America/New_York", "2024-03-09T00:00:00"},
                 {"America/New_York", "2024-11-02T00:00:00"},
                 {"Australia/Lord_Howe", "2024-04-05T00:00:00"},
                 {"Australia/Lord_Howe", "2024-10-04T00:00:00"},
                 {"Europe/London", "2024-03-30T00:00:00"},
                 {"Europe/London", "2024-10-26T00:00:00"}};
    size_t e, z;
    int mismatches = 0, compared = 0;

    for (z = 0; z < sizeof spans / sizeof spans[0]; z++) {
        for (e = 0; e < sizeof exprs / sizeof exprs[0]; e++) {
            enigma_cron c;
            enigma_error err;
            time_t t = parse_iso(spans[z].from), end = t + 3 * 86400;

            if (enigma_cron_parse(&c, exprs[e], &err) != 0) {
                CHECK(0);
                continue;
            }
            while (t < end) {
                time_t got = 0, want;

                if (enigma_cron_next(&c, spans[z].tz, t, &got, &err) != 0)
                    got = 0;
                setenv("TZ", spans[z].tz, 1);
                tzset();
                want = ref_next(&c, t);
                unsetenv("TZ");
                tzset();
                compared++;
                if (want == 0 && got >= t + 40 * 86400 - 60)
                    break; /* beyond the reference's reach, and so is the answer */
                if (got != want) {
                    if (mismatches++ < 5)
                        fprintf(stderr, "'%s' %s after %s: got %s, want %s\n", exprs[e],
                                spans[z].tz, iso(t), iso(got), iso(want));
                    break;
                }
                t = got;
            }
        }
    }
    CHECK(mismatches == 0);
    CHECK(compared > 200);
}

static void *thread_main(void *arg)
{
    enigma_cron c;
    enigma_error err;
    time_t next;
    int i, *bad = arg;

    if (enigma_cron_parse(&c, "30 1 * * *", &err) != 0) {
        (*bad)++;
        return NULL;
    }
    for (i = 0; i < 200; i++) {
        if (enigma_cron_next(&c, i % 2 ? "America/New_York" : "Europe/London",
                             (time_t)1730548800 /* 2024-11-02T12:00Z */, &next, &err) != 0 ||
            next != (i % 2 ? 1730611800 /* 2024-11-03T05:30Z */ : 1730597400 /* 01:30Z */))
            (*bad)++;
    }
    return NULL;
}

static void test_threads(void)
{
    pthread_t th[4];
    int bad[4] = {0, 0, 0, 0}, i;

    for (i = 0; i < 4; i++)
        CHECK(pthread_create(&th[i], NULL, thread_main, &bad[i]) == 0);
    for (i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(bad[i] == 0);
    }
}

int main(void)
{
    test_next();
    test_bad();
    test_fields();
    test_zones();
    test_speed_and_consistency();
    test_against_reference();
    test_threads();
    return test_report();
}
