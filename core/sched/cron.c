/*
 * enigma_cron: parsing cron expressions into bit sets, and finding the next
 * fire time by scanning forward in UTC while reading the zone's wall clock.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* setenv, tm_gmtoff, timegm */
#endif

#include "core/sched/cron.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { F_SEC, F_MIN, F_HOUR, F_MDAY, F_MON, F_WDAY, F_COUNT };

static const char *const field_name[F_COUNT] = {"second",       "minute", "hour",
                                                "day-of-month", "month",  "day-of-week"};
static const int field_lo[F_COUNT] = {0, 0, 0, 1, 1, 0};
static const int field_hi[F_COUNT] = {59, 59, 23, 31, 12, 7}; /* 7 = Sunday again */

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const wday_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/* Longest length of each month; Feb 29 exists in leap years, so it counts. */
static const int month_max_days[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

/* The scan's horizon. Ten years is not enough: a day-of-month of star-step-31
 * (day 1, but starred, so the weekday must match too) with month 2 and MON
 * fires on Feb 1 that is a Monday, which can be 11-12 years apart; take a bit
 * more than the 28-year weekday cycle. */
#define HORIZON_YEARS 30
#define HORIZON_SECONDS ((int64_t)HORIZON_YEARS * 366 * 86400)

typedef struct {
    const char *p;
    int len;
} span;

/* A single value: digits, or a name where the field has names. */
static int parse_value(int f, span tok, int *out, enigma_error *err)
{
    const char *const *names = f == F_MON ? month_names : f == F_WDAY ? wday_names : NULL;
    int n = f == F_MON ? 12 : 7, i, v = 0;

    if (tok.len == 0)
        return enigma_error_set(err, "ECRON", "%s: a number is missing", field_name[f]);
    if (isdigit((unsigned char)tok.p[0])) {
        for (i = 0; i < tok.len; i++) {
            if (!isdigit((unsigned char)tok.p[i]))
                return enigma_error_set(err, "ECRON", "%s: '%.*s' is not a number", field_name[f],
                                        tok.len, tok.p);
            if (v < 100000) /* saturate: anything this big is out of range anyway */
                v = v * 10 + (tok.p[i] - '0');
        }
        if (v < field_lo[f] || v > field_hi[f])
            return enigma_error_set(err, "ECRON", "%s: '%.*s' is out of range %d-%d", field_name[f],
                                    tok.len, tok.p, field_lo[f], field_hi[f]);
        *out = v;
        return 0;
    }
    if (names != NULL && tok.len == 3) {
        for (i = 0; i < n; i++) {
            if (strncasecmp(tok.p, names[i], 3) == 0) {
                *out = f == F_MON ? i + 1 : i;
                return 0;
            }
        }
    }
    return enigma_error_set(err, "ECRON", "%s: '%.*s' is not a number%s", field_name[f], tok.len,
                            tok.p, names != NULL ? " or a name" : "");
}

/* One list item: "*", "N", "A-B", with an optional "/S"; "A/S" runs to the max. */
static int parse_item(int f, span item, uint64_t *bits, enigma_error *err)
{
    const char *slash = memchr(item.p, '/', (size_t)item.len);
    span base = {item.p, slash ? (int)(slash - item.p) : item.len};
    int a, b, step = 1, v;

    if (slash != NULL) {
        span st = {slash + 1, item.len - base.len - 1};
        int i;

        if (st.len == 0)
            return enigma_error_set(err, "ECRON", "%s: step missing in '%.*s'", field_name[f],
                                    item.len, item.p);
        step = 0;
        for (i = 0; i < st.len; i++) {
            if (!isdigit((unsigned char)st.p[i]))
                return enigma_error_set(err, "ECRON", "%s: step '%.*s' in '%.*s' is not a number",
                                        field_name[f], st.len, st.p, item.len, item.p);
            if (step < 100000)
                step = step * 10 + (st.p[i] - '0');
        }
        if (step < 1 || step > field_hi[f] - field_lo[f] + 1)
            return enigma_error_set(err, "ECRON", "%s: step '%.*s' in '%.*s' is out of range 1-%d",
                                    field_name[f], st.len, st.p, item.len, item.p,
                                    field_hi[f] - field_lo[f] + 1);
    }
    if (base.len == 1 && base.p[0] == '*') {
        a = field_lo[f];
        b = field_hi[f];
    } else if (base.len > 0 && base.p[0] == '*') {
        return enigma_error_set(err, "ECRON", "%s: '%.*s' is not valid ('*' stands alone)",
                                field_name[f], item.len, item.p);
    } else {
        const char *dash = memchr(base.p, '-', (size_t)base.len);
        span first = {base.p, dash ? (int)(dash - base.p) : base.len};

        if (parse_value(f, first, &a, err) < 0)
            return -1;
        if (dash != NULL) {
            span second = {dash + 1, base.len - first.len - 1};

            if (parse_value(f, second, &b, err) < 0)
                return -1;
            if (f == F_WDAY && b == 0 && a > 0)
                b = 7; /* "FRI-SUN": Sunday closes the week too */
            if (a > b)
                return enigma_error_set(err, "ECRON", "%s: range '%.*s' runs backwards (%d > %d)",
                                        field_name[f], base.len, base.p, a, b);
        } else {
            b = slash != NULL ? field_hi[f] : a;
        }
    }
    for (v = a; v <= b; v += step)
        *bits |= (uint64_t)1 << v;
    return 0;
}

static int parse_field(int f, span text, uint64_t *bits, enigma_error *err)
{
    const char *p = text.p, *end = text.p + text.len;

    *bits = 0;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        span item = {p, (int)((comma ? comma : end) - p)};

        if (item.len == 0)
            return enigma_error_set(err, "ECRON", "%s: empty list item in '%.*s'", field_name[f],
                                    text.len, text.p);
        if (parse_item(f, item, bits, err) < 0)
            return -1;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    if (f == F_WDAY && (*bits & (1u << 7)))
        *bits = (*bits & 0x7f) | 1; /* 7 is Sunday */
    return 0;
}

static int parse_every(enigma_cron *cron, span *tok, int ntok, enigma_error *err)
{
    char buf[64];
    int64_t n = 0, unit;
    size_t i = 0, len;
    char u;

    /* "every 30s" or "every 30 s": glue the rest back together. */
    if (ntok == 2)
        len = (size_t)snprintf(buf, sizeof buf, "%.*s", tok[1].len, tok[1].p);
    else if (ntok == 3)
        len = (size_t)snprintf(buf, sizeof buf, "%.*s%.*s", tok[1].len, tok[1].p, tok[2].len,
                               tok[2].p);
    else
        return enigma_error_set(err, "ECRON", "every: expected an interval like '30s' or '5m'");
    if (len >= sizeof buf)
        return enigma_error_set(err, "ECRON", "every: '%.20s...' is too long", buf);
    while (isdigit((unsigned char)buf[i])) {
        if (n < 100000000)
            n = n * 10 + (buf[i] - '0');
        i++;
    }
    u = (char)tolower((unsigned char)buf[i]);
    if (i == 0 || i + 1 != len)
        return enigma_error_set(err, "ECRON",
                                "every: '%s' is not a number and a unit (s, m, h or d)", buf);
    unit = u == 's' ? 1 : u == 'm' ? 60 : u == 'h' ? 3600 : u == 'd' ? 86400 : 0;
    if (unit == 0)
        return enigma_error_set(err, "ECRON",
                                "every: '%s' has an unknown unit '%c' (use s, m, h or d)", buf,
                                buf[i]);
    if (n <= 0)
        return enigma_error_set(err, "ECRON", "every: '%s' must be positive", buf);
    if (n * unit > (int64_t)366 * 86400)
        return enigma_error_set(err, "ECRON", "every: '%s' is longer than 366 days", buf);
    cron->every = n * unit;
    return 0;
}

static const struct {
    const char *name, *expansion;
} macros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

int enigma_cron_parse(enigma_cron *cron, const char *text, enigma_error *err)
{
    span tok[8];
    uint64_t bits[F_COUNT];
    int ntok = 0, total = 0, f, m, d;
    const char *p = text;

    memset(cron, 0, sizeof *cron);
    for (;;) {
        while (isspace((unsigned char)*p))
            p++;
        if (*p == '\0')
            break;
        if (ntok < 8)
            tok[ntok].p = p;
        while (*p != '\0' && !isspace((unsigned char)*p))
            p++;
        if (ntok < 8) {
            tok[ntok].len = (int)(p - tok[ntok].p);
            ntok++;
        }
        total++;
    }
    if (total >= 1 && tok[0].p[0] == '@') {
        size_t i;

        for (i = 0; i < sizeof macros / sizeof macros[0]; i++) {
            if ((size_t)tok[0].len == strlen(macros[i].name) &&
                strncasecmp(tok[0].p, macros[i].name, (size_t)tok[0].len) == 0) {
                if (total != 1)
                    return enigma_error_set(err, "ECRON", "%s: unexpected '%.*s' after it",
                                            macros[i].name, tok[1].len, tok[1].p);
                return enigma_cron_parse(cron, macros[i].expansion, err);
            }
        }
        return enigma_error_set(err, "ECRON", "unknown macro '%.*s'", tok[0].len, tok[0].p);
    }
    if (total >= 1 && tok[0].len == 5 && strncasecmp(tok[0].p, "every", 5) == 0)
        return parse_every(cron, tok, total, err);
    if (total != 5 && total != 6)
        return enigma_error_set(err, "ECRON", "expected 5 or 6 fields, got %d", total);

    bits[F_SEC] = 1; /* 5 fields: second 0 */
    for (f = total == 6 ? F_SEC : F_MIN; f < F_COUNT; f++) {
        if (parse_field(f, tok[f - (total == 6 ? 0 : 1)], &bits[f], err) < 0)
            return -1;
    }
    {
        int off = total == 6 ? 0 : 1;
        span mday = tok[F_MDAY - off], mon = tok[F_MON - off];

        cron->seconds = bits[F_SEC];
        cron->minutes = bits[F_MIN];
        cron->hours = (uint32_t)bits[F_HOUR];
        cron->mdays = (uint32_t)bits[F_MDAY];
        cron->months = (uint16_t)bits[F_MON];
        cron->wdays = (uint8_t)bits[F_WDAY];
        /* Vixie's rule looks at the text, so a starred step counts as a star. */
        cron->mday_star = mday.p[0] == '*';
        cron->wday_star = tok[F_WDAY - off].p[0] == '*';
        cron->fixed = tok[F_MIN - off].p[0] != '*' && tok[F_HOUR - off].p[0] != '*';

        /* When the day of month must match, some chosen month must have a chosen day. */
        if (cron->wday_star) {
            int ok = 0;

            for (m = 1; m <= 12 && !ok; m++)
                for (d = 1; d <= month_max_days[m] && !ok; d++)
                    ok = (cron->months >> m & 1) && (cron->mdays >> d & 1);
            if (!ok) {
                memset(cron, 0, sizeof *cron);
                return enigma_error_set(err, "ECRON",
                                        "never fires: no month in the expression has day '%.*s' "
                                        "(month '%.*s')",
                                        mday.len, mday.p, mon.len, mon.p);
            }
        }
    }
    return 0;
}

/* ---- next fire time ---- */

static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

typedef struct {
    const enigma_cron *cron;
    int utc;
} scan;

static int to_local(const scan *s, time_t t, struct tm *tm)
{
    return (s->utc ? gmtime_r(&t, tm) : localtime_r(&t, tm)) != NULL ? 0 : -1;
}

static long offset_at(const scan *s, time_t t)
{
    struct tm tm;

    if (s->utc || localtime_r(&t, &tm) == NULL)
        return 0;
    return tm.tm_gmtoff;
}

static int day_matches(const enigma_cron *c, const struct tm *tm)
{
    int dom = (int)(c->mdays >> tm->tm_mday & 1), dow = c->wdays >> tm->tm_wday & 1;

    return (c->mday_star || c->wday_star) ? dom && dow : dom || dow;
}

static int tm_matches(const enigma_cron *c, const struct tm *tm)
{
    return (c->months >> (tm->tm_mon + 1) & 1) && day_matches(c, tm) &&
           (c->hours >> tm->tm_hour & 1) && (c->minutes >> tm->tm_min & 1) &&
           (c->seconds >> tm->tm_sec & 1);
}

/* Moves from t (at UTC offset `off`) to the instant whose wall clock reads
 * wall(t) + delta, or stops at the first instant of a new offset (setting
 * *at_change) so the caller can re-read the clock there. Crossing a gap is
 * safe when the target exists: the skipped wall times lay before the target,
 * which the caller knows don't match. A fall-back always stops: the repeated
 * wall times may match again. */
static time_t step(const scan *s, time_t t, long off, int64_t delta, int *at_change)
{
    time_t lo = t, hi = t + delta, landed;
    long off_hi = offset_at(s, hi);

    *at_change = 0;
    if (off_hi == off)
        return hi;
    landed = hi - (off_hi - off); /* the same wall time under the new offset */
    if (off_hi > off && landed > t && offset_at(s, landed) == off_hi &&
        offset_at(s, landed - 1) == off_hi)
        return landed;
    while (hi - lo > 1) {
        time_t mid = lo + (hi - lo) / 2;

        if (offset_at(s, mid) == off)
            lo = mid;
        else
            hi = mid;
    }
    *at_change = 1;
    return hi;
}

/* Whether the expression matches a local wall time in [from, to), wall times
 * written as seconds since 1970-01-01 00:00 local. */
static int matches_in_wall_range(const enigma_cron *c, int64_t from, int64_t to)
{
    int64_t minute;

    if (to - from > 2 * 86400) /* no real zone skips more than a day */
        to = from + 2 * 86400;
    for (minute = from - ((from % 60) + 60) % 60; minute < to; minute += 60) {
        time_t w = (time_t)minute;
        struct tm tm;
        int sec;

        if (gmtime_r(&w, &tm) == NULL)
            return 0;
        for (sec = 0; sec < 60; sec++) {
            tm.tm_sec = sec;
            if (minute + sec >= from && minute + sec < to && tm_matches(c, &tm))
                return 1;
        }
    }
    return 0;
}

/* A fixed job at t is the second pass of a repeated wall time when the same
 * wall time already happened under the larger, earlier offset. */
static int is_second_pass(const scan *s, time_t t)
{
    long now = offset_at(s, t), before = offset_at(s, t - 86400);
    time_t earlier;

    if (before <= now)
        return 0;
    earlier = t - (before - now);
    return offset_at(s, earlier) == before;
}

static int seconds_of_day(const struct tm *tm)
{
    return tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
}

/* The next set bit above `from` in `bits`, or -1. */
static int next_bit(uint64_t bits, int from, int max)
{
    int i;

    for (i = from + 1; i <= max; i++)
        if (bits >> i & 1)
            return i;
    return -1;
}

static int days_in_month(int year, int mon0)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return days[mon0] + (mon0 == 1 && leap);
}

