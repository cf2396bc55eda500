/*
 * enigma_error: how every core function reports failure.
 *
 * A core function that can fail takes an `enigma_error *` as its last
 * argument, returns -1 (or NULL) and fills it in. It never prints and never
 * exits; the caller decides how the failure surfaces (a Lua error, a
 * `nil, message, code` triple, a line on stderr).
 */
#ifndef ENIGMA_ERROR_H
#define ENIGMA_ERROR_H

#include <stddef.h>

#define ENIGMA_ERROR_MESSAGE_MAX 1024
#define ENIGMA_ERROR_CODE_MAX 32
#define ENIGMA_ERROR_DETAIL_MAX 512

typedef struct enigma_error {
    /* a stable code: a five-character SQLSTATE, or an upper-case name */
    char code[ENIGMA_ERROR_CODE_MAX];
    /* one or more lines for a human: what failed, and what to do (for a
     * server error, its DETAIL and HINT lines follow the first) */
    char message[ENIGMA_ERROR_MESSAGE_MAX];
    /* optional, "" when absent: a server error's DETAIL and HINT alone */
    char detail[ENIGMA_ERROR_DETAIL_MAX];
    char hint[ENIGMA_ERROR_DETAIL_MAX];
    /* optional, 0 when absent: where in the statement's text the server
     * found the error, in characters from 1 */
    int position;
} enigma_error;

/* Fills `err` (which may be NULL; the optional fields are cleared) and
 * returns -1, so a failing function can end with
 * `return enigma_error_set(err, "EIO", "...", ...);`. */
int enigma_error_set(enigma_error *err, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends to err->message, truncating silently at the buffer's end. */
void enigma_error_append(enigma_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void enigma_error_clear(enigma_error *err);

#endif
