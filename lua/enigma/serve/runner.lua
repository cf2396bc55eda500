--- enigma.serve.runner: the job runner behind `enigma serve`, `enigma jobs list` and `enigma jobs run`.
--
-- One event loop (enigma.sched); every run is a task, and its database calls yield instead of
-- blocking the loop. One control task owns the control connection and does, in turn: record
-- what runs did (batched), claim what is due, renew leases, take over expired ones.
--
-- Exactly once, across any number of runners sharing a database: an occurrence is claimed by
-- inserting its job_runs row (UNIQUE (job, occurrence, attempt)), up to `lookahead` seconds
-- before it is due, so the claim's round trip is not part of the run's lateness. The winner
-- holds a lease that it renews every lease/3 seconds; when a runner dies, any other runner that
-- has the job takes over its expired rows: a claimed row (nothing ran) is run as it is, a running
-- one is closed as 'lost' and retried as the next attempt (once even when retries = 0: the job
-- did not fail, its runner did).
--
-- A run is recorded 'running' before its job's code starts (a non-transactional run waits for the
-- control task to write it), so a takeover never mistakes a run that had begun for one that had
-- not. A job declared `transactional = true` does its ctx.db work inside one transaction that
-- also records the run as succeeded: a runner killed at any instant leaves both or neither, and
-- the attempt that retries a lost run sees the first one's work rolled back.
--
-- A run's timeout holds whatever its code does: the task's deadline (enigma.sched) stops it in
-- every coroutine it created, under pcall, in C calls once they return; its to-be-closed
-- variables are closed at once, its connection's query is cancelled (and statement_timeout is
-- what is left of its time), and a run that outlived its timeout is never recorded succeeded.
--
-- Missed occurrences: when a runner (re)connects, each scheduled job whose last recorded
-- occurrence is older than its latest due time runs once, for that latest time (trigger
-- 'catchup'); the occurrences before it are not run. A job with catchup = false skips them. A job
-- that has never run has nothing to catch up.
--
-- Its control task and connection are an enigma.serve.control, the job connections an
-- enigma.serve.pool, the channels jobs listen on an enigma.serve.listener; enigma.serve.server
-- owns the runner, the agent ticker and the signals. The SQL is in sql/jobs_*.sql. The command
-- line (options, usage texts, `jobs list`) is enigma.cli.serve.
local enigma = require "enigma"
local control = require "enigma.serve.control"
local jobs = require "enigma.serve.jobs"
local listener = require "enigma.serve.listener"
local pool = require "enigma.serve.pool"
local service = require "enigma.serve.service"

local sched = enigma.sched
local runner = {}

local Runner = {}
Runner.__index = Runner

local MAX_BATCH = 1000      -- rows per claim or write statement
local POOL_IDLE = 8         -- idle job connections kept

local log, first_line, query, message_of = service.log, service.first_line, service.query, service.message_of
local SQL = service.statements("jobs_")

-- --- a min-heap of { due, name, gen } -------------------------------------------------------

