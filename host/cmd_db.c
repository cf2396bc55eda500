/*
 * enigma db start|stop|status|url|psql, and enigma migrate [--status].
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "core/db.h"
#include "core/migrate.h"
#include "core/pgcluster.h"

static const char db_usage[] =
    "usage: enigma db start|stop|status|url [--runtime]|psql [PSQL-ARGS...]\n"
    "\n"
    "The embedded PostgreSQL cluster of the enigma home: $ENIGMA_HOME, else the\n"
    "nearest .enigma directory above the current one, else $XDG_DATA_HOME/enigma\n"
    "(~/.local/share/enigma):\n"
    "  start    create it on first use (initdb, saying where on stderr), start it,\n"
    "           wait until it accepts connections; it keeps running until\n"
    "           `enigma db stop`\n"
    "  stop     stop it (nothing to do when it is not running)\n"
    "  status   say whether it is running, stopped or not there, and where (exit\n"
    "           0 when running, 3 otherwise); creates nothing\n"
    "  url      print a superuser connection string for it (psql accepts it);\n"
    "           --runtime: the one serve, run, repl and the reports log in with\n"
    "           (enigma_runtime: no superuser, created by `enigma migrate`)\n"
    "  psql     run psql as the superuser against the default database (the one\n"
    "           `enigma run` scripts connect to: see `enigma --help`)\n"
    "It listens on a unix socket in HOME/run only, never on TCP. Run as root, its\n"
    "server runs as the `postgres` system user; when that user cannot reach the\n"
    "home, the cluster lives in /var/lib/enigma/<key> instead (HOME/cluster links\n"
    "to it).\n";

static const char migrate_usage[] =
    "usage: enigma migrate [--status]\n"
    "\n"
    "Applies the pending schema/NNN_*.sql files ($ENIGMA_SCHEMA_DIR overrides the\n"
    "directory) to the default database as its superuser (on the embedded cluster;\n"
    "else as $ENIGMA_DATABASE_URL says), each in its own transaction, recording\n"
    "each with its checksum in schema_migrations. A file edited after it was\n"
    "applied is refused. On an up-to-date database it changes nothing.\n"
    "  --status   list every migration and whether it is applied, pending or changed\n";

static int report(const enigma_error *err)
{
    fprintf(stderr, "enigma: %s\n", err->message);
    return 1;
}

static int open_cluster(enigma_pgcluster *c)
{
    enigma_error err;

    if (enigma_pgcluster_open(c, NULL, &err) < 0)
        return report(&err);
    return 0;
}

static int db_start(void)
{
    enigma_pgcluster c;
    enigma_error err;

    if (open_cluster(&c))
        return 1;
    if (enigma_pgcluster_start(&c, &err) < 0)
        return report(&err);
    if (c.mapped)
        printf("database running in %s (its data in %s)\n", c.home, c.clusterdir);
    else
        printf("database running in %s\n", c.home);
    return 0;
}

static int db_stop(void)
{
    enigma_pgcluster c;
    enigma_error err;

    if (open_cluster(&c))
        return 1;
    if (enigma_pgcluster_stop(&c, &err) < 0)
        return report(&err);
    printf("database stopped\n");
    return 0;
}

static int db_status(void)
{
    enigma_pgcluster c;
    enigma_pgcluster_state state;
    enigma_error err;

    if (open_cluster(&c))
        return 1;
    if (enigma_pgcluster_status(&c, &state, &err) < 0)
        return report(&err);
    if (state == ENIGMA_PGCLUSTER_UNINITIALIZED)
        printf("no cluster at %s (enigma db start creates one)\n", c.home);
    else if (c.mapped)
        printf("%s (%s; its data in %s)\n",
               state == ENIGMA_PGCLUSTER_RUNNING ? "running" : "stopped", c.home, c.clusterdir);
    else
        printf("%s (%s)\n", state == ENIGMA_PGCLUSTER_RUNNING ? "running" : "stopped", c.home);
    return state == ENIGMA_PGCLUSTER_RUNNING ? 0 : 3;
}

static int db_url(int runtime)
{
    enigma_pgcluster c;
    char url[4096];

    if (open_cluster(&c))
        return 1;
    if ((runtime ? enigma_pgcluster_url_as(&c, NULL, ENIGMA_DB_RUNTIME_ROLE, url, sizeof url)
                 : enigma_pgcluster_url(&c, NULL, url, sizeof url)) < 0) {
        fprintf(stderr, "enigma: the path %s is too long for a connection string\n", c.home);
        return 1;
    }
    puts(url);
    return 0;
}

static int db_psql(int argc, char **argv)
{
    char url[4096];
    char *args[256];
    enigma_error err;
    int i, n = 0;

    if (argc > 250)
        return enigma_host_usage_error("db", "too many psql arguments");
    if (enigma_db_default_conninfo(url, sizeof url, ENIGMA_DB_ADMIN, &err) < 0)
        return report(&err);
    args[n++] = "psql";
    if (url[0] != '\0')            /* "": psql reads the PG* variables itself */
        args[n++] = url;
    for (i = 0; i < argc; i++)
        args[n++] = argv[i];
    args[n] = NULL;
    execvp("psql", args);
    perror("enigma: cannot run psql");
    return 1;
}

