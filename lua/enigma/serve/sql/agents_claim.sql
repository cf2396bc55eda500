-- Claims the due activations of the loaded agent types ($1, with their intervals $2): each moves
-- to its next interval, so any number of runners share them and each tick runs on one.
-- $3: seconds of lookahead; $4: the batch size. Returns each claimed id and how long until due.
-- The activations past their agent's max_concurrent_users (by activation time) are left out;
-- only agents with more active activations than that pay for ranking them. The due ones are
-- taken in next_tick_at order from idx_user_agents_next_tick, stopping at the batch size.
with over as (
  select a.id, a.max_concurrent_users as cap
    from ai_agents a
   where a.agent_type = any($1::text[]) and a.max_concurrent_users is not null
     and (select count(*) from user_agents u where u.agent_id = a.id and u.status = 'active')
         > a.max_concurrent_users),
excess as (
  select r.id from (
    select ua.id, o.cap,
           row_number() over (partition by ua.agent_id order by ua.activated_at, ua.id) as rank
      from user_agents ua join over o on o.id = ua.agent_id
     where ua.status = 'active') r
   where r.rank > r.cap),
due as (
  select ua.id, coalesce(ua.next_tick_at, now()) as due_at, s.every
    from user_agents ua
    join ai_agents a on a.id = ua.agent_id
    join unnest($1::text[], $2::float8[]) as s(agent_type, every) on s.agent_type = a.agent_type
   where ua.status = 'active' and a.active and not a.maintenance_mode
     and (ua.next_tick_at is null or ua.next_tick_at <= now() + make_interval(secs => $3))
     and not exists (select 1 from excess e where e.id = ua.id)
   order by ua.next_tick_at nulls first
   limit $4
   for update of ua skip locked)
update user_agents ua
   set next_tick_at = greatest(d.due_at + make_interval(secs => d.every), now())
  from due d
 where ua.id = d.id
returning ua.id, extract(epoch from d.due_at - now())::float8 as delay
