/*
 * enigma.db: waiting for the server (see db.c). A call in a task
 * yields through the coroutine's waiter (binding.h) until the connection's
 * socket is ready; anywhere else it blocks in poll().
 */
#include <lauxlib.h>
#include <lua.h>
#include <poll.h>
#include <time.h>

#include "bindings/binding.h"
#include "db_private.h"
#include "core/db.h"

/* --- waiting for the server -------------------------------------------------------- */

double enigma_luadb_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Blocks until `fd` is ready for `events` or `timeout` seconds (< 0: none) pass. */
static void block_on(int fd, int events, double timeout)
{
    struct pollfd p = {fd, 0, 0};

    if (events & ENIGMA_WAIT_READ)
        p.events |= POLLIN;
    if (events & ENIGMA_WAIT_WRITE)
        p.events |= POLLOUT;
    poll(&p, 1, timeout < 0 ? -1 : (int)(timeout * 1000 + 0.5));
}

/*
 * Yields the running task until `fd` is ready, when a waiter can resume it:
 * Lua then calls k(L, LUA_YIELD, ctx) with the loop's boolean on the stack,
 * and this does not return. Otherwise it blocks here and returns.
 */
void enigma_luadb_wait_fd(lua_State *L, int fd, int events, double timeout, lua_KContext ctx,
                          lua_KFunction k)
{
    enigma_lua_waiter *w = enigma_lua_waiter_get(L);

    if (w != NULL && w->wait_fd(w, L, fd, events, timeout) == 0)
        lua_yieldk(L, 0, ctx, k);
    block_on(fd, events, timeout);      /* no waiter, or it declined: wait here */
}

/* A command sent from a task: non-blocking sends, and this coroutine owns the
 * connection until the command is done (see check_not_busy, db.c). Connection at 1. */
int enigma_luadb_begin_async(lua_State *L, enigma_luadb_conn *c, enigma_error *err)
{
    if (enigma_db_set_async(c->db, 1, err) < 0)
        return -1;
    lua_getiuservalue(L, 1, ENIGMA_LUADB_UV_OWNER);
    lua_pushthread(L);
    lua_rawseti(L, -2, 1);
    lua_pop(L, 1);
    return 0;
}

/* Back to blocking sends (the COPY API needs them); keeps `err` unless unset. */
void enigma_luadb_end_async(enigma_luadb_conn *c)
{
    enigma_error ignored;

    enigma_db_set_async(c->db, 0, &ignored);
}

/*
 * Drives the command in flight to its end: 0 with *res (NULL for a
 * preparation), or -1 with err. While the server has not answered it yields
 * the task (enigma_luadb_wait_fd), and k(ctx) calls this again on resumption.
 */
int enigma_luadb_await_command(lua_State *L, enigma_luadb_conn *c, PGresult **res,
                               enigma_error *err, lua_KContext ctx, lua_KFunction k)
{
    int want;

    while ((want = enigma_db_progress(c->db, res, err)) > 0)
        enigma_luadb_wait_fd(L, enigma_db_socket(c->db),
                             want == ENIGMA_DB_WANT_WRITE ? ENIGMA_WAIT_READ | ENIGMA_WAIT_WRITE
                                                          : ENIGMA_WAIT_READ,
                             -1, ctx, k);
    enigma_luadb_end_async(c);
    return want;
}

/* The connection (at 1) in a continuation: drops the loop's boolean after a
 * wait, and raises if the connection was closed meanwhile. */
enigma_luadb_conn *enigma_luadb_resumed_conn(lua_State *L, int status)
{
    enigma_luadb_conn *c = luaL_checkudata(L, 1, ENIGMA_LUADB_CONN_MT);

    if (status == LUA_YIELD)
        lua_pop(L, 1);
    if (c->db == NULL)
        luaL_error(L, "the connection was closed while a query on it was waiting");
    return c;
}

int enigma_luadb_in_task(lua_State *L)
{
    return enigma_lua_waiter_get(L) != NULL;
}
