-- 001_auth.sql: cluster-wide roles, the Supabase-like `auth` shim, default privileges.
--
-- Applied by the migrator inside one transaction, as a SUPERUSER (the embedded cluster's
-- `postgres`): creating a BYPASSRLS role needs it, and the SECURITY DEFINER maintenance
-- functions of later files rely on the tables' owner bypassing row level security.
--
-- Erratum E04: vanilla PostgreSQL has no `auth` schema; this file ships a small shim with the
--   same meaning as Supabase's (auth.jwt(), auth.uid(), auth.role()), so the seed's policies
--   keep their meaning without a Supabase dependency.
-- Erratum E11: roles are cluster-wide and several databases of one cluster get migrated, so
--   every role is created only if missing (and a concurrent creation is tolerated).

-- ---------------------------------------------------------------------------------------------
-- Roles. All NOLOGIN: logins are granted membership and SET ROLE (the runtime acts for an end
-- user with set_config('role', 'authenticated', true) inside a transaction).
--   anon               unauthenticated visitor: reads pool statistics and active agents, nothing else
--   authenticated      an end user (JWT `sub` = users.id): reads own rows only, writes nothing
--   service_role       the platform itself: BYPASSRLS, SELECT/INSERT/UPDATE/DELETE, never TRUNCATE
--   app_service_role   the seed's backend ("edge functions") role, see E21 below
--   analytics_readonly read-only analytics, every row, no key material (E22)
--   agent_executor     sandboxed agent ticks (E23)
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT * FROM (VALUES
      ('anon', false),
      ('authenticated', false),
      ('service_role', true),
      ('app_service_role', false),     -- Erratum E21: no BYPASSRLS, RLS policies instead
      ('analytics_readonly', false),   -- Erratum E22: SELECT policies USING (true), not BYPASSRLS
      ('agent_executor', false)
    ) AS v(name, bypass)
  LOOP
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = r.name) THEN
      BEGIN
        EXECUTE format('CREATE ROLE %I NOLOGIN %s', r.name,
                       CASE WHEN r.bypass THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END);
      EXCEPTION WHEN duplicate_object OR unique_violation THEN
        NULL;  -- created meanwhile by a migration of another database of this cluster
      END;
    END IF;
    -- The grant model below depends on exactly this attribute; fix it if someone changed it.
    IF (SELECT rolbypassrls FROM pg_catalog.pg_roles WHERE rolname = r.name) IS DISTINCT FROM r.bypass THEN
      EXECUTE format('ALTER ROLE %I %s', r.name, CASE WHEN r.bypass THEN 'BYPASSRLS' ELSE 'NOBYPASSRLS' END);
    END IF;
    -- Superusers can SET ROLE to anything; a non-superuser migrator needs membership.
    IF NOT (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user)
       AND NOT pg_catalog.pg_has_role(current_user, r.name, 'MEMBER') THEN
      EXECUTE format('GRANT %I TO %I', r.name, current_user);
    END IF;
  END LOOP;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- The auth shim. Claims come from the transaction-local setting request.jwt.claims, set by the
-- runtime: set_config('request.jwt.claims', '{"sub": "<uuid>", "wallet_address": "0x.."}', true).
-- Unset or empty -> '{}' (so auth.uid() is NULL and every own-row policy matches nothing).
-- ---------------------------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS auth;
COMMENT ON SCHEMA auth IS 'Supabase-like auth shim: claims read from request.jwt.claims (transaction-local).';

CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claims', true), '')::jsonb, '{}'::jsonb)
$$;
COMMENT ON FUNCTION auth.jwt() IS 'The JWT claims of the current request (jsonb, {} when none).';

CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT nullif(auth.jwt() ->> 'sub', '')::uuid
$$;
COMMENT ON FUNCTION auth.uid() IS 'The claim sub as uuid (= public.users.id), NULL when absent.';

CREATE OR REPLACE FUNCTION auth.role() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT nullif(auth.jwt() ->> 'role', '')
$$;
COMMENT ON FUNCTION auth.role() IS 'The claim role, NULL when absent.';

-- Erratum E19: a wallet claim may be EIP-55 mixed case while wallets are stored lower case.
-- Decision: policies do not trust this claim at all; they resolve the wallet from auth.uid()
-- through public.users. This helper exists for code that wants the claim, already lower-cased.
CREATE OR REPLACE FUNCTION auth.wallet_address() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT lower(nullif(auth.jwt() ->> 'wallet_address', ''))
$$;
COMMENT ON FUNCTION auth.wallet_address() IS
  'The claim wallet_address, lower-cased (E19). Informational: RLS policies use auth.uid() + users.';

GRANT USAGE ON SCHEMA auth
  TO anon, authenticated, service_role, app_service_role, analytics_readonly, agent_executor;
GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid(), auth.role(), auth.wallet_address()
  TO anon, authenticated, service_role, app_service_role, analytics_readonly, agent_executor;

GRANT USAGE ON SCHEMA public
  TO anon, authenticated, service_role, app_service_role, analytics_readonly, agent_executor;

-- ---------------------------------------------------------------------------------------------
-- Default privileges for objects the migrating role creates later in `public` (this database).
-- Erratum E22: a one-off "GRANT SELECT ON ALL TABLES" misses every later table and view; default
--   privileges cover them (and the monthly partitions created by the maintenance functions).
--   A later migration that adds a secret column MUST revoke it from analytics_readonly (as
--   007_stealth.sql does for the key columns).
-- Erratum E21: never TRUNCATE (it ignores RLS) and never ALL for anybody but the owner.
-- ---------------------------------------------------------------------------------------------
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO analytics_readonly;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO service_role;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO service_role;
