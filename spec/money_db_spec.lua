-- Exactness end to end, on a real database through `enigma agents tick` (sandboxed and trusted): a
-- NUMERIC(38,18) balance with 38 significant digits, read by a strategy, changed by an exact amount
-- and proposed, arrives in transactions digit for digit; the same through ctx.allocate into
-- user_agents.current_allocation; pool statistics and ctx.recent amounts arrive exact; and
-- max_allocation_usd is checked in USD at the pools' ETH price. A private cluster (spec/support/serve.lua).
local serve = require "serve"
local json = require "enigma.json"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local SRC = assert(os.getenv("ENIGMA_SOURCE_DIR"))
local ID = "c0000000-0000-4000-8000-000000000004"   -- a yield_optimizer_pro activation of the demo data
local V38 = "12345678901234567890.123456789012345678"
local V38_PLUS = "12345678901234567890.123456789012345679"
local POOL_SIZE = "98765432109876543210.987654321098765432"
local VOLUME = "1234567890.123456789012345678"
local db

setup(function()
  db = serve.cluster("money")
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

local function exec(sql, ...)
  assert(db:exec(sql, ...))
end

-- A directory whose yield_optimizer_pro strategy ticks `body`.
local function agents_dir(body)
  local dir = serve.jobdir()
  serve.write(dir, "yield_optimizer_pro", "return { interval = 60, tick = function(ctx, activation)\n"
                                         .. body .. "\nend }")
  return dir
end

local function tick(dir, trusted)
  return serve.run_cmd(("%s agents tick %s --agents %s%s"):format(BIN, ID, dir, trusted and " --no-sandbox" or ""))
end

local function proposals()
  return assert(db:query([[select amount::text as amount, usd_value::text as usd_value, token_symbol
                             from transactions where metadata->>'activation_id' = $1
                            order by created_at, agent_execution_id]], ID))
end

local function state()
  return json.decode(one("select strategy_state::text as s from user_agents where id = $1", ID).s)
end

local EXACT = [[
  local v = ctx.portfolio().total_value
  local amount = v + decimal("0.000000000000000001")
  ctx.propose{ type = "rebalance", amount = amount, note = "exact" }
  ctx.allocate(amount)
  local p = ctx.pools()[1]
  ctx.state.pool = { p.pool, tostring(p.total_pool_size), tostring(p.volume_24h), tostring(p.turnover_24h) }
  local r = ctx.recent(1)[1]
  ctx.state.recent = r and { tostring(r.amount), tostring(r.usd_value) } or false
  ctx.state.read = { tostring(v), tostring(activation.current_allocation) }
  ctx.state.kinds = { decimal.isdecimal(v), decimal.isdecimal(p.total_pool_size), r and decimal.isdecimal(r.amount) }]]

describe("money end to end", function()
  before_each(function()
    exec("delete from transactions where metadata->>'activation_id' = $1", ID)
    exec([[update user_agents set allocation_limits = '{}', current_allocation = 0, strategy_state = '{}',
                  status = 'active', consecutive_failures = 0 where id = $1]], ID)
    exec([[update user_portfolios set total_value = $2 where id =
             (select p.id from user_portfolios p join user_agents ua on ua.user_id = p.user_id
               where ua.id = $1 order by p.created_at, p.id limit 1)]], ID, V38)
    exec([[update pool_statistics set total_pool_size = $1, volume_24h = $2 where id =
             (select id from pool_statistics order by pool_type, chain_id limit 1)]], POOL_SIZE, VOLUME)
  end)

  for _, trusted in ipairs({ false, true }) do
    it(("keeps every digit %s: a 38-digit balance + 1e-18, proposed and allocated; pools; recent")
         :format(trusted and "in a trusted strategy" or "in the sandbox"), function()
      local dir = agents_dir(EXACT)
      local code, out, err = tick(dir, trusted)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("proposed rebalance " .. V38_PLUS .. " USDC", 1, true), out)
      assert.truthy(out:find("allocation " .. V38_PLUS .. " USD", 1, true), out)
      local p = proposals()
      assert.are.equal(1, #p)
      assert.are.same({ V38_PLUS, V38_PLUS, "USDC" }, { p[1].amount, p[1].usd_value, p[1].token_symbol })
      assert.are.equal(V38_PLUS, one("select current_allocation::text as a from user_agents where id = $1", ID).a)
      local pool = one([[select pool_type || ':' || chain_id as pool, round(volume_24h / total_pool_size, 18)::text as t
                           from pool_statistics order by pool_type, chain_id limit 1]])
      local s = state()
      assert.are.same({ pool.pool, POOL_SIZE, VOLUME, pool.t }, s.pool)
      assert.are.same({ V38, "0.000000000000000000" }, s.read)
      assert.are.same({ true, true }, s.kinds)
      assert.is_false(s.recent)

      -- the next tick reads back what the first wrote, exactly
      code, _, err = tick(dir, trusted)
      assert.are.equal(0, code, err)
      s = state()
      assert.are.same({ V38_PLUS, V38_PLUS }, s.recent)
      assert.are.same({ V38, V38_PLUS }, s.read)
      assert.are.same({ true, true, true }, s.kinds)
      assert.are.equal(2, #proposals())
      serve.sh("rm -rf " .. dir)
    end)
  end

  it("checks max_allocation_usd in USD at the pools' highest implied ETH price", function()
    exec([[update user_agents set allocation_limits = '{"max_allocation_usd": 8000}' where id = $1]], ID)
    exec([[update pool_statistics set total_pool_size = 2000 * eth_pool_size + coalesce(stablecoin_pool_size, 0)
                                                       + coalesce(other_tokens_pool_size, 0)
            where eth_pool_size > 0]])
    assert.are.equal("2000.000000000000000000", one([[select max(round((total_pool_size - coalesce(stablecoin_pool_size, 0)
        - coalesce(other_tokens_pool_size, 0)) / nullif(eth_pool_size, 0), 18))::text as p from pool_statistics]]).p)
    for _, trusted in ipairs({ false, true }) do
      local code, _, err = tick(agents_dir("ctx.propose{ type = 'rebalance', amount = 7000, token = 'ETH' }"), trusted)
      assert.are.equal(1, code)
      assert.truthy(err:find("goes over the allocation limit", 1, true), err)
      code, _, err = tick(agents_dir("ctx.propose{ type = 'rebalance', amount = 1, token = 'WBTC' }"), trusted)
      assert.are.equal(1, code)
      assert.truthy(err:find("WBTC has no USD price", 1, true), err)
      assert.are.equal(0, #proposals())
      exec("update user_agents set consecutive_failures = 0 where id = $1", ID)
    end
    local code, _, err = tick(agents_dir("ctx.propose{ type = 'rebalance', amount = decimal('3.000000000000000001'), "
                                         .. "token = 'ETH' }"))
    assert.are.equal(0, code, err)
    local p = proposals()
    assert.are.equal(1, #p)
    assert.are.same({ "3.000000000000000001", "6000.000000000000002000", "ETH" },
                    { p[1].amount, p[1].usd_value, p[1].token_symbol })
  end)
end)
