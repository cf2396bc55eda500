--- enigma.serve.agents: ticks every active activation on its strategy's interval, inside `enigma serve`.
--
-- One control task (its own connection) claims due activations, refreshes the pool statistics
-- ticks read, and writes what ticks did in batches; each tick is a task of its own. Everything
-- runs as agent_executor (SET LOCAL ROLE in each transaction), which may do exactly what a tick
-- needs (schema/013_agents_runtime.sql).
--
-- Claims: an activation is due when next_tick_at (NULL: now) has come. A claim moves it, with
-- FOR UPDATE SKIP LOCKED, to the first point of its interval grid after now, so any number
-- of runners share the activations, each tick runs on one of them, and an activation
-- overdue by many intervals (after downtime) ticks once. Due times are judged by the
-- database's clock; deadlines and waits by a monotonic one (agents.CLOCK). A runner that
-- dies mid-tick loses that tick; the next one comes an interval later. Only activations that
-- are 'active', of an agent that is active and not in maintenance, within the agent's first
-- max_concurrent_users activations (by activation time)
-- are claimed, and only for agent types whose strategy loaded.
--
-- Accounting, per tick, in one transaction with its proposals: the activation's executions,
-- successes, failures, last_execution_at, current_allocation, strategy_state; the agent's totals
-- and avg_execution_time_ms. After max_failures consecutive failures the activation goes to
-- 'error'. A batch the database refuses is written again tick by tick; a tick whose own writes
-- are refused (say its activation was paused meanwhile) is recorded as failed with the reason.
--
-- Its control task and connection are an enigma.serve.control, the ticks' reader connections an
-- enigma.serve.pool; enigma.serve.server starts and stops it. The SQL is in sql/agents_*.sql.
local enigma = require "enigma"
local control = require "enigma.serve.control"
local pool = require "enigma.serve.pool"
local service = require "enigma.serve.service"
local strategies = require "enigma.serve.strategies"
local BATCH = 1000          -- activations per claim, outcomes per write
local FLUSH_EVERY = 0.05    -- seconds an outcome may wait to be written
local POOLS_EVERY = 1       -- seconds between pool statistics reads
local READERS = 4           -- connections for the ticks' own reads

local json, sched, SQL = enigma.json, enigma.sched, service.statements("agents_")
local log, first_line, query = service.log, service.first_line, service.query
local is_connection_error, message_of = service.is_connection_error, service.message_of

local agents = {}
local Agents = {}
Agents.__index = Agents

local function short(id)
  return tostring(id):sub(1, 8)
end

--- Plain data for the sandbox: enigma.null becomes nil; decimals stay exact enigma.decimal values
--- (a box gets them as box decimals).
local function plain(v)
  if v == enigma.null then return nil end
  local t = type(v)
  if t == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = plain(x) end
    return out
  elseif t == "userdata" and not enigma.decimal.isdecimal(v) then
    return tostring(v)
  end
  return v
end

--- A tick row from sql/agents_tick_rows.sql, as plain data: its portfolio_* columns folded into
--- row.portfolio (nil when the user has no portfolio).
local function tick_row(r)
  r = plain(r)
  if not r then return nil end
  local portfolio = {}
  for k, v in pairs(r) do
    local field = type(k) == "string" and k:match("^portfolio_(.+)$")
    if field then
      portfolio[field] = v
      r[k] = nil
    end
  end
  r.portfolio = r.has_portfolio and portfolio or nil
  r.has_portfolio = nil
  return r
end

local function tick_rows(rows)
  local out = {}
  for i, r in ipairs(rows) do out[i] = tick_row(r) end
  return out
end

