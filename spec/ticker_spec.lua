-- The agent ticker's time: one tick per interval per activation. Its claims judged on a fake
-- clock (no sleeps): overdue by many intervals, never ticked, the clock jumping forwards and
-- backwards by an hour, the lookahead. Then three `enigma serve` runners on 1,000 overdue
-- activations: exactly one tick each in the first interval. A private cluster.
local enigma = require "enigma"
local serve = require "serve"
local agents = require "enigma.serve.agents"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local TYPE = "strategy_bot"
local EVERY = 60
local T0 = 1893456000            -- 2030-01-01T00:00:00Z: the fake clock's start
local db, agent, ids

local function exec(sql, ...) return assert(db:exec(sql, ...)) end
local function query(sql, ...) return assert(db:query(sql, ...)) end

-- n users, each with an active activation of a test agent of TYPE; the other agents of TYPE
-- in maintenance, so only these are claimed.
local function activations(n)
  exec("update ai_agents set maintenance_mode = true where agent_type = $1", TYPE)
  agent = query([[insert into ai_agents (agent_type, agent_name, description, active, maintenance_mode)
                  values ($1, 'ticker test', 'ticker_spec', true, false) returning id]], TYPE)[1].id
  local rows = query([[
    with u as (insert into users (wallet_address)
               select '0x' || md5('ticker' || g::text) || lpad(to_hex(g), 8, '0') from generate_series(1, $1) g
               returning id)
    insert into user_agents (user_id, agent_id, status) select id, $2, 'active' from u returning id]], n, agent)
  local out = {}
  for i, r in ipairs(rows) do out[i] = r.id end
  return out
end

setup(function()
  db = serve.cluster("ticker")
  serve.sh(BIN .. " run " .. os.getenv("ENIGMA_SOURCE_DIR") .. "/scripts/demo/load.lua")
  ids = activations(1000)
end)

teardown(function()
  if db then db:close() end
  serve.stop_cluster()
end)

describe("a claim on a fake clock", function()
  local now = T0
  local fake = { mono = function() return now end, wall = function() return now end,
                 db = function() return now end }
  local ticker

  before_each(function()
    ticker = agents.new({ url = serve.url, clock = fake, quiet = true })
    ticker.strategies[TYPE] = { name = TYPE, interval = EVERY }
    ticker.ctl.db = assert(enigma.db.connect(serve.url))
    exec("update user_agents set next_tick_at = to_timestamp($2) where agent_id = $1", agent, T0 + 86400)  -- none due
  end)

  after_each(function() ticker.ctl.db:close() end)

  local function set_next(id, at)
    if at then exec("update user_agents set next_tick_at = to_timestamp($2) where id = $1", id, at)
    else exec("update user_agents set next_tick_at = null where id = $1", id) end
  end
  local function next_of(id)
    return query("select extract(epoch from next_tick_at)::float8 as t from user_agents where id = $1", id)[1].t
  end
  local function claimed_at(t)
    now = t
    local rows, wait = ticker:claim()
    local got = {}
    for _, r in ipairs(rows) do got[r.id] = (got[r.id] or 0) + 1 end
    return got, wait, rows
  end

  it("ticks an activation overdue by five intervals once, and next on its grid after now", function()
    set_next(ids[1], T0 - 5 * EVERY - 10)
    local got = claimed_at(T0)
    assert.are.equal(1, got[ids[1]])
    assert.are.equal(T0 + 50, next_of(ids[1]))          -- (T0 - 310) + 6 * 60
    assert.is_nil(claimed_at(T0)[ids[1]])               -- not due again at once
    assert.is_nil(claimed_at(T0 + 49)[ids[1]])
    assert.are.equal(1, claimed_at(T0 + 50)[ids[1]])
    assert.are.equal(T0 + 110, next_of(ids[1]))
  end)

  it("ticks one never ticked at once, and an interval later", function()
    set_next(ids[2], nil)
    assert.are.equal(1, claimed_at(T0)[ids[2]])
    assert.are.equal(T0 + EVERY, next_of(ids[2]))
  end)

  it("a clock that jumps an hour forwards: one tick, not sixty", function()
    set_next(ids[3], T0 + 20)
    local got = claimed_at(T0 + 3600)
    assert.are.equal(1, got[ids[3]])
    assert.is_true(next_of(ids[3]) > T0 + 3600 and next_of(ids[3]) <= T0 + 3600 + EVERY)
    assert.is_nil(claimed_at(T0 + 3600)[ids[3]])
  end)

  it("a clock that jumps an hour backwards: ticks resume within an interval, not an hour later", function()
    set_next(ids[4], T0 + 30)
    local got = claimed_at(T0 - 3600)
    assert.is_nil(got[ids[4]])                          -- no tick for the jump itself
    assert.are.equal(T0 - 3600 + EVERY, next_of(ids[4]))
    assert.are.equal(1, claimed_at(T0 - 3600 + EVERY)[ids[4]])
  end)

  it("takes one due within the lookahead, with its delay", function()
    set_next(ids[5], T0 + 0.1)
    local _, _, rows = claimed_at(T0)
    local row
    for _, r in ipairs(rows) do if r.id == ids[5] then row = r end end
    assert.is_table(row)
    assert.is_true(math.abs(row.delay - 0.1) < 0.01, tostring(row.delay))
    assert.is_true(math.abs(next_of(ids[5]) - (T0 + 0.1 + EVERY)) < 0.01)
  end)

  it("says how long until the next is due, by the same clock", function()
    set_next(ids[6], T0 + 42)
    local _, wait = claimed_at(T0)
    assert.is_true(math.abs(wait - 42) < 0.01, tostring(wait))
  end)
end)

