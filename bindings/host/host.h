/*
 * The enigma program: one function per command, each taking the arguments
 * after the command name and returning the process exit status:
 * 0 success, 1 failure, 2 usage error.
 */
#ifndef ENIGMA_HOST_H
#define ENIGMA_HOST_H

#include <lua.h>

#define EXIT_USAGE 2

int enigma_cmd_run(int argc, char **argv);
int enigma_cmd_migrate(int argc, char **argv);
int enigma_cmd_db(int argc, char **argv);
int enigma_cmd_cron(int argc, char **argv);
int enigma_cmd_serve(int argc, char **argv);
int enigma_cmd_jobs(int argc, char **argv);
int enigma_cmd_agents(int argc, char **argv);
int enigma_cmd_repl(int argc, char **argv);

/* Calls require(module).main(command, {argv...}) in a new state and returns
 * its result as the exit status (1 when it raised: the error is printed). */
int enigma_host_lua_command(const char *module, const char *command, int argc, char **argv);

/* A Lua state with the standard libraries and the enigma package preloaded;
 * close it with enigma_host_alloc_close (bindings/host/alloc.h). */
lua_State *enigma_host_newstate(void);

/* Calls the function below `nargs` arguments with a traceback handler; on an
 * error prints "enigma: <message>\n<traceback>" on stderr. Returns the Lua status. */
int enigma_host_pcall(lua_State *L, int nargs, int nresults);

/* Prints "enigma: <message>" and the usage hint for `command` on stderr; returns EXIT_USAGE. */
int enigma_host_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* True when argv[i] is -h or --help. */
int enigma_host_is_help(const char *arg);

#endif
