-- 004_agents.sql: ai_agents (ERC-8004 agent registry) and user_agents (activations).

-- ---------------------------------------------------------------------------------------------
-- ai_agents
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.ai_agents (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

  -- Core Agent Identification
  agent_type VARCHAR(50) NOT NULL CHECK (agent_type IN (
    'yield_optimizer_pro', 'privacy_sentinel', 'risk_shield',
    'arbitrage_hunter', 'liquidity_manager', 'strategy_bot'
  )),
  agent_name VARCHAR(255) NOT NULL,
  agent_version VARCHAR(50) DEFAULT '1.0.0',
  description TEXT NOT NULL,

  -- ERC-8004 Compliance
  erc8004_compliance JSONB DEFAULT '{}'::jsonb,
  capabilities JSONB NOT NULL DEFAULT '[]'::jsonb,
  supported_contracts JSONB DEFAULT '[]'::jsonb,
  chain_compatibility JSONB DEFAULT '["ethereum"]'::jsonb,

  -- Performance & Reputation
  -- Decision: counters and flags NOT NULL (a NULL `active` would silently hide an agent from
  -- the public policy; NULL counters would break the executor's "x = x + 1" updates).
  reputation_score NUMERIC(5,2) CHECK (reputation_score >= 0 AND reputation_score <= 100),
  total_executions BIGINT NOT NULL DEFAULT 0,
  successful_executions BIGINT NOT NULL DEFAULT 0,
  failed_executions BIGINT NOT NULL DEFAULT 0,
  avg_execution_time_ms INTEGER,
  last_execution_at TIMESTAMPTZ,

  -- Financial Metrics (avg_yield, max_drawdown: percentages)
  avg_yield NUMERIC(10,4) DEFAULT 0,
  total_profit_generated NUMERIC(38,18) DEFAULT 0,  -- Erratum E26: token amount
  max_drawdown NUMERIC(10,4) DEFAULT 0,
  sharpe_ratio NUMERIC(8,4),

  -- Pricing & Economics
  pricing_model VARCHAR(20) CHECK (pricing_model IN (
    'free', 'subscription', 'performance_fee', 'hybrid'
  )) DEFAULT 'free',
  subscription_fee_usd DECIMAL(10,2),
  -- Erratum E27: NUMERIC(5,4) cannot hold 20 (percent); it is a FRACTION: 0.2000 = 20 %.
  performance_fee_percentage NUMERIC(5,4)
    CHECK (performance_fee_percentage >= 0 AND performance_fee_percentage <= 1),
  gas_cost_coverage BOOLEAN DEFAULT false,

  -- Security & Trust
  zk_proof_commitment VARCHAR(255),
  verification_status VARCHAR(20) DEFAULT 'unverified' CHECK (verification_status IN (
    'verified', 'unverified', 'blacklisted', 'pending_review'
  )),
  security_audit_score NUMERIC(5,2),
  last_audit_date TIMESTAMPTZ,

  -- Operational Status
  active BOOLEAN NOT NULL DEFAULT true,
  maintenance_mode BOOLEAN NOT NULL DEFAULT false,
  max_concurrent_users INTEGER DEFAULT 1000,
  current_active_users INTEGER DEFAULT 0,

  -- Metadata
  developer_wallet VARCHAR(42) CHECK (developer_wallet ~ '^0x[0-9a-f]{40}$'),  -- E19: lower case
  github_repo_url TEXT,
  documentation_url TEXT,
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
COMMENT ON COLUMN public.ai_agents.performance_fee_percentage IS
  'Performance fee as a FRACTION of profit: 0.2000 means 20 % (E27).';

CREATE INDEX idx_ai_agents_type_active ON public.ai_agents(agent_type, active)
  WHERE active = true;
CREATE INDEX idx_ai_agents_reputation ON public.ai_agents(reputation_score DESC)
  WHERE active = true;
CREATE INDEX idx_ai_agents_execution_time ON public.ai_agents(avg_execution_time_ms)
  WHERE active = true;
CREATE INDEX idx_ai_agents_yield ON public.ai_agents(avg_yield DESC)
  WHERE active = true;
-- Full-text search index for agent discovery
CREATE INDEX idx_ai_agents_search ON public.ai_agents USING gin(
  to_tsvector('english', agent_name || ' ' || description)
);
CREATE INDEX idx_agents_active_optimized ON public.ai_agents(
  agent_type, reputation_score DESC, avg_yield DESC
) WHERE active = true AND maintenance_mode = false;

CREATE TRIGGER ai_agents_set_updated_at
  BEFORE UPDATE ON public.ai_agents
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- user_agents
-- ---------------------------------------------------------------------------------------------
CREATE TABLE public.user_agents (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

  -- Relationship Keys (Erratum E03: public.users)
  user_id UUID NOT NULL REFERENCES public.users(id) ON DELETE CASCADE,
  agent_id UUID NOT NULL REFERENCES public.ai_agents(id) ON DELETE CASCADE,

  -- Activation Details
  activation_tx_hash VARCHAR(66),
  configuration JSONB NOT NULL DEFAULT '{}'::jsonb,
  risk_parameters JSONB DEFAULT '{}'::jsonb,
  allocation_limits JSONB DEFAULT '{}'::jsonb,

  -- Operational Status
  status VARCHAR(20) NOT NULL DEFAULT 'active' CHECK (status IN (
    'active', 'paused', 'stopped', 'error', 'terminated'
  )),
  activated_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  deactivated_at TIMESTAMPTZ,

  -- Performance Tracking (Decision: counters NOT NULL, see ai_agents)
  total_executions BIGINT NOT NULL DEFAULT 0,
  successful_executions BIGINT NOT NULL DEFAULT 0,
  failed_executions BIGINT NOT NULL DEFAULT 0,
  total_profit NUMERIC(38,18) NOT NULL DEFAULT 0,      -- Erratum E26
  total_fees_paid NUMERIC(38,18) NOT NULL DEFAULT 0,   -- Erratum E26

  -- Current State
  current_allocation NUMERIC(38,18) NOT NULL DEFAULT 0,  -- Erratum E26
  current_apr NUMERIC(8,4),
  last_execution_at TIMESTAMPTZ,
  last_profit_report_at TIMESTAMPTZ,

  UNIQUE(user_id, agent_id),

  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- Erratum E29: idx_user_agents_user (user_id, status) is dropped: user_id lookups (and the FK)
-- are served by the UNIQUE (user_id, agent_id) index, active ones by idx_user_agents_active_users.
CREATE INDEX idx_user_agents_agent ON public.user_agents(agent_id, status);   -- also the FK index
CREATE INDEX idx_user_agents_performance ON public.user_agents(total_profit DESC)
  WHERE status = 'active';
CREATE INDEX idx_user_agents_active_users ON public.user_agents(
  user_id, status, total_profit DESC
) WHERE status = 'active';

CREATE TRIGGER user_agents_set_updated_at
  BEFORE UPDATE ON public.user_agents
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- ---------------------------------------------------------------------------------------------
-- Row level security
-- Erratum E14: the seed's public-read policies were inert (RLS never enabled on ai_agents).
-- Erratum E06: the seed's user_agents policy named a missing column and recursed into its own
--   table; and with RLS on and no valid policy the owner saw nothing. Now: user_id = auth.uid().
-- Erratum E18: end users get SELECT policies only (no FOR ALL): money, status and counters are
--   written by service_role / app_service_role / agent_executor only.
-- Erratum E20: FORCE row level security.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE public.ai_agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.ai_agents FORCE ROW LEVEL SECURITY;
ALTER TABLE public.user_agents ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_agents FORCE ROW LEVEL SECURITY;

CREATE POLICY ai_agents_select_public ON public.ai_agents
  FOR SELECT TO anon
  USING (active = true);

-- A signed-in user also keeps seeing an agent they activated after it was deactivated.
CREATE POLICY ai_agents_select_authenticated ON public.ai_agents
  FOR SELECT TO authenticated
  USING (active = true
         OR EXISTS (SELECT 1 FROM public.user_agents ua
                     WHERE ua.agent_id = ai_agents.id AND ua.user_id = (SELECT auth.uid())));

CREATE POLICY ai_agents_select_all ON public.ai_agents
  FOR SELECT TO analytics_readonly, agent_executor, app_service_role
  USING (true);

-- agent_executor: only the counter columns (column grants below).
CREATE POLICY ai_agents_update_agent_executor ON public.ai_agents
  FOR UPDATE TO agent_executor
  USING (true) WITH CHECK (true);

CREATE POLICY ai_agents_insert_app ON public.ai_agents
  FOR INSERT TO app_service_role WITH CHECK (true);
CREATE POLICY ai_agents_update_app ON public.ai_agents
  FOR UPDATE TO app_service_role USING (true) WITH CHECK (true);

CREATE POLICY user_agents_select_own ON public.user_agents
  FOR SELECT TO authenticated
  USING (user_id = (SELECT auth.uid()));

CREATE POLICY user_agents_select_all ON public.user_agents
  FOR SELECT TO analytics_readonly, agent_executor, app_service_role
  USING (true);

-- agent_executor updates counters of running activations and may flag/unflag 'error'; it
-- cannot revive a paused, stopped or terminated activation.
CREATE POLICY user_agents_update_agent_executor ON public.user_agents
  FOR UPDATE TO agent_executor
  USING (status IN ('active', 'error'))
  WITH CHECK (status IN ('active', 'error'));

CREATE POLICY user_agents_insert_app ON public.user_agents
  FOR INSERT TO app_service_role WITH CHECK (true);
CREATE POLICY user_agents_update_app ON public.user_agents
  FOR UPDATE TO app_service_role USING (true) WITH CHECK (true);

-- Deferred from 003_users.sql: agent_executor sees the users that have an active activation
-- (it needs their wallet; see the transactions INSERT policy).
CREATE POLICY users_select_agent_executor ON public.users
  FOR SELECT TO agent_executor
  USING (EXISTS (SELECT 1 FROM public.user_agents ua
                  WHERE ua.user_id = users.id AND ua.status = 'active'));

-- ---------------------------------------------------------------------------------------------
-- Grants (Erratum E21: no TRUNCATE, no ALL; E23: agent_executor gets the SELECT its
-- UPDATE ... WHERE needs, and only counter columns are updatable)
-- ---------------------------------------------------------------------------------------------
GRANT SELECT ON public.ai_agents TO anon, authenticated, analytics_readonly, agent_executor;
GRANT UPDATE (total_executions, successful_executions, failed_executions,
              avg_execution_time_ms, last_execution_at)
  ON public.ai_agents TO agent_executor;
GRANT SELECT, INSERT, UPDATE ON public.ai_agents TO app_service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.ai_agents TO service_role;

GRANT SELECT ON public.user_agents TO authenticated, analytics_readonly, agent_executor;
GRANT UPDATE (status, total_executions, successful_executions, failed_executions,
              total_profit, total_fees_paid, current_allocation, current_apr,
              last_execution_at, last_profit_report_at)
  ON public.user_agents TO agent_executor;
GRANT SELECT, INSERT, UPDATE ON public.user_agents TO app_service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.user_agents TO service_role;

GRANT SELECT (id, wallet_address) ON public.users TO agent_executor;
