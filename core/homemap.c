/*
 * The cluster directory of a home the server's user cannot reach: its
 * name, the choice, and the two records. See core/homemap.h.
 */
#include "core/homemap.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define KEY_HEX 16
#define NAME_MAX_CHARS 24

static int join(char *out, size_t size, const char *dir, const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

int enigma_homemap_dir(const char *home, char *out, size_t size)
{
    unsigned char hash[crypto_generichash_BYTES_MIN];
    char hex[2 * sizeof hash + 1], name[NAME_MAX_CHARS + 1];
    const char *base = strrchr(home, '/');
    size_t i, n = 0;
    int len;

    if (sodium_init() < 0 || crypto_generichash(hash, sizeof hash, (const unsigned char *)home,
                                                strlen(home), NULL, 0) != 0)
        return -1;
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    hex[KEY_HEX] = '\0';
    for (base = base != NULL ? base + 1 : home; *base == '.'; base++)
        ;
    for (i = 0; base[i] != '\0' && n < NAME_MAX_CHARS; i++) {
        char ch = base[i];

        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '.' || ch == '-' || ch == '_')
            name[n++] = ch;
    }
    name[n] = '\0';
    len = snprintf(out, size, ENIGMA_HOMEMAP_ROOT "/%s%s%s", hex, n > 0 ? "-" : "", name);
    return len >= 0 && (size_t)len < size ? 0 : -1;
}

int enigma_homemap_recorded(const char *home, const char *dir)
{
    char path[PATH_MAX], target[PATH_MAX];
    ssize_t n;

    if (join(path, sizeof path, home, "cluster") < 0 ||
        (n = readlink(path, target, sizeof target - 1)) < 0)
        return 0;
    target[n] = '\0';
    return strcmp(target, dir) == 0;
}

int enigma_homemap_names(const char *dir, const char *home)
{
    char path[PATH_MAX], line[PATH_MAX + 2];
    FILE *f;
    int same = 0;

    if (join(path, sizeof path, dir, "home") < 0 || (f = fopen(path, "re")) == NULL)
        return 0;
    if (fgets(line, sizeof line, f) != NULL) {
        line[strcspn(line, "\n")] = '\0';
        same = strcmp(line, home) == 0;
    }
    fclose(f);
    return same;
}

/* The deepest directory of `path` that exists, into `out`. */
static void existing_prefix(const char *path, char *out, size_t size)
{
    struct stat st;
    char *slash;

    snprintf(out, size, "%s", path);
    while (stat(out, &st) < 0 && (slash = strrchr(out, '/')) != NULL)
        slash[slash == out ? 1 : 0] = '\0';
}

int enigma_homemap_choose(const char *home, const enigma_proc_user *u, char *dir, size_t size,
                          int *mapped, enigma_error *err)
{
    char probe[PATH_MAX];
    int reachable;

    *mapped = 0;
    if (enigma_homemap_dir(home, dir, size) < 0)
        return enigma_error_set(err, "EIO", "cannot name a cluster directory for %s", home);
    if (enigma_homemap_recorded(home, dir) || enigma_homemap_names(dir, home)) {
        *mapped = 1;
        return 0;
    }
    existing_prefix(home, probe, sizeof probe);
    if (enigma_proc_reach(u, probe, &reachable, NULL, 0, err) < 0)
        return -1;
    *mapped = !reachable;
    return 0;
}

int enigma_homemap_record(const char *home, const char *dir, enigma_error *err)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    FILE *f;

    if (join(path, sizeof path, dir, "home") < 0)
        return enigma_error_set(err, "EIO", "path too long under %s", dir);
    if ((f = fopen(path, "we")) == NULL)
        return enigma_error_set(err, "EIO", "cannot write %s: %s", path, strerror(errno));
    fprintf(f, "%s\n", home);
    if ((ferror(f) | fclose(f)) != 0)
        return enigma_error_set(err, "EIO", "cannot write %s", path);
    if (join(path, sizeof path, home, "cluster") < 0 ||
        join(tmp, sizeof tmp, home, "cluster.tmp") < 0)
        return enigma_error_set(err, "EIO", "path too long under %s", home);
    unlink(tmp);
    if (symlink(dir, tmp) < 0 || rename(tmp, path) < 0) {
        enigma_error_set(err, "EIO", "cannot record the cluster in %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}
