/*
 * core/home: the enigma home is found, not guessed. Each rule is tried on
 * real directories under one mkdtemp directory, with the environment
 * passed in as data.
 */
#define _GNU_SOURCE
#include "core/home.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static char base[PATH_MAX];

/* <base>/<rel> into a static buffer (one of four, so a CHECK can use two). */
static const char *at(const char *rel)
{
    static char bufs[4][PATH_MAX];
    static int next;
    char *out = bufs[next++ % 4];

    if (snprintf(out, PATH_MAX, "%s%s%s", base, rel[0] ? "/" : "", rel) >= PATH_MAX)
        out[0] = '\0';
    return out;
}

static void make(const char *rel)
{
    char path[PATH_MAX], *p;

    snprintf(path, sizeof path, "%s", at(rel));
    for (p = path + strlen(base) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    CHECK(mkdir(path, 0755) == 0);
}

/* The home found from `cwd` (relative to base) with `env`; "" on failure. */
static const char *found(const char *cwd, enigma_home_env env, enigma_home_source *source)
{
    static char out[PATH_MAX];
    enigma_error err = {0};

    if (enigma_home_find(cwd != NULL ? at(cwd) : NULL, &env, out, sizeof out, source, &err) < 0) {
        fprintf(stderr, "enigma_home_find from %s: %s: %s\n", cwd ? cwd : "(none)", err.code,
                err.message);
        out[0] = '\0';
    }
    return out;
}

static void test_project_dir_above(void)
{
    enigma_home_env env = {NULL, NULL, "/home/someone"};
    enigma_home_source source = ENIGMA_HOME_FROM_ENV;

    make("proj/.enigma");
    make("proj/a/b");
    /* two levels up */
    CHECK_STR(found("proj/a/b", env, &source), at("proj/.enigma"));
    CHECK(source == ENIGMA_HOME_FROM_PROJECT);
    /* in the directory itself, and with a cwd written loosely */
    CHECK_STR(found("proj", env, NULL), at("proj/.enigma"));
    CHECK_STR(found("proj/a/./b/../b/", env, NULL), at("proj/.enigma"));
    /* the nearest one wins */
    make("proj/a/.enigma");
    CHECK_STR(found("proj/a/b", env, NULL), at("proj/a/.enigma"));
}

static void test_project_file_is_not_a_home(void)
{
    enigma_home_env env = {NULL, NULL, "/home/someone"};
    int fd;

    make("filed/.enigma");
    make("filed/inner");
    fd = open(at("filed/inner/.enigma"), O_WRONLY | O_CREAT | O_EXCL, 0644);
    CHECK(fd >= 0);
    if (fd >= 0)
        close(fd);
    /* passed over for the directory above it */
    CHECK_STR(found("filed/inner", env, NULL), at("filed/.enigma"));
}

/* Whether a .enigma directory above base would make the "none found" cases
 * ambiguous (someone made /tmp/.enigma). */
static int project_above_base(void)
{
    char out[PATH_MAX], dir[PATH_MAX];
    enigma_home_env env = {NULL, "/xdg", NULL};
    enigma_error err;

    snprintf(dir, sizeof dir, "%s", base);
    *strrchr(dir, '/') = '\0';
    return enigma_home_find(dir[0] ? dir : "/", &env, out, sizeof out, NULL, &err) == 0 &&
           strcmp(out, "/xdg/enigma") != 0;
}

static void test_fallbacks(void)
{
    enigma_home_env env = {NULL, "/data/xdg", "/home/someone"};
    enigma_home_source source = ENIGMA_HOME_FROM_ENV;
    struct passwd *pw = getpwuid(geteuid());
    char want[PATH_MAX];

    make("empty/c");
    if (project_above_base()) {
        printf("a .enigma directory above %s: skipping the fallback cases\n", base);
        return;
    }
    /* no .enigma anywhere above: XDG_DATA_HOME */
    CHECK_STR(found("empty/c", env, &source), "/data/xdg/enigma");
    CHECK(source == ENIGMA_HOME_FROM_XDG);
    env.xdg_data_home = "/data/xdg/";
    CHECK_STR(found("empty/c", env, NULL), "/data/xdg/enigma");
    /* a relative or empty XDG_DATA_HOME is ignored, as the spec says */
    env.xdg_data_home = "rel/xdg";
    CHECK_STR(found("empty/c", env, &source), "/home/someone/.local/share/enigma");
    CHECK(source == ENIGMA_HOME_FROM_USER);
    env.xdg_data_home = "";
    CHECK_STR(found("empty/c", env, NULL), "/home/someone/.local/share/enigma");
    env.xdg_data_home = NULL;
    CHECK_STR(found("empty/c", env, NULL), "/home/someone/.local/share/enigma");
    /* no cwd (it was deleted): no search, the rest still applies */
    CHECK_STR(found(NULL, env, NULL), "/home/someone/.local/share/enigma");
    /* no $HOME: the user database's */
    env.home = NULL;
    CHECK(pw != NULL);
    if (pw != NULL) {
        snprintf(want, sizeof want, "%s/.local/share/enigma",
                 strcmp(pw->pw_dir, "/") != 0 ? pw->pw_dir : "");
        CHECK_STR(found("empty/c", env, NULL), want);
        env.home = "";
        CHECK_STR(found("empty/c", env, NULL), want);
    }
}

static void test_enigma_home_wins(void)
{
    enigma_home_env env = {"/srv/mine", "/data/xdg", "/home/someone"};
    enigma_home_source source = ENIGMA_HOME_FROM_USER;
    char out[PATH_MAX];
    enigma_error err;

    /* over a .enigma two levels up */
    CHECK_STR(found("proj/a/b", env, &source), "/srv/mine");
    CHECK(source == ENIGMA_HOME_FROM_ENV);
    env.enigma_home = "/srv//mine/./x/../";
    CHECK_STR(found("proj/a/b", env, NULL), "/srv/mine");
    /* relative: to the current directory */
    env.enigma_home = "../here";
    CHECK_STR(found("proj/a/b", env, NULL), at("proj/a/here"));
    CHECK(enigma_home_find(NULL, &env, out, sizeof out, NULL, &err) == -1);
    CHECK_STR(err.code, "EIO");
    /* empty means unset */
    env.enigma_home = "";
    CHECK_STR(found("proj/a/b", env, NULL), at("proj/a/.enigma"));
    /* too long for the buffer */
    env.enigma_home = "/srv/mine";
    CHECK(enigma_home_find(NULL, &env, out, 5, NULL, &err) == -1);
}

static void test_absolute(void)
{
    char out[PATH_MAX], want[PATH_MAX];
    enigma_error err;

    make("real/dir");
    CHECK(symlink(at("real"), at("link")) == 0);
    /* the existing part is resolved, the rest kept as written */
    CHECK(enigma_home_absolute(at("link/dir/not/yet"), NULL, out, sizeof out, &err) == 0);
    snprintf(want, sizeof want, "%s/dir/not/yet", at("real"));
    CHECK_STR(out, want);
    CHECK(enigma_home_absolute("link/dir/../dir/x", base, out, sizeof out, &err) == 0);
    snprintf(want, sizeof want, "%s/dir/x", at("real"));
    CHECK_STR(out, want);
    CHECK(enigma_home_absolute("/", NULL, out, sizeof out, &err) == 0);
    CHECK_STR(out, "/");
    CHECK(enigma_home_absolute("rel", NULL, out, sizeof out, &err) == -1);
}

/* enigma_home_locate reads this process's cwd and environment. */
static void test_locate(void)
{
    char cwd[PATH_MAX], out[PATH_MAX];
    enigma_home_source source;
    enigma_error err;

    CHECK(getcwd(cwd, sizeof cwd) != NULL);
    CHECK(chdir(at("proj/a/b")) == 0);
    unsetenv("ENIGMA_HOME");
    CHECK(enigma_home_locate(out, sizeof out, &source, &err) == 0);
    CHECK_STR(out, at("proj/a/.enigma"));
    setenv("ENIGMA_HOME", "", 1);
    CHECK(enigma_home_locate(out, sizeof out, &source, &err) == 0);
    CHECK_STR(out, at("proj/a/.enigma"));
    setenv("ENIGMA_HOME", "../../../link/new", 1);
    CHECK(enigma_home_locate(out, sizeof out, &source, &err) == 0);
    CHECK_STR(out, at("real/new"));
    CHECK(source == ENIGMA_HOME_FROM_ENV);
    CHECK(access(at("real/new"), F_OK) < 0);   /* finding creates nothing */
    unsetenv("ENIGMA_HOME");
    CHECK(chdir(cwd) == 0);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    char tmpl[] = "/tmp/home_test.XXXXXX";

    if (mkdtemp(tmpl) == NULL || realpath(tmpl, base) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_project_dir_above();
    test_project_file_is_not_a_home();
    test_fallbacks();
    test_enigma_home_wins();
    test_absolute();
    test_locate();
    nftw(base, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return test_report();
}
