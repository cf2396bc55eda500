/*
 * A scanner for PostgreSQL's lexical rules; see core/sqlscan.h. Token
 * classes follow scan.l: ident_start [A-Za-z\200-\377_], ident_cont adds
 * [0-9$]; a dollar-quote delimiter is $ followed by an optional tag of
 * ident_start then [A-Za-z\200-\377_0-9]*, then $.
 */
#include "core/sqlscan.h"

#include <stdio.h>
#include <string.h>

#define WORD_MAX 32

typedef struct scanner {
    const char *s;
    size_t len, pos;
} scanner;

static int at(const scanner *sc, size_t i)
{
    return sc->pos + i < sc->len ? (unsigned char)sc->s[sc->pos + i] : -1;
}

static int ident_start(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

static int digit(int c)
{
    return c >= '0' && c <= '9';
}

static int ident_cont(int c)
{
    return ident_start(c) || digit(c) || c == '$';
}

static int space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Skips a quoted run opened at pos (the quote char `q`) up to and past its
 * closing quote; a doubled quote is one quote; `backslash` (E'') makes a
 * backslash escape the next byte. */
static void skip_quoted(scanner *sc, int q, int backslash)
{
    int c;

    sc->pos++;
    while ((c = at(sc, 0)) >= 0) {
        if (backslash && c == '\\' && at(sc, 1) >= 0) {
            sc->pos += 2;
        } else if (c == q && at(sc, 1) == q) {
            sc->pos += 2;
        } else {
            sc->pos++;
            if (c == q)
                return;
        }
    }
}

/* When a dollar-quote delimiter starts at pos, skips past its closing one
 * and returns 1; else returns 0 and moves nothing. */
static int skip_dollar_quote(scanner *sc)
{
    size_t n = 1, i;

    if (ident_start(at(sc, 1)))
        for (n = 2; ident_start(at(sc, n)) || digit(at(sc, n)); n++)
            ;
    if (at(sc, n) != '$')
        return 0;
    n++; /* the delimiter is s[pos, pos + n) */
    for (i = sc->pos + n; i + n <= sc->len; i++) {
        if (sc->s[i] == '$' && memcmp(sc->s + i, sc->s + sc->pos, n) == 0) {
            sc->pos = i + n;
            return 1;
        }
    }
    sc->pos = sc->len;
    return 1;
}

/* Skips whitespace and comments; returns 0 at the end of the text. */
static int skip_blank(scanner *sc)
{
    for (;;) {
        int c = at(sc, 0);

        if (space(c)) {
            sc->pos++;
        } else if (c == '-' && at(sc, 1) == '-') {
            while ((c = at(sc, 0)) >= 0 && c != '\n')
                sc->pos++;
        } else if (c == '/' && at(sc, 1) == '*') {
            int depth = 1;

            for (sc->pos += 2; depth > 0 && at(sc, 0) >= 0;) {
                if (at(sc, 0) == '/' && at(sc, 1) == '*')
                    depth++, sc->pos += 2;
                else if (at(sc, 0) == '*' && at(sc, 1) == '/')
                    depth--, sc->pos += 2;
                else
                    sc->pos++;
            }
        } else {
            return c >= 0;
        }
    }
}

/* What the statement so far says, for psql's BEGIN ... END rule: the first
 * letters of its leading CREATE [OR REPLACE] FUNCTION|PROCEDURE words. */
typedef struct statement {
    size_t start;           /* offset of its first token */
    int tokens;             /* tokens read so far */
    int words;              /* identifiers read so far */
    char lead[4];           /* see psqlscan.l: identifiers[] */
    int begin_depth, paren_depth;
    char first[WORD_MAX];   /* its first token, when an identifier, lower case */
} statement;

static int is_routine_definition(const statement *st)
{
    return st->lead[0] == 'c' && (st->lead[1] == 'f' || st->lead[1] == 'p' ||
                                  (st->lead[1] == 'o' && st->lead[2] == 'r' &&
                                   (st->lead[3] == 'f' || st->lead[3] == 'p')));
}

/* Returns 1 when the statement's first words make it transaction control. */
static int controls_transaction(const statement *st, const char *word)
{
    static const char *const alone[] = {"begin", "commit",    "rollback", "end",
                                        "abort", "savepoint", "release",  "start"};
    size_t i;

    if (st->tokens == 1) {
        for (i = 0; i < sizeof alone / sizeof *alone; i++)
            if (strcmp(word, alone[i]) == 0)
                return 1;
    }
    return st->tokens == 2 && strcmp(st->first, "prepare") == 0 && strcmp(word, "transaction") == 0;
}

static void identifier(statement *st, const char *text, size_t n, char *lower)
{
    static const char *const lead_words[] = {"create", "function", "procedure", "or", "replace"};
    size_t i;

    for (i = 0; i < n && i < WORD_MAX - 1; i++)
        lower[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] - 'A' + 'a' : text[i]);
    lower[i] = '\0';
    if (n >= WORD_MAX)
        lower[0] = '\0'; /* longer than any keyword */
    if (st->words < 4) {
        for (i = 0; i < sizeof lead_words / sizeof *lead_words; i++)
            if (strcmp(lower, lead_words[i]) == 0)
                st->lead[st->words] = lower[0];
    }
    st->words++;
    if (is_routine_definition(st) && st->paren_depth == 0) {
        if (strcmp(lower, "begin") == 0)
            st->begin_depth++;
        else if (strcmp(lower, "case") == 0 && st->begin_depth >= 1)
            st->begin_depth++;
        else if (strcmp(lower, "end") == 0 && st->begin_depth > 0)
            st->begin_depth--;
    }
}

