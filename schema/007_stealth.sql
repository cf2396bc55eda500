-- 007_stealth.sql: stealth_addresses (EIP-5564).
--
-- Erratum E15: the seed had no RLS here: anon and every user could read everyone's viewing_key
--   and spending_key_encrypted. Now: RLS owner-only for end users, and the key columns are
--   readable only by the owner (authenticated, own rows) and service_role: every other role gets
--   column-level SELECT without them.

CREATE TABLE public.stealth_addresses (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

  -- User & Address Mapping. Decision (E19): every address column is stored lower case; the
  -- runtime renders EIP-55 checksums for display.
  user_wallet VARCHAR(42) NOT NULL CHECK (user_wallet ~ '^0x[0-9a-f]{40}$'),
  original_address VARCHAR(42) CHECK (original_address ~ '^0x[0-9a-f]{40}$'),
  -- Decision: the chain is part of the key envelope's associated data, so it is stored.
  chain_id INTEGER NOT NULL DEFAULT 1,

  -- Stealth Address Details (EIP-5564)
  stealth_address VARCHAR(42) NOT NULL UNIQUE CHECK (stealth_address ~ '^0x[0-9a-f]{40}$'),
  -- Decision: VARCHAR(66) could not hold a 0x-prefixed compressed public key (2 + 66 chars);
  -- 132 holds an uncompressed one too.
  viewing_key VARCHAR(132),            -- SECRET: for viewing funds without spending
  spending_key_encrypted TEXT,         -- SECRET: sealed spending key (versioned envelope)
  ephemeral_public_key VARCHAR(132),

  -- Zero-Knowledge Components
  zk_proof_commitment VARCHAR(128) NOT NULL,
  shared_secret_hash VARCHAR(64),
  payment_reference VARCHAR(64),

  -- Address Lifecycle (Erratum E26: NUMERIC(38,18))
  is_used BOOLEAN NOT NULL DEFAULT false,
  first_use_tx_hash VARCHAR(66),
  total_received NUMERIC(38,18) DEFAULT 0,
  total_sent NUMERIC(38,18) DEFAULT 0,
  balance NUMERIC(38,18) DEFAULT 0,

  -- Security Features
  one_time_use BOOLEAN DEFAULT false,
  expiration_height BIGINT,  -- Blockchain height expiration
  time_lock_end TIMESTAMPTZ,

  -- Metadata
  generation_method VARCHAR(50) DEFAULT 'eip5564',
  entropy_source VARCHAR(100),
  metadata JSONB DEFAULT '{}'::jsonb,

  created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
  first_used_at TIMESTAMPTZ,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);
COMMENT ON COLUMN public.stealth_addresses.viewing_key IS
  'Secret. Readable only by the owner (RLS) and service_role (column grants).';
COMMENT ON COLUMN public.stealth_addresses.spending_key_encrypted IS
  'Secret (sealed). Readable only by the owner (RLS) and service_role (column grants).';

CREATE INDEX idx_stealth_addresses_wallet ON public.stealth_addresses(user_wallet);
-- Erratum E29: idx_stealth_addresses_stealth is not created, the UNIQUE constraint indexes it.
CREATE INDEX idx_stealth_addresses_used ON public.stealth_addresses(is_used, created_at);
CREATE INDEX idx_stealth_addresses_commitment ON public.stealth_addresses(zk_proof_commitment);
CREATE INDEX idx_stealth_addresses_metadata ON public.stealth_addresses USING gin(metadata);

CREATE TRIGGER stealth_addresses_set_updated_at
  BEFORE UPDATE ON public.stealth_addresses
  FOR EACH ROW EXECUTE FUNCTION public.set_updated_at();

ALTER TABLE public.stealth_addresses ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.stealth_addresses FORCE ROW LEVEL SECURITY;

CREATE POLICY stealth_addresses_select_own ON public.stealth_addresses
  FOR SELECT TO authenticated
  USING (user_wallet = (SELECT u.wallet_address FROM public.users u WHERE u.id = (SELECT auth.uid())));
CREATE POLICY stealth_addresses_select_all ON public.stealth_addresses
  FOR SELECT TO analytics_readonly, app_service_role
  USING (true);
CREATE POLICY stealth_addresses_insert_app ON public.stealth_addresses
  FOR INSERT TO app_service_role WITH CHECK (true);
CREATE POLICY stealth_addresses_update_app ON public.stealth_addresses
  FOR UPDATE TO app_service_role USING (true) WITH CHECK (true);

-- The default privileges of 001_auth.sql gave analytics_readonly SELECT on the whole table:
-- take it back and grant the non-key columns only.
REVOKE ALL ON public.stealth_addresses FROM analytics_readonly, app_service_role, anon, agent_executor;

GRANT SELECT ON public.stealth_addresses TO authenticated;  -- RLS: own rows only
GRANT SELECT, INSERT, UPDATE, DELETE ON public.stealth_addresses TO service_role;

GRANT SELECT (id, user_wallet, original_address, chain_id, stealth_address, ephemeral_public_key,
              zk_proof_commitment, shared_secret_hash, payment_reference, is_used,
              first_use_tx_hash, total_received, total_sent, balance, one_time_use,
              expiration_height, time_lock_end, generation_method, entropy_source, metadata,
              created_at, first_used_at, updated_at)
  ON public.stealth_addresses TO analytics_readonly, app_service_role;
-- app_service_role stores new addresses with their keys but cannot read the keys back
-- (so INSERT ... RETURNING must not name the key columns) nor change them.
GRANT INSERT ON public.stealth_addresses TO app_service_role;
GRANT UPDATE (original_address, is_used, first_use_tx_hash, total_received, total_sent, balance,
              one_time_use, expiration_height, time_lock_end, metadata, first_used_at)
  ON public.stealth_addresses TO app_service_role;