local function heap_push(h, e)
  h[#h + 1] = e
  local i = #h
  while i > 1 do
    local p = i // 2
    if h[p].due <= e.due then break end
    h[i], h[p] = h[p], e
    i = p
  end
end

local function heap_pop(h)
  local top, last = h[1], table.remove(h)
  if #h > 0 then
    local i, n = 1, #h
    h[1] = last
    while true do
      local l, r, m = 2 * i, 2 * i + 1, i
      if l <= n and h[l].due < h[m].due then m = l end
      if r <= n and h[r].due < h[m].due then m = r end
      if m == i then break end
      h[i], h[m] = h[m], h[i]
      i = m
    end
  end
  return top
end

-- --- setting up --------------------------------------------------------------------------

--- The clocks the runner reads: `wall` (Unix seconds: what a schedule names, and what is
--- recorded for people) and `mono` (seconds on a monotonic clock: heartbeats, waits, retries'
--- backoff, the grace period), so a wall clock that steps never stretches a lease. Lease expiry
--- is the database's to judge (sql/jobs_recover.sql, by its now()). Tests pass a fake clock.
runner.CLOCK = { mono = enigma.monotime, wall = sched.now }

function runner.new(opts)
  local host, pid = sched.identity()
  local self = setmetatable({
    clock = opts.clock or runner.CLOCK,
    dir = opts.dir or enigma.paths.scripts .. "/jobs",
    id = opts.id or ("%s:%d"):format(host, pid),
    url = opts.url,
    lease = opts.lease or 30,
    grace = opts.grace or 10,
    lookahead = opts.lookahead or 0.5,
    capacity = opts.capacity or 1000,
    quiet = opts.quiet,
    jobs = {},          -- name -> the current version of the job
    state = {},         -- name -> { inflight = n, queue = { run... } }
    heap = {},
    gen = 0,
    starts = {},        -- due time -> runs to start then
    writes = {}, nwrites = 0,
    retries = {},       -- runs whose next attempt is due: { id, at, final }
    recorded = {},      -- id -> the task waiting for the control task to record its run
    claims = {},        -- event and manual occurrences waiting for the control task
    live = {},          -- id -> run, claimed or running here
    inflight = 0,
    next_heartbeat = -math.huge,
  }, Runner)
  self.ctl = control.new(self, { url = self.url, name = "jobs" })
  -- job connections open at once; runs beyond wait
  self.pool = pool.new({ url = self.url, size = opts.connections or 8, idle = POOL_IDLE })
  return self
end

function Runner:job_state(name)
  local st = self.state[name]
  if not st then
    st = { inflight = 0, queue = {} }
    self.state[name] = st
  end
  return st
end

function Runner:install(job)
  local old = self.jobs[job.name]
  if old and old.schedule == job.schedule and old.tz == job.tz then
    job.gen = old.gen                -- the queued occurrence stays valid
  else
    self.gen = self.gen + 1
    job.gen = self.gen
    if job.cron then
      local due = jobs.next_time(job, self.clock.wall())
      if due then heap_push(self.heap, { due = due, name = job.name, gen = job.gen }) end
    end
  end
  self.jobs[job.name] = job
  self.job_arrays = nil
  if (old and old.listen) ~= job.listen then self:restart_listener() end
  self:poke()
end

function Runner:remove(name)
  local old = self.jobs[name]
  if not old then return end
  self.jobs[name] = nil
  self.job_arrays = nil
  if old.listen then self:restart_listener() end
  log("job %s removed (%s/%s.lua is gone)", name, self.dir, name)
end

--- A job file changed (or appeared, or went): load it again, after a moment for the writer.
function Runner:changed(filename)
  if self.stopping then return end
  local name, path, exists = service.settle(self, self.dir, filename, jobs.name_of)
  if not name then return end
  if not exists then return self:remove(name) end
  local job, err = jobs.load(path, name)
  if not job then
    log("job %s: %s; the previous version keeps running", name, err)
    return
  end
  local old = self.jobs[name]
  if old and old.version == job.version then return end
  self:install(job)
  log("job %s %s (version %s)", name, old and "reloaded" or "added", job.version)
end

function Runner:load_all()
  local loaded, failed = jobs.load_dir(self.dir)
  if not loaded then return nil, failed end
  for name, err in pairs(failed) do log("job %s: %s; not loaded", name, err) end
  local names = {}
  for name in pairs(loaded) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do self:install(loaded[name]) end
  return #names
end

-- --- the control task's work ----------------------------------------------------------

function Runner:poke()
  self.ctl:poke()
end

function Runner:write(id, fields)
  local w = self.writes[id]
  if not w then
    w = { id = id }
    self.writes[id] = w
    self.nwrites = self.nwrites + 1
  end
  for k, v in pairs(fields) do w[k] = v end
  self:poke()
end


function Runner:flush_writes()
  while self.nwrites > 0 do
    local batch, n = {}, 0
    for _, w in pairs(self.writes) do
      n = n + 1
      batch[n] = w
      if n >= MAX_BATCH then break end
    end
    -- Taken out before the statement runs: a write queued meanwhile goes in the next batch.
    for i = 1, n do self.writes[batch[i].id] = nil end
    self.nwrites = self.nwrites - n
    local ok, err = pcall(query, self.ctl.db, SQL.write, self.id, batch)
    if ok then
      for i = 1, n do
        local task = self.recorded[batch[i].id]
        if task then
          self.recorded[batch[i].id] = nil
          task:wake()
        end
      end
    else                     -- put them back, under anything newer
      for i = 1, n do
        local w, newer = batch[i], self.writes[batch[i].id]
        if newer then
          for k, v in pairs(newer) do w[k] = v end
        else
          self.nwrites = self.nwrites + 1
        end
        self.writes[w.id] = w
      end
      error(err, 0)
    end
  end
end


--- Claims occurrences { name, occurrence, trigger, due, event }; returns the runs this runner won.
function Runner:claim(list)
  local names, occs, triggers, dues, by_key = {}, {}, {}, {}, {}
  for i, c in ipairs(list) do
    names[i], occs[i], triggers[i], dues[i] = c.name, c.occurrence, c.trigger, c.due
    by_key[c.name .. "\0" .. c.occurrence] = c
  end
  local rows = query(self.ctl.db, SQL.claim, self.id, self.lease, names, occs, triggers, dues)
  local won = {}
  for _, row in ipairs(rows) do
    local c = by_key[row.job .. "\0" .. row.occurrence]
    local run = {
      id = row.id, name = row.job, occurrence = row.occurrence, attempt = row.attempt,
      trigger = c.trigger, due = c.due, event = c.event, busy = row.busy, on_done = c.on_done,
    }
    self.live[run.id] = run
    won[#won + 1] = run
  end
  return won
end

function Runner:claim_due()
  local now = self.clock.wall()
  local horizon = now + self.lookahead
  local batch = {}
  while #batch < MAX_BATCH and self.heap[1] and self.heap[1].due <= horizon
        and self.inflight + #batch < self.capacity do
    local e = heap_pop(self.heap)
    local job = self.jobs[e.name]
    if job and job.gen == e.gen then
      batch[#batch + 1] = { name = e.name, occurrence = jobs.utc(e.due), trigger = "schedule", due = e.due }
      -- the next after now: occurrences a busy loop or a wall clock stepping forwards skipped
      -- run once (this one), not one by one
      local nxt = jobs.next_time(job, math.max(e.due, now - self.lookahead))
      if nxt then
        e.due = nxt
        heap_push(self.heap, e)
      end
    end
  end
  if #batch == 0 then return end
  for _, run in ipairs(self:claim(batch)) do self:schedule_start(run, run.due) end
end

function Runner:claim_queued()
  if #self.claims == 0 then return end
  local list = self.claims
  self.claims = {}
  for _, run in ipairs(self:claim(list)) do self:schedule_start(run, run.due) end
end


function Runner:claim_retries()
  local now, ids, finals, keep = self.clock.wall(), {}, {}, {}
  local mono = self.clock.mono()
  for _, r in ipairs(self.retries) do
    if r.at <= mono then
      ids[#ids + 1], finals[#finals + 1] = r.id, r.final
    else
      keep[#keep + 1] = r
    end
  end
  if #ids == 0 then return end
  self.retries = keep
  for _, row in ipairs(query(self.ctl.db, SQL.retry, self.id, ids, finals, self.lease)) do
    local run = { id = row.id, name = row.job, occurrence = row.occurrence, attempt = row.attempt,
                  trigger = row.trigger, due = row.due }
    self.live[run.id] = run
    self:schedule_start(run, now)
  end
end



function Runner:heartbeat()
  query(self.ctl.db, SQL.heartbeat, self.id, self.lease)
  if self.stopping then return end
  if not self.job_arrays then       -- rebuilt only when the jobs change: 10,000 names cost
    local names, max_attempts = {}, {}
    for name, job in pairs(self.jobs) do
      names[#names + 1] = name
      max_attempts[#max_attempts + 1] = job.retries + 1
    end
    self.job_arrays = { names, max_attempts }
  end
  local names, max_attempts = self.job_arrays[1], self.job_arrays[2]
  if #names == 0 then return end
  for _, row in ipairs(query(self.ctl.db, SQL.recover, self.id, names, self.lease, max_attempts)) do
    local run = { id = row.id, name = row.job, occurrence = row.occurrence, attempt = row.attempt,
                  trigger = row.trigger, due = row.due }
    self.live[run.id] = run
    log("job %s: took over %s (attempt %d) from a runner that stopped renewing its lease",
        run.name, run.occurrence, run.attempt)
    self:schedule_start(run, row.start_at)
  end
end


--- After a (re)connection: the schedule restarts from now, and each job that missed
--- occurrences meanwhile runs once, for the latest of them.
function Runner:catch_up()
  local now = self.clock.wall()
  self.heap = {}
  local names = {}
  for name, job in pairs(self.jobs) do
    if job.cron then
      names[#names + 1] = name
      local due = jobs.next_time(job, now)
      if due then heap_push(self.heap, { due = due, name = name, gen = job.gen }) end
    end
  end
  if #names == 0 then return end
  local batch = {}
  for _, row in ipairs(query(self.ctl.db, SQL.last, names)) do
    local job = self.jobs[row.job]
    if job and job.catchup then
      local t, latest, steps = row.last, nil, 0
      while true do
        local nxt = jobs.next_time(job, t)
        if not nxt or nxt > now then break end
        latest, t, steps = nxt, nxt, steps + 1
        if steps > 100000 then break end
      end
      if latest then
        batch[#batch + 1] = { name = job.name, occurrence = jobs.utc(latest), trigger = "catchup", due = latest }
      end
    end
  end
  if #batch > 0 then
    for _, run in ipairs(self:claim(batch)) do
      log("job %s: catching up once for %s (missed while no runner was up)", run.name, run.occurrence)
      self:schedule_start(run, now)
    end
  end
end

--- Gives up claims nobody has started, so other runners take them at once.
function Runner:release()
  query(self.ctl.db, SQL.release, self.id)
end

--- Seconds until the control task has something to do: the next heartbeat and retry (on the
--- monotonic clock), the next scheduled occurrence (on the wall clock, as its schedule names it).
function Runner:next_wake()
  local mono = self.clock.mono()
  local wait = self.next_heartbeat - mono
  if self.stopping then return math.min(wait, 0.05) end
  if self.heap[1] and self.inflight < self.capacity then
    wait = math.min(wait, self.heap[1].due - self.lookahead - self.clock.wall())
  end
  for _, r in ipairs(self.retries) do wait = math.min(wait, r.at - mono) end
  return wait
end

function Runner:cycle()
  self:flush_writes()
  if self.clock.mono() >= self.next_heartbeat then   -- also while stopping: running jobs keep their leases
    self:heartbeat()
    self.next_heartbeat = self.clock.mono() + self.lease / 3
  end
  if self.stopping then
    if self.inflight == 0 or self.clock.mono() >= self.stop_deadline then
      self:interrupt_all()
      self:flush_writes()
      self:release()
      return "done"
    end
  else
    self:claim_retries()
    self:claim_queued()
    self:claim_due()
  end
  if self.nwrites == 0 and #self.claims == 0 then
    -- Always through the loop, even when something is already due: other tasks get their turn.
    self.ctl:sleep(math.max(0, self:next_wake()))
  end
end

-- --- the control task's hooks (enigma.serve.control) ---------------------------------------

function Runner:connected()
  self.next_heartbeat = -math.huge
  self:catch_up()
end

-- Idle job connections went with the server too: the next runs connect afresh.
function Runner:disconnected()
  self.pool:close_idle()
end

function Runner:unavailable_at_stop()
  log("jobs: stopping without recording %d run(s): the database is unavailable", self.nwrites)
end

-- --- runs --------------------------------------------------------------------------------

function Runner:schedule_start(run, at)
  -- +1 ms: the loop's clock counts whole milliseconds, and a run must not start early
  local delay = at - self.clock.wall() + 0.001
  if delay <= 0.001 then return self:start_run(run) end
  local group = self.starts[at]
  if not group then
    group = {}
    self.starts[at] = group
    sched.timer(delay, 0, function()
      self.starts[at] = nil
      for _, r in ipairs(group) do self:start_run(r) end
    end)
  end
  group[#group + 1] = run
end

--- Writes the end of a run that never started (skipped, or its job is gone).
function Runner:record(run, status, err)
  self.live[run.id] = nil
  self:write(run.id, { status = status, finished_at = self.clock.wall(), error = err and service.clean_text(err) })
  if not self.quiet then log("job %s %s: %s", run.name, status, err) end
  if run.on_done then run.on_done(status, err) end
end

function Runner:start_run(run)
  if self.stopping then return end         -- left claimed: released when the runner stops
  local job = self.jobs[run.name]
  if not job then return self:record(run, "skipped", "the job file was removed") end
  local st = self:job_state(run.name)
  if st.inflight > 0 or run.busy then
    if job.overlap == "skip" then
      return self:record(run, "skipped", "the previous run was still running (overlap = skip)")
    elseif job.overlap == "queue" and st.inflight > 0 then
      st.queue[#st.queue + 1] = run
      return
    end
  end
  self:execute(job, run)
end

function Runner:context(run)
  local ctx = {
    job = run.name, attempt = run.attempt, trigger = run.trigger, occurrence = run.occurrence,
    scheduled_for = run.due, event = run.event, runner_id = self.id, version = run.job.version,
  }
  function ctx.log(fmt, ...)
    log("job %s: %s", run.name, select("#", ...) > 0 and fmt:format(...) or tostring(fmt))
  end
  return setmetatable(ctx, { __index = function(t, k)
    if k ~= "db" then return nil end
    local db = self.pool:acquire()
    run.db = db
    -- a query still running at the timeout ends with it, even one that blocks the loop
    local left = math.max(1, math.ceil((run.job.timeout - (self.clock.mono() - run.started_mono)) * 1000))
    query(db, SQL.statement_timeout, tostring(left))
    rawset(t, "db", db)
    return db
  end })
end

function Runner:release_db(run, discard)
  local db = run.db
  run.db = nil
  if db then self.pool:release(db, discard) end
end

--- In a transactional run's task: marks it running, then does the job's work and records it
--- succeeded in one transaction on the run's connection.
function Runner:run_in_transaction(job, run, ctx)
  local db = ctx.db
  if #query(db, SQL.start, run.id, self.id, job.version) == 0 then
    error("the run was taken over by another runner before it started", 0)
  end
  db:transaction(function()
    job.run(ctx)
    if not db:in_transaction() then error("the job ended its own transaction; its work is not recorded", 0) end
    if self.clock.mono() - run.started_mono >= job.timeout then error("timed out", 0) end
    if #query(db, SQL.succeed, run.id, self.id) == 0 then
      error("the run was closed by another runner (its lease expired); its work is rolled back", 0)
    end
  end)
  run.recorded = true
end

function Runner:execute(job, run)
  local st = self:job_state(run.name)
  st.inflight = st.inflight + 1
  self.inflight = self.inflight + 1
  run.job = job
  run.task = sched.spawn(function()
    local task = sched.current()
    run.started_at, run.started_mono = self.clock.wall(), self.clock.mono()
    task:deadline(job.timeout)
    run.timer = sched.timer(job.timeout, 0, function() self:time_out(run) end)
    local ctx = self:context(run)
    local ok, err
    if job.transactional then
      ok, err = xpcall(self.run_in_transaction, debug.traceback, self, job, run, ctx)
    else
      -- recorded before any of its code runs: see the top of this file
      self.recorded[run.id] = task
      self:write(run.id, { status = "running", started_at = run.started_at, version = job.version })
      sched.suspend()
      ok, err = xpcall(job.run, debug.traceback, ctx)
    end
    if run.done then return end
    run.timer:stop()
    if self.clock.mono() - run.started_mono >= job.timeout then   -- also when a C call outlived it
      self:finish(run, "timeout", ("timed out after %gs%s"):format(job.timeout, ok and "" or "\n" .. message_of(err)))
    elseif ok then
      self:finish(run, "succeeded")
    else
      self:finish(run, "failed", message_of(err))
    end
  end)
end

function Runner:time_out(run)
  if run.done then return end
  run.task:cancel()
  self:finish(run, "timeout", ("timed out after %gs"):format(run.job.timeout))
end

function Runner:finish(run, status, err)
  run.done = true
  if run.timer then run.timer:stop() end
  local job, now = run.job, self.clock.wall()
  local fields = { status = status, finished_at = now, error = err and service.clean_text(err) }
  local note = ""
  self.recorded[run.id] = nil
  if (status == "failed" or status == "timeout") and run.attempt <= job.retries
     and run.trigger ~= "manual" and not self.stopping then
    fields.status = "retry"
    local backoff = job.backoff * 2 ^ (run.attempt - 1)
    fields.retry_at = now + backoff                               -- for people and other runners
    self.retries[#self.retries + 1] = { id = run.id, at = self.clock.mono() + backoff, final = status }
    note = (", retry at %s"):format(jobs.utc(fields.retry_at, true))
  end
  if not run.recorded then self:write(run.id, fields) end   -- a transactional run recorded itself
  self.live[run.id] = nil
  self:release_db(run, status ~= "succeeded")
  local st = self:job_state(run.name)
  st.inflight = st.inflight - 1
  self.inflight = self.inflight - 1
  if not self.quiet or status ~= "succeeded" then
    log("job %s %s in %.1f ms (%s, attempt %d%s)%s", run.name, status, (now - run.started_at) * 1000,
        run.trigger == "manual" and "manual" or run.trigger .. " " .. run.occurrence, run.attempt, note,
        err and (": " .. first_line(err)) or "")
  end
  if run.on_done then run.on_done(status, err) end
  local queued = table.remove(st.queue, 1)
  if queued then self:start_run(queued) end
  if self.stopping and self.inflight == 0 then self:poke() end
end

--- What is still running when the grace period ends is stopped and recorded as interrupted.
function Runner:interrupt_all()
  for _, run in pairs(self.live) do
    if run.task and not run.done then
      run.task:cancel()
      self:finish(run, "interrupted", ("the runner stopped (%s) before the run finished")
                  :format(self.stop_signal or "stop"))
    end
  end
end

-- --- events ------------------------------------------------------------------------------

--- A notification on a channel jobs listen on: one event claim per job, keyed by the payload,
--- so runners that all heard it run it once.
function Runner:on_event(channel, payload, replayed)
  local key = "event:" .. channel .. ":" .. enigma.crypto.hex(enigma.crypto.keccak256(payload)):sub(3, 34)
  local ok, decoded = pcall(enigma.json.decode, payload)
  local event = { channel = channel, payload = payload, data = ok and decoded or nil, replayed = replayed }
  for name, job in pairs(self.jobs) do
    if job.listen == channel then
      self.claims[#self.claims + 1] = { name = name, occurrence = key, trigger = "event",
                                        due = self.clock.wall(), event = event }
    end
  end
  self:poke()
end

function Runner:channels()
  local set, list = {}, {}
  for _, job in pairs(self.jobs) do
    if job.listen and not set[job.listen] then
      set[job.listen] = true
      list[#list + 1] = job.listen
    end
  end
  table.sort(list)
  return list
end

--- The channels changed: a new listener for the new set, replaying from where the old one was.
function Runner:restart_listener()
  local since
  if self.listener then
    since = self.listener.listened_at
    self.listener:stop()
    self.listener = nil
  end
  if not self.started or self.stopping then return end
  local channels = self:channels()
  if #channels > 0 then
    self.listener = listener.new({
      url = self.url, channels = channels, since = since,
      on_event = function(channel, payload, replayed) self:on_event(channel, payload, replayed) end,
    }):start()
  end
end

-- --- serving (enigma.serve.server starts and stops the runner) -----------------------------

--- Loads the jobs, watches their directory, starts the control task and the listener.
--- Returns the number of jobs, or nil and a message.
function Runner:start()
  local n, err = self:load_all()
  if not n then return nil, err end
  self.watcher = assert(sched.watch(self.dir, function(filename) self:changed(filename) end))
  log("runner %s: %d job(s) from %s (lease %gs, grace %gs)", self.id, n, self.dir, self.lease, self.grace)
  self.started = true
  self.ctl:start()
  self:restart_listener()
  return n
end

--- No new runs; the running ones get the grace period, then are interrupted (`signame` says why).
function Runner:stop(signame)
  if self.stopping then return end
  self.stopping = true
  self.stop_signal = signame
  self.stop_deadline = self.clock.mono() + self.grace
  if self.watcher then self.watcher:stop() end
  self:poke()
end

--- In a task: waits until the runner has stopped and recorded everything it could.
function Runner:join()
  self.ctl:join()
end

function Runner:shutdown()
  if self.listener then self.listener:stop() end
  self.listener = nil
  self.pool:close_idle()
end

--- Runs one job now (trigger 'manual'), recorded like any run. Returns its status and error.
function Runner:run_now(name)
  local path = self.dir .. "/" .. name .. ".lua"
  local job, err = jobs.load(path, name)
  if not job then return nil, err end
  self.jobs[name] = job
  local result
  local host, pid = sched.identity()
  self.ctl.task = sched.spawn(function()
    local ok, err2 = pcall(function()
      local db, cerr = enigma.db.connect(self.url)
      if not db then error(cerr, 0) end
      self.ctl.db = db
      local now = self.clock.wall()
      local occurrence = ("manual:%s:%d:%s"):format(host, pid, jobs.utc(now, true))
      local won = self:claim({ { name = name, occurrence = occurrence, trigger = "manual", due = now,
                                on_done = function(status, e) result = { status, e } end } })
      self:execute(job, won[1])
      while not result do
        self:flush_writes()      -- the run waits for its 'running' record
        if not result then self.ctl:sleep(1) end
      end
      self:flush_writes()
    end)
    if not ok then result = { "failed", "cannot run it: " .. message_of(err2) } end
    if self.ctl.db then self.ctl.db:close() end
    self.ctl.db = nil
    self.pool:close_idle()
    sched.stop()
  end)
  sched.run()
  return result[1], result[2]
end

return runner
