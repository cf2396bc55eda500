/*
 * The raw side of `make bench`: what enigma's paths are measured against.
 *
 *   bench_tool roundtrip CONNINFO SQL N PARAM...   N executions of one prepared
 *       statement (params cycled), reading every field of every row as
 *       text; prints the elapsed seconds.
 *   bench_tool rss PROGRAM ARGS...                 runs the program and prints
 *       its peak resident set size in kB (getrusage of the child).
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int roundtrip(const char *conninfo, const char *sql, long n, int nparams, char **params)
{
    PGconn *conn = PQconnectdb(conninfo);
    PGresult *res;
    size_t sink = 0;
    double start;
    long i;

    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "bench_tool: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return 1;
    }
    res = PQprepare(conn, "bench", sql, 0, NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        fprintf(stderr, "bench_tool: %s", PQerrorMessage(conn));
        PQclear(res);
        PQfinish(conn);
        return 1;
    }
    PQclear(res);
    start = now();
    for (i = 0; i < n; i++) {
        const char *value = params[i % nparams];
        int r, c;

        res = PQexecPrepared(conn, "bench", 1, &value, NULL, NULL, 0);
        if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
            fprintf(stderr, "bench_tool: %s", PQerrorMessage(conn));
            PQclear(res);
            PQfinish(conn);
            return 1;
        }
        for (r = 0; r < PQntuples(res); r++)
            for (c = 0; c < PQnfields(res); c++)
                sink += strlen(PQgetvalue(res, r, c));
        PQclear(res);
    }
    printf("%.6f\n", now() - start);
    PQfinish(conn);
    return sink > 0 ? 0 : 1;
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
    if (argc >= 6 && strcmp(argv[1], "roundtrip") == 0)
        return roundtrip(argv[2], argv[3], strtol(argv[4], NULL, 10), argc - 5, argv + 5);
    if (argc >= 3 && strcmp(argv[1], "rss") == 0)
        return rss(argv + 2);
    fprintf(stderr, "usage: bench_tool roundtrip CONNINFO SQL N PARAM... | rss PROGRAM ARGS...\n");
    return 2;
}
