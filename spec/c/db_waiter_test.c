/*
 * enigma.db in coroutines run by a small poll(2) loop with an
 * enigma_lua_waiter: queries yield instead of blocking (needs: cluster,
 * needs: bindings).
 *
 * Lua sees spawn(fn) (a task), run() (the loop, until every task is done;
 * raises a task's error), now() (monotonic seconds) and yields() (how many
 * times tasks waited on a socket).
 */
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

#include "bindings/binding.h"
#include "core/db.h"
#include "test.h"

#define MAX_TASKS 16

typedef struct task {
    lua_State *co;
    int ref;               /* keeps the coroutine alive; LUA_NOREF when done */
    int waiting, fd, events;
    double deadline;       /* < 0: none */
    int resume_with;       /* the boolean to resume with, once ready */
} task;

static struct {
    enigma_lua_waiter waiter;
    task tasks[MAX_TASKS];
    int ntasks, yields;
} loop;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int loop_wait_fd(enigma_lua_waiter *w, lua_State *L, int fd, int events, double timeout)
{
    int i;

    (void)w;
    for (i = 0; i < loop.ntasks; i++) {
        if (loop.tasks[i].co == L) {
            loop.tasks[i].waiting = 1;
            loop.tasks[i].fd = fd;
            loop.tasks[i].events = events;
            loop.tasks[i].deadline = timeout < 0 ? -1 : now() + timeout;
            loop.yields++;
            return 0;
        }
    }
    return -1;
}

static int l_spawn(lua_State *L)
{
    task *t;

    luaL_checktype(L, 1, LUA_TFUNCTION);
    if (loop.ntasks == MAX_TASKS)
        return luaL_error(L, "too many tasks");
    t = &loop.tasks[loop.ntasks++];
    t->co = lua_newthread(L);
    lua_pushvalue(L, 1);
    lua_xmove(L, t->co, 1);
    t->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    t->waiting = 0;
    t->resume_with = -1;     /* first resume: no value */
    enigma_lua_waiter_set(L, t->co, &loop.waiter);
    return 0;
}

/* Resumes one task; raises its error in L. */
static void step(lua_State *L, task *t)
{
    int nres, status;

    if (t->resume_with >= 0)
        lua_pushboolean(t->co, t->resume_with);
    status = lua_resume(t->co, L, t->resume_with >= 0 ? 1 : 0, &nres);
    t->resume_with = -1;
    if (status == LUA_YIELD) {
        lua_pop(t->co, nres);
        if (!t->waiting)
            luaL_error(L, "a task yielded without waiting on anything");
        return;
    }
    luaL_unref(L, LUA_REGISTRYINDEX, t->ref);
    t->ref = LUA_NOREF;
    if (status != LUA_OK) {
        lua_xmove(t->co, L, 1);
        luaL_traceback(L, t->co, lua_tostring(L, -1), 0);
        lua_error(L);
    }
}

static int l_run(lua_State *L)
{
    struct pollfd fds[MAX_TASKS];
    task *who[MAX_TASKS];
    int i, n, live;
    double timeout, t_now;

    for (;;) {
        live = 0;
        for (i = 0; i < loop.ntasks; i++) {
            task *t = &loop.tasks[i];

            if (t->ref != LUA_NOREF && !t->waiting)
                step(L, t);
            live += t->ref != LUA_NOREF;
        }
        if (live == 0)
            break;
        n = 0;
        timeout = -1;
        t_now = now();
        for (i = 0; i < loop.ntasks; i++) {
            task *t = &loop.tasks[i];

            if (t->ref == LUA_NOREF || !t->waiting)
                continue;
            fds[n].fd = t->fd;
            fds[n].events = (short)(((t->events & ENIGMA_WAIT_READ) ? POLLIN : 0) |
                                    ((t->events & ENIGMA_WAIT_WRITE) ? POLLOUT : 0));
            fds[n].revents = 0;
            who[n++] = t;
            if (t->deadline >= 0 && (timeout < 0 || t->deadline - t_now < timeout))
                timeout = t->deadline - t_now > 0 ? t->deadline - t_now : 0;
        }
        poll(fds, (nfds_t)n, timeout < 0 ? -1 : (int)(timeout * 1000) + 1);
        t_now = now();
        for (i = 0; i < n; i++) {
            if (fds[i].revents != 0) {
                who[i]->waiting = 0;
                who[i]->resume_with = 1;
            } else if (who[i]->deadline >= 0 && t_now >= who[i]->deadline) {
                who[i]->waiting = 0;
                who[i]->resume_with = 0;
            }
        }
    }
    loop.ntasks = 0;
    return 0;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, now());
    return 1;
}

static int l_yields(lua_State *L)
{
    lua_pushinteger(L, loop.yields);
    return 1;
}

