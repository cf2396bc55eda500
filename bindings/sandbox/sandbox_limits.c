/*
 * The limits of a sandbox run, where untrusted code cannot reach them: the
 * count hook, the charge C loops pay for their steps, and the allocator with
 * its ceilings. sandbox.c makes boxes and runs; sandbox_lib.c arms the hook
 * and charges pattern matching and the table functions to it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sandbox_private.h"

typedef enigma_sandbox_box box;
typedef enigma_sandbox_run run;

double enigma_sandbox_monotonic(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void enigma_sandbox_kill(run *r, const char *limit)
{
    if (r->killed == NULL)
        r->killed = limit;
}

static int raise_killed(lua_State *L, run *r)
{
    if (strcmp(r->killed, "memory limit") == 0)
        return luaL_error(L, "memory limit exceeded (%lld bytes)", r->memory);
    if (strcmp(r->killed, "time limit") == 0)
        return luaL_error(L, "time limit exceeded (%.3g s)", r->time_limit);
    return luaL_error(L, "instruction limit exceeded (%lld instructions)", r->instructions);
}

void enigma_sandbox_charge(lua_State *L, void *ud, unsigned long n)
{
    run *r = enigma_sandbox_box_of(L)->running;

    (void)ud;
    if (r == NULL)
        return;
    r->budget -= (long long)n;
    if (r->budget < 0)
        enigma_sandbox_kill(r, "instruction limit");
    else if (enigma_sandbox_monotonic() > r->deadline)
        enigma_sandbox_kill(r, "time limit");
    if (r->killed != NULL)
        raise_killed(L, r);
}

void enigma_sandbox_hook(lua_State *L, lua_Debug *ar)
{
    run *r = enigma_sandbox_box_of(L)->running;

    (void)ar;
    if (r == NULL)
        return;
    if (r->killed == NULL) {
        int count = lua_gethookcount(L);

        if (count != ENIGMA_SANDBOX_HOOK_EVERY)   /* a thread left re-armed by a killed run */
            lua_sethook(L, enigma_sandbox_hook, LUA_MASKCOUNT, ENIGMA_SANDBOX_HOOK_EVERY);
        enigma_sandbox_charge(L, NULL, (unsigned long)count);
        return;
    }
    lua_sethook(L, enigma_sandbox_hook, LUA_MASKCOUNT, 1);
    raise_killed(L, r);
}

/* lua_Alloc. Shrinking never fails; growth is refused past the box's
 * ceiling, past the running run's, and for a run already killed. */
void *enigma_sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    box *b = ud;
    run *r = b->running;
    void *fresh;

    if (ptr == NULL)
        osize = 0;
    if (nsize == 0) {
        free(ptr);
        b->used -= osize;
        if (r != NULL)
            r->grown -= (long long)osize;
        return NULL;
    }
    if (nsize > osize) {
        size_t more = nsize - osize;

        if (b->used + more > b->cap ||
            (r != NULL && (r->killed != NULL || r->grown + (long long)more > r->grow_cap))) {
            if (r != NULL)
                enigma_sandbox_kill(r, "memory limit");
            return NULL;
        }
    }
    fresh = realloc(ptr, nsize);
    if (fresh == NULL)
        return nsize <= osize ? ptr : NULL;
    b->used += nsize;
    b->used -= osize;
    if (r != NULL)
        r->grown += (long long)nsize - (long long)osize;
    return fresh;
}
