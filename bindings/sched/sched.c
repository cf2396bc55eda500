/*
 * enigma.sched: the event loop of `enigma serve` (one libuv loop per Lua
 * state), tasks that are Lua coroutines, and cron expressions.
 *
 *   sched.spawn(fn, ...)        --> task; fn(...) starts on the loop's next turn
 *   sched.current()             --> the running task, or nil
 *   sched.suspend([timeout])    --> in a task: true, ... when task:wake(...) is
 *                                   called; false when `timeout` seconds pass first
 *   sched.sleep(seconds)
 *   sched.timer(after, every, fn) --> handle; fn() runs as a new task after
 *                                   `after` seconds, then every `every` (0: once)
 *   sched.watch(dir, fn)        --> handle | nil, message, code; fn(filename) as a task on each
 * change sched.signal(name, fn)      --> handle; fn(name) as a task on "SIGINT", "SIGTERM",
 * "SIGHUP" handle:stop() sched.run()                 runs the loop until sched.stop(), or nothing
 * is left sched.stop() sched.now()                 --> wall-clock Unix time, seconds (microsecond
 * resolution) sched.cpu_time()            --> user + system CPU seconds used by this process
 *   sched.listdir(path)         --> the names in a directory, sorted | nil, message, code
 *   sched.identity()            --> hostname, pid
 *   sched.cron(expr)            --> cron | nil, message, code
 *   cron:next(after, [tz])      --> the first fire time after `after` (Unix seconds) | nil,
 * message, code task:wake(...)              resumes a suspended task with true, ... on the next
 * loop turn task:cancel()               never resumes it again (its waits are dropped)
 *   task:status()               --> "running" | "suspended" | "waiting" | "dead"
 *   task:deadline(seconds)      past it, the task ends at its next instruction (see below)
 *
 * A task that waits on a file descriptor (a query in enigma.db) does so
 * through its enigma_lua_waiter (binding.h); the loop resumes it when the
 * descriptor is ready. A task's error is printed with its traceback on
 * stderr and the loop goes on: code that must record failures catches them
 * itself (xpcall yields in Lua 5.4).
 *
 * A deadline holds whatever the task does. A count hook on the task's thread
 * (inherited by every coroutine the task creates: lua_newthread copies it)
 * reads the monotonic clock every DEADLINE_HOOK_COUNT instructions; once the
 * deadline has passed it fires on every instruction and yields the thread it
 * runs on, which no pcall can catch. A nested coroutine yields to its
 * resumer inside the task, whose own thread then stops at its next
 * instruction; where a thread cannot yield (inside a C call) the hook raises
 * "timed out", and the next instruction that can yields. The task then ends
 * as a cancelled one does: its to-be-closed variables are closed at once
 * (lua_resetthread), with CLOSE_SECONDS for their __close handlers.
 */
#include <lauxlib.h>
#include <lua.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <uv.h>

#include "bindings/binding.h"
#include "core/sched/cron.h"

#define LOOP_KEY "enigma.sched.loop"
#define TASK_MT "enigma.sched.task"
#define HANDLE_MT "enigma.sched.handle"
#define CRON_MT "enigma.sched.cron"

/* Instructions between two looks at the clock by a task with a deadline. */
#define DEADLINE_HOOK_COUNT 1000
/* What the __close handlers of an ended task get, together. */
#define CLOSE_SECONDS 1.0

typedef struct loop {
    uv_loop_t uv;
    int open;
    lua_State *running;     /* inside sched.run: the thread resumes happen from */
    struct task *current;   /* the task being resumed or closed: whose deadline holds */
} loop;

enum task_state { T_RUNNING, T_READY, T_SUSPENDED, T_WAITING, T_DEAD };

typedef struct task {
    enigma_lua_waiter waiter;   /* first member: a waiter pointer is its task */
    loop *lp;
    lua_State *co;
    int ref;                    /* registry reference while the task lives */
    enum task_state state;
    int nargs;                  /* values waiting on co's stack for the next resume */
    uv_timer_t *timer;          /* timeouts and wake-ups */
    uv_poll_t *poll;            /* the descriptor waited on */
    uint64_t deadline;          /* uv_hrtime() nanoseconds; 0: none */
    int expired;                /* past its deadline: it must not run another instruction */
} task;

