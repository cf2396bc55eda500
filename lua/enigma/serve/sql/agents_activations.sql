-- The activations of user $1 (ctx.activations()); amounts exact (NUMERIC).
select ua.id, a.agent_type, ua.status, ua.current_allocation, ua.total_profit
  from user_agents ua join ai_agents a on a.id = ua.agent_id
 where ua.user_id = $1 order by ua.activated_at, ua.id
