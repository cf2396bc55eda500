-- Loads the demo data set (scripts/demo/sample.sql: the seed's sample rows,
-- fixed, plus a small coherent data set), then refreshes the derived tables.
-- Idempotent: loading twice changes nothing.
--
--   enigma run scripts/demo/load.lua
local enigma = require "enigma"

local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
local f = assert(io.open(here .. "sample.sql"))
local sql = f:read("a")
f:close()

local db <close> = assert(enigma.db.connect())
db:transaction(function(tx)
  assert(tx:run_script(sql))
  tx:exec("select record_pool_statistics_history()")
end)
-- CONCURRENTLY cannot run inside a transaction block.
assert(db:exec("select refresh_agent_leaderboard()"))
local n = db:query("select (select count(*) from users) as users, (select count(*) from transactions) as txs")[1]
print(string.format("demo data loaded: %d users, %d transactions", n.users, n.txs))
