-- 003_users.sql: public.users, the identity every user-owned row hangs off.
--
-- Erratum E03: the seed REFERENCES users(id) but never creates it. Decision: a plain
--   public.users table (no Supabase auth.users); users.id is the JWT `sub` (auth.uid()).
-- Erratum E19: wallets are stored lower case (CHECK) and policies never compare a JWT wallet
--   claim; they resolve the caller's wallet as
--   (SELECT u.wallet_address FROM public.users u WHERE u.id = (SELECT auth.uid())).
-- Erratum E33: every policy has a TO clause and wraps auth.*() in a scalar subquery, so it is
--   evaluated once per statement (InitPlan), not once per row.

CREATE TABLE public.users (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  wallet_address varchar(42) NOT NULL UNIQUE
                 CONSTRAINT users_wallet_address_lower CHECK (wallet_address ~ '^0x[0-9a-f]{40}$'),
  created_at     timestamptz NOT NULL DEFAULT now(),
  updated_at     timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE public.users IS 'Platform users; id is the JWT sub claim, wallet_address is lower-case hex.';

CREATE TRIGGER users_set_updated_at
  BEFORE UPDATE ON public.users
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

-- Erratum E20: FORCE so that a non-superuser table owner is subject to the policies as well.
ALTER TABLE public.users ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.users FORCE ROW LEVEL SECURITY;

CREATE POLICY users_select_own ON public.users
  FOR SELECT TO authenticated
  USING (id = (SELECT auth.uid()));

CREATE POLICY users_select_analytics ON public.users
  FOR SELECT TO analytics_readonly
  USING (true);

CREATE POLICY users_select_app ON public.users
  FOR SELECT TO app_service_role
  USING (true);

CREATE POLICY users_insert_app ON public.users
  FOR INSERT TO app_service_role
  WITH CHECK (true);

-- The agent_executor policy on users is in 004_agents.sql (it needs user_agents).

-- Erratum E21: no TRUNCATE, no ALL for anyone but the owner.
GRANT SELECT ON public.users TO authenticated, analytics_readonly;
GRANT SELECT, INSERT ON public.users TO app_service_role;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.users TO service_role;
