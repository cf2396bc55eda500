-- The plumbing of make bench's agents_ticks section (spec/bench/run.lua): bench activations of
-- a bench agent of their own in the bench database, child `enigma serve` processes ticking them
-- with a strategy directory holding only the bench strategy, and what the children used (ticks
-- recorded, CPU, RSS). The demo agents of the bench type are put in maintenance while the
-- section runs, so only the bench activations are claimed; guard() restores them and removes
-- every bench row and child whatever happens. Directories come from sched.tempdir (BENCH_KEEP=1
-- keeps them).
local S = require "spec.bench.sched"

local M = {}

M.TYPE = "strategy_bot"

--- The bench strategy: counts its ticks in ctx.state, so each tick also writes its state.
function M.strategy(interval)
  return ("return { interval = %g, tick = function(ctx) ctx.state.n = (ctx.state.n or 0) + 1 end }\n")
    :format(interval)
end

local children = {}

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  assert(p:close(), "command failed: " .. cmd)
  return (out:gsub("%s+$", ""))
end

--- Creates n bench users, one bench agent of type M.TYPE (no user limit) and an active
--- activation of it for each user, due now; puts the other agents of that type in maintenance.
--- All or nothing: one transaction. Returns the bench: { db, agent, parked = ids of the agents
--- put in maintenance, n }.
function M.setup(db, n)
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

--- Removes the bench rows and takes the parked agents out of maintenance.
function M.teardown(bench)
  local db = bench.db
  assert(db:exec("delete from transactions where agent_id = $1", bench.agent))
  assert(db:exec("delete from users where id in (select user_id from user_agents where agent_id = $1)",
    bench.agent))
  assert(db:exec("delete from ai_agents where id = $1", bench.agent))
  if #bench.parked > 0 then
    assert(db:exec("update ai_agents set maintenance_mode = false where id = any($1::uuid[])", bench.parked))
  end
end

--- Every bench activation due now again, all with the agent's user limit `limit` (nil: none).
function M.reset(bench, limit)
  assert(bench.db:exec("update user_agents set next_tick_at = null where agent_id = $1", bench.agent))
  assert(bench.db:exec("update ai_agents set max_concurrent_users = $2 where id = $1", bench.agent, limit))
end

--- Ticks recorded so far for the bench activations, and how many of them failed.
function M.executions(bench)
  local r = assert(bench.db:query([[
    select coalesce(sum(total_executions), 0)::int8 as n, coalesce(sum(failed_executions), 0)::int8 as failed
      from user_agents where agent_id = $1]], bench.agent))[1]
  return r.n, r.failed
end

--- Whether each bench activation's state counted exactly the ticks recorded for it.
function M.states_agree(bench)
  return assert(bench.db:query([[
    select count(*) as n from user_agents
     where agent_id = $1 and coalesce((strategy_state->>'n')::int8, 0) <> successful_executions]],
    bench.agent))[1].n == 0
end

--- Blocks until the bench activations have `target` ticks recorded or timeout seconds passed;
--- returns whether they got there.
function M.wait_executions(bench, target, timeout)
  local deadline = S.now() + timeout
  while M.executions(bench) < target do
    if S.now() > deadline then return false end
    S.sleep(0.1)
  end
  return true
end

--- Starts `enigma serve` on the bench database with jobs from jobs_dir (empty) and strategies
--- from agents_dir, logging to log; returns { pid, log }.
function M.serve(build, url, jobs_dir, agents_dir, log, args)
  local cmd = ("ENIGMA_DATABASE_URL=%s %s/enigma serve --jobs %s --agents %s %s >%s 2>&1 </dev/null & echo $!")
    :format(quote(url), build, quote(jobs_dir), quote(agents_dir), table.concat(args or {}, " "), quote(log))
  local child = { pid = assert(math.tointeger(tonumber(sh(cmd)))), log = log }
  children[#children + 1] = child
  return child
end

--- Waits until the runner has logged its strategies loaded; returns the time it saw so.
function M.wait_up(child, timeout)
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
function M.status_kb(child, field)
  local text = assert(S.read(("/proc/%d/status"):format(child.pid)), "the runner is gone")
  return assert(tonumber(text:match(field .. ":%s*(%d+) kB")), "no " .. field)
end

--- The server processes of the other connections to the bench database (the runner's).
function M.backends(bench)
  local list = {}
  for _, r in ipairs(assert(bench.db:query([[
      select pid from pg_stat_activity
       where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend']]))) do
    list[#list + 1] = { pid = r.pid }
  end
  return list
end

--- CPU seconds the processes have used so far (those gone count as 0).
function M.cpu_of(list)
  local sum = 0
  for _, p in ipairs(list) do
    if S.alive(p) then sum = sum + S.cpu_seconds(p) end
  end
  return sum
end

--- Runs fn(bench) on a bench of n activations; whatever happens, the children are gone, the
--- directories removed and the bench rows with them, afterwards.
function M.guard(db, n, fn)
  local bench
  local ok, err = xpcall(function()
    bench = M.setup(db, n)
    assert(db:exec("analyze users, user_agents, ai_agents"))
    fn(bench)
  end, debug.traceback)
  for _, c in ipairs(children) do
    if S.alive(c) then os.execute(("kill -KILL %d 2>/dev/null"):format(c.pid)) end
  end
  children = {}
  S.cleanup()
  if bench then M.teardown(bench) end
  if not ok then error(err, 0) end
end

return M
