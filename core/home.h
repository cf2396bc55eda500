/*
 * enigma_home: where the enigma home is, found rather than guessed.
 *
 * The home holds the embedded database cluster (core/pgcluster.h) and the
 * REPL's history. It is, the first that applies:
 *   1. $ENIGMA_HOME, when set and not empty (relative: to the current
 *      directory);
 *   2. the nearest directory named .enigma at or above the current
 *      directory, as git finds .git (a .enigma that is not a directory is
 *      passed over; the search stops at /);
 *   3. $XDG_DATA_HOME/enigma, when XDG_DATA_HOME is an absolute path;
 *   4. $HOME/.local/share/enigma ($HOME, else the user database's entry).
 * So a command run anywhere outside a project reaches the same database as
 * any other, and a project that wants its own makes a .enigma directory.
 * Finding the home never creates anything.
 */
#ifndef ENIGMA_HOME_H
#define ENIGMA_HOME_H

#include <stddef.h>

#include "core/error.h"

/* The environment the search reads, as plain strings (NULL when unset).
 * The struct owns nothing. */
typedef struct enigma_home_env {
    const char *enigma_home;   /* $ENIGMA_HOME */
    const char *xdg_data_home; /* $XDG_DATA_HOME */
    const char *home;          /* $HOME; NULL or "" means the user database's */
} enigma_home_env;

/* Which rule found the home. */
typedef enum {
    ENIGMA_HOME_FROM_ENV,      /* $ENIGMA_HOME */
    ENIGMA_HOME_FROM_PROJECT,  /* a .enigma directory at or above cwd */
    ENIGMA_HOME_FROM_XDG,      /* $XDG_DATA_HOME/enigma */
    ENIGMA_HOME_FROM_USER      /* $HOME/.local/share/enigma */
} enigma_home_source;

/* Writes the home into `out` (caller-owned, `size` bytes) by the rules
 * above, searching upward from `cwd` (an absolute directory; NULL skips
 * rule 2). The result is absolute and normalized ("." and ".." removed,
 * no trailing slash) but not resolved: it need not exist. `source`, when
 * not NULL, says which rule applied.
 * Fails with "EIO" (a relative $ENIGMA_HOME without `cwd`, no home
 * directory for the user, or a path longer than `size`). */
int enigma_home_find(const char *cwd, const enigma_home_env *env, char *out, size_t size,
                     enigma_home_source *source, enigma_error *err)
    __attribute__((warn_unused_result));

/* enigma_home_find() for this process: its current directory and its
 * environment. Then resolves the part of the path that exists (symlinks
 * included), so the same home always gets the same name. */
int enigma_home_locate(char *out, size_t size, enigma_home_source *source, enigma_error *err)
    __attribute__((warn_unused_result));

/* Makes `path` absolute against `cwd` (when relative), normalizes it and
 * resolves its longest existing prefix with realpath(); the rest is kept
 * as written. Writes into `out` (`size` bytes). Fails with "EIO" (relative
 * without `cwd`, or too long). */
int enigma_home_absolute(const char *path, const char *cwd, char *out, size_t size,
                         enigma_error *err) __attribute__((warn_unused_result));

#endif
