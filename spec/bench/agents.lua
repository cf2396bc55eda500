-- The plumbing of make bench's agents_ticks section (spec/bench/run.lua): activations of a bench
-- agent of their own in the bench database, child `enigma serve` processes ticking them with a
-- strategy directory that holds only the bench strategy, and what those children did (ticks
-- recorded by the runner, CPU, RSS). The demo agents of the bench type are put in maintenance
-- while the section runs, so only the bench activations are claimed; guard() takes the children
-- down, restores those agents and deletes the bench rows whatever happens. Directories come from
-- sched.tempdir (BENCH_KEEP=1 keeps them: strategy files and runner logs).
local S = require "spec.bench.sched"

local M = {}

M.TYPE = "strategy_bot"

local children = {}

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  assert(p:close(), "command failed: " .. cmd)
  return (out:gsub("%s+$", ""))
end

--- The bench strategy: counts its ticks in ctx.state, so every tick also writes its state back.
local function strategy(interval)
  return ("return { interval = %g, tick = function(ctx) ctx.state.n = (ctx.state.n or 0) + 1 end }\n")
    :format(interval)
end

-- --- the bench rows ------------------------------------------------------------------------

--- Creates n bench users, one bench agent of type M.TYPE without a user limit and an active
--- activation of it per user, due now; puts the other agents of that type in maintenance. All
--- or nothing (one transaction). Returns the bench: { db, n, agent, parked = agents put in
--- maintenance }.
local function setup(db, n)
  return db:transaction(function(tx)
    local bench = { db = db, n = n, parked = {} }
    bench.agent = tx:query([[
      insert into ai_agents (agent_type, agent_name, description, active, maintenance_mode, max_concurrent_users)
      values ($1, 'bench agent', 'make bench: agents_ticks', true, false, null) returning id]], M.TYPE)[1].id
    for _, r in ipairs(tx:query([[
        update ai_agents set maintenance_mode = true
         where agent_type = $1 and id <> $2 and not maintenance_mode returning id]], M.TYPE, bench.agent)) do
      bench.parked[#bench.parked + 1] = r.id
    end
    tx:exec([[
      with u as (
        insert into users (wallet_address)
        select '0x' || md5($2 || g::text) || lpad(to_hex(g), 8, '0') from generate_series(1, $1) g
        returning id)
      insert into user_agents (user_id, agent_id, status) select id, $3, 'active' from u]],
      n, "enigma-bench-agents:", bench.agent)
    return bench
  end)
end

local function teardown(bench)
  local db = bench.db
  assert(db:exec("delete from transactions where agent_id = $1", bench.agent))
  assert(db:exec("delete from users where id in (select user_id from user_agents where agent_id = $1)",
    bench.agent))
  assert(db:exec("delete from ai_agents where id = $1", bench.agent))
  if #bench.parked > 0 then
    assert(db:exec("update ai_agents set maintenance_mode = false where id = any($1::uuid[])", bench.parked))
  end
end

--- Every bench activation due now, and the bench agent's user limit set to `limit` (nil: none).
local function reset(bench, limit)
  assert(bench.db:exec("update user_agents set next_tick_at = null where agent_id = $1", bench.agent))
  assert(bench.db:exec("update ai_agents set max_concurrent_users = $2 where id = $1", bench.agent, limit))
end

--- Ticks recorded so far for the bench activations, and how many of them failed.
local function executions(bench)
  local r = assert(bench.db:query([[
    select coalesce(sum(total_executions), 0)::int8 as n, coalesce(sum(failed_executions), 0)::int8 as failed
      from user_agents where agent_id = $1]], bench.agent))[1]
  return r.n, r.failed
end

--- Whether every bench activation's ctx.state.n equals its successful ticks recorded.
function M.states_agree(bench)
  return assert(bench.db:query([[
    select count(*) as n from user_agents
     where agent_id = $1 and coalesce((strategy_state->>'n')::int8, 0) <> successful_executions]],
    bench.agent))[1].n == 0
end

--- The bench agent's total of ticks recorded: written in the same transaction as the
--- activations' counters, and one row to read, so it can be polled often.
local function agent_total(bench)
  return assert(bench.db:query("select total_executions from ai_agents where id = $1", bench.agent))[1]
    .total_executions
end

-- --- runners -------------------------------------------------------------------------------

--- Starts `enigma serve` on the bench database (jobs from an empty directory, strategies from
--- bench.agents_dir), logging to log; returns { pid, log }.
local function serve(bench, log, args)
  local cmd = ("ENIGMA_DATABASE_URL=%s %s/enigma serve --jobs %s --agents %s %s >%s 2>&1 </dev/null & echo $!")
    :format(quote(bench.url), bench.build, quote(bench.jobs_dir), quote(bench.agents_dir),
            table.concat(args, " "), quote(log))
  local child = { pid = assert(math.tointeger(tonumber(sh(cmd)))), log = log }
  children[#children + 1] = child
  return child
end

--- Waits until the runner has logged its strategies loaded; returns the time it saw so.
local function wait_up(child, timeout)
  local deadline = S.now() + timeout
  while S.now() < deadline do
    local text = S.read(child.log) or ""
    if text:find("agents: %d+ strateg") then return S.now() end
    assert(S.alive(child), "enigma serve exited early:\n" .. text)
    S.sleep(0.02)
  end
  error("enigma serve did not start its agents within " .. timeout .. " s:\n" .. (S.read(child.log) or ""))
end

--- A field of /proc/<pid>/status in kB (VmRSS, VmHWM).
local function status_kb(child, field)
  local text = assert(S.read(("/proc/%d/status"):format(child.pid)), "the runner is gone")
  return assert(tonumber(text:match(field .. ":%s*(%d+) kB")), "no " .. field)
end

--- The server processes of the other client connections to the bench database: the runner's.
local function backends(bench)
  local list = {}
  for _, r in ipairs(assert(bench.db:query([[
      select pid from pg_stat_activity
       where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend']]))) do
    list[#list + 1] = { pid = r.pid }
  end
  return list
end

--- CPU seconds the processes have used so far (one gone counts as 0).
local function cpu_of(list)
  local sum = 0
  for _, p in ipairs(list) do
    if S.alive(p) then sum = sum + S.cpu_seconds(p) end
  end
  return sum
end

-- --- the measurements ----------------------------------------------------------------------

--- Polls the agent's total every 20 ms for secs seconds: the ticks recorded between the first
--- and the last write seen (the runner writes a batch at a time), the seconds between them, and
--- the CPU seconds the processes in `procs` used meanwhile, each list's summed.
local function window(bench, secs, procs)
  local stop, before = S.now() + secs, agent_total(bench)
  local first, last
  while S.now() < stop do
    S.sleep(0.02)
    local e = agent_total(bench)
    if e ~= before then
      local at = { e = e, t = S.now(), cpu = {} }
      for i, list in ipairs(procs) do at.cpu[i] = cpu_of(list) end
      if first then last = at else first = at end
      before = e
    end
  end
  assert(last, "the runner recorded fewer than two batches of ticks in " .. secs .. " s")
  local cpu = {}
  for i in ipairs(procs) do cpu[i] = last.cpu[i] - first.cpu[i] end
  return last.e - first.e, last.t - first.t, cpu
end

--- Ticks with the strategy due all the time (interval 0.01 s): one runner per entry of `modes`
--- ("sandbox" or "no sandbox"), each warm s of warm-up then about secs measured. Returns, per
--- mode, { ticks, secs, cpu (runner), db (its database backends), rates = { per round } }, the
--- ticks that failed, and whether every runner stopped cleanly.
function M.ticks(bench, modes, warm, secs)
  S.write(bench.strategy, strategy(0.01))
  local out, clean, failed0 = {}, true, select(2, executions(bench))
  for k, mode in ipairs(modes) do
    local m = out[mode] or { ticks = 0, secs = 0, cpu = 0, db = 0, rates = {} }
    out[mode] = m
    local r = serve(bench, ("%s/ticks%d.log"):format(bench.base, k),
      mode == "no sandbox" and { "--quiet", "--no-sandbox" } or { "--quiet" })
    S.sleep_until(wait_up(r, 30) + warm)
    local ticks, t, cpu = window(bench, secs, { { r }, backends(bench) })
    clean = S.stop({ r }) and clean
    m.ticks, m.secs, m.cpu, m.db = m.ticks + ticks, m.secs + t, m.cpu + cpu[1], m.db + cpu[2]
    m.rates[#m.rates + 1] = ticks / t
  end
  return out, select(2, executions(bench)) - failed0, clean
end

--- The runner's memory once `count` activations (the first ones; nil: all) have ticked once
--- with an interval of an hour and it has idled for max(idle, the time that took) + 2 s.
--- Returns { kb = VmRSS, peak = VmHWM, took = seconds to tick them all, extra = ticks beyond
--- one each }, and whether the runner stopped cleanly.
function M.idle_rss(bench, count, idle, k)
  S.write(bench.strategy, strategy(3600))
  reset(bench, count)
  local expect = count or bench.n
  local e0 = agent_total(bench)
  local r = serve(bench, ("%s/rss%d.log"):format(bench.base, k), { "--quiet" })
  local up = wait_up(r, 30)
  local deadline = up + 300
  while agent_total(bench) < e0 + expect do
    assert(S.now() < deadline, "the activations did not all tick within 300 s")
    S.sleep(0.1)
  end
  local took = S.now() - up
  S.sleep(math.max(idle or 0, took) + 2)
  local m = { kb = status_kb(r, "VmRSS"), peak = status_kb(r, "VmHWM"), took = took,
              extra = agent_total(bench) - e0 - expect }
  local clean = S.stop({ r })
  reset(bench, nil)
  return m, clean
end

--- Runs fn(bench) on a bench of n activations, ticked by `build`/enigma serve on the database
--- at url. Whatever happens, the children are gone, the directories removed and the bench rows
--- with them, afterwards.
function M.guard(db, build, url, n, fn)
  local bench
  local ok, err = xpcall(function()
    bench = setup(db, n)
    assert(db:exec("analyze users, user_agents, ai_agents"))
    bench.build, bench.url, bench.base = build, url, S.tempdir()
    bench.jobs_dir, bench.agents_dir = bench.base .. "/jobs", bench.base .. "/agents"
    assert(os.execute("mkdir " .. quote(bench.jobs_dir) .. " " .. quote(bench.agents_dir)))
    bench.strategy = bench.agents_dir .. "/" .. M.TYPE .. ".lua"
    fn(bench)
  end, debug.traceback)
  for _, c in ipairs(children) do
    if S.alive(c) then os.execute(("kill -KILL %d 2>/dev/null"):format(c.pid)) end
  end
  children = {}
  S.cleanup()
  if bench then teardown(bench) end
  if not ok then error(err, 0) end
end

return M
