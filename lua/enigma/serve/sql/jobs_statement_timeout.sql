-- Sets the statement timeout of a job's connection to $1 milliseconds (text): what is left of
-- its run's time, so a query still running at the run's timeout ends with it.
select set_config('statement_timeout', $1, false)