/* Seconds from tm's wall time to the next local midnight that starts a day
 * the expression may fire on: the rest of this month by weekday arithmetic,
 * else the first day of the next selected month. */
static int64_t to_next_day(const enigma_cron *c, const struct tm *tm, int check_this_month)
{
    int year = tm->tm_year + 1900, mon = tm->tm_mon, dim = days_in_month(year, mon);
    int64_t days = 0;
    struct tm probe = *tm;
    int d, m;

    if (check_this_month) {
        for (d = tm->tm_mday + 1; d <= dim; d++) {
            probe.tm_mday = d;
            probe.tm_wday = (tm->tm_wday + d - tm->tm_mday) % 7;
            if (day_matches(c, &probe))
                return (int64_t)(d - tm->tm_mday) * 86400 - seconds_of_day(tm);
        }
    }
    /* whole months until a selected one; months is never empty, so at most 12 */
    days = dim - tm->tm_mday + 1;
    for (m = mon + 1;; m++) {
        if (m == 12) {
            m = 0;
            year++;
        }
        if (c->months >> (m + 1) & 1)
            break;
        days += days_in_month(year, m);
    }
    return days * 86400 - seconds_of_day(tm);
}

static int scan_next(const scan *s, time_t after, time_t *next, enigma_error *err)
{
    const enigma_cron *c = s->cron;
    time_t t = after, limit = after + HORIZON_SECONDS;
    long off = offset_at(s, t);
    int64_t delta = 1; /* the first step, after -> after + 1, may cross a change too */

    while (t <= limit) {
        int at_change, n;
        time_t t2 = step(s, t, off, delta, &at_change);
        struct tm tm;

        if (to_local(s, t2, &tm) < 0)
            break;
        if (at_change && c->fixed && tm.tm_gmtoff > off &&
            matches_in_wall_range(c, (int64_t)t2 + off, (int64_t)t2 + tm.tm_gmtoff)) {
            *next = t2; /* a skipped local time fires at the first instant after the gap */
            return 0;
        }
        t = t2;
        off = s->utc ? 0 : tm.tm_gmtoff;
        if (!(c->months >> (tm.tm_mon + 1) & 1)) {
            delta = to_next_day(c, &tm, 0);
        } else if (!day_matches(c, &tm)) {
            delta = to_next_day(c, &tm, 1);
        } else if (!(c->hours >> tm.tm_hour & 1)) {
            n = next_bit(c->hours, tm.tm_hour, 23);
            delta = n < 0 ? 86400 - seconds_of_day(&tm)
                          : (int64_t)(n - tm.tm_hour) * 3600 - tm.tm_min * 60 - tm.tm_sec;
        } else if (!(c->minutes >> tm.tm_min & 1)) {
            n = next_bit(c->minutes, tm.tm_min, 59);
            delta = n < 0 ? 3600 - tm.tm_min * 60 - tm.tm_sec
                          : (int64_t)(n - tm.tm_min) * 60 - tm.tm_sec;
        } else if (!(c->seconds >> tm.tm_sec & 1)) {
            n = next_bit(c->seconds, tm.tm_sec, 59);
            delta = n < 0 ? 60 - tm.tm_sec : n - tm.tm_sec;
        } else if (c->fixed && is_second_pass(s, t)) {
            delta = 1; /* fixed jobs fire in the first pass only */
        } else {
            *next = t;
            return 0;
        }
        /* A leap second (tm_sec 60) or odd zone data must not stall the scan. */
        if (delta < 1)
            delta = 1;
    }
    return enigma_error_set(err, "ECRON", "no fire time within %d years", HORIZON_YEARS);
}

