-- Money in strategies, without a database: decimals inside the sandbox (exact, bounded, never
-- silently mixed with floats, crossing as values and never as host objects), the same
-- operations in a trusted strategy, and allocation limits checked in USD at the tick's prices.
-- Written as an attacker would: extreme decimals, limits dodged by units, pcall around it all.
local decimal = require "enigma.decimal"
local sandbox = require "enigma.sandbox"
local strategies = require "enigma.serve.strategies"

local D = decimal
local LIMITS = { instructions = 2000000, memory = 4 << 20, time = 2 }

-- Runs `body` (Lua text) in a fresh box as function(x); returns what it returns, or nil, message, reason.
local function box_run(body, x)
  local box = sandbox.new{ memory = 16 << 20 }
  assert(box:load("return { f = function(x)\n" .. body .. "\nend }", "=box", LIMITS))
  local run = box:start("f", LIMITS, x)
  local r = table.pack(run:resume())
  run:close()
  box:close()
  if r[1] == "done" then return table.unpack(r, 2, r.n) end
  return nil, r[2], r[3]
end

-- The error `body` raises in the box, caught by its own pcall (so it is catchable).
local function box_error(body)
  local res, err, why = box_run("local ok, e = pcall(function() " .. body .. " end)\n"
                                .. "assert(not ok, 'no error') return tostring(e)")
  assert(res, tostring(err) .. " (" .. tostring(why) .. ")")
  return res
end

