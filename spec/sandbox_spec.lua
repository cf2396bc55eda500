-- The strategy sandbox (enigma.sandbox, enigma.serve.strategies) against escape attempts: each must be
-- stopped with a reason, and the same sandbox (and every other one) must stay healthy.
local sandbox = require "enigma.sandbox"
local strategies = require "enigma.serve.strategies"
local shell = require "shell"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local SMALL = { instructions = 2000000, memory = 4 << 20, time = 2 }

-- A strategy whose tick runs `body` (Lua text) in a fresh sandbox.
local function strategy(body, limits)
  local path = os.tmpname()
  local f = assert(io.open(path, "w"))
  f:write("return { interval = 1, tick = function(ctx, activation)\n", body, "\nend }\n")
  f:close()
  local s = assert(strategies.load(path, "yield_optimizer_pro"))
  os.remove(path)
  s.limits = limits or SMALL
  return s
end

local decimal = require "enigma.decimal"
-- What the database gives: NUMERIC columns as exact decimals.
local POOLS = { { pool = "main:1", pool_type = "main", chain_id = 1, total_pool_size = decimal("1000000.000000000000000000"),
                  turnover_24h = decimal("0.010000000000000000"), implied_eth_price = decimal("2000.000000000000000000") } }

local function host(extra)
  local h = {
    pools = function() return POOLS end,
    portfolio = function() return { privacy_score = decimal("50.00"), max_drawdown = decimal("1.5000") } end,
    activations = function() return { { id = "a2", status = "active", agent_type = "risk_shield",
                                         current_allocation = decimal("10"), total_profit = decimal("-5") } } end,
    recent = function() return {} end,
    now = function() return 1700000000 end,
  }
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

local ACTIVATION = { id = "a1", agent_type = "yield_optimizer_pro", configuration = {},
                     allocation_limits = { max_allocation_usd = 1000 }, current_allocation = 0 }

local function tick(s, state)
  return strategies.tick(s, ACTIVATION, host(), state or {})
end

-- The tick is stopped for `reason`, and the same sandbox runs a healthy tick right after.
local function contained(body, reason, pattern)
  local s = strategy("if ctx.state.healthy then ctx.state.n = 1 return end\n" .. body)
  local out = tick(s)
  assert.is_false(out.ok, "the tick was not stopped: " .. tostring(out.state_json))
  assert.are.equal(reason, out.reason, out.error)
  if pattern then assert.truthy(tostring(out.error):find(pattern), out.error) end
  assert.are.same({}, out.proposals)
  local again = tick(s, { healthy = true })
  assert.is_true(again.ok, again.error)
  assert.are.equal(1, again.state.n)
  strategies.close(s)
  return out
end

describe("the sandbox stops", function()
  it("a plain infinite loop", function()
    contained("while true do end", "instruction limit", "instruction limit exceeded")
  end)

  it("an infinite loop inside pcall, however often pcall catches", function()
    contained("while true do pcall(function() while true do end end) end", "instruction limit")
    contained("for i = 1, math.huge do xpcall(function() while true do end end, function() while true do end end) end",
              "instruction limit")
  end)

  it("an infinite loop inside coroutines", function()
    contained("local co = coroutine.wrap(function() while true do end end) co()", "instruction limit")
    contained([[
      local co = coroutine.create(function() while true do pcall(coroutine.yield) end end)
      while true do coroutine.resume(co) end]], "instruction limit")
  end)

  it("an infinite loop inside a string.gsub callback", function()
    contained("string.gsub(string.rep('a', 100), '.', function() while true do end end)", "instruction limit")
  end)

  it("a pattern that backtracks for hours in C", function()
    contained("return string.rep('a', 5000):find(string.rep('a*', 20) .. 'b')", "instruction limit")
    contained("for i = 1, 1e9 do string.find(string.rep('a', 3000), '.-.-.-b') end", "instruction limit")
  end)

  it("a loop that only a clock can stop", function()
    local s = strategy("while true do end", { instructions = 100000000, memory = 4 << 20, time = 0.2 })
    local out = tick(s)
    assert.are.equal("time limit", out.reason)
    assert.truthy(out.ms < 2000, out.ms)
    strategies.close(s)
  end)

  it("memory bombs: string.rep, table growth, concatenation", function()
    contained("local s = string.rep('x', 1 << 30)", "memory limit", "memory limit exceeded")
    contained("local t = {} for i = 1, 1e9 do t[i] = i end", "memory limit")
    contained("local s = 'xy' while true do s = s .. s end", "memory limit")
    contained("local t = {} while true do t[#t + 1] = {} end", "memory limit")
    contained("local parts = {} for i = 1, 1e9 do parts[i] = tostring(i) .. 'abcdefgh' end", "memory limit")
  end)

  it("a memory bomb that pcall catches", function()
    contained("local t = {} while true do pcall(function() t[#t + 1] = string.rep('x', 1 << 20) end) end", "memory limit")
  end)

  it("table functions driven by a lying __len: the shifting is work, charged", function()
    contained("local t = setmetatable({}, { __len = function() return 1 << 40 end }) table.insert(t, 1, 'x')",
              "instruction limit")
    contained("table.move({}, 1, 1 << 40, 2)", "instruction limit")
  end)
end)

