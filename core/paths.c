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

/*
 * Where `cmake --install` puts things (the ENIGMA_INSTALL_* cache variables,
 * passed by CMakeLists.txt): each relative to the install prefix, or
 * absolute. The defaults are bin, lib/lua/5.4, share/lua/5.4, share/enigma.
 *
 * Relative locations make an installed tree relocatable: the program or
 * the module finds the prefix P by taking its own install directory off
 * the end of the directory it was loaded from (P/bin/enigma,
 * P/lib/lua/5.4/enigma.so), whatever P is at run time (cmake --install
 * --prefix P, make install PREFIX=P, a copied tree).
 *
 * An absolute location is used as it is. The rockspec needs that: LuaRocks
 * installs into a directory of its own and then moves enigma.so and the .lua
 * files out of it into the tree (T/lib/lua/5.4, T/share/lua/5.4), leaving
 * the rest -- share/enigma -- where it was installed. So the module cannot
 * find the data relative to itself; the rockspec passes the data directory
 * as an absolute path, and the Lua half is found beside the module as in any
 * Lua tree (lua_tree_dir below).
 */
#ifndef ENIGMA_INSTALL_BINDIR
#define ENIGMA_INSTALL_BINDIR "bin"
#endif
#ifndef ENIGMA_INSTALL_LUA_CDIR
#define ENIGMA_INSTALL_LUA_CDIR "lib/lua/5.4"
#endif
#ifndef ENIGMA_INSTALL_LUA_DIR
#define ENIGMA_INSTALL_LUA_DIR "share/lua/5.4"
#endif
#ifndef ENIGMA_INSTALL_DATA_DIR
#define ENIGMA_INSTALL_DATA_DIR "share/enigma"
#endif

/* The Lua tree convention (stock Lua's /usr/local, a LuaRocks tree): C
 * modules in X/lib/lua/5.4, Lua files in X/share/lua/5.4. */
#define LUA_TREE_CDIR "lib/lua/5.4"
#define LUA_TREE_DIR "share/lua/5.4"

static const struct {
    const char *env, *sub; /* sub: below the data directory, or the Lua dir itself */
} where[] = {
    [ENIGMA_PATH_SCHEMA] = {"ENIGMA_SCHEMA_DIR", "schema"},
    [ENIGMA_PATH_SCRIPTS] = {"ENIGMA_SCRIPTS_DIR", "scripts"},
    [ENIGMA_PATH_EXAMPLES] = {"ENIGMA_EXAMPLES_DIR", "examples"},
    [ENIGMA_PATH_LUA] = {"ENIGMA_LUA_DIR", NULL},
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int installed;
static char resolved[sizeof where / sizeof where[0]][PATH_MAX];

/* buf = a "/" b (a "" is the root); -1 when it does not fit. */
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

/* 1 when a "/" sub is a directory. */
static int has_dir(const char *a, const char *sub)
{
    char path[PATH_MAX];
    return join(path, sizeof path, a, sub) == 0 && is_dir(path);
}

/* The directory of the file this code was loaded from: the program, or
 * enigma.so, with symbolic links resolved. */
static int own_dir(char *buf, size_t size)
{
    char self[PATH_MAX];
    Dl_info info;
    char *slash;
    ssize_t n;

    if (dladdr((void *)enigma_paths_get, &info) != 0 && info.dli_fname != NULL &&
        strchr(info.dli_fname, '/') != NULL && realpath(info.dli_fname, self) != NULL) {
        /* resolved */
    } else { /* the main program has no path in dladdr */
        n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0)
            return -1;
        self[n] = '\0';
    }
    slash = strrchr(self, '/');
    if (slash == NULL || (size_t)(slash - self) >= size)
        return -1;
    memcpy(buf, self, (size_t)(slash - self));
    buf[slash - self] = '\0';
    return 0;
}

/* When `dir` is X/`tail` for a relative `tail`, puts X in buf ("" for the
 * root) and returns 1; else 0. */
static int strip_tail(char *buf, size_t size, const char *dir, const char *tail)
{
    size_t len = strlen(dir), tlen = strlen(tail);

    if (tail[0] == '/' || tlen == 0 || tlen >= len || dir[len - tlen - 1] != '/' ||
        strcmp(dir + len - tlen, tail) != 0 || len - tlen - 1 >= size)
        return 0;
    memcpy(buf, dir, len - tlen - 1);
    buf[len - tlen - 1] = '\0';
    return 1;
}

/* The install prefix this code runs from: its directory with the install
 * directory of the program or of the module taken off; 0 when neither is
 * its tail. */
static int find_prefix(char *buf, size_t size, const char *dir)
{
    return strip_tail(buf, size, dir, ENIGMA_INSTALL_BINDIR) ||
           strip_tail(buf, size, dir, ENIGMA_INSTALL_LUA_CDIR);
}

/* An installed directory: `location` itself when absolute, else below the
 * prefix (when there is one); it must hold `marker`. */
static int installed_dir(char *buf, size_t size, const char *prefix, const char *location,
                         const char *marker)
{
    if (location[0] == '/')
        snprintf(buf, size, "%s", location);
    else if (prefix == NULL || join(buf, size, prefix, location) < 0)
        return 0;
    return strlen(buf) < size - 64 /* room for every name below it */ && has_dir(buf, marker);
}

/* X/share/lua/5.4 when this is a module in X/lib/lua/5.4 and enigma/ is there. */
static int lua_tree_dir(char *buf, size_t size, const char *dir)
{
    char tree[PATH_MAX];

    if (!strip_tail(tree, sizeof tree, dir, LUA_TREE_CDIR) ||
        join(buf, size, tree, LUA_TREE_DIR) < 0)
        return 0;
    return has_dir(buf, "enigma");
}

static void resolve(void)
{
    char dir[PATH_MAX], prefix_buf[PATH_MAX], data[PATH_MAX], lua[PATH_MAX];
    const char *prefix = NULL;
    size_t i;

    if (own_dir(dir, sizeof dir) < 0)
        dir[0] = '\0';
    else if (find_prefix(prefix_buf, sizeof prefix_buf, dir))
        prefix = prefix_buf;
    installed = installed_dir(data, sizeof data, prefix, ENIGMA_INSTALL_DATA_DIR, "schema");
    if (!installed)
        snprintf(data, sizeof data, "%s", ENIGMA_SOURCE_DIR);
    if (!installed_dir(lua, sizeof lua, prefix, ENIGMA_INSTALL_LUA_DIR, "enigma") &&
        !lua_tree_dir(lua, sizeof lua, dir))
        snprintf(lua, sizeof lua, "%s/lua", ENIGMA_SOURCE_DIR);

    for (i = 0; i < sizeof where / sizeof where[0]; i++) {
        if (where[i].sub == NULL)
            snprintf(resolved[i], sizeof resolved[i], "%s", lua);
        else if (join(resolved[i], sizeof resolved[i], data, where[i].sub) < 0)
            resolved[i][0] = '\0'; /* cannot happen: installed_dir left room */
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
    return installed;
}
