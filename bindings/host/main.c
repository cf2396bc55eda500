/*
 * enigma: the command line. Dispatches to one function per command.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bindings/host/host.h"

static const char usage_text[] =
    "usage: enigma [--version] [--help] COMMAND [ARGS...]\n"
    "\n"
    "The Enigma Protocol runtime: PostgreSQL, cryptography and scheduling in C,\n"
    "strategies, jobs and reports in Lua.\n"
    "\n"
    "commands:\n"
    "  run FILE.lua [ARGS...]   run a Lua script (it gets `arg` and `...`)\n"
    "  migrate [--status]       apply schema/NNN_*.sql to the database, or list them\n"
    "  db start|stop|status|url|psql\n"
    "                           manage the embedded PostgreSQL cluster\n"
    "  cron next 'EXPR' [--from TIME] [--tz ZONE] [-n N]\n"
    "                           print the next times a cron expression fires\n"
    "  serve [--jobs DIR] ...   run the jobs and agent strategies on their schedules\n"
    "  jobs list|run NAME       show the jobs and their last runs, or run one now\n"
    "  agents list|tick ID      show strategies and activations, or tick one now\n"
    "  repl                     an interactive Lua/SQL session (also bare `enigma` on a terminal)\n"
    "\n"
    "The database is $ENIGMA_DATABASE_URL, else $DATABASE_URL, else libpq's PG*\n"
    "variables, else a private cluster under $ENIGMA_HOME (default ./.enigma)\n"
    "started on demand.\n"
    "\n"
    "Run `enigma COMMAND --help` for a command's options.\n";

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv);
} commands[] = {
    {"run", enigma_cmd_run},
    {"migrate", enigma_cmd_migrate},
    {"db", enigma_cmd_db},
    {"cron", enigma_cmd_cron},
    {"serve", enigma_cmd_serve},
    {"jobs", enigma_cmd_jobs},
    {"agents", enigma_cmd_agents},
    {"repl", enigma_cmd_repl},
};

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
        fprintf(stderr, "\nRun `enigma %s --help` for usage.\n", command);
    else
        fprintf(stderr, "\n\n%s", usage_text);
    return EXIT_USAGE;
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        return enigma_cmd_repl(0, argv + 1);   /* bare `enigma` on a terminal */
    if (argc < 2)
        return enigma_host_usage_error(NULL, "a command is required");
    if (enigma_host_is_help(argv[1])) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("enigma %s (%s)\n", ENIGMA_VERSION, LUA_RELEASE);
        return 0;
    }
    if (argv[1][0] == '-')
        return enigma_host_usage_error(NULL, "unknown option '%s'", argv[1]);
    for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 2, argv + 2);
    return enigma_host_usage_error(NULL, "unknown command '%s'", argv[1]);
}
