-- Delete finished job_runs rows older than 30 days, daily at 03:00 UTC.
return {
  description = "prune the run history",
  schedule = "0 3 * * *",
  run = function(ctx)
    local n = assert(ctx.db:exec([[
      delete from job_runs
       where scheduled_for < now() - interval '30 days'
         and status not in ('claimed', 'running', 'retry')]]))
    ctx.log("%d old run(s) deleted", n)
  end,
}
