-- What a tick of each activation in $1 gets, one row per activation: the activation, its agent,
-- the user's wallet and portfolio (amounts as float8: the sandbox holds plain numbers). A user
-- may have several portfolio rows; the tick sees the first made.
select ua.id, ua.user_id, ua.agent_id, a.agent_type, a.active, a.maintenance_mode, ua.status,
       ua.configuration, ua.risk_parameters, ua.allocation_limits,
       ua.current_allocation::float8, ua.total_profit::float8,
       ua.total_executions, ua.successful_executions, ua.failed_executions, ua.consecutive_failures,
       extract(epoch from ua.last_execution_at)::float8 as last_execution_at,
       extract(epoch from ua.activated_at)::float8 as activated_at,
       ua.strategy_state, u.wallet_address as wallet,
       case when p.id is null then null else jsonb_build_object(
         'total_value', p.total_value::float8, 'total_deposited', p.total_deposited::float8,
         'total_withdrawn', p.total_withdrawn::float8, 'total_profit', p.total_profit::float8,
         'eth_balance', p.eth_balance::float8, 'stablecoin_balance', p.stablecoin_balance::float8,
         'other_tokens_balance', p.other_tokens_balance::float8,
         'privacy_score', p.privacy_score::float8, 'anonymity_level', p.anonymity_level,
         'stealth_addresses_count', p.stealth_addresses_count,
         'max_drawdown', p.max_drawdown::float8, 'risk_score', p.risk_score::float8,
         'overall_apr', p.overall_apr::float8, 'volatility_score', p.volatility_score::float8)
       end as portfolio
  from user_agents ua
  join ai_agents a on a.id = ua.agent_id
  join users u on u.id = ua.user_id
  left join lateral (select * from user_portfolios p1 where p1.user_id = ua.user_id
                      order by p1.created_at, p1.id limit 1) p on true
 where ua.id = any($1::uuid[])