describe("the sandbox has no", function()
  for _, name in ipairs({ "os", "io", "debug", "package", "require", "dofile", "loadfile",
                          "collectgarbage", "print" }) do
    it("global " .. name, function()
      local s = strategy(("ctx.state.v = type(%s)"):format(name))
      local out = tick(s)
      assert.is_true(out.ok, out.error)
      assert.are.equal("nil", out.state.v)
      strategies.close(s)
    end)
  end

  it("string.dump, not even through a string's methods", function()
    local s = strategy("ctx.state.a = type(string.dump) ctx.state.b = type(('').dump)")
    local out = tick(s)
    assert.are.same({ a = "nil", b = "nil" }, out.state)
    strategies.close(s)
  end)

  it("way to load a binary chunk", function()
    local binary = string.dump(function() return 1 end)
    local s = strategy("local f, err = load(ctx.state.code) ctx.state = { f = type(f), err = err }"
                       .. " local ok, e2 = pcall(load, ctx.state.code, 'x', 'b') ctx.state.e2 = tostring(e2)")
    local out = strategies.tick(s, ACTIVATION, host(), { code = binary })
    assert.is_true(out.ok, out.error)
    assert.are.equal("nil", out.state.f)
    assert.truthy(out.state.err:find("binary chunk", 1, true), out.state.err)
    assert.truthy(out.state.e2:find("only text chunks", 1, true), out.state.e2)
    strategies.close(s)
  end)

  it("__gc finalizers (they would run outside any budget)", function()
    contained("setmetatable({}, { __gc = function() while true do end end })", "error", "__gc")
  end)
end)

describe("the sandbox keeps to itself", function()
  it("the string metatable: hidden, and changes to string stay in one sandbox", function()
    local a = strategy([[
      ctx.state.mt = tostring(getmetatable(""))
      string.upper = function() return "pwned" end
      ctx.state.after = string.upper("x")
      ctx.state.method = ("x"):upper()]])
    local b = strategy("ctx.state.upper = ('x'):upper()")
    local out = tick(a)
    assert.is_true(out.ok, out.error)
    assert.are.equal("false", out.state.mt)
    assert.are.equal("pwned", out.state.after)          -- its own string library
    assert.are.equal("X", out.state.method)             -- methods: the box's, which nothing changes
    assert.are.equal("X", tick(b).state.upper)           -- not another strategy's
    assert.are.equal("X", ("x"):upper())                 -- nor the host's
    contained("getmetatable('').__index = function() end", "error")
    strategies.close(a)
    strategies.close(b)
  end)

  it("an error object whose __tostring loops: reported without running it", function()
    local out = contained("error(setmetatable({}, { __tostring = function() while true do end end }))", "error")
    assert.are.equal("(error object is a table value)", out.error)
  end)

  it("ctx: plain data and functions that only ask the host", function()
    local s = strategy([[
      ctx.state.mt = type(getmetatable(ctx))
      ctx.state.log = type(ctx.log)
      ctx.state.keys = 0
      for k in pairs(ctx) do ctx.state.keys = ctx.state.keys + 1 end]])
    local out = tick(s)
    assert.is_true(out.ok, out.error)
    assert.are.same({ mt = "nil", log = "function", keys = 10 }, out.state)
    strategies.close(s)
  end)

  it("no host value leaves through ctx", function()
    contained("ctx.propose{ type = 'rebalance', amount = 1, f = pairs }", "error", "function cannot leave")
    contained("ctx.state.f = pairs", "error", "ctx.state")
    contained("local t = {} t.t = t ctx.state.loop = t", "error", "ctx.state")
    contained("ctx.log(coroutine.create(pairs))", "error", "cannot leave")
  end)

  it("ctx functions called from a coroutine the tick made", function()
    contained("coroutine.wrap(function() ctx.pools() end)()", "error", "not from a coroutine")
  end)

  it("a yield outside ctx", function()
    contained("coroutine.yield('propose', { type = 'rebalance', amount = 1 })", "error", "outside a ctx call")
  end)
end)

