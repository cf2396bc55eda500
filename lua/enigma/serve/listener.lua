--- enigma.serve.listener: LISTENs on a set of channels on a connection of its own and calls
-- on_event(channel, payload, replayed) for every notification. After a lost connection it
-- connects again, subscribes again, and replays what changed while it was away through the
-- channel's catch-up query (sql/events_<channel>.sql), from 5 s before the last moment it knew
-- it was listening. Whoever handles the events must take each distinct payload once: a replay
-- may repeat one.
local enigma = require "enigma"
local service = require "enigma.serve.service"

local sched = enigma.sched
local log, first_line, query, message_of = service.log, service.first_line, service.query, service.message_of
local listener = {}

-- The channels whose events can be replayed, and their queries.
listener.CATCHUP = {
  deposit_status = "events_deposit_status",
  transactions = "events_transactions",
  pool_statistics = "events_pool_statistics",
}

local Listener = {}
Listener.__index = Listener

--- opts: url, channels (a list), on_event(channel, payload, replayed), since (epoch seconds: replay
--- from then on the first connection too; nil: not on the first).
function listener.new(opts)
  return setmetatable({ url = opts.url, channels = opts.channels, on_event = opts.on_event,
                        listened_at = opts.since }, Listener)
end

function Listener:start()
  self.task = sched.spawn(function() self:loop() end)
  return self
end

function Listener:stop()
  self.stopping = true
  if self.task then self.task:cancel() end
  self.task = nil
  if self.db then pcall(self.db.close, self.db) end
  self.db = nil
end

function Listener:listen(db, since)
  for _, ch in ipairs(self.channels) do
    db:listen(ch, function(c, payload) self.on_event(c, payload, false) end)
  end
  if since then
    for _, ch in ipairs(self.channels) do
      local name = listener.CATCHUP[ch]
      if name then
        for _, row in ipairs(query(db, service.sql(name), since - 5)) do self.on_event(ch, row.payload, true) end
      else
        log("events on %s while disconnected cannot be replayed", ch)
      end
    end
  end
  while not self.stopping do
    self.listened_at = sched.now()
    local n, werr = db:wait(5)
    if not n then error(enigma.error(werr, "08006"), 0) end
  end
end

function Listener:loop()
  local backoff, since = 0.25, self.listened_at
  while not self.stopping do
    local db = enigma.db.connect(self.url)
    if not db then
      sched.sleep(backoff)
      backoff = math.min(backoff * 2, 5)
    else
      self.db, backoff = db, 0.25
      local ok, err = pcall(self.listen, self, db, since)
      self.db = nil
      pcall(db.close, db)
      if not ok and not self.stopping then
        log("event listener: %s; reconnecting", first_line(message_of(err)))
      end
      since = self.listened_at
    end
  end
end

return listener
