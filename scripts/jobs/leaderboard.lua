-- Refresh the agent_leaderboard materialized view, concurrently (readers are never blocked).
return {
  description = "refresh the agent leaderboard",
  schedule = "*/5 * * * *",
  timeout = 240,
  run = function(ctx)
    assert(ctx.db:query("select public.refresh_agent_leaderboard()"))
  end,
}
