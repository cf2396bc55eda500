-- The shipped jobs (scripts/jobs) on the demo data, and `make run`'s serve stopping on Ctrl-C
-- (needs: cluster).
local shell = require "shell"
local enigma = require "enigma"

local BIN = assert(os.getenv("ENIGMA_BIN"))

local SHIPPED = { "archive_deposits", "leaderboard", "partitions", "pool_stats",
                  "pool_stats_history", "prune_job_runs" }

describe("scripts/jobs", function()
  local db
  setup(function() db = assert(enigma.db.connect()) end)
  teardown(function() db:close() end)

  it("all load, with the schedules the seed asks for", function()
    local code, out, err = shell.run(BIN .. " jobs list")
    assert.are.equal(0, code, err)
    local want = {
      pool_stats = "every 30s", archive_deposits = "0 2 * * 0 (UTC)", leaderboard = "*/5 * * * *",
      partitions = "@daily", pool_stats_history = "0 * * * *", prune_job_runs = "0 3 * * *",
    }
    for name, schedule in pairs(want) do
      local line = out:match("\n(" .. name .. " [^\n]*)")
      assert.truthy(line, name .. " is listed")
      assert.truthy(line:find(schedule, 1, true), line)
    end
  end)

  for _, name in ipairs(SHIPPED) do
    it(name .. " runs on the demo data and is recorded", function()
      local code, out, err = shell.run(BIN .. " jobs run " .. name)
      assert.are.equal(0, code, out .. err)
      local row = assert(db:query([[select status, trigger, finished_at >= started_at ok from job_runs
                                     where job = $1 order by id desc limit 1]], name))[1]
      assert.are.same({ "succeeded", "manual", true }, { row.status, row.trigger, row.ok })
    end)
  end

  it("pool_stats really recomputes the statistics", function()
    assert(db:exec("update pool_statistics set total_deposits = -1 where pool_type = 'main'"))
    local code, _, err = shell.run(BIN .. " jobs run pool_stats")
    assert.are.equal(0, code, err)
    assert.are.equal(0, db:query("select count(*) n from pool_statistics where pool_type = 'main' and total_deposits = -1")[1].n)
  end)

  it("serve starts on them and stops cleanly on SIGINT (Ctrl-C in make run)", function()
    local log = os.tmpname()
    local p = assert(io.popen(("unset LD_PRELOAD; %s serve --no-agents > %s 2>&1 & pid=$!; sleep 1.5; kill -INT $pid; wait $pid; echo $?")
                              :format(BIN, log)))
    local code = p:read("a")
    p:close()
    local f = assert(io.open(log))
    local text = f:read("a")
    f:close()
    os.remove(log)
    assert.are.equal("0", code:match("%d+"), text)
    assert.truthy(text:find("6 job(s) from " .. os.getenv("ENIGMA_SOURCE_DIR") .. "/scripts/jobs", 1, true), text)
    assert.truthy(text:find("SIGINT: stopping", 1, true), text)
  end)
end)

describe("a job file is validated field by field", function()
  local jobs = require "enigma.serve.jobs"
  local function load_job(fields)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(("return { schedule = '* * * * *', run = function() end, %s }"):format(fields))
    f:close()
    local job, err = jobs.load(path, "j")
    os.remove(path)
    return job, err
  end
  for _, case in ipairs({
    { "timeout = 0/0", "field 'timeout'" }, { "timeout = math.huge", "field 'timeout'" },
    { "timeout = -1", "field 'timeout'" }, { "timeout = 0", "field 'timeout'" },
    { "retries = 0/0", "field 'retries'" }, { "retries = 1.5", "field 'retries'" },
    { "retries = math.maxinteger", "field 'retries'" }, { "retries = -1", "field 'retries'" },
    { "backoff = 0/0", "field 'backoff'" }, { "backoff = -math.huge", "field 'backoff'" },
    { "backoff = 1e308", "field 'backoff'" }, { "overlap = 'sometimes'", "overlap must be" },
    { "cpu = 1", "unknown field 'cpu'" }, { "timeout = '5'", "field 'timeout' must be a number" },
  }) do
    it("refuses " .. case[1], function()
      local job, err = load_job(case[1])
      assert.is_nil(job)
      assert.truthy(err:find(case[2], 1, true), err)
    end)
  end
  it("accepts the edges of every range", function()
    assert(load_job("timeout = 604800, retries = 1000, backoff = 86400"))
    assert(load_job("timeout = 0.001, retries = 0, backoff = 0"))
  end)
end)
