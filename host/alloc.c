#include "alloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GRAIN 16                       /* size classes every 16 bytes ... */
#define POOLED_MAX 256                 /* ... up to this size */
#define CLASSES (POOLED_MAX / GRAIN)
#define CHUNK_BYTES (64 * 1024)        /* carved into blocks of one class */

typedef struct block {
    struct block *next;
} block;

typedef struct chunk {
    struct chunk *next;
} chunk;

typedef struct pool {
    block *free[CLASSES];
    chunk *chunks;                     /* every chunk, freed after lua_close */
    int warn_on;                       /* Lua warnings: off until "@on" */
} pool;

static size_t class_of(size_t size)
{
    return (size - 1) / GRAIN;
}

/* Refills the free list of class `c` from a new chunk; 0 or -1. */
static int refill(pool *p, size_t c)
{
    size_t size = (c + 1) * GRAIN, n = (CHUNK_BYTES - sizeof(chunk)) / size, i;
    chunk *ch = malloc(CHUNK_BYTES);
    char *base;

    if (ch == NULL)
        return -1;
    ch->next = p->chunks;
    p->chunks = ch;
    base = (char *)(ch + 1);
    for (i = 0; i < n; i++) {
        block *b = (block *)(base + i * size);

        b->next = p->free[c];
        p->free[c] = b;
    }
    return 0;
}

static void *pool_take(pool *p, size_t size)
{
    size_t c = class_of(size);
    block *b;

    if (p->free[c] == NULL && refill(p, c) < 0)
        return NULL;
    b = p->free[c];
    p->free[c] = b->next;
    return b;
}

static void pool_give(pool *p, void *ptr, size_t size)
{
    block *b = ptr;
    size_t c = class_of(size);

    b->next = p->free[c];
    p->free[c] = b;
}

/* lua_Alloc: `osize` is the block's size when ptr is not NULL. */
static void *pool_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    pool *p = ud;
    void *fresh;

    if (ptr == NULL)
        osize = 0;
    if (nsize == 0) {
        if (osize > POOLED_MAX)
            free(ptr);
        else if (ptr != NULL)
            pool_give(p, ptr, osize);
        return NULL;
    }
    if (osize > POOLED_MAX && nsize > POOLED_MAX)
        return realloc(ptr, nsize);
    if (ptr != NULL && osize <= POOLED_MAX && nsize <= POOLED_MAX &&
        class_of(osize) == class_of(nsize))
        return ptr;
    fresh = nsize <= POOLED_MAX ? pool_take(p, nsize) : malloc(nsize);
    if (fresh == NULL)
        return NULL;                   /* Lua keeps the old block */
    if (ptr != NULL) {
        memcpy(fresh, ptr, osize < nsize ? osize : nsize);
        if (osize > POOLED_MAX)
            free(ptr);
        else
            pool_give(p, ptr, osize);
    }
    return fresh;
}

/* As lauxlib's: an error outside any protected call. */
static int panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);

    fprintf(stderr, "enigma: unprotected Lua error: %s\n", msg ? msg : "(not a string)");
    return 0;
}

/* As lauxlib's: warnings are off until "@on"; pieces of one message join. */
static void warn(void *ud, const char *msg, int tocont)
{
    static int continuing;
    pool *p = ud;

    if (!continuing && msg[0] == '@') {
        if (strcmp(msg, "@on") == 0)
            p->warn_on = 1;
        else if (strcmp(msg, "@off") == 0)
            p->warn_on = 0;
        return;
    }
    if (p->warn_on)
        fprintf(stderr, "%s%s%s", continuing ? "" : "Lua warning: ", msg, tocont ? "" : "\n");
    continuing = tocont;
}

lua_State *enigma_host_alloc_newstate(void)
{
    pool *p = calloc(1, sizeof *p);
    lua_State *L;

    if (p == NULL)
        return NULL;
    L = lua_newstate(pool_alloc, p);
    if (L == NULL) {
        free(p);
        return NULL;
    }
    lua_atpanic(L, panic);
    lua_setwarnf(L, warn, p);
    return L;
}

void enigma_host_alloc_close(lua_State *L)
{
    void *ud;
    pool *p;
    chunk *ch, *next;

    lua_getallocf(L, &ud);
    lua_close(L);
    p = ud;
    for (ch = p->chunks; ch != NULL; ch = next) {
        next = ch->next;
        free(ch);
    }
    free(p);
}
