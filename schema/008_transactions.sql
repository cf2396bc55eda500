-- 008_transactions.sql: the transaction ledger, RANGE-partitioned by month on created_at.
--
-- Decision: partitioned (the seed's 2.3 TB is this table, see E02): partitions
--   transactions_yYYYYmMM hold one UTC calendar month each; PRIMARY KEY (id, created_at) because
--   a partitioned table's unique keys must include the partition key (id stays a random uuid,
--   so it is unique in practice; look rows up by id AND created_at when you can, for pruning).
-- Decision: NO DEFAULT partition. A row outside every partition fails loudly instead of landing
--   in a catch-all that (a) is scanned by every query and (b) must be scanned, and may block,
--   whenever a new monthly partition is created (rows already in the default partition that
--   belong to the new range make CREATE ... PARTITION OF fail). The scheduler keeps partitions
--   ahead with create_transaction_partitions(); this migration creates 24 months back through
--   3 months ahead.

CREATE TABLE public.transactions (
  id UUID NOT NULL DEFAULT gen_random_uuid(),

  -- User & Account Info (Erratum E03: public.users)
  user_id UUID REFERENCES public.users(id),
  user_wallet VARCHAR(42) NOT NULL CHECK (user_wallet ~ '^0x[0-9a-f]{40}$'),  -- Erratum E19

  -- Transaction Classification
  tx_type VARCHAR(50) NOT NULL CHECK (tx_type IN (
    'privacy_deposit', 'privacy_withdrawal', 'stealth_generation',
    'agent_activation', 'zk_proof_generation', 'yield_harvest',
    'rebalance', 'governance_vote', 'token_transfer'
  )),
  category VARCHAR(30) NOT NULL,
  subcategory VARCHAR(50),

  -- Financial Details (Erratum E26: NUMERIC(38,18))
  amount NUMERIC(38,18) NOT NULL,
  token_address VARCHAR(42) DEFAULT '0x0000000000000000000000000000000000000000'
    CHECK (token_address ~ '^0x[0-9a-f]{40}$'),
  token_symbol VARCHAR(20) DEFAULT 'ETH',
  usd_value NUMERIC(38,18),  -- USD equivalent at time of transaction

  -- Privacy & Security (Erratum E27: deposits map their tiers with transaction_privacy_level())
  privacy_level VARCHAR(20) CHECK (privacy_level IN (
    'public', 'private', 'anonymous', 'maximum'
  )),
  confidentiality_score DECIMAL(5,2),

  -- Blockchain Integration
  tx_hash VARCHAR(66),
  block_number BIGINT,
  gas_used NUMERIC(20,0),          -- Decision: gas units are integers
  gas_price_gwei NUMERIC(20,9),    -- Decision: sub-gwei L2 prices
  transaction_fee NUMERIC(38,18),  -- Erratum E26

  -- ZKP Integration
  zk_proof_hash VARCHAR(128),
  nullifier_hash VARCHAR(128),
  verification_status VARCHAR(20) DEFAULT 'pending',

  -- Status & Lifecycle
  status VARCHAR(20) NOT NULL DEFAULT 'pending' CHECK (status IN (
    'pending', 'confirmed', 'failed', 'reverted', 'cancelled'
  )),
  confirmations INTEGER DEFAULT 0,
  required_confirmations INTEGER DEFAULT 12,

  -- Agent Integration (if applicable)
  agent_id UUID REFERENCES public.ai_agents(id),
  agent_execution_id VARCHAR(100),

  -- Performance Metrics
  execution_time_ms INTEGER,
  priority_level INTEGER DEFAULT 5 CHECK (priority_level BETWEEN 1 AND 10),

  -- Metadata & Tags
  tags JSONB DEFAULT '[]'::jsonb,
  metadata JSONB DEFAULT '{}'::jsonb,

  -- Timestamps (created_at is the partition key: NOT NULL)
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  confirmed_at TIMESTAMPTZ,
  failed_at TIMESTAMPTZ,
  indexed_at TIMESTAMPTZ DEFAULT NOW(),

  PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);
COMMENT ON TABLE public.transactions IS
  'Transaction ledger, monthly partitions transactions_yYYYYmMM (UTC); keep them ahead with create_transaction_partitions().';

