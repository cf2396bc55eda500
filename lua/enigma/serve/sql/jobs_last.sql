-- The latest scheduled occurrence recorded for each of the jobs $1 (to catch up missed ones).
select job, extract(epoch from max(scheduled_for))::float8 as last
  from job_runs
 where job = any($1::text[]) and trigger in ('schedule', 'catchup')
 group by job
