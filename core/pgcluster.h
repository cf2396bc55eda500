/*
 * enigma_pgcluster: the embedded private PostgreSQL cluster used when no
 * database URL is configured.
 *
 * It belongs to the enigma home (core/home.h: $ENIGMA_HOME, else the
 * nearest .enigma directory above the current one, else
 * $XDG_DATA_HOME/enigma or ~/.local/share/enigma). Layout of the cluster
 * directory, which is the home itself unless mapped (below):
 *   data/          the cluster (initdb -U postgres, trust on the socket only)
 *   data/enigma.conf  server settings, rewritten at each start
 *   run/           the unix socket (port ENIGMA_PGCLUSTER_PORT whatever $PGPORT
 *                  says); no TCP port is opened
 *   log/           postgresql.log (the server) and pg_ctl.log, initdb.log
 *   cluster.lock   flock()ed around initdb, start and stop; initdb inherits
 *                  the locked descriptor, so an initdb whose enigma was killed
 *                  still holds it. initdb works in data.init, renamed to data
 *                  when complete; a data.init found under the lock is a
 *                  dead initdb's, and is removed.
 *
 * Run as root, the server runs as the `postgres` system user, which then
 * owns data/, run/ and log/; otherwise it runs as the calling user. When
 * that user cannot traverse the directories down to the home (a home under
 * /root, mode 0700), the cluster is mapped (core/homemap.h): its directory
 * is /var/lib/enigma/<16 hex digits of BLAKE2b(home path)>-<home's name>,
 * owned by postgres, with the home's path in its file `home`; the home holds
 * the symlink `cluster` to it. A mapped cluster that the home does not
 * record (the home was deleted, or is new) is not the home's: status calls
 * it uninitialised, start stops its server and replaces it with a new
 * cluster, stop still stops its server.
 *
 * Opening and status only look: nothing is created until start. The server
 * keeps running after the process that started it exits, until
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
    char clusterdir[PATH_MAX]; /* home, or the mapped directory */
    int mapped;                /* root, and the server's user cannot reach the home */
    char datadir[PATH_MAX];
    char sockdir[PATH_MAX];
    char logdir[PATH_MAX];
    char logfile[PATH_MAX]; /* the server's log: quoted by failing starts */
    char bindir[PATH_MAX];  /* where initdb and pg_ctl are */
} enigma_pgcluster;

/* Fills `c` (caller-owned) for the cluster of `home`; NULL or "" means the
 * home enigma_home_locate() finds. Makes the path absolute (resolving the
 * part that exists) and chooses the cluster directory (the home, or mapped
 * as above: as root this asks, in a child running as postgres, whether
 * that user can reach the home). Finds the server binaries:
 * $ENIGMA_PG_BINDIR, else the highest /usr/lib/postgresql/<N>/bin with
 * initdb and pg_ctl, else PATH. Creates nothing and touches no server.
 * Fails with "ENOPG" (no binaries: install postgresql-15 or set
 * ENIGMA_PG_BINDIR) or "EIO" (no home found, path too long for a unix
 * socket, or holding a character pg_ctl or libpq cannot take in a path:
 * double quote, dollar, backquote, backslash, comma, line break). */
int enigma_pgcluster_open(enigma_pgcluster *c, const char *home, enigma_error *err)
    __attribute__((warn_unused_result));

/* Makes the cluster accept connections, whatever state it is in: create
 * the home (and the mapped directory and its record), initdb on first use
 * (telling the notice function first), rewrite data/enigma.conf and start
 * the server when it is not running, wait until it accepts connections,
 * create the database `enigma` when missing. When the server already
 * serves `enigma`, returns at once without locking. Safe to call from
 * several processes at once.
 * Fails with "EACCES" (root: no postgres user, or it cannot reach a
 * cluster already in the home), "EINITDB" (initdb failed; its output is quoted), "ESTART"
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
 * RUNNING; a mapped cluster the home does not record as UNINITIALIZED.
 * Takes no lock, creates nothing. Fails with "EIO" only when libpq cannot
 * even attempt the ping. */
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

/* enigma_pgcluster_url() for another login role `user` (percent-encoded like
 * the database name): the runtime's own logins (core/db.h). */
int enigma_pgcluster_url_as(const enigma_pgcluster *c, const char *dbname, const char *user,
                            char *buf, size_t size) __attribute__((warn_unused_result));

/* Called with one line for a human ("creating a new database cluster in
 * <home>", plus where its data goes when mapped) just before initdb runs,
 * in the one process that runs it. The core never prints: the program sets
 * a function that does. Process-wide; NULL (the default) for none. Set it
 * before starting threads that may start the cluster. */
typedef void enigma_pgcluster_notice_fn(const char *message, void *ud);
void enigma_pgcluster_set_notice(enigma_pgcluster_notice_fn *fn, void *ud);

#endif
