-- An operator sets activation $1's status to $2 ('paused' or 'active'); resuming resets its
-- consecutive failures and last error and makes it due at once.
update user_agents
   set status = $2::varchar(20),
       consecutive_failures = case when $2::varchar(20) = 'active' then 0 else consecutive_failures end,
       last_error = case when $2::varchar(20) = 'active' then null else last_error end,
       next_tick_at = case when $2::varchar(20) = 'active' then null else next_tick_at end
 where id = $1
