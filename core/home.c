/*
 * Finding the enigma home: $ENIGMA_HOME, the nearest .enigma above the
 * current directory, $XDG_DATA_HOME/enigma, ~/.local/share/enigma. See
 * core/home.h.
 */
#include "core/home.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROJECT_DIR ".enigma"

/* Writes `dir` + "/" + `rel` (either may be empty) into `out`, then
 * removes empty and "." components and applies ".." lexically. */
static int normalize(char *out, size_t size, const char *dir, const char *rel)
{
    char joined[PATH_MAX * 2 + 2];
    char *p, *next;
    size_t len = 0;

    if (snprintf(joined, sizeof joined, "%s/%s", dir, rel) >= (int)sizeof joined || size < 2)
        return -1;
    for (p = joined; *p != '\0'; p = next) {
        size_t n;

        while (*p == '/')
            p++;
        n = strcspn(p, "/");
        next = p + n;
        if (n == 0 || (n == 1 && p[0] == '.'))
            continue;
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;            /* the slash before the dropped component */
            continue;
        }
        if (len + 1 + n >= size)
            return -1;
        out[len++] = '/';
        memcpy(out + len, p, n);
        len += n;
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return 0;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The nearest <dir>/.enigma directory from `cwd` up to /, into `out`. */
static int find_project(const char *cwd, char *out, size_t size)
{
    char dir[PATH_MAX];

    if (normalize(dir, sizeof dir, cwd, "") < 0)
        return 0;
    for (;;) {
        char *slash;
        int n = snprintf(out, size, "%s%s" PROJECT_DIR, dir, strcmp(dir, "/") == 0 ? "" : "/");

        if (n >= 0 && (size_t)n < size && is_dir(out))
            return 1;
        if (strcmp(dir, "/") == 0)
            return 0;
        slash = strrchr(dir, '/');
        slash[slash == dir ? 1 : 0] = '\0';
    }
}

int enigma_home_find(const char *cwd, const enigma_home_env *env, char *out, size_t size,
                     enigma_home_source *source, enigma_error *err)
{
    const char *user_home = env->home;
    enigma_home_source from;

    if (env->enigma_home != NULL && env->enigma_home[0] != '\0') {
        if (env->enigma_home[0] != '/' && cwd == NULL)
            return enigma_error_set(err, "EIO",
                                    "ENIGMA_HOME=%s is relative and the current directory "
                                    "is unknown",
                                    env->enigma_home);
        from = ENIGMA_HOME_FROM_ENV;
        if (normalize(out, size, env->enigma_home[0] == '/' ? "" : cwd, env->enigma_home) < 0)
            goto too_long;
    } else if (cwd != NULL && cwd[0] == '/' && find_project(cwd, out, size)) {
        from = ENIGMA_HOME_FROM_PROJECT;
    } else if (env->xdg_data_home != NULL && env->xdg_data_home[0] == '/') {
        from = ENIGMA_HOME_FROM_XDG;
        if (normalize(out, size, env->xdg_data_home, "enigma") < 0)
            goto too_long;
    } else {
        if (user_home == NULL || user_home[0] == '\0') {
            struct passwd *pw = getpwuid(geteuid());

            user_home = pw != NULL ? pw->pw_dir : NULL;
        }
        if (user_home == NULL || user_home[0] != '/')
            return enigma_error_set(err, "EIO",
                                    "no enigma home: ENIGMA_HOME and XDG_DATA_HOME are not "
                                    "set, no .enigma directory is above the current one, and "
                                    "the user has no home directory; set ENIGMA_HOME");
        from = ENIGMA_HOME_FROM_USER;
        if (normalize(out, size, user_home, ".local/share/enigma") < 0)
            goto too_long;
    }
    if (source != NULL)
        *source = from;
    return 0;
too_long:
    if (size > 0)
        out[0] = '\0';
    return enigma_error_set(err, "EIO", "the enigma home's path is too long");
}

int enigma_home_absolute(const char *path, const char *cwd, char *out, size_t size,
                         enigma_error *err)
{
    char norm[PATH_MAX], real[PATH_MAX];
    size_t len;

    if (path[0] != '/' && cwd == NULL)
        return enigma_error_set(err, "EIO", "%s is relative and the current directory is unknown",
                                path);
    if (normalize(norm, sizeof norm, path[0] == '/' ? "" : cwd, path) < 0)
        return enigma_error_set(err, "EIO", "path too long: %s", path);
    /* the longest prefix that exists: cut at each slash from the end */
    for (len = strlen(norm);;) {
        char saved = norm[len];

        norm[len] = '\0';
        if (realpath(len > 0 ? norm : "/", real) != NULL) {
            norm[len] = saved;
            if (normalize(out, size, real, norm + len) < 0)
                return enigma_error_set(err, "EIO", "path too long: %s", path);
            return 0;
        }
        norm[len] = saved;
        if (len == 0)
            return enigma_error_set(err, "EIO", "cannot resolve %s: %s", path, strerror(errno));
        while (len > 0 && norm[--len] != '/')
            ;
    }
}

int enigma_home_locate(char *out, size_t size, enigma_home_source *source, enigma_error *err)
{
    char cwd[PATH_MAX], found[PATH_MAX];
    enigma_home_env env;
    int have_cwd = getcwd(cwd, sizeof cwd) != NULL;

    env.enigma_home = getenv("ENIGMA_HOME");
    env.xdg_data_home = getenv("XDG_DATA_HOME");
    env.home = getenv("HOME");
    if (enigma_home_find(have_cwd ? cwd : NULL, &env, found, sizeof found, source, err) < 0)
        return -1;
    return enigma_home_absolute(found, NULL, out, size, err);
}
