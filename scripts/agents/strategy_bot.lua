-- strategy_bot: runs the simple rules the user wrote in the activation's configuration.
--
-- Rule. configuration.rules is a list; each rule, in order:
--   { kind = "dca", token = "ETH", usd = 50, every = "1 week" }
--       buys `usd` of `token` (a token_transfer action) once per `every` (seconds, or
--       "N minute(s)|hour(s)|day(s)|week(s)"); the last buy is kept in ctx.state.
--   { kind = "take_profit", pct = 20 }
--       when total_profit exceeds pct % of the allocation, harvests it (a yield_harvest action
--       of the profit), once per `every` (default one day).
-- When the activation has lost more than risk_parameters.stop_loss_pct % of its allocation, no
-- rule runs and the stop is logged. Amounts are exact decimals (a float from the configuration is
-- made one with decimal()); the loss is a ratio, in floats.
local UNITS = { minute = 60, hour = 3600, day = 86400, week = 604800 }

local function seconds(every)
  if type(every) == "number" then return every end
  local n, unit = tostring(every):match("^(%d+)%s*(%a-)s?$")
  return n and UNITS[unit] and tonumber(n) * UNITS[unit] or nil
end

return {
  interval = 60,
  description = "dollar-cost averaging and take-profit rules from the user's configuration",
  tick = function(ctx, activation)
    local config, risk = activation.configuration or {}, activation.risk_parameters or {}
    local allocation = decimal(activation.current_allocation or 0)
    local profit = decimal(activation.total_profit or 0)
    local lost_pct = allocation > 0 and (-profit / allocation):tonumber() * 100 or 0
    if risk.stop_loss_pct and lost_pct > risk.stop_loss_pct then
      return ctx.log(("stop loss: %.1f%% lost, over %g%%; no rule runs"):format(lost_pct, risk.stop_loss_pct))
    end
    ctx.state.last = ctx.state.last or {}
    for i, rule in ipairs(config.rules or {}) do
      local key = tostring(i)
      local every = seconds(rule.every or 86400)
      local due = every and ctx.now - (ctx.state.last[key] or 0) >= every
      if not every then
        ctx.log(("rule %d: cannot read every = %s"):format(i, tostring(rule.every)))
      elseif due and rule.kind == "dca" then
        ctx.propose{ type = "token_transfer", amount = decimal(rule.usd), token = "USDC",
                     note = ("dca into %s"):format(rule.token or "ETH") }
        ctx.state.last[key] = ctx.now
      elseif due and rule.kind == "take_profit" and allocation > 0
             and profit > allocation * decimal(rule.pct or 20) / 100 then
        ctx.propose{ type = "yield_harvest", amount = profit, token = "USDC", note = "take profit" }
        ctx.state.last[key] = ctx.now
      end
    end
  end,
}