--- fn(tx) in a transaction as agent_executor, with statement_timeout `ms` when given.
local function as_executor(db, ms, fn)
  return db:transaction(function(tx)
    query(tx, "select set_config('role', 'agent_executor', true)")
    if ms then query(tx, "select set_config('statement_timeout', $1, true)", tostring(math.max(1, ms // 1))) end
    return fn(tx)
  end)
end

-- --- setting up --------------------------------------------------------------------------

--- The clocks the ticker reads: `mono` (seconds on a monotonic clock: deadlines, waits), `wall`
--- (Unix seconds: ctx.now and the time a tick is recorded at) and `db` (the time due ticks are
--- judged by, Unix seconds, or nil for the database's own clock, as in production). Tests pass
--- a fake one.
agents.CLOCK = {
  mono = enigma.monotime,
  wall = sched.now,
  db = function() return nil end,
}

--- opts: dir (scripts/agents), url, sandbox (default true), max_failures (3), quiet, clock
--- (agents.CLOCK).
function agents.new(opts)
  local self = setmetatable({
    clock = opts.clock or agents.CLOCK,
    dir = opts.agents_dir or opts.dir or enigma.paths.scripts .. "/agents",
    url = opts.url,
    sandbox = opts.sandbox ~= false,
    max_failures = opts.max_failures or 3,
    lookahead = opts.lookahead or 0.25,
    quiet = opts.quiet,
    strategies = {},   -- agent_type -> strategy
    outcomes = {},     -- ticks done, not yet written
    latest = {},       -- activation id -> { state_json, allocation } of its last unwritten tick
    live = {},         -- activation id -> true while its tick runs
    inflight = 0,
    stats = { ticks = 0, failed = 0 },
  }, Agents)
  self.ctl = control.new(self, { url = self.url, name = "agents" })
  self.readers = pool.new({ url = self.url, size = READERS })
  return self
end

function Agents:install(s)
  local old = self.strategies[s.name]
  self.strategies[s.name] = s
  s.inflight = 0
  if old then self:retire(old) end
end

-- An old version closes once the ticks running on it are done.
function Agents:retire(s)
  s.retired = true
  if s.inflight == 0 then strategies.close(s) end
end

function Agents:load_all()
  local loaded, failed = strategies.load_dir(self.dir, { sandbox = self.sandbox })
  if not loaded then return nil, failed end
  for name, err in pairs(failed) do log("agent %s: %s; not loaded", name, first_line(err)) end
  local n = 0
  for _, s in pairs(loaded) do
    self:install(s)
    n = n + 1
  end
  return n
end

--- A strategy file changed (or appeared, or went): load it again after a moment for the writer.
function Agents:changed(filename)
  if self.stopping then return end
  local name, path, exists = service.settle(self, self.dir, filename, strategies.name_of)
  if not name then return end
  local old = self.strategies[name]
  if not exists then
    if old then
      self.strategies[name] = nil
      self:retire(old)
      log("agent %s: strategy removed", name)
    end
    return
  end
  if not strategies.TYPES[name] then
    log("agent %s: %s; not loaded", name, strategies.not_a_type(name))
    return
  end
  local s, err = strategies.load(path, name, { sandbox = self.sandbox })
  if not s then
    log("agent %s: %s; %s", name, first_line(err), old and "the previous version keeps running" or "not loaded")
    return
  end
  if old and old.version == s.version then
    strategies.close(s)
    return
  end
  self:install(s)
  log("agent %s %s (version %s)", name, old and "reloaded" or "added", s.version)
  self:poke()
end

function Agents:types()
  local names, every = {}, {}
  for name, s in pairs(self.strategies) do
    names[#names + 1] = name
    every[#every + 1] = s.interval
  end
  return names, every
end

-- --- reads for ticks ---------------------------------------------------------------------

--- Rows of `sql` as agent_executor on a reader connection, within `ms` milliseconds. A lost
--- connection marks `host` (the tick's): the tick is abandoned, not counted as a failure.
function Agents:read(host, ms, sql, ...)
  local ok, db = pcall(self.readers.acquire, self.readers)
  if not ok then
    host.unavailable = true
    error("database: " .. first_line(db), 0)
  end
  local args = table.pack(...)
  local rows
  ok, rows = pcall(as_executor, db, ms, function(tx)
    return query(tx, sql, table.unpack(args, 1, args.n))
  end)
  local lost = not ok and is_connection_error(rows)
  self.readers:release(db, lost)
  if lost then host.unavailable = true end
  if not ok then error("database: " .. first_line(message_of(rows)), 0) end
  return plain(rows)
end

-- The host side of a tick's data functions.
function Agents:host_for(row, deadline)
  local host, cache = {}, {}
  local function left_ms()
    return math.max(1, (deadline - self.clock.mono()) * 1000)
  end
  host.now = function() return math.floor(self.clock.wall()) end
  host.portfolio = function() return row.portfolio end
  host.pools = function()
    if not self.pool_rows then self.pool_rows = self:read(host, left_ms(), SQL.pools) end
    return self.pool_rows
  end
  host.activations = function()
    cache.activations = cache.activations or self:read(host, left_ms(), SQL.activations, row.user_id)
    return cache.activations
  end
  host.recent = function(_, n) return self:read(host, left_ms(), SQL.recent, row.agent_id, row.user_id, n) end
  return host
end

-- --- ticks -------------------------------------------------------------------------------

local ACTIVATION_FIELDS = {
  "id", "user_id", "agent_id", "agent_type", "status", "configuration", "risk_parameters",
  "allocation_limits", "current_allocation", "total_profit", "total_executions",
  "successful_executions", "failed_executions", "consecutive_failures", "last_execution_at",
  "activated_at", "wallet",
}

--- Runs one tick of a claimed (plain) row now; queues its outcome. Returns the outcome.
function Agents:tick(row)
  local s = self.strategies[row.agent_type]
  if not s or self.live[row.id] then return nil end
  self.live[row.id] = true
  self.inflight = self.inflight + 1
  s.inflight = s.inflight + 1
  local activation = {}
  for _, k in ipairs(ACTIVATION_FIELDS) do activation[k] = row[k] end
  local latest = self.latest[row.id]
  local state = row.strategy_state
  if latest and latest.state_json then state = json.decode(latest.state_json) end
  if latest and latest.allocation then activation.current_allocation = latest.allocation end
  local deadline = self.clock.mono() + s.limits.time
  local host = self:host_for(row, deadline)
  local ok, out = pcall(strategies.tick, s, activation, host, plain(state) or {})
  if not ok then
    out = { ok = false, error = tostring(out), reason = "error", proposals = {}, pauses = {}, logs = {}, ms = 0 }
  end
  s.inflight = s.inflight - 1
  if s.retired and s.inflight == 0 then strategies.close(s) end
  self.live[row.id] = nil
  self.inflight = self.inflight - 1
  if host.unavailable and not out.ok then   -- not the strategy's fault: not counted
    log("agent %s %s: tick abandoned: %s", row.agent_type, short(row.id), first_line(out.error))
    return out
  end
  out.row, out.version, out.at = row, s.version, self.clock.wall()
  self.outcomes[#self.outcomes + 1] = out
  if out.ok and (out.state_json or out.allocation) then
    self.latest[row.id] = { state_json = out.state_json, allocation = out.allocation, out = out }
  end
  self.stats.ticks = self.stats.ticks + 1
  for _, line in ipairs(out.logs) do log("agent %s %s: %s", row.agent_type, short(row.id), line) end
  if not out.ok then
    self.stats.failed = self.stats.failed + 1
    log("agent %s %s: tick failed (%s): %s", row.agent_type, short(row.id), out.reason, first_line(out.error))
  elseif not self.quiet and (#out.proposals > 0 or #out.pauses > 0) then
    log("agent %s %s: %d action(s), %d pause(s) in %.1f ms", row.agent_type, short(row.id),
        #out.proposals, #out.pauses, out.ms)
  end
  if #self.outcomes >= BATCH then self:poke() end
  return out
end

-- --- writing outcomes ----------------------------------------------------------------------

-- The statements' arguments for a list of outcomes.
local function batch_of(list)
  local proposals, pauses, accounts, by_agent, order = {}, {}, {}, {}, {}
  for _, out in ipairs(list) do
    local row = out.row
    for i, p in ipairs(out.proposals) do
      proposals[#proposals + 1] = {
        user_id = row.user_id, wallet = row.wallet, tx_type = p.tx_type, subcategory = row.agent_type,
        amount = p.amount, token = p.token, usd_value = p.usd_value, agent_id = row.agent_id,
        execution_id = ("%s:%d:%d"):format(row.id, math.floor(out.at * 1000), i),
        ms = math.floor(out.ms + 0.5),
        metadata = { activation_id = row.id, pool = p.pool, note = p.note, strategy_version = out.version },
      }
    end
    for _, p in ipairs(out.pauses) do pauses[#pauses + 1] = { id = p.id, user_id = row.user_id } end
    local a = accounts[row.id]
    if not a then
      a = { id = row.id, n = 0, s = 0, tail = 0 }
      accounts[row.id] = a
      order[#order + 1] = a
    end
    a.n, a.at = a.n + 1, out.at
    if out.ok then
      a.s, a.tail, a.error = a.s + 1, 0, nil
      if out.state_json then a.state = out.state end
      if out.allocation then a.allocation = out.allocation end
    else
      a.tail = a.tail + 1
      a.error = service.clean_text(("%s: %s"):format(out.reason, first_line(out.error)):sub(1, 1000))
    end
    local g = by_agent[row.agent_id]
    if not g then
      g = { id = row.agent_id, n = 0, s = 0, ms = 0 }
      by_agent[row.agent_id] = g
    end
    g.n, g.ms, g.at = g.n + 1, g.ms + out.ms, out.at
    if out.ok then g.s = g.s + 1 end
  end
  local agents_list = {}
  for _, g in pairs(by_agent) do agents_list[#agents_list + 1] = g end
  table.sort(agents_list, function(x, y) return x.id < y.id end)   -- one lock order for every runner
  table.sort(order, function(x, y) return x.id < y.id end)
  return proposals, pauses, order, agents_list
end

function Agents:write_batch(list)
  local proposals, pauses, accounts, agent_rows = batch_of(list)
  local errored = {}
  as_executor(self.ctl.db, nil, function(tx)
    if #proposals > 0 then query(tx, SQL.propose, proposals) end
    if #pauses > 0 then query(tx, SQL.pause, pauses) end
    for _, r in ipairs(query(tx, SQL.account, accounts, self.max_failures)) do
      if r.status == "error" then errored[#errored + 1] = r.id end
    end
    query(tx, SQL.agent, agent_rows)
  end)
  return errored
end

--- Writes the queued outcomes: a batch at a time; a refused batch tick by tick.
function Agents:flush()
  while #self.outcomes > 0 do
    local list = self.outcomes
    self.outcomes = {}
    local ok, res = pcall(self.write_batch, self, list)
    if not ok and is_connection_error(res) then
      table.move(self.outcomes, 1, #self.outcomes, #list + 1, list)
      self.outcomes = list
      error(res, 0)
    end
    if not ok then
      for _, out in ipairs(list) do
        local ok1, res1 = pcall(self.write_batch, self, { out })
        if not ok1 and is_connection_error(res1) then error(res1, 0) end
        if not ok1 then
          log("agent %s %s: the database refused the tick's actions: %s", out.row.agent_type,
              short(out.row.id), first_line(message_of(res1)))
          out.ok, out.reason, out.proposals, out.pauses = false, "error", {}, {}
          out.error = "the database refused the tick's actions: " .. first_line(message_of(res1))
          out.state_json, out.allocation = nil, nil
          self:write_batch({ out })
        else
          self:noted(res1)
        end
      end
    else
      self:noted(res)
    end
    for _, out in ipairs(list) do
      local l = self.latest[out.row.id]
      if l and l.out == out then self.latest[out.row.id] = nil end
    end
  end
end

function Agents:noted(errored)
  for _, id in ipairs(errored) do
    log("agent activation %s: %d consecutive failures; status set to 'error'", short(id), self.max_failures)
  end
end

-- --- the control task --------------------------------------------------------------------

function Agents:poke()
  self.ctl:poke()
end

function Agents:claim()
  local names, every = self:types()
  if #names == 0 then return {}, 5 end
  local rows = as_executor(self.ctl.db, nil, function(tx)
    local claimed = query(tx, SQL.claim, names, every, self.lookahead, BATCH, self.clock.db())
    if #claimed == 0 then return claimed end
    local ids, delay = {}, {}
    for i, c in ipairs(claimed) do
      ids[i] = c.id
      delay[c.id] = c.delay
    end
    local got = query(tx, SQL.tick_rows, ids)
    for _, r in ipairs(got) do r.delay = delay[r.id] end
    return got
  end)
  if #rows >= BATCH then return tick_rows(rows), 0 end
  local wait = query(self.ctl.db, SQL.next, names, self.clock.db())[1].wait
  return tick_rows(rows), wait == enigma.null and 5 or wait
end

function Agents:start_tick(row)
  sched.spawn(function()
    if row.delay > 0.001 then sched.sleep(row.delay + 0.001) end
    if self.stopping then return end
    self:tick(row)
  end)
end

function Agents:cycle()
  self:flush()
  if self.stopping then
    if self.inflight == 0 and #self.outcomes == 0 then return "done" end
    self.ctl:sleep(0.02)
    return
  end
  local now = self.clock.mono()
  if not self.pools_at or now - self.pools_at >= POOLS_EVERY then
    self.pools_at = now
    local ok, rows = pcall(as_executor, self.ctl.db, nil, function(tx) return query(tx, SQL.pools) end)
    if ok then self.pool_rows = plain(rows) elseif is_connection_error(rows) then error(rows, 0) end
  end
  local rows, wait = self:claim()
  for _, row in ipairs(rows) do self:start_tick(row) end
  if wait > 0 then
    local nap = math.max(0.005, math.min(wait - self.lookahead / 2, POOLS_EVERY, 5))
    if #self.outcomes > 0 then nap = math.min(nap, FLUSH_EVERY) end
    self.ctl:sleep(nap)
  end
end

function Agents:unavailable_at_stop()
  log("agents: stopping without recording %d tick(s): the database is unavailable", #self.outcomes)
end

function Agents:shutdown()
  if self.watcher then self.watcher:stop() end
  self.readers:close_idle()
  for _, s in pairs(self.strategies) do self:retire(s) end
end

--- Loads the strategies, watches their directory and starts the control task. Returns the
--- number of strategies loaded, or nil and a message.
function Agents:start()
  local n, err = self:load_all()
  if not n then return nil, err end
  self.watcher = sched.watch(self.dir, function(filename) self:changed(filename) end)
  log("agents: %d strateg%s from %s%s", n, n == 1 and "y" or "ies", self.dir,
      self.sandbox and "" or " (sandbox off)")
  self.ctl:start()
  return n
end

--- No new ticks; the running ones finish and everything is written.
function Agents:stop()
  if self.stopping then return end
  self.stopping = true
  self:poke()
end

--- In a task: waits until the ticker has stopped and written everything it could.
function Agents:join()
  self.ctl:join()
end

-- --- one tick now (`enigma agents tick`) ------------------------------------------------------

--- Why the activation of tick row `row` does not tick, and what to do about it.
function agents.why_not_active(row)
  local id = row.id
  if row.status == "error" then
    local last = row.last_error ~= nil and first_line(tostring(row.last_error)) or "none recorded"
    return ("activation %s is in error after %d consecutive failures (last error: %s); "
            .. "`enigma agents resume %s` lets it tick again"):format(id, row.consecutive_failures or 0, last, id)
  elseif row.status == "paused" then
    return ("activation %s is paused; `enigma agents resume %s` lets it tick again"):format(id, id)
  end
  return ("activation %s is %s, not active"):format(id, tostring(row.status))
end

--- Runs one tick of activation `id` now, recorded like any tick. Returns the outcome, or nil
--- and a message.
function Agents:tick_now(id)
  local result, failure
  sched.spawn(function()
    local ok, err = pcall(function()
      local db, cerr = enigma.db.connect(self.url)
      if not db then error(cerr, 0) end
      self.ctl.db = db
      local rows
      local status
      as_executor(db, nil, function(tx)
        status = query(tx, SQL.activation, id)[1]
        rows = query(tx, SQL.tick_rows, { id })
      end)
      if status and status.status ~= "active" then failure = agents.why_not_active(plain(status)) return end
      local row = tick_row(rows[1])
      if not row then failure = ("no activation %s"):format(id) return end
      if row.status ~= "active" then failure = agents.why_not_active(row) return end
      if not row.active then
        failure = ("the agent of activation %s is not active (ai_agents.active is false)"):format(id)
        return
      end
      if row.maintenance_mode then
        failure = ("the agent of activation %s is in maintenance (ai_agents.maintenance_mode)"):format(id)
        return
      end
      local path = self.dir .. "/" .. row.agent_type .. ".lua"
      local s, serr = strategies.load(path, row.agent_type, { sandbox = self.sandbox })
      if not s then failure = serr return end
      self:install(s)
      result = self:tick(row)
      self:flush()
    end)
    if not ok then failure = message_of(err) end
    if self.ctl.db then pcall(self.ctl.db.close, self.ctl.db) end
    self.ctl.db = nil
    self:shutdown()
    sched.stop()
  end)
  sched.run()
  if failure then return nil, failure end
  return result
end

return agents
