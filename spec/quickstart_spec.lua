-- examples/quickstart.lua, the main job of `make run` (needs: cluster).
local BIN = assert(os.getenv("ENIGMA_BIN"))

local run = require("shell").run

describe("quickstart", function()
  it("prints pool analytics, the leaderboard and one user's dashboard", function()
    local code, out, err = run(BIN .. " run examples/quickstart.lua")
    assert.are.equal(0, code, err)
    assert.matches("Privacy pools\n", out)
    assert.matches("Enigma Main Pool %(Ethereum%) |        1 |", out)
    assert.matches("Agent leaderboard\n", out)
    assert.matches("\n +1 | Privacy Sentinel Elite", out)
    assert.matches("Privacy dashboard of 0x1111111111111111111111111111111111111111 %(as that user%)", out)
    -- RLS: the dashboard, read as that user, has exactly their row
    assert.matches("\n 0x1111111111111111111111111111111111111111 |[^\n]+\n%(1 row%)", out)
  end)

  it("says so when the wallet has no user", function()
    local code, _, err = run(BIN .. " run examples/quickstart.lua 0x9999999999999999999999999999999999999999")
    assert.are.equal(1, code)
    assert.matches("no user has the wallet", err)
  end)
end)
