/*
 * enigma_migrate: applies schema/NNN_name.sql files in order.
 *
 * Each file runs in its own transaction, under a transaction-level advisory
 * lock (so two migrators never interleave, and it stays correct behind a
 * transaction-pooling pgbouncer), and is recorded in schema_migrations with
 * the SHA-256 of its text. A file edited after it was applied is refused
 * before anything runs: fix forward with a new file instead.
 */
#ifndef ENIGMA_MIGRATE_H
#define ENIGMA_MIGRATE_H

#include <limits.h>
#include <stddef.h>

#include "core/db.h"
#include "core/error.h"

typedef enum {
    ENIGMA_MIGRATION_PENDING,
    ENIGMA_MIGRATION_APPLIED,
    ENIGMA_MIGRATION_CHANGED,     /* applied, but the file no longer matches */
    ENIGMA_MIGRATION_MISSING      /* recorded as applied, file gone */
} enigma_migration_state;

typedef struct enigma_migration {
    char name[256];               /* file name, e.g. "001_auth.sql" */
    char checksum[65];            /* hex SHA-256 of the file ("" when MISSING) */
    char applied_at[64];          /* ISO-8601, "" when PENDING */
    enigma_migration_state state;
} enigma_migration;

typedef struct enigma_migration_list {
    enigma_migration *items;
    size_t count;
} enigma_migration_list;

/* The migrations directory: enigma_paths_get(ENIGMA_PATH_SCHEMA). Static storage. */
const char *enigma_migrate_default_dir(void);

/*
 * Lists the migrations in `dir` and in the database, in name order, with
 * their state. Creates schema_migrations when it does not exist. The
 * caller frees the list with enigma_migrate_list_free(). Returns 0 or -1,
 * with EMIGRATION_FILE as enigma_migrate_apply() when a file is not a
 * regular one.
 */
int enigma_migrate_status(enigma_db *db, const char *dir, enigma_migration_list *out,
                          enigma_error *err);
void enigma_migrate_list_free(enigma_migration_list *list);

/*
 * Applies every pending migration. `applied` (may be NULL) is called after
 * each one with the migration and the milliseconds it took. Returns the
 * number applied (0 when up to date), or -1: code EMIGRATION_CHANGED when an
 * applied file was edited (nothing runs); EMIGRATION_FILE when an NNN_*.sql
 * entry is not a regular file (a FIFO, device, directory, or a link to one
 * or to nothing: it is never opened for reading, so nothing blocks);
 * EMIGRATION when a pending file holds transaction control at top level
 * (core/sqlscan.h; all pending files are checked before any runs, so
 * nothing runs); EMIGRATION_ENDED when a file's SQL ended the transaction
 * it ran in all the same (what it did before is committed: the message
 * says so; the file is not recorded); or the server's SQLSTATE with the
 * file and line in the message (that file is rolled back; earlier ones stay).
 */
int enigma_migrate_apply(enigma_db *db, const char *dir,
                         void (*applied)(const enigma_migration *m, double ms, void *ud), void *ud,
                         enigma_error *err);

#endif
