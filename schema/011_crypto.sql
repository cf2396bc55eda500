-- 011_crypto.sql: what the crypto workflows (bindings/lua/enigma/deposits.lua, stealth.lua)
-- need from the schema.
--
-- Key column sizes: the seed's VARCHAR(66) could not hold a 0x-prefixed compressed public key
--   (2 + 66 = 68 characters). 007_stealth.sql already widened viewing_key and
--   ephemeral_public_key to VARCHAR(132); here they get CHECKs for what the runtime stores, so a
--   truncated or mangled key is refused by the database rather than discovered by a failed scan:
--   ephemeral_public_key: 0x + 33-byte compressed (or 65-byte uncompressed) point, lower case;
--   viewing_key:          0x + 32-byte private key, lower case.

ALTER TABLE public.stealth_addresses
  ADD CONSTRAINT stealth_addresses_ephemeral_public_key_format
    CHECK (ephemeral_public_key ~ '^0x(0[23][0-9a-f]{64}|04[0-9a-f]{128})$'),
  ADD CONSTRAINT stealth_addresses_viewing_key_format
    CHECK (viewing_key ~ '^0x[0-9a-f]{64}$');

-- EIP-5564 announces a view tag with each payment: the recipient's scan compares it after one
-- multiplication and one hash, and skips the rest of the work for 255 of 256 announcements.
ALTER TABLE public.stealth_addresses
  ADD COLUMN view_tag SMALLINT CHECK (view_tag BETWEEN 0 AND 255);
COMMENT ON COLUMN public.stealth_addresses.view_tag IS
  'EIP-5564 view tag (first byte of the hashed shared secret) of a payment announcement.';

-- The scan reads every announcement of a chain since a time.
CREATE INDEX idx_stealth_addresses_announcements
  ON public.stealth_addresses (chain_id, created_at)
  WHERE generation_method = 'eip5564' AND ephemeral_public_key IS NOT NULL;

-- The view tag is public data, like the ephemeral key: same column grants.
GRANT SELECT (view_tag) ON public.stealth_addresses TO analytics_readonly, app_service_role;

-- archive_old_deposits() moved completed deposits that were never withdrawn into the archive,
-- where a withdrawal could no longer find them: money a note still owns. Now only spent
-- (withdrawn) and failed deposits, and soft-deleted ones, are archived.
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
     WHERE (d.status IN ('withdrawn', 'failed')
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
  'Moves withdrawn/failed (and soft-deleted) deposits older than the interval to privacy_deposits_archive; unspent deposits stay withdrawable. Returns the count.';