/* Each case is a chunk; `edb` is enigma.db. */
static const struct {
    const char *name, *code;
} cases[] = {
    {"a slow query yields while another task runs ten quick ones",
     "    local a, b = edb.connect(), edb.connect()\n"
     "    local order = {}\n"
     "    spawn(function()\n"
     "      local rows = assert(a:query(\"select pg_sleep(1), 'slow' as s\"))\n"
     "      assert(rows[1].s == \"slow\")\n"
     "      order[#order + 1] = \"A\"\n"
     "    end)\n"
     "    spawn(function()\n"
     "      for i = 1, 10 do\n"
     "        local rows = assert(b:query(\"select $1::int * 2 as n\", i))\n"
     "        assert(rows[1].n == i * 2)\n"
     "      end\n"
     "      order[#order + 1] = \"B\"\n"
     "    end)\n"
     "    local started = now()\n"
     "    run()\n"
     "    assert(order[1] == \"B\" and order[2] == \"A\", table.concat(order, \",\"))\n"
     "    assert(now() - started < 2.5, \"the two tasks did not overlap\")\n"
     "    a:close() b:close()\n"
     "\n"},
    {"exec, run_script and errors in a task",
     "    local db = edb.connect()\n"
     "    spawn(function()\n"
     "      assert(db:run_script(\"create temp table w (n int); insert into w values (1), (2)\"))\n"
     "      assert(db:exec(\"update w set n = n + $1\", 10) == 2)\n"
     "      local ok, msg, code = db:query(\"select 1/0\")\n"
     "      assert(ok == nil and code == \"22012\", tostring(msg))\n"
     "      ok, msg, code = db:run_script(\"selec 1\")\n"
     "      assert(ok == nil and code == \"42601\")\n"
     "      assert(db:query(\"select sum(n)::int as s from w\")[1].s == 23)\n"
     "    end)\n"
     "    run()\n"
     "    db:close()\n"
     "\n"},
    {"transaction commits, rolls back on error, nests, in a task",
     "    local db = edb.connect()\n"
     "    spawn(function()\n"
     "      db:run_script(\"create temp table t (n int)\")\n"
     "      local r = db:transaction(function(tx)\n"
     "        tx:exec(\"insert into t values (1)\")\n"
     "        tx:transaction(function(inner) inner:exec(\"insert into t values (2)\") end)\n"
     "        local ok = pcall(tx.transaction, tx, function(inner)\n"
     "          inner:exec(\"insert into t values (3)\")\n"
     "          error(\"undo the savepoint\")\n"
     "        end)\n"
     "        assert(not ok)\n"
     "        return \"done\", 7\n"
     "      end)\n"
     "      assert(r == \"done\")\n"
     "      local ok, err = pcall(db.transaction, db, function(tx)\n"
     "        tx:exec(\"insert into t values (4)\")\n"
     "        error({ mine = true })\n"
     "      end)\n"
     "      assert(not ok and type(err) == \"table\" and err.mine)\n"
     "      ok, err = pcall(db.transaction, db, function(tx)\n"
     "        tx:exec(\"insert into t values (5)\")\n"
     "        pcall(tx.exec, tx, \"insert into nowhere values (1)\")\n"
     "      end)\n"
     "      assert(not ok and tostring(err):find(\"rolled back\"))\n"
     "      ok, err = pcall(db.transaction, db, function(tx) tx:exec(\"selec\") end)\n"
     "      assert(not ok and err.sqlstate == \"42601\")\n"
     "      assert(not db:in_transaction())\n"
     "      local rows = db:query(\"select n from t order by n\")\n"
     "      assert(#rows == 2 and rows[1].n == 1 and rows[2].n == 2, #rows)\n"
     "    end)\n"
     "    run()\n"
     "    assert(yields() > 0)\n"
     "    db:close()\n"
     "\n"},
    {"as_user in a task, nested, restores identity",
     "    local db = edb.connect()\n"
     "    spawn(function()\n"
     "      local who = db:as_user({ sub = \"7f2c7c1e-2c8a-4f38-9d8e-3d5f4b0c9a11\" }, function(tx)\n"
     "        tx:as_user({ role = \"anon\" }, function(inner)\n"
     "          assert(inner:query(\"select current_user as u\")[1].u == \"anon\")\n"
     "        end)\n"
     "        return tx:query(\"select current_user as u, auth.uid()::text as id\")[1]\n"
     "      end)\n"
     "      assert(who.u == \"authenticated\" and who.id == \"7f2c7c1e-2c8a-4f38-9d8e-3d5f4b0c9a11\")\n"
     "      assert(db:query(\"select current_user as u\")[1].u == \"postgres\")\n"
     "    end)\n"
     "    run()\n"
     "    db:close()\n"
     "\n"},
    {"listen/wait get a NOTIFY from another connection; wait times out with 0",
     "    local db, other = edb.connect(), edb.connect()\n"
     "    local got = {}\n"
     "    spawn(function()\n"
     "      assert(db:listen(\"enigma_test\", function(channel, payload, pid)\n"
     "        got[#got + 1] = { channel = channel, payload = payload, pid = pid }\n"
     "      end))\n"
     "      spawn(function()   -- notify once listening, or the notification is lost\n"
     "        other:exec(\"select pg_notify($1, $2)\", \"enigma_test\", \"hello\")\n"
     "      end)\n"
     "      assert(db:wait(5) == 1)\n"
     "      local started = now()\n"
     "      assert(db:wait(0.2) == 0)\n"
     "      assert(now() - started >= 0.15)\n"
     "      assert(db:unlisten(\"enigma_test\"))\n"
     "    end)\n"
     "    run()\n"
     "    assert(#got == 1 and got[1].channel == \"enigma_test\" and got[1].payload == \"hello\")\n"
     "    assert(math.type(got[1].pid) == \"integer\")\n"
     "    assert(not pcall(db.listen, db, \"bad name; drop\", function() end))\n"
     "    assert(not pcall(db.listen, db, \"9lives\", function() end))\n"
     "    db:close() other:close()\n"
     "\n"},
    {"another task using a busy connection gets a clear error",
     "    local db = edb.connect()\n"
     "    local err\n"
     "    spawn(function() db:query(\"select pg_sleep(0.3)\") end)\n"
     "    spawn(function()\n"
     "      local ok, e = pcall(db.query, db, \"select 1\")\n"
     "      err = e\n"
     "    end)\n"
     "    run()\n"
     "    assert(tostring(err):find(\"busy with another query\"), tostring(err))\n"
     "    assert(db:query(\"select 2 as n\")[1].n == 2)      -- free again afterwards\n"
     "    db:close()\n"
     "\n"},
    {"cancel stops a long query in a task with 57014",
     "    local db = edb.connect()\n"
     "    local code, started\n"
     "    spawn(function()\n"
     "      started = now()\n"
     "      local ok, msg\n"
     "      ok, msg, code = db:query(\"select pg_sleep(10)\")\n"
     "    end)\n"
     "    spawn(function()\n"
     "      local ticker = edb.connect()\n"
     "      ticker:query(\"select pg_sleep(0.2)\")\n"
     "      assert(db:cancel() == true)\n"
     "      ticker:close()\n"
     "    end)\n"
     "    run()\n"
     "    assert(code == \"57014\", tostring(code))\n"
     "    assert(now() - started < 5)\n"
     "    assert(db:query(\"select 3 as n\")[1].n == 3)\n"
     "    db:close()\n"
     "\n"},
    {"closing a connection while its task waits",
     "    local db = edb.connect()\n"
     "    local err\n"
     "    spawn(function()\n"
     "      local ok, e = pcall(db.query, db, \"select pg_sleep(0.5)\")\n"
     "      err = e\n"
     "    end)\n"
     "    spawn(function()\n"
     "      local other = edb.connect()\n"
     "      other:query(\"select pg_sleep(0.1)\")\n"
     "      db:close()\n"
     "      other:close()\n"
     "    end)\n"
     "    run()\n"
     "    assert(tostring(err):find(\"closed\"), tostring(err))\n"
     "\n"},
    {"outside a task nothing yields; db:wait blocks with poll",
     "    local before = yields()\n"
     "    local db, other = edb.connect(), edb.connect()\n"
     "    assert(db:query(\"select 1 as n\")[1].n == 1)\n"
     "    local n = 0\n"
     "    db:listen(\"enigma_plain\", function() n = n + 1 end)\n"
     "    assert(db:wait(0.1) == 0)\n"
     "    other:exec(\"select pg_notify($1, $2)\", \"enigma_plain\", \"x\")\n"
     "    assert(db:wait(5) == 1 and n == 1)\n"
     "    assert(yields() == before)\n"
     "    db:close() other:close()\n"
     "\n"},
};

