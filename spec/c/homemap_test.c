/*
 * core/homemap: the name of a mapped cluster directory, and the records
 * that tie it to its home, on real files under one mkdtemp directory. (The
 * choice made as postgres, and the clusters, are in pgcluster_test.)
 */
#define _GNU_SOURCE
#include "core/homemap.h"

#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test.h"

static int all_hex(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (s[i] == '\0' || strchr("0123456789abcdef", s[i]) == NULL)
            return 0;
    return 1;
}

static void test_dir(void)
{
    const size_t root = sizeof ENIGMA_HOMEMAP_ROOT; /* with its slash */
    char a[PATH_MAX], b[PATH_MAX], small[20];

    CHECK(enigma_homemap_dir("/root/work/enigma/.enigma", a, sizeof a) == 0);
    CHECK(strncmp(a, ENIGMA_HOMEMAP_ROOT "/", root) == 0);
    CHECK(all_hex(a + root, 16));
    CHECK_STR(a + root + 16, "-enigma"); /* the home's name, its leading dot dropped */
    /* the same home, the same directory: found again from the path alone */
    CHECK(enigma_homemap_dir("/root/work/enigma/.enigma", b, sizeof b) == 0);
    CHECK_STR(b, a);
    /* another home, another key, even with the same name */
    CHECK(enigma_homemap_dir("/root/other/.enigma", b, sizeof b) == 0);
    CHECK(strcmp(a, b) != 0 && strcmp(b + root + 16, "-enigma") == 0);
    /* a long or odd name is cut short and cleaned: the socket path stays short */
    CHECK(enigma_homemap_dir("/root/a very long name, with \"odd\" characters $x", b, sizeof b) ==
          0);
    CHECK(strlen(b) < 64);
    CHECK(strspn(b + root, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-_") ==
          strlen(b + root));
    CHECK(enigma_homemap_dir("/", b, sizeof b) == 0);
    CHECK(strlen(b) == root + 16);
    CHECK(enigma_homemap_dir("/root/x", small, sizeof small) == -1);
}

static void test_records(const char *base)
{
    char home[PATH_MAX], dir[PATH_MAX], other[PATH_MAX];
    enigma_error err;

    snprintf(home, sizeof home, "%s/home", base);
    snprintf(dir, sizeof dir, "%s/dir", base);
    snprintf(other, sizeof other, "%s/other", base);
    CHECK(mkdir(home, 0755) == 0 && mkdir(dir, 0755) == 0);
    CHECK(!enigma_homemap_recorded(home, dir));
    CHECK(!enigma_homemap_names(dir, home));
    CHECK(enigma_homemap_record(home, dir, &err) == 0);
    CHECK(enigma_homemap_recorded(home, dir));
    CHECK(enigma_homemap_names(dir, home));
    CHECK(!enigma_homemap_recorded(home, other));
    CHECK(!enigma_homemap_names(dir, other));
    /* recorded again: replaced, not refused */
    CHECK(enigma_homemap_record(home, dir, &err) == 0);
    CHECK(enigma_homemap_recorded(home, dir));
    /* a home that is gone records nothing; the directory still names it */
    snprintf(other, sizeof other, "%s/home/cluster", base);
    CHECK(unlink(other) == 0 && rmdir(home) == 0);
    CHECK(!enigma_homemap_recorded(home, dir));
    CHECK(enigma_homemap_names(dir, home));
    CHECK(enigma_homemap_record(home, dir, &err) == -1);
    CHECK_STR(err.code, "EIO");
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    char tmpl[] = "/tmp/homemap_test.XXXXXX";

    if (mkdtemp(tmpl) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_dir();
    test_records(tmpl);
    nftw(tmpl, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return test_report();
}
