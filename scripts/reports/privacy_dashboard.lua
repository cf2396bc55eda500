-- The user privacy dashboard (view user_privacy_dashboard) for one wallet, read as that user
-- (db:as_user): row-level security shows their row and nobody else's.
local report = require "enigma.report"

return report.define {
  title = "Privacy dashboard",
  description = "One user's privacy dashboard, read as that user through row-level security.",
  options = { wallet = { required = true, help = "the user's wallet address (0x...)" } },
  run = function(db, opts)
    local wallet = opts.wallet:lower()
    if not wallet:match("^0x%x+$") or #wallet ~= 42 then
      error(("'%s' is not a wallet address (0x and 40 hex digits)"):format(opts.wallet), 0)
    end
    local user = assert(db:query("select id from users where wallet_address = $1", wallet))[1]
    if not user then error(("no user has wallet %s"):format(wallet), 0) end
    return db:as_user({ sub = user.id, wallet_address = wallet }, function(tx)
      return assert(tx:query([[
        select user_wallet, round(total_value, 2) as total_value, privacy_score, anonymity_level,
               stealth_addresses_count, total_privacy_deposits, round(total_privacy_volume, 6) as total_privacy_volume,
               round(avg_deposit_privacy, 2) as avg_deposit_privacy, stealth_usage_rate, risk_score,
               diversification_score, liquidity_score
          from user_privacy_dashboard]]))
    end)
  end,
}
