-- Gives up this runner's ($1) claims that nobody has started, so other runners take them at once.
update job_runs set lease_expires_at = now() - interval '1 second'
 where runner_id = $1 and status in ('claimed', 'retry')