/* sched.timer / watch / signal: a uv handle that calls a Lua function. */
typedef struct handle {
    uv_handle_t *uv;            /* NULL once stopped */
    loop *lp;
    lua_State *L;               /* the main thread, to spawn tasks from */
    int ref;                    /* registry reference to this userdata while active */
    int fn;                     /* registry reference to the function */
    int kind;                   /* UV_TIMER, UV_FS_EVENT, UV_SIGNAL */
} handle;

static void free_handle(uv_handle_t *h)
{
    free(h);
}

static void close_handle(uv_handle_t *h)
{
    if (h != NULL && !uv_is_closing(h)) {
        h->data = NULL;
        uv_close(h, free_handle);
    }
}

/* --- the loop ------------------------------------------------------------------------ */

static void close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    close_handle(h);
}

static int loop_gc(lua_State *L)
{
    loop *lp = lua_touserdata(L, 1);

    if (lp->open) {
        uv_walk(&lp->uv, close_walk, NULL);
        uv_run(&lp->uv, UV_RUN_NOWAIT);     /* runs the close callbacks */
        uv_loop_close(&lp->uv);
        lp->open = 0;
    }
    return 0;
}

static loop *get_loop(lua_State *L)
{
    loop *lp;

    if (lua_getfield(L, LUA_REGISTRYINDEX, LOOP_KEY) == LUA_TUSERDATA) {
        lp = lua_touserdata(L, -1);
        lua_pop(L, 1);
        return lp;
    }
    lua_pop(L, 1);
    lp = lua_newuserdatauv(L, sizeof *lp, 0);
    memset(lp, 0, sizeof *lp);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, loop_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    if (uv_loop_init(&lp->uv) != 0)
        luaL_error(L, "cannot start the event loop");
    lp->open = 1;
    lua_setfield(L, LUA_REGISTRYINDEX, LOOP_KEY);
    return lp;
}

/* The thread to resume tasks from: sched.run's, or the caller's outside it. */
static lua_State *resumer(loop *lp, lua_State *fallback)
{
    return lp->running != NULL ? lp->running : fallback;
}

/* --- tasks --------------------------------------------------------------------------- */

static void deadline_hook(lua_State *L, lua_Debug *ar);

/* Closes the pending to-be-closed variables of t's thread (a cancelled or
 * ended task's, at once rather than by the collector), under a deadline of
 * their own. lua_resetthread is Lua 5.4.4's lua_closethread. */
static void close_thread(task *t)
{
    struct task *outer = t->lp->current;

    t->lp->current = t;
    t->expired = 0;
    t->deadline = uv_hrtime() + (uint64_t)(CLOSE_SECONDS * 1e9);
    lua_sethook(t->co, deadline_hook, LUA_MASKCOUNT, DEADLINE_HOOK_COUNT);
    lua_resetthread(t->co);
    lua_settop(t->co, 0);
    t->lp->current = outer;
    t->deadline = 0;
}

static void task_finish(task *t)
{
    lua_State *L = t->co;

    t->state = T_DEAD;
    close_handle((uv_handle_t *)t->timer);
    close_handle((uv_handle_t *)t->poll);
    t->timer = NULL;
    t->poll = NULL;
    close_thread(t);
    lua_sethook(L, NULL, 0, 0);
    if (t->ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, t->ref);
        t->ref = LUA_NOREF;
    }
}

static int arm(task *t, double seconds);

