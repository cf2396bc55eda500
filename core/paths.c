#define _GNU_SOURCE /* dladdr */
#include "core/paths.h"

#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHARE "share/enigma"
#define LUA_SHARE "share/lua/5.4"

static const struct {
    const char *env, *installed, *source;
} where[] = {
    [ENIGMA_PATH_SCHEMA] = {"ENIGMA_SCHEMA_DIR", SHARE "/schema", "schema"},
    [ENIGMA_PATH_SCRIPTS] = {"ENIGMA_SCRIPTS_DIR", SHARE "/scripts", "scripts"},
    [ENIGMA_PATH_EXAMPLES] = {"ENIGMA_EXAMPLES_DIR", SHARE "/examples", "examples"},
    [ENIGMA_PATH_LUA] = {"ENIGMA_LUA_DIR", LUA_SHARE, "lua"},
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char prefix[PATH_MAX];                                 /* "" when not installed */
static char resolved[sizeof where / sizeof where[0]][PATH_MAX];

/* buf = a "/" b; -1 when it does not fit. */
static int join(char *buf, size_t size, const char *a, const char *b)
{
    int n = snprintf(buf, size, "%s/%s", a, b);
    return n >= 0 && (size_t)n < size ? 0 : -1;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The file this code was loaded from: the program, or enigma.so. */
static int own_file(char *buf, size_t size)
{
    Dl_info info;
    ssize_t n;

    if (dladdr((void *)enigma_paths_get, &info) != 0 && info.dli_fname != NULL &&
        strchr(info.dli_fname, '/') != NULL && realpath(info.dli_fname, buf) != NULL)
        return 0;
    n = readlink("/proc/self/exe", buf, size - 1); /* the main program has no name in dladdr */
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return 0;
}

/* P for P/bin/enigma or P/lib/lua/5.4/enigma.so, when P/share/enigma exists. */
static void find_prefix(void)
{
    static const int ups[] = {2, 4};
    char self[PATH_MAX], candidate[PATH_MAX];
    size_t i;

    if (own_file(self, sizeof self) < 0)
        return;
    for (i = 0; i < sizeof ups / sizeof ups[0]; i++) {
        char dir[PATH_MAX];
        int up;

        snprintf(dir, sizeof dir, "%s", self);
        for (up = 0; up < ups[i]; up++) {
            char *slash = strrchr(dir, '/');

            if (slash == NULL)
                break;
            *slash = '\0';
        }
        if (up < ups[i] || strlen(dir) > PATH_MAX - 64) /* room for every installed name */
            continue;
        if (join(candidate, sizeof candidate, dir, SHARE "/schema") == 0 && is_dir(candidate)) {
            snprintf(prefix, sizeof prefix, "%s", dir[0] ? dir : "/");
            return;
        }
    }
}

static void resolve(void)
{
    size_t i;

    find_prefix();
    for (i = 0; i < sizeof where / sizeof where[0]; i++) {
        const char *base = prefix[0] != '\0' ? prefix : ENIGMA_SOURCE_DIR;

        if (join(resolved[i], sizeof resolved[i], strcmp(base, "/") == 0 ? "" : base,
                 prefix[0] != '\0' ? where[i].installed : where[i].source) < 0)
            resolved[i][0] = '\0'; /* cannot happen: find_prefix left room */
    }
}

const char *enigma_paths_get(enigma_path_kind kind)
{
    const char *env = getenv(where[kind].env);

    if (env != NULL && env[0] != '\0')
        return env;
    pthread_once(&once, resolve);
    return resolved[kind];
}

int enigma_paths_installed(void)
{
    pthread_once(&once, resolve);
    return prefix[0] != '\0';
}
