-- The transactions events since $1 (epoch seconds), replayed after a lost connection.
select public.event_transaction(id, tx_type, status, created_at) as payload
  from transactions where created_at > to_timestamp($1)
 order by created_at limit 10000