/* Resumes t with the t->nargs values on its stack; settles what it did next. */
static void task_resume(task *t, lua_State *from)
{
    int nres, status, nargs = t->nargs;
    struct task *outer = t->lp->current;

    t->nargs = 0;
    t->state = T_RUNNING;
    t->lp->current = t;
    status = lua_resume(t->co, from, nargs, &nres);
    t->lp->current = outer;
    if (t->expired) {                   /* stopped by its deadline: it ends here */
        task_finish(t);
        return;
    }
    if (status == LUA_YIELD) {
        lua_pop(t->co, nres);
        if (t->state == T_RUNNING) {    /* a bare coroutine.yield(): go on next turn */
            lua_pushboolean(t->co, 1);
            t->nargs = 1;
            t->state = T_READY;
            if (arm(t, 0) != 0) {
                fprintf(stderr, "enigma: cannot arm a timer; a task is dropped\n");
                task_finish(t);
            }
        }
        return;
    }
    if (status != LUA_OK) {
        const char *msg = lua_tostring(t->co, -1);

        luaL_traceback(from, t->co, msg != NULL ? msg : "(an error object that is not a string)",
                       0);
        fprintf(stderr, "enigma: task failed: %s\n", lua_tostring(from, -1));
        fflush(stderr);
        lua_pop(from, 1);
    }
    task_finish(t);
}

static void on_task_timer(uv_timer_t *timer)
{
    task *t = timer->data;

    if (t == NULL)
        return;
    if (t->state == T_WAITING) {        /* the descriptor did not come ready in time */
        close_handle((uv_handle_t *)t->poll);
        t->poll = NULL;
        lua_pushboolean(t->co, 0);
        t->nargs = 1;
    } else if (t->state == T_SUSPENDED) {
        lua_pushboolean(t->co, 0);
        t->nargs = 1;
    } else if (t->state != T_READY) {
        return;
    }
    task_resume(t, resumer(t->lp, t->co));
}

static int ensure_timer(task *t)
{
    if (t->timer != NULL)
        return 0;
    t->timer = malloc(sizeof *t->timer);
    if (t->timer == NULL || uv_timer_init(&t->lp->uv, t->timer) != 0) {
        free(t->timer);
        t->timer = NULL;
        return -1;
    }
    t->timer->data = t;
    return 0;
}

/* Arms the task's timer: 0 resumes on the next loop turn; < 0 disarms. */
static int arm(task *t, double seconds)
{
    if (ensure_timer(t) < 0)
        return -1;
    if (seconds < 0)
        return uv_timer_stop(t->timer);
    uv_update_time(&t->lp->uv);
    return uv_timer_start(t->timer, on_task_timer, (uint64_t)(seconds * 1000.0 + 0.999), 0);
}

static void on_task_poll(uv_poll_t *p, int status, int events)
{
    task *t = p->data;

    (void)events;
    if (t == NULL || t->state != T_WAITING)
        return;
    close_handle((uv_handle_t *)p);
    t->poll = NULL;
    if (t->timer != NULL)
        uv_timer_stop(t->timer);
    lua_pushboolean(t->co, 1);          /* an error (status < 0) too: the read will say */
    (void)status;
    t->nargs = 1;
    task_resume(t, resumer(t->lp, t->co));
}

/* enigma_lua_waiter.wait_fd: resume when fd is ready or after timeout. */
static int task_wait_fd(enigma_lua_waiter *w, lua_State *L, int fd, int events, double timeout)
{
    task *t = (task *)w;
    int uvev = (events & ENIGMA_WAIT_READ ? UV_READABLE : 0) |
               (events & ENIGMA_WAIT_WRITE ? UV_WRITABLE : 0);

    if (L != t->co || t->state != T_RUNNING)
        return -1;
    /* A fresh poll handle per wait, closed when it ends: a descriptor closed
     * and reused in between must not meet a stale epoll registration (libuv
     * aborts on that). */
    close_handle((uv_handle_t *)t->poll);
    t->poll = malloc(sizeof *t->poll);
    if (t->poll == NULL || uv_poll_init(&t->lp->uv, t->poll, fd) != 0) {
        free(t->poll);
        t->poll = NULL;
        return -1;
    }
    t->poll->data = t;
    if (uv_poll_start(t->poll, uvev, on_task_poll) != 0)
        return -1;
    if (timeout >= 0 && arm(t, timeout) != 0) {
        uv_poll_stop(t->poll);
        return -1;
    }
    t->state = T_WAITING;
    return 0;
}

static task *check_task(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, TASK_MT);
}

