-- The deposit_status events since $1 (epoch seconds), replayed after a lost connection.
select public.event_deposit_status(id, status, chain_id, updated_at) as payload
  from privacy_deposits where updated_at > to_timestamp($1)
 order by updated_at limit 10000
