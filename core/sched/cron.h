/*
 * enigma_cron: cron expressions and their next fire times, with Vixie cron's
 * semantics (the daemon users know; pg_cron copies it).
 *
 * Accepted:
 *   - 5 fields "minute hour day-of-month month day-of-week", or 6 with a
 *     leading seconds field;
 *   - in each field: "*", numbers, ranges "a-b", steps "*" "/" "n" and
 *     "a-b/n" (and "a/n", meaning a to the field's maximum, every n), lists
 *     "a,b-c,...";
 *   - month names JAN..DEC and weekday names SUN..SAT in any case; weekday 7
 *     is Sunday, like 0;
 *   - @yearly @annually @monthly @weekly @daily @midnight @hourly;
 *   - "every N" with a unit s, m, h or d ("every 30s", "every 5m"): every N
 *     seconds counted from the Unix epoch, so all runners agree on the
 *     occurrences whatever time they start. N must be positive; a day is
 *     86400 s whatever the zone's DST.
 *
 * Next-fire semantics, in the expression's IANA zone (system tzdata):
 *   - Day of month and day of week: if either field begins with '*', both
 *     must match; if both are restricted, either may match.
 *   - Fixed-time jobs (the minute and hour fields don't begin with '*'): a
 *     local time skipped by a spring-forward change fires once, at the first
 *     instant after the change; a local time repeated by a fall-back change
 *     fires once, in its first pass.
 *   - Wildcard jobs (minute or hour begins with '*') follow the wall clock:
 *     nothing is made up in a gap, and they fire in both passes of a
 *     repeated hour.
 * An expression that can never fire (Feb 30) is rejected at parse time.
 *
 * Errors: ECRON, naming the field and the bad token; ETZ for an unknown zone.
 */
#ifndef ENIGMA_CRON_H
#define ENIGMA_CRON_H

#include <stdint.h>
#include <time.h>

#include "core/error.h"

#define ENIGMA_CRON_MUST_CHECK __attribute__((warn_unused_result))

typedef struct enigma_cron {
    uint64_t seconds;  /* bit s: second s matches (0..59) */
    uint64_t minutes;  /* 0..59 */
    uint32_t hours;    /* 0..23 */
    uint32_t mdays;    /* bit d: day d (1..31) */
    uint16_t months;   /* bit m: month m (1..12) */
    uint8_t wdays;     /* bit w: weekday w (0 = Sunday .. 6) */
    unsigned mday_star : 1, wday_star : 1, fixed : 1;
    int64_t every;     /* > 0: the "every N" form, in seconds; the fields are unused */
} enigma_cron;

/* Parses `text` (NUL-terminated). Returns 0, or -1 with ECRON naming the
 * field and the token ("day-of-month: '32' is out of range 1-31"). */
int enigma_cron_parse(enigma_cron *cron, const char *text,
                      enigma_error *err) ENIGMA_CRON_MUST_CHECK;

/*
 * The first fire time strictly after `after` (Unix seconds, UTC), computed
 * in the zone `tz` (an IANA name such as "America/New_York"; NULL or "UTC"
 * for UTC). Sets *next and returns 0; returns -1 with ETZ for an unknown zone,
 * or ECRON if no time exists within the search horizon (which a parsed
 * expression cannot reach, but the caller need not trust that).
 * Thread-safe: the zone is switched under a lock.
 */
int enigma_cron_next(const enigma_cron *cron, const char *tz, time_t after, time_t *next,
                     enigma_error *err) ENIGMA_CRON_MUST_CHECK;

#endif