/* The task running L, or NULL. */
static task *current_task(lua_State *L)
{
    enigma_lua_waiter *w = enigma_lua_waiter_find(L);
    task *t = (task *)w;

    return t != NULL && t->co == L && t->state == T_RUNNING ? t : NULL;
}

static int sched_spawn(lua_State *L)
{
    loop *lp = get_loop(L);
    int nargs = lua_gettop(L) - 1;
    task *t;

    luaL_checktype(L, 1, LUA_TFUNCTION);
    t = lua_newuserdatauv(L, sizeof *t, 1);
    memset(t, 0, sizeof *t);
    t->waiter.wait_fd = task_wait_fd;
    t->lp = lp;
    t->ref = LUA_NOREF;
    t->state = T_DEAD;
    luaL_setmetatable(L, TASK_MT);
    t->co = lua_newthread(L);
    lua_setiuservalue(L, -2, 1);        /* the task keeps its coroutine */
    lua_pushvalue(L, -1);
    t->ref = luaL_ref(L, LUA_REGISTRYINDEX);   /* and the loop keeps the task */
    enigma_lua_waiter_set(L, t->co, &t->waiter);
    lua_insert(L, 1);                   /* task, fn, args... */
    lua_xmove(L, t->co, nargs + 1);
    t->nargs = nargs;
    t->state = T_READY;
    if (arm(t, 0) != 0) {
        task_finish(t);
        return luaL_error(L, "cannot arm a timer");
    }
    return 1;
}

/* Pushes the task userdata of t (from the registry reference). */
static void push_task(lua_State *L, task *t)
{
    lua_rawgeti(L, LUA_REGISTRYINDEX, t->ref);
}

static int sched_current(lua_State *L)
{
    task *t = current_task(L);

    if (t == NULL || t->ref == LUA_NOREF)
        lua_pushnil(L);
    else
        push_task(L, t);
    return 1;
}

static int suspended(lua_State *L, int status, lua_KContext ctx)
{
    (void)status;
    (void)ctx;
    return lua_gettop(L) - 1;   /* the values the resume brought (below: the timeout argument) */
}

static int sched_suspend(lua_State *L)
{
    task *t = current_task(L);
    double timeout = luaL_optnumber(L, 1, -1);

    if (t == NULL || !lua_isyieldable(L))
        return luaL_error(L, "sched.suspend must be called from a task");
    lua_settop(L, 1);
    if (timeout >= 0 && arm(t, timeout) != 0)
        return luaL_error(L, "cannot arm a timer");
    t->state = T_SUSPENDED;
    return lua_yieldk(L, 0, 0, suspended);
}

/* sleep's continuation: a wake-up before the time only suspends it again. */
static int slept(lua_State *L, int status, lua_KContext until)
{
    task *t = current_task(L);
    uint64_t now = uv_hrtime();

    (void)status;
    lua_settop(L, 0);
    if (t == NULL || now >= (uint64_t)until)
        return 0;
    if (arm(t, (double)((uint64_t)until - now) / 1e9) != 0)
        return luaL_error(L, "cannot arm a timer");
    t->state = T_SUSPENDED;
    return lua_yieldk(L, 0, until, slept);
}

static int sched_sleep(lua_State *L)
{
    double s = luaL_checknumber(L, 1);

    if (current_task(L) == NULL || !lua_isyieldable(L))
        return luaL_error(L, "sched.sleep must be called from a task");
    return slept(L, LUA_OK, (lua_KContext)(uv_hrtime() + (uint64_t)(s > 0 ? s * 1e9 : 0)));
}

static int task_wake(lua_State *L)
{
    task *t = check_task(L, 1);
    int n = lua_gettop(L) - 1;

    if (t->state != T_SUSPENDED) {
        lua_pushboolean(L, 0);
        return 1;
    }
    lua_pushboolean(t->co, 1);
    lua_xmove(L, t->co, n);
    t->nargs = n + 1;
    t->state = T_READY;
    if (arm(t, 0) != 0)
        return luaL_error(L, "cannot arm a timer");
    lua_pushboolean(L, 1);
    return 1;
}

