--- enigma.stealth: EIP-5564 stealth payments stored in stealth_addresses.
--
--   local reg = stealth.register{ user = "0x<wallet>", passphrase = "..." }   -- or master_key
--   local pay = stealth.pay{ from = "0x<payer wallet>", meta_address = reg.meta_address }
--   local found = stealth.scan{ viewing_key = k, spending_public_key = "0x02...", since = "2024-01-01" }
--
-- register stores a user's keys as one row (generation_method 'eip5564-meta'): the viewing key
-- in viewing_key (a secret column: owner and service_role only), the spending key sealed
-- (enigma.crypto.seal, bound to the row's address, the address of the spending key, and the
-- chain). The meta-address is in metadata.meta_address.
--
-- pay generates a stealth address for a meta-address and stores the announcement (stealth
-- address, ephemeral public key, view tag) as a row (generation_method 'eip5564') owned by the
-- payer, who generated it. The recipient is not recorded: finding it is what scan is for.
--
-- scan reads the announcements of a chain since a time and returns the recipient's, checked in
-- C over all CPUs; the view tag rejects 255 of 256 others after one multiplication.
--
-- Each takes `db` (default: one enigma.db.connect()). Bad data returns nil, message, code.
local enigma = require "enigma"
local workflow = require "enigma.workflow"

local crypto = enigma.crypto
local stealth = {}

local function hex_of_keccak(s) return crypto.hex(crypto.keccak256(s)) end

local function chain_of(opts)
  local chain_id = math.tointeger(opts.chain_id or 1)
  if not chain_id or chain_id <= 0 then error("chain_id must be a positive integer", 3) end
  return chain_id
end

--- register{ user, passphrase | master_key, [spending_key, viewing_key], chain_id,
--            opslimit, memlimit, db } -> { id, meta_address, address, spending_key, viewing_key }
function stealth.register(opts)
  assert(type(opts) == "table", "stealth.register{ user, ... } takes a table")
  local db = workflow.connection(opts)
  local user, err, code = workflow.address(opts.user, "user")
  if not user then return nil, err, code end
  local chain_id = chain_of(opts)

  local ok, keys = pcall(function()
    if opts.spending_key or opts.viewing_key then
      local spending, viewing = opts.spending_key, opts.viewing_key
      if type(spending) == "string" then spending = crypto.private_key(spending) end
      if type(viewing) == "string" then viewing = crypto.private_key(viewing) end
      return { spending_key = spending, viewing_key = viewing,
               meta_address = crypto.stealth.meta_address(spending, viewing) }
    end
    return crypto.stealth.keygen()
  end)
  if not ok then return workflow.failure(keys) end

  local address = keys.spending_key:address()
  local sealed
  ok, sealed = pcall(crypto.seal.wrap, keys.spending_key, {
    address = address, chain_id = chain_id, passphrase = opts.passphrase or nil,
    master_key = opts.master_key or nil, opslimit = opts.opslimit, memlimit = opts.memlimit,
  })
  if not ok then return workflow.failure(sealed) end

  local meta = crypto.stealth.parse_meta(keys.meta_address)
  local row, qerr, qcode = db:query([[
    INSERT INTO stealth_addresses (user_wallet, original_address, chain_id, stealth_address,
                                   viewing_key, spending_key_encrypted, zk_proof_commitment,
                                   generation_method, metadata)
    VALUES ($1, $1, $2, $3, $4, $5, $6, 'eip5564-meta',
            jsonb_build_object('meta_address', $7::text, 'spending_public_key', $8::text,
                               'viewing_public_key', $9::text))
    RETURNING id, created_at]],
    user, chain_id, address:lower(), keys.viewing_key, sealed, hex_of_keccak(keys.meta_address),
    keys.meta_address, meta.spending_public_key, meta.viewing_public_key)
  if not row then return nil, qerr, qcode end
  return {
    id = row[1].id, created_at = row[1].created_at, meta_address = keys.meta_address,
    address = address, spending_key = keys.spending_key, viewing_key = keys.viewing_key,
    spending_public_key = meta.spending_public_key,
  }
end

--- pay{ from, meta_address, chain_id, payment_reference, ephemeral_key, db }
---   -> { id, stealth_address, ephemeral_public_key, view_tag }
function stealth.pay(opts)
  assert(type(opts) == "table", "stealth.pay{ from, meta_address, ... } takes a table")
  local db = workflow.connection(opts)
  local from, err, code = workflow.address(opts.from, "from")
  if not from then return nil, err, code end
  if type(opts.meta_address) ~= "string" then error("stealth.pay: meta_address is required", 2) end
  local chain_id = chain_of(opts)

  local ok, p = pcall(crypto.stealth.generate, opts.meta_address, opts.ephemeral_key)
  if not ok then return workflow.failure(p) end
  local row, qerr, qcode = db:query([[
    INSERT INTO stealth_addresses (user_wallet, chain_id, stealth_address, ephemeral_public_key,
                                   view_tag, zk_proof_commitment, payment_reference,
                                   generation_method, one_time_use)
    VALUES ($1, $2, $3, $4, $5, $6, $7, 'eip5564', true)
    RETURNING id, created_at]],
    from, chain_id, p.stealth_address:lower(), p.ephemeral_public_key, p.view_tag,
    hex_of_keccak(crypto.unhex(p.ephemeral_public_key) .. crypto.unhex(p.stealth_address)),
    opts.payment_reference)
  if not row then return nil, qerr, qcode end
  p.id, p.created_at, p.chain_id = row[1].id, row[1].created_at, chain_id
  return p
end

--- scan{ viewing_key, spending_public_key, since, chain_id, threads, db }
---   -> list of { id, stealth_address, ephemeral_public_key, view_tag, created_at, payment_reference }
function stealth.scan(opts)
  assert(type(opts) == "table", "stealth.scan{ viewing_key, spending_public_key, since } takes a table")
  local db = workflow.connection(opts)
  if opts.viewing_key == nil or opts.spending_public_key == nil then
    error("stealth.scan: viewing_key and spending_public_key are required", 2)
  end
  -- Only what the check needs comes into Lua; the matches' other columns are read afterwards.
  local announcements, err, code = db:query([[
    SELECT id, stealth_address, ephemeral_public_key, view_tag
      FROM stealth_addresses
     WHERE generation_method = 'eip5564' AND ephemeral_public_key IS NOT NULL
       AND chain_id = $1 AND created_at >= coalesce($2::timestamptz, '-infinity')]],
    chain_of(opts), opts.since)
  if not announcements then return nil, err, code end
  local ok, hits = pcall(crypto.stealth.scan, opts.viewing_key, opts.spending_public_key,
                         announcements, opts.threads)
  if not ok then return workflow.failure(hits) end
  local ids = {}
  for i, index in ipairs(hits) do ids[i] = announcements[index].id end
  local found
  found, err, code = db:query([[
    SELECT id, stealth_address, ephemeral_public_key, view_tag, created_at, payment_reference
      FROM stealth_addresses WHERE id = ANY($1::uuid[])
     ORDER BY created_at, id]], ids)
  if not found then return nil, err, code end
  for _, a in ipairs(found) do a.stealth_address = crypto.checksum_address(a.stealth_address) end
  return found
end

return stealth
