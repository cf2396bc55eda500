-- Agent performance trends (view agent_performance_trends): new activations, profit and APR per
-- agent and UTC week over the last 12 weeks.
local report = require "enigma.report"

return report.define {
  title = "Agent performance trends",
  chart = { x = "week_start", y = "total_profit", kind = "bar" },
  description = "Agent performance per UTC week: new activations, profit and APR (last 12 weeks).",
  options = { agent = { help = "only this agent type (e.g. risk_shield)" } },
  run = function(db, opts)
    return assert(db:query([[
      select week_start, agent_type, agent_name, new_activations, round(total_profit, 2) as total_profit,
             round(avg_profit_per_user, 2) as avg_profit_per_user, round(avg_apr, 2) as avg_apr
        from agent_performance_trends
       where $1::text is null or agent_type = $1
       order by week_start desc, total_profit desc]], opts.agent))
  end,
}
