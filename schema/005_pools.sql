-- 005_pools.sql: pool_statistics (one row per pool and chain), its change notification, and
-- pool_statistics_history (monthly-partitioned snapshots).

CREATE TABLE public.pool_statistics (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

  -- Pool Identification
  pool_type VARCHAR(50) NOT NULL CHECK (pool_type IN (
    'main', 'high_volume', 'maximum_privacy', 'institutional'
  )),
  pool_name VARCHAR(255) NOT NULL,
  chain_id INTEGER NOT NULL DEFAULT 1,

  -- Pool size (Erratum E25/E26: never a silent sum of different tokens; see the comments below
  -- and update_pool_statistics() in 006_deposits.sql)
  total_pool_size NUMERIC(38,18) NOT NULL DEFAULT 0,
  eth_pool_size NUMERIC(38,18) DEFAULT 0,
  stablecoin_pool_size NUMERIC(38,18) DEFAULT 0,
  other_tokens_pool_size NUMERIC(38,18) DEFAULT 0,

  -- User Activity Metrics
  active_mixers INTEGER NOT NULL DEFAULT 0,
  new_mixers_24h INTEGER DEFAULT 0,
  anonymity_set INTEGER NOT NULL DEFAULT 0,
  total_unique_users BIGINT DEFAULT 0,

  -- Transaction Volume (USD, like total_pool_size)
  total_deposits BIGINT DEFAULT 0,
  total_withdrawals BIGINT DEFAULT 0,
  deposits_24h BIGINT DEFAULT 0,
  withdrawals_24h BIGINT DEFAULT 0,
  volume_24h NUMERIC(38,18) DEFAULT 0,
  volume_7d NUMERIC(38,18) DEFAULT 0,
  volume_30d NUMERIC(38,18) DEFAULT 0,

  -- Privacy Metrics
  -- Erratum E12: INTEGER/INTEGER division truncated (2500/5000 = 0); numeric division now.
  -- A pool of 50,000,000 with 2,500 mixers and an anonymity set of 10,000 scores 50.00.
  privacy_score NUMERIC(5,2) GENERATED ALWAYS AS (
    LEAST(40::numeric, total_pool_size / 100000000 * 40) +
    LEAST(30::numeric, active_mixers::numeric / 5000 * 30) +
    LEAST(30::numeric, anonymity_set::numeric / 20000 * 30)
  ) STORED,
  entropy_level NUMERIC(5,2),      -- Cryptographic entropy measure
  mixing_efficiency NUMERIC(5,2),  -- How well transactions are mixed

  -- Performance Metrics
  avg_deposit_size NUMERIC(38,18),
  avg_withdrawal_size NUMERIC(38,18),
  median_transaction_time INTERVAL,
  gas_efficiency_score NUMERIC(5,2),

  -- Compliance & Auditing
  last_audit_date TIMESTAMPTZ,
  compliance_score NUMERIC(5,2),
  regulatory_flags JSONB DEFAULT '[]'::jsonb,

  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
COMMENT ON TABLE public.pool_statistics IS
  'Current statistics, one row per (pool_type, chain_id). History: pool_statistics_history.';
COMMENT ON COLUMN public.pool_statistics.total_pool_size IS
  'USD value of the pool at the prices given to update_pool_statistics() (stablecoins 1:1); tokens without a price are not counted.';
COMMENT ON COLUMN public.pool_statistics.eth_pool_size IS 'ETH + WETH in the pool, in ETH.';
COMMENT ON COLUMN public.pool_statistics.stablecoin_pool_size IS 'USD stablecoins in the pool, in USD (1:1).';
COMMENT ON COLUMN public.pool_statistics.other_tokens_pool_size IS
  'USD value of the other (priced) tokens in the pool.';
COMMENT ON COLUMN public.pool_statistics.volume_24h IS 'USD value of the deposits of the last 24 h (priced tokens).';

CREATE UNIQUE INDEX idx_pool_stats_type_chain ON public.pool_statistics(pool_type, chain_id);
CREATE INDEX idx_pool_stats_privacy_score ON public.pool_statistics(privacy_score DESC)
  WHERE pool_type = 'main';
CREATE INDEX idx_pool_stats_volume_24h ON public.pool_statistics(volume_24h DESC)
  WHERE pool_type = 'main';
-- Erratum E12/E29: the seed's idx_pool_privacy_score expression index is not created: it
--   duplicated the stored privacy_score column (with the integer-division bug).
-- Erratum E02: the seed's "CREATE TABLE pool_statistics_y2024m12 PARTITION OF pool_statistics"
--   is dropped: this table is a one-row-per-pool snapshot (and a partitioned variant cannot keep
--   UNIQUE (pool_type, chain_id)). History lives in pool_statistics_history below.

CREATE TRIGGER pool_statistics_set_updated_at
  BEFORE UPDATE ON public.pool_statistics
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Erratum E32: no Supabase realtime publication. The runtime LISTENs on channel
-- 'pool_statistics'; payload: {"pool_type": ..., "chain_id": ..., "privacy_score": ...}.
-- Notifications are delivered at COMMIT only, and identical payloads within one transaction
-- are collapsed by PostgreSQL.
CREATE OR REPLACE FUNCTION public.notify_pool_statistics() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  PERFORM pg_notify('pool_statistics',
                    json_build_object('pool_type', NEW.pool_type,
                                      'chain_id', NEW.chain_id,
                                      'privacy_score', NEW.privacy_score)::text);
  RETURN NULL;
END
$$;

CREATE TRIGGER pool_statistics_notify
  AFTER INSERT OR UPDATE ON public.pool_statistics
  FOR EACH ROW EXECUTE FUNCTION public.notify_pool_statistics();

-- ---------------------------------------------------------------------------------------------
-- pool_statistics_history: snapshots taken by record_pool_statistics_history().
-- Erratum E02: this is where the seed's partitioning idea goes: RANGE by captured_at, monthly,
-- PK (id, captured_at) (a partitioned table's unique keys must contain the partition key).
-- Decision: no DEFAULT partition (same reason as transactions, see 008_transactions.sql).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.pool_statistics_history (
  id UUID NOT NULL DEFAULT gen_random_uuid(),
  captured_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  pool_statistics_id UUID NOT NULL,  -- Decision: no FK, history outlives a deleted pool row
  pool_type VARCHAR(50) NOT NULL,
  pool_name VARCHAR(255) NOT NULL,
  chain_id INTEGER NOT NULL,
  total_pool_size NUMERIC(38,18) NOT NULL,
  eth_pool_size NUMERIC(38,18),
  stablecoin_pool_size NUMERIC(38,18),
  other_tokens_pool_size NUMERIC(38,18),
  active_mixers INTEGER NOT NULL,
  new_mixers_24h INTEGER,
  anonymity_set INTEGER NOT NULL,
  total_unique_users BIGINT,
  total_deposits BIGINT,
  total_withdrawals BIGINT,
  deposits_24h BIGINT,
  withdrawals_24h BIGINT,
  volume_24h NUMERIC(38,18),
  volume_7d NUMERIC(38,18),
  volume_30d NUMERIC(38,18),
  privacy_score NUMERIC(5,2),
  entropy_level NUMERIC(5,2),
  mixing_efficiency NUMERIC(5,2),
  avg_deposit_size NUMERIC(38,18),
  avg_withdrawal_size NUMERIC(38,18),
  median_transaction_time INTERVAL,
  gas_efficiency_score NUMERIC(5,2),
  compliance_score NUMERIC(5,2),
  PRIMARY KEY (id, captured_at)
) PARTITION BY RANGE (captured_at);
COMMENT ON TABLE public.pool_statistics_history IS
  'Snapshots of pool_statistics, monthly partitions pool_statistics_history_yYYYYmMM (UTC).';

CREATE INDEX idx_pool_stats_history_pool
  ON public.pool_statistics_history (pool_type, chain_id, captured_at DESC);

CREATE OR REPLACE FUNCTION public.create_pool_statistics_history_partitions(
  months_ahead integer DEFAULT 3,
  months_back integer DEFAULT 0
) RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT public.create_monthly_partitions('public.pool_statistics_history'::regclass,
                                          months_ahead, months_back)
$$;
COMMENT ON FUNCTION public.create_pool_statistics_history_partitions(integer, integer) IS
  'Creates the missing monthly partitions of pool_statistics_history from (this month - months_back) to (this month + months_ahead); returns the count created.';

-- Partitions from 24 months back (for imported history) through 3 months ahead.
SELECT public.create_pool_statistics_history_partitions(3, 24);

-- Snapshots every pool_statistics row at now(); returns the number of rows recorded.
-- Creates the current month's partition first if the scheduled job has not (no-op otherwise).
CREATE OR REPLACE FUNCTION public.record_pool_statistics_history() RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  PERFORM public.create_monthly_partitions('public.pool_statistics_history'::regclass, 0, 0);
  INSERT INTO public.pool_statistics_history (
    captured_at, pool_statistics_id, pool_type, pool_name, chain_id,
    total_pool_size, eth_pool_size, stablecoin_pool_size, other_tokens_pool_size,
    active_mixers, new_mixers_24h, anonymity_set, total_unique_users,
    total_deposits, total_withdrawals, deposits_24h, withdrawals_24h,
    volume_24h, volume_7d, volume_30d, privacy_score, entropy_level, mixing_efficiency,
    avg_deposit_size, avg_withdrawal_size, median_transaction_time, gas_efficiency_score,
    compliance_score)
  SELECT now(), ps.id, ps.pool_type, ps.pool_name, ps.chain_id,
         ps.total_pool_size, ps.eth_pool_size, ps.stablecoin_pool_size, ps.other_tokens_pool_size,
         ps.active_mixers, ps.new_mixers_24h, ps.anonymity_set, ps.total_unique_users,
         ps.total_deposits, ps.total_withdrawals, ps.deposits_24h, ps.withdrawals_24h,
         ps.volume_24h, ps.volume_7d, ps.volume_30d, ps.privacy_score, ps.entropy_level,
         ps.mixing_efficiency, ps.avg_deposit_size, ps.avg_withdrawal_size,
         ps.median_transaction_time, ps.gas_efficiency_score, ps.compliance_score
    FROM public.pool_statistics ps;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION public.record_pool_statistics_history() IS
  'Appends a snapshot of every pool_statistics row to pool_statistics_history; returns the count.';

-- ---------------------------------------------------------------------------------------------
-- Row level security and grants
-- Erratum E14: RLS is now enabled, so the public-read policy means something; anon and
-- authenticated read, nobody but the platform writes.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE public.pool_statistics ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pool_statistics FORCE ROW LEVEL SECURITY;
ALTER TABLE public.pool_statistics_history ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pool_statistics_history FORCE ROW LEVEL SECURITY;

CREATE POLICY pool_statistics_select_public ON public.pool_statistics
  FOR SELECT TO anon, authenticated, analytics_readonly, agent_executor, app_service_role
  USING (true);
CREATE POLICY pool_statistics_insert_app ON public.pool_statistics
  FOR INSERT TO app_service_role WITH CHECK (true);
CREATE POLICY pool_statistics_update_app ON public.pool_statistics
  FOR UPDATE TO app_service_role USING (true) WITH CHECK (true);

CREATE POLICY pool_statistics_history_select_public ON public.pool_statistics_history
  FOR SELECT TO anon, authenticated, analytics_readonly, agent_executor, app_service_role
  USING (true);

GRANT SELECT ON public.pool_statistics
  TO anon, authenticated, analytics_readonly, agent_executor;
GRANT SELECT, INSERT, UPDATE ON public.pool_statistics TO app_service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.pool_statistics TO service_role;

GRANT SELECT ON public.pool_statistics_history
  TO anon, authenticated, analytics_readonly, agent_executor, app_service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.pool_statistics_history TO service_role;

REVOKE ALL ON FUNCTION public.create_pool_statistics_history_partitions(integer, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.record_pool_statistics_history() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.create_pool_statistics_history_partitions(integer, integer),
                          public.record_pool_statistics_history()
  TO service_role, app_service_role;