int enigma_cmd_db(int argc, char **argv)
{
    if (argc < 1)
        return enigma_host_usage_error(
            "db", "a subcommand is required: start, stop, status, url or psql");
    if (enigma_host_is_help(argv[0])) {
        fputs(db_usage, stdout);
        return 0;
    }
    if (strcmp(argv[0], "psql") == 0)
        return db_psql(argc - 1, argv + 1);
    if (strcmp(argv[0], "url") == 0 && argc == 2 && strcmp(argv[1], "--runtime") == 0)
        return db_url(1);
    if (argc > 1)
        return enigma_host_usage_error("db", "unexpected argument '%s'", argv[1]);
    if (strcmp(argv[0], "start") == 0)
        return db_start();
    if (strcmp(argv[0], "stop") == 0)
        return db_stop();
    if (strcmp(argv[0], "status") == 0)
        return db_status();
    if (strcmp(argv[0], "url") == 0)
        return db_url(0);
    return enigma_host_usage_error("db", "unknown subcommand '%s'", argv[0]);
}

/* --- migrate ----------------------------------------------------------------------- */

static void print_applied(const enigma_migration *m, double ms, void *ud)
{
    (void)ud;
    printf("applied %s (%.0f ms)\n", m->name, ms);
    fflush(stdout);
}

static int print_status(enigma_db *db, const char *dir)
{
    static const char *const names[] = {"pending", "applied", "CHANGED", "MISSING"};
    enigma_migration_list list;
    enigma_error err;
    size_t i;
    int bad = 0;

    if (enigma_migrate_status(db, dir, &list, &err) < 0)
        return report(&err);
    for (i = 0; i < list.count; i++) {
        const enigma_migration *m = &list.items[i];

        printf("%-8s %-20s %s\n", names[m->state], m->applied_at[0] ? m->applied_at : "-", m->name);
        bad |= m->state == ENIGMA_MIGRATION_CHANGED;
    }
    if (bad)
        fprintf(stderr, "enigma: an applied migration was edited; restore it and put the "
                        "change in a new migration\n");
    enigma_migrate_list_free(&list);
    return bad ? 1 : 0;
}

int enigma_cmd_migrate(int argc, char **argv)
{
    const char *dir = enigma_migrate_default_dir();
    enigma_error err;
    enigma_db *db;
    int status = 0, rc;

    if (argc > 0 && enigma_host_is_help(argv[0])) {
        fputs(migrate_usage, stdout);
        return 0;
    }
    if (argc > 0 && strcmp(argv[0], "--status") == 0)
        status = 1;
    else if (argc > 0)
        return enigma_host_usage_error("migrate", "unknown argument '%s'", argv[0]);
    if (argc > 1)
        return enigma_host_usage_error("migrate", "unexpected argument '%s'", argv[1]);

    db = enigma_db_connect_default(ENIGMA_DB_ADMIN, !status, &err);
    if (db == NULL)
        return report(&err);
    if (status) {
        rc = print_status(db, dir);
    } else {
        int n = enigma_migrate_apply(db, dir, print_applied, NULL, &err);

        rc = n < 0 ? report(&err) : 0;
        if (n == 0)
            printf("schema is up to date\n");
    }
    enigma_db_close(db);
    return rc;
}