static int task_cancel(lua_State *L)
{
    task *t = check_task(L, 1);

    if (t->state == T_RUNNING)
        return luaL_error(L, "a task cannot cancel itself; return or raise instead");
    if (t->state != T_DEAD)
        task_finish(t);
    return 0;
}

static int task_status(lua_State *L)
{
    static const char *const names[] = {"running", "ready", "suspended", "waiting", "dead"};
    task *t = check_task(L, 1);

    lua_pushstring(L, names[t->state]);
    return 1;
}

/* The count hook of a task's thread and of the coroutines it created. */
static void deadline_hook(lua_State *L, lua_Debug *ar)
{
    task *t = get_loop(L)->current;

    (void)ar;
    if (t == NULL || t->deadline == 0)
        return;
    if (!t->expired) {
        if (lua_gethookcount(L) != DEADLINE_HOOK_COUNT)   /* left re-armed by an ended task */
            lua_sethook(L, deadline_hook, LUA_MASKCOUNT, DEADLINE_HOOK_COUNT);
        if (uv_hrtime() < t->deadline)
            return;
        t->expired = 1;
    }
    lua_sethook(L, deadline_hook, LUA_MASKCOUNT, 1);
    if (t->co != L)                     /* the task's own thread stops at once too */
        lua_sethook(t->co, deadline_hook, LUA_MASKCOUNT, 1);
    if (lua_isyieldable(L)) {
        lua_yield(L, 0);                /* from a hook: returns, and Lua yields */
        return;
    }
    luaL_error(L, "timed out");
}

static int task_deadline(lua_State *L)
{
    task *t = check_task(L, 1);
    double s = luaL_checknumber(L, 2);

    if (t->state == T_DEAD)
        return 0;
    t->expired = 0;
    t->deadline = uv_hrtime() + (uint64_t)(s > 0 ? s * 1e9 : 0) + 1;
    lua_sethook(t->co, deadline_hook, LUA_MASKCOUNT, DEADLINE_HOOK_COUNT);
    return 0;
}

static int task_tostring(lua_State *L)
{
    task *t = check_task(L, 1);

    lua_pushfstring(L, "enigma.sched.task (%p)", (void *)t);
    return 1;
}

/* --- handles: timers, watchers, signals ------------------------------------------- */

static void handle_stop(lua_State *L, handle *h)
{
    close_handle(h->uv);
    h->uv = NULL;
    if (h->fn != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, h->fn);
        h->fn = LUA_NOREF;
    }
    if (h->ref != LUA_NOREF) {
        luaL_unref(L, LUA_REGISTRYINDEX, h->ref);
        h->ref = LUA_NOREF;
    }
}

/* Spawns the handle's function as a task with the `nargs` values on top of L. */
static void handle_fire(handle *h, int nargs)
{
    lua_State *L = h->L;
    int base = lua_gettop(L) - nargs;

    lua_pushcfunction(L, sched_spawn);
    lua_rawgeti(L, LUA_REGISTRYINDEX, h->fn);
    lua_rotate(L, base + 1, 2);
    if (lua_pcall(L, nargs + 1, 0, 0) != LUA_OK) {
        fprintf(stderr, "enigma: %s\n", lua_tostring(L, -1));
        lua_pop(L, 1);
    }
}

static void on_timer(uv_timer_t *timer)
{
    handle *h = timer->data;

    if (h != NULL) {
        if (uv_timer_get_repeat(timer) == 0) {
            handle_fire(h, 0);
            handle_stop(h->L, h);     /* once: the handle is spent */
        } else {
            handle_fire(h, 0);
        }
    }
}

static void on_fs_event(uv_fs_event_t *ev, const char *filename, int events, int status)
{
    handle *h = ev->data;

    (void)events;
    if (h == NULL || status < 0)
        return;
    lua_pushstring(h->L, filename != NULL ? filename : "");
    handle_fire(h, 1);
}

static void on_signal(uv_signal_t *sig, int signum)
{
    handle *h = sig->data;

    if (h == NULL)
        return;
    lua_pushstring(h->L, signum == SIGINT ? "SIGINT" : signum == SIGTERM ? "SIGTERM" : "SIGHUP");
    handle_fire(h, 1);
}

