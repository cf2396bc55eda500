--- enigma.serve.runner_events: the job runner's events -- the listener task that LISTENs on every
-- channel a job names, turns each notification into an event claim (one per distinct payload
-- across runners), and after a lost connection re-subscribes and replays the rows changed
-- while it was away. enigma.serve.runner installs these methods on its Runner class.
local enigma = require "enigma"
local service = require "enigma.serve.service"

local sched = enigma.sched
local log, first_line, query, message_of = service.log, service.first_line, service.query, service.message_of

return function(Runner, runner)
  local CATCHUP = {
    deposit_status = [[select public.event_deposit_status(id, status, chain_id, updated_at) as payload
                         from privacy_deposits where updated_at > to_timestamp($1)
                        order by updated_at limit 10000]],
    transactions = [[select public.event_transaction(id, tx_type, status, created_at) as payload
                       from transactions where created_at > to_timestamp($1)
                      order by created_at limit 10000]],
    pool_statistics = [[select public.event_pool_statistics(id, pool_type, chain_id, privacy_score,
                                                            updated_at) as payload
                          from pool_statistics where updated_at > to_timestamp($1)
                         order by updated_at]],
  }
  runner.CATCHUP = CATCHUP

  function Runner:on_event(channel, payload, replayed)
    local key = "event:" .. channel .. ":" .. enigma.crypto.hex(enigma.crypto.keccak256(payload)):sub(3, 34)
    local ok, decoded = pcall(enigma.json.decode, payload)
    local event = { channel = channel, payload = payload, data = ok and decoded or nil, replayed = replayed }
    for name, job in pairs(self.jobs) do
      if job.listen == channel then
        self.claims[#self.claims + 1] = { name = name, occurrence = key, trigger = "event",
                                          due = sched.now(), event = event }
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

  --- The listener task: LISTEN on every job's channel; after a lost connection, re-subscribe and
  --- replay what changed since the last moment it was known to be listening.
  function Runner:listen_loop(channels)
    local backoff, since = 0.25, self.listened_at
    while not self.stopping do
      local db = enigma.db.connect(self.url)
      if not db then
        sched.sleep(backoff)
        backoff = math.min(backoff * 2, 5)
      else
        self.listen_db = db
        backoff = 0.25
        local ok, err = pcall(function()
          for _, ch in ipairs(channels) do
            db:listen(ch, function(c, payload) self:on_event(c, payload, false) end)
          end
          if since then
            for _, ch in ipairs(channels) do
              local sql = CATCHUP[ch]
              if sql then
                for _, row in ipairs(query(db, sql, since - 5)) do self:on_event(ch, row.payload, true) end
              else
                log("events on %s while disconnected cannot be replayed", ch)
              end
            end
          end
          while not self.stopping do
            self.listened_at = sched.now()
            local n, werr = db:wait(5)
            if not n then error({ message = werr, code = "08006" }, 0) end
          end
        end)
        self.listen_db = nil
        pcall(db.close, db)
        if not ok and not self.stopping then
          log("event listener: %s; reconnecting", first_line(message_of(err)))
        end
        since = self.listened_at
      end
    end
  end

  function Runner:restart_listener()
    if self.listener then
      self.listener:cancel()
      self.listener = nil
      if self.listen_db then pcall(self.listen_db.close, self.listen_db) end
      self.listen_db = nil
    end
    if not self.started or self.stopping then return end
    local channels = self:channels()
    if #channels > 0 then
      self.listener = sched.spawn(function() self:listen_loop(channels) end)
    end
  end
end
