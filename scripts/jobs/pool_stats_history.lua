-- Snapshot every pool_statistics row into pool_statistics_history, hourly.
return {
  description = "snapshot pool statistics into their history",
  schedule = "0 * * * *",
  transactional = true,     -- the work commits with the run's record: never twice, never half
  retries = 2,
  backoff = 30,
  run = function(ctx)
    assert(ctx.db:query("select public.record_pool_statistics_history()"))
  end,
}
