-- enigma cron next: the command line over core/sched/cron (no database).
local BIN = assert(os.getenv("ENIGMA_BIN"))
local shell = require "shell"

local function cron(args)
  return shell.run(BIN .. " cron next " .. args)
end

local function lines(s)
  local t = {}
  for line in s:gmatch("[^\n]+") do t[#t + 1] = line end
  return t
end

describe("enigma cron next", function()
  it("prints N fire times strictly after --from, in UTC", function()
    local code, out, err = cron("'*/15 * * * *' --from 2024-03-09T12:00:00Z -n 3")
    assert.are.equal(0, code, err)
    assert.are.same({ "2024-03-09T12:15:00Z", "2024-03-09T12:30:00Z", "2024-03-09T12:45:00Z" }, lines(out))
  end)

  it("runs a fixed-time job once right after a spring-forward gap in its zone", function()
    -- 2024-03-10 02:30 does not exist in New York: clocks go from 02:00 EST to 03:00 EDT (07:00Z)
    local code, out, err = cron("'30 2 * * *' --from 2024-03-09T12:00:00Z --tz America/New_York -n 2")
    assert.are.equal(0, code, err)
    assert.are.same({ "2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z" }, lines(out))
  end)

  it("defaults to five times", function()
    local code, out = cron("@hourly --from 2024-01-01")
    assert.are.equal(0, code)
    assert.are.equal(5, #lines(out))
    assert.are.equal("2024-01-01T01:00:00Z", lines(out)[1])
  end)

  it("rejects a bad expression on stderr, naming the field and the token, with exit 2", function()
    local code, out, err = cron("'61 * * * *'")
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("minute", err)
    assert.matches("61", err)
  end)

  it("rejects a bad --from, an unknown zone and a missing expression", function()
    local code, _, err = cron("'* * * * *' --from 2024-02-30T00:00:00Z")
    assert.are.equal(2, code)
    assert.matches("%-%-from", err)
    code, _, err = cron("'* * * * *' --tz Mars/Olympus")
    assert.are.equal(2, code)
    assert.matches("Mars/Olympus", err)
    code = shell.run(BIN .. " cron next")
    assert.are.equal(2, code)
  end)

  it("explains itself", function()
    local code, out = shell.run(BIN .. " cron --help")
    assert.are.equal(0, code)
    assert.matches("usage: enigma cron next", out)
  end)
end)
