--- enigma.serve.server: `enigma serve` -- the owner of the job runner (enigma.serve.runner), the
-- agent ticker (enigma.serve.agents), the event loop and the process's signals. SIGINT or SIGTERM
-- stops both parts: no new work starts, running jobs get the grace period, finished ticks are
-- written. The loop ends when both parts have finished.
local enigma = require "enigma"
local agents = require "enigma.serve.agents"
local runner = require "enigma.serve.runner"
local service = require "enigma.serve.service"

local sched = enigma.sched
local log, first_line = service.log, service.first_line
local server = {}

local Server = {}
Server.__index = Server

--- opts: runner.new's options (dir, id, url, lease, grace, lookahead, capacity, connections,
--- quiet), plus no_agents, agents_dir, no_sandbox, max_failures.
function server.new(opts)
  local self = setmetatable({ runner = runner.new(opts) }, Server)
  if not opts.no_agents then
    self.agents = agents.new({ dir = opts.agents_dir, url = opts.url, sandbox = not opts.no_sandbox,
                               max_failures = opts.max_failures, quiet = opts.quiet })
  end
  return self
end

function Server:stop(signame)
  if self.stopping then return end
  self.stopping = true
  local r = self.runner
  log("%s: stopping; %d run(s) in flight get %gs to finish", signame, r.inflight, r.grace)
  r:stop(signame)
  if self.agents then self.agents:stop() end
end

--- Serves until a signal stops it. Returns true, or nil and a message when it cannot start.
function Server:run()
  collectgarbage("generational")   -- many short-lived runs: shorter collector pauses
  local n, err = self.runner:start()
  if not n then return nil, err end
  if self.agents then
    local na, aerr = self.agents:start()
    if not na then
      log("agents: %s; no agents run", first_line(aerr))
      self.agents = nil
    end
  end
  local signals = {
    sched.signal("SIGINT", function() self:stop("SIGINT") end),
    sched.signal("SIGTERM", function() self:stop("SIGTERM") end),
  }
  sched.spawn(function()
    self.runner:join()
    if self.agents then self.agents:join() end
    for _, h in ipairs(signals) do h:stop() end
    sched.stop()
  end)
  sched.run()
  return true
end

return server
