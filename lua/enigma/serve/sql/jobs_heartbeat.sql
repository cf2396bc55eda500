-- Renews the leases of runner $1's rows by $2 seconds.
update job_runs set lease_expires_at = now() + make_interval(secs => $2)
 where runner_id = $1 and status in ('claimed', 'running', 'retry')
