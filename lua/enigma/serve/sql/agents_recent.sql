-- The $3 latest transactions agent $1 made for user $2 (ctx.recent(n)).
select tx_type, subcategory, amount::float8, token_symbol, usd_value::float8, status,
       extract(epoch from created_at)::float8 as created_at, metadata
  from transactions where agent_id = $1 and user_id = $2
 order by created_at desc limit $3
