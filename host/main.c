/*
 * enigma: the command line. Dispatches to one function per command, or to a
 * command line written in Lua (lua/enigma/cli/).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "core/pgcluster.h"

static const char usage_text[] =
    "usage: enigma [--version] [--help] COMMAND [ARGS...]\n"
    "\n"
    "The Enigma Protocol runtime: PostgreSQL, cryptography and scheduling in C,\n"
    "strategies, jobs and reports in Lua.\n"
    "\n"
    "commands:\n"
    "  run FILE.lua [ARGS...]   run a Lua script (it gets `arg` and `...`)\n"
    "  migrate [--status]       apply the schema's migrations to the database, or list them\n"
    "  db start|stop|status|url|psql\n"
    "                           manage the embedded PostgreSQL cluster\n"
    "  cron next 'EXPR' [--from TIME] [--tz ZONE] [-n N]\n"
    "                           print the next times a cron expression fires\n"
    "  serve [--jobs DIR] ...   run the jobs and agent strategies on their schedules\n"
    "  jobs list|run NAME       show the jobs and their last runs, or run one now\n"
    "  agents list|tick ID      show strategies and activations, or tick one now\n"
    "  repl                     an interactive Lua/SQL session (also bare `enigma` on a terminal)\n"
    "  help [COMMAND]           this text, or a command's\n"
    "\n"
    "Options may be written `--opt value` or `--opt=value`; `--` ends them.\n"
    "\n"
    "environment:\n"
    "  ENIGMA_DATABASE_URL, DATABASE_URL   the database (else libpq's PG* variables,\n"
    "                           else the embedded cluster under ENIGMA_HOME)\n"
    "  ENIGMA_HOME              the embedded cluster's home; by default the nearest\n"
    "                           .enigma directory above the current one, else\n"
    "                           $XDG_DATA_HOME/enigma (~/.local/share/enigma)\n"
    "  ENIGMA_SCHEMA_DIR        the migrations (default: the installed schema)\n"
    "  ENIGMA_SCRIPTS_DIR       the shipped scripts: jobs/, agents/, reports/, demo/\n"
    "  ENIGMA_LUA_DIR           the enigma package's Lua half\n"
    "  ENIGMA_PG_BINDIR         PostgreSQL's initdb and pg_ctl\n"
    "\n"
    "`man enigma` has more.\n";

static const struct command {
    const char *name;
    int (*fn)(int argc, char **argv); /* a command in C, or */
    const char *module;               /* one whose command line is written in Lua */
    int options_before_operand;       /* `run`: options end at the script's name */
} commands[] = {
    {"run", enigma_cmd_run, NULL, 1},
    {"migrate", enigma_cmd_migrate, NULL, 0},
    {"db", enigma_cmd_db, NULL, 1},
    /* `db psql ARGS`: psql's own, as given */ {"cron", enigma_cmd_cron, NULL, 0},
    {"serve", NULL, "enigma.cli.serve", 0},
    {"jobs", NULL, "enigma.cli.serve", 0},
    {"agents", NULL, "enigma.cli.agents", 0},
    {"repl", enigma_cmd_repl, NULL, 0},
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(const char *name)
{
    size_t i;

    for (i = 0; i < NCOMMANDS; i++)
        if (strcmp(name, commands[i].name) == 0)
            return &commands[i];
    return NULL;
}

static int unknown_command(const char *name)
{
    const char *names[NCOMMANDS + 1];
    const char *near;
    size_t i;

    for (i = 0; i < NCOMMANDS; i++)
        names[i] = commands[i].name;
    names[NCOMMANDS] = "help";
    near = enigma_host_suggest(name, names, NCOMMANDS + 1);
    if (near != NULL)
        return enigma_host_usage_error(NULL, "unknown command '%s'; did you mean '%s'?", name,
                                       near);
    return enigma_host_usage_error(NULL, "unknown command '%s'", name);
}

/* A command in C gets --opt=value split here; one written in Lua splits its
 * own (enigma.args), where it knows which options are flags. */
static int dispatch(const struct command *c, int argc, char **argv)
{
    char **args;
    int n = 0, code;

    if (c->fn == NULL)
        return enigma_host_lua_command(c->module, c->name, argc, argv);
    if ((args = enigma_host_split_options(argc, argv, c->options_before_operand)) == NULL) {
        fputs("enigma: out of memory\n", stderr);
        return 1;
    }
    while (args[n] != NULL)
        n++;
    code = c->fn(n, args);
    free(args);
    return code;
}

/* enigma help [COMMAND]: the command's --help. */
static int help(int argc, char **argv)
{
    const struct command *c;
    char *args[] = {"--help", NULL};

    if (argc == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (argc > 1)
        return enigma_host_usage_error(NULL, "help takes one command, not '%s'", argv[1]);
    if (strcmp(argv[0], "help") == 0) {
        fputs(usage_text, stdout);
        return 0;
    }
    if ((c = find_command(argv[0])) == NULL)
        return unknown_command(argv[0]);
    return dispatch(c, 1, args);
}

/* The one line that says a new database cluster is being made, and where. */
static void print_notice(const char *message, void *ud)
{
    (void)ud;
    fprintf(stderr, "enigma: %s\n", message);
}

int main(int argc, char **argv)
{
    const struct command *c;

    enigma_pgcluster_set_notice(print_notice, NULL);
    if (argc < 2 && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
        return enigma_cmd_repl(0, argv + 1); /* bare `enigma` on a terminal */
    if (argc < 2) {
        fprintf(stderr, "enigma: a command is required\n\n%s", usage_text);
        return EXIT_USAGE;
    }
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
    if (strcmp(argv[1], "help") == 0)
        return help(argc - 2, argv + 2);
    if ((c = find_command(argv[1])) == NULL)
        return unknown_command(argv[1]);
    return dispatch(c, argc - 2, argv + 2);
}
