-- 010_views.sql: the seed's views and materialized view, and refresh_agent_leaderboard().
--
-- Erratum E16: views ran with their owner's rights, so anon and any user saw every wallet's
--   portfolio through user_privacy_dashboard. Every view is WITH (security_invoker = true): the
--   caller's privileges and row level security apply to the tables underneath.
--   A materialized view cannot do that, so agent_leaderboard is NOT granted to anon or
--   authenticated (it aggregates allocations and profits of all users; with one user per agent
--   the aggregate is that user's number).

-- Comprehensive Pool Analytics View
CREATE VIEW public.pool_analytics WITH (security_invoker = true) AS
SELECT
  ps.*,
  ROUND(
    (ps.active_mixers::numeric / NULLIF(ps.anonymity_set, 0)) * 100,
    2
  ) AS mixer_participation_rate,

  ROUND(
    (ps.volume_24h::numeric / NULLIF(ps.total_pool_size, 0)) * 100,
    4
  ) AS daily_volume_ratio,

  -- Liquidity efficiency metrics (total_pool_size is USD)
  CASE
    WHEN ps.total_pool_size > 100000000 THEN 'Institutional'
    WHEN ps.total_pool_size > 50000000 THEN 'Professional'
    WHEN ps.total_pool_size > 10000000 THEN 'Standard'
    ELSE 'Developing'
  END AS pool_tier,

  -- Privacy score interpretation
  CASE
    WHEN ps.privacy_score >= 90 THEN 'Maximum'
    WHEN ps.privacy_score >= 80 THEN 'High'
    WHEN ps.privacy_score >= 70 THEN 'Medium'
    ELSE 'Low'
  END AS privacy_rating

FROM public.pool_statistics ps
WHERE ps.pool_type = 'main';

-- Agent Performance Leaderboard
-- Erratum E05: user_agents has no total_allocation; total_aum is SUM(current_allocation).
CREATE MATERIALIZED VIEW public.agent_leaderboard AS
SELECT
  aa.id,
  aa.agent_name,
  aa.agent_type,
  aa.reputation_score,
  aa.avg_yield,

  ROUND(
    (aa.successful_executions::numeric / NULLIF(aa.total_executions, 0)) * 100,
    2
  ) AS success_rate,

  COUNT(ua.id) AS active_users,
  SUM(ua.current_allocation) AS total_aum,
  AVG(ua.total_profit) AS avg_user_profit,

  ROUND(aa.avg_yield - (aa.max_drawdown * 2), 4) AS risk_adjusted_yield,

  ROW_NUMBER() OVER (ORDER BY aa.reputation_score DESC, aa.avg_yield DESC) AS ranking

FROM public.ai_agents aa
LEFT JOIN public.user_agents ua ON aa.id = ua.agent_id AND ua.status = 'active'
WHERE aa.active = true
GROUP BY aa.id, aa.agent_name, aa.agent_type, aa.reputation_score,
         aa.avg_yield, aa.successful_executions, aa.total_executions, aa.max_drawdown;

-- Erratum E05: REFRESH ... CONCURRENTLY needs a unique index without WHERE clause.
CREATE UNIQUE INDEX idx_agent_leaderboard_id ON public.agent_leaderboard(id);
CREATE INDEX idx_agent_leaderboard_ranking ON public.agent_leaderboard(ranking);

-- Erratum E05/E10: the seed promised a refresh schedule and had none; the runtime's scheduler
-- calls this (not pg_cron). CONCURRENTLY: readers are never blocked. SECURITY DEFINER because
-- only the owner may refresh a materialized view.
CREATE OR REPLACE FUNCTION public.refresh_agent_leaderboard() RETURNS void
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
BEGIN
  REFRESH MATERIALIZED VIEW CONCURRENTLY public.agent_leaderboard;
END
$$;
COMMENT ON FUNCTION public.refresh_agent_leaderboard() IS
  'REFRESH MATERIALIZED VIEW CONCURRENTLY agent_leaderboard (called by the scheduler).';

-- User Privacy Dashboard View (security_invoker: an end user sees their own row only)
-- Decision: soft-deleted deposits (deleted_at set) are not counted.
CREATE VIEW public.user_privacy_dashboard WITH (security_invoker = true) AS
SELECT
  up.user_wallet,
  up.total_value,
  up.privacy_score,
  up.anonymity_level,
  up.stealth_addresses_count,

  COUNT(pd.id) AS total_privacy_deposits,
  SUM(pd.amount) AS total_privacy_volume,
  AVG(pd.privacy_score) AS avg_deposit_privacy,

  up.active_agents_count,
  up.agent_portfolio_value,

  ROUND(
    (up.stealth_addresses_count::numeric / NULLIF(COUNT(pd.id), 0)) * 100,
    2
  ) AS stealth_usage_rate,

  up.risk_score,
  up.diversification_score,
  up.liquidity_score

FROM public.user_portfolios up
LEFT JOIN public.privacy_deposits pd
  ON up.user_wallet = pd.user_wallet AND pd.deleted_at IS NULL
GROUP BY up.user_wallet, up.total_value, up.privacy_score, up.anonymity_level,
         up.stealth_addresses_count, up.active_agents_count, up.agent_portfolio_value,
         up.risk_score, up.diversification_score, up.liquidity_score;
COMMENT ON COLUMN public.user_privacy_dashboard.total_privacy_volume IS
  'Sum of deposit amounts in token units, all tokens (a quick activity measure, not a value).';

-- Daily platform metrics
-- Erratum E31: days are UTC days whatever the session TimeZone, also for the 30-day window.
-- Erratum E08: transactions has confidentiality_score, not privacy_score (the output column
--   keeps the seed's name avg_privacy_score).
-- Decision: total_deposits/total_withdrawals sum usd_value (USD at the time of the transaction):
--   the seed summed amounts of different tokens.
CREATE VIEW public.daily_platform_metrics WITH (security_invoker = true) AS
SELECT
  (created_at AT TIME ZONE 'UTC')::date AS metric_date,
  COUNT(DISTINCT user_wallet) AS unique_users,
  COUNT(*) AS total_transactions,
  COALESCE(SUM(usd_value) FILTER (WHERE tx_type = 'privacy_deposit'), 0) AS total_deposits,
  COALESCE(SUM(usd_value) FILTER (WHERE tx_type = 'privacy_withdrawal'), 0) AS total_withdrawals,
  AVG(confidentiality_score) AS avg_privacy_score
FROM public.transactions
WHERE created_at >= ((now() AT TIME ZONE 'UTC')::date - 30)::timestamp AT TIME ZONE 'UTC'
GROUP BY (created_at AT TIME ZONE 'UTC')::date
ORDER BY metric_date DESC;

-- Agent performance trends
-- Erratum E31 (same cause): weeks are UTC weeks (Monday) returned as a date, and the 12-week
--   window starts at a UTC midnight.
CREATE VIEW public.agent_performance_trends WITH (security_invoker = true) AS
SELECT
  aa.agent_name,
  aa.agent_type,
  date_trunc('week', ua.activated_at AT TIME ZONE 'UTC')::date AS week_start,
  COUNT(*) AS new_activations,
  SUM(ua.total_profit) AS total_profit,
  AVG(ua.total_profit) AS avg_profit_per_user,
  AVG(ua.current_apr) AS avg_apr
FROM public.ai_agents aa
JOIN public.user_agents ua ON aa.id = ua.agent_id
WHERE ua.activated_at >= ((now() AT TIME ZONE 'UTC')::date - 84)::timestamp AT TIME ZONE 'UTC'
GROUP BY aa.agent_name, aa.agent_type, date_trunc('week', ua.activated_at AT TIME ZONE 'UTC')::date
ORDER BY week_start DESC, total_profit DESC;

-- ---------------------------------------------------------------------------------------------
-- Grants (analytics_readonly and service_role also get SELECT through the default privileges).
-- Views are read-only for everybody but the owner.
-- ---------------------------------------------------------------------------------------------
REVOKE INSERT, UPDATE, DELETE ON public.pool_analytics, public.user_privacy_dashboard,
  public.daily_platform_metrics, public.agent_performance_trends, public.agent_leaderboard
  FROM service_role;

GRANT SELECT ON public.pool_analytics
  TO anon, authenticated, analytics_readonly, agent_executor, app_service_role, service_role;
GRANT SELECT ON public.user_privacy_dashboard
  TO authenticated, analytics_readonly, app_service_role, service_role;
GRANT SELECT ON public.daily_platform_metrics, public.agent_performance_trends, public.agent_leaderboard
  TO analytics_readonly, app_service_role, service_role;

REVOKE ALL ON FUNCTION public.refresh_agent_leaderboard() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.refresh_agent_leaderboard() TO service_role, app_service_role;
