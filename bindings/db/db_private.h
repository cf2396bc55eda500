/*
 * What the files of the enigma.db binding share: the connection userdata and
 * the few helpers one file calls in another. db.c has the handle, its
 * statements and luaopen_enigma_db; db_async.c how a call waits for the
 * server; db_transaction.c transaction() and as_user(); db_listen.c listen(),
 * unlisten() and wait(). Nothing outside these files includes this header.
 */
#ifndef ENIGMA_LUADB_PRIVATE_H
#define ENIGMA_LUADB_PRIVATE_H

#include <lua.h>

#include "core/db.h"

#define ENIGMA_LUADB_CONN_MT "enigma.db.conn"

typedef struct enigma_luadb_conn {
    enigma_db *db;       /* NULL once closed */
    int depth;           /* open transaction() / as_user() levels */
    PGresult *converting; /* the result being turned into Lua values: if that
                             raises, the next call (or close) frees it */
    int ncached;         /* statements in the column-name cache */
    int gateway;         /* 1: as_user's connection (db_transaction.c) */
} enigma_luadb_conn;

/* The connection's uservalues. */
#define ENIGMA_LUADB_UV_COLUMNS 1     /* sql -> column names */
#define ENIGMA_LUADB_UV_HANDLERS 2    /* channel -> fn, for db:wait */
#define ENIGMA_LUADB_UV_OWNER 3       /* weak {coroutine}: whose command is in flight */
#define ENIGMA_LUADB_UV_GATEWAY 4     /* as_user's connection, made on first use (or nil) */
#define ENIGMA_LUADB_NUV 4

/* ---- db.c ---- */

/* Pushes a new connection userdata, closed (db NULL), with its uservalues and metatable. */
enigma_luadb_conn *enigma_luadb_new_conn(lua_State *L);

/* Closes the connection at idx (and its gateway connection); idempotent. */
void enigma_luadb_close(lua_State *L, int idx);

/* The open connection at idx, ready for a command; raises if closed or busy for a waiting task. */
enigma_luadb_conn *enigma_luadb_check_conn(lua_State *L, int idx);

/* Returns nil, message, code, the enigma.error for err -- or raises it inside a transaction. */
int enigma_luadb_fail(lua_State *L, enigma_luadb_conn *c, const enigma_error *err);

/* Like enigma_luadb_fail(), from the error object at the top of the stack. */
int enigma_luadb_fail_object(lua_State *L, enigma_luadb_conn *c);

/* Runs our own sql on the connection at 1 (may yield); k(ctx) gets true | false, error object. */
int enigma_luadb_call_own_statement(lua_State *L, const char *sql, lua_KContext ctx,
                                    lua_KFunction k);

/* db:query(sql, ...), a lua_CFunction (as_user calls it). */
int enigma_luadb_query(lua_State *L);

/* db:exec(sql, ...), a lua_CFunction (as_user calls it). */
int enigma_luadb_exec(lua_State *L);

/* ---- db_async.c: waiting for the server ---- */

/* Seconds on the monotonic clock. */
double enigma_luadb_now(void);

/* Yields the task until fd is ready (k(ctx) resumes it; no return), or blocks without a waiter. */
void enigma_luadb_wait_fd(lua_State *L, int fd, int events, double timeout, lua_KContext ctx,
                          lua_KFunction k);

/* Non-blocking sends, and the running coroutine owns the connection (at 1). 0, or -1 with err. */
int enigma_luadb_begin_async(lua_State *L, enigma_luadb_conn *c, enigma_error *err);

/* Back to blocking sends, errors ignored. */
void enigma_luadb_end_async(enigma_luadb_conn *c);

/* Drives the command in flight to its end, yielding meanwhile: 0 with *res, or -1 with err. */
int enigma_luadb_await_command(lua_State *L, enigma_luadb_conn *c, PGresult **res,
                               enigma_error *err, lua_KContext ctx, lua_KFunction k);

/* The connection at 1 in a continuation; raises if it was closed while waiting. */
enigma_luadb_conn *enigma_luadb_resumed_conn(lua_State *L, int status);

/* 1 when the running coroutine has a waiter and may yield here, else 0. */
int enigma_luadb_in_task(lua_State *L);

/* ---- db_transaction.c ---- */

/* db:transaction(fn): fn's results; rollback and re-raise on error. */
int enigma_luadb_transaction(lua_State *L);

/* db:as_user(claims, fn): fn in a transaction under the role and JWT claims given. */
int enigma_luadb_as_user(lua_State *L);

/* ---- db_listen.c ---- */

/* db:listen(channel, fn) --> true. */
int enigma_luadb_listen(lua_State *L);

/* db:unlisten(channel) --> true. */
int enigma_luadb_unlisten(lua_State *L);

/* db:wait([seconds]) --> notifications handed to their fn | nil, message, sqlstate. */
int enigma_luadb_wait(lua_State *L);

#endif
