-- The seed's daily platform metrics (view daily_platform_metrics): users, transactions,
-- deposits and withdrawals (USD) and the average confidentiality score, per UTC day.
local report = require "enigma.report"

return report.define {
  title = "Daily platform metrics",
  chart = { x = "metric_date", y = "total_transactions", kind = "bar" },
  description = "Daily platform metrics: users, transactions, deposit and withdrawal volume (USD) per UTC day.",
  options = { days = { default = 30, max = 3650, help = "the last N days (the view keeps 30)" } },
  run = function(db, opts)
    return assert(db:query([[
      select metric_date, unique_users, total_transactions, round(total_deposits, 2) as deposits_usd,
             round(total_withdrawals, 2) as withdrawals_usd, round(avg_privacy_score, 2) as avg_privacy_score
        from daily_platform_metrics
       where metric_date > (now() at time zone 'UTC')::date - $1::int
       order by metric_date desc]], opts.days))
  end,
}
