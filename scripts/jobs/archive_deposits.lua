-- Move withdrawn, failed and deleted deposits older than two years to the archive
-- (the seed's weekly cleanup, Sunday 02:00 UTC).
return {
  description = "archive old deposits",
  schedule = "0 2 * * 0",
  tz = "UTC",
  timeout = 3600,
  transactional = true,     -- the work commits with the run's record: never twice, never half
  retries = 2,
  backoff = 300,
  run = function(ctx)
    local rows = assert(ctx.db:query("select public.archive_old_deposits() as archived"))
    ctx.log("%s deposit(s) archived", rows[1].archived)
  end,
}
