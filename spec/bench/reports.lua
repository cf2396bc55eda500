--- The report_latency section of make bench (spec/bench/run.lua): each report in
--- scripts/reports on generated data, its median time, and the plan of its slowest statement.
local enigma = require "enigma"
local report = require "enigma.report"

local M = {}

M.REPORTS = { "daily_metrics", "agent_trends", "pool_analytics", "privacy_dashboard", "db_health" }

-- A stand-in for a connection that times every query it passes on (as_user included, with
-- its claims, so the plan can be taken as the same user).
local function recorder(real, log, claims)
  local proxy = {}
  function proxy.query(_, sql, ...)
    local t0 = enigma.monotime()
    local rows, msg, code = real:query(sql, ...)
    log[#log + 1] = { sql = sql, args = table.pack(...), ms = (enigma.monotime() - t0) * 1000, claims = claims }
    return rows, msg, code
  end
  function proxy.exec(_, ...) return real:exec(...) end
  function proxy.as_user(_, c, fn)
    return real:as_user(c, function(tx) return fn(recorder(tx, log, c)) end)
  end
  return proxy
end

--- Runs each report `rounds` times on db with `options[name]`; returns
--- { name, median_ms, slowest = { sql, ms, plan } } per report.
function M.measure(db, options, rounds)
  local results = {}
  for _, name in ipairs(M.REPORTS) do
    local spec = report.load(name)
    local times, slowest = {}, nil
    for i = 1, rounds do
      local log = {}
      local t0 = enigma.monotime()
      assert(report.run_spec(spec, options[name] or {}, recorder(db, log)))
      times[i] = (enigma.monotime() - t0) * 1000
      for _, q in ipairs(log) do
        if i > 1 and (not slowest or q.ms > slowest.ms) then slowest = q end
      end
    end
    table.sort(times)
    local plan
    if slowest then
      local explain = "explain (analyze, costs off) " .. slowest.sql
      local function run(conn)
        return assert(conn:query(explain, table.unpack(slowest.args, 1, slowest.args.n)))
      end
      local rows = slowest.claims and db:as_user(slowest.claims, run) or run(db)
      plan = {}
      for _, r in ipairs(rows) do plan[#plan + 1] = r["QUERY PLAN"] end
    end
    results[#results + 1] = { name = name, median = times[(#times + 1) // 2], slowest = slowest, plan = plan }
  end
  return results
end

return M
