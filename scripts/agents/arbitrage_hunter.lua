-- arbitrage_hunter: trades the spread between pools that price ETH differently.
--
-- Rule. Each pool implies an ETH price: (total - stablecoins - other tokens) / ETH held. When
-- the dearest pool's price is more than configuration.min_edge_bps (default 12) above the
-- cheapest's, the tick proposes a rebalance into the dearest pool of
-- risk_parameters.max_trade_usd (default 1000), capped by max_allocation_usd. The same pair is
-- traded at most once per configuration.cooldown seconds (default 300; ctx.state.last). Prices
-- are exact decimals; the edge is a ratio, computed in floats (:tonumber()).
return {
  interval = 15,
  description = "moves funds toward the pool that prices ETH highest when the spread is wide enough",
  tick = function(ctx, activation)
    local config, risk = activation.configuration or {}, activation.risk_parameters or {}
    local cheap, dear
    for _, pool in ipairs(ctx.pools()) do
      local price = pool.implied_eth_price
      if price and price > 0 then
        if not cheap or price < cheap.implied_eth_price then cheap = pool end
        if not dear or price > dear.implied_eth_price then dear = pool end
      end
    end
    if not cheap or cheap == dear then return end
    local edge_bps = (dear.implied_eth_price:tonumber() / cheap.implied_eth_price:tonumber() - 1) * 10000
    if edge_bps <= (config.min_edge_bps or 12) then return end
    local pair = cheap.pool .. ">" .. dear.pool
    ctx.state.last = ctx.state.last or {}
    if ctx.state.last[pair] and ctx.now - ctx.state.last[pair] < (config.cooldown or 300) then return end
    local amount = decimal(risk.max_trade_usd or 1000)
    local limit = (activation.allocation_limits or {}).max_allocation_usd
    if limit and amount > limit then amount = decimal(limit) end
    ctx.propose{ type = "rebalance", amount = amount, pool = dear.pool, token = "USDC",
                 note = ("from %s, edge %.0f bps"):format(cheap.pool, edge_bps) }
    ctx.state.last[pair] = ctx.now
  end,
}
