-- Claims occurrences for runner $1 with a lease of $2 seconds: jobs $3, occurrences $4, triggers
-- $5, due times $6 (epoch seconds). Returns the rows this runner won, and whether another
-- runner is running the same job now (busy).
insert into job_runs (job, occurrence, trigger, scheduled_for, status, runner_id, lease_expires_at)
select j, o, t, to_timestamp(s), 'claimed', $1, now() + make_interval(secs => $2)
  from unnest($3::text[], $4::text[], $5::text[], $6::float8[]) as x(j, o, t, s)
 order by j, o      -- every runner inserts in the same order: concurrent claims cannot deadlock
on conflict (job, occurrence, attempt) do nothing
returning id, job, occurrence, attempt,
          exists (select 1 from job_runs b
                   where b.job = job_runs.job and b.status = 'running' and b.runner_id <> $1
                     and b.lease_expires_at > now()) as busy
