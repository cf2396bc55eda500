-- json_decode for spec/bench/run.lua: enigma.json.decode (core/json.h) against lua-cjson on the
-- same documents, in alternating rounds (A B B A ...) in one process.
local enigma = require "enigma"
local cjson = require "cjson"

local M = {}

--- The documents: name, description, text (written by enigma.json.encode).
function M.documents()
  local rows = {}
  for i = 1, 20000 do
    rows[i] = {
      id = 1000000 + i, user_id = ("%08x-4a6e-9f0e-2b1d-%012x"):format(i * 2654435761 % 2 ^ 32, i * 7919),
      wallet = ("0x%040x"):format(i * 48271), tx_type = i % 3 == 0 and "withdrawal" or "deposit",
      amount = ("%d.%018d"):format(i % 5000, i * 7919 % 10 ^ 15), amount_usd = i % 977 * 1.25,
      gas_used = 21000 + i % 5000, gas_price_gwei = 30 + i % 7 * 0.5, block = 19000000 + i,
      privacy_level = i % 4, status = i % 10 == 0 and "pending" or "confirmed",
      created_at = ("2024-%02d-%02dT%02d:%02d:00Z"):format(1 + i % 12, 1 + i % 28, i % 24, i % 60),
      tags = { "privacy", "chain:" .. (1 + i % 3) }, metadata = { chain_id = 1 + i % 3, demo = true, note = enigma.null },
    }
  end
  local function config(depth, seed)
    if depth == 0 then
      return { enabled = seed % 2 == 0, threshold = seed * 0.125, limit = seed * 1000, name = "leaf-" .. seed,
               pools = { "eth-usdc", "wbtc-eth" }, weights = { 0.5, 0.3, 0.2 } }
    end
    local t = { name = "level-" .. depth, retries = depth }
    for k = 1, 4 do t["child_" .. k] = config(depth - 1, seed * 4 + k) end
    return t
  end
  local numbers = {}
  for i = 1, 100000 do
    local r = i % 4
    numbers[i] = r == 0 and i * 1234567 or r == 1 and i / 7 or r == 2 and i * 0.01 or -i
  end
  return {
    { name = "transactions", what = "20,000 transaction rows: numeric strings, integers, prices", text = enigma.json.encode(rows) },
    { name = "config", what = "a nested strategy configuration, 6 levels of objects", text = enigma.json.encode(config(6, 1)) },
    { name = "numbers", what = "100,000 numbers: integers, 17-digit ratios, cents", text = enigma.json.encode(numbers) },
  }
end

local function measure(decode, text, secs)
  collectgarbage("collect")
  local n, start = 0, enigma.monotime()
  local took
  repeat
    decode(text)
    n = n + 1
    took = enigma.monotime() - start
  until took >= secs
  return n * #text, took
end

--- Per document: bytes and seconds for each decoder over `rounds` alternating rounds.
function M.run(rounds, secs)
  local out = {}
  for _, doc in ipairs(M.documents()) do
    assert(#enigma.json.decode(doc.text) == #cjson.decode(doc.text), doc.name)
    local r = { doc = doc, ours = { bytes = 0, secs = 0 }, cjson = { bytes = 0, secs = 0 } }
    for i = 1, rounds do
      local order = (i % 4 == 1 or i % 4 == 0) and { "ours", "cjson" } or { "cjson", "ours" }
      for _, who in ipairs(order) do
        local b, s = measure(who == "ours" and enigma.json.decode or cjson.decode, doc.text, secs)
        r[who].bytes, r[who].secs = r[who].bytes + b, r[who].secs + s
      end
    end
    out[#out + 1] = r
  end
  return out
end

return M
