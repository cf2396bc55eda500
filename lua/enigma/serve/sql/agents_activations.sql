-- The activations of user $1 (ctx.activations()).
select ua.id, a.agent_type, ua.status, ua.current_allocation::float8, ua.total_profit::float8
  from user_agents ua join ai_agents a on a.id = ua.agent_id
 where ua.user_id = $1 order by ua.activated_at, ua.id