describe("an invalid action", function()
  local cases = {
    { "ctx.propose{ type = 'rebalance', amount = -5 }", "must not be negative" },
    { "ctx.propose{ type = 'rebalance', amount = 5, pool = 'nowhere:9' }", "unknown pool 'nowhere:9'" },
    { "ctx.propose{ type = 'rebalance', amount = 600 } ctx.propose{ type = 'rebalance', amount = 600 }",
      "over the allocation limit" },
    { "ctx.allocate(5000)", "over the allocation limit" },
    { "ctx.propose{ type = 'governance_vote', amount = 1 }", "type must be" },
    { "ctx.propose{ type = 'rebalance', amount = 0/0 }", "finite" },
    { "ctx.pause('someone-else')", "not an activation of this user" },
  }
  for _, case in ipairs(cases) do
    it("stops the tick and keeps nothing: " .. case[1], function()
      -- a valid action first: it must not survive the invalid one
      contained("ctx.propose{ type = 'rebalance', amount = 1 } ctx.allocate(1)\n" .. case[1], "error", case[2])
    end)
  end

  it("not caught by the strategy's own pcall", function()
    contained("pcall(ctx.propose, { type = 'rebalance', amount = -1 }) ctx.state.survived = true", "error",
              "must not be negative")
  end)
end)

