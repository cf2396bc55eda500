-- 006_deposits.sql: privacy_deposits, privacy_deposits_archive, archive_old_deposits(),
-- update_pool_statistics() and the token helpers it uses.

CREATE TABLE public.privacy_deposits (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

  -- User & Transaction Identification
  user_wallet VARCHAR(42) NOT NULL CHECK (user_wallet ~ '^0x[0-9a-f]{40}$'),  -- Erratum E19
  -- Decision: the chain the deposit lives on, needed for per-chain pool statistics (E25).
  chain_id INTEGER NOT NULL DEFAULT 1,
  deposit_tx_hash VARCHAR(66),
  withdrawal_tx_hash VARCHAR(66),

  -- Deposit Details (Erratum E26: NUMERIC(38,18); 1 wei of an 18-decimals token is > 0)
  amount NUMERIC(38,18) NOT NULL CHECK (amount > 0),
  token_address VARCHAR(42) DEFAULT '0x0000000000000000000000000000000000000000'  -- ETH
    CHECK (token_address ~ '^0x[0-9a-f]{40}$'),
  token_symbol VARCHAR(20) DEFAULT 'ETH',

  -- Privacy Configuration
  -- Erratum E27: deposits keep their own tiers {standard, advanced, maximum} (pool settings),
  -- distinct from the visibility levels of transactions/portfolios; the mapping is
  -- transaction_privacy_level() below.
  privacy_level VARCHAR(20) NOT NULL CHECK (privacy_level IN (
    'standard', 'advanced', 'maximum'
  )),
  anonymity_set INTEGER NOT NULL,
  mixing_rounds INTEGER DEFAULT 1,

  -- Zero-Knowledge Proof Data (UNIQUE nullifier: a double spend is impossible)
  commitment_hash VARCHAR(128) NOT NULL UNIQUE,
  nullifier_hash VARCHAR(128) NOT NULL UNIQUE,
  proof_data JSONB,
  verification_status VARCHAR(20) DEFAULT 'pending' CHECK (verification_status IN (
    'pending', 'verified', 'failed', 'expired'
  )),

  -- Transaction Lifecycle
  status VARCHAR(20) NOT NULL DEFAULT 'pending' CHECK (status IN (
    'pending', 'processing', 'mixed', 'completed', 'failed', 'withdrawn'
  )),
  deposit_confirmed_at TIMESTAMPTZ,
  mixing_started_at TIMESTAMPTZ,
  mixing_completed_at TIMESTAMPTZ,
  withdrawal_available_at TIMESTAMPTZ,
  processed_at TIMESTAMPTZ,

  -- Gas & Fees
  gas_used NUMERIC(20,0),             -- Decision: gas units are integers
  gas_price_gwei NUMERIC(20,9),       -- Decision: (10,2) rounded L2 prices (0.001 gwei) to 0
  total_fees NUMERIC(38,18),          -- Erratum E26

  -- Privacy Metrics
  privacy_score DECIMAL(5,2),
  unlinkability_score DECIMAL(5,2),
  mixing_efficiency DECIMAL(5,2),

  -- Audit Trail
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  deleted_at TIMESTAMPTZ
);
COMMENT ON COLUMN public.privacy_deposits.amount IS 'Amount in token units (not base units), NUMERIC(38,18).';

CREATE INDEX idx_deposits_user_wallet ON public.privacy_deposits(user_wallet);
CREATE INDEX idx_deposits_status ON public.privacy_deposits(status);
-- Erratum E29: idx_deposits_commitment is not created, the UNIQUE constraint already indexes it.
CREATE INDEX idx_deposits_created ON public.privacy_deposits(created_at);
CREATE INDEX idx_deposits_privacy_level ON public.privacy_deposits(privacy_level, status);
CREATE INDEX idx_deposits_active ON public.privacy_deposits(user_wallet, created_at)
  WHERE status IN ('pending', 'processing', 'mixed');
CREATE INDEX idx_deposits_privacy_time_amount ON public.privacy_deposits(
  privacy_level, created_at DESC, amount
);