/* Pushes a new handle userdata holding `uv` (already initialised) and fn at fnidx. */
static handle *new_handle(lua_State *L, loop *lp, uv_handle_t *uv, int fnidx)
{
    handle *h = lua_newuserdatauv(L, sizeof *h, 0);

    h->uv = uv;
    h->lp = lp;
    lua_rawgeti(L, LUA_REGISTRYINDEX, LUA_RIDX_MAINTHREAD);
    h->L = lua_tothread(L, -1);
    lua_pop(L, 1);
    h->kind = uv->type;
    lua_pushvalue(L, fnidx);
    h->fn = luaL_ref(L, LUA_REGISTRYINDEX);
    luaL_setmetatable(L, HANDLE_MT);
    lua_pushvalue(L, -1);
    h->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    uv->data = h;
    return h;
}

static int sched_timer(lua_State *L)
{
    loop *lp = get_loop(L);
    double after = luaL_checknumber(L, 1), every = luaL_optnumber(L, 2, 0);
    uv_timer_t *timer;

    luaL_checktype(L, 3, LUA_TFUNCTION);
    luaL_argcheck(L, after >= 0, 1, "must be >= 0");
    luaL_argcheck(L, every >= 0, 2, "must be >= 0");
    timer = malloc(sizeof *timer);
    if (timer == NULL || uv_timer_init(&lp->uv, timer) != 0) {
        free(timer);
        return luaL_error(L, "cannot make a timer");
    }
    new_handle(L, lp, (uv_handle_t *)timer, 3);
    uv_update_time(&lp->uv);
    uv_timer_start(timer, on_timer, (uint64_t)(after * 1000.0 + 0.999),
                   (uint64_t)(every * 1000.0 + 0.999));
    return 1;
}

static int sched_watch(lua_State *L)
{
    loop *lp = get_loop(L);
    const char *path = luaL_checkstring(L, 1);
    uv_fs_event_t *ev;
    int rc;

    luaL_checktype(L, 2, LUA_TFUNCTION);
    ev = malloc(sizeof *ev);
    if (ev == NULL || uv_fs_event_init(&lp->uv, ev) != 0) {
        free(ev);
        return luaL_error(L, "cannot watch %s", path);
    }
    new_handle(L, lp, (uv_handle_t *)ev, 2);
    rc = uv_fs_event_start(ev, on_fs_event, path, 0);
    if (rc != 0) {
        handle_stop(L, lua_touserdata(L, -1));
        luaL_pushfail(L);
        lua_pushfstring(L, "cannot watch %s: %s", path, uv_strerror(rc));
        lua_pushstring(L, uv_err_name(rc));
        return 3;
    }
    return 1;
}

static int sched_signal(lua_State *L)
{
    static const char *const names[] = {"SIGINT", "SIGTERM", "SIGHUP", NULL};
    static const int numbers[] = {SIGINT, SIGTERM, SIGHUP};
    loop *lp = get_loop(L);
    int which = luaL_checkoption(L, 1, NULL, names);
    uv_signal_t *sig;

    luaL_checktype(L, 2, LUA_TFUNCTION);
    sig = malloc(sizeof *sig);
    if (sig == NULL || uv_signal_init(&lp->uv, sig) != 0) {
        free(sig);
        return luaL_error(L, "cannot handle %s", names[which]);
    }
    new_handle(L, lp, (uv_handle_t *)sig, 2);
    uv_signal_start(sig, on_signal, numbers[which]);
    uv_unref((uv_handle_t *)sig);       /* a signal handler alone does not keep run() going */
    return 1;
}

static int handle_stop_method(lua_State *L)
{
    handle_stop(L, luaL_checkudata(L, 1, HANDLE_MT));
    return 0;
}

/* --- running ------------------------------------------------------------------------- */

static int sched_run(lua_State *L)
{
    loop *lp = get_loop(L);
    lua_State *outer = lp->running;

    if (current_task(L) != NULL)
        return luaL_error(L, "sched.run cannot be called from a task");
    lp->running = L;
    uv_run(&lp->uv, UV_RUN_DEFAULT);
    lp->running = outer;
    return 0;
}

