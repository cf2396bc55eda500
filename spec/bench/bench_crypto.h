/* The crypto half of bench_tool (spec/bench/bench_crypto.c). */
#ifndef ENIGMA_BENCH_CRYPTO_H
#define ENIGMA_BENCH_CRYPTO_H

/* Runs every crypto operation through Lua and through the core in C,
 * `rounds` alternating rounds of about `n` iterations; prints one line per
 * operation. Returns the exit status. */
int enigma_bench_crypto(long n, int rounds);

#endif