CREATE TRIGGER privacy_deposits_set_updated_at
  BEFORE UPDATE ON public.privacy_deposits
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Erratum E27: deposit tier -> transactions.privacy_level.
CREATE OR REPLACE FUNCTION public.transaction_privacy_level(deposit_level text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE deposit_level
           WHEN 'standard' THEN 'private'
           WHEN 'advanced' THEN 'anonymous'
           WHEN 'maximum'  THEN 'maximum'
         END
$$;
COMMENT ON FUNCTION public.transaction_privacy_level(text) IS
  'Maps a deposit privacy tier (standard/advanced/maximum) to a transaction privacy level (private/anonymous/maximum).';

-- ---------------------------------------------------------------------------------------------
-- Archive. Erratum E09: the seed's archive table never existed. archived_at comes FIRST so that
-- "SELECT now(), d.*" stays aligned when both tables get the same new column (and fails loudly
-- when only privacy_deposits does).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.privacy_deposits_archive (
  archived_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  LIKE public.privacy_deposits INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
  PRIMARY KEY (id),
  UNIQUE (commitment_hash),
  UNIQUE (nullifier_hash)
);
CREATE INDEX idx_deposits_archive_user_wallet ON public.privacy_deposits_archive(user_wallet);

-- Moves finished deposits older than p_older_than (default 2 years) to the archive, in ONE
-- statement (a row is never lost nor duplicated); returns the number of rows moved.
-- Erratum E09: rows with processed_at NULL were never archived: the age is the first known of
--   processed_at, updated_at, created_at. Decision: besides the seed's 'completed', the other
--   terminal states ('withdrawn', 'failed') and soft-deleted rows are archived too.
CREATE OR REPLACE FUNCTION public.archive_old_deposits(p_older_than interval DEFAULT interval '2 years')
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  WITH moved AS (
    DELETE FROM public.privacy_deposits d
     WHERE (d.status IN ('completed', 'withdrawn', 'failed')
            AND coalesce(d.processed_at, d.updated_at, d.created_at) < now() - p_older_than)
        OR d.deleted_at < now() - p_older_than
    RETURNING d.*
  )
  INSERT INTO public.privacy_deposits_archive
  SELECT now(), m.* FROM moved m;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION public.archive_old_deposits(interval) IS
  'Moves completed/withdrawn/failed (and soft-deleted) deposits older than the interval to privacy_deposits_archive; returns the count.';

-- ---------------------------------------------------------------------------------------------
-- Token helpers for update_pool_statistics()
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION public.token_class(symbol text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE
           WHEN upper(symbol) IN ('ETH', 'WETH') THEN 'eth'
           WHEN upper(symbol) IN ('USDC', 'USDT', 'DAI', 'BUSD', 'TUSD', 'USDP', 'FRAX',
                                  'LUSD', 'PYUSD', 'GUSD') THEN 'stablecoin'
           ELSE 'other'
         END
$$;
COMMENT ON FUNCTION public.token_class(text) IS 'eth | stablecoin | other, by token symbol.';

-- USD price of one token: from p_prices (keys are upper-case symbols), WETH falls back to ETH,
-- stablecoins default to 1; NULL when unknown.
CREATE OR REPLACE FUNCTION public.token_usd_price(symbol text, p_prices jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce((p_prices ->> upper(symbol))::numeric,
                  CASE WHEN upper(symbol) = 'WETH' THEN (p_prices ->> 'ETH')::numeric END,
                  CASE WHEN public.token_class(symbol) = 'stablecoin' THEN 1::numeric END)
$$;

-- ---------------------------------------------------------------------------------------------
-- update_pool_statistics(p_usd_prices jsonb DEFAULT '{}'): recomputes the 'main' pool row of
-- every chain from privacy_deposits (non-deleted) and returns the number of rows written.
-- Erratum E25: the seed only UPDATEd (no 'main' row was ever created), gave every chain the
--   same global totals, and summed amounts of different tokens. Now: an upsert per
--   (pool_type 'main', chain_id); per-token columns by symbol; USD totals only from priced tokens.
-- p_usd_prices: {"ETH": 3150.5, "WBTC": 64000} (symbols case-insensitive). Without a price a
--   token counts in its own column (ETH) or nowhere (other) and a NOTICE names it.
-- Chains that have a 'main' row but no deposits any more are reset to zero.
-- Erratum E10/E13: not scheduled with pg_cron; the runtime's scheduler calls it.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION public.update_pool_statistics(p_usd_prices jsonb DEFAULT '{}'::jsonb)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  v_prices   jsonb;
  v_unpriced text;
  n          integer;
BEGIN
  SELECT coalesce(jsonb_object_agg(upper(key), value), '{}'::jsonb)
    INTO v_prices
    FROM jsonb_each(coalesce(p_usd_prices, '{}'::jsonb));

  SELECT string_agg(DISTINCT upper(token_symbol), ', ')
    INTO v_unpriced
    FROM public.privacy_deposits
   WHERE deleted_at IS NULL AND status IN ('mixed', 'completed')
     AND public.token_usd_price(token_symbol, v_prices) IS NULL;
  IF v_unpriced IS NOT NULL THEN
    RAISE NOTICE 'update_pool_statistics: no USD price for %; not counted in total_pool_size and volumes',
      v_unpriced;
  END IF;

  WITH d AS (
    SELECT pd.chain_id, pd.user_wallet, pd.status, pd.amount, pd.created_at,
           coalesce(pd.processed_at, pd.updated_at) AS processed_at,
           public.token_class(pd.token_symbol) AS cls,
           pd.amount * public.token_usd_price(pd.token_symbol, v_prices) AS usd,
           pd.status IN ('mixed', 'completed') AS in_pool,
           min(pd.created_at) FILTER (WHERE pd.status <> 'failed')
             OVER (PARTITION BY pd.chain_id, pd.user_wallet) AS first_deposit_at
      FROM public.privacy_deposits pd
     WHERE pd.deleted_at IS NULL
  ), chains AS (
    SELECT chain_id FROM d
    UNION
    SELECT chain_id FROM public.pool_statistics WHERE pool_type = 'main'
  ), agg AS (
    SELECT c.chain_id,
           coalesce(sum(d.amount) FILTER (WHERE d.in_pool AND d.cls = 'eth'), 0) AS eth,
           coalesce(sum(d.amount) FILTER (WHERE d.in_pool AND d.cls = 'stablecoin'), 0) AS stable,
           coalesce(sum(d.usd) FILTER (WHERE d.in_pool AND d.cls = 'other'), 0) AS other_usd,
           coalesce(sum(d.usd) FILTER (WHERE d.in_pool), 0) AS total_usd,
           count(DISTINCT d.user_wallet) FILTER (
             WHERE d.status IN ('pending', 'processing', 'mixed')
               AND d.created_at > now() - interval '24 hours') AS active_mixers,
           count(DISTINCT d.user_wallet) FILTER (
             WHERE d.first_deposit_at > now() - interval '24 hours') AS new_mixers,
           count(DISTINCT d.user_wallet) FILTER (WHERE d.status <> 'failed') AS anonymity_set,
           count(DISTINCT d.user_wallet) AS unique_users,
           count(*) FILTER (WHERE d.status <> 'failed') AS deposits,
           count(*) FILTER (WHERE d.status = 'withdrawn') AS withdrawals,
           count(*) FILTER (WHERE d.status <> 'failed'
                              AND d.created_at > now() - interval '24 hours') AS deposits_24h,
           count(*) FILTER (WHERE d.status = 'withdrawn'
                              AND d.processed_at > now() - interval '24 hours') AS withdrawals_24h,
           coalesce(sum(d.usd) FILTER (WHERE d.status <> 'failed'
                              AND d.created_at > now() - interval '24 hours'), 0) AS vol_24h,
           coalesce(sum(d.usd) FILTER (WHERE d.status <> 'failed'
                              AND d.created_at > now() - interval '7 days'), 0) AS vol_7d,
           coalesce(sum(d.usd) FILTER (WHERE d.status <> 'failed'
                              AND d.created_at > now() - interval '30 days'), 0) AS vol_30d,
           avg(d.usd) FILTER (WHERE d.status <> 'failed') AS avg_deposit,
           avg(d.usd) FILTER (WHERE d.status = 'withdrawn') AS avg_withdrawal
      FROM chains c
      LEFT JOIN d ON d.chain_id = c.chain_id
     GROUP BY c.chain_id
  )
  INSERT INTO public.pool_statistics AS ps (
    pool_type, pool_name, chain_id,
    total_pool_size, eth_pool_size, stablecoin_pool_size, other_tokens_pool_size,
    active_mixers, new_mixers_24h, anonymity_set, total_unique_users,
    total_deposits, total_withdrawals, deposits_24h, withdrawals_24h,
    volume_24h, volume_7d, volume_30d, avg_deposit_size, avg_withdrawal_size)
  SELECT 'main', format('Main Privacy Pool (chain %s)', a.chain_id), a.chain_id,
         a.total_usd, a.eth, a.stable, a.other_usd,
         a.active_mixers, a.new_mixers, a.anonymity_set, a.unique_users,
         a.deposits, a.withdrawals, a.deposits_24h, a.withdrawals_24h,
         a.vol_24h, a.vol_7d, a.vol_30d, a.avg_deposit, a.avg_withdrawal
    FROM agg a
  ON CONFLICT (pool_type, chain_id) DO UPDATE SET
    total_pool_size        = EXCLUDED.total_pool_size,
    eth_pool_size          = EXCLUDED.eth_pool_size,
    stablecoin_pool_size   = EXCLUDED.stablecoin_pool_size,
    other_tokens_pool_size = EXCLUDED.other_tokens_pool_size,
    active_mixers          = EXCLUDED.active_mixers,
    new_mixers_24h         = EXCLUDED.new_mixers_24h,
    anonymity_set          = EXCLUDED.anonymity_set,
    total_unique_users     = EXCLUDED.total_unique_users,
    total_deposits         = EXCLUDED.total_deposits,
    total_withdrawals      = EXCLUDED.total_withdrawals,
    deposits_24h           = EXCLUDED.deposits_24h,
    withdrawals_24h        = EXCLUDED.withdrawals_24h,
    volume_24h             = EXCLUDED.volume_24h,
    volume_7d              = EXCLUDED.volume_7d,
    volume_30d             = EXCLUDED.volume_30d,
    avg_deposit_size       = EXCLUDED.avg_deposit_size,
    avg_withdrawal_size    = EXCLUDED.avg_withdrawal_size;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION public.update_pool_statistics(jsonb) IS
  'Upserts the main pool row of every chain from privacy_deposits; prices: {"ETH": 3150.5, ...}; returns rows written.';

-- ---------------------------------------------------------------------------------------------
-- Row level security and grants
-- Erratum E18: end users only SELECT their own deposits (the seed's FOR ALL let a user verify,
--   complete, re-price and delete their own deposit). Writes: service_role, app_service_role.
-- Erratum E19/E33: own rows by the wallet of auth.uid(), evaluated once (InitPlan).
-- ---------------------------------------------------------------------------------------------
ALTER TABLE public.privacy_deposits ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.privacy_deposits FORCE ROW LEVEL SECURITY;
ALTER TABLE public.privacy_deposits_archive ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.privacy_deposits_archive FORCE ROW LEVEL SECURITY;

CREATE POLICY privacy_deposits_select_own ON public.privacy_deposits
  FOR SELECT TO authenticated
  USING (user_wallet = (SELECT u.wallet_address FROM public.users u WHERE u.id = (SELECT auth.uid())));
CREATE POLICY privacy_deposits_select_all ON public.privacy_deposits
  FOR SELECT TO analytics_readonly, app_service_role
  USING (true);
CREATE POLICY privacy_deposits_insert_app ON public.privacy_deposits
  FOR INSERT TO app_service_role WITH CHECK (true);
CREATE POLICY privacy_deposits_update_app ON public.privacy_deposits
  FOR UPDATE TO app_service_role USING (true) WITH CHECK (true);

CREATE POLICY privacy_deposits_archive_select_own ON public.privacy_deposits_archive
  FOR SELECT TO authenticated
  USING (user_wallet = (SELECT u.wallet_address FROM public.users u WHERE u.id = (SELECT auth.uid())));
CREATE POLICY privacy_deposits_archive_select_all ON public.privacy_deposits_archive
  FOR SELECT TO analytics_readonly, app_service_role
  USING (true);

GRANT SELECT ON public.privacy_deposits TO authenticated, analytics_readonly;
GRANT SELECT, INSERT, UPDATE ON public.privacy_deposits TO app_service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.privacy_deposits TO service_role;
GRANT SELECT ON public.privacy_deposits_archive TO authenticated, analytics_readonly, app_service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.privacy_deposits_archive TO service_role;

REVOKE ALL ON FUNCTION public.archive_old_deposits(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION public.update_pool_statistics(jsonb) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.archive_old_deposits(interval), public.update_pool_statistics(jsonb)
  TO service_role, app_service_role;