describe("a valid tick", function()
  it("gets its actions, allocation, pauses, logs and state back", function()
    local s = strategy([[
      ctx.log("pools", #ctx.pools(), "score", ctx.portfolio().privacy_score)
      ctx.propose{ type = "rebalance", amount = 250.5, pool = "main:1", note = "better" }
      ctx.allocate(250.5)
      ctx.pause("a2", "drawdown")
      ctx.state.n = (ctx.state.n or 0) + 1]])
    local out = strategies.tick(s, ACTIVATION, host(), { n = 41 })
    assert.is_true(out.ok, out.error)
    assert.are.same({ "pools 1 score 50.00" }, out.logs)
    local p = out.proposals[1]
    assert.are.equal(1, #out.proposals)
    assert.are.same({ "rebalance", "USDC", "main:1", "better" }, { p.tx_type, p.token, p.pool, p.note })
    assert.are.equal(decimal("250.5"), p.amount)     -- the float 250.5, made its shortest decimal
    assert.are.equal(decimal("250.5"), p.usd_value)
    assert.are.equal(decimal("250.5"), out.allocation)
    assert.are.same({ { id = "a2", reason = "drawdown" } }, out.pauses)
    assert.are.equal('{"n":42}', out.state_json)
    strategies.close(s)
  end)

  it("memory is per tick: a box survives many ticks that each use most of the cap", function()
    local s = strategy("local t = {} for i = 1, 100000 do t[i] = i end ctx.state.n = #t")
    for _ = 1, 30 do
      local out = tick(s)
      assert.is_true(out.ok, out.error)
    end
    strategies.close(s)
  end)
end)

describe("strategy files", function()
  it("a file that does not return a strategy is refused with its name", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("return { interval = 'soon', tick = function() end }")
    f:close()
    local s, err = strategies.load(path, "risk_shield")
    assert.is_nil(s)
    assert.truthy(err:find(path, 1, true) and err:find("interval", 1, true), err)
    f = assert(io.open(path, "w"))
    f:write("while true do end")
    f:close()
    s, err = strategies.load(path, "risk_shield")
    assert.is_nil(s)
    assert.truthy(err:find("instruction limit", 1, true), err)
    os.remove(path)
  end)

  it("every shipped strategy loads and ticks without a database", function()
    local loaded, failed = strategies.load_dir(os.getenv("ENIGMA_SOURCE_DIR") .. "/scripts/agents")
    assert.are.same({}, failed)
    local n = 0
    for name, s in pairs(loaded) do
      n = n + 1
      local act = { id = "a1", agent_type = name, configuration = {}, risk_parameters = {}, allocation_limits = {},
                    current_allocation = 0, total_profit = 0 }
      local out = strategies.tick(s, act, host(), {})
      assert.is_true(out.ok, name .. ": " .. tostring(out.error))
      strategies.close(s)
    end
    assert.are.equal(6, n)
  end)

  it("a file that names no agent type is refused with the types there are and how to add one", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local f = assert(io.open(dir .. "/newcomer_bot.lua", "w"))
    f:write("return { interval = 1, tick = function() end }")
    f:close()
    local loaded, failed = strategies.load_dir(dir)
    os.remove(dir .. "/newcomer_bot.lua")
    os.remove(dir)
    assert.are.same({}, loaded)
    local err = assert(failed.newcomer_bot)
    assert.truthy(err:find("'newcomer_bot' is not an agent type", 1, true), err)
    assert.truthy(err:find("risk_shield", 1, true), err)
    assert.truthy(err:find("Adding an agent type", 1, true), err)
  end)
end)

describe("enigma run --sandbox", function()
  local function run(src)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(src)
    f:close()
    local code, out, err = shell.run(BIN .. " run --sandbox " .. path)
    os.remove(path)
    return code, out, err
  end

  -- Every bad number a strategy can declare, NaN and infinities included, is refused the same
  -- way by the loader and by run --sandbox (no traceback, exit 1).
  local BAD = {
    "interval = 0/0", "interval = -(0/0)", "interval = math.huge", "interval = -math.huge",
    "interval = -1", "interval = 0", "interval = 1e309", "interval = math.mininteger",
    "interval = 1, limits = { time = 0/0 }", "interval = 1, limits = { time = -1 }",
    "interval = 1, limits = { memory = math.huge }", "interval = 1, limits = { instructions = -(0/0) }",
    "interval = 1, limits = { instructions = math.maxinteger }", "interval = '5'",
  }
  for _, fields in ipairs(BAD) do
    it("refuses " .. fields .. " as the loader does", function()
      local src = "return { " .. fields .. ", tick = function() end }"
      local path = os.tmpname()
      local f = assert(io.open(path, "w"))
      f:write(src)
      f:close()
      local s, lerr = strategies.load(path, "risk_shield")
      os.remove(path)
      assert.is_nil(s, fields)
      assert.truthy(lerr:find("interval", 1, true) or lerr:find("limits", 1, true), lerr)
      local code, out, err = run(src)
      assert.are.equal(1, code, out .. err)
      assert.is_nil(err:find("traceback", 1, true), err)
      assert.truthy(err:find("interval", 1, true) or err:find("limits", 1, true), err)
    end)
  end

  it("exits 0 and shows what a tick did", function()
    local code, out, err = run("return { interval = 1, tick = function(ctx) ctx.log('hi') "
                               .. "ctx.propose{ type = 'yield_harvest', amount = 2 } ctx.state.x = 1 end }")
    assert.are.equal(0, code, err)
    assert.truthy(out:find("log: hi", 1, true), out)
    assert.truthy(out:find("proposed yield_harvest 2 USDC", 1, true), out)
    assert.truthy(out:find('{"x":1}', 1, true), out)
  end)

  it("exits 1 on a script error", function()
    local code, _, err = run("return { interval = 1, tick = function(ctx) error('boom') end }")
    assert.are.equal(1, code)
    assert.truthy(err:find("boom", 1, true), err)
  end)

  it("exits 3 naming the limit, one line", function()
    for src, limit in pairs({ ["while true do end"] = "instruction limit",
                              ["local s = string.rep('x', 1 << 30)"] = "memory limit",
                              ["return { interval = 1, limits = { time = 0.2, instructions = 1e8 }, "
                               .. "tick = function() while true do end end }"] = "time limit" }) do
      local code, _, err = run(src)
      assert.are.equal(3, code, err)
      assert.truthy(err:find(limit, 1, true), err)
      assert.are.equal(1, select(2, err:gsub("\n", "")), err)
    end
  end)

  it("has no os or io", function()
    local code, _, err = run("os.exit(0)")
    assert.are.equal(1, code)
    assert.truthy(err:find("global 'os'", 1, true), err)
  end)
end)

describe("sandbox.new", function()
  it("refuses nonsense limits", function()
    assert.has_error(function() sandbox.new{ memory = -1 } end)
    local box = sandbox.new{}
    assert.has_error(function() box:start("tick", { time = 0 }) end)
    box:close()
    assert.has_error(function() box:memory() end, "sandbox is closed")
  end)

  it("a run that outlives its closed sandbox raises instead of touching freed memory", function()
    local box = sandbox.new{}
    assert(box:load("return { t = function(ctx) ctx.wait() end }", "=t", {}))
    local run = box:start("t", {}, { wait = sandbox.op("wait") })
    assert.are.equal("request", (run:resume()))
    box:close()
    assert.has_error(function() run:resume() end, "run:resume: the run has finished")
    assert.has_error(function() run:arg(1, "wait") end, "run:arg: the sandbox is closed")
  end)
end)

-- What a strategy writes (log lines, notes, pause reasons, its error) reaches logs, terminals and
-- the database; whatever bytes it holds, it arrives as safe text.
describe("a strategy's text", function()
  local service = require "enigma.serve.service"

  local function unsafe(s, lines)
    if not utf8.len(s) then return "invalid UTF-8" end
    for _, c in utf8.codes(s) do
      if (c < 32 and c ~= 9 and not (lines and c == 10)) or c == 127 or (c >= 0x80 and c <= 0x9F) then
        return ("U+%04X"):format(c)
      end
    end
  end

  it("service.printable leaves no control character, C1 control or invalid UTF-8, for any byte", function()
    for b = 0, 255 do
      for _, s in ipairs({ string.char(b), "a" .. string.char(b) .. "b", "\194" .. string.char(b) }) do
        assert.is_nil(unsafe(service.printable(s)), ("byte %d"):format(b))
        assert.is_nil(unsafe(service.printable(s, true), true), ("byte %d, lines kept"):format(b))
      end
    end
    assert.are.equal("a\\nb\\r\\x1B[2J\\u{9B}\\xFF\tc", service.printable("a\nb\r\27[2J\194\155\255\tc"))
    assert.are.equal("a\nb\\x1B", service.printable("a\nb\27", true))
    assert.are.equal("héllo ✓", service.printable("héllo ✓"))
  end)

  it("cannot forge a log line or reach the terminal through ctx.log, a note, a reason or its error", function()
    local s = strategy([[
      ctx.log("one\n2026-12-07T00:00:00.000Z runner fake\r\27[2J", "\194\155\255")
      ctx.propose{ type = "yield_harvest", amount = 1, note = "n\27]0;title\7" }
      ctx.pause("a2", "r\n\27[31m")
    ]])
    local out = strategies.tick(s, ACTIVATION, host(), {})
    assert.is_true(out.ok, tostring(out.error))
    assert.are.equal(1, #out.logs)
    assert.is_nil(unsafe(out.logs[1]), out.logs[1])
    assert.truthy(out.logs[1]:find("\\n2026-12-07T00:00:00.000Z runner fake", 1, true), out.logs[1])
    assert.is_nil(unsafe(out.proposals[1].note), out.proposals[1].note)
    assert.is_nil(unsafe(out.pauses[1].reason), out.pauses[1].reason)
    strategies.close(s)
    s = strategy([[error("boom\27[2J\r\nsecond\255line", 0)]])
    out = strategies.tick(s, ACTIVATION, host(), {})
    assert.is_false(out.ok)
    assert.is_nil(unsafe(out.error, true), out.error)
    assert.truthy(out.error:find("boom\\x1B[2J\\r\nsecond\\xFFline", 1, true), out.error)
    strategies.close(s)
  end)
end)

describe("each activation ticks in an instance of its own", function()
  local A = { id = "user-a", agent_type = "yield_optimizer_pro", user_id = "A", configuration = {} }
  local B = { id = "user-b", agent_type = "yield_optimizer_pro", user_id = "B", configuration = {} }

  -- Ticks `source` (a whole strategy file) for A, then for B; returns B's outcome.
  local function a_then_b(source, sandboxed)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(source)
    f:close()
    local s = assert(strategies.load(path, "yield_optimizer_pro", { sandbox = sandboxed }))
    os.remove(path)
    s.limits = SMALL
    local a = strategies.tick(s, A, host(), {})
    assert.is_true(a.ok, a.error)
    local b = strategies.tick(s, B, host(), {})
    assert.is_true(b.ok, b.error)
    local a2 = strategies.tick(s, A, host(), {})
    strategies.close(s)
    return b.state, a2.state
  end

  local LEAKS = {
    globals = [[return { interval = 1, tick = function(ctx, act)
      if stolen then ctx.state.seen = stolen end
      stolen = act.user_id end }]],
    upvalues = [[local kept = {}
      return { interval = 1, tick = function(ctx, act)
        if #kept > 0 then ctx.state.seen = kept[1] end
        kept[#kept + 1] = act.user_id end }]],
    ["the module table"] = [[local M = { interval = 1 }
      function M.tick(ctx, act) if M.last then ctx.state.seen = M.last end M.last = act.user_id end
      return M]],
    ["a library table"] = [[return { interval = 1, tick = function(ctx, act)
      if string.stash then ctx.state.seen = string.stash end
      string.stash = act.user_id end }]],
    ["_G"] = [[return { interval = 1, tick = function(ctx, act)
      if _G.stash then ctx.state.seen = _G.stash end
      _G.stash = act.user_id end }]],
    ["a chunk load makes"] = [[return { interval = 1, tick = function(ctx, act)
      local seen = load("return stash")()
      if seen then ctx.state.seen = seen end
      load("stash = ...")(act.user_id) end }]],
    ["a coroutine kept in a global"] = [[return { interval = 1, tick = function(ctx, act)
      if keeper then local _, v = coroutine.resume(keeper) ctx.state.seen = v end
      local id = act.user_id
      keeper = coroutine.create(function() while true do coroutine.yield(id) end end) end }]],
    ["the math library"] = [[return { interval = 1, tick = function(ctx, act)
      if math.stash then ctx.state.seen = math.stash end
      math.stash = act.user_id end }]],
    ["the decimal library"] = [[return { interval = 1, tick = function(ctx, act)
      if decimal.stash then ctx.state.seen = decimal.stash end
      decimal.stash = act.user_id end }]],
    ["math.random's state"] = [[return { interval = 1, tick = function(ctx, act)
      if act.user_id == "A" then
        if expect then ctx.state.seen = (math.random(1 << 30) == expect) and "A" or "disturbed"
        else
          math.randomseed(42) local _ = math.random(1 << 30) expect = math.random(1 << 30)
          math.randomseed(42) _ = math.random(1 << 30)
        end
      else
        for _ = 1, 10 do math.random() end       -- would advance A's generator if it were shared
      end end }]],
  }
  for what, source in pairs(LEAKS) do
    it("nothing flows from one user's tick to another's through " .. what, function()
      local b, a2 = a_then_b(source)
      assert.is_nil(b.seen)                  -- B never sees A's
      assert.are.equal("A", a2.seen)         -- while A's own instance keeps its own
    end)
    it("(trusted, with the sandbox off) nor through " .. what, function()
      if what == "a library table" or what:find("math", 1, true) or what:find("decimal", 1, true) then
        return                                   -- trusted code shares the host's libraries
      end
      local b = a_then_b(source, false)
      assert.is_nil(b.seen)
    end)
  end

  it("an instance whose tick failed is dropped: the next tick starts afresh", function()
    local s = strategy("ctx.state.kept = kept kept = ctx.state.phase if ctx.state.phase == 1 then error('once') end")
    assert.is_false(tick(s, { phase = 1 }).ok)
    local out = tick(s, { phase = 2 })
    assert.is_true(out.ok, out.error)
    assert.is_nil(out.state.kept)              -- not what the failed tick left
    assert.are.equal(2, tick(s, { phase = 3 }).state.kept)   -- a successful tick's instance is kept
    strategies.close(s)
  end)

  it("instances are counted, and a box keeps at most its cap", function()
    local box = sandbox.new{ instances = 3 }
    assert(box:load("local n = 0 return { f = function() n = n + 1 return n end }", "=t", {}))
    for i = 1, 5 do
      local _, v = box:start_for("k" .. i, "f", {}):resume()
      assert.are.equal(1, v)
    end
    assert.is_true(box:instances() <= 3)
    local _, v = box:start_for("k5", "f", {}):resume()
    assert.are.equal(2, v)
    box:forget("k5")
    _, v = box:start_for("k5", "f", {}):resume()
    assert.are.equal(1, v)
    box:close()
  end)

  it("a box starts its instances again before they fill half its memory", function()
    local box = sandbox.new{ memory = 8 << 20 }
    assert(box:load("local big = {} for i = 1, 10000 do big[i] = i end return { f = function() return #big end }",
                    "=t", {}))
    for i = 1, 100 do                          -- 100 instances of 160 KB: twice the box
      local st, v = box:start_for("k" .. i, "f", {}):resume()
      assert.are.equal("done", st, v)
      assert.are.equal(10000, v)
    end
    assert.is_true(box:instances() < 100)
    box:close()
  end)

  it("one activation's hoard, kept tick after tick, never fails another's tick", function()
    local cap = strategies.BOX_MEMORY
    strategies.BOX_MEMORY = 16 << 20
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write([[local hoard = {}
      return { interval = 1, tick = function(ctx, act)
        if act.user_id == "A" then hoard[#hoard + 1] = ("h"):rep(1 << 20)
        else local big = ("b"):rep(1 << 20) ctx.state.len = #big end end }]])
    f:close()
    local s = assert(strategies.load(path, "yield_optimizer_pro"))
    strategies.BOX_MEMORY = cap
    os.remove(path)
    s.limits = SMALL
    strategies.BOX_MEMORY = 16 << 20                     -- the reset's threshold is half of it
    for _ = 1, 16 do                                     -- 16 MiB hoarded: the whole box
      local a = strategies.tick(s, A, host(), {})
      assert.is_true(a.ok, a.error)
      local b = strategies.tick(s, B, host(), {})
      assert.is_true(b.ok, b.error)
    end
    strategies.BOX_MEMORY = cap
    strategies.close(s)
  end)

  it("the wrapper that makes instances cannot be escaped from the script's text", function()
    for _, source in ipairs({
      "end local shared = {} return function(_ENV, ...)",
      "end) (function() return {} end",
      "return {} end --",
      "]] return {}",
    }) do
      local box = sandbox.new{}
      local m, err = box:load(source, "=t", {})
      assert.is_nil(m, source)
      assert.is_string(err)
      box:close()
    end
  end)
end)

describe("the sandbox's library behaves as Lua's", function()
  -- Calls with arguments at the extremes, each run by stock Lua in the host and inside a box:
  -- the same results and the same (catchable) errors, message for message.
  local CALLS = {
    "table.insert({}, math.mininteger, 1)", "table.insert({}, math.maxinteger, 1)", "table.insert({}, 0, 1)",
    "table.insert({1, 2, 3}, 5, 1)", "table.insert({1, 2, 3}, 4, 9)", "table.insert({}, 1, 1, 1)",
    "table.insert({})", "table.insert(1, 1)", "table.insert({}, 1.5, 1)", "table.insert({}, '1', 1)",
    "table.insert(setmetatable({}, { __len = function() return math.mininteger end }), 1)",
    "table.insert(setmetatable({}, { __len = function() return math.maxinteger end }), 'x')",
    "table.insert(setmetatable({}, { __len = function() return 2.5 end }), 1)",
    "table.remove({}, math.mininteger)", "table.remove({}, math.maxinteger)", "table.remove({1, 2, 3}, 5)",
    "table.remove({1, 2, 3}, 4)", "table.remove({1, 2, 3}, 1)", "table.remove({})", "table.remove({}, 0)",
    "table.remove({}, -1)", "table.remove({}, 1)",
    "table.remove(setmetatable({}, { __len = function() return math.mininteger end }))",
    "table.move({}, math.mininteger, math.maxinteger, 1)", "table.move({}, 1, math.maxinteger, 2)",
    "table.move({1, 2, 3}, 1, 3, math.maxinteger)", "table.move({1, 2, 3}, 1, 3, math.maxinteger - 2)",
    "table.move({1, 2, 3}, math.maxinteger - 2, math.maxinteger, -10)", "table.move({1, 2, 3}, 3, 1, 1)",
    "table.move({1, 2, 3}, 1, 3, 2)", "table.move({1, 2, 3}, 2, 3, 1)", "table.move({1, 2, 3}, 1, 3, 1, 5)",
    "table.move({1, 2, 3}, math.mininteger, math.mininteger + 1, 1)", "table.move(1, 1, 1, 1)",
    "table.move({}, 1, 2, 3, setmetatable({}, { __newindex = function() end }))",
    "table.move({10, 20, 30}, 1, 3, 2)", "table.move({10, 20, 30}, 1, 3, 3)", "table.move({10, 20, 30}, 2, 3, 1)",
    "table.move({10, 20, 30, 40}, 1, 4, 2, {})", "table.move({10, 20, 30}, 1, 10, 1)", "table.move({45}, 1, 1, math.maxinteger)",
    "table.move({[math.maxinteger] = 100}, math.maxinteger, math.maxinteger, math.mininteger)",
    "(function() local a = {1, 2, 3, 4} table.insert(a, 2, 9) table.insert(a, 9) return a end)()",
    "(function() local a = {1, 2, 3, 4} return table.remove(a, 2), a end)()",
    "(function() local a = {5, 1, 4, 2, 3} table.sort(a) return a end)()",
    "table.concat({1, {}, 3})", "table.concat({}, '', math.maxinteger - 1, math.maxinteger)",
    "table.concat({1, 2, 3}, ', ', 2)", "table.concat({1, 2, 3}, nil, -1, 1)", "table.concat(1)",
    "table.concat({1, 2, 3}, ', ', math.maxinteger, math.mininteger)", "table.concat({'a', 'b'}, {})",
    "table.unpack({}, math.mininteger, math.maxinteger)", "table.unpack({1, 2, 3}, -1, 1)",
    "table.unpack({}, math.maxinteger, math.maxinteger)", "table.unpack({}, math.mininteger, math.mininteger + 1)",
    "table.sort({3, 1, 2})", "table.sort({3, 1, 2}, 1)", "table.sort({1, 'x'})",
    "table.sort({3, 1, 2}, function(a, b) return a > b end)",
    "table.sort(setmetatable({}, { __len = function() return math.maxinteger end }))",
    "table.pack(1, nil, 3)",
    "string.rep('x', -1)", "string.rep('x', math.maxinteger)",
    "string.rep('', 0)", "string.rep('', -5, '')",
    "string.rep('', 3)", "string.rep('', 3, ',')", "string.rep(',', 3, '')", "string.rep('', 1, '')",
    "string.rep('ab', 3, ',')", "('x'):rep(math.mininteger)",
    "string.format('%d', 2^63)", "string.format('%5.2f', 1/0)", "string.format('%q', 0/0)", "string.format('%99d', 1)",
    "string.format('%100d', 1)", "string.format('%q', math.mininteger)", "string.format('%d', '1')",
    "string.pack('i17', 1)", "string.pack('i0', 1)", "string.unpack('i4', 'abc')", "string.pack('z', 'a\\0b')",
    "string.pack('i1', 300)", "string.unpack('i4', 'abcd', math.mininteger)",
    "utf8.char(-1)", "utf8.char(0x7FFFFFFF)", "utf8.char(0x80000000)", "utf8.len('\\xff')", "utf8.offset('abc', 5)",
    "utf8.codepoint('abc', 1, 4)", "utf8.len('abc', math.mininteger)", "utf8.offset('abc', 1, math.maxinteger)",
    "string.sub('abc', math.mininteger, math.maxinteger)", "string.byte('abc', math.mininteger, math.maxinteger)",
    "string.char(256)", "string.char(-1)", "string.reverse(1)", "string.upper()",
    "tostring()", "tonumber('0x', 16)", "tonumber('z', 36)", "tonumber('10', 99)", "tonumber(1, 10)",
    "select(math.mininteger, 1)", "select(-1, 1, 2)", "select('#')",
    "load('x =', 'name')", "load(function() return {} end)", "load('return ...', 'c', 't', {})",
  }

  -- What a call returned: each value's type and text, a table's contents sorted.
  local DESCRIBED = [[
    local function value(v)
      local t = type(v)
      if t == "table" then
        local keys = {}
        for k, x in pairs(v) do keys[#keys + 1] = tostring(k) .. "=" .. tostring(x) end
        table.sort(keys)
        return "{" .. table.concat(keys, " ") .. "}"
      end
      return t == "function" and t or (math.type(v) or t) .. ":" .. tostring(v)
    end
    return function(...)
      local out = {}
      for i = 1, select("#", ...) do out[i] = value((select(i, ...))) end
      return table.concat(out, " | ")
    end]]
  local described = assert(load(DESCRIBED))()

  it("on " .. #CALLS .. " calls with arguments at the extremes", function()
    local expected = {}
    for i, call in ipairs(CALLS) do
      expected[i] = described(pcall(assert(load("return " .. call))))
    end
    local quoted = {}
    for i, call in ipairs(CALLS) do quoted[i] = ("%q"):format(call) end
    local source = ("local CALLS = { %s }\nlocal described = (function() %s end)()\n")
      :format(table.concat(quoted, ", "), DESCRIBED) .. [[
      return { run = function()
        local got = {}
        for i, call in ipairs(CALLS) do got[i] = described(pcall(load("return " .. call))) end
        return got
      end }]]
    local box = sandbox.new{}
    assert(box:load(source, "=calls", {}))
    local st, got = box:start("run", { instructions = 1e8, memory = 64 << 20, time = 10 }):resume()
    assert.are.equal("done", st, got)
    for i, call in ipairs(CALLS) do
      assert.are.equal(expected[i], got[i], call)
    end
    box:close()
  end)
end)
