-- The sandbox under attack, through the real path: each attack is a strategy file ticked by
-- `enigma agents tick` (its own process, on a private cluster with the demo data). For each one
-- the host survives (an exit status, not a signal), the tick ends as it must (ok, an error or a
-- limit, within its time), nothing it proposed is written, and the next tick of the same
-- activation, running the same file, is healthy and writes its action.
local enigma = require "enigma"
local serve = require "serve"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local SRC = assert(os.getenv("ENIGMA_SOURCE_DIR"))
local ID = "c0000000-0000-4000-8000-000000000004"   -- a yield_optimizer_pro activation
local LIMITS = "{ instructions = 2000000, memory = 16 << 20, time = 0.5 }"
local db

setup(function()
  db = serve.cluster("attack")
  serve.sh(BIN .. " run " .. SRC .. "/scripts/demo/load.lua")
end)

teardown(function()
  if db then db:close() end
  serve.stop_cluster()
end)

local function one(sql, ...)
  return assert(db:query(sql, ...))[1]
end

-- The strategy: the attack on the activation's first tick, a healthy action on the next.
local function strategy(body, limits)
  return ("return { interval = 60, limits = %s, tick = function(ctx, activation)\n"
          .. "if activation.total_executions == 0 then\ndo\n%s\nend\nreturn end\n"
          .. "ctx.state.healthy = true\n"
          .. "ctx.propose{ type = 'yield_harvest', amount = 1, note = 'healthy' }\nend }"):format(limits or LIMITS, body)
end

local EXIT = { ok = 0, error = 1, limit = 3 }

--- Ticks `body` as an attack: `expect` is "ok", "error", "limit" or "any" (any of them);
--- `match` a text the error must contain; `seconds` how long the attack tick may take.
local function attack(body, expect, match, seconds, limits)
  assert(db:exec([[update user_agents set status = 'active', total_executions = 0,
                          consecutive_failures = 0, strategy_state = '{}' where id = $1]], ID))
  local dir = serve.jobdir()
  serve.write(dir, "yield_optimizer_pro", strategy(body, limits))
  local count = one("select count(*) as n from transactions").n
  local t0 = enigma.monotime()
  local code, out, err = serve.run_cmd(("%s agents tick %s --agents %s"):format(BIN, ID, dir))
  local took = enigma.monotime() - t0
  assert.is_true(code == 0 or code == 1 or code == 3, ("host died: exit %s\n%s%s"):format(code, out, err))
  if expect ~= "any" then assert.are.equal(EXIT[expect], code, out .. err) end
  if match then assert.truthy(err:find(match, 1, true), err) end
  assert.is_true(took < (seconds or 3), ("the attack tick took %.1f s"):format(took))
  assert.are.equal(count, one("select count(*) as n from transactions").n, "the attack wrote an action")
  if code ~= 0 then
    assert.are.same({}, one("select strategy_state from user_agents where id = $1", ID).strategy_state)
  end
  -- the next tick of the same activation and file is healthy
  code, out, err = serve.run_cmd(("%s agents tick %s --agents %s"):format(BIN, ID, dir))
  assert.are.equal(0, code, out .. err)
  assert.are.equal(count + 1, one("select count(*) as n from transactions").n)
  assert.is_true(one("select strategy_state from user_agents where id = $1", ID).strategy_state.healthy)
  return code, out, err
end

