-- Accounts for a batch of ticks per activation ($1: JSON array of {id, n ticks, s succeeded,
-- tail of consecutive failures, at, allocation, state, error}); after $2 consecutive failures
-- the activation goes to 'error'. Returns each activation's status.
update user_agents ua
   set total_executions = ua.total_executions + x.n,
       successful_executions = ua.successful_executions + x.s,
       failed_executions = ua.failed_executions + x.n - x.s,
       last_execution_at = to_timestamp(x.at),
       current_allocation = coalesce(x.allocation, ua.current_allocation),
       strategy_state = coalesce(x.state, ua.strategy_state),
       consecutive_failures = case when x.s > 0 then x.tail
                                   else ua.consecutive_failures + x.tail end,
       last_error = case when x.tail = 0 then null else x.error end,
       status = case when ua.status = 'active' and x.tail > 0 and
                          (case when x.s > 0 then x.tail
                                else ua.consecutive_failures + x.tail end) >= $2
                     then 'error' else ua.status end
  from jsonb_to_recordset($1::jsonb) as x(id uuid, n int, s int, tail int, at float8,
       allocation numeric, state jsonb, error text)
 where ua.id = x.id
returning ua.id, ua.status
