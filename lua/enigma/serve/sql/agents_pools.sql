-- The pool statistics a tick sees (ctx.pools()). Amounts stay NUMERIC (exact decimals in the
-- sandbox); the two ratios are NUMERIC too, rounded to 18 places so they fit a box decimal.
select pool_type || ':' || chain_id as pool, pool_type, pool_name, chain_id,
       total_pool_size, eth_pool_size, stablecoin_pool_size,
       other_tokens_pool_size, active_mixers, anonymity_set, volume_24h,
       volume_7d, privacy_score, mixing_efficiency,
       gas_efficiency_score, compliance_score,
       round(volume_24h / nullif(total_pool_size, 0), 18) as turnover_24h,
       round((total_pool_size - coalesce(stablecoin_pool_size, 0) - coalesce(other_tokens_pool_size, 0))
             / nullif(eth_pool_size, 0), 18) as implied_eth_price,
       extract(epoch from updated_at)::float8 as updated_at
  from pool_statistics order by pool_type, chain_id
