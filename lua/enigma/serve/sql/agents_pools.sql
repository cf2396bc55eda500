-- The pool statistics a tick sees (ctx.pools()), amounts as float8.
select pool_type || ':' || chain_id as pool, pool_type, pool_name, chain_id,
       total_pool_size::float8, eth_pool_size::float8, stablecoin_pool_size::float8,
       other_tokens_pool_size::float8, active_mixers, anonymity_set, volume_24h::float8,
       volume_7d::float8, privacy_score::float8, mixing_efficiency::float8,
       gas_efficiency_score::float8, compliance_score::float8,
       (volume_24h / nullif(total_pool_size, 0))::float8 as turnover_24h,
       ((total_pool_size - coalesce(stablecoin_pool_size, 0) - coalesce(other_tokens_pool_size, 0))
          / nullif(eth_pool_size, 0))::float8 as implied_eth_price,
       extract(epoch from updated_at)::float8 as updated_at
  from pool_statistics order by pool_type, chain_id
