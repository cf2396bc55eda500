-- risk_shield: pauses the user's activations that are losing more than the user allows.
--
-- Rule. An activation's drawdown is its loss as a share of its allocation:
--   drawdown = -total_profit / current_allocation * 100   (percent; activations with money only;
--                                                          a ratio, in floats)
-- Every other active activation of the user whose drawdown exceeds
-- risk_parameters.max_drawdown_pct (default 10) is paused. When the whole portfolio's
-- max_drawdown exceeds it, every other active activation is paused. Each pause is logged with
-- its reason; ctx.state.paused counts them.
return {
  interval = 30,
  description = "pauses activations whose drawdown exceeds the user's limit",
  tick = function(ctx, activation)
    local limit = (activation.risk_parameters or {}).max_drawdown_pct or 10
    local portfolio = ctx.portfolio()
    local all = portfolio and portfolio.max_drawdown and portfolio.max_drawdown > limit
    for _, a in ipairs(ctx.activations()) do
      if a.id ~= activation.id and a.status == "active" then
        local drawdown = a.current_allocation > 0 and (-a.total_profit / a.current_allocation):tonumber() * 100 or 0
        if all or drawdown > limit then
          local why = all and ("portfolio drawdown %.1f%% over %g%%"):format(portfolio.max_drawdown:tonumber(), limit)
                          or ("drawdown %.1f%% over %g%%"):format(drawdown, limit)
          ctx.pause(a.id, why)
          ctx.log(("paused %s (%s): %s"):format(a.id, a.agent_type, why))
          ctx.state.paused = (ctx.state.paused or 0) + 1
        end
      end
    end
  end,
}