describe("a strategy cannot crash the host", function()
  it("40,000 coroutines closing each other from __close (Lua 5.4.4's unbounded C recursion)", function()
    attack([[local prev
      for i = 1, 40000 do
        local p = prev
        local co = coroutine.create(function()
          local x <close> = setmetatable({}, { __close = function() if p then coroutine.close(p) end end })
          coroutine.yield()
        end)
        coroutine.resume(co)
        prev = co
      end
      coroutine.close(prev)]], "any", nil, 5,
      "{ instructions = 50000000, memory = 64 << 20, time = 5 }")
  end)

  it("coroutines closing each other, with the error of each passed on", function()
    attack([[local prev
      for i = 1, 20000 do
        local p = prev
        local co = coroutine.create(function()
          local x <close> = setmetatable({}, { __close = function()
            if p then local ok, e = coroutine.close(p) if not ok then error(e, 0) end end end })
          coroutine.yield()
        end)
        coroutine.resume(co)
        prev = co
      end
      local ok, e = coroutine.close(prev)
      error(e, 0)]], "any", nil, 5, "{ instructions = 50000000, memory = 64 << 20, time = 5 }")
  end)

  it("coroutine.wrap errors unwinding through to-be-closed variables, nested", function()
    attack([[local function nest(n)
        return coroutine.wrap(function()
          local x <close> = setmetatable({}, { __close = function() if n > 0 then nest(n - 1)() end end })
          error("boom")
        end)
      end
      nest(100000)()]], "any")
  end)

  it("__index recursing forever", function()
    attack("local t = setmetatable({}, {}) getmetatable(t).__index = function(s, k) return s[k] end return t.x",
           "error")
  end)

  it("__tostring recursing through tostring", function()
    attack("local t t = setmetatable({}, { __tostring = function(s) return tostring(s) end }) return tostring(t)",
           "error")
  end)

  it("__concat, __eq, __lt and __len recursing", function()
    attack([[local mt = {}
      mt.__concat = function(a, b) return a .. b end
      mt.__lt = function(a, b) return a < b end
      mt.__len = function(a) return #a end
      local a, b = setmetatable({}, mt), setmetatable({}, mt)
      local r = { pcall(function() return a .. b end), pcall(function() return a < b end),
                  pcall(function() return #a end) }
      error("survived " .. #r, 0)]], "error", "survived")
  end)

  it("table.sort whose comparator sorts again, deeper and deeper", function()
    attack([[local function cmp(a, b) table.sort({ 3, 2, 1 }, cmp) return a < b end
      table.sort({ 5, 4, 3, 2, 1 }, cmp)]], "any")
  end)

  it("gsub whose replacement function calls gsub", function()
    attack([[local function f(c) return (c:gsub(".", f)) end
      return ("abc"):gsub(".", f)]], "any")
  end)

  it("a load reader that calls load", function()
    attack([[local function reader() return load(reader) and "" end
      load(reader)]], "any")
  end)

  it("coroutines resuming new coroutines, 200,000 deep", function()
    attack([[local function dive(n) if n == 0 then return 0 end
        local co = coroutine.create(dive) local ok, v = coroutine.resume(co, n - 1)
        if not ok then error(v, 0) end return v end
      dive(200000)]], "any")
  end)

  it("nested pcall past Lua's stack", function()
    attack("local function f() return pcall(f) end f() error('survived', 0)", "error", "survived")
  end)

  it("xpcall whose handler fails, recursively", function()
    attack([[local function h(e) error(e) end
      local function f() xpcall(f, h) error("x") end
      xpcall(f, h) error("survived", 0)]], "error", "survived", 8,
      "{ instructions = 2000000, memory = 16 << 20, time = 5 }")   -- slow under ASan: time to spare
  end)

  it("a __gc added to a metatable after setmetatable (never run)", function()
    attack([[local mt = {} local t = setmetatable({}, mt)
      mt.__gc = function() while true do end end
      t = nil error("no finalizer", 0)]], "error", "no finalizer")
  end)

  it("a metatable whose own __index hides __gc from a non-raw read", function()
    attack([[local mt = setmetatable({ __gc = function() while true do end end }, { __index = function() end })
      setmetatable({}, mt)]], "error", "__gc")
  end)

  it("yielding from the strategy, not through ctx", function()
    attack("coroutine.yield('request', 'log', 'x')", "error", "yielded outside a ctx call")
  end)

  it("a ctx.state that is cyclic or too deep", function()
    attack("local t = {} t.t = t ctx.state.x = t", "error")
  end)

  it("a ctx.state nested 100,000 deep", function()
    attack("local t = {} local top = t for i = 1, 100000 do t.x = {} t = t.x end ctx.state.x = top", "error")
  end)
end)

describe("a broken limit is final", function()
  local function swallowed(kind, body)
    it(kind .. ": caught, then the tick returns", function()
      attack(body .. " return", "limit")
    end)
    it(kind .. ": caught, then the tick proposes", function()
      attack(body .. " ctx.propose{ type = 'yield_harvest', amount = 5 }", "limit")
    end)
  end
  swallowed("an instruction limit", "pcall(function() while true do end end)")
  swallowed("a memory limit", "pcall(function() local t = {} while true do t[#t + 1] = ('x'):rep(1 << 16) .. #t end end)")
  swallowed("a time limit", "pcall(function() local s = ('x'):rep(1 << 20) while true do s:upper() end end)")

  it("caught by xpcall with a handler that loops", function()
    attack("xpcall(function() while true do end end, function() while true do end end) return", "limit")
  end)

  it("caught inside a coroutine the strategy resumes", function()
    attack([[local co = coroutine.wrap(function() while true do end end)
      pcall(co) ctx.propose{ type = 'yield_harvest', amount = 5 }]], "limit")
  end)

  it("caught by a __close handler that then proposes", function()
    attack([[do local x <close> = setmetatable({}, { __close = function()
        ctx.propose{ type = 'yield_harvest', amount = 5 } end })
      while true do end end]], "limit")
  end)

  it("caught inside a table.sort comparator", function()
    attack([[pcall(table.sort, { 3, 2, 1 }, function(a, b) while true do end end)
      ctx.propose{ type = 'yield_harvest', amount = 5 }]], "limit")
  end)

  it("caught inside a gsub callback", function()
    attack([[pcall(string.gsub, "abc", ".", function() while true do end end)
      ctx.propose{ type = 'yield_harvest', amount = 5 }]], "limit")
  end)

  it("caught, then every later pcall catches too", function()
    attack([[for i = 1, 100 do pcall(function() while true do end end) end
      ctx.log("still here")]], "limit")
  end)
end)

describe("long C work ends within the time limit", function()
  it("load fed 28 MiB through a reader", function()
    attack([[local piece = ("-- " .. ("x"):rep(1 << 16) .. "\n")
      local n = 0
      load(function() n = n + 1 if n <= 450 then return piece end end)
      ctx.log("load returned")]], "any", nil, 2,
      "{ instructions = 1e8, memory = 16 << 20, time = 0.5 }")
  end)

  it("load of a long string, many times", function()
    attack([[local s = ("-- " .. ("x"):rep(1 << 20) .. "\n"):rep(4)
      while true do load(s) end]], "limit", nil, 2, "{ instructions = 1e8, memory = 32 << 20, time = 0.5 }")
  end)

  it("string.rep, upper and reverse of 8 MB strings in a loop", function()
    attack([[local s = ("x"):rep(4 << 20)
      while true do local a = s:upper() local b = a:reverse() end]], "limit", nil, 2,
      "{ instructions = 1e8, memory = 32 << 20, time = 0.5 }")
  end)

  it("table.concat over a lying __len with an __index table", function()
    attack([[local t = setmetatable({}, { __len = function() return math.maxinteger end,
                                           __index = setmetatable({}, { __index = function() return "" end }) })
      table.concat(t)]], "limit")
  end)

  it("table.concat of empty strings from an __index table, no Lua code per element", function()
    attack([[local proto = {} for i = 1, 64 do proto[i] = "" end
      local t = setmetatable({}, { __index = setmetatable({}, { __index = function() return "" end }) })
      table.concat(t, "", 1, 1 << 40)]], "limit")
  end)

  it("string.format with long strings in a loop", function()
    attack([[local s = ("y"):rep(2 << 20) while true do local r = ("%s%s"):format(s, s) end]], "limit", nil, 2,
           "{ instructions = 1e8, memory = 32 << 20, time = 0.5 }")
  end)

  it("utf8.len and utf8.char over long strings", function()
    attack([[local s = ("é"):rep(1 << 20) while true do utf8.len(s) utf8.char(233, 233, 233) end]], "limit", nil, 2,
           "{ instructions = 1e8, memory = 32 << 20, time = 0.5 }")
  end)

  it("string.pack and unpack of long strings", function()
    attack([[local s = ("z"):rep(1 << 20) while true do local p = string.pack("s4s4", s, s) string.unpack("s4s4", p) end]],
           "limit", nil, 2, "{ instructions = 1e8, memory = 32 << 20, time = 0.5 }")
  end)

  it("table.sort of a big array", function()
    attack([[local t = {} for i = 1, 200000 do t[i] = (i * 7919) % 200003 end
      while true do table.sort(t, function(a, b) return a > b end) table.sort(t) end]], "limit", nil, 2,
      "{ instructions = 1e8, memory = 32 << 20, time = 0.5 }")
  end)

  it("table.sort with a C comparator the hook never sees", function()
    attack([[local t = {} for i = 1, 200000 do t[i] = i end
      while true do table.sort(t, rawequal) end]], "any", nil, 2, "{ instructions = 1e8, memory = 32 << 20, time = 0.5 }")
  end)

  it("string.rep of empty strings a maxinteger times (found by fuzz_sandbox)", function()
    attack([[local a = string.rep("", math.maxinteger) local b = ("").rep("", 1 << 40, "")
      error(("%d %d"):format(#a, #b), 0)]], "error", "0 0", 2)
  end)

  it("a backtracking pattern", function()
    attack([[("a"):rep(40):find(("a*"):rep(40) .. "b")]], "limit")
  end)

  it("string.byte unpacking a long string", function()
    attack([[local s = ("q"):rep(1 << 20) while true do select("#", s:byte(1, -1)) end]], "any", nil, 2,
           "{ instructions = 1e8, memory = 64 << 20, time = 0.5 }")
  end)

  it("table.unpack over the integer range", function()
    attack("table.unpack({}, math.mininteger, math.maxinteger)", "error", "too many results")
  end)
end)

describe("the table functions at the integer extremes", function()
  it("thirty caught calls with extreme bounds buy no instructions", function()
    attack([[local M, m = math.maxinteger, math.mininteger
      for i = 1, 30 do
        pcall(table.move, {}, m, M, 1) pcall(table.move, {}, 1, M, 2) pcall(table.insert, {}, m, 1)
        pcall(table.remove, {}, m) pcall(table.insert, setmetatable({}, { __len = function() return m end }), 1, 1)
      end
      for i = 1, 2e8 do end]], "limit", "instruction limit")
  end)

  it("table.move over the whole integer range is refused as Lua refuses it", function()
    attack("table.move({}, math.mininteger, math.maxinteger, 1)", "error", "too many elements to move")
  end)

  it("table.move that would wrap the destination", function()
    attack("table.move({}, 1, math.maxinteger, 2)", "error", "destination wrap around")
  end)

  it("table.insert at an extreme position: Lua's catchable error, naming insert", function()
    attack("table.insert({}, math.mininteger, 1)", "error", "bad argument #2 to 'insert' (position out of bounds)")
  end)

  it("table.remove at an extreme position: naming remove", function()
    attack("table.remove({}, math.maxinteger)", "error", "bad argument #1 to 'remove' (position out of bounds)")
  end)

  it("table.insert with a __len of maxinteger wraps as Lua's does", function()
    attack([[local t = setmetatable({}, { __len = function() return math.maxinteger end })
      table.insert(t, "x") error(tostring(rawget(t, math.mininteger)), 0)]], "error", "x")
  end)

  it("table.concat at the top of the integer range", function()
    attack("table.concat({}, '', math.maxinteger - 1, math.maxinteger)", "error", "invalid value (nil) at index")
  end)
end)

describe("validation of a strategy file", function()
  local function refused(fields, match)
    it("refuses " .. fields, function()
      local dir = serve.jobdir()
      serve.write(dir, "yield_optimizer_pro", ("return { %s, tick = function() end }"):format(fields))
      local code, out, err = serve.run_cmd(("%s agents tick %s --agents %s"):format(BIN, ID, dir))
      assert.are.equal(1, code, out .. err)
      assert.truthy(err:find(match, 1, true), err)
      code, out, err = serve.run_cmd(("%s run --sandbox %s/yield_optimizer_pro.lua"):format(BIN, dir))
      assert.are.equal(1, code, out .. err)
      assert.truthy(err:find(match, 1, true), err)
    end)
  end
  refused("interval = 0/0", "field 'interval'")
  refused("interval = math.huge", "field 'interval'")
  refused("interval = -1", "field 'interval'")
  refused("interval = '60'", "field 'interval'")
  refused("interval = 60, limits = { time = -1 }", "limits.time")
  refused("interval = 60, limits = { time = 0/0 }", "limits.time")
  refused("interval = 60, limits = { memory = 1e300 }", "limits.memory")
  refused("interval = 60, limits = { instructions = -math.huge }", "limits.instructions")
  refused("interval = 60, limits = { cpu = 1 }", "unknown limit 'cpu'")
  refused("interval = 60, description = 42", "field 'description'")
end)

describe("a strategy cannot forge the operator's log", function()
  it("a newline and a fake runner line in ctx.log stay one escaped line", function()
    local _, out, err = attack([[ctx.log("x\n2026-01-01T00:00:00Z runner A: job pwned succeeded")
      error("done", 0)]], "error", "done")
    local all = out .. err
    assert.is_nil(all:find("\n2026%-01%-01T00:00:00Z runner A"), all)
  end)

  it("an ESC sequence in ctx.log or in an error never reaches the terminal raw", function()
    local _, out, err = attack([[ctx.log("\27[2J\27]0;owned\7") error("\27[31mred", 0)]], "error")
    assert.is_nil((out .. err):find("\27", 1, true), out .. err)
  end)

  it("a million log lines are cut to the cap", function()
    local _, out, err = attack([[for i = 1, 1e6 do ctx.log(("y"):rep(10000)) end error("done", 0)]], "any", nil, 5,
                               "{ instructions = 1e8, memory = 16 << 20, time = 2 }")
    assert.is_true(#(out .. err) < 200000, #(out .. err))
  end)
end)

describe("ctx.state cannot carry what JSON cannot", function()
  it("a function in ctx.state fails the tick", function()
    attack("ctx.state.f = function() end", "error", "ctx.state")
  end)

  it("a ctx.state over its size cap fails the tick", function()
    attack("ctx.state.big = ('s'):rep(100000)", "error", "ctx.state is")
  end)
end)

describe("what leaves the box is bounded", function()
  it("a table that reuses its subtables (a DAG) cannot blow up in the host", function()
    attack([[local t = { string.rep("x", 1 << 20) }
      for i = 1, 24 do t = { t, t } end
      ctx.log(t)]], "error", "cannot leave the sandbox", 3)
  end)
end)
