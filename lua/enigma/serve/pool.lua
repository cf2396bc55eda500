--- enigma.serve.pool: the database connections the tasks of one part of `enigma serve` share
-- (job runs; the reads of agent ticks). At most `size` are open at once, so the database's
-- max_connections is not exhausted by a burst of work; a task that finds none free waits for the
-- next one released. Up to `idle` stay open between uses.
local enigma = require "enigma"
local service = require "enigma.serve.service"

local sched = enigma.sched
local pool = {}

local Pool = {}
Pool.__index = Pool

--- opts: url (nil: the default database), size (connections open at once), idle (kept open;
--- default size).
function pool.new(opts)
  return setmetatable({
    url = opts.url, size = opts.size, idle = opts.idle or opts.size,
    free = {}, open = 0, waiters = {},
  }, Pool)
end

--- A connection: an idle one, a new one while fewer than `size` are open, or else the next one
--- released (the calling task waits). Raises "cannot connect to the database: ..." when a new
--- connection fails.
function Pool:acquire()
  while true do
    local db = table.remove(self.free)
    if db then return db end
    if self.open < self.size then
      self.open = self.open + 1
      local err
      db, err = enigma.db.connect(self.url)
      if db then return db end
      self.open = self.open - 1
      self:wake_next()   -- the slot is free again: a waiter must not sleep on it forever
      error("cannot connect to the database: " .. service.first_line(err), 0)
    end
    self.waiters[#self.waiters + 1] = sched.current()
    sched.suspend()
  end
end

--- Gives `db` back and wakes the next waiting task. It is closed rather than kept when `discard`
--- (its work failed or was cut short: what it was doing is cancelled first), when it is inside a
--- transaction, or when `idle` connections are kept already.
function Pool:release(db, discard)
  local ok, busy = pcall(db.in_transaction, db)
  if discard or not ok or busy or #self.free >= self.idle then
    if discard then pcall(db.cancel, db) end
    pcall(db.close, db)
    self.open = self.open - 1
  else
    self.free[#self.free + 1] = db
  end
  self:wake_next()
end

--- Wakes the first waiting task still alive (one that timed out meanwhile is dead: skipped).
function Pool:wake_next()
  repeat
    local waiter = table.remove(self.waiters, 1)
  until not waiter or waiter:wake()
end

--- Closes the idle connections: after the server was lost they are dead too, and at shutdown.
function Pool:close_idle()
  for _, db in ipairs(self.free) do pcall(db.close, db) end
  self.open = self.open - #self.free
  self.free = {}
end

return pool
