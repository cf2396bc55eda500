--- enigma.serve.agents: ticks every active activation on its strategy's interval, inside `enigma serve`.
--
-- One control task (its own connection) claims due activations, refreshes the pool statistics
-- ticks read, and writes what ticks did in batches; each tick is a task of its own. Everything
-- runs as agent_executor (SET LOCAL ROLE in each transaction), which may do exactly what a tick
-- needs (schema/013_agents_runtime.sql).
--
-- Claims: an activation is due when next_tick_at (NULL: now) has come. A claim moves it to the
-- next interval with FOR UPDATE SKIP LOCKED, so any number of runners share the activations and
-- each tick runs on one of them. A runner that dies mid-tick loses that tick; the next one comes
-- an interval later. Only activations that are 'active', of an agent that is active and not in
-- maintenance, within the agent's first max_concurrent_users activations (by activation time)
-- are claimed, and only for agent types whose strategy loaded.
--
-- Accounting, per tick, in one transaction with its proposals: the activation's executions,
-- successes, failures, last_execution_at, current_allocation, strategy_state; the agent's totals
-- and avg_execution_time_ms. After max_failures consecutive failures the activation goes to
-- 'error'. A batch the database refuses is written again tick by tick; a tick whose own writes
-- are refused (say its activation was paused meanwhile) is recorded as failed with the reason.
local enigma = require "enigma"
local strategies = require "enigma.serve.strategies"
local json = require "enigma.json"
local service = require "enigma.serve.service"

local sched = enigma.sched
local agents = {}

local Agents = {}
Agents.__index = Agents

local BATCH = 1000          -- activations per claim, outcomes per write
local FLUSH_EVERY = 0.05    -- seconds an outcome may wait to be written
local POOLS_EVERY = 1       -- seconds between pool statistics reads
local READERS = 4           -- connections for the ticks' own reads

local log, first_line, query = service.log, service.first_line, service.query
local is_connection_error, message_of = service.is_connection_error, service.message_of

local function short(id)
  return tostring(id):sub(1, 8)
end

--- Plain data for the sandbox: enigma.null becomes nil, decimals numbers.
local function plain(v)
  if v == enigma.null then return nil end
  local t = type(v)
  if t == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = plain(x) end
    return out
  elseif t == "userdata" then
    return tonumber(tostring(v))
  end
  return v
end

