-- Seconds until the next activation of the agent types $1 is due (NULL: none is active), by the
-- clock $2 (Unix seconds; NULL: the database's).
with c as (select coalesce(to_timestamp($2::float8), now()) as now)
select extract(epoch from min(coalesce(ua.next_tick_at, (select now from c))) - (select now from c))::float8
       as wait
  from user_agents ua join ai_agents a on a.id = ua.agent_id
 where ua.status = 'active' and a.active and not a.maintenance_mode and a.agent_type = any($1::text[])