int main(void)
{
    lua_State *L = luaL_newstate();
    char admin[4096];
    enigma_error err;
    size_t i;

    loop.waiter.wait_fd = loop_wait_fd;
    luaL_openlibs(L);
    luaL_requiref(L, "enigma", luaopen_enigma, 0);
    lua_getfield(L, -1, "db");
    lua_setglobal(L, "edb");
    lua_pop(L, 1);
    /* The cases make temporary tables: edb.connect() logs in as the superuser. */
    if (enigma_db_default_conninfo(admin, sizeof admin, ENIGMA_DB_ADMIN, &err) < 0) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    lua_pushstring(L, admin);
    lua_setglobal(L, "ADMIN_URL");
    if (luaL_dostring(
            L,
            "local connect = edb.connect\n"
            "edb = setmetatable({ connect = function(url) return connect(url or ADMIN_URL) end },\n"
            "                   { __index = edb })") != LUA_OK)
        return 1;
    lua_register(L, "spawn", l_spawn);
    lua_register(L, "run", l_run);
    lua_register(L, "now", l_now);
    lua_register(L, "yields", l_yields);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int ok = luaL_dostring(L, cases[i].code) == LUA_OK;

        if (!ok)
            fprintf(stderr, "%s: %s\n", cases[i].name, lua_tostring(L, -1));
        lua_settop(L, 0);
        loop.ntasks = 0;
        CHECK(ok);
    }
    lua_close(L);
    return test_report();
}
