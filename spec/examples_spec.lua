-- examples/*.lua beyond the quickstart run as documented (needs: cluster).
local BIN = assert(os.getenv("ENIGMA_BIN"))
local run = require("shell").run

describe("examples/privacy.lua", function()
  it("deposits, withdraws once, and finds a stealth payment", function()
    local code, out, err = run(BIN .. " run examples/privacy.lua")
    assert.are.equal(0, code, err)
    assert.matches("anonymity set %d+", out)
    assert.matches("withdrawn to 0x2222222222222222222222222222222222222222", out)
    assert.matches("the same note again: this note has already been spent %(ESPENT%)", out)
    local paid = out:match("Alice pays (0x%x+)")
    assert.is_string(paid)
    assert.matches("Bob's scan finds " .. paid .. "; its key is enigma%.crypto%.key %(redacted; address " .. paid, out)
    -- the note is never printed whole
    assert.is_nil(out:find("enigma%-note%-v1%-1%-%x+%-0%.5%-%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x"))
  end)
end)