/* IANA names only: a relative path under the zoneinfo directory that exists. */
static int zone_exists(const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[4096];
    struct stat st;
    const char *p;
    int n;

    if (name[0] == '\0' || name[0] == '/' || strstr(name, "..") != NULL || strlen(name) > 255)
        return 0;
    for (p = name; *p != '\0'; p++)
        if (!isalnum((unsigned char)*p) && strchr("/_-+.", *p) == NULL)
            return 0;
    if (dir == NULL || dir[0] == '\0')
        dir = "/usr/share/zoneinfo";
    n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int enigma_cron_next(const enigma_cron *cron, const char *tz, time_t after, time_t *next,
                     enigma_error *err)
{
    scan s = {cron, tz == NULL || strcmp(tz, "UTC") == 0};
    const char *old;
    char *saved = NULL;
    int rc;

    if (!s.utc) {
        /* zone_exists reads the environment, which another thread's setenv("TZ")
         * below may be reallocating: under the same lock. */
        pthread_mutex_lock(&tz_lock);
        rc = zone_exists(tz);
        pthread_mutex_unlock(&tz_lock);
        if (!rc)
            return enigma_error_set(err, "ETZ", "unknown time zone '%s'", tz);
    }
    /* Far from any calendar a cron expression means; keeps the arithmetic in range. */
    if (after < -((time_t)1 << 40) || after > ((time_t)1 << 40))
        return enigma_error_set(err, "ECRON", "time %lld is out of range", (long long)after);
    if (cron->every > 0) {
        int64_t q = after / cron->every;

        if (after % cron->every < 0)
            q--; /* floor, not truncation, before the epoch */
        *next = (time_t)((q + 1) * cron->every);
        return 0;
    }
    if (cron->seconds == 0 || cron->minutes == 0 || cron->hours == 0 || cron->mdays == 0 ||
        cron->months == 0 || cron->wdays == 0)
        return enigma_error_set(err, "ECRON", "the expression is empty (was it parsed?)");
    if (s.utc)
        return scan_next(&s, after, next, err);

    pthread_mutex_lock(&tz_lock);
    old = getenv("TZ");
    if (old != NULL && (saved = strdup(old)) == NULL) {
        pthread_mutex_unlock(&tz_lock);
        return enigma_error_set(err, "ENOMEM", "out of memory saving TZ");
    }
    setenv("TZ", tz, 1);
    tzset();
    rc = scan_next(&s, after, next, err);
    if (saved != NULL)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    pthread_mutex_unlock(&tz_lock);
    free(saved);
    return rc;
}
