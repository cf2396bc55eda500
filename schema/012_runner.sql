-- 012_runner.sql: what `enigma serve` needs from the database -- the run history that is also
-- the claim ledger of every runner (job_runs), and the real-time events the seed promises.
--
-- job_runs: one row per attempt of one occurrence of one job.
--   occurrence names what the run is for, the same text on every runner:
--     schedule and catch-up runs  the due time, 'YYYY-MM-DDTHH:MM:SSZ' (UTC)
--     event runs                  'event:<channel>:<md5 of the payload>'
--     manual runs                 'manual:<runner>:<unique suffix>'
--   UNIQUE (job, occurrence, attempt) is the exactly-once guarantee: a runner claims an
--   occurrence by inserting attempt 1 (ON CONFLICT DO NOTHING); whoever's insert lands runs it.
--   Status, in order of life:
--     claimed      inserted by its runner ahead of the due time (the lease is held, nothing ran)
--     running      started (started_at set)
--     succeeded | failed | timeout | skipped (overlap) | interrupted (runner stopped)   final
--     retry        this attempt failed; attempt + 1 is due at retry_at
--     lost         its runner stopped renewing the lease while it ran; attempt + 1 was made
--   A runner renews lease_expires_at of its live rows (claimed, running, retry); any runner takes
--   over an expired one: claimed -> same attempt; running/retry -> closed, attempt + 1 inserted.
CREATE TABLE public.job_runs (
  id BIGSERIAL PRIMARY KEY,
  job TEXT NOT NULL CHECK (job ~ '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$'),
  occurrence TEXT NOT NULL CHECK (length(occurrence) <= 200),
  trigger TEXT NOT NULL CHECK (trigger IN ('schedule', 'catchup', 'event', 'manual')),
  scheduled_for TIMESTAMPTZ NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 1 CHECK (attempt >= 1),
  status TEXT NOT NULL CHECK (status IN ('claimed', 'running', 'succeeded', 'failed', 'timeout',
                                         'skipped', 'interrupted', 'retry', 'lost')),
  runner_id TEXT NOT NULL CHECK (length(runner_id) <= 200),
  version TEXT,                               -- the job file's version (content hash) that ran
  claimed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  lease_expires_at TIMESTAMPTZ NOT NULL,
  started_at TIMESTAMPTZ,
  finished_at TIMESTAMPTZ,
  retry_at TIMESTAMPTZ,
  error TEXT,                                 -- message and traceback of a failed attempt
  CONSTRAINT job_runs_once UNIQUE (job, occurrence, attempt),
  CONSTRAINT job_runs_retry_at CHECK ((status = 'retry') = (retry_at IS NOT NULL))
);
COMMENT ON TABLE public.job_runs IS
  'One row per attempt of a job occurrence: the run history of enigma serve and its claim ledger (UNIQUE (job, occurrence, attempt)).';

-- Lease recovery reads the live rows by expiry; `jobs list` and catch-up read a job's latest.
CREATE INDEX job_runs_live ON public.job_runs (lease_expires_at)
  WHERE status IN ('claimed', 'running', 'retry');
CREATE INDEX job_runs_job_latest ON public.job_runs (job, scheduled_for DESC);
CREATE INDEX job_runs_prune ON public.job_runs (scheduled_for);

ALTER TABLE public.job_runs ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.job_runs FORCE ROW LEVEL SECURITY;
CREATE POLICY job_runs_service ON public.job_runs FOR ALL TO service_role USING (true) WITH CHECK (true);
REVOKE ALL ON public.job_runs FROM PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.job_runs TO service_role;
GRANT USAGE ON SEQUENCE public.job_runs_id_seq TO service_role;
-- analytics_readonly gets SELECT by default privileges; errors may name tables, nothing secret.
CREATE POLICY job_runs_analytics ON public.job_runs FOR SELECT TO analytics_readonly USING (true);

-- ---------------------------------------------------------------------------------------------
-- Real-time events (Erratum E32: no Supabase realtime; the runtime LISTENs).
--
-- Channels and payloads (JSON, ids and kinds only, never keys or notes; well under 8000 bytes):
--   pool_statistics  {"id", "pool_type", "chain_id", "privacy_score", "at"}        (005, extended)
--   deposit_status   {"id", "status", "chain_id", "at"}   a deposit inserted or its status changed
--   transactions     {"id", "tx_type", "status", "at"}    a transaction inserted
--   A statement that touches more than 100 rows sends one summary instead of a row each:
--   {"kind": "bulk", "count", "from", "to"} (the range of "at"), so a million-row COPY queues one
--   notification, not a million.
-- "at" is the row's timestamp as Unix seconds (updated_at for deposits and pool statistics,
-- created_at for transactions). A listener that was away reads rows whose timestamp is later
-- than the last it saw, with the event_* functions below, and gets the same payload text a
-- notification would have carried: runners agree on an event's identity (its md5) either way.
-- ---------------------------------------------------------------------------------------------

