-- A first look at the Enigma database: pool analytics, the agent
-- leaderboard, and one user's privacy dashboard seen as that user (RLS).
--
--   enigma run examples/quickstart.lua [WALLET]
local enigma = require "enigma"
local fmt = require "enigma.format"

local wallet = arg[1] or "0x1111111111111111111111111111111111111111"
local db <close> = assert(enigma.db.connect())

print(fmt.table(assert(db:query([[
  select pool_name, chain_id, round(total_pool_size, 2) as total_pool_usd, active_mixers, anonymity_set,
         privacy_score, privacy_rating, pool_tier
    from pool_analytics
   order by privacy_score desc, chain_id]])), { title = "Privacy pools" }))

print(fmt.table(assert(db:query([[
  select ranking, agent_name, agent_type, reputation_score, avg_yield, success_rate,
         active_users, round(total_aum, 2) as total_aum
    from agent_leaderboard
   order by ranking
   limit 10]])), { title = "Agent leaderboard" }))

local user = assert(db:query("select id from users where wallet_address = lower($1)", wallet))[1]
if not user then
  io.stderr:write("quickstart: no user has the wallet ", wallet, "; load the demo data first\n")
  os.exit(1)
end
-- As that user, row-level security shows their own row and nobody else's.
local dashboard = db:as_user({ sub = user.id }, function(tx)
  return assert(tx:query([[
    select user_wallet, round(total_value, 2) as total_value, privacy_score, anonymity_level,
           stealth_addresses_count, total_privacy_deposits,
           round(total_privacy_volume, 6) as total_privacy_volume, stealth_usage_rate, risk_score
      from user_privacy_dashboard]]))
end)
print(fmt.table(dashboard, { title = "Privacy dashboard of " .. wallet .. " (as that user)" }))