--- fn(tx) in a transaction as agent_executor, with statement_timeout `ms` when given.
local function as_executor(db, ms, fn)
  return db:transaction(function(tx)
    query(tx, "select set_config('role', 'agent_executor', true)")
    if ms then query(tx, "select set_config('statement_timeout', $1, true)", tostring(math.max(1, ms // 1))) end
    return fn(tx)
  end)
end

-- The columns a tick gets: the activation, its agent, the user's wallet and portfolio.
local TICK_COLUMNS = [[
  ua.id, ua.user_id, ua.agent_id, a.agent_type, ua.status, ua.configuration, ua.risk_parameters,
  ua.allocation_limits, ua.current_allocation::float8, ua.total_profit::float8,
  ua.total_executions, ua.successful_executions, ua.failed_executions, ua.consecutive_failures,
  extract(epoch from ua.last_execution_at)::float8 as last_execution_at,
  extract(epoch from ua.activated_at)::float8 as activated_at,
  ua.strategy_state, u.wallet_address as wallet,
  case when p.id is null then null else jsonb_build_object(
    'total_value', p.total_value::float8, 'total_deposited', p.total_deposited::float8,
    'total_withdrawn', p.total_withdrawn::float8, 'total_profit', p.total_profit::float8,
    'eth_balance', p.eth_balance::float8, 'stablecoin_balance', p.stablecoin_balance::float8,
    'other_tokens_balance', p.other_tokens_balance::float8, 'privacy_score', p.privacy_score::float8,
    'anonymity_level', p.anonymity_level, 'stealth_addresses_count', p.stealth_addresses_count,
    'max_drawdown', p.max_drawdown::float8, 'risk_score', p.risk_score::float8,
    'overall_apr', p.overall_apr::float8, 'volatility_score', p.volatility_score::float8) end as portfolio]]

-- The activations past their agent's max_concurrent_users (by activation time) are left out;
-- only agents with more active activations than that pay for ranking them. The due ones are
-- taken in next_tick_at order from idx_user_agents_next_tick, stopping at the batch size.
local CLAIM_SQL = [[
with over as (
  select a.id, a.max_concurrent_users as cap
    from ai_agents a
   where a.agent_type = any($1::text[]) and a.max_concurrent_users is not null
     and (select count(*) from user_agents u where u.agent_id = a.id and u.status = 'active')
         > a.max_concurrent_users),
excess as (
  select r.id from (
    select ua.id, o.cap,
           row_number() over (partition by ua.agent_id order by ua.activated_at, ua.id) as rank
      from user_agents ua join over o on o.id = ua.agent_id
     where ua.status = 'active') r
   where r.rank > r.cap),
due as (
  select ua.id, coalesce(ua.next_tick_at, now()) as due_at, s.every
    from user_agents ua
    join ai_agents a on a.id = ua.agent_id
    join unnest($1::text[], $2::float8[]) as s(agent_type, every) on s.agent_type = a.agent_type
   where ua.status = 'active' and a.active and not a.maintenance_mode
     and (ua.next_tick_at is null or ua.next_tick_at <= now() + make_interval(secs => $3))
     and not exists (select 1 from excess e where e.id = ua.id)
   order by ua.next_tick_at nulls first
   limit $4
   for update of ua skip locked)
update user_agents ua
   set next_tick_at = greatest(d.due_at + make_interval(secs => d.every), now())
  from due d, ai_agents a, users u, user_agents ua0
  left join user_portfolios p on p.user_id = ua0.user_id
 where ua.id = d.id and ua0.id = d.id and a.id = ua.agent_id and u.id = ua.user_id
returning extract(epoch from d.due_at - now())::float8 as delay,]] .. TICK_COLUMNS

local ONE_SQL = [[
select a.active, a.maintenance_mode, ]] .. TICK_COLUMNS .. [[
  from user_agents ua
  join ai_agents a on a.id = ua.agent_id
  join users u on u.id = ua.user_id
  left join user_portfolios p on p.user_id = ua.user_id
 where ua.id = $1]]

local NEXT_SQL = [[
select extract(epoch from min(coalesce(ua.next_tick_at, now())) - now())::float8 as wait
  from user_agents ua join ai_agents a on a.id = ua.agent_id
 where ua.status = 'active' and a.active and not a.maintenance_mode and a.agent_type = any($1::text[])]]

local POOLS_SQL = [[
select pool_type || ':' || chain_id as pool, pool_type, pool_name, chain_id,
       total_pool_size::float8, eth_pool_size::float8, stablecoin_pool_size::float8,
       other_tokens_pool_size::float8, active_mixers, anonymity_set, volume_24h::float8,
       volume_7d::float8, privacy_score::float8, mixing_efficiency::float8,
       gas_efficiency_score::float8, compliance_score::float8,
       (volume_24h / nullif(total_pool_size, 0))::float8 as turnover_24h,
       ((total_pool_size - coalesce(stablecoin_pool_size, 0) - coalesce(other_tokens_pool_size, 0))
          / nullif(eth_pool_size, 0))::float8 as implied_eth_price,
       extract(epoch from updated_at)::float8 as updated_at
  from pool_statistics order by pool_type, chain_id]]

local ACTIVATIONS_SQL = [[
select ua.id, a.agent_type, ua.status, ua.current_allocation::float8, ua.total_profit::float8
  from user_agents ua join ai_agents a on a.id = ua.agent_id
 where ua.user_id = $1 order by ua.activated_at, ua.id]]

local RECENT_SQL = [[
select tx_type, subcategory, amount::float8, token_symbol, usd_value::float8, status,
       extract(epoch from created_at)::float8 as created_at, metadata
  from transactions where agent_id = $1 and user_id = $2
 order by created_at desc limit $3]]

local PROPOSE_SQL = [[
insert into transactions (user_id, user_wallet, tx_type, category, subcategory, amount, token_symbol,
                          usd_value, agent_id, agent_execution_id, execution_time_ms, metadata)
select x.user_id, x.wallet, x.tx_type, 'agent', x.subcategory, x.amount, x.token, x.usd_value,
       x.agent_id, x.execution_id, x.ms, x.metadata
  from jsonb_to_recordset($1::jsonb) as x(user_id uuid, wallet text, tx_type text, subcategory text,
       amount numeric, token text, usd_value numeric, agent_id uuid, execution_id text, ms int,
       metadata jsonb)]]

local PAUSE_SQL = [[
update user_agents ua set status = 'paused'
  from jsonb_to_recordset($1::jsonb) as x(id uuid, user_id uuid)
 where ua.id = x.id and ua.user_id = x.user_id and ua.status = 'active']]

local ACCOUNT_SQL = [[
update user_agents ua
   set total_executions = ua.total_executions + x.n,
       successful_executions = ua.successful_executions + x.s,
       failed_executions = ua.failed_executions + x.n - x.s,
       last_execution_at = to_timestamp(x.at),
       current_allocation = coalesce(x.allocation, ua.current_allocation),
       strategy_state = coalesce(x.state, ua.strategy_state),
       consecutive_failures = case when x.s > 0 then x.tail
                                   else ua.consecutive_failures + x.tail end,
       last_error = case when x.tail = 0 then null else x.error end,
       status = case when ua.status = 'active' and x.tail > 0 and
                          (case when x.s > 0 then x.tail
                                else ua.consecutive_failures + x.tail end) >= $2
                     then 'error' else ua.status end
  from jsonb_to_recordset($1::jsonb) as x(id uuid, n int, s int, tail int, at float8,
       allocation numeric, state jsonb, error text)
 where ua.id = x.id
returning ua.id, ua.status]]

local AGENT_SQL = [[
update ai_agents a
   set total_executions = a.total_executions + x.n,
       successful_executions = a.successful_executions + x.s,
       failed_executions = a.failed_executions + x.n - x.s,
       avg_execution_time_ms = round(case
         when a.avg_execution_time_ms is null then x.ms / x.n
         else (a.avg_execution_time_ms::float8 * a.total_executions + x.ms) / (a.total_executions + x.n)
       end)::int,
       last_execution_at = to_timestamp(x.at)
  from jsonb_to_recordset($1::jsonb) as x(id uuid, n int, s int, ms float8, at float8)
 where a.id = x.id]]

-- --- setting up --------------------------------------------------------------------------

--- opts: dir (scripts/agents), url, sandbox (default true), max_failures (3), quiet.
function agents.new(opts)
  return setmetatable({
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
    readers = {}, nreaders = 0, reader_waiters = {},
    stats = { ticks = 0, failed = 0 },
  }, Agents)
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
    log("agent %s: '%s' is not an agent type; not loaded", name, name)
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

function Agents:acquire_reader()
  while true do
    local db = table.remove(self.readers)
    if db then return db end
    if self.nreaders < READERS then
      self.nreaders = self.nreaders + 1
      local err
      db, err = enigma.db.connect(self.url)
      if db then return db end
      self.nreaders = self.nreaders - 1
      error("cannot connect to the database: " .. first_line(err), 0)
    end
    self.reader_waiters[#self.reader_waiters + 1] = sched.current()
    sched.suspend()
  end
end

function Agents:release_reader(db, broken)
  if broken then
    pcall(db.close, db)
    self.nreaders = self.nreaders - 1
  else
    self.readers[#self.readers + 1] = db
  end
  repeat
    local waiter = table.remove(self.reader_waiters, 1)
  until not waiter or waiter:wake()
end

--- Rows of `sql` as agent_executor on a reader connection, within `ms` milliseconds. A lost
--- connection marks `host` (the tick's): the tick is abandoned, not counted as a failure.
function Agents:read(host, ms, sql, ...)
  local ok, db = pcall(self.acquire_reader, self)
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
  self:release_reader(db, lost)
  if lost then host.unavailable = true end
  if not ok then error("database: " .. first_line(message_of(rows)), 0) end
  return plain(rows)
end

-- The host side of a tick's data functions.
function Agents:host_for(row, deadline)
  local host, cache = {}, {}
  local function left_ms()
    return math.max(1, (deadline - enigma.monotime()) * 1000)
  end
  host.now = function() return os.time() end
  host.portfolio = function() return row.portfolio end
  host.pools = function()
    if not self.pool_rows then self.pool_rows = self:read(host, left_ms(), POOLS_SQL) end
    return self.pool_rows
  end
  host.activations = function()
    cache.activations = cache.activations or self:read(host, left_ms(), ACTIVATIONS_SQL, row.user_id)
    return cache.activations
  end
  host.recent = function(_, n) return self:read(host, left_ms(), RECENT_SQL, row.agent_id, row.user_id, n) end
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
  local deadline = enigma.monotime() + s.limits.time
  local host = self:host_for(row, deadline)
  local ok, out = pcall(strategies.tick, s, activation, host, plain(state) or {})
  if not ok then out = { ok = false, error = tostring(out), reason = "error", proposals = {}, pauses = {}, logs = {}, ms = 0 } end
  s.inflight = s.inflight - 1
  if s.retired and s.inflight == 0 then strategies.close(s) end
  self.live[row.id] = nil
  self.inflight = self.inflight - 1
  if host.unavailable and not out.ok then   -- not the strategy's fault: not counted
    log("agent %s %s: tick abandoned: %s", row.agent_type, short(row.id), first_line(out.error))
    return out
  end
  out.row, out.version, out.at = row, s.version, os.time() + (sched.now() % 1)
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
      a.error = ("%s: %s"):format(out.reason, first_line(out.error)):sub(1, 1000)
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
  as_executor(self.db, nil, function(tx)
    if #proposals > 0 then query(tx, PROPOSE_SQL, proposals) end
    if #pauses > 0 then query(tx, PAUSE_SQL, pauses) end
    for _, r in ipairs(query(tx, ACCOUNT_SQL, accounts, self.max_failures)) do
      if r.status == "error" then errored[#errored + 1] = r.id end
    end
    query(tx, AGENT_SQL, agent_rows)
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
  if self.sleeping and self.control then
    self.sleeping = false
    self.control:wake()
  end
end

function Agents:claim()
  local names, every = self:types()
  if #names == 0 then return {}, 5 end
  local rows
  as_executor(self.db, nil, function(tx)
    rows = query(tx, CLAIM_SQL, names, every, self.lookahead, BATCH)
  end)
  if #rows >= BATCH then return plain(rows), 0 end
  local wait = query(self.db, NEXT_SQL, names)[1].wait
  return plain(rows), wait == enigma.null and 5 or wait
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
    self.sleeping = true
    sched.suspend(0.02)
    self.sleeping = false
    return
  end
  local now = sched.now()
  if not self.pools_at or now - self.pools_at >= POOLS_EVERY then
    self.pools_at = now
    local ok, rows = pcall(as_executor, self.db, nil, function(tx) return query(tx, POOLS_SQL) end)
    if ok then self.pool_rows = plain(rows) elseif is_connection_error(rows) then error(rows, 0) end
  end
  local rows, wait = self:claim()
  for _, row in ipairs(rows) do self:start_tick(row) end
  if wait > 0 then
    local nap = math.max(0.005, math.min(wait - self.lookahead / 2, POOLS_EVERY, 5))
    if #self.outcomes > 0 then nap = math.min(nap, FLUSH_EVERY) end
    self.sleeping = true
    sched.suspend(nap)
    self.sleeping = false
  end
end

function Agents:control_loop()
  local backoff = 0.25
  while true do
    if not self.db then
      local db, err = enigma.db.connect(self.url)
      if not db then
        if self.stopping then
          log("agents: stopping without recording %d tick(s): the database is unavailable", #self.outcomes)
          break
        end
        log("agents: database unavailable (%s); retrying in %.2fs", first_line(err), backoff)
        sched.sleep(backoff)
        backoff = math.min(backoff * 2, 5)
      else
        self.db, backoff = db, 0.25
      end
    else
      local ok, res = pcall(self.cycle, self)
      if ok and res == "done" then break end
      if not ok then
        if is_connection_error(res) then
          log("agents: lost the database connection: %s", first_line(message_of(res)))
          pcall(self.db.close, self.db)
          self.db = nil
        else
          log("agents: error: %s", message_of(res))
          self.sleeping = true
          sched.suspend(1)
          self.sleeping = false
        end
      end
    end
  end
  self:shutdown()
end

function Agents:shutdown()
  if self.watcher then self.watcher:stop() end
  for _, db in ipairs(self.readers) do pcall(db.close, db) end
  self.readers = {}
  if self.db then pcall(self.db.close, self.db) end
  self.db = nil
  for _, s in pairs(self.strategies) do self:retire(s) end
  self.finished = true
  for _, w in ipairs(self.joiners or {}) do w:wake() end
end

--- Loads the strategies, watches their directory and starts the control task. Returns the
--- number of strategies loaded, or nil and a message.
function Agents:start()
  local n, err = self:load_all()
  if not n then return nil, err end
  self.watcher = sched.watch(self.dir, function(filename) self:changed(filename) end)
  log("agents: %d strateg%s from %s%s", n, n == 1 and "y" or "ies", self.dir,
      self.sandbox and "" or " (sandbox off)")
  self.control = sched.spawn(function() self:control_loop() end)
  return n
end

--- No new ticks; the running ones finish and everything is written.
function Agents:stop()
  if self.stopping then return end
  self.stopping = true
  self:poke()
end

--- Waits (in a task) until the control task has finished.
function Agents:join()
  while not self.finished do
    self.joiners = self.joiners or {}
    self.joiners[#self.joiners + 1] = sched.current()
    sched.suspend(1)
  end
end

-- --- one tick now (`enigma agents tick`) ------------------------------------------------------

--- Runs one tick of activation `id` now, recorded like any tick. Returns the outcome, or nil
--- and a message.
function Agents:tick_now(id)
  local result, failure
  sched.spawn(function()
    local ok, err = pcall(function()
      local db, cerr = enigma.db.connect(self.url)
      if not db then error(cerr, 0) end
      self.db = db
      local rows
      as_executor(db, nil, function(tx) rows = query(tx, ONE_SQL, id) end)
      local row = plain(rows[1])
      if not row then failure = ("no activation %s"):format(id) return end
      if row.status ~= "active" then failure = ("activation %s is %s"):format(id, row.status) return end
      if not row.active then failure = ("agent of activation %s is not active"):format(id) return end
      if row.maintenance_mode then failure = ("agent of activation %s is in maintenance"):format(id) return end
      local path = self.dir .. "/" .. row.agent_type .. ".lua"
      local s, serr = strategies.load(path, row.agent_type, { sandbox = self.sandbox })
      if not s then failure = serr return end
      self:install(s)
      result = self:tick(row)
      self:flush()
    end)
    if not ok then failure = message_of(err) end
    self:shutdown()
    sched.stop()
  end)
  sched.run()
  if failure then return nil, failure end
  return result
end

return agents
