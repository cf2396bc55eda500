-- The pool_statistics events since $1 (epoch seconds), replayed after a lost connection.
select public.event_pool_statistics(id, pool_type, chain_id, privacy_score, updated_at) as payload
  from pool_statistics where updated_at > to_timestamp($1)
 order by updated_at
