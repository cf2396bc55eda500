-- The activations `enigma agents list` shows (the first $1) and their total count.
select ua.id, a.agent_type, ua.status, ua.total_executions, ua.failed_executions,
       ua.consecutive_failures, extract(epoch from ua.last_execution_at)::float8 as last_tick,
       extract(epoch from ua.next_tick_at)::float8 as next_tick, ua.last_error,
       count(*) over () as total
  from user_agents ua join ai_agents a on a.id = ua.agent_id
 order by a.agent_type, ua.activated_at, ua.id
 limit $1
