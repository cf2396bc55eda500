-- 009_portfolios.sql: user_portfolios.

CREATE TABLE public.user_portfolios (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

  -- User Identification (Erratum E03: public.users; E19: lower-case wallet)
  user_wallet VARCHAR(42) NOT NULL UNIQUE CHECK (user_wallet ~ '^0x[0-9a-f]{40}$'),
  user_id UUID REFERENCES public.users(id),

  -- Portfolio Composition (USD; Erratum E26: NUMERIC(38,18))
  total_value NUMERIC(38,18) NOT NULL DEFAULT 0,
  total_deposited NUMERIC(38,18) DEFAULT 0,
  total_withdrawn NUMERIC(38,18) DEFAULT 0,
  total_profit NUMERIC(38,18) DEFAULT 0,

  -- Token Breakdown (eth_balance in ETH, stablecoin_balance in USD, other_tokens_balance in USD)
  eth_balance NUMERIC(38,18) DEFAULT 0,
  stablecoin_balance NUMERIC(38,18) DEFAULT 0,
  other_tokens_balance NUMERIC(38,18) DEFAULT 0,

  -- Privacy Metrics
  privacy_score DECIMAL(5,2) DEFAULT 0,
  anonymity_level VARCHAR(20) DEFAULT 'public' CHECK (anonymity_level IN (
    'public', 'private', 'anonymous', 'maximum'
  )),
  stealth_addresses_count INTEGER DEFAULT 0,

  -- Agent Portfolio
  active_agents_count INTEGER DEFAULT 0,
  agent_portfolio_value NUMERIC(38,18) DEFAULT 0,
  agent_profit_share DECIMAL(5,2) DEFAULT 0,

  -- Performance Metrics
  overall_apr NUMERIC(8,4),
  max_drawdown DECIMAL(8,4),
  sharpe_ratio NUMERIC(8,4),
  volatility_score NUMERIC(5,2),

  -- Risk Assessment
  risk_score DECIMAL(5,2) DEFAULT 50,
  diversification_score DECIMAL(5,2) DEFAULT 0,
  liquidity_score DECIMAL(5,2) DEFAULT 100,

  last_calculated_at TIMESTAMPTZ DEFAULT NOW(),
  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

-- Erratum E29: the FK column user_id was unindexed.
CREATE INDEX idx_user_portfolios_user ON public.user_portfolios(user_id) WHERE user_id IS NOT NULL;

CREATE TRIGGER user_portfolios_set_updated_at
  BEFORE UPDATE ON public.user_portfolios
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Erratum E18: the seed's FOR ALL let a user set their own total_value to 1e9. SELECT only.
ALTER TABLE public.user_portfolios ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.user_portfolios FORCE ROW LEVEL SECURITY;

CREATE POLICY user_portfolios_select_own ON public.user_portfolios
  FOR SELECT TO authenticated
  USING (user_wallet = (SELECT u.wallet_address FROM public.users u WHERE u.id = (SELECT auth.uid())));
CREATE POLICY user_portfolios_select_all ON public.user_portfolios
  FOR SELECT TO analytics_readonly, app_service_role
  USING (true);
CREATE POLICY user_portfolios_insert_app ON public.user_portfolios
  FOR INSERT TO app_service_role WITH CHECK (true);
CREATE POLICY user_portfolios_update_app ON public.user_portfolios
  FOR UPDATE TO app_service_role USING (true) WITH CHECK (true);

GRANT SELECT ON public.user_portfolios TO authenticated, analytics_readonly;
GRANT SELECT, INSERT, UPDATE ON public.user_portfolios TO app_service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.user_portfolios TO service_role;