static int sched_stop(lua_State *L)
{
    uv_stop(&get_loop(L)->uv);
    return 0;
}

static int sched_now(lua_State *L)
{
    struct timeval tv;

    gettimeofday(&tv, NULL);
    lua_pushnumber(L, (lua_Number)tv.tv_sec + (lua_Number)tv.tv_usec / 1e6);
    return 1;
}

static int sched_cpu_time(lua_State *L)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    lua_pushnumber(L, (lua_Number)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                          (lua_Number)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    return 1;
}

/* sched.listdir(path) --> sorted names (no "." or "..") | nil, message */
static int sched_listdir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    uv_fs_t req;
    uv_dirent_t ent;
    int n, i = 0;

    n = uv_fs_scandir(NULL, &req, path, 0, NULL);
    if (n < 0) {
        uv_fs_req_cleanup(&req);
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: %s", path, uv_strerror(n));
        lua_pushstring(L, uv_err_name(n));
        return 3;
    }
    lua_createtable(L, n, 0);
    while (uv_fs_scandir_next(&req, &ent) != UV_EOF) {
        lua_pushstring(L, ent.name);
        lua_rawseti(L, -2, ++i);
    }
    uv_fs_req_cleanup(&req);
    return 1;
}

/* sched.identity() --> hostname, pid */
static int sched_identity(lua_State *L)
{
    char host[256];
    size_t size = sizeof host;

    if (uv_os_gethostname(host, &size) != 0)
        strcpy(host, "localhost");
    lua_pushstring(L, host);
    lua_pushinteger(L, (lua_Integer)uv_os_getpid());
    return 2;
}

/* --- cron ---------------------------------------------------------------------------- */

static int sched_cron(lua_State *L)
{
    const char *text = luaL_checkstring(L, 1);
    enigma_cron *c = lua_newuserdatauv(L, sizeof *c, 0);
    enigma_error err;

    if (enigma_cron_parse(c, text, &err) < 0) {
        luaL_pushfail(L);
        lua_pushstring(L, err.message);
        lua_pushstring(L, err.code);
        return 3;
    }
    luaL_setmetatable(L, CRON_MT);
    return 1;
}

static int cron_next(lua_State *L)
{
    const enigma_cron *c = luaL_checkudata(L, 1, CRON_MT);
    lua_Number after = luaL_checknumber(L, 2);
    const char *tz = luaL_optstring(L, 3, NULL);
    enigma_error err;
    time_t next;

    if (enigma_cron_next(c, tz, (time_t)after, &next, &err) < 0) {
        luaL_pushfail(L);
        lua_pushstring(L, err.message);
        lua_pushstring(L, err.code);
        return 3;
    }
    lua_pushinteger(L, (lua_Integer)next);
    return 1;
}

/* --- the module ---------------------------------------------------------------------- */

static const luaL_Reg task_methods[] = {
    {"wake", task_wake},
    {"cancel", task_cancel},
    {"status", task_status},
    {"deadline", task_deadline},
    {NULL, NULL}
};

static const luaL_Reg functions[] = {
    {"spawn", sched_spawn},     {"current", sched_current},   {"suspend", sched_suspend},
    {"sleep", sched_sleep},     {"timer", sched_timer},       {"watch", sched_watch},
    {"signal", sched_signal},   {"run", sched_run},           {"stop", sched_stop},
    {"now", sched_now},         {"cpu_time", sched_cpu_time}, {"cron", sched_cron},
    {"listdir", sched_listdir}, {"identity", sched_identity}, {NULL, NULL}
};

ENIGMA_EXPORT int luaopen_enigma_sched(lua_State *L)
{
    luaL_newmetatable(L, TASK_MT);
    lua_pushcfunction(L, task_tostring);
    lua_setfield(L, -2, "__tostring");
    luaL_newlib(L, task_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newmetatable(L, HANDLE_MT);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, handle_stop_method);
    lua_setfield(L, -2, "stop");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newmetatable(L, CRON_MT);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, cron_next);
    lua_setfield(L, -2, "next");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    luaL_newlib(L, functions);
    return 1;
}