describe("three runners on 1,000 overdue activations", function()
  it("tick each exactly once in the first interval", function()
    local dir = serve.jobdir()
    serve.write(dir, TYPE, "return { interval = 30, tick = function(ctx) ctx.state.n = (ctx.state.n or 0) + 1 end }")
    local jobs = serve.jobdir()
    exec("update user_agents set next_tick_at = now() - interval '1 hour', total_executions = 0 where agent_id = $1",
         agent)
    local runners = {}
    for i = 1, 3 do runners[i] = serve.start(jobs, "R" .. i, "--agents " .. dir) end
    serve.wait_until("every activation ticked", 30, function()
      return query("select count(*) as n from user_agents where agent_id = $1 and total_executions = 0",
                   agent)[1].n == 0
    end)
    serve.sleep(3)                                      -- more cycles of every runner, within the interval
    for _, r in ipairs(runners) do serve.stop(r) end
    local rows = query([[select total_executions as n, count(*) as c from user_agents where agent_id = $1
                         group by 1 order by 1]], agent)
    assert.are.equal(1, #rows)                          -- one group: every activation ticked once
    assert.are.same({ 1, 1000 }, { rows[1].n, rows[1].c })
    assert.are.equal(1000, query([[select count(*) as n from user_agents where agent_id = $1
                                   and (strategy_state->>'n')::int = 1]], agent)[1].n)
  end)
end)

describe("runners killed with SIGKILL at random instants", function()
  it("never tick an activation twice in one interval", function()
    local trials = tonumber(os.getenv("ENIGMA_FAULT_TRIALS")) or 4
    local dir = serve.jobdir()
    serve.write(dir, TYPE, "return { interval = 4, tick = function(ctx) ctx.state.n = (ctx.state.n or 0) + 1 end }")
    local jobs = serve.jobdir()
    local seed = tonumber(os.getenv("ENIGMA_FAULT_SEED")) or os.time()
    math.randomseed(seed)
    for trial = 1, trials do
      exec([[update user_agents set next_tick_at = now() - interval '1 hour', total_executions = 0,
                    successful_executions = 0, failed_executions = 0, consecutive_failures = 0,
                    strategy_state = '{}' where agent_id = $1]], agent)
      local a = serve.start(jobs, "K" .. trial, "--agents " .. dir)
      local b = serve.start(jobs, "L" .. trial, "--agents " .. dir)
      serve.sleep(math.random() * 1.5)
      serve.signal(a, "KILL")                          -- mid-claim, mid-tick or mid-write
      serve.sleep(2)                                   -- still within the first interval (4 s)
      assert.are.equal(0, serve.stop(b))
      local most = query("select max(total_executions) as n from user_agents where agent_id = $1", agent)[1].n
      assert.is_true(most <= 1, ("seed %d, trial %d: an activation ticked %d times in one interval")
                                :format(seed, trial, most))
      -- and what was recorded agrees with itself: a tick's state with its count
      assert.are.equal(0, query([[select count(*) as n from user_agents where agent_id = $1
                                   and coalesce((strategy_state->>'n')::int, 0) <> successful_executions]],
                                agent)[1].n)
    end
  end)
end)
