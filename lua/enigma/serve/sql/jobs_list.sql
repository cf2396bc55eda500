-- The last run of each job in $1 (`enigma jobs list`).
select distinct on (job) job, status, attempt,
       extract(epoch from coalesce(finished_at, started_at, scheduled_for))::float8 as at
  from job_runs where job = any($1::text[]) and status not in ('claimed')
 order by job, scheduled_for desc, attempt desc