CREATE OR REPLACE FUNCTION public.event_epoch(t timestamptz) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN extract(epoch FROM t);

CREATE OR REPLACE FUNCTION public.event_deposit_status(p_id uuid, p_status text, p_chain_id integer,
                                                      p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN json_build_object('id', p_id, 'status', p_status, 'chain_id', p_chain_id,
                         'at', public.event_epoch(p_at))::text;

CREATE OR REPLACE FUNCTION public.event_transaction(p_id uuid, p_tx_type text, p_status text,
                                                   p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN json_build_object('id', p_id, 'tx_type', p_tx_type, 'status', p_status,
                         'at', public.event_epoch(p_at))::text;

CREATE OR REPLACE FUNCTION public.event_pool_statistics(p_id uuid, p_pool_type text, p_chain_id integer,
                                                       p_privacy_score numeric, p_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN json_build_object('id', p_id, 'pool_type', p_pool_type, 'chain_id', p_chain_id,
                         'privacy_score', p_privacy_score, 'at', public.event_epoch(p_at))::text;

CREATE OR REPLACE FUNCTION public.event_bulk(p_count bigint, p_from timestamptz, p_to timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN json_build_object('kind', 'bulk', 'count', p_count,
                         'from', public.event_epoch(p_from), 'to', public.event_epoch(p_to))::text;

-- pool_statistics: the 005 trigger, now with the row id and its time.
CREATE OR REPLACE FUNCTION public.notify_pool_statistics() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_notify('pool_statistics',
                    public.event_pool_statistics(NEW.id, NEW.pool_type, NEW.chain_id,
                                                 NEW.privacy_score, NEW.updated_at));
  RETURN NULL;
END
$$;

-- Statement-level, over the transition table: one pass per statement, not a call per row.
CREATE OR REPLACE FUNCTION public.notify_deposit_status() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  n bigint;
  t_from timestamptz;
  t_to timestamptz;
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT count(*), min(updated_at), max(updated_at) INTO n, t_from, t_to FROM new_rows;
    IF n > 100 THEN
      PERFORM pg_notify('deposit_status', public.event_bulk(n, t_from, t_to));
    ELSE
      PERFORM pg_notify('deposit_status',
                        public.event_deposit_status(id, status, chain_id, updated_at))
        FROM new_rows;
    END IF;
  ELSE
    SELECT count(*), min(nr.updated_at), max(nr.updated_at) INTO n, t_from, t_to
      FROM new_rows nr JOIN old_rows o USING (id)
     WHERE o.status IS DISTINCT FROM nr.status;
    IF n > 100 THEN
      PERFORM pg_notify('deposit_status', public.event_bulk(n, t_from, t_to));
    ELSIF n > 0 THEN
      PERFORM pg_notify('deposit_status',
                        public.event_deposit_status(nr.id, nr.status, nr.chain_id, nr.updated_at))
        FROM new_rows nr JOIN old_rows o USING (id)
       WHERE o.status IS DISTINCT FROM nr.status;
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER privacy_deposits_notify_insert
  AFTER INSERT ON public.privacy_deposits
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.notify_deposit_status();
CREATE TRIGGER privacy_deposits_notify_status
  AFTER UPDATE ON public.privacy_deposits
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.notify_deposit_status();

CREATE OR REPLACE FUNCTION public.notify_transactions() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  n bigint;
  t_from timestamptz;
  t_to timestamptz;
BEGIN
  SELECT count(*), min(created_at), max(created_at) INTO n, t_from, t_to FROM new_rows;
  IF n > 100 THEN
    PERFORM pg_notify('transactions', public.event_bulk(n, t_from, t_to));
  ELSE
    PERFORM pg_notify('transactions',
                      public.event_transaction(id, tx_type, status, created_at))
      FROM new_rows;
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER transactions_notify_insert
  AFTER INSERT ON public.transactions
  REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION public.notify_transactions();

-- Catch-up reads deposits by updated_at (transactions by created_at, already indexed per partition).
CREATE INDEX idx_deposits_updated ON public.privacy_deposits (updated_at);
