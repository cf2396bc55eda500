/*
 * enigma_sqlscan: PostgreSQL's lexical rules, as much as it takes to find
 * where each top-level statement of a script starts.
 *
 * It follows the server's scanner (src/backend/parser/scan.l) and psql's
 * (src/fe_utils/psqlscan.l) for what decides where a statement starts:
 * identifiers (which may hold `$` after their first character), dollar
 * quotes ($tag$...$tag$, recognised only where a token starts, the tag an
 * identifier without `$`), standard strings ('...' with ''), E'...'
 * strings with backslash escapes, quoted identifiers ("..." with ""),
 * `--` and nested slash-star comments, parentheses, and psql's rule that
 * the semicolons inside CREATE FUNCTION/PROCEDURE ... BEGIN ATOMIC ... END
 * do not end the statement. It assumes standard_conforming_strings = on,
 * the default since PostgreSQL 9.1.
 */
#ifndef ENIGMA_SQLSCAN_H
#define ENIGMA_SQLSCAN_H

#include <stddef.h>

/* Finds the first top-level statement of `sql` (`len` bytes; NUL bytes
 * are read as text) that controls the transaction: BEGIN, START
 * TRANSACTION, COMMIT, END, ROLLBACK, ABORT, SAVEPOINT, RELEASE, PREPARE
 * TRANSACTION (and COMMIT/ROLLBACK PREPARED). Returns the offset of its
 * first keyword, and copies that keyword in upper case into `word`
 * (caller-owned, `size` bytes, may be NULL); or -1 when there is none. An
 * unterminated quote or comment runs to the end of the text, as the
 * server would refuse it. */
long enigma_sqlscan_transaction_control(const char *sql, size_t len, char *word, size_t size);

#endif
