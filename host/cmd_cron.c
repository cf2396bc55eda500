/*
 * enigma cron next 'EXPR' [--from TIME] [--tz ZONE] [-n N]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "core/sched/cron.h"

static const char cron_usage[] =
    "usage: enigma cron next 'EXPR' [--from TIME] [--tz ZONE] [-n N]\n"
    "\n"
    "Prints the next N (default 5) times EXPR fires, strictly after TIME (default\n"
    "now), one per line as YYYY-MM-DDTHH:MM:SSZ in UTC. EXPR is evaluated in ZONE,\n"
    "an IANA name such as America/New_York (default UTC), with Vixie cron's rules\n"
    "for day-of-month/day-of-week and for daylight-saving changes.\n"
    "\n"
    "EXPR: 5 fields (minute hour day-of-month month day-of-week), or 6 with a\n"
    "leading seconds field; *, numbers, ranges a-b, steps */n and a-b/n, lists;\n"
    "JAN-DEC and SUN-SAT in any case (7 is Sunday too); @yearly @annually\n"
    "@monthly @weekly @daily @midnight @hourly; or `every N` with a unit s, m, h\n"
    "or d (`every 30s`), counted from the Unix epoch.\n"
    "TIME: YYYY-MM-DDTHH:MM:SSZ (the Z may be left out; the time is UTC) or\n"
    "YYYY-MM-DD (midnight UTC).\n";

/* Reads an ISO-8601 UTC time; -1 if it is not one (or not a real date). */
static int parse_time(const char *text, time_t *out)
{
    struct tm tm = {0};
    int n = 0, len = (int)strlen(text);

    if (sscanf(text, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
        return -1;
    if (len > 10) {
        int m = 0;
        if (sscanf(text + 10, "T%2d:%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &m) != 3 ||
            m != 9 || !(len == 19 || (len == 20 && text[19] == 'Z')))
            return -1;
    }
    struct tm want = tm;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = timegm(&tm);
    /* timegm normalises 02-30 into March: a date that moved was not a date */
    return tm.tm_year + 1900 == want.tm_year && tm.tm_mon + 1 == want.tm_mon &&
                   tm.tm_mday == want.tm_mday && tm.tm_hour == want.tm_hour &&
                   tm.tm_min == want.tm_min && tm.tm_sec == want.tm_sec
               ? 0
               : -1;
}

static int cron_next(int argc, char **argv)
{
    const char *expr = NULL, *tz = NULL;
    time_t from = time(NULL);
    long count = 5;

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (enigma_host_is_help(a)) {
            fputs(cron_usage, stdout);
            return 0;
        }
        if (strcmp(a, "--from") == 0 || strcmp(a, "--tz") == 0 || strcmp(a, "-n") == 0) {
            if (i + 1 >= argc)
                return enigma_host_usage_error("cron", "%s needs a value", a);
            const char *v = argv[++i];
            if (strcmp(a, "--tz") == 0) {
                tz = v;
            } else if (strcmp(a, "--from") == 0) {
                if (parse_time(v, &from) < 0)
                    return enigma_host_usage_error(
                        "cron", "--from '%s' is not a time like 2024-03-09T12:00:00Z", v);
            } else {
                char *end;
                count = strtol(v, &end, 10);
                if (*v == '\0' || *end != '\0' || count < 1 || count > 100000)
                    return enigma_host_usage_error("cron",
                                                   "-n '%s' is not a count from 1 to 100000", v);
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            return enigma_host_usage_error("cron", "unknown option '%s'", a);
        } else if (expr == NULL) {
            expr = a;
        } else {
            return enigma_host_usage_error("cron",
                                           "unexpected argument '%s' (quote the expression)", a);
        }
    }
    if (expr == NULL)
        return enigma_host_usage_error("cron", "an expression is required");

    enigma_cron cron;
    enigma_error err;
    if (enigma_cron_parse(&cron, expr, &err) < 0)
        return enigma_host_usage_error("cron", "invalid cron expression '%s': %s", expr,
                                       err.message);
    for (long i = 0; i < count; i++) {
        time_t next;
        if (enigma_cron_next(&cron, tz, from, &next, &err) < 0) {
            if (strcmp(err.code, "ETZ") == 0)
                return enigma_host_usage_error("cron", "%s", err.message);
            fprintf(stderr, "enigma: %s\n", err.message);
            return 1;
        }
        struct tm tm;
        char text[32];
        gmtime_r(&next, &tm);
        strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
        puts(text);
        from = next;
    }
    return 0;
}

int enigma_cmd_cron(int argc, char **argv)
{
    if (argc < 1)
        return enigma_host_usage_error("cron", "a subcommand is required: next");
    if (enigma_host_is_help(argv[0])) {
        fputs(cron_usage, stdout);
        return 0;
    }
    if (strcmp(argv[0], "next") == 0)
        return cron_next(argc - 1, argv + 1);
    return enigma_host_usage_error("cron", "unknown subcommand '%s'", argv[0]);
}