describe("a decimal in the sandbox", function()
  it("adds, subtracts, multiplies and compares exactly", function()
    local r = box_run([[
      local a, b = decimal("0.1"), decimal("0.2")
      return { tostring(a + b), (a + b) == decimal("0.3"), tostring(a - b), tostring(a * b),
               tostring(decimal("1.50") + 1), tostring(2 * decimal("1.5")), tostring(-a), tostring((-a):abs()),
               a < b, a <= decimal("0.10"), b > a, a < 1, 0 < a, a == decimal("0.1000"),
               tostring(decimal(7) // 2), tostring(decimal("7.5") % 2), decimal("1.5"):scale(),
               decimal("-3"):sign(), decimal("0.00"):iszero(), decimal(42):tointeger(),
               decimal("1.5"):tointeger() == nil, decimal("0.25"):tonumber(), decimal.isdecimal(a),
               decimal.isdecimal(0.1), "x" .. a, a .. "y", type(a), math.type(a) == nil }]])
    assert.are.same({ "0.3", true, "-0.1", "0.02", "2.50", "3.0", "-0.1", "0.1", true, true, true, true, true, true,
                      "3", "1.5", 1, -1, true, 42, true, 0.25, true, false, "x0.1", "0.1y", "userdata", true }, r)
  end)

  it("divides to max(18, the operands' scales) places half up, and to any scale and rounding with :div", function()
    local r = box_run([[
      local one = decimal(1)
      return { tostring(one / 3), tostring(decimal(2) / 3), tostring(one:div(3, 2)), tostring(decimal(2):div(3, 2, "down")),
               tostring(decimal("-2"):div(3, 0, "floor")), tostring(decimal("1.5"):round(0, "half_even")),
               tostring(decimal("2.5"):round(0, "half_even")), tostring(decimal("1234.5"):round(-2)) }]])
    assert.are.same({ "0.333333333333333333", "0.666666666666666667", "0.33", "0.66", "-1", "2", "2", "1200" }, r)
    assert.truthy(box_error("return decimal(1) / 0"):find("division by zero", 1, true))
    assert.truthy(box_error("return decimal(1):div(3, 41)"):find("scale out of range", 1, true))
    assert.truthy(box_error("return decimal(1):div(3, 2, 'sideways')"):find("invalid option", 1, true))
  end)

  it("refuses arithmetic with a float or a string, naming the explicit conversion", function()
    for _, body in ipairs({ "return decimal(1) * 0.1", "return 0.1 * decimal(1)", "return decimal(1) + 1.0",
                            "return decimal(1) / 2.5", "return decimal(1) - 0/0", "return decimal(1) // math.huge",
                            "return decimal(1) % 0.5" }) do
      local e = box_error(body)
      assert.truthy(e:find("with a float", 1, true) and e:find("decimal(x)", 1, true)
                    and e:find("d:tonumber()", 1, true), body .. ": " .. e)
    end
    assert.truthy(box_error("return decimal(1) + '1'"):find("convert it with decimal(s)", 1, true))
    assert.truthy(box_error("return '1' + decimal(1)"):find("convert it with decimal(s)", 1, true))
    assert.truthy(box_error("return decimal(1) + {}"):find("table value", 1, true))
    assert.truthy(box_error("return decimal(1) < '2'"):find("compare a decimal with a string", 1, true))
    assert.truthy(box_error("return decimal(1) ^ 2"):find("arithmetic", 1, true))
    assert.truthy(box_error("return math.floor(decimal(1))"):find("number expected", 1, true))
    -- the explicit conversions work
    assert.are.same({ "0.1", 0.1 * 0.5 }, box_run("return { tostring(decimal(1) * decimal(0.1)), "
                                                     .. "decimal('0.5'):tonumber() * 0.1 }"))
  end)

  it("compares with floats as enigma.decimal does: NaN orders with nothing, inf beyond every decimal", function()
    local r = box_run([[
      local d = decimal("1.5")
      return { d < 2.0, d <= 1.5, d > 1.4999999, d < 0/0, 0/0 <= d, d < math.huge, -math.huge < d, d > math.huge,
               decimal("0.1") <= 0.1, d == 1.5, d == 1 }]])
    assert.are.same({ true, true, true, false, false, true, true, false, true, false, false }, r)
  end)

  it("makes decimals from decimals, integers, floats and text, and refuses what is not one", function()
    local r = box_run([[
      return { tostring(decimal(0.1)), tostring(decimal(-0.0)), tostring(decimal("-0")), tostring(decimal("-0.000")),
               tostring(decimal(math.mininteger)), tostring(decimal(math.maxinteger)), tostring(decimal("2.5E+3")),
               tostring(decimal("1e-5")), tostring(decimal(1e20)), tostring(decimal(decimal("7.70"))) }]])
    assert.are.same({ "0.1", "0", "0", "0.000", "-9223372036854775808", "9223372036854775807", "2500", "0.00001",
                      "100000000000000000000", "7.70" }, r)
    for _, text in ipairs({ "NaN", "nan", "Infinity", "-inf", "", " 1", "1 ", "0x10", "1e", "--1", "1..2", "1e+",
                            "\0" .. "1", "1\0" }) do
      local e = box_error(("return decimal(%q)"):format(text))
      assert.truthy(e:find("invalid decimal", 1, true), text .. ": " .. e)
    end
    assert.truthy(box_error("return decimal(0/0)"):find("NaN", 1, true))
    assert.truthy(box_error("return decimal(math.huge)"):find("inf", 1, true))
    assert.truthy(box_error("return decimal(true)"):find("got boolean", 1, true))
    assert.truthy(box_error("return decimal()"):find("bad argument", 1, true))
  end)

  it("is bounded: 100 digits, 40 after the point, refused with a catchable error", function()
    local r = box_run([[
      return { tostring(decimal(("9"):rep(100))), tostring(decimal("0." .. ("1"):rep(40))),
               tostring(decimal(("9"):rep(60) .. "." .. ("9"):rep(40))) }]])
    assert.are.same({ ("9"):rep(100), "0." .. ("1"):rep(40), ("9"):rep(60) .. "." .. ("9"):rep(40) }, r)
    local cases = {
      { "return decimal(('9'):rep(101))", "100 digits" },
      { "return decimal('1e400')", "exponent" },
      { "return decimal('1e-400')", "exponent" },
      { "return decimal('1e999999999999999999999')", "exponent" },
      { "return decimal('0.' .. ('1'):rep(41))", "after the point" },
      { "return decimal(('1'):rep(201))", "longer than" },
      { "return decimal(('0'):rep(10000) .. '1')", "longer than" },
      { "return decimal(1e300)", "100 digits" },
      { "return decimal(1e-300)", "after the point" },
      { "return decimal(('9'):rep(100)) + 1", "100 digits" },
      { "return decimal('0.' .. ('1'):rep(30)) * decimal('0.' .. ('1'):rep(30))", "round first" },
      { "return decimal(1):round(-101)", "scale out of range" },
      { "return decimal(1):round(41)", "scale out of range" },
      { "return decimal(('9'):rep(100)):div(decimal('0.1'), 0)", "100 digits" },
      { "return decimal(('9'):rep(100)) // decimal('0.1')", "100 digits" },
    }
    for _, case in ipairs(cases) do
      local e = box_error(case[1])
      assert.truthy(e:find(case[2], 1, true), case[1] .. ": " .. e)
    end
  end)

  it("cannot be grown past its bounds by repeated multiplication, and the box stays healthy", function()
    local r = box_run([[
      local d, n = decimal(2), 0
      local ok, e = pcall(function() while true do d = d * d n = n + 1 end end)
      local f, m = decimal("1.1"), 0
      local ok2, e2 = pcall(function() while true do f = f * decimal("1.1") m = m + 1 end end)
      return { ok, tostring(e), n, ok2, tostring(e2), m, tostring(decimal(1) + 1) }]])
    assert.is_false(r[1])
    assert.truthy(r[2]:find("100 digits", 1, true), r[2])
    assert.is_true(r[3] < 10)
    assert.is_false(r[4])
    assert.truthy(r[5]:find("round first", 1, true), r[5])
    assert.are.equal(39, r[6])
    assert.are.equal("2", r[7])
  end)

  it("charges its work to the instruction budget, so decimal loops end at the limit", function()
    local box = sandbox.new{}
    assert(box:load([[return { f = function()
      local d = decimal("1.000000000000000001")
      local one = decimal(1)
      while true do d = (d * one) / one + one - one end end }]], "=box", LIMITS))
    local run = box:start("f", { instructions = 200000, memory = 4 << 20, time = 5 })
    local ok, err, why = run:resume()
    assert.is_nil(ok)
    assert.are.equal("instruction limit", why, err)
    local used = run:used()
    assert.is_true(used >= 200000, tostring(used))
    run:close()
    box:close()
  end)

  it("many decimals are held by the box's memory limit", function()
    local res, err, why = box_run("local t = {} while true do t[#t + 1] = decimal(#t) end")
    assert.is_nil(res)
    assert.are.equal("memory limit", why, err)
  end)

  it("keeps its metatable and methods to itself", function()
    local r = box_run([[
      local d = decimal("1.5")
      local ok1 = pcall(setmetatable, d, {})
      local ok2 = pcall(function() d.tonumber = function() return 0 end end)
      local ok3 = pcall(rawset, d, "x", 1)
      local ok4 = pcall(function() getmetatable(decimal).__call = nil end)
      return { getmetatable(d), getmetatable(decimal), ok1, ok2, ok3, ok4, d:tonumber(), tostring(decimal(2)),
               rawequal(d, decimal(d)) }]])
    assert.are.same({ false, false, false, false, false, false, 1.5, "2", true }, r)
  end)

  it("crosses as a value: enigma.decimal in becomes a box decimal, and back out an enigma.decimal", function()
    local big = D("12345678901234567890.123456789012345678")
    local r = box_run([[
      return { x = x.amount + decimal("0.000000000000000001"), same = x.amount, kind = decimal.isdecimal(x.amount),
               nested = { { x.list[1] * 2 } }, zero = x.zero, neg = -x.amount }]],
      { amount = big, list = { D("0.5") }, zero = D("-0.000") })
    assert.is_true(r.kind)
    assert.is_true(decimal.isdecimal(r.x) and decimal.isdecimal(r.same))
    assert.are.equal("12345678901234567890.123456789012345679", tostring(r.x))
    assert.are.equal(tostring(big), tostring(r.same))
    assert.are.equal("1.0", tostring(r.nested[1][1]))
    assert.are.equal("0.000", tostring(r.zero))
    assert.are.equal("-12345678901234567890.123456789012345678", tostring(r.neg))
    assert.are.equal("enigma.decimal", getmetatable(r.x).__name)
  end)

  it("refuses to bring in a host decimal past its bounds, and any other userdata", function()
    for _, case in ipairs({ { D(("9"):rep(101)), "cannot enter the sandbox" }, { { D("1e-41") }, "cannot enter" },
                            { io.stdout, "cannot pass a userdata" },
                            { { D("1"), k = sandbox.new{} }, "cannot pass a userdata" } }) do
      local ok, err = pcall(box_run, "return x", case[1])
      assert.is_false(ok)
      assert.truthy(tostring(err):find(case[2], 1, true), err)
    end
  end)

  it("cannot key a table that leaves the box, and leaves as text never as its metatable", function()
    local _, err = box_run("return { [decimal(1)] = true }")
    assert.truthy(err:find("keyed by a userdata", 1, true), err)
    local r = box_run("return decimal('2.50')")
    assert.are.equal("2.50", tostring(r))
    assert.are.equal(D("2.5"), r)
  end)
end)

-- A strategy whose tick is `body`; sandboxed unless trusted.
local function strategy(body, trusted)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write("return { interval = 1, tick = function(ctx, activation)\n", body, "\nend }\n")
  f:close()
  local s = assert(strategies.load(path, "yield_optimizer_pro", { sandbox = not trusted }))
  os.remove(path)
  s.limits = LIMITS
  return s
end

local POOLS = {
  { pool = "main:1", implied_eth_price = D("2000.000000000000000000"), total_pool_size = D("1000000") },
  { pool = "high_volume:1", implied_eth_price = D("1990.5"), total_pool_size = D("500000") },
  { pool = "empty:1" },                  -- no ETH: no implied price
}

local function host(pools)
  return {
    pools = function() return pools or POOLS end,
    portfolio = function() return { total_value = D("12345678901234567890.123456789012345678") } end,
    activations = function() return {} end,
    recent = function() return {} end,
    now = function() return 1700000000 end,
  }
end

local function activation(limit)
  return { id = "a1", agent_type = "yield_optimizer_pro", configuration = {},
           allocation_limits = { max_allocation_usd = limit }, current_allocation = D("0") }
end

local function tick(body, limit, trusted, pools)
  local s = strategy(body, trusted)
  local out = strategies.tick(s, activation(limit), host(pools), {})
  strategies.close(s)
  return out
end

for _, trusted in ipairs({ false, true }) do
  local where = trusted and "a trusted strategy" or "the sandbox"

  describe("max_allocation_usd, in " .. where, function()
    local function refused(body, limit, pattern, pools)
      local out = tick(body, limit, trusted, pools)
      assert.is_false(out.ok, "not refused: " .. body)
      assert.truthy(tostring(out.error):find(pattern, 1, true), out.error)
      assert.are.same({}, out.proposals)
      assert.is_nil(out.allocation)
      return out
    end

    it("refuses 7000 ETH against 8000 USD at 2000 USD per ETH, and passes 3 ETH at its USD value", function()
      refused("ctx.propose{ type = 'rebalance', amount = 7000, token = 'ETH' }", 8000, "goes over the allocation limit")
      local out = tick("ctx.propose{ type = 'rebalance', amount = 3, token = 'eth' }", 8000, trusted)
      assert.is_true(out.ok, out.error)
      assert.are.equal("ETH", out.proposals[1].token)
      assert.are.equal(D("3"), out.proposals[1].amount)
      assert.are.equal(D("6000"), out.proposals[1].usd_value)   -- at the highest pool price
      out = refused("ctx.propose{ type = 'token_transfer', amount = decimal('4.000000000000000001'), token = 'WETH' }",
                    8000, "goes over the allocation limit")
      assert.truthy(out.error:find("(8000.000000000000002 USD)", 1, true), out.error)
    end)

    it("counts every USD action of one tick, summed exactly, stablecoins at 1", function()
      refused([[for _ = 1, 4 do ctx.propose{ type = 'rebalance', amount = decimal('2000.000000000000000001') } end]],
              8000, "this tick")
      local out = tick([[for _ = 1, 4 do ctx.propose{ type = 'rebalance', amount = decimal('2000') } end
                         ctx.propose{ type = 'yield_harvest', amount = 5, token = 'WBTC' }]], 8000, trusted)
      assert.is_true(out.ok, out.error)                          -- exactly the limit; a harvest is not a move
      assert.are.equal(5, #out.proposals)
      assert.is_nil(out.proposals[5].usd_value)                  -- no price, no USD value
      refused([[ctx.propose{ type = 'rebalance', amount = 1, token = 'ETH' }
                ctx.propose{ type = 'token_transfer', amount = decimal('6000.000000000000000001'), token = 'DAI' }]],
              8000, "this tick")
    end)

    it("refuses a token with no price, naming it, when a USD limit applies", function()
      refused("ctx.propose{ type = 'rebalance', amount = 1, token = 'WBTC' }", 8000, "WBTC has no USD price")
      refused("ctx.propose{ type = 'rebalance', amount = 1, token = 'ETH' }", 8000, "ETH has no USD price",
              { { pool = "empty:1" }, { pool = "odd:1", implied_eth_price = D("-5") } })
      local out = tick("ctx.propose{ type = 'rebalance', amount = 1, token = 'WBTC' }", nil, trusted)
      assert.is_true(out.ok, out.error)                          -- no limit: nothing to check
    end)

    it("takes decimal, integer and float amounts, exactly, and refuses NaN, inf, negatives and dust", function()
      local out = tick([[ctx.propose{ type = 'rebalance', amount = decimal('0.000000000000000001') }
                         ctx.propose{ type = 'rebalance', amount = 7 }
                         ctx.propose{ type = 'rebalance', amount = 0.1 }
                         ctx.propose{ type = 'rebalance', amount = -0.0 }
                         ctx.allocate(decimal('7999.9'))]], 8000, trusted)
      assert.is_true(out.ok, out.error)
      local amounts = {}
      for i, p in ipairs(out.proposals) do amounts[i] = tostring(p.amount) end
      assert.are.same({ "0.000000000000000001", "7", "0.1", "0" }, amounts)
      assert.are.equal(D("7999.9"), out.allocation)
      for _, case in ipairs({
        { "0/0", "must be finite" }, { "math.huge", "must be finite" }, { "-math.huge", "must be finite" },
        { "-1", "must not be negative" }, { "decimal('-0.000000000000000001')", "must not be negative" },
        { "decimal('0.0000000000000000001')", "more than 18 places" }, { "1e-30", "more than 18 places" },
        { "decimal('1e20')", "too large" }, { "1e300", "too large" }, { "'5'", "not string" },
        { "true", "not boolean" }, { "{}", "not table" },
      }) do
        refused(("ctx.propose{ type = 'rebalance', amount = %s }"):format(case[1]), 8000, case[2])
        refused(("ctx.allocate(%s)"):format(case[1]), 8000, case[2])
      end
      refused("ctx.allocate(decimal('8000.000000000000000001'))", 8000, "over the allocation limit")
      out = tick("ctx.allocate(8000)", 8000, trusted)
      assert.is_true(out.ok, out.error)
    end)

    it("refuses a limit that is not a finite number, instead of reading it as none", function()
      for _, limit in ipairs({ "8000", 0 / 0, math.huge, true }) do
        refused("ctx.propose{ type = 'rebalance', amount = 1 }", limit, "max_allocation_usd")
      end
      local out = tick("ctx.propose{ type = 'rebalance', amount = decimal('8000.5') }", D("8000.5"), trusted)
      assert.is_true(out.ok, out.error)
      out = tick("ctx.propose{ type = 'rebalance', amount = 1 }", 7999.5, trusted)
      assert.is_true(out.ok, out.error)
    end)

    it("writes the USD value exactly: amount times price, half up to 18 places", function()
      local pools = { { pool = "p:1", implied_eth_price = D("1999.999999999999999999") } }
      local out = tick("ctx.propose{ type = 'rebalance', amount = decimal('0.5'), token = 'ETH' }", nil, trusted, pools)
      assert.is_true(out.ok, out.error)
      assert.are.equal("1000.000000000000000000", tostring(out.proposals[1].usd_value))   -- ...9995 half up
      out = tick("ctx.propose{ type = 'rebalance', amount = decimal('0.25'), token = 'ETH' }", nil, trusted, pools)
      assert.are.equal("500.000000000000000000", tostring(out.proposals[1].usd_value))    -- ...99975 half up
      out = tick("ctx.propose{ type = 'rebalance', amount = 3, token = 'ETH' }", nil, trusted, pools)
      assert.are.equal("5999.999999999999999997", tostring(out.proposals[1].usd_value))   -- exact
      out = tick("ctx.propose{ type = 'rebalance', amount = decimal('0.2'), token = 'ETH' }", nil, trusted,
                 { { pool = "p:1", implied_eth_price = D("2000.000000000000000001") } })
      assert.are.equal("400.000000000000000000", tostring(out.proposals[1].usd_value))    -- ...0002 half up
      out = tick("ctx.propose{ type = 'rebalance', amount = decimal('0.000000000000000001'), token = 'ETH' }",
                 nil, trusted, pools)
      assert.are.equal("0.000000000000002000", tostring(out.proposals[1].usd_value))   -- 1e-18 * 1999.99..., half up
      out = tick("ctx.propose{ type = 'rebalance', amount = decimal('99999999999999999'), token = 'ETH' }",
                 nil, trusted, pools)
      assert.is_false(out.ok)
      assert.truthy(out.error:find("too large for NUMERIC", 1, true), out.error)
    end)
  end)

  describe("decimals in " .. where, function()
    it("behave the same: a balance read, changed exactly, proposed and allocated", function()
      local out = tick([[
        local v = ctx.portfolio().total_value
        local amount = v + decimal("0.000000000000000001")
        ctx.propose{ type = 'rebalance', amount = amount, note = tostring(v) }
        ctx.allocate(amount)
        ctx.log(v, amount > v, amount - v == decimal("1e-18"), (amount / 2):scale(), (v * decimal("0.1")):scale(),
                v:tonumber() > 1e19, decimal.isdecimal(v))
        ctx.state.v = v]], nil, trusted)
      assert.is_true(out.ok, out.error)
      local want = "12345678901234567890.123456789012345679"
      assert.are.equal(want, tostring(out.proposals[1].amount))
      assert.are.equal(want, tostring(out.proposals[1].usd_value))
      assert.are.equal(want, tostring(out.allocation))
      assert.are.same({ "12345678901234567890.123456789012345678 true true 18 19 true true" }, out.logs)
      assert.are.equal('{"v":12345678901234567890.123456789012345678}', out.state_json)
    end)
  end)
end

describe("a trusted strategy", function()
  it("has the same decimal(), and enigma.decimal's conversions (the sandbox refuses them)", function()
    local out = tick("ctx.log(tostring(decimal('1.5') + 1), decimal.isdecimal(decimal(1)))", nil, true)
    assert.is_true(out.ok, out.error)
    assert.are.same({ "2.5 true" }, out.logs)
    out = tick("ctx.log(tostring(decimal('1.5') * 0.1))", nil, false)
    assert.is_false(out.ok)
    assert.truthy(out.error:find("with a float", 1, true), out.error)
  end)
end)
