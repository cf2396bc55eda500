-- Records what runs did, in one batch: $2 is a JSON array of {id, status, version, started_at,
-- finished_at, retry_at, error} (times in epoch seconds) for rows runner $1 holds. Only a live row
-- (claimed or running) changes: a late write never overwrites a run another runner closed as
-- 'lost', nor one a transactional job recorded with its work.
update job_runs r
   set status = x.status,
       version = coalesce(x.version, r.version),
       started_at = coalesce(to_timestamp(x.started_at), r.started_at),
       finished_at = to_timestamp(x.finished_at),
       retry_at = to_timestamp(x.retry_at),
       error = x.error
  from jsonb_to_recordset($2::jsonb) as x(id bigint, status text, version text, started_at float8,
                                         finished_at float8, retry_at float8, error text)
 where r.id = x.id and r.runner_id = $1 and r.status in ('claimed', 'running')
