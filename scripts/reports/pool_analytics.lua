-- Pool analytics (view pool_analytics): the main pools with size, volume, privacy score,
-- mixer participation and tier.
local report = require "enigma.report"

return report.define {
  title = "Pool analytics",
  chart = { x = "pool_name", y = "pool_size_usd", kind = "bar" },
  description = "The main privacy pools: size and volume (USD), privacy score and rating, tier.",
  run = function(db)
    return assert(db:query([[
      select pool_name, chain_id, round(total_pool_size, 2) as pool_size_usd, round(volume_24h, 2) as volume_24h_usd,
             anonymity_set, active_mixers, mixer_participation_rate, daily_volume_ratio,
             privacy_score, privacy_rating, pool_tier
        from pool_analytics order by total_pool_size desc]]))
  end,
}
