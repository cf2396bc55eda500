-- Takes over expired rows of the jobs $2 (with their max attempts $4) for runner $1, lease $3
-- seconds: a claimed row (nothing ran) is taken as it is; a running one is closed as 'lost' and
-- retried as the next attempt (once even when retries = 0: its runner failed, not the job).
with expired as (
  select id, status, retry_at from job_runs
   where status in ('claimed', 'running', 'retry') and lease_expires_at < now()
     and job = any($2::text[])
   order by lease_expires_at
   limit 100
   for update skip locked
), took as (
  update job_runs r set runner_id = $1, lease_expires_at = now() + make_interval(secs => $3)
    from expired e
   where r.id = e.id and e.status = 'claimed'
  returning r.id, r.job, r.occurrence, r.trigger, r.attempt, r.scheduled_for, now() as start_at
), closed as (
  update job_runs r
     set status = case e.status when 'running' then 'lost' else 'failed' end,
         finished_at = coalesce(r.finished_at, now()), retry_at = null,
         error = coalesce(r.error, format('runner %s stopped renewing its lease', r.runner_id))
    from expired e
   where r.id = e.id and e.status <> 'claimed'
  returning r.job, r.occurrence, r.trigger, r.scheduled_for, r.attempt,
            e.status = 'running' as lost, greatest(e.retry_at, now()) as start_at
), next as (
  insert into job_runs (job, occurrence, trigger, scheduled_for, attempt, status, runner_id, lease_expires_at)
  select c.job, c.occurrence, c.trigger, c.scheduled_for, c.attempt + 1, 'claimed', $1,
         now() + make_interval(secs => $3)
    from closed c join unnest($2::text[], $4::int[]) as j(name, max_attempts) on j.name = c.job
   where c.attempt < j.max_attempts + (case when c.lost then 1 else 0 end)
  on conflict (job, occurrence, attempt) do nothing
  returning id, job, occurrence, trigger, attempt, scheduled_for
)
select t.id, t.job, t.occurrence, t.trigger, t.attempt,
       extract(epoch from t.scheduled_for)::float8 as due, extract(epoch from t.start_at)::float8 as start_at
  from took t
union all
select n.id, n.job, n.occurrence, n.trigger, n.attempt,
       extract(epoch from n.scheduled_for)::float8,
       extract(epoch from (select max(c.start_at) from closed c
                            where c.job = n.job and c.occurrence = n.occurrence))::float8
  from next n
