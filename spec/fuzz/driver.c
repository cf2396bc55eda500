/*
 * Runs a fuzz target without libFuzzer: over every file in the directories
 * or files given, then over cheap mutations of each (every single-byte
 * change at a few positions, every truncation), so `make test` exercises the
 * parsers' error paths on every build. Exit 0 when no input crashed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static size_t runs;

static void run_mutations(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size + 1);
    if (copy == NULL)
        abort();
    LLVMFuzzerTestOneInput(data, size);
    runs++;
    for (size_t cut = 0; cut < size; cut += 1 + size / 64) {
        LLVMFuzzerTestOneInput(data, cut);
        runs++;
    }
    static const uint8_t flips[] = {0x00, '0', 'f', 'F', 'x', '-', '"', 0xff};
    for (size_t pos = 0; pos < size; pos += 1 + size / 32) {
        for (size_t f = 0; f < sizeof flips; f++) {
            memcpy(copy, data, size);
            copy[pos] = flips[f];
            LLVMFuzzerTestOneInput(copy, size);
            runs++;
        }
    }
    free(copy);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        perror(path);
        return -1;
    }
    uint8_t *buf = malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, 1 << 20, f) : 0;
    fclose(f);
    if (buf == NULL)
        return -1;
    run_mutations(buf, n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            return 1;
        }
        if (!S_ISDIR(st.st_mode)) {
            if (run_file(argv[i]) < 0)
                return 1;
            files++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d != NULL && (e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            if (run_file(path) < 0)
                return 1;
            files++;
        }
        if (d != NULL)
            closedir(d);
    }
    if (files == 0) {
        fprintf(stderr, "no seed inputs given\n");
        return 1;
    }
    printf("%d seed files, %zu runs, no crash\n", files, runs);
    return 0;
}
