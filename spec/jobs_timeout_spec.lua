-- Issue 14: a job's timeout holds whatever the job does (coroutines, pcall, C calls), closes its
-- to-be-closed variables at once, and transactional jobs commit their work with their record.
local serve = require "serve"
local enigma = require "enigma"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local db
local job = serve.job

local function rows(sql, ...) return assert(db:query(sql, ...)) end
local function count(sql, ...) return rows(sql, ...)[1].n end

setup(function()
  db = serve.cluster("timeout")
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

-- `enigma jobs run NAME`: exit code, stdout, stderr and the seconds it took
local function run_job(dir, name)
  local t0 = enigma.monotime()
  local code, out, err = serve.run_cmd(BIN .. " jobs run " .. name .. " --jobs " .. dir)
  return code, out, err, enigma.monotime() - t0
end

describe("a job's timeout", function()
  local cases = {
    wrap = [[coroutine.wrap(function() while true do end end)()]],
    pcall_retry = [[while true do pcall(function() while true do end end) end]],
    catches_and_goes_on = [[
      while true do
        local co = coroutine.create(function() while true do end end)
        local ok = pcall(coroutine.resume, co)
        pcall(function() for _ = 1, 1e7 do end end)
        coroutine.wrap(function() while true do pcall(error, "again") end end)()
      end]],
    blocked_query = [[coroutine.wrap(function() ctx.db:query("select pg_sleep(30)") end)()]],
    blocked_c = [[os.execute("sleep 2")]],
    sort_comparator = [[while true do pcall(table.sort, { 3, 1, 2, 5, 4 }, function() while true do end end) end]],
  }
  for name, body in pairs(cases) do
    it("stops a job that " .. name:gsub("_", " ") .. ", recorded timeout; jobs run exits non-zero promptly", function()
      local dir = serve.jobdir({ [name] = job([[schedule = "0 0 1 1 *", timeout = 0.5]], body) })
      local code, out, err, took = run_job(dir, name)
      assert.are.equal(1, code, out .. err)
      assert.truthy(err:find("job " .. name .. " timeout", 1, true), err)
      assert.is_true(took < (name == "blocked_c" and 4 or 3), name .. " took " .. took)
      local r = rows("select status, error from job_runs where job = $1", name)
      assert.are.equal(1, #r)
      assert.are.equal("timeout", r[1].status)
      assert.truthy(r[1].error:find("timed out after 0.5s", 1, true))
      -- no query of it is left running on the server
      assert.are.equal(0, count([[select count(*) n from pg_stat_activity
                                   where query like '%pg_sleep(30)%' and pid <> pg_backend_pid()]]))
    end)
  end

  it("under serve: closes a timed-out job's <close> variables at once, spinning or waiting", function()
    local marks = os.tmpname()
    os.remove(marks)
    local function closing(mark, body)
      return job([[schedule = "* * * * * *", timeout = 0.3]], ([[
        local c <close> = setmetatable({}, { __close = function()
          local f = assert(io.open(%q, "a")); f:write(%q, "\n"); f:close()
        end })
        %s]]):format(marks, mark, body))
    end
    local dir = serve.jobdir({
      spins = closing("spins", "while true do pcall(function() while true do end end) end"),
      waits = closing("waits", "enigma.sched.sleep(30)"),
      queries = closing("queries", [[ctx.db:query("select pg_sleep(30)")]]),
    })
    local r = serve.start(dir, "closing")
    local text = serve.wait_until("the three <close> handlers", 5, function()
      local t = serve.read(marks)
      return t:find("spins") and t:find("waits") and t:find("queries") and t
    end)
    assert.truthy(text)
    -- the runner lives on, and each was recorded a timeout, not anything else
    serve.wait_until("timeouts recorded", 5, function()
      return count("select count(distinct job) n from job_runs where status = 'timeout'") == 3
    end)
    assert.are.equal(0, count("select count(*) n from job_runs where status in ('succeeded', 'failed')"))
    assert.are.equal(0, serve.stop(r))
    os.remove(marks)
  end)
end)

describe("a transactional job", function()
  it("commits its work with its succeeded record, and rolls it back on failure or timeout", function()
    local dir = serve.jobdir({
      good = job([[schedule = "0 0 1 1 *", transactional = true]], [[record(ctx, "good")]]),
      bad = job([[schedule = "0 0 1 1 *", transactional = true]], [[record(ctx, "bad"); error("no")]]),
      slow = job([[schedule = "0 0 1 1 *", transactional = true, timeout = 0.3]],
                 [[record(ctx, "slow"); while true do end]]),
      late = job([[schedule = "0 0 1 1 *", transactional = true, timeout = 0.3]],
                 [[record(ctx, "late"); os.execute("sleep 0.5")]]),
      commits = job([[schedule = "0 0 1 1 *", transactional = true]],
                    [[record(ctx, "commits"); ctx.db:exec("commit")]]),
      nested = job([[schedule = "0 0 1 1 *", transactional = true]], [[
        record(ctx, "outer")
        pcall(ctx.db.transaction, ctx.db, function() record(ctx, "inner"); error("inner fails") end)]]),
    })
    assert.are.equal(0, (run_job(dir, "good")))
    assert.are.equal(1, count("select count(*) n from seen where note = 'good'"))
    assert.are.equal("succeeded", rows("select status from job_runs where job = 'good'")[1].status)
    for _, name in ipairs({ "bad", "slow", "late" }) do
      assert.are.equal(1, (run_job(dir, name)))
      assert.are.equal(0, count("select count(*) n from seen where note = $1", name))
    end
    assert.are.equal("failed", rows("select status from job_runs where job = 'bad'")[1].status)
    assert.are.equal("timeout", rows("select status from job_runs where job = 'slow'")[1].status)
    assert.are.equal("timeout", rows("select status from job_runs where job = 'late'")[1].status)
    local code, _, err = run_job(dir, "commits")
    assert.are.equal(1, code)
    assert.truthy(err:find("ended its own transaction", 1, true), err)
    assert.are.equal(0, (run_job(dir, "nested")))
    assert.are.equal(1, count("select count(*) n from seen where note = 'outer'"))
    assert.are.equal(0, count("select count(*) n from seen where note = 'inner'"))
  end)
end)
