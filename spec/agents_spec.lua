-- Agent strategies on the real database: the six shipped strategies on the demo data, the
-- accounting of every tick, invalid actions and limits (nothing written), agent_executor's
-- privileges, and ticks inside `enigma serve` (intervals, hot reload with ctx.state carried over,
-- maintenance, max_concurrent_users, two runners). A private cluster (spec/support/serve.lua).
local enigma = require "enigma"
local serve = require "serve"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local SRC = assert(os.getenv("ENIGMA_SOURCE_DIR"))
local db

local function A(n) return ("c0000000-0000-4000-8000-%012d"):format(n) end

setup(function()
  db = serve.cluster("agents")
  serve.sh(BIN .. " run " .. SRC .. "/scripts/demo/load.lua")
end)

teardown(function()
  if db then db:close() end
  serve.stop_cluster()
end)

after_each(function() serve.cleanup() end)

local function one(sql, ...)
  local rows = assert(db:query(sql, ...))
  return rows[1]
end

local function activation(id)
  return one([[select status, total_executions, successful_executions, failed_executions,
                      consecutive_failures, current_allocation::float8 as allocation, strategy_state,
                      last_error, last_execution_at is not null as ticked
                 from user_agents where id = $1]], id)
end

local function agent_of(id)
  return one([[select a.id, a.total_executions, a.successful_executions, a.failed_executions,
                      a.avg_execution_time_ms from ai_agents a join user_agents ua on ua.agent_id = a.id
                where ua.id = $1]], id)
end

local function proposals(id)
  return assert(db:query([[select tx_type, amount::float8, status, token_symbol, user_wallet,
                                   metadata->>'pool' as pool, agent_id, user_id
                              from transactions where metadata->>'activation_id' = $1
                             order by created_at, agent_execution_id]], id))
end

local function tick(id, args)
  return serve.run_cmd(("%s agents tick %s %s"):format(BIN, id, args or ""))
end

-- A directory with one strategy file per { agent_type = source }.
local function agents_dir(files)
  local dir = serve.jobdir()
  for name, src in pairs(files) do serve.write(dir, name, src) end
  return dir
end

