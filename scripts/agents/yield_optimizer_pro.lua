-- yield_optimizer_pro: keeps the activation's allocation in the pool with the best
-- risk-adjusted yield.
--
-- Rule. A pool's yield is its fee income on the last 24 h of volume, annualised, in percent:
--   apr = turnover_24h * fee_bps / 10000 * 365 * 100     (configuration.fee_bps, default 30)
-- risk-adjusted by the pool's compliance score (unknown counts as 50):
--   score = apr * compliance_score / 100
-- The money to place is the activation's current_allocation, or max_allocation_usd when nothing
-- is allocated yet, never more than allocation_limits.max_allocation_usd. When the best pool
-- scores more than configuration.min_gain points (default 0.5) above the pool the money is in
-- (ctx.state.pool; none at first), the tick proposes a rebalance of that amount into it. The
-- scores are ratios, in floats (:tonumber()); the amount is an exact decimal.
local function score(pool, fee_bps)
  if not pool.turnover_24h then return nil end
  local apr = pool.turnover_24h:tonumber() * fee_bps / 10000 * 365 * 100
  return apr * (pool.compliance_score and pool.compliance_score:tonumber() or 50) / 100
end

return {
  interval = 60,
  description = "moves the allocation to the pool with the best risk-adjusted fee yield",
  tick = function(ctx, activation)
    local config = activation.configuration or {}
    local fee_bps, min_gain = config.fee_bps or 30, config.min_gain or 0.5
    local best, best_score, current_score
    for _, pool in ipairs(ctx.pools()) do
      local s = score(pool, fee_bps)
      if s and (not best_score or s > best_score) then best, best_score = pool, s end
      if pool.pool == ctx.state.pool then current_score = s end
    end
    if not best then return ctx.log("no pool has statistics yet") end
    local limit = (activation.allocation_limits or {}).max_allocation_usd
    local amount = decimal(activation.current_allocation or 0)
    if amount <= 0 then amount = decimal(limit or 0) end
    if limit and amount > limit then amount = decimal(limit) end
    if amount <= 0 or best.pool == ctx.state.pool then return end
    if current_score and best_score - current_score <= min_gain then return end
    ctx.propose{ type = "rebalance", amount = amount, pool = best.pool, token = "USDC",
                 note = ("score %.2f over %.2f"):format(best_score, current_score or 0) }
    ctx.allocate(amount)
    ctx.state.pool, ctx.state.score = best.pool, best_score
  end,
}
