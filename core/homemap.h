/*
 * enigma_homemap: where a home's database cluster lives when the server's
 * user cannot reach the home.
 *
 * Run as root, the embedded cluster's server runs as `postgres`, which
 * cannot traverse a home under /root (mode 0700). Such a home's cluster
 * lives in ENIGMA_HOMEMAP_ROOT/<key>, a directory postgres owns, where key
 * is the first 16 hex digits of BLAKE2b(the home's absolute path), a dash
 * and the home's name (for whoever lists the directory). The key alone
 * finds it again; two records make the mapping visible and tell a home
 * from a deleted one made again at the same path:
 *   <home>/cluster   a symlink to the cluster directory
 *   <dir>/home       the home's path, one line
 */
#ifndef ENIGMA_HOMEMAP_H
#define ENIGMA_HOMEMAP_H

#include <stddef.h>

#include "core/error.h"
#include "core/proc.h"

#define ENIGMA_HOMEMAP_ROOT "/var/lib/enigma"

/* Writes the cluster directory of the absolute `home` into `out`
 * (caller-owned, `size` bytes). Returns 0, or -1 when it does not fit or
 * libsodium cannot start. The result is under 64 bytes, so the socket path
 * beneath it stays far below the unix limit. */
int enigma_homemap_dir(const char *home, char *out, size_t size)
    __attribute__((warn_unused_result));

/* Whether <home>/cluster is a symlink to `dir`: the home's cluster is
 * there, made since the home was. */
int enigma_homemap_recorded(const char *home, const char *dir);

/* Whether <dir>/home names `home`: the directory was made for it, even if
 * the home is gone now. */
int enigma_homemap_names(const char *dir, const char *home);

/* Chooses for the absolute `home`: sets *mapped to 1 and writes its
 * cluster directory into `dir` (`size` bytes) when the home records it or
 * the directory names the home, or when `u` cannot search the deepest
 * existing directory on the home's path (what is missing below it will be
 * made 0755). Else *mapped is 0 and `dir` holds the mapped directory all
 * the same. Fails with "EIO" (no name, or the check could not run) or
 * "EACCES" (could not switch to `u`). */
int enigma_homemap_choose(const char *home, const enigma_proc_user *u, char *dir, size_t size,
                          int *mapped, enigma_error *err) __attribute__((warn_unused_result));

/* Writes both records, <dir>/home and then <home>/cluster (replaced
 * atomically); `home` and `dir` must exist. Fails with "EIO". */
int enigma_homemap_record(const char *home, const char *dir, enigma_error *err)
    __attribute__((warn_unused_result));

#endif
