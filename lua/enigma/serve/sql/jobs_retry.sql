-- Closes runner $1's 'retry' rows $2 with their final statuses $3 and claims each one's next
-- attempt with a lease of $4 seconds.
with old as (
  update job_runs r set status = x.final, retry_at = null
    from unnest($2::bigint[], $3::text[]) as x(id, final)
   where r.id = x.id and r.status = 'retry' and r.runner_id = $1
  returning r.job, r.occurrence, r.trigger, r.scheduled_for, r.attempt
)
insert into job_runs (job, occurrence, trigger, scheduled_for, attempt, status, runner_id, lease_expires_at)
select job, occurrence, trigger, scheduled_for, attempt + 1, 'claimed', $1, now() + make_interval(secs => $4)
  from old
on conflict (job, occurrence, attempt) do nothing
returning id, job, occurrence, trigger, attempt, extract(epoch from scheduled_for)::float8 as due
