-- Claims the due activations of the loaded agent types ($1, with their intervals $2): each moves
-- to its next interval, so any number of runners share them and each tick runs on one.
-- $3: seconds of lookahead; $4: the batch size; $5: the time to judge by, Unix seconds (NULL:
-- the database's clock, as in production; tests pass a fake clock). Returns each claimed id and
-- how long until it is due.
-- One tick per interval: the next due time is the first point of the activation's grid
-- (due_at + k * every) after now, so an activation overdue by many intervals ticks once, and is
-- not due again until an interval later. An activation whose next tick is further away than an
-- interval (the clock went back) is put back to one interval from now, without a tick.
-- The activations past their agent's max_concurrent_users (by activation time) are left out;
-- only agents with more active activations than that pay for ranking them. The due ones are
-- taken in next_tick_at order from idx_user_agents_next_tick, stopping at the batch size.
with clock as (select coalesce(to_timestamp($5::float8), now()) as now),
over as (
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
types as (
  select s.agent_type, s.every from unnest($1::text[], $2::float8[]) as s(agent_type, every)),
ahead as (                      -- a clock that went back: one interval from now, no tick
  update user_agents ua
     set next_tick_at = c.now + make_interval(secs => t.every)
    from ai_agents a, types t, clock c
   where a.id = ua.agent_id and t.agent_type = a.agent_type and ua.status = 'active'
     and ua.next_tick_at > c.now + make_interval(secs => t.every + $3)
  returning ua.id),
due as (
  select ua.id, coalesce(ua.next_tick_at, c.now) as due_at, t.every, c.now
    from user_agents ua
    join ai_agents a on a.id = ua.agent_id
    join types t on t.agent_type = a.agent_type
    cross join clock c
   where ua.status = 'active' and a.active and not a.maintenance_mode
     and (ua.next_tick_at is null or ua.next_tick_at <= c.now + make_interval(secs => $3))
     and not exists (select 1 from excess e where e.id = ua.id)
   order by ua.next_tick_at nulls first
   limit $4
   for update of ua skip locked)
update user_agents ua
   set next_tick_at = d.due_at + make_interval(secs => d.every *
         greatest(1, floor(extract(epoch from d.now - d.due_at) / d.every) + 1))
  from due d
 where ua.id = d.id
returning ua.id, extract(epoch from d.due_at - d.now)::float8 as delay
