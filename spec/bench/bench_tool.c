/*
 * The raw side of `make bench`, and the harness that puts both sides in one
 * process so they share the machine's scheduling as closely as possible.
 *
 *   bench_tool roundtrip CONNINFO SQL N ROUNDS PARAM...
 *       Alternates, ROUNDS times, N executions of one prepared statement
 *       through enigma.db (a Lua loop in an embedded Lua state) and N through
 *       raw libpq in C (params cycled; every field of every row read as
 *       text), in the order A B, B A, A B, ... Both connections are opened
 *       and warmed up first. Prints one line per round: wall seconds of
 *       enigma and raw, then this process's CPU seconds for each.
 *   bench_tool crypto N ROUNDS
 *       Each crypto operation through enigma.crypto and through the core in
 *       C, alternating (spec/bench/bench_crypto.c).
 *   bench_tool rss PROGRAM ARGS...
 *       Runs the program and prints its peak resident set size in kB.
 */
#include <lauxlib.h>
#include <libpq-fe.h>
#include <lua.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bindings/binding.h"
#include "host/alloc.h"
#include "bench_crypto.h"

static double clock_seconds(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
    return clock_seconds(CLOCK_MONOTONIC);
}

static double cpu_now(void)
{
    return clock_seconds(CLOCK_PROCESS_CPUTIME_ID);
}

/* The raw loop: what an application would write against libpq directly. */
static double raw_loop(PGconn *conn, long n, int nparams, char **params)
{
    double start = now();
    size_t sink = 0;
    long i;

    for (i = 0; i < n; i++) {
        const char *value = params[i % nparams];
        PGresult *res = PQexecPrepared(conn, "bench", 1, &value, NULL, NULL, 0);
        int r, c;

        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            fprintf(stderr, "bench_tool: %s", PQerrorMessage(conn));
            exit(1);
        }
        for (r = 0; r < PQntuples(res); r++)
            for (c = 0; c < PQnfields(res); c++)
                sink += strlen(PQgetvalue(res, r, c));
        PQclear(res);
    }
    return sink > 0 ? now() - start : -1;
}

/* The enigma loop, in Lua as a user writes it. */
static const char lua_loop[] = "local enigma = require 'enigma'\n"
                               "local url, sql, ids = ...\n"
                               "local db = assert(enigma.db.connect(url))\n"
                               "return function(n)\n"
                               "  local start = enigma.monotime()\n"
                               "  for i = 1, n do\n"
                               "    local rows = db:query(sql, ids[i % #ids + 1])\n"
                               "    assert(rows[1])\n"
                               "  end\n"
                               "  return enigma.monotime() - start\n"
                               "end\n";

static double lua_round(lua_State *L, long n)
{
    double secs;

    lua_pushvalue(L, 1);
    lua_pushinteger(L, n);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        fprintf(stderr, "bench_tool: %s\n", lua_tostring(L, -1));
        exit(1);
    }
    secs = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return secs;
}

static int roundtrip(const char *conninfo, const char *sql, long n, int rounds, int nparams,
                     char **params)
{
    PGconn *conn = PQconnectdb(conninfo);
    lua_State *L = enigma_host_alloc_newstate();   /* as `enigma run` makes it */
    PGresult *res;
    int i;

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "bench_tool: %s", PQerrorMessage(conn));
        return 1;
    }
    res = PQprepare(conn, "bench", sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "bench_tool: %s", PQerrorMessage(conn));
        return 1;
    }
    PQclear(res);

    luaL_openlibs(L);
    luaL_requiref(L, "enigma", luaopen_enigma, 0);
    lua_pop(L, 1);
    if (luaL_loadstring(L, lua_loop) != LUA_OK) {
        fprintf(stderr, "bench_tool: %s\n", lua_tostring(L, -1));
        return 1;
    }
    lua_pushstring(L, conninfo);
    lua_pushstring(L, sql);
    lua_createtable(L, nparams, 0);
    for (i = 0; i < nparams; i++) {
        lua_pushstring(L, params[i]);
        lua_rawseti(L, -2, i + 1);
    }
    if (lua_pcall(L, 3, 1, 0) != LUA_OK) {
        fprintf(stderr, "bench_tool: %s\n", lua_tostring(L, -1));
        return 1;
    }
    /* stack: [1] the Lua loop */
    lua_round(L, n / 10 + 1);           /* warm both backends and caches */
    raw_loop(conn, n / 10 + 1, nparams, params);
    /* Whichever loop runs second in a round measures faster on this kind of
     * machine, so the order alternates (ABBA). */
    for (i = 0; i < rounds; i++) {
        double ours, raw, ours_cpu, raw_cpu, t;

        if (i % 2 == 0) {
            t = cpu_now();
            ours = lua_round(L, n);
            ours_cpu = cpu_now() - t;
            raw = raw_loop(conn, n, nparams, params);
            raw_cpu = cpu_now() - t - ours_cpu;
        } else {
            t = cpu_now();
            raw = raw_loop(conn, n, nparams, params);
            raw_cpu = cpu_now() - t;
            ours = lua_round(L, n);
            ours_cpu = cpu_now() - t - raw_cpu;
        }
        printf("%.6f %.6f %.6f %.6f\n", ours, raw, ours_cpu, raw_cpu);
    }
    enigma_host_alloc_close(L);
    PQfinish(conn);
    return 0;
}

static int rss(char **argv)
{
    struct rusage ru;
    pid_t pid = fork();
    int status;

    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
        return 1;
    printf("%ld\n", ru.ru_maxrss);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 7 && strcmp(argv[1], "roundtrip") == 0)
        return roundtrip(argv[2], argv[3], strtol(argv[4], NULL, 10), atoi(argv[5]), argc - 6,
                         argv + 6);
    if (argc == 4 && strcmp(argv[1], "crypto") == 0)
        return enigma_bench_crypto(strtol(argv[2], NULL, 10), atoi(argv[3]));
    if (argc >= 3 && strcmp(argv[1], "rss") == 0)
        return rss(argv + 2);
    fprintf(
        stderr,
        "usage: bench_tool roundtrip CONNINFO SQL N ROUNDS PARAM... | crypto N ROUNDS | rss PROGRAM ARGS...\n");
    return 2;
}
