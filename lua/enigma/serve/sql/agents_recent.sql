-- The $3 latest transactions agent $1 made for user $2 (ctx.recent(n)); amounts exact (NUMERIC).
select tx_type, subcategory, amount, token_symbol, usd_value, status,
       extract(epoch from created_at)::float8 as created_at, metadata
  from transactions where agent_id = $1 and user_id = $2
 order by created_at desc limit $3
