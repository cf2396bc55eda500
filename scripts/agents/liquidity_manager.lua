-- liquidity_manager: keeps liquidity where it is used.
--
-- Rule. For configuration.pool (default: the largest pool), turnover = volume_24h /
-- total_pool_size. Above configuration.high_turnover (default 0.02) the tick adds
-- configuration.step_usd (default 500) to the allocation; below configuration.low_turnover
-- (default 0.002) it takes a step out. The allocation stays within 0 .. max_allocation_usd.
-- Each change is a rebalance action and the activation's new current_allocation, both exact
-- decimals; turnover is a ratio, printed as a float (:tonumber()).
return {
  interval = 60,
  description = "adds liquidity to a busy pool and withdraws it from an idle one",
  tick = function(ctx, activation)
    local config = activation.configuration or {}
    local pool
    for _, p in ipairs(ctx.pools()) do
      if p.pool == config.pool or (not config.pool and (not pool or p.total_pool_size > pool.total_pool_size)) then
        pool = p
      end
    end
    if not pool or not pool.turnover_24h then return ctx.log("no statistics for the pool") end
    local step = decimal(config.step_usd or 500)
    local limit = (activation.allocation_limits or {}).max_allocation_usd
    local now = decimal(activation.current_allocation or 0)
    local target = now
    if pool.turnover_24h > (config.high_turnover or 0.02) then
      target = now + step
      if limit and target > limit then target = decimal(limit) end
    elseif pool.turnover_24h < (config.low_turnover or 0.002) then
      target = now - step
      if target < 0 then target = decimal(0) end
    end
    if target == now then return end
    ctx.propose{ type = "rebalance", amount = (target - now):abs(), pool = pool.pool, token = "USDC",
                 note = (target > now and "add" or "withdraw")
                        .. (", turnover %.4f"):format(pool.turnover_24h:tonumber()) }
    ctx.allocate(target)
  end,
}
