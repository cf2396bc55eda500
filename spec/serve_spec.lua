-- enigma serve and enigma jobs on one runner: schedules, run history, failures, timeouts,
-- hot reload, catch-up and graceful stop. A private cluster (spec/support/serve.lua).
local serve = require "serve"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local db

local job = serve.job

local function rows(sql, ...) return assert(db:query(sql, ...)) end

local function count(sql, ...) return rows(sql, ...)[1].n end

setup(function()
  db = serve.cluster("one")
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

describe("enigma serve", function()
  it("runs jobs on their schedules, once per occurrence, and records every run", function()
    local dir = serve.jobdir({ tick = job([[schedule = "* * * * * *"]], [[record(ctx, "tick")]]) })
    local r = serve.start(dir, "solo")
    serve.wait_until("three ticks", 10, function() return count("select count(*) n from seen") >= 3 end)
    assert.are.equal(0, serve.stop(r))
    local runs = rows([[select occurrence, status, attempt, trigger, runner_id, version,
                               extract(epoch from started_at - scheduled_for)::float8 as late,
                               finished_at >= started_at as ordered
                          from job_runs where job = 'tick' and status <> 'claimed' order by occurrence]])
    assert.is_true(#runs >= 3)
    for _, run in ipairs(runs) do
      assert.are.equal("succeeded", run.status)
      assert.are.equal(1, run.attempt)
      assert.are.equal("solo", run.runner_id)
      assert.is_true(run.late >= 0 and run.late < 0.5, "late by " .. run.late)
      assert.is_true(run.ordered)
      assert.are.equal(12, #run.version)
      assert.truthy(run.occurrence:match("^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$"))
    end
    -- the body ran exactly once per recorded run
    assert.are.equal(0, count([[select count(*) n from (select occurrence from seen
                                 group by occurrence having count(*) > 1) d]]))
    assert.are.equal(#runs, count("select count(*) n from seen"))
    -- one log line per run
    local log = serve.read(r.log)
    local _, lines = log:gsub("job tick succeeded in", "")
    assert.are.equal(#runs, lines)
  end)

  it("records a job that raises, times out or runs out of retries, and the others go on", function()
    local dir = serve.jobdir({
      boom = job([[schedule = "*/2 * * * * *", retries = 1, backoff = 0.2]],
                 [[record(ctx, "attempt " .. ctx.attempt); error("boom on attempt " .. ctx.attempt)]]),
      stuck = job([[schedule = "*/3 * * * * *", timeout = 0.5]], [[ctx.db:query("select pg_sleep(5)")]]),
      spin = job([[schedule = "*/3 * * * * *", timeout = 0.3]], [[while true do end]]),
      tick = job([[schedule = "* * * * * *"]], [[record(ctx, "tick")]]),
    })
    local r = serve.start(dir, "errors")
    serve.wait_until("a boom retry and two timeouts", 15, function()
      return count("select count(*) n from job_runs where job = 'boom' and attempt = 2 and status = 'failed'") >= 1
        and count("select count(*) n from job_runs where status = 'timeout'") >= 2
        and count("select count(*) n from job_runs where job = 'tick' and status = 'succeeded'") >= 3
    end)
    assert.are.equal(0, serve.stop(r))
    local boom = rows([[select occurrence, attempt, status, error, retry_at from job_runs
                         where job = 'boom' and status not in ('claimed', 'running', 'retry', 'interrupted')
                         order by occurrence, attempt]])
    assert.are.equal("failed", boom[1].status)
    assert.truthy(boom[1].error:find("boom on attempt", 1, true))
    assert.truthy(boom[1].error:find("stack traceback", 1, true))
    local attempts = rows([[select occurrence, max(attempt) a, count(*) n from job_runs where job = 'boom'
                             and status = 'failed' group by occurrence having max(attempt) = 2]])
    assert.is_true(#attempts >= 1)
    for _, t in ipairs({ "stuck", "spin" }) do
      local row = rows("select status, error from job_runs where job = $1 and status = 'timeout' limit 1", t)[1]
      assert.truthy(row, t .. " timed out")
      assert.truthy(row.error:find("timed out after", 1, true))
    end
    -- the tick kept its schedule while the others failed (a job spinning in Lua holds the one
    -- thread until its deadline stops it: 0.3 s here)
    local ticks = rows([[select count(*) n, max(extract(epoch from started_at - scheduled_for))::float8 late
                           from job_runs where job = 'tick' and status = 'succeeded']])[1]
    assert.is_true(ticks.n >= 3)
    assert.is_true(ticks.late < 1.0, "tick late by " .. ticks.late)
  end)

  it("does not delay a job due every second behind a job stuck in a 10-second query", function()
    local dir = serve.jobdir({
      slow = job([[listen = "slow", timeout = 20]],
                 [[record(ctx, "slow start"); ctx.db:query("select pg_sleep(10)"); record(ctx, "slow end")]]),
      tick = job([[schedule = "* * * * * *"]], [[record(ctx, "tick")]]),
    })
    local r = serve.start(dir, "slowq")
    serve.sleep(0.3)
    assert(db:exec("select pg_notify('slow', 'go')"))
    serve.wait_until("the slow query to start", 10, function()
      return count("select count(*) n from seen where note = 'slow start'") == 1
    end)
    local since = rows("select max(at) t from seen where note = 'slow start'")[1].t
    serve.sleep(3.5)
    local ticks = rows([[select count(*) n from seen where note = 'tick' and at > $1]], since)[1].n
    assert.is_true(ticks >= 3, ticks .. " ticks during the slow query")
    local late = rows([[select max(extract(epoch from started_at - scheduled_for))::float8 late from job_runs
                         where job = 'tick' and status = 'succeeded']])[1].late
    assert.is_true(late < 0.25, "late by " .. late)
    assert.are.equal(0, serve.stop(r))
  end)

  it("lists jobs with schedule, next run and last status, and runs one now", function()
    local dir = serve.jobdir({
      hourly = job([[schedule = "0 * * * *", tz = "America/New_York"]], [[record(ctx, "manual")]]),
      broken = job([[schedule = "0 * * * *"]], [[error("nope")]]),
      invalid = "return { schedule = 'sixty * * * *', run = function() end }",
    })
    local code, out, err = serve.run_cmd(BIN .. " jobs run hourly --jobs " .. dir)
    assert.are.equal(0, code, err)
    assert.truthy(out:find("job hourly succeeded", 1, true))
    assert.are.equal(1, count("select count(*) n from seen where note = 'manual'"))
    assert.are.equal(1, count("select count(*) n from job_runs where job = 'hourly' and trigger = 'manual' and status = 'succeeded'"))
    code, out, err = serve.run_cmd(BIN .. " jobs run broken --jobs " .. dir)
    assert.are.equal(1, code)
    assert.truthy(out:find("job broken failed in", 1, true), out)   -- the run's log line
    assert.truthy(err:find("job broken failed", 1, true))
    code, out, err = serve.run_cmd(BIN .. " jobs run nosuch --jobs " .. dir)
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.truthy(err:find("nosuch.lua", 1, true))
    code, out = serve.run_cmd(BIN .. " jobs list --jobs " .. dir)
    assert.are.equal(1, code)              -- one job file is invalid
    assert.truthy(out:match("hourly%s+0 %* %* %* %* %(America/New_York%)%s+%d%d%d%d%-%d%d%-%d%dT%d%d:00:00Z%s+%S+%s+succeeded"))
    assert.truthy(out:match("broken%s.-failed"))
    assert.truthy(out:match("invalid%s+INVALID: .-minute: 'sixty'"))
  end)

  it("reloads an added, edited or deleted job within a second, and keeps the old version on a bad edit", function()
    local dir = serve.jobdir({ tick = job([[schedule = "* * * * * *"]], [[record(ctx, "v1")]]) })
    local r = serve.start(dir, "reload")
    serve.wait_until("v1", 5, function() return count("select count(*) n from seen where note = 'v1'") > 0 end)

    serve.write(dir, "tick", job([[schedule = "* * * * * *"]], [[record(ctx, "v2")]]))
    local t = os.time()
    serve.wait_until("v2", 2.5, function() return count("select count(*) n from seen where note = 'v2'") > 0 end)

    serve.write(dir, "tick", "return { schedule = '* * * * * *', run = function(ctx) end, oops = 1 +")
    serve.write(dir, "other", job([[schedule = "* * * * * *"]], [[record(ctx, "other")]]))
    serve.wait_until("the new job", 2.5, function() return count("select count(*) n from seen where note = 'other'") > 0 end)
    local before = count("select count(*) n from seen where note = 'v2'")
    serve.wait_until("v2 to keep running", 3, function()
      return count("select count(*) n from seen where note = 'v2'") > before
    end)
    local log = serve.read(r.log)
    assert.truthy(log:find("job tick: " .. dir .. "/tick.lua:1:", 1, true), log)
    assert.truthy(log:find("the previous version keeps running", 1, true))

    os.remove(dir .. "/other.lua")
    serve.sleep(1.2)
    local n = count("select count(*) n from seen where note = 'other'")
    serve.sleep(1.5)
    assert.are.equal(n, count("select count(*) n from seen where note = 'other'"))
    assert.are.equal(0, serve.stop(r))
    assert.is_true(os.time() - t < 20)
  end)

  it("finishes a run in flight on the version it started with", function()
    local dir = serve.jobdir({
      long = job([[listen = "go", overlap = "allow"]],
                 [[record(ctx, "v1 start"); require("enigma").sched.sleep(1.5); record(ctx, "v1 end")]]),
    })
    local r = serve.start(dir, "inflight")
    serve.sleep(0.3)
    assert(db:exec("select pg_notify('go', '1')"))
    serve.wait_until("the v1 run to start", 3, function()
      return count("select count(*) n from seen where note = 'v1 start'") > 0
    end)
    serve.write(dir, "long", job([[listen = "go", overlap = "allow"]], [[record(ctx, "v2")]]))
    serve.sleep(0.3)
    assert(db:exec("select pg_notify('go', '2')"))
    serve.wait_until("v2", 3, function() return count("select count(*) n from seen where note = 'v2'") > 0 end)
    serve.wait_until("the v1 run to end", 3, function()
      return count("select count(*) n from seen where note = 'v1 end'") > 0
    end)
    assert.are.equal(1, count("select count(*) n from seen where note = 'v1 end'"))
    -- the runner records a run's end in its next batch, a moment after the job's own last write
    serve.wait_until("both runs recorded", 3, function()
      return #rows("select 1 from job_runs where job = 'long' and status = 'succeeded'") == 2
    end)
    local versions = rows("select distinct version from job_runs where job = 'long' and status = 'succeeded'")
    assert.are.equal(2, #versions)
    assert.are.equal(0, serve.stop(r))
  end)

  it("stops on SIGTERM: running jobs get the grace period, the rest are recorded as interrupted, exit 0", function()
    local dir = serve.jobdir({
      short = job([[schedule = "every 1h", listen = "go"]], [[require("enigma").sched.sleep(0.5); record(ctx, "short done")]]),
      long = job([[schedule = "every 1h", listen = "go"]], [[ctx.db:query("select pg_sleep(30)")]]),
    })
    local r = serve.start(dir, "stopper", "--grace 1.5")
    serve.sleep(0.3)
    assert(db:exec("select pg_notify('go', 'now')"))
    serve.wait_until("both to run", 5, function()
      return count("select count(*) n from job_runs where status = 'running'") == 2
    end)
    local t0 = os.time()
    assert.are.equal(0, serve.stop(r))
    assert.is_true(os.time() - t0 <= 5)
    assert.are.equal("succeeded", rows("select status from job_runs where job = 'short'")[1].status)
    local long = rows("select status, error from job_runs where job = 'long'")[1]
    assert.are.equal("interrupted", long.status)
    assert.truthy(long.error:find("SIGTERM", 1, true))
    assert.truthy(serve.read(r.log):find("SIGTERM: stopping", 1, true))
    -- and nothing is left claimed or running by it
    assert.are.equal(0, count("select count(*) n from job_runs where status in ('running')"))
  end)

  it("runs occurrences missed while no runner was up once, not as a flood", function()
    local dir = serve.jobdir({ tick = job([[schedule = "* * * * * *"]], [[record(ctx, ctx.trigger)]]) })
    local r = serve.start(dir, "first")
    serve.wait_until("a run", 5, function() return count("select count(*) n from seen") > 0 end)
    assert.are.equal(0, serve.stop(r))
    serve.sleep(3.2)
    local last = rows("select max(occurrence) o from job_runs where job = 'tick' and trigger = 'schedule'")[1].o
    r = serve.start(dir, "second")
    serve.wait_until("the catch-up", 5, function() return count("select count(*) n from seen where note = 'catchup'") > 0 end)
    serve.sleep(1.2)
    assert.are.equal(0, serve.stop(r))
    local catchup = rows("select occurrence from job_runs where job = 'tick' and trigger = 'catchup'")
    assert.are.equal(1, #catchup)
    assert.is_true(catchup[1].occurrence > last)
    -- only the latest missed second ran: nothing between the last run and the catch-up
    assert.are.equal(0, count([[select count(*) n from job_runs where job = 'tick' and occurrence > $1
                                and occurrence < $2]], last, catchup[1].occurrence))
  end)

  it("backs off, and still stops, when every connection fails right after connecting", function()
    -- the schema lacks job_runs (say, not migrated): the catch-up after each connection fails
    assert(db:exec("alter table job_runs rename to job_runs_away"))
    finally(function() assert(db:exec("alter table job_runs_away rename to job_runs")) end)
    local dir = serve.jobdir({ tick = job([[schedule = "* * * * * *"]], [[record(ctx, "ran")]]) })
    local r = serve.start(dir, "unmigrated")
    serve.sleep(3)
    local log = serve.read(r.log)
    local _, tries = log:gsub("error after connecting: [^\n]*job_runs", "")
    assert.is_true(tries >= 1 and tries <= 8, tries .. " tries in 3 s:\n" .. log)
    local t0 = os.time()
    assert.are.equal(0, serve.stop(r))
    assert.is_true(os.time() - t0 <= 8)
    assert.truthy(serve.read(r.log):find("stopping without recording", 1, true), serve.read(r.log))
  end)

  it("records a job whose error holds any bytes, and goes on running the others", function()
    local dir = serve.jobdir({
      bytes = job([[schedule = "* * * * * *", retries = 0]], [[error("bad \255\254 bytes \0 and a NUL", 0)]]),
      fine = job([[schedule = "* * * * * *"]], [[record(ctx, "fine")]]),
    })
    local r = serve.start(dir, "bytes")
    serve.wait_until("two failed runs recorded", 8, function()
      return count("select count(*) n from job_runs where job = 'bytes' and status = 'failed'") >= 2
    end)
    local before = count("select count(*) n from seen where note = 'fine'")
    serve.wait_until("the other job to go on", 5, function()
      return count("select count(*) n from seen where note = 'fine'") > before
    end)
    assert.are.equal(0, serve.stop(r))
    local e = rows("select error from job_runs where job = 'bytes' and status = 'failed' limit 1")[1].error
    assert.are.equal("bad \\xFF\\xFE bytes ", e:sub(1, 19))   -- the traceback handler ends it at the NUL
    assert.is_nil(serve.read(r.log):find("jobs: error", 1, true), serve.read(r.log))
  end)
end)
