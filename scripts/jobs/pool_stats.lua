-- Recompute pool_statistics from the deposits (the seed's "real-time" metrics, every 30 seconds;
-- its pg_cron line said every 30 minutes, erratum E10).
return {
  description = "update pool statistics from deposits",
  schedule = "every 30s",
  timeout = 25,
  run = function(ctx)
    local rows = assert(ctx.db:query("select public.update_pool_statistics() as pools"))
    ctx.log("%s pool(s) updated", rows[1].pools)
  end,
}