-- Erratum E29: idx_transactions_user_privacy_status (user_wallet, privacy_level, status) is not
--   created: it overlapped idx_transactions_wallet_status. transactions.user_id (a FK) is indexed.
CREATE INDEX idx_transactions_wallet_status ON public.transactions(user_wallet, status);
CREATE INDEX idx_transactions_user ON public.transactions(user_id) WHERE user_id IS NOT NULL;
CREATE INDEX idx_transactions_type_created ON public.transactions(tx_type, created_at);
CREATE INDEX idx_transactions_hash ON public.transactions(tx_hash);
CREATE INDEX idx_transactions_block ON public.transactions(block_number) WHERE block_number IS NOT NULL;
CREATE INDEX idx_transactions_agent ON public.transactions(agent_id) WHERE agent_id IS NOT NULL;
CREATE INDEX idx_transactions_privacy_time ON public.transactions(privacy_level, created_at DESC);
CREATE INDEX idx_transactions_token_amount ON public.transactions(token_address, amount);
CREATE INDEX idx_transactions_metadata ON public.transactions USING gin(metadata);
CREATE INDEX idx_transactions_tags ON public.transactions USING gin(tags);

CREATE OR REPLACE FUNCTION public.create_transaction_partitions(
  months_ahead integer DEFAULT 3,
  months_back integer DEFAULT 0
) RETURNS integer
LANGUAGE sql
SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT public.create_monthly_partitions('public.transactions'::regclass, months_ahead, months_back)
$$;
COMMENT ON FUNCTION public.create_transaction_partitions(integer, integer) IS
  'Creates the missing monthly partitions of transactions from (this month - months_back) to (this month + months_ahead), UTC; idempotent; returns the count created.';

SELECT public.create_transaction_partitions(3, 24);

-- ---------------------------------------------------------------------------------------------
-- Row level security. Erratum E17: the seed enabled RLS with no policy at all (own rows
-- invisible, every INSERT refused). Policies on the partitioned parent apply to every query
-- through it; nobody but the owner, analytics_readonly and service_role is granted a partition.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE public.transactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.transactions FORCE ROW LEVEL SECURITY;

-- Erratum E18/E19/E33: end users read their own transactions, write nothing.
CREATE POLICY transactions_select_own ON public.transactions
  FOR SELECT TO authenticated
  USING (user_wallet = (SELECT u.wallet_address FROM public.users u WHERE u.id = (SELECT auth.uid())));

CREATE POLICY transactions_select_all ON public.transactions
  FOR SELECT TO analytics_readonly, app_service_role
  USING (true);
CREATE POLICY transactions_insert_app ON public.transactions
  FOR INSERT TO app_service_role WITH CHECK (true);
CREATE POLICY transactions_update_app ON public.transactions
  FOR UPDATE TO app_service_role USING (true) WITH CHECK (true);

-- Erratum E23: agent_executor reads the rows agents made and inserts PENDING rows for an
-- ACTIVE activation of that agent, in the name of that activation's user and wallet. The
-- column grant below leaves out status, verification, confirmation and timestamp columns, so
-- they take their defaults ('pending', now()).
CREATE POLICY transactions_select_agent_executor ON public.transactions
  FOR SELECT TO agent_executor
  USING (agent_id IS NOT NULL);
CREATE POLICY transactions_insert_agent_executor ON public.transactions
  FOR INSERT TO agent_executor
  WITH CHECK (
    status = 'pending'
    AND agent_id IS NOT NULL
    AND EXISTS (SELECT 1
                  FROM public.user_agents ua
                  JOIN public.users u ON u.id = ua.user_id
                 WHERE ua.agent_id = transactions.agent_id
                   AND ua.user_id = transactions.user_id
                   AND ua.status = 'active'
                   AND u.wallet_address = transactions.user_wallet));

GRANT SELECT ON public.transactions TO authenticated, analytics_readonly, agent_executor;
GRANT INSERT (id, user_id, user_wallet, tx_type, category, subcategory, amount, token_address,
              token_symbol, usd_value, privacy_level, confidentiality_score, gas_price_gwei,
              agent_id, agent_execution_id, execution_time_ms, priority_level, tags, metadata)
  ON public.transactions TO agent_executor;
GRANT SELECT, INSERT, UPDATE ON public.transactions TO app_service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.transactions TO service_role;

REVOKE ALL ON FUNCTION public.create_transaction_partitions(integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.create_transaction_partitions(integer, integer)
  TO service_role, app_service_role;
