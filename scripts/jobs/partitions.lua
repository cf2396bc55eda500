-- Keep three months of transactions and pool_statistics_history partitions ahead, daily.
return {
  description = "create upcoming monthly partitions",
  schedule = "@daily",
  retries = 3,
  backoff = 60,
  run = function(ctx)
    local rows = assert(ctx.db:query([[
      select public.create_transaction_partitions(3, 0) as transactions,
             public.create_pool_statistics_history_partitions(3, 0) as history]]))
    local r = rows[1]
    if r.transactions + r.history > 0 then
      ctx.log("%d transactions and %d history partition(s) created", r.transactions, r.history)
    end
  end,
}