static void new_statement(statement *st, size_t start)
{
    memset(st, 0, sizeof *st);
    st->start = start;
}

long enigma_sqlscan_transaction_control(const char *sql, size_t len, char *word, size_t size)
{
    scanner sc = {sql, len, 0};
    statement st;
    char lower[WORD_MAX];

    new_statement(&st, 0);
    while (skip_blank(&sc)) {
        size_t start = sc.pos;
        int c = at(&sc, 0), is_word = 0;

        if (st.tokens == 0)
            st.start = start;
        if ((c == 'E' || c == 'e') && at(&sc, 1) == '\'') {
            sc.pos++;
            skip_quoted(&sc, '\'', 1);
        } else if (ident_start(c)) {
            while (ident_cont(at(&sc, 0)))
                sc.pos++;
            identifier(&st, sql + start, sc.pos - start, lower);
            is_word = 1;
        } else if (c == '\'' || c == '"') {
            skip_quoted(&sc, c, 0);
        } else if (c == '$' && digit(at(&sc, 1))) {
            for (sc.pos++; digit(at(&sc, 0)); sc.pos++) /* a parameter, $1 */
                ;
        } else if (c == '$' && skip_dollar_quote(&sc)) {
            ;
        } else if (digit(c) || (c == '.' && digit(at(&sc, 1)))) {
            /* a number, and any junk the server refuses after it; never a $ */
            while (digit(at(&sc, 0)) || at(&sc, 0) == '.' ||
                   (ident_start(at(&sc, 0)) && at(&sc, 0) < 0x80))
                sc.pos++;
        } else {
            sc.pos++;
            if (c == '(' || c == '[')
                st.paren_depth++;
            else if ((c == ')' || c == ']') && st.paren_depth > 0)
                st.paren_depth--;
            else if (c == ';' && st.paren_depth == 0 && st.begin_depth == 0) {
                new_statement(&st, sc.pos);
                continue;
            }
        }
        st.tokens++;
        if (is_word && controls_transaction(&st, lower)) {
            if (word != NULL && size > 0) {
                const char *w = st.tokens == 2 ? "PREPARE TRANSACTION" : lower;
                size_t i;

                for (i = 0; w[i] != '\0' && i + 1 < size; i++)
                    word[i] = (char)(w[i] >= 'a' && w[i] <= 'z' ? w[i] - 'a' + 'A' : w[i]);
                word[i] = '\0';
            }
            return (long)st.start;
        }
        if (st.tokens == 1)
            snprintf(st.first, sizeof st.first, "%s", is_word ? lower : "");
    }
    return -1;
}