describe("the shipped strategies on the demo data", function()
  it("yield_optimizer_pro moves the allocation to the best risk-adjusted pool, once", function()
    local before, agent = activation(A(1)), agent_of(A(1))
    local code, out, err = tick(A(1))
    assert.are.equal(0, code, err)
    assert.truthy(out:find("proposed rebalance 25000 USDC pool high_volume:1", 1, true), out)
    local p = proposals(A(1))
    assert.are.equal(1, #p)
    assert.are.same({ "rebalance", 25000, "pending", "USDC", "high_volume:1" },
                    { p[1].tx_type, p[1].amount, p[1].status, p[1].token_symbol, p[1].pool })
    assert.are.equal(agent.id, p[1].agent_id)
    local after = activation(A(1))
    assert.are.equal(before.total_executions + 1, after.total_executions)
    assert.are.equal(before.successful_executions + 1, after.successful_executions)
    assert.are.equal("high_volume:1", after.strategy_state.pool)
    assert.are.equal(25000, after.allocation)
    -- the state keeps it from moving again
    code, out = tick(A(1))
    assert.are.equal(0, code)
    assert.truthy(out:find("no actions proposed", 1, true), out)
    assert.are.equal(1, #proposals(A(1)))
    local agent2 = agent_of(A(1))
    assert.are.equal(agent.total_executions + 2, agent2.total_executions)
    assert.are.equal(agent.successful_executions + 2, agent2.successful_executions)
    assert.is_number(agent2.avg_execution_time_ms)
  end)

  it("privacy_sentinel recommends a stealth address when the privacy score is low, then waits", function()
    assert(db:exec([[update user_portfolios set privacy_score = 41
                      where user_id = '11111111-1111-4111-8111-111111111111']]))
    local code, out, err = tick(A(2))
    assert.are.equal(0, code, err)
    local p = proposals(A(2))
    assert.are.equal(1, #p, out)
    assert.are.same({ "stealth_generation", 0 }, { p[1].tx_type, p[1].amount })
    assert.are.equal(41, activation(A(2)).strategy_state.last_score)
    code = tick(A(2))
    assert.are.equal(0, code)
    assert.are.equal(1, #proposals(A(2)))    -- within the cooldown
  end)

  it("risk_shield pauses the user's activation whose drawdown exceeds the limit", function()
    -- user 5555: c..10 (privacy_sentinel) loses 30 % of its allocation; risk_shield's limit is 10 %
    assert(db:exec("update user_agents set current_allocation = 1000, total_profit = -300 where id = $1", A(10)))
    local code, out, err = tick(A(11))
    assert.are.equal(0, code, err)
    assert.truthy(out:find("paused activation " .. A(10), 1, true), out)
    assert.are.equal("paused", activation(A(10)).status)
    assert.are.equal("active", activation(A(11)).status)
    assert.are.equal(1, activation(A(11)).strategy_state.paused)
  end)

  it("arbitrage_hunter trades a spread wider than min_edge_bps, capped by its limits", function()
    -- maximum_privacy:1 prices ETH about 1 % above the others
    assert(db:exec([[update pool_statistics set eth_pool_size = eth_pool_size * 0.99
                      where pool_type = 'maximum_privacy' and chain_id = 1]]))
    local code, out, err = tick(A(5))
    assert.are.equal(0, code, err)
    local p = proposals(A(5))
    assert.are.equal(1, #p, out)
    assert.are.same({ "rebalance", 2000, "maximum_privacy:1" }, { p[1].tx_type, p[1].amount, p[1].pool })
    code = tick(A(5))
    assert.are.equal(0, code)
    assert.are.equal(1, #proposals(A(5)))    -- the same pair waits for its cooldown
  end)

  it("liquidity_manager adds a step to a busy pool, within max_allocation_usd", function()
    local code, out, err = tick(A(6))
    assert.are.equal(0, code, err)
    local p = proposals(A(6))
    assert.are.equal(1, #p, out)
    assert.are.same({ "rebalance", 500 }, { p[1].tx_type, p[1].amount })
    assert.are.equal(60500, activation(A(6)).allocation)
  end)

  it("strategy_bot runs the user's DCA rule once per period", function()
    local code, out, err = tick(A(8))
    assert.are.equal(0, code, err)
    local p = proposals(A(8))
    assert.are.equal(1, #p, out)
    assert.are.same({ "token_transfer", 50 }, { p[1].tx_type, p[1].amount })
    code = tick(A(8))
    assert.are.equal(0, code)
    assert.are.equal(1, #proposals(A(8)))
    assert.is_number(activation(A(8)).strategy_state.last["1"])
  end)
end)

describe("a tick that fails", function()
  local function bad(body)
    return agents_dir({ yield_optimizer_pro = "return { interval = 60, tick = function(ctx, activation)\n"
                                              .. body .. "\nend }" })
  end

  it("with an invalid action writes nothing but its failure; three in a row mean 'error'", function()
    local dir = bad("ctx.propose{ type = 'rebalance', amount = 10 } ctx.state.x = 1\n"
                    .. "ctx.propose{ type = 'rebalance', amount = -5 }")
    local count = one("select count(*) as n from transactions").n
    local before = activation(A(4))
    for i = 1, 3 do
      local code, _, err = tick(A(4), "--agents " .. dir)
      assert.are.equal(1, code, err)
      assert.truthy(err:find("amount must not be negative", 1, true), err)
      local now = activation(A(4))
      assert.are.equal(before.failed_executions + i, now.failed_executions)
      assert.are.equal(before.successful_executions, now.successful_executions)
      assert.are.equal(i, now.consecutive_failures)
      assert.truthy(now.last_error:find("amount must not be negative", 1, true), now.last_error)
      assert.are.same(before.strategy_state, now.strategy_state)
      assert.are.equal(before.allocation, now.allocation)
    end
    assert.are.equal(count, one("select count(*) as n from transactions").n)
    assert.are.equal("error", activation(A(4)).status)
    local code, _, err = tick(A(4), "--agents " .. dir)
    assert.are.equal(1, code)
    assert.truthy(err:find("is in error after 3 consecutive failures", 1, true), err)
    assert(db:exec("update user_agents set status = 'active', consecutive_failures = 0 where id = $1", A(4)))
  end)

  it("on a limit exits 3 and is recorded with the limit's name", function()
    local dir = bad("while true do end")
    local code, _, err = tick(A(4), "--agents " .. dir)
    assert.are.equal(3, code, err)
    assert.truthy(err:find("instruction limit", 1, true), err)
    assert.truthy(activation(A(4)).last_error:find("instruction limit", 1, true))
    dir = bad("local t = {} while true do t[#t + 1] = ('x'):rep(1000) .. #t end")
    code, _, err = tick(A(4), "--agents " .. dir)
    assert.are.equal(3, code, err)
    assert.truthy(err:find("memory limit", 1, true), err)
    assert(db:exec("update user_agents set consecutive_failures = 0 where id = $1", A(4)))
  end)

  it("agents tick refuses bad input", function()
    local code, _, err = tick("not-a-uuid")
    assert.are.equal(2, code)
    assert.truthy(err:find("not an activation id", 1, true), err)
    code, _, err = tick("c0000000-0000-4000-8000-000000000999")
    assert.are.equal(1, code)
    assert.truthy(err:find("no activation", 1, true), err)
    code, _, err = tick(A(7))
    assert.are.equal(1, code)
    assert.truthy(err:find("is stopped", 1, true), err)
  end)
end)

describe("agent_executor", function()
  -- Runs sql as agent_executor in a transaction that is rolled back; returns ok, message.
  local function as_executor(sql, ...)
    local args = table.pack(...)
    local result
    local ok, err = pcall(db.transaction, db, function(tx)
      assert(tx:exec("set local role agent_executor"))
      local ok2, rows = pcall(tx.query, tx, sql, table.unpack(args, 1, args.n))
      result = { ok2, not ok2 and tostring(rows) or nil, ok2 and rows or nil }
      error("roll back", 0)
    end)
    assert(not ok and err == "roll back", err)
    return result[1], result[2], result[3]
  end

  it("reads what ticks read", function()
    for _, sql in ipairs({ "select count(*) from pool_statistics", "select count(*) from ai_agents",
                           "select id, wallet_address from users", "select count(*) from user_portfolios" }) do
      local ok, msg = as_executor(sql)
      assert.is_true(ok, sql .. ": " .. tostring(msg))
    end
  end)

  it("cannot do anything else", function()
    local denied = {
      "delete from transactions",
      "update user_agents set total_profit = 1e9",
      "update user_agents set total_fees_paid = 0",
      "update ai_agents set reputation_score = 100",
      "select * from stealth_addresses",
      "select * from privacy_deposits",
      "select * from job_runs",
      "select created_at from users",
      "insert into ai_agents (agent_type, agent_name, description) values ('risk_shield', 'x', 'y')",
    }
    for _, sql in ipairs(denied) do
      local ok, msg = as_executor(sql)
      assert.is_false(ok, sql)
      assert.truthy(msg:find("permission denied", 1, true) or msg:find("row%-level security"), sql .. ": " .. msg)
    end
  end)

  it("cannot revive a paused activation, nor act for one", function()
    assert(db:exec("update user_agents set status = 'paused' where id = $1", A(6)))
    local ok, _, rows = as_executor("update user_agents set status = 'active' where id = $1 returning id", A(6))
    assert.is_true(ok)
    assert.are.equal(0, #rows)      -- invisible to its UPDATE policy
    local row = one([[select ua.user_id, ua.agent_id, u.wallet_address from user_agents ua
                       join users u on u.id = ua.user_id where ua.id = $1]], A(6))
    local msg
    ok, msg = as_executor([[insert into transactions (user_id, user_wallet, tx_type, category, amount, agent_id)
                           values ($1, $2, 'rebalance', 'agent', 1, $3)]], row.user_id, row.wallet_address, row.agent_id)
    assert.is_false(ok)
    assert.truthy(msg:find("row%-level security"), msg)
    assert(db:exec("update user_agents set status = 'active' where id = $1", A(6)))
  end)
end)

describe("enigma serve", function()
  local TRIVIAL = [[
return { interval = %s, tick = function(ctx, activation)
  ctx.state.n = (ctx.state.n or 0) + 1
  ctx.state.version = %d
end }]]

  local function executions(id)
    return activation(id).total_executions
  end

  it("ticks on the interval, reloads an edited strategy with its state, keeps the old on a broken edit", function()
    local dir = agents_dir({ strategy_bot = TRIVIAL:format("0.2", 1) })
    local jobs = serve.jobdir()
    local start = activation(A(8)).strategy_state.n or 0
    local r = serve.start(jobs, "A", "--agents " .. dir)
    serve.wait_until("ticks", 10, function() return (activation(A(8)).strategy_state.n or 0) >= start + 3 end)
    serve.write(dir, "strategy_bot", TRIVIAL:format("0.2", 2))
    serve.wait_until("the new version", 10, function() return activation(A(8)).strategy_state.version == 2 end)
    local n2 = activation(A(8)).strategy_state.n
    assert.truthy(n2 > start + 3, "the state did not carry over: " .. tostring(n2))
    serve.write(dir, "strategy_bot", "return { interval = 0.2, tick = ")
    serve.wait_until("the broken edit logged", 10, function()
      return serve.read(r.log):find("previous version keeps running", 1, true)
    end)
    local n3 = activation(A(8)).strategy_state.n
    serve.wait_until("ticks after the broken edit", 10, function() return activation(A(8)).strategy_state.n > n3 + 2 end)
    assert.are.equal(2, activation(A(8)).strategy_state.version)
    assert.are.equal(0, serve.stop(r))
    -- only strategy_bot's activations ticked: no other strategy was loaded
    assert.are.equal(0, activation(A(6)).consecutive_failures)
    local log = serve.read(r.log)
    assert.truthy(log:find("agents: 1 strategy from", 1, true), log)
    assert.truthy(log:find("agent strategy_bot reloaded", 1, true), log)
  end)

  it("respects maintenance_mode and max_concurrent_users, and two runners share the ticks", function()
    -- yield_optimizer_pro has two active activations (c..01 older than c..04): with
    -- max_concurrent_users = 1 only c..01 ticks. arbitrage_hunter's agent is in maintenance.
    assert(db:exec("update ai_agents set max_concurrent_users = 1 where agent_type = 'yield_optimizer_pro'"))
    assert(db:exec("update ai_agents set maintenance_mode = true where agent_type = 'arbitrage_hunter'"))
    local dir = agents_dir({ yield_optimizer_pro = TRIVIAL:format("0.5", 1),
                             arbitrage_hunter = TRIVIAL:format("0.5", 1) })
    local before = { [1] = executions(A(1)), [4] = executions(A(4)), [5] = executions(A(5)) }
    local jobs = serve.jobdir()
    local a = serve.start(jobs, "A", "--agents " .. dir)
    local b = serve.start(jobs, "B", "--agents " .. dir)
    local t0 = enigma.monotime()
    serve.sleep(4)
    assert.are.equal(0, serve.stop(a))
    assert.are.equal(0, serve.stop(b))
    local elapsed = enigma.monotime() - t0
    local n1 = executions(A(1)) - before[1]
    -- every 0.5 s on one runner or the other, never on both: at most one tick per interval
    assert.truthy(n1 >= 4, "too few ticks: " .. n1)
    assert.truthy(n1 <= math.ceil(elapsed / 0.5) + 1, ("%d ticks in %.1f s: ticked twice"):format(n1, elapsed))
    assert.are.equal(before[4], executions(A(4)))
    assert.are.equal(before[5], executions(A(5)))
    assert(db:exec("update ai_agents set max_concurrent_users = 1000, maintenance_mode = false"))
  end)

  it("a strategy that breaks its limits goes to 'error' and disturbs no other strategy", function()
    local dir = agents_dir({
      strategy_bot = TRIVIAL:format("0.2", 7),
      liquidity_manager = "return { interval = 0.2, tick = function() local t = {} "
                          .. "while true do t[#t + 1] = ('x'):rep(100) .. #t end end }",
      arbitrage_hunter = "return { interval = 0.2, tick = function() while true do pcall(error, {}) end end }",
    })
    local start = activation(A(8)).strategy_state.n or 0
    local r = serve.start(serve.jobdir(), "A", "--agents " .. dir)
    serve.wait_until("both bombs in 'error'", 20, function()
      return activation(A(6)).status == "error" and activation(A(5)).status == "error"
    end)
    assert.truthy(activation(A(6)).last_error:find("memory limit", 1, true))
    -- the instruction budget, or on a slow (sanitized) build the clock, whichever comes first
    assert.truthy(activation(A(5)).last_error:find("limit exceeded", 1, true), activation(A(5)).last_error)
    -- at least 3: a tick claimed before the third failure was written still runs and counts
    assert.truthy(activation(A(5)).consecutive_failures >= 3)
    local n = activation(A(8)).strategy_state.n
    assert.truthy(n >= start + 3, "strategy_bot stalled: " .. tostring(n))
    serve.wait_until("strategy_bot to go on ticking", 10, function() return activation(A(8)).strategy_state.n >= n + 3 end)
    assert.are.equal(0, serve.stop(r))
    assert(db:exec("update user_agents set status = 'active', consecutive_failures = 0 where id in ($1, $2)", A(5), A(6)))
  end)

  it("agents list shows the strategies and activations", function()
    local code, out, err = serve.run_cmd(BIN .. " agents list --agents " .. SRC .. "/scripts/agents")
    assert.are.equal(0, code, err)
    for _, name in ipairs({ "yield_optimizer_pro", "privacy_sentinel", "risk_shield", "arbitrage_hunter",
                            "liquidity_manager", "strategy_bot" }) do
      assert.truthy(out:find(name, 1, true), out)
    end
    assert.truthy(out:find(A(1), 1, true), out)
    assert.truthy(out:find("LAST TICK", 1, true), out)
  end)
end)

describe("an operator manages activations", function()
  local ID = A(6)
  local function run(args) return serve.run_cmd(BIN .. " agents " .. args) end

  it("tick on one in error says why, and how to revive it", function()
    assert(db:exec("update user_agents set status = 'error', consecutive_failures = 3, last_error = 'error: boom' "
                   .. "where id = $1", ID))
    local code, _, err = tick(ID)
    assert.are.equal(1, code)
    assert.truthy(err:find("is in error after 3 consecutive failures (last error: error: boom)", 1, true), err)
    assert.truthy(err:find("enigma agents resume " .. ID, 1, true), err)
  end)

  it("resume revives one in error: status active, failures reset, due at once", function()
    local code, out, err = run("resume " .. ID)
    assert.are.equal(0, code, err)
    assert.truthy(out:find("error -> active", 1, true), out)
    local a = activation(ID)
    assert.are.same({ "active", 0 }, { a.status, a.consecutive_failures })
    assert.is_nil(a.last_error ~= enigma.null and a.last_error or nil)
    code, out = run("resume " .. ID)
    assert.are.equal(0, code)
    assert.truthy(out:find("active already", 1, true), out)
  end)

  it("pause stops it ticking; tick says it is paused", function()
    local code, out, err = run("pause " .. ID)
    assert.are.equal(0, code, err)
    assert.truthy(out:find("active -> paused", 1, true), out)
    assert.are.equal("paused", activation(ID).status)
    code, out, err = tick(ID)
    assert.are.equal(1, code, out)
    assert.truthy(err:find("is paused; `enigma agents resume", 1, true), err)
    assert.are.equal(0, (run("resume " .. ID)))
  end)

  it("refuses an unknown activation, an ended one, and a bad id", function()
    local code, _, err = run("pause c0000000-0000-4000-8000-000000000999")
    assert.are.equal(1, code)
    assert.truthy(err:find("no activation", 1, true), err)
    assert(db:exec("update user_agents set status = 'terminated' where id = $1", ID))
    code, _, err = run("resume " .. ID)
    assert.are.equal(1, code)
    assert.truthy(err:find("has ended", 1, true), err)
    assert(db:exec("update user_agents set status = 'active' where id = $1", ID))
    code, _, err = run("resume nope")
    assert.are.equal(2, code)
    assert.truthy(err:find("not an activation id", 1, true), err)
  end)
end)
