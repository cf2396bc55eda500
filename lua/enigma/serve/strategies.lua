--- enigma.serve.strategies: agent strategy scripts, and one tick of one activation.
--
-- A strategy is scripts/agents/<agent_type>.lua returning
--   { interval = seconds, limits = { instructions =, memory = bytes, time = seconds },
--     description = "...", tick = function(ctx, activation) ... end }
--
-- Each file is compiled and run in a sandbox of its own (enigma.sandbox): a separate Lua state
-- with allow-listed globals, where each tick is a run with an instruction budget, a memory cap
-- and a wall-clock limit (limits, capped by MAX; LIMITS when absent). Values cross into the
-- sandbox as plain data: numbers, strings, booleans, decimals and tables (SQL NULL is nil).
--
-- Money is exact. Every NUMERIC value (amounts, balances, prices, scores) reaches a strategy as
-- a decimal: in the sandbox a box decimal (bindings/sandbox/sandbox_decimal.c), in a trusted
-- strategy an enigma.decimal, with the same operations:
--   decimal(x)                   from a decimal, an integer, a float (its shortest decimal:
--                                decimal(0.1) is 0.1) or text ("1.50", "2e3"; no NaN/Infinity)
--   + - * // % and unary -       exact, with decimals and integers
--   a / b                        rounded half up to max(18, a's scale, b's scale) places;
--                                d:div(b, scale, mode) for another scale or rounding
--                                (modes half_up, half_even, down, up, floor, ceil)
--   < <= > >=                    with decimals, integers and floats; == is Lua's: true only
--                                between two decimals of equal value (d == 0 is always false:
--                                write d:iszero() or d == decimal(0))
--   tostring(d), d .. "", d:tonumber() (a float, for ratios), d:tointeger(), d:round(scale, mode),
--   d:scale(), d:sign(), d:abs(), d:iszero(), decimal.isdecimal(v)
-- In the sandbox arithmetic with a float or a string raises, naming the conversion: write
-- d * decimal(x) for an exact product, or d:tonumber() * x for a float ratio. (enigma.decimal,
-- in a trusted strategy, converts them silently; a strategy that runs in the sandbox behaves
-- the same in both.) A box decimal holds at most 100 digits, 40 after the point; a value or a
-- result past that raises (round with d:round(18)). A decimal kept in ctx.state is written to
-- JSON exactly, but read back by the JSON decoder: decimal(ctx.state.x) restores it whatever
-- number type the decoder gives.
--
-- Each activation ticks in an instance of its own: the file's top level runs again for it, with
-- its own globals, upvalues and module table, so nothing one user's tick keeps reaches another
-- user's. An instance may be dropped at any time (after a failed tick, or when a strategy has
-- INSTANCES of them); ctx.state is the one place a strategy keeps data across its ticks.
--
-- What a tick may do, all through ctx:
--   ctx.state                    a table kept per activation (JSON, at most STATE_MAX bytes),
--                                saved after each successful tick; survives reloads and restarts
--   ctx.now                      Unix seconds when the tick started
--   ctx.log(...)                 one log line (values joined by spaces)
--   ctx.pools()                  pool_statistics rows; each has `pool` = "<pool_type>:<chain_id>",
--                                turnover_24h (volume_24h / total_pool_size) and
--                                implied_eth_price ((total - stablecoins - other) / eth)
--   ctx.portfolio()              the user's user_portfolios row, or nil
--   ctx.activations()            the user's activations: id, agent_type, status,
--                                current_allocation, total_profit
--   ctx.recent([n])              this activation's last n (<= 100) agent transactions
--   ctx.propose{ type =, amount =, pool =, token =, note = }
--                                an action: a pending transactions row once the tick succeeds.
--                                type: rebalance, yield_harvest, stealth_generation or
--                                token_transfer; amount: a decimal, an integer or a finite float,
--                                >= 0, in `token` (default USDC), at most 18 places after the
--                                point and below 10^20 (NUMERIC(38,18)); pool, if given, must exist
--   ctx.allocate(usd)            sets the activation's current_allocation (USD; an amount as above)
--   ctx.pause(activation_id, reason)   pauses one of the same user's active activations
-- An invalid call (a negative, NaN or infinite amount, an unknown pool, more than allocation_limits'
-- max_allocation_usd in one tick) stops the tick with an error naming it, and nothing of the
-- tick is written. A tick that fails or breaks a limit leaves state and allocation as they were.
--
-- USD limits are checked in USD. max_allocation_usd bounds the USD value of the rebalance and
-- token_transfer actions of one tick, summed, and the allocation. The USD value of an action is
-- amount * price, exact, at the tick's prices:
--   USD, USDC, USDT, DAI         1 (stablecoins 1:1, as update_pool_statistics() counts them)
--   ETH, WETH                    the highest implied_eth_price of ctx.pools() ((total - stablecoins
--                                - other tokens) / ETH held, per pool): the schema keeps no price
--                                table, pool statistics are the prices the database was given,
--                                and the highest never values an action below any pool's price
--   any other token              no price: an action counted against a USD limit is refused
-- Each proposal's USD value (when its token has a price) is written to transactions.usd_value,
-- rounded half up to 18 places. Amounts and allocations reach the NUMERIC columns as decimals
-- (JSON number text), never through a double.
local enigma = require "enigma"
local sandbox = require "enigma.sandbox"
local json = require "enigma.json"
local service = require "enigma.serve.service"
local printable = service.printable   -- a strategy's text, made one safe line where it enters

