/*
 * What every command's argument handling shares: help flags, usage errors
 * that say how to get help, "did you mean" for a mistyped word, and the
 * `--opt=value` spelling of `--opt value`.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

int enigma_host_is_help(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

int enigma_host_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;

    fputs("enigma: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (command != NULL)
        fprintf(stderr, "\nRun `enigma help %s` for usage.\n", command);
    else
        fputs("\nRun `enigma help` for usage.\n", stderr);
    return EXIT_USAGE;
}

/* Optimal string alignment distance (Damerau-Levenshtein with adjacent
 * transpositions), capped: words longer than 63 bytes are never close. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t d[64][64];

    if (la >= 64 || lb >= 64)
        return (size_t)-1;
    for (i = 0; i <= la; i++)
        d[i][0] = i;
    for (j = 0; j <= lb; j++)
        d[0][j] = j;
    for (i = 1; i <= la; i++)
        for (j = 1; j <= lb; j++) {
            size_t cost = a[i - 1] != b[j - 1], best = d[i - 1][j - 1] + cost;

            if (d[i - 1][j] + 1 < best)
                best = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < best)
                best = d[i][j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < best)
                best = d[i - 2][j - 2] + 1;
            d[i][j] = best;
        }
    return d[la][lb];
}

const char *enigma_host_suggest(const char *word, const char *const *candidates, size_t n)
{
    size_t best = (size_t)-1, limit = strlen(word) <= 4 ? 1 : 2, i;
    const char *found = NULL;

    for (i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);

        if (strncmp(word, candidates[i], strlen(word)) == 0 && strlen(word) >= 2)
            d = 1;   /* a prefix: `mig` for migrate */
        if (d <= limit && d < best) {
            best = d;
            found = candidates[i];
        }
    }
    return found;
}

char **enigma_host_split_options(int argc, char **argv, int stop_at_operand)
{
    char **out = calloc((size_t)argc * 2 + 1, sizeof *out);
    int i, n = 0, literal = 0;

    if (out == NULL)
        return NULL;
    for (i = 0; i < argc; i++) {
        const char *a = argv[i], *eq = strchr(a, '=');

        if (!literal && strcmp(a, "--") == 0)
            literal = 1;
        else if (!literal && stop_at_operand && a[0] != '-')
            literal = 1;
        if (literal || strncmp(a, "--", 2) != 0 || eq == NULL || eq == a + 2) {
            out[n++] = argv[i];
            continue;
        }
        /* "--opt=value" -> "--opt" "value": both point into argv[i], which
         * is split in place (argv strings are the program's to modify). */
        argv[i][eq - a] = '\0';
        out[n++] = argv[i];
        out[n++] = argv[i] + (eq - a) + 1;
    }
    out[n] = NULL;
    return out;
}
