/*
 * The limits of a sandbox run, where untrusted code cannot reach them: the
 * count hook, the charge C loops pay for their steps, and the allocator with
 * its ceilings. sandbox.c makes boxes and runs; sandbox_lib.c arms the hook
 * and charges pattern matching and the table functions to it.
 */
#include <limits.h>
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

/* Raises the error of the limit `r` broke, re-arming L's hook to fire at
 * its next instruction, where it ends the run (see enigma_sandbox_hook). */
static int raise_killed(lua_State *L, run *r)
{
    lua_sethook(L, enigma_sandbox_hook, LUA_MASKCOUNT, 1);
    if (strcmp(r->killed, "memory limit") == 0)
        return luaL_error(L, "memory limit exceeded (%lld bytes)", r->memory);
    if (strcmp(r->killed, "time limit") == 0)
        return luaL_error(L, "time limit exceeded (%.3g s)", r->time_limit);
    return luaL_error(L, "instruction limit exceeded (%lld instructions)", r->instructions);
}

/* Takes n off r's budget, and reads the clock when `clock` or once enough
 * has been charged since it was last read. 1 when r is over a limit. */
static int over(run *r, unsigned long n, int clock)
{
    long long steps = n > (unsigned long)LLONG_MAX ? LLONG_MAX : (long long)n;

    r->budget = r->budget < LLONG_MIN + steps ? LLONG_MIN : r->budget - steps;
    r->unclocked += steps;
    if (r->budget < 0)
        enigma_sandbox_kill(r, "instruction limit");
    if (clock || r->unclocked >= ENIGMA_SANDBOX_HOOK_EVERY) {
        r->unclocked = 0;
        if (enigma_sandbox_monotonic() > r->deadline)
            enigma_sandbox_kill(r, "time limit");
    }
    return r->killed != NULL;
}

void enigma_sandbox_charge(lua_State *L, void *ud, unsigned long n)
{
    run *r = enigma_sandbox_box_of(L)->running;

    (void)ud;
    if (r != NULL && over(r, n, 0))
        raise_killed(L, r);
}

void enigma_sandbox_charge_now(lua_State *L, unsigned long n)
{
    run *r = enigma_sandbox_box_of(L)->running;

    if (r != NULL && over(r, n, 1))
        raise_killed(L, r);
}

void enigma_sandbox_check_stack(lua_State *L)
{
    run *r = enigma_sandbox_box_of(L)->running;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);

    if (r != NULL && r->stack_top > here && r->stack_top - here > ENIGMA_SANDBOX_C_STACK)
        luaL_error(L, "C stack overflow");
}

/*
 * The count hook. Every HOOK_EVERY instructions it charges them and reads
 * the clock. Once the run is killed it fires on every instruction and ends
 * the run: it yields the thread, which no pcall in the script can catch, so
 * the limit is final; where the thread cannot yield (inside a metamethod or
 * a comparator called from C) it raises, and the next instruction yields.
 */
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
        enigma_sandbox_check_stack(L);
        if (!over(r, (unsigned long)count, 1))
            return;
    }
    lua_sethook(L, enigma_sandbox_hook, LUA_MASKCOUNT, 1);
    if (r->T != NULL && r->T != L)   /* the run's own thread stops at once too */
        lua_sethook(r->T, enigma_sandbox_hook, LUA_MASKCOUNT, 1);
    if (lua_isyieldable(L)) {
        lua_yield(L, 0);               /* from a hook: returns, and Lua yields */
        return;
    }
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
