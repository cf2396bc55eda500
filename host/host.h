/*
 * The enigma program: one function per command, each taking the arguments
 * after the command name and returning the process exit status:
 * 0 success, 1 failure, 2 usage error.
 */
#ifndef ENIGMA_HOST_H
#define ENIGMA_HOST_H

#include <lua.h>
#include <stddef.h>

#define EXIT_USAGE 2

int enigma_cmd_run(int argc, char **argv);
int enigma_cmd_migrate(int argc, char **argv);
int enigma_cmd_db(int argc, char **argv);
int enigma_cmd_cron(int argc, char **argv);
int enigma_cmd_repl(int argc, char **argv);

/* ---- state.c ---- */

/* Calls require(module).main(command, {argv...}) in a new state and returns
 * its result as the exit status (1 when it raised: the error is printed). */
int enigma_host_lua_command(const char *module, const char *command, int argc, char **argv);

/* A Lua state with the standard libraries and the enigma package preloaded,
 * its package.path starting with the package's Lua half; close it with
 * enigma_host_alloc_close (alloc.h). NULL when out of memory. */
lua_State *enigma_host_newstate(void);

/* Calls the function below `nargs` arguments with a traceback handler; on an
 * error prints "enigma: <message>\n<traceback>" on stderr. Returns the Lua status. */
int enigma_host_pcall(lua_State *L, int nargs, int nresults);

/* ---- usage.c ---- */

/* Prints "enigma: <message>" and the usage hint for `command` on stderr; returns EXIT_USAGE. */
int enigma_host_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when argv[i] is -h or --help. */
int enigma_host_is_help(const char *arg);

/* The candidate closest to `word` (a prefix of at least 2 letters, or within
 * 1 edit for words of up to 4 letters and 2 for longer ones), or NULL. */
const char *enigma_host_suggest(const char *word, const char *const *candidates, size_t n);

/* A new NULL-terminated array (free() it; NULL when out of memory) of argv's
 * arguments with each "--opt=value" split in two, "--opt" and "value"; the
 * strings are argv's own, split in place. Splitting stops at "--", and with
 * `stop_at_operand` at the first argument that is not an option. */
char **enigma_host_split_options(int argc, char **argv, int stop_at_operand);

#endif
