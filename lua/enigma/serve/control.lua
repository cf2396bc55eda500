--- enigma.serve.control: the control task of one part of `enigma serve` (the job runner, the
-- agent ticker), and its connection. It connects (retrying with backoff), then calls
-- owner:cycle(db) until that returns "done"; a lost connection is closed and made again, any
-- other error is logged and the cycle retried a second later. At the end, owner:shutdown().
--
-- The owner has cycle(db), shutdown() and a `stopping` field, and may have connected(db) (after
-- each connection; when it fails, the connection is closed and made again after the same
-- backoff as an unavailable database), disconnected(), and unavailable_at_stop() (it is
-- stopping and the database cannot be reached, or the connected hook keeps failing).
local enigma = require "enigma"
local service = require "enigma.serve.service"

local sched = enigma.sched
local log, first_line, message_of = service.log, service.first_line, service.message_of
local control = {}

local Control = {}
Control.__index = Control

--- opts: url (nil: the default database), name (what log lines start with: "jobs", "agents").
function control.new(owner, opts)
  return setmetatable({ owner = owner, url = opts.url, name = opts.name, joiners = {} }, Control)
end

function Control:start()
  self.task = sched.spawn(function() self:loop() end)
  return self
end

--- Wakes the control task if it sleeps in Control:sleep.
function Control:poke()
  if self.sleeping and self.task then
    self.sleeping = false
    self.task:wake()
  end
end

--- In the control task: sleeps `seconds` (nil: until poked), or less when poked.
function Control:sleep(seconds)
  self.sleeping = true
  sched.suspend(seconds)
  self.sleeping = false
end

function Control:drop(err)
  pcall(self.db.close, self.db)
  self.db = nil
  log("%s: lost the database connection: %s", self.name, first_line(message_of(err)))
  if self.owner.disconnected then self.owner:disconnected() end
end

-- Connects, and runs the owner's connected hook. Returns true, or false and the error logged.
function Control:connect()
  local db, err = enigma.db.connect(self.url)
  if not db then
    return false, ("database unavailable (%s)"):format(first_line(err))
  end
  self.db = db
  if self.connected_once then log("%s: reconnected to the database", self.name) end
  self.connected_once = true
  if not self.owner.connected then return true end
  local ok, cerr = pcall(self.owner.connected, self.owner, db)
  if ok then return true end
  if service.is_connection_error(cerr) then
    self:drop(cerr)
    return false, "lost the connection at once"
  end
  pcall(db.close, db)       -- say, the schema is not migrated: wait before trying again
  self.db = nil
  return false, ("error after connecting: %s"):format(first_line(message_of(cerr)))
end

function Control:loop()
  local owner, backoff = self.owner, 0.25
  while true do
    if not self.db then
      local ok, why = self:connect()
      if ok then
        backoff = 0.25
      elseif owner.stopping then
        if owner.unavailable_at_stop then owner:unavailable_at_stop() end
        break
      else
        log("%s: %s; waiting for the database, retrying in %.2fs", self.name, why, backoff)
        sched.sleep(backoff)   -- not cut short by pokes: every finished run pokes
        backoff = math.min(backoff * 2, 5)
      end
    else
      local ok, res = pcall(owner.cycle, owner, self.db)
      if ok and res == "done" then break end
      if not ok then
        if service.is_connection_error(res) then
          self:drop(res)
        else
          log("%s: error: %s", self.name, message_of(res))
          sched.sleep(1)
        end
      end
    end
  end
  if self.db then pcall(self.db.close, self.db) end
  self.db = nil
  owner:shutdown()
  self.finished = true
  for _, task in ipairs(self.joiners) do task:wake() end
end

--- In a task: waits until the control task has finished (and its owner has shut down).
function Control:join()
  while not self.finished do
    self.joiners[#self.joiners + 1] = sched.current()
    sched.suspend(1)
  end
end

return control
