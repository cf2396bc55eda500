-- privacy_sentinel: recommends a fresh stealth address when the user's privacy slips.
--
-- Rule. Watches the portfolio's privacy_score. When it is below configuration.min_privacy_score
-- (default 60) or has fallen more than configuration.max_drop points (default 5) since the last
-- tick, the tick proposes a stealth_generation action (amount 0): receive next at a fresh
-- stealth address. At most one recommendation per configuration.cooldown seconds (default one
-- day). It also logs when the largest pool's anonymity set is below
-- configuration.min_anonymity_set (default 5000): mixing there hides less. The score is an exact
-- decimal; the last one is kept in ctx.state and read back with decimal(), whatever number type
-- the JSON decoder gives.
return {
  interval = 300,
  description = "recommends a fresh stealth address when the privacy score falls",
  tick = function(ctx, activation)
    local config = activation.configuration or {}
    local portfolio = ctx.portfolio()
    if not portfolio or not portfolio.privacy_score then return end
    local score = portfolio.privacy_score
    local last = ctx.state.last_score and decimal(ctx.state.last_score)
    ctx.state.last_score = score
    local low = score < (config.min_privacy_score or 60)
    local fell = last and last - score > (config.max_drop or 5)
    local quiet = ctx.state.recommended_at and ctx.now - ctx.state.recommended_at < (config.cooldown or 86400)
    if (low or fell) and not quiet then
      ctx.propose{ type = "stealth_generation", amount = 0, token = "ETH",
                   note = fell and ("privacy score fell from %.1f to %.1f"):format(last:tonumber(), score:tonumber())
                               or ("privacy score %.1f is low"):format(score:tonumber()) }
      ctx.state.recommended_at = ctx.now
    end
    local largest
    for _, pool in ipairs(ctx.pools()) do
      if not largest or pool.total_pool_size > largest.total_pool_size then largest = pool end
    end
    local set = largest and largest.anonymity_set
    if set and set < (config.min_anonymity_set or 5000) then
      ctx.log(("pool %s has an anonymity set of only %d"):format(largest.pool, set))
    end
  end,
}
