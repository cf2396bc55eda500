/*
 * What the files of enigma.sandbox share: sandbox.c (boxes, runs and
 * instances), sandbox_limits.c (the hook, the charge, the clock and C-stack
 * checks and the allocator that bound a run), sandbox_lib.c (the library
 * scripts see in a box, and the environment of each instance),
 * sandbox_table.c (the table functions, charged) and sandbox_copy.c (values
 * crossing between a box and the host). Calls go one way: sandbox.c uses the
 * others; sandbox_lib.c and sandbox_table.c use sandbox_limits.c; nothing
 * calls back into sandbox.c.
 * sandbox_decimal.c (the box's decimals) is opened by sandbox_lib.c and used by
 * sandbox_copy.c; it charges through sandbox_limits.c.
 */
#ifndef ENIGMA_SANDBOX_PRIVATE_H
#define ENIGMA_SANDBOX_PRIVATE_H

#include <lauxlib.h>
#include <lua.h>

#include <stdint.h>

#define ENIGMA_SANDBOX_HOOK_EVERY 1000   /* instructions between two hook calls */

/* Bytes of C stack a run may use below the frame that resumed it. Lua counts
 * most ways C re-enters Lua (LUAI_MAXCCALLS, 200 levels, well inside this);
 * this catches the ones Lua 5.4.4 does not count. */
#define ENIGMA_SANDBOX_C_STACK (1 << 20)

typedef struct enigma_sandbox_run enigma_sandbox_run;

/* A box: its own lua_State; the state's allocator `ud` is the box. */
typedef struct enigma_sandbox_box {
    lua_State *L;                      /* NULL once closed */
    size_t used, cap;                  /* bytes held by L, and their ceiling */
    enigma_sandbox_run *running;       /* the run executing now, or NULL */
    int instances, instance_cap;       /* instances kept, and how many may be */
} enigma_sandbox_box;

/* One call of a module function in a box, with its budget. */
struct enigma_sandbox_run {
    enigma_sandbox_box *b;
    lua_State *T;                      /* its thread in b->L; NULL when finished */
    int ref;                           /* anchors {T, args...} in b->L's registry */
    int started;
    long long budget;                  /* instructions left */
    double deadline;                   /* monotonic seconds */
    long long grown, grow_cap;         /* net bytes allocated while running */
    const char *killed;                /* the limit that stopped it, or NULL */
    uintptr_t stack_top;               /* the C frame that resumed it */
    long long unclocked;               /* instructions charged since the clock was read */
    double time_limit;
    long long instructions, memory;
};

/* The box a box state (or any of its threads) belongs to. */
static inline enigma_sandbox_box *enigma_sandbox_box_of(lua_State *L)
{
    void *ud;

    lua_getallocf(L, &ud);
    return ud;
}

/* Its address is the first value of every request a box yields. */
extern const char enigma_sandbox_request_token;

/* ---- sandbox_limits.c ---- */

/* Seconds on the monotonic clock. */
double enigma_sandbox_monotonic(void);

/* Marks run `r` stopped by `limit` ("instruction limit", "time limit",
 * "memory limit"; a static string); the first limit broken is the one kept. */
void enigma_sandbox_kill(enigma_sandbox_run *r, const char *limit);

/* Charges `n` steps of work to the running run (reading the clock about
 * every HOOK_EVERY steps); raises once it is over a limit. The signature of
 * an enigma_match_charge. */
void enigma_sandbox_charge(lua_State *L, void *ud, unsigned long n);

/* Charges `n` steps and reads the clock now: for the C calls whose cost the
 * hook does not see, before and after them. Raises once over a limit. */
void enigma_sandbox_charge_now(lua_State *L, unsigned long n);

/* Raises "C stack overflow" when the running run's C stack is deeper than
 * ENIGMA_SANDBOX_C_STACK. */
void enigma_sandbox_check_stack(lua_State *L);

/* Notes where run `r` is resumed from: the top of the C stack it may use. */
#define ENIGMA_SANDBOX_STACK_TOP(r) ((r)->stack_top = (uintptr_t)__builtin_frame_address(0))

/* The count hook every thread of a box carries. */
void enigma_sandbox_hook(lua_State *L, lua_Debug *ar);

/* The lua_Alloc of a box state (`ud` is the box): shrinking never fails;
 * growth is refused past the box's ceiling, past the running run's, and for
 * a run already killed (which it then marks "memory limit"). */
void *enigma_sandbox_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/* ---- sandbox_lib.c ---- */

/* lua_CFunction: opens the allow-listed library in box state L. */
int enigma_sandbox_open(lua_State *L);

/* Pushes a fresh environment for one instance of a script: a copy of the
 * box's globals whose library tables are copies too, with its own _G and
 * load, so nothing one instance writes is seen by another. */
void enigma_sandbox_env(lua_State *L);

/* ---- sandbox_table.c ---- */

/* Replaces concat, insert, remove, move and sort in the table library at
 * `idx` with versions that charge their loops to the running run. */
void enigma_sandbox_tables(lua_State *L, int idx);

/* Pushes onto box state B a copy of host value H[idx] (plain data, and
 * sandbox.op markers as request functions). Raises in B; never in H
 * (sandbox_copy.c). */
void enigma_sandbox_copy_in(lua_State *B, lua_State *H, int idx, int depth);

/* What enigma_sandbox_copy_in_p copies: `n` slots of `from` from `first`
 * onto `to` (a thread of the box, with room made by the caller). */
typedef struct enigma_sandbox_copy {
    lua_State *from, *to;
    int first, n;
    int functions;                     /* copy out: a function becomes "function" */
    size_t cost;                       /* copy out: values and bytes made so far */
} enigma_sandbox_copy;

/* lua_CFunction for protected mode in the box: its argument is a light
 * userdata enigma_sandbox_copy. */
int enigma_sandbox_copy_in_p(lua_State *B);

/* Copies B[first .. first+n-1] onto host H under lua_pcall in H: 0, or -1
 * with the message on H and B's stack as it was. */
int enigma_sandbox_copy_to_host(lua_State *H, lua_State *B, int first, int n, int functions);

/* ---- sandbox_decimal.c ---- */

/* Opens the global `decimal` and the metatable of box decimals in box state L. */
void enigma_sandbox_decimal_open(lua_State *L);

/* Pushes onto box state B a box decimal equal to host enigma.decimal H[idx];
 * raises in B when H[idx] is not one, or is past the box's bounds. */
void enigma_sandbox_decimal_in(lua_State *B, lua_State *H, int idx);

/* Pushes onto host H an enigma.decimal equal to box decimal B[idx]; raises in
 * H when B[idx] is not one. B is only read. */
void enigma_sandbox_decimal_out(lua_State *H, lua_State *B, int idx);

/* Registers the metatable of sandbox.op markers in host H (sandbox_copy.c). */
void enigma_sandbox_op_register(lua_State *H);

/* sandbox.op(name) (sandbox_copy.c). */
int enigma_sandbox_op_new(lua_State *H);

#endif
