/* core/sqlscan: where transaction control hides and where it does not. */
#include <stdio.h>
#include <string.h>

#include "core/sqlscan.h"
#include "test.h"

typedef struct scan_case {
    const char *sql;
    const char *word; /* the keyword found, NULL for none */
    const char *at;   /* the text the statement starts with */
} scan_case;

static const scan_case cases[] = {
    /* found at top level, however written */
    {"commit", "COMMIT", "commit"},
    {"create table t (a int);\nCOMMIT;", "COMMIT", "COMMIT"},
    {"select 1; Begin; select 2", "BEGIN", "Begin"},
    {"select 1;end", "END", "end"},
    {"select 1; rollback to savepoint s", "ROLLBACK", "rollback"},
    {"select 1; abort", "ABORT", "abort"},
    {"select 1; start transaction", "START", "start"},
    {"select 1; savepoint s", "SAVEPOINT", "savepoint"},
    {"select 1; release s", "RELEASE", "release"},
    {"select 1; prepare transaction 'x'", "PREPARE TRANSACTION", "prepare transaction"},
    {"select 1; commit prepared 'x'", "COMMIT", "commit prepared"},
    {"/* a comment */ commit", "COMMIT", "commit"},
    {"-- a comment\ncommit", "COMMIT", "commit"},
    /* the attack: an identifier may hold $, and is no dollar quote */
    {"select 1 as _$a$; commit; create table t (a int)", "COMMIT", "commit"},
    {"select 1 as a$b; commit; select $b$", "COMMIT", "commit"},
    {"select 1 as x$$; commit; select $$", "COMMIT", "commit"},
    /* a $n parameter is not a dollar quote */
    {"prepare p as select $1; commit; select $1$", "COMMIT", "commit"},
    /* a number never takes a $ */
    {"select 1$a$ x $a$; commit", "COMMIT", "commit"},
    /* strings end where PostgreSQL ends them */
    {"select 'a\\'; commit; select ''", "COMMIT", "commit"},
    {"select 'it''s'; commit", "COMMIT", "commit"},
    {"select e'\\\\'; commit", "COMMIT", "commit"},
    {"select xe'\\'; commit; select '", "COMMIT", "commit"}, /* xe is an identifier */
    {"select \"a\"\"b\"; commit", "COMMIT", "commit"},
    {"select U&'\\0041'; commit", "COMMIT", "commit"},
    {"/* a /* nested */ comment */ commit", "COMMIT", "commit"},
    {"select $q$ $$ $q$; commit", "COMMIT", "commit"},
    /* prepare alone is a prepared statement */
    {"prepare p as select 1", NULL, NULL},
    /* not statements: comments, strings, quoted names, bodies, inner words */
    {"-- commit\nselect 1", NULL, NULL},
    {"/* commit; /* nested; */ still a comment; commit */ select 1", NULL, NULL},
    {"select 'commit; rollback'", NULL, NULL},
    {"select E'\\'; commit; '", NULL, NULL},
    {"select e'it''s; commit'", NULL, NULL},
    {"select \"; commit\"", NULL, NULL},
    {"select \"commit\"", NULL, NULL},
    {"do $$ begin commit; end $$", NULL, NULL},
    {"do $body$ begin perform 1; $x$ commit; $x$; end $body$", NULL, NULL},
    {"do $a$ $b$ ; commit; $b$ $a$", NULL, NULL},
    {"select $a$ $ab$; commit; $a$", NULL, NULL},
    {"create function f() returns int language plpgsql as $$ begin return 1; end $$", NULL, NULL},
    {"create or replace procedure p() language sql begin atomic select 1; end; select 2", NULL,
     NULL},
    {"create function f() returns int language sql begin atomic\n"
     "  select case when true then 1 end; end;\nselect 1",
     NULL, NULL},
    {"create rule r as on insert to t do also (insert into u values (1); delete from u)", NULL,
     NULL},
    {"select 1 as begin_x; select begin_at from t; select commit_ts", NULL, NULL},
    {"select 1; select 'unterminated; commit", NULL, NULL},
    {"select 1; /* unterminated; commit", NULL, NULL},
    {"", NULL, NULL},
};

static void test_cases(void)
{
    size_t i;

    for (i = 0; i < sizeof cases / sizeof *cases; i++) {
        const scan_case *t = &cases[i];
        char word[32] = "";
        long pos = enigma_sqlscan_transaction_control(t->sql, strlen(t->sql), word, sizeof word);

        if (t->word == NULL) {
            if (pos != -1)
                fprintf(stderr, "case %zu: %s: found %s at %ld\n", i, t->sql, word, pos);
            CHECK(pos == -1);
        } else {
            int ok = pos >= 0 && strcmp(word, t->word) == 0 &&
                     strncmp(t->sql + pos, t->at, strlen(t->at)) == 0;

            if (!ok)
                fprintf(stderr, "case %zu: %s: got %ld '%s'\n", i, t->sql, pos, word);
            CHECK(ok);
        }
    }
}

/* NUL bytes are text, and the length bounds the scan */
static void test_lengths(void)
{
    static const char sql[] = "select 1\0; commit";

    CHECK(enigma_sqlscan_transaction_control(sql, sizeof sql - 1, NULL, 0) == 11);
    CHECK(enigma_sqlscan_transaction_control(sql, 8, NULL, 0) == -1);
    CHECK(enigma_sqlscan_transaction_control("commit", 3, NULL, 0) == -1);
}

int main(void)
{
    test_cases();
    test_lengths();
    return test_report();
}
