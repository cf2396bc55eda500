-- Records run $1 of runner $2 as succeeded, inside the transaction that holds a transactional
-- job's work, so both commit or neither does. No row: the run was closed as 'lost' or taken over
-- meanwhile, and the work must be rolled back.
update job_runs set status = 'succeeded', finished_at = now(), error = null
 where id = $1 and runner_id = $2 and status = 'running'
returning id
