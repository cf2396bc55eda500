-- What a tick of each activation in $1 gets, one row per activation: the activation, its agent,
-- the user's wallet and portfolio (amounts NUMERIC: exact decimals in the sandbox). The
-- portfolio comes as portfolio_* columns (has_portfolio false when the user has none), which
-- agents.lua folds into one table: a jsonb object would pass its numbers through a JSON decoder.
-- A user may have several portfolio rows; the tick sees the first made.
select ua.id, ua.user_id, ua.agent_id, a.agent_type, a.active, a.maintenance_mode, ua.status,
       ua.configuration, ua.risk_parameters, ua.allocation_limits,
       ua.current_allocation, ua.total_profit,
       ua.total_executions, ua.successful_executions, ua.failed_executions, ua.consecutive_failures,
       ua.last_error,
       extract(epoch from ua.last_execution_at)::float8 as last_execution_at,
       extract(epoch from ua.activated_at)::float8 as activated_at,
       ua.strategy_state, u.wallet_address as wallet,
       p.id is not null as has_portfolio,
       p.total_value as portfolio_total_value, p.total_deposited as portfolio_total_deposited,
       p.total_withdrawn as portfolio_total_withdrawn, p.total_profit as portfolio_total_profit,
       p.eth_balance as portfolio_eth_balance, p.stablecoin_balance as portfolio_stablecoin_balance,
       p.other_tokens_balance as portfolio_other_tokens_balance,
       p.privacy_score as portfolio_privacy_score, p.anonymity_level as portfolio_anonymity_level,
       p.stealth_addresses_count as portfolio_stealth_addresses_count,
       p.max_drawdown as portfolio_max_drawdown, p.risk_score as portfolio_risk_score,
       p.overall_apr as portfolio_overall_apr, p.volatility_score as portfolio_volatility_score
  from user_agents ua
  join ai_agents a on a.id = ua.agent_id
  join users u on u.id = ua.user_id
  left join lateral (select * from user_portfolios p1 where p1.user_id = ua.user_id
                      order by p1.created_at, p1.id limit 1) p on true
 where ua.id = any($1::uuid[])
