-- Several runners on one database: exactly once, a runner killed with SIGKILL, a database
-- restart under a running serve, and events (LISTEN) with catch-up after a reconnection.
-- A private cluster (spec/support/serve.lua): restarting it disturbs no other test.
local serve = require "serve"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local db

local job = serve.job

local function rows(sql, ...) return assert(db:query(sql, ...)) end
local function count(sql, ...) return rows(sql, ...)[1].n end

local function reconnect()
  serve.wait_until("the database", 20, function()
    if db then pcall(db.close, db) end
    db = require("enigma").db.connect(serve.url)
    return db ~= nil
  end)
end

setup(function()
  db = serve.cluster("multi")
  assert(db:exec([[create table seen (job text, occurrence text, runner text, note text,
                                      at float8, id bigserial)]]))
end)

teardown(function()
  if db then db:close() end
  serve.stop_cluster()
end)

after_each(function() serve.cleanup() end)

before_each(function()
  assert(db:exec("truncate seen"))
  assert(db:exec("truncate job_runs"))
end)

describe("several runners", function()
  it("run each occurrence exactly once", function()
    local files = {}
    for i = 1, 8 do
      files["j" .. i] = job([[schedule = "* * * * * *"]],
                            [[ctx.db:query("select pg_sleep(0.05)"); record(ctx, "ran")]])
    end
    local dir = serve.jobdir(files)
    local a = serve.start(dir, "A", "--quiet")
    local b = serve.start(dir, "B", "--quiet")
    serve.sleep(4)
    assert.are.equal(0, serve.stop(a))
    assert.are.equal(0, serve.stop(b))
    local n = count("select count(*) n from seen")
    assert.is_true(n >= 8 * 3, n .. " runs")
    -- the body ran once per occurrence, and each occurrence has one successful attempt
    assert.are.equal(0, count([[select count(*) n from (select job, occurrence from seen
                                 group by 1, 2 having count(*) > 1) d]]))
    assert.are.equal(n, count("select count(*) n from job_runs where status = 'succeeded'"))
    assert.are.equal(0, count("select count(*) n from job_runs where attempt > 1"))
    -- every occurrence between the two starts and the first stop ran
    local span = rows([[select min(occurrence) lo, max(occurrence) hi from seen]])[1]
    assert.are.equal(0, count([[select count(*) n from generate_series($1::timestamptz, $2::timestamptz,
                                  interval '1 second') t, generate_series(1, 8) i
                                 where not exists (select 1 from seen where job = 'j' || i and
                                   occurrence = to_char(t at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))]],
                              span.lo, span.hi))
  end)

  it("take over the run of a runner killed with SIGKILL once its lease expires", function()
    local dir = serve.jobdir({
      long = job([[listen = "go", retries = 0]],
                 [[record(ctx, "start " .. ctx.attempt); require("enigma").sched.sleep(2); record(ctx, "end " .. ctx.attempt)]]),
    })
    local a = serve.start(dir, "A", "--lease 1.5")
    serve.sleep(0.3)
    assert(db:exec("select pg_notify('go', 'once')"))
    serve.wait_until("A to start the run", 5, function()
      return count("select count(*) n from seen where note = 'start 1' and runner = 'A'") == 1
    end)
    local b = serve.start(dir, "B", "--lease 1.5")
    serve.signal(a, "KILL")
    serve.wait_until("B to finish the run", 10, function()
      return count("select count(*) n from seen where note = 'end 2' and runner = 'B'") == 1
    end)
    assert.are.equal(0, serve.stop(b))
    local runs = rows("select attempt, status, runner_id, error from job_runs where job = 'long' order by attempt")
    assert.are.equal(2, #runs)
    assert.are.same({ 1, "lost", "A" }, { runs[1].attempt, runs[1].status, runs[1].runner_id })
    assert.truthy(runs[1].error:find("stopped renewing its lease", 1, true))
    assert.are.same({ 2, "succeeded", "B" }, { runs[2].attempt, runs[2].status, runs[2].runner_id })
    assert.are.equal(0, count("select count(*) n from seen where note like 'end 1'"))
    assert.truthy(serve.read(b.log):find("took over", 1, true))
  end)
end)

describe("a database restart under serve", function()
  it("is survived: the runner reconnects, and nothing is lost or doubled", function()
    local dir = serve.jobdir({ tick = job([[schedule = "* * * * * *", retries = 3, backoff = 0.5]],
                                          [[record(ctx, ctx.trigger)]]) })
    local r = serve.start(dir, "R", "--lease 5")
    serve.wait_until("a tick", 5, function() return count("select count(*) n from seen") > 0 end)
    db:close()
    db = nil
    serve.stop_cluster()
    serve.sleep(2.5)
    serve.start_cluster()
    reconnect()
    local restarted = os.time()
    serve.wait_until("ticks after the restart", 15, function()
      return count("select count(*) n from seen where at > $1", restarted + 1) >= 2
    end)
    assert.are.equal(0, serve.stop(r))
    local log = serve.read(r.log)
    assert.truthy(log:find("lost the database connection", 1, true) or log:find("database unavailable", 1, true), log)
    assert.truthy(log:find("reconnected to the database", 1, true), log)
    -- nothing doubled: one body run per occurrence, one successful attempt per occurrence
    assert.are.equal(0, count([[select count(*) n from (select occurrence from seen group by 1 having count(*) > 1) d]]))
    assert.are.equal(0, count([[select count(*) n from (select occurrence from job_runs where status = 'succeeded'
                                 group by 1 having count(*) > 1) d]]))
    -- nothing lost: every run that began is finished (the in-flight one retried), and the
    -- seconds the database was down were caught up once
    assert.are.equal(0, count("select count(*) n from job_runs where status in ('running', 'retry')"))
    assert.are.equal(count("select count(*) n from seen"),
                     count("select count(*) n from job_runs where status = 'succeeded'"))
    assert.is_true(count("select count(*) n from job_runs where trigger = 'catchup'") >= 1)
  end)
end)

describe("a cluster stopped under serve", function()
  it("stays stopped: serve waits for the database, and never starts it", function()
    local dir = serve.jobdir({ tick = job([[schedule = "* * * * * *"]], [[record(ctx, ctx.trigger)]]) })
    local r = serve.start(dir, "S", "--lease 5", true)
    serve.wait_until("a tick", 5, function() return count("select count(*) n from seen") > 0 end)
    db:close()
    db = nil
    serve.stop_cluster()
    serve.sleep(3)                                       -- several reconnection attempts
    local _, out = serve.run_cmd(BIN .. " db status")
    assert.truthy(out:find("^stopped"), out)
    assert.truthy(serve.read(r.log):find("waiting for the database", 1, true), serve.read(r.log))
    serve.start_cluster()
    reconnect()
    serve.wait_until("the runner back", 15, function()
      return serve.read(r.log):find("reconnected to the database", 1, true) ~= nil
    end)
    assert.are.equal(0, serve.stop(r))
  end)
end)

describe("events", function()
  it("run a listen job per notification, with the payload, and replay what changed while away", function()
    local dir = serve.jobdir({
      on_tx = job([[listen = "transactions"]],
                  [[record(ctx, ctx.event.data.id .. (ctx.event.replayed and " replayed" or ""))]]),
    })
    local r = serve.start(dir, "E")
    serve.sleep(0.5)
    local wallet = "0x" .. ("ab"):rep(20)
    local insert = [[insert into transactions (user_wallet, tx_type, category, amount, token_symbol, status)
                     values ($1, 'token_transfer', 'transfer', 1, 'ETH', 'pending') returning id]]
    local id1 = rows(insert, wallet)[1].id
    serve.wait_until("the event job", 5, function() return count("select count(*) n from seen where note = $1", id1) == 1 end)
    -- the listener loses its connection and cannot come back for a while; a transaction lands meanwhile
    -- (from another database: PostgreSQL will not do it for the current one)
    local admin <close> = assert(require("enigma").db.connect((serve.url:gsub("^postgresql:///enigma%?", "postgresql:///postgres?"))))
    assert(admin:exec("alter database enigma allow_connections false"))
    local killed = count([[select count(pg_terminate_backend(pid)) n from pg_stat_activity
                            where query ilike 'listen%' and pid <> pg_backend_pid()]])
    assert.are.equal(1, killed)
    local id2 = rows(insert, wallet)[1].id
    serve.sleep(1)
    assert(admin:exec("alter database enigma allow_connections true"))
    serve.wait_until("the replayed event", 10, function()
      return count("select count(*) n from seen where note = $1", id2 .. " replayed") == 1
    end)
    assert.are.equal(0, serve.stop(r))
    assert.are.equal(1, count("select count(*) n from seen where note like $1", id1 .. "%"))
    local payloads = rows("select occurrence from job_runs where job = 'on_tx'")
    for _, p in ipairs(payloads) do assert.truthy(p.occurrence:match("^event:transactions:%x+$")) end
  end)
end)