local M = {}

M.TYPES = {
  yield_optimizer_pro = true, privacy_sentinel = true, risk_shield = true,
  arbitrage_hunter = true, liquidity_manager = true, strategy_bot = true,
}
--- Why a file named `name` is not loaded: it names no agent type, and how to make one.
function M.not_a_type(name)
  local types = {}
  for t in pairs(M.TYPES) do types[#types + 1] = t end
  table.sort(types)
  return ("'%s' is not an agent type (they are %s); name the file after one, or add the type "
          .. "(README, \"Adding an agent type\")"):format(name, table.concat(types, ", "))
end

M.LIMITS = { instructions = 10000000, memory = 8 << 20, time = 2 }   -- per tick, by default
M.MAX = { instructions = 100000000, memory = 64 << 20, time = 30 }  -- what a strategy may ask
M.BOX_MEMORY = 128 << 20          -- one strategy's whole state: its module and running ticks
M.STATE_MAX = 64 * 1024
M.INSTANCES = 16384               -- instances a strategy keeps (one per activation ticked; about
                                  -- 5 KB each for the shipped strategies)
M.ACTIONS = { rebalance = true, yield_harvest = true, stealth_generation = true, token_transfer = true }
M.MOVES = { rebalance = true, token_transfer = true }   -- count against max_allocation_usd
local USD = { USD = true, USDC = true, USDT = true, DAI = true }
local MAX_LOGS, MAX_PROPOSALS = 20, 50

local OPS = { "log", "propose", "allocate", "pause", "pools", "portfolio", "activations", "recent" }
local op_values = {}
for _, name in ipairs(OPS) do op_values[name] = sandbox.op(name) end

--- The agent type a file name stands for ("risk_shield.lua" -> "risk_shield"), or nil.
function M.name_of(filename)
  return filename:match("^([%w_]+)%.lua$")
end

--- The strategy table `def` (from `path`) validated: its limits, or nil and a message. Every
--- number is checked as `not (low <= v and v <= high)`, so NaN fails as any other bad value.
function M.check(def, path)
  if type(def) ~= "table" then return nil, path .. ": the script must return a table" end
  if def.tick ~= "function" and type(def.tick) ~= "function" then
    return nil, path .. ": field 'tick' (a function) is required"
  end
  if math.type(def.interval) == nil or not (def.interval >= 0.01 and def.interval <= 7 * 86400) then
    return nil, path .. ": field 'interval' must be a number of seconds between 0.01 and 604800"
  end
  if def.description ~= nil and type(def.description) ~= "string" then
    return nil, path .. ": field 'description' must be a string"
  end
  if def.limits ~= nil and type(def.limits) ~= "table" then
    return nil, path .. ": field 'limits' must be a table"
  end
  local limits = {}
  for k, dflt in pairs(M.LIMITS) do
    local v = def.limits and def.limits[k]
    if v == nil then
      limits[k] = dflt
    elseif math.type(v) == nil or not (v > 0) then  -- luacheck: ignore 581 (NaN must fail)
      return nil, ("%s: limits.%s must be a positive number"):format(path, k)
    elseif v > M.MAX[k] then
      return nil, ("%s: limits.%s = %g is over the runner's maximum %g"):format(path, k, v, M.MAX[k])
    else
      limits[k] = v
    end
  end
  for k in pairs(def.limits or {}) do
    if M.LIMITS[k] == nil then return nil, ("%s: unknown limit '%s'"):format(path, tostring(k)) end
  end
  return limits
end

--- The script `source` as a function of its environment, as the sandbox compiles it (so each
--- activation runs an instance of its own): the text must compile alone first, so the wrapper
--- cannot change how it parses. Returns the function, or nil and a message.
function M.compile(source, chunkname)
  local ok, err = load(source, chunkname, "t")
  if not ok then return nil, err end
  local pieces, i = { "return function(_ENV, ...) ", source, "\nend" }, 0
  local chunk = assert(load(function() i = i + 1 return pieces[i] end, chunkname, "t"))
  return chunk()
end

--- A fresh environment for a trusted instance: its own globals (and _G, and load's default)
--- over the host's.
function M.trusted_env()
  local env = setmetatable({ decimal = enigma.decimal }, { __index = _G })   -- the sandbox's `decimal`
  env._G = env
  env.load = function(chunk, name, mode, ...)
    if select("#", ...) == 0 then return load(chunk, name, mode, env) end
    return load(chunk, name, mode, ...)
  end
  return env
end

--- Compiles one strategy file: in a sandbox unless opts.sandbox == false (trusted code, in an
--- environment of its own). Returns the strategy, or nil and a message naming the file.
function M.load(path, name, opts)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local source = f:read("a")
  f:close()
  local s = {
    name = name, path = path,
    version = enigma.crypto.hex(enigma.crypto.keccak256(source)):sub(3, 14),
  }
  local def
  if not opts or opts.sandbox ~= false then
    s.box = sandbox.new{ memory = M.BOX_MEMORY, instances = M.INSTANCES }
    local lerr, why
    def, lerr, why = s.box:load(source, "@" .. path, M.LIMITS)
    if def == nil then
      s.box:close()
      return nil, ("%s: %s%s"):format(path, lerr, why ~= "error" and (" (" .. why .. ")") or "")
    end
  else
    local factory, cerr = M.compile(source, "@" .. path)
    if not factory then return nil, cerr end
    s.factory, s.instances, s.ninstances = factory, {}, 0
    local ok, res = pcall(factory, M.trusted_env())
    if not ok then return nil, ("%s: %s"):format(path, tostring(res)) end
    def = res
  end
  local limits, cerr = M.check(def, path)
  if not limits then
    if s.box then s.box:close() end
    return nil, cerr
  end
  s.interval, s.limits, s.description = def.interval, limits, def.description
  return s
end

--- Every strategy file in dir: { agent_type = strategy }, plus { name = message } for those that
--- failed. A file that names no agent type is a failure.
function M.load_dir(dir, opts)
  local names, err = enigma.sched.listdir(dir)
  if not names then return nil, err end
  table.sort(names)
  local loaded, failed = {}, {}
  for _, file in ipairs(names) do
    local name = M.name_of(file)
    if name then
      local s, serr
      if M.TYPES[name] then
        s, serr = M.load(dir .. "/" .. file, name, opts)
      else
        serr = ("%s/%s: %s"):format(dir, file, M.not_a_type(name))
      end
      if s then loaded[name] = s else failed[name] = serr end
    end
  end
  return loaded, failed
end

function M.close(s)
  if s.box then s.box:close() end
end

-- --- one tick ----------------------------------------------------------------------------

local function fail(fmt, ...)
  error(fmt:format(...), 0)
end

local decimal = enigma.decimal
local NUMERIC_LIMIT = decimal("1e20")   -- NUMERIC(38,18) holds less than this, 18 places after the point

--- A decimal's text without trailing zeros after the point, for messages.
local function trimmed(d)
  local s = tostring(d)
  if s:find(".", 1, true) then s = (s:gsub("0+$", ""):gsub("%.$", "")) end
  return s
end

--- `v` (a decimal, an integer or a finite float: its shortest decimal) as an exact decimal that
--- NUMERIC(38,18) holds: not negative, below 10^20, at most 18 places after the point.
local function amount_of(v, what)
  local d
  if decimal.isdecimal(v) then
    d = v
  elseif math.type(v) == "integer" then
    d = decimal(v)
  elseif math.type(v) == "float" then
    if v ~= v or v == math.huge or v == -math.huge then fail("%s must be finite", what) end
    d = decimal(v)
  else
    fail("%s must be a number or a decimal, not %s", what, type(v))
  end
  if d:sign() < 0 then fail("%s must not be negative (got %s)", what, d) end
  if d >= NUMERIC_LIMIT then fail("%s is %s, too large for NUMERIC(38,18)", what, d) end
  if d:round(18) ~= d then
    fail("%s has more than 18 places after the point (%s): round it, e.g. d:round(18, \"down\")", what, d)
  end
  return d
end

--- allocation_limits.max_allocation_usd as a decimal, or nil when there is none. A limit that is
--- present but not a finite number stops the tick: an unreadable limit is never read as none.
local function limit_of(activation, what)
  local limits = activation.allocation_limits
  local v = type(limits) == "table" and limits.max_allocation_usd
  if v == nil or v == false then return nil end
  if decimal.isdecimal(v) or math.type(v) == "integer" then return decimal(v) end
  if math.type(v) == "float" and v == v and v ~= math.huge and v ~= -math.huge then return decimal(v) end
  fail("%s: allocation_limits.max_allocation_usd is %s, not a finite number; no action is taken", what,
       tostring(v))
end

--- The USD price of one `token` (upper case) at this tick, as a decimal, or nil: see PRICES.
local function usd_price(t, token)
  if USD[token] then return decimal(1) end
  if token ~= "ETH" and token ~= "WETH" then return nil end
  if t.eth_price == nil then
    t.eth_price = false
    for _, row in ipairs(t.host.pools()) do
      local p = row.implied_eth_price
      if math.type(p) == "float" and (p ~= p or p == math.huge or p == -math.huge) then p = nil end
      p = p ~= nil and decimal(p) or nil
      if p and p > 0 and (not t.eth_price or p > t.eth_price) then t.eth_price = p end
    end
  end
  return t.eth_price or nil
end

-- The host side of each ctx function; `t` is the tick in progress.
local handlers = {}

function handlers.log(t, ...)
  if #t.logs >= MAX_LOGS then return end
  local parts = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    parts[i] = type(v) == "table" and json.encode(v) or tostring(v)
  end
  t.logs[#t.logs + 1] = printable(table.concat(parts, " "):sub(1, 500))
end

function handlers.pools(t)
  return t.host.pools()
end

function handlers.portfolio(t)
  return t.host.portfolio(t.activation)
end

function handlers.activations(t)
  return t.host.activations(t.activation)
end

function handlers.recent(t, n)
  n = n == nil and 10 or n
  if math.type(n) ~= "integer" or n < 1 or n > 100 then fail("ctx.recent: n must be an integer from 1 to 100") end
  return t.host.recent(t.activation, n)
end

function handlers.propose(t, p)
  if type(p) ~= "table" then fail("ctx.propose: expected a table, got %s", type(p)) end
  if #t.proposals >= MAX_PROPOSALS then fail("ctx.propose: more than %d actions in one tick", MAX_PROPOSALS) end
  local kind = p.type
  if not M.ACTIONS[kind] then
    fail("ctx.propose: type must be rebalance, yield_harvest, stealth_generation or token_transfer, not %s",
         tostring(kind))
  end
  local amount = amount_of(p.amount == nil and 0 or p.amount, "ctx.propose: amount")
  local token = p.token == nil and "USDC" or p.token
  if type(token) ~= "string" or not token:match("^[%w.]+$") or #token > 20 then
    fail("ctx.propose: token must be a symbol such as USDC or ETH")
  end
  token = token:upper()
  local pool = p.pool
  if pool ~= nil then
    if type(pool) ~= "string" then fail("ctx.propose: pool must be a string such as \"main:1\"") end
    local known = false
    for _, row in ipairs(t.host.pools()) do
      if row.pool == pool then known = true break end
    end
    if not known then fail("ctx.propose: unknown pool '%s'", pool) end
  end
  local note = p.note
  if note ~= nil and type(note) ~= "string" then fail("ctx.propose: note must be a string") end
  local price = usd_price(t, token)
  local usd = price and amount * price   -- exact
  local limit = limit_of(t.activation, "ctx.propose")
  if limit and M.MOVES[kind] then
    if not usd then
      fail("ctx.propose: %s has no USD price, so a %s of it cannot be checked against max_allocation_usd "
           .. "(priced: USD, USDC, USDT, DAI at 1; ETH and WETH at the pools' implied ETH price)", token, kind)
    end
    t.moved = t.moved + usd
    if t.moved > limit then
      fail("ctx.propose: %s of %s %s (%s USD) goes over the allocation limit (max_allocation_usd %s, %s USD this tick)",
           kind, trimmed(amount), token, trimmed(usd), trimmed(limit), trimmed(t.moved))
    end
  end
  usd = usd and usd:round(18)            -- half up, to the column's scale, as PostgreSQL would
  if usd and usd >= NUMERIC_LIMIT then
    fail("ctx.propose: %s %s is worth %s USD, too large for NUMERIC(38,18)", amount, token, usd)
  end
  t.proposals[#t.proposals + 1] = {
    tx_type = kind, amount = amount, token = token, pool = pool,
    note = note and printable(note:sub(1, 200)) or nil,
    usd_value = usd,
  }
  return #t.proposals
end

function handlers.allocate(t, usd)
  usd = amount_of(usd, "ctx.allocate: the allocation")
  local limit = limit_of(t.activation, "ctx.allocate")
  if limit and usd > limit then
    fail("ctx.allocate: %s USD is over the allocation limit (max_allocation_usd %s)", usd, limit)
  end
  t.allocation = usd
end

function handlers.pause(t, id, reason)
  if type(id) ~= "string" then fail("ctx.pause: expected an activation id") end
  if reason ~= nil and type(reason) ~= "string" then fail("ctx.pause: reason must be a string") end
  for _, a in ipairs(t.host.activations(t.activation)) do
    if a.id == id then
      if a.status ~= "active" then fail("ctx.pause: activation %s is %s, not active", id, a.status) end
      t.pauses[#t.pauses + 1] = { id = id,
        reason = printable((reason or "paused by " .. t.activation.agent_type):sub(1, 200)) }
      return true
    end
  end
  fail("ctx.pause: %s is not an activation of this user", id)
end

local function dispatch(t, op, ...)
  local h = handlers[op]
  if not h then fail("unknown ctx function '%s'", tostring(op)) end
  return h(t, ...)
end

local function check_state(state)
  if type(state) ~= "table" then return nil, "ctx.state must be a table, not " .. type(state) end
  local ok, text = pcall(json.encode, state)
  if not ok then return nil, "ctx.state cannot be kept as JSON: " .. tostring(text) end
  if #text > M.STATE_MAX then
    return nil, ("ctx.state is %d bytes of JSON, more than %d"):format(#text, M.STATE_MAX)
  end
  return text
end

-- The module of activation `id`'s instance of trusted strategy s, made on first use.
local function trusted_instance(s, id)
  local m = s.instances[id]
  if m then return m end
  if s.ninstances >= M.INSTANCES then s.instances, s.ninstances = {}, 0 end
  m = s.factory(M.trusted_env())
  if type(m) ~= "table" or type(m.tick) ~= "function" then error("the script must return a table with tick", 0) end
  s.instances[id], s.ninstances = m, s.ninstances + 1
  return m
end

local function forget(s, id)
  if s.instances[id] then s.instances[id], s.ninstances = nil, s.ninstances - 1 end
end

--- Runs one tick of strategy s for `activation` (plain data) with `state`. `host` answers the
--- data functions: pools(), portfolio(activation), activations(activation),
--- recent(activation, n), now(). Runs in the current task: a host function may yield.
--- Returns the outcome:
---   ok, error, reason ("error", "instruction limit", "memory limit", "time limit"),
---   state (table) and state_json, allocation, proposals, pauses, logs, ms, instructions
--- A failed tick has no proposals, pauses, allocation or state.
function M.tick(s, activation, host, state)
  local started = enigma.monotime()
  local t = { host = host, activation = activation, proposals = {}, pauses = {}, logs = {}, moved = 0 }
  local out = { logs = t.logs }
  local ctx = { state = state or {}, now = host.now and host.now() or os.time() }
  if s.box then
    for name, v in pairs(op_values) do ctx[name] = v end
    local run = s.box:start_for(tostring(activation.id), "tick", s.limits, ctx, activation)
    local r = table.pack(run:resume())
    while r[1] == "request" do
      local ok, res = pcall(function(...) return table.pack(dispatch(t, ...)) end, table.unpack(r, 2, r.n))
      if not ok then
        run:kill()
        r = { nil, tostring(res), "error" }
        break
      end
      r = table.pack(run:resume(table.unpack(res, 1, res.n)))
    end
    if r[1] == "done" then
      local ok, st = pcall(run.arg, run, 1, "state")
      if ok then out.ok, out.state = true, st else out.error, out.reason = "ctx.state: " .. tostring(st), "error" end
    else
      out.error, out.reason = r[2], r[3]
    end
    out.instructions = run:used()
    run:close()
    if not out.ok then s.box:forget(tostring(activation.id)) end   -- the next tick starts afresh
    -- An instance may keep what it allocates, tick after tick, within each tick's limit: once
    -- the box's instances hold half its memory, they all start again, so no activation's
    -- hoard fails another's tick.
    if s.box:memory() > M.BOX_MEMORY // 2 then s.box:reset() end
  else
    for _, name in ipairs(OPS) do ctx[name] = function(...) return dispatch(t, name, ...) end end
    local ok, err = xpcall(function() return trusted_instance(s, activation.id).tick(ctx, activation) end,
                           debug.traceback)
    if ok then out.ok, out.state = true, ctx.state else out.error, out.reason = tostring(err), "error" end
    if not ok then forget(s, activation.id) end
  end
  if out.ok then
    local text, serr = check_state(out.state)
    if text then
      out.state_json = text
    else
      out.ok, out.error, out.reason, out.state = nil, serr, "error", nil
    end
  end
  if out.ok then
    out.proposals, out.pauses, out.allocation = t.proposals, t.pauses, t.allocation
  else
    out.ok, out.proposals, out.pauses = false, {}, {}
    out.error = printable(tostring(out.error), true)   -- its lines, made safe
  end
  out.ms = (enigma.monotime() - started) * 1000
  return out
end

return M
