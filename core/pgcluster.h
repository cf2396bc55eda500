/*
 * enigma_pgcluster: the embedded private PostgreSQL cluster used when no
 * database URL is configured.
 *
 * Layout under the home directory ($ENIGMA_HOME, default ./.enigma):
 *   data/          the cluster (initdb -U postgres, trust on the socket only)
 *   data/enigma.conf  server settings, rewritten at each start
 *   run/           the unix socket (port ENIGMA_PGCLUSTER_PORT whatever $PGPORT
 *                  says); no TCP port is opened
 *   log/           postgresql.log (the server) and pg_ctl.log, initdb.log
 *   cluster.lock   flock()ed around initdb, start and stop
 *
 * Run as root, the server runs as the `postgres` system user, which then
 * owns data/, run/ and log/; otherwise it runs as the calling user. The
 * server keeps running after the process that started it exits, until
 * enigma_pgcluster_stop().
 *
 * Child processes are started with fork+exec; all file descriptors above 2
 * are closed in them, so the long-lived server never holds the caller's.
 */
#ifndef ENIGMA_PGCLUSTER_H
#define ENIGMA_PGCLUSTER_H

#include <limits.h>
#include <stddef.h>

#include "core/error.h"

/* Names the socket file (run/.s.PGSQL.5432); pinned in data/enigma.conf and
 * in every URL, so $PGPORT moves neither the server nor its clients. */
#define ENIGMA_PGCLUSTER_PORT 5432

typedef enum {
    ENIGMA_PGCLUSTER_UNINITIALIZED, /* no data/ yet: start will run initdb */
    ENIGMA_PGCLUSTER_STOPPED,
    ENIGMA_PGCLUSTER_RUNNING
} enigma_pgcluster_state;

/* Plain absolute paths, filled by enigma_pgcluster_open(); the struct owns
 * no resources and needs no close. */
typedef struct enigma_pgcluster {
    char home[PATH_MAX];
    char datadir[PATH_MAX];
    char sockdir[PATH_MAX];
    char logdir[PATH_MAX];
    char logfile[PATH_MAX]; /* the server's log: quoted by failing starts */
    char bindir[PATH_MAX];  /* where initdb and pg_ctl are */
} enigma_pgcluster;

/* Fills `c` (caller-owned) for the cluster under `home`; NULL means
 * $ENIGMA_HOME, or ./.enigma when that is unset or empty. Creates the home
 * directory when missing and makes the path absolute. Finds the server
 * binaries: $ENIGMA_PG_BINDIR, else the highest /usr/lib/postgresql/<N>/bin
 * with initdb and pg_ctl, else PATH. Touches no server.
 * Fails with "ENOPG" (no binaries: install postgresql-15 or set
 * ENIGMA_PG_BINDIR) or "EIO" (home not creatable, path too long for a unix
 * socket, or holding a character pg_ctl or libpq cannot take in a path:
 * double quote, dollar, backquote, backslash, comma, line break). */
int enigma_pgcluster_open(enigma_pgcluster *c, const char *home, enigma_error *err)
    __attribute__((warn_unused_result));

/* Makes the cluster accept connections, whatever state it is in: initdb on
 * first use, rewrite data/enigma.conf and start the server when it is not
 * running, wait until it accepts connections, create the database `enigma`
 * when missing. When the server already serves `enigma`, returns at once
 * without locking. Safe to call from several processes at once.
 * Fails with "EACCES" (root: no postgres user, or it cannot reach the home
 * directory), "EINITDB" (initdb failed; its output is quoted), "ESTART"
 * (the message ends with "server log (last lines of <path>):\n" and the
 * log's last lines), "ELOCK" or "EIO". */
int enigma_pgcluster_start(const enigma_pgcluster *c, enigma_error *err)
    __attribute__((warn_unused_result));

/* Stops the server (pg_ctl stop -m fast -w) and waits for it to exit; does
 * nothing when it is not running or not initialized.
 * Fails with "ESTOP" (pg_ctl's output is quoted), "ELOCK" or "EIO". */
int enigma_pgcluster_stop(const enigma_pgcluster *c, enigma_error *err)
    __attribute__((warn_unused_result));

/* Sets *state from a PQping on the socket and the presence of data/.
 * A server that is up but still starting or shutting down counts as
 * RUNNING. Takes no lock. Fails with "EIO" only when libpq cannot even
 * attempt the ping. */
int enigma_pgcluster_status(const enigma_pgcluster *c, enigma_pgcluster_state *state,
                            enigma_error *err) __attribute__((warn_unused_result));

/* Writes into `buf` (caller-owned, `size` bytes) a libpq/psql URL with
 * superuser rights for database `dbname` (NULL means "enigma"):
 *   postgresql:///<dbname>?host=<percent-encoded sockdir>&port=5432&user=postgres
 * Characters outside [A-Za-z0-9/._~-] are percent-encoded ('/' too in the
 * database name). A $PGHOSTADDR in the environment of whoever connects
 * still wins over host= (the start, stop and status here override it).
 * Returns 0, or -1 when `buf` is too small; `buf` then holds "" (when
 * size > 0). */
int enigma_pgcluster_url(const enigma_pgcluster *c, const char *dbname, char *buf, size_t size)
    __attribute__((warn_unused_result));

#endif
