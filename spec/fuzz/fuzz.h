/*
 * What every fuzz target shares. Each spec/fuzz/fuzz_<parser>.c defines
 * LLVMFuzzerTestOneInput; built with -DENIGMA_FUZZ=ON (clang, libFuzzer) it
 * is a fuzzer, and in the normal build spec/fuzz/driver.c runs it over its
 * seed corpus (spec/fuzz/corpus/<parser>/) so the targets stay compiled and
 * the seeds stay crash-free in `make test`.
 */
#ifndef ENIGMA_FUZZ_H
#define ENIGMA_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A property that must hold for every input: abort, so the fuzzer keeps the input. */
#define FUZZ_ASSERT(cond)                                                               \
    do {                                                                                \
        if (!(cond)) {                                                                  \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
