-- The job runner's scheduling on a fake clock, without a database or a sleep: what it claims
-- and when it wakes, with the wall clock jumping an hour forwards and backwards while the
-- monotonic clock goes on. (Claims, leases and takeovers against the database are in
-- serve_spec and serve_multi_spec.)
local runner = require "enigma.serve.runner"
local jobs = require "enigma.serve.jobs"

local T0 = 1893456000             -- 2030-01-01T00:00:00Z

local function clock(wall, mono)
  local c = { wall_at = wall, mono_at = mono }
  c.wall = function() return c.wall_at end
  c.mono = function() return c.mono_at end
  function c.advance(s) c.wall_at, c.mono_at = c.wall_at + s, c.mono_at + s end
  return c
end

-- A runner on the fake clock with `files` ({ name = source }) installed; its claims recorded
-- instead of sent.
local function runner_with(c, files)
  local r = runner.new({ clock = c, lease = 30, lookahead = 0.5, quiet = true })
  r.claimed = {}
  function r.claim(self, batch)
    for _, b in ipairs(batch) do self.claimed[#self.claimed + 1] = b end
    return {}
  end
  for name, src in pairs(files) do
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write(src)
    f:close()
    r:install(assert(jobs.load(path, name)))
    os.remove(path)
  end
  return r
end

local EVERY_SECOND = "return { schedule = '* * * * * *', run = function() end }"
local EVERY_MINUTE = "return { schedule = '0 * * * * *', run = function() end }"

describe("the runner on a fake clock", function()
  it("claims each second's occurrence once as time goes on", function()
    local c = clock(T0 + 0.6, 1000)
    local r = runner_with(c, { tick = EVERY_SECOND })
    for _ = 1, 10 do
      r:claim_due()
      c.advance(1)
    end
    assert.are.equal(10, #r.claimed)
    for i = 2, #r.claimed do assert.are.equal(r.claimed[i - 1].due + 1, r.claimed[i].due) end
  end)

  it("a wall clock an hour forwards: one run for what it skipped, not 3,600", function()
    local c = clock(T0 + 0.6, 1000)
    local r = runner_with(c, { tick = EVERY_SECOND })
    r:claim_due()
    c.wall_at = c.wall_at + 3600                   -- the wall steps; the monotonic clock does not
    r:claim_due()
    r:claim_due()
    -- the first, one run for the hour skipped, and the current second (due within the lookahead)
    assert.are.equal(3, #r.claimed)
    assert.are.equal(r.claimed[1].due + 1, r.claimed[2].due)
    assert.is_true(math.abs(r.claimed[3].due - c.wall()) <= r.lookahead)
    assert.is_true(r.heap[1].due > c.wall())      -- next: the first occurrence after now
    assert.is_true(r.heap[1].due <= c.wall() + 2)
  end)

  it("a wall clock an hour backwards: heartbeats still come every lease / 3", function()
    local c = clock(T0 + 0.6, 1000)
    local r = runner_with(c, { hourly = EVERY_MINUTE })
    r.next_heartbeat = c.mono() + r.lease / 3
    c.wall_at = c.wall_at - 3600
    local wait = r:next_wake()
    assert.is_true(wait <= r.lease / 3 and wait > 0, tostring(wait))
    c.mono_at = c.mono_at + r.lease / 3
    assert.is_true(r:next_wake() <= 0)            -- the heartbeat is due by the monotonic clock
  end)

  it("waits for the next occurrence by the wall clock, minus the lookahead", function()
    local c = clock(T0 + 10, 1000)
    local r = runner_with(c, { minutely = EVERY_MINUTE })
    r.next_heartbeat = c.mono() + 1e6
    assert.is_true(math.abs(r:next_wake() - (50 - r.lookahead)) < 1e-6, tostring(r:next_wake()))
  end)

  it("a retry's backoff is measured on the monotonic clock", function()
    local c = clock(T0, 1000)
    local r = runner_with(c, {})
    r.next_heartbeat = c.mono() + 1e6
    r.retries = { { id = "x", at = c.mono() + 5, final = "failed" } }
    c.wall_at = c.wall_at + 3600                   -- a wall step does not make it due
    assert.is_true(math.abs(r:next_wake() - 5) < 1e-6)
    c.wall_at = c.wall_at - 7200                   -- nor does one back delay it
    assert.is_true(math.abs(r:next_wake() - 5) < 1e-6)
  end)

  it("stopping: the grace period is measured on the monotonic clock", function()
    local c = clock(T0, 1000)
    local r = runner_with(c, {})
    r.poke = function() end
    r:stop("SIGTERM")
    assert.are.equal(c.mono() + r.grace, r.stop_deadline)
    c.wall_at = c.wall_at - 3600
    assert.are.equal(1000 + r.grace, r.stop_deadline)
  end)
end)
