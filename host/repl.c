/*
 * enigma repl: the terminal around enigma.repl (lua/enigma/repl.lua).
 *
 * readline reads lines (history in HOME/history, the enigma home of
 * core/home.h; completion from
 * repl:complete); each line goes to repl:feed, and its output to the terminal,
 * or through $PAGER when it is taller or wider than the screen. Ctrl-D quits. Ctrl-C never
 * quits: at the prompt it drops the line being typed; while a line runs it
 * sends PQcancel to the server (a running query fails with "canceling
 * statement due to user request") and stops Lua code with a hook, as lua.c does.
 */
#include <lauxlib.h>
#include <limits.h>
#include <lua.h>
#include <libpq-fe.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bindings/binding.h"
#include "alloc.h"
#include "host.h"
#include "core/home.h"

static const char repl_usage[] =
    "usage: enigma repl\n"
    "\n"
    "An interactive session on the default database: Lua by default (`db` is the\n"
    "connection), SQL after \\sql. \\? lists the commands; Ctrl-C cancels the line or\n"
    "the running query; Ctrl-D quits. History is kept in the file `history` in the\n"
    "enigma home (see `enigma db --help`).\n";

static lua_State *session;             /* the host state, for the hook and completion */
static PGcancel *volatile canceller;   /* the connection's, while a line runs */
static volatile sig_atomic_t running;  /* a line is being evaluated */
static sigjmp_buf at_prompt;

#define GRACE 0.2                      /* seconds a cancelled query has to report itself */

static volatile double interrupted_at;

static double monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stops Lua code still running GRACE seconds after Ctrl-C. A query the
 * server cancelled returns well within that, with its own error, and the
 * line ends normally. */
static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    if (monotonic() - interrupted_at < GRACE)
        return;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

