#include "core/pgtext.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned enigma_pgtext_array_elem(unsigned oid)
{
    static const unsigned map[][2] = {
        {1000, ENIGMA_OID_BOOL},        {1001, ENIGMA_OID_BYTEA},     {1002, ENIGMA_OID_CHAR},
        {1003, ENIGMA_OID_NAME},        {1005, ENIGMA_OID_INT2},      {1007, ENIGMA_OID_INT4},
        {1009, ENIGMA_OID_TEXT},        {1014, ENIGMA_OID_BPCHAR},    {1015, ENIGMA_OID_VARCHAR},
        {1016, ENIGMA_OID_INT8},        {1021, ENIGMA_OID_FLOAT4},    {1022, ENIGMA_OID_FLOAT8},
        {1028, ENIGMA_OID_OID},         {1115, ENIGMA_OID_TIMESTAMP}, {1182, ENIGMA_OID_DATE},
        {1185, ENIGMA_OID_TIMESTAMPTZ}, {1231, ENIGMA_OID_NUMERIC},   {2951, ENIGMA_OID_UUID},
        {199, ENIGMA_OID_JSON},         {3807, ENIGMA_OID_JSONB},
    };
    size_t i;

    for (i = 0; i < sizeof map / sizeof map[0]; i++)
        if (map[i][0] == oid)
            return map[i][1];
    return 0;
}

/* --- timestamps -------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Writes `v` as exactly `n` decimal digits. */
static void put_digits(char **o, unsigned v, int n)
{
    int i;

    for (i = n - 1; i >= 0; i--) {
        (*o)[i] = (char)('0' + v % 10);
        v /= 10;
    }
    *o += n;
}

/* Reads exactly `n` digits. */
static int digits(const char **p, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int enigma_pgtext_timestamp(const char *in, int utc, char *out, size_t size)
{
    const char *p = in, *frac = NULL, *zone = NULL;
    size_t fraclen = 0;
    int64_t year = 0, secs;
    int mon, day, hh, mi, ss, oh = 0, om = 0, os = 0, sign = 1, n;
    unsigned um, ud;

    if (strcmp(in, "infinity") == 0 || strcmp(in, "-infinity") == 0) {
        if ((size_t)snprintf(out, size, "%s", in) >= size)
            return -1;
        return 0;
    }
    for (n = 0; isdigit((unsigned char)*p); p++, n++)
        year = year * 10 + (*p - '0');
    if (n != 4 || *p++ != '-' || digits(&p, 2, &mon) || *p++ != '-' || digits(&p, 2, &day) ||
        *p++ != ' ' || digits(&p, 2, &hh) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
        digits(&p, 2, &ss))
        return -1;
    if (*p == '.') {
        frac = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        fraclen = (size_t)(p - frac);
    }
    if (utc) {
        if (*p != '+' && *p != '-')
            return -1;
        zone = p;
        sign = *p++ == '-' ? -1 : 1;
        if (digits(&p, 2, &oh))
            return -1;
        if (*p == ':' && (p++, digits(&p, 2, &om)))
            return -1;
        if (*p == ':' && (p++, digits(&p, 2, &os)))
            return -1;
    }
    if (*p != '\0')     /* " BC", or a DateStyle we do not read */
        return -1;
    if (zone == NULL || (p - zone == 3 && oh == 0)) {
        /* Already UTC ("+00") or no zone: the text is right but for 'T' and 'Z'. */
        size_t len = (size_t)((zone ? zone : p) - in);

        if (len + 2 > size)
            return -1;
        memcpy(out, in, len);
        out[10] = 'T';
        if (utc)
            out[len++] = 'Z';
        out[len] = '\0';
        return 0;
    }

    secs = days_from_civil(year, (unsigned)mon, (unsigned)day) * 86400 + hh * 3600 + mi * 60 + ss;
    secs -= sign * (oh * 3600 + om * 60 + os);
    {
        int64_t days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
        int64_t rem = secs - days * 86400;
        size_t need = 20 + (fraclen ? fraclen + 1 : 0) + (utc ? 1 : 0);
        char *o = out;

        civil_from_days(days, &year, &um, &ud);
        if (year < 0 || year > 9999 || size < need + 1)
            return -1;
        /* Written by hand: this runs for every timestamp of every row. */
        put_digits(&o, (unsigned)year, 4);
        *o++ = '-';
        put_digits(&o, um, 2);
        *o++ = '-';
        put_digits(&o, ud, 2);
        *o++ = 'T';
        put_digits(&o, (unsigned)(rem / 3600), 2);
        *o++ = ':';
        put_digits(&o, (unsigned)(rem / 60 % 60), 2);
        *o++ = ':';
        put_digits(&o, (unsigned)(rem % 60), 2);
        if (fraclen) {
            *o++ = '.';
            memcpy(o, frac, fraclen);
            o += fraclen;
        }
        if (utc)
            *o++ = 'Z';
        *o = '\0';
    }
    return 0;
}

/* --- bytea ---------------------------------------------------------------------- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long enigma_pgtext_bytea(const char *in, size_t len, unsigned char *out)
{
    size_t i;

    if (len < 2 || in[0] != '\\' || in[1] != 'x' || (len - 2) % 2 != 0)
        return -1;
    for (i = 2; i < len; i += 2) {
        int hi = hexval(in[i]), lo = hexval(in[i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out[(i - 2) / 2] = (unsigned char)(hi << 4 | lo);
    }
    return (long)((len - 2) / 2);
}

/* --- arrays ----------------------------------------------------------------------- */

int enigma_pgtext_array_walk(const char *in, const enigma_pgtext_array_cb *cb, void *ud)
{
    const char *p = in;
    char *scratch;
    int depth = 0, rc = 0;

    if (*p == '[') {            /* "[0:2]={...}": explicit bounds, ignored */
        p = strchr(p, '=');
        if (p == NULL)
            return -1;
        p++;
    }
    scratch = malloc(strlen(p) + 1);
    if (scratch == NULL)
        return -1;
    while (*p && rc == 0) {
        if (*p == '{') {
            depth++;
            rc = cb->open(ud);
            p++;
        } else if (*p == '}') {
            if (--depth < 0) {
                rc = -1;
                break;
            }
            rc = cb->close(ud);
            p++;
            if (depth == 0 && *p != '\0')
                rc = -1;
        } else if (*p == ',') {
            p++;
        } else if (depth == 0) {
            rc = -1;
        } else if (*p == '"') {
            size_t n = 0;

            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1])
                    p++;
                scratch[n++] = *p;
            }
            if (*p != '"') {
                rc = -1;
                break;
            }
            p++;
            scratch[n] = '\0';
            rc = cb->element(ud, scratch, n);
        } else {
            size_t n = 0;

            while (*p && *p != ',' && *p != '}') {
                if (*p == '\\' && p[1])
                    p++;
                scratch[n++] = *p++;
            }
            while (n > 0 && isspace((unsigned char)scratch[n - 1]))
                n--;
            scratch[n] = '\0';
            rc = n == 4 && strcasecmp(scratch, "NULL") == 0 ? cb->element(ud, NULL, 0)
                                                            : cb->element(ud, scratch, n);
        }
    }
    if (rc == 0 && (depth != 0 || *in == '\0'))
        rc = -1;
    free(scratch);
    return rc;
}
