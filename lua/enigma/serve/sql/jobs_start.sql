-- Marks run $1 of runner $2 as running (job file version $3) before a transactional job's work
-- begins; no row: the run was taken over meanwhile and must not run here.
update job_runs set status = 'running', started_at = now(), version = $3
 where id = $1 and runner_id = $2 and status = 'claimed'
returning id