static void on_sigint(int sig)
{
    char err[256];

    (void)sig;
    if (!running)
        siglongjmp(at_prompt, 1);      /* drop the line being typed */
    interrupted_at = monotonic();      /* clock_gettime is async-signal-safe */
    if (canceller != NULL)
        PQcancel(canceller, err, sizeof err);
    lua_sethook(session, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

/* Calls repl:method(args...) (the repl object is at index 1); leaves nres results. */
static int call_method(lua_State *L, const char *method, int nargs, int nres)
{
    lua_getfield(L, 1, method);
    lua_insert(L, -nargs - 1);
    lua_pushvalue(L, 1);
    lua_insert(L, -nargs - 1);
    return enigma_host_pcall(L, nargs + 1, nres);
}

static char *completion(const char *text, int state)
{
    static int index, count;

    if (state == 0) {
        lua_settop(session, 1);
        lua_pushstring(session, text);
        if (call_method(session, "complete", 1, 1) != LUA_OK || !lua_istable(session, -1)) {
            lua_settop(session, 1);
            lua_newtable(session);
        }
        index = 0;
        count = (int)lua_rawlen(session, -1);
    }
    if (index >= count)
        return NULL;
    lua_rawgeti(session, 2, ++index);
    {
        char *word = strdup(lua_tostring(session, -1));

        lua_pop(session, 1);
        return word;
    }
}

static char **complete(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;  /* no file names */
    return rl_completion_matches(text, completion);
}

/* The connection's PGcancel, or NULL when the session has no database. */
static PGcancel *make_canceller(lua_State *L)
{
    PGcancel *pc;

    lua_getfield(L, 1, "db");
    pc = enigma_lua_db_canceller(L, -1);
    lua_pop(L, 1);
    return pc;
}

static const char session_lua[] =
    "local enigma = require 'enigma'\n"
    "local db, err = enigma.db.connect()\n"
    "if not db then io.stderr:write('enigma: no database (', tostring(err), '); Lua only\\n') end\n"
    "if db then io.write('enigma ', enigma.version, ' on ', db:query('select current_database() as d')[1].d,"
    " '. \\\\? for help, \\\\sql for SQL, Ctrl-D to quit.\\n') end\n"
    "local out = {}\n"
    "local r = require('enigma.repl').new{ db = db, write = function(s) out[#out + 1] = s end }\n"
    "-- After each line: its output on the terminal, or through $PAGER (less -FRXS) when it is\n"
    "-- taller or wider than the screen, as psql does. PAGER='' turns paging off.\n"
    "function r.flush(_, rows, cols)\n"
    "  local text = table.concat(out)\n"
    "  out = {}\n"
    "  if text == '' then return end\n"
    "  local lines, wide = 0, false\n"
    "  for l in text:gmatch('([^\\n]*)\\n') do\n"
    "    lines = lines + 1\n"
    "    if (utf8.len(l) or #l) > cols then wide = true end\n"
    "  end\n"
    "  local pager = os.getenv('PAGER') or 'less -FRXS'\n"
    "  if rows > 0 and (lines >= rows - 1 or wide) and pager ~= '' then\n"
    "    local p = io.popen(pager, 'w')\n"
    "    if p then p:write(text) p:close() return end\n"
    "  end\n"
    "  io.write(text)\n"
    "  io.flush()\n"
    "end\n"
    "return r\n";

int enigma_cmd_repl(int argc, char **argv)
{
    char home[PATH_MAX], history[PATH_MAX + 16];
    enigma_error err;
    struct sigaction sa;
    lua_State *L;
    int status;

    if (argc > 0 && enigma_host_is_help(argv[0])) {
        fputs(repl_usage, stdout);
        return 0;
    }
    if (argc > 0)
        return enigma_host_usage_error("repl", "unexpected argument '%s'", argv[0]);
    L = enigma_host_newstate();
    if (L == NULL) {
        fputs("enigma: cannot create a Lua state: out of memory\n", stderr);
        return 1;
    }
    if (luaL_loadstring(L, session_lua) != LUA_OK || enigma_host_pcall(L, 0, 1) != LUA_OK) {
        enigma_host_alloc_close(L);
        return 1;
    }
    session = L;                       /* index 1: the repl object */
    canceller = make_canceller(L);

    /* in the home found as the database's is; not created for it (the
     * first connection to the embedded cluster creates it) */
    history[0] = '\0';
    if (enigma_home_locate(home, sizeof home, NULL, &err) == 0)
        snprintf(history, sizeof history, "%s/history", home);
    using_history();
    stifle_history(1000);
    if (history[0] != '\0')
        read_history(history);
    rl_readline_name = "enigma";
    rl_attempted_completion_function = complete;
    rl_basic_word_break_characters = " \t\n\"'`<>=;,()[]{}+-*/%^#~|&";
    rl_catch_signals = 0;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);

    for (;;) {
        char *line;

        if (sigsetjmp(at_prompt, 1) != 0) {   /* Ctrl-C at the prompt */
            rl_free_line_state();
            rl_cleanup_after_signal();
            fputs("\n", stdout);
            lua_settop(L, 1);
            call_method(L, "reset", 0, 0);
        }
        lua_settop(L, 1);
        if (call_method(L, "prompt", 0, 1) != LUA_OK)
            break;
        line = readline(lua_tostring(L, -1));
        lua_settop(L, 1);
        if (line == NULL) {            /* Ctrl-D */
            fputs("\n", stdout);
            break;
        }
        if (line[0] != '\0') {
            add_history(line);
            if (history[0] != '\0')
                write_history(history);
        }
        lua_pushstring(L, line);
        free(line);
        running = 1;
        status = call_method(L, "feed", 1, 1);
        if (status == LUA_OK) {
            int rows, cols;

            rl_get_screen_size(&rows, &cols);
            lua_pushinteger(L, rows);
            lua_pushinteger(L, cols);
            call_method(L, "flush", 2, 0);
        }
        running = 0;
        lua_sethook(L, NULL, 0, 0);
        fflush(stdout);
        if (status == LUA_OK && lua_isstring(L, -1) && strcmp(lua_tostring(L, -1), "quit") == 0)
            break;
        if (status != LUA_OK)          /* the error was printed; the session goes on */
            call_method(L, "reset", 0, 0);
    }
    signal(SIGINT, SIG_DFL);
    if (canceller != NULL)
        PQfreeCancel(canceller);
    canceller = NULL;
    session = NULL;
    enigma_host_alloc_close(L);
    return 0;
}
