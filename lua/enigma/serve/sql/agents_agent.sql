-- Adds a batch of ticks to each agent's totals ($1: JSON array of {id, n, s, ms, at}).
update ai_agents a
   set total_executions = a.total_executions + x.n,
       successful_executions = a.successful_executions + x.s,
       failed_executions = a.failed_executions + x.n - x.s,
       avg_execution_time_ms = round(case
         when a.avg_execution_time_ms is null then x.ms / x.n
         else (a.avg_execution_time_ms::float8 * a.total_executions + x.ms) / (a.total_executions + x.n)
       end)::int,
       last_execution_at = to_timestamp(x.at)
  from jsonb_to_recordset($1::jsonb) as x(id uuid, n int, s int, ms float8, at float8)
 where a.id = x.id
