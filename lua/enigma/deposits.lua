--- enigma.deposits: privacy-pool deposits and withdrawals with notes.
--
--   local note, deposit = deposits.create{ wallet = "0x...", amount = "1.5",
--       token = "0x00..00", token_symbol = "ETH", chain_id = 1, privacy_level = "standard" }
--   show_once(note:text())                     -- the depositor keeps the text, nobody else
--   local withdrawal = deposits.withdraw{ note = note, recipient = "0x..." }   -- or the text
--   note:close()                               -- or `local note <close> = ...`
--
-- create inserts the privacy_deposits row (with the note's commitment and nullifier hash) and
-- a pending privacy_deposit transaction, and returns the note: the only copy there will ever
-- be. The note is an enigma.crypto.note, a userdata holding its secret in guarded memory:
-- tostring is redacted, it has no JSON or SQL form and does not concatenate, and its text
-- leaves only through note:text(). close() (also __close and __gc) wipes it. withdraw takes
-- the note or its text, recomputes both hashes, checks them against the stored deposit, marks
-- it withdrawn and records a pending privacy_withdrawal transaction; it does not close the
-- caller's note. Each runs in one database transaction; the deposit row is locked (FOR UPDATE)
-- before its status is read, so of two concurrent withdrawals of one note exactly one succeeds.
--
-- Both take `db` (a connection; default: enigma.db.connect() once). Bad data (a mistyped
-- note, a spent note, a malformed address) returns nil, message, code; misuse (a closed note,
-- a note that is neither a note nor text) raises.
-- Codes: EFORMAT, ECHECKSUM (the note), EADDRESS, EUNKNOWN (no deposit has this note),
-- EMISMATCH (the note's amount, token or chain differ from the deposit's), ESPENT, EFAILED,
-- ELOCKED (withdrawal_available_at is in the future).
local enigma = require "enigma"
local workflow = require "enigma.workflow"

local crypto = enigma.crypto
local deposits = {}

local TIERS = { standard = true, advanced = true, maximum = true }
local ZERO_TOKEN = "0x0000000000000000000000000000000000000000"

function deposits.create(opts)
  assert(type(opts) == "table", "deposits.create{ wallet, amount, ... } takes a table")
  local db = workflow.connection(opts)
  local wallet, err, code = workflow.address(opts.wallet, "wallet")
  if not wallet then return nil, err, code end
  local token
  token, err, code = workflow.address(opts.token or ZERO_TOKEN, "token")
  if not token then return nil, err, code end
  local symbol = opts.token_symbol or (token == ZERO_TOKEN and "ETH" or nil)
  if not symbol then error("deposits.create: token_symbol is required for a token other than ETH", 2) end
  local tier = opts.privacy_level or "standard"
  if not TIERS[tier] then
    return nil, ("privacy_level %q is not one of standard, advanced, maximum"):format(tier), "EFORMAT"
  end
  local chain_id = math.tointeger(opts.chain_id or 1)
  if not chain_id or chain_id <= 0 then error("deposits.create: chain_id must be a positive integer", 2) end

  local ok, note = pcall(crypto.note.new, { amount = opts.amount, token = token, chain_id = chain_id })
  if not ok then return workflow.failure(note) end
  local commitment, nullifier_hash = note:hashes()
  local amount = note:amount()

  -- The note is wiped if the deposit is not made: nobody could use it.
  local made, deposit = pcall(db.transaction, db, function(tx)
    -- The anonymity set is the live deposits of the same pool (chain, token, tier), this one included.
    local row = tx:query([[
      INSERT INTO privacy_deposits (user_wallet, chain_id, amount, token_address, token_symbol,
                                    privacy_level, anonymity_set, commitment_hash, nullifier_hash)
      SELECT $1::text, $2::int, $3::numeric, $4::text, $5::text, $6::text, 1 + count(*), $7::text, $8::text
        FROM privacy_deposits
       WHERE chain_id = $2::int AND token_address = $4::text AND privacy_level = $6::text
         AND status IN ('pending', 'processing', 'mixed', 'completed')
      RETURNING id, anonymity_set, created_at]],
      wallet, chain_id, amount, token, symbol, tier, commitment, nullifier_hash)[1]
    tx:exec([[
      INSERT INTO transactions (user_id, user_wallet, tx_type, category, amount, token_address,
                                token_symbol, privacy_level, zk_proof_hash, status, metadata)
      VALUES ((SELECT id FROM users WHERE wallet_address = $1), $1, 'privacy_deposit', 'privacy',
              $2, $3, $4, transaction_privacy_level($5), $6, 'pending', jsonb_build_object('chain_id', $7::int))]],
      wallet, amount, token, symbol, tier, commitment, chain_id)
    return row
  end)
  if not made then
    note:close()
    error(deposit, 0)
  end
  return note, {
    id = deposit.id, commitment = commitment, amount = amount, token = token, chain_id = chain_id,
    anonymity_set = deposit.anonymity_set, created_at = deposit.created_at,
  }
end

-- Why a note found no live deposit: spent long ago (archived), or never deposited.
local function missing(tx, nullifier_hash)
  local archived = tx:query("SELECT status FROM privacy_deposits_archive WHERE nullifier_hash = $1",
                            nullifier_hash)[1]
  if archived and archived.status == "withdrawn" then
    return nil, "this note has already been spent", "ESPENT"
  end
  return nil, "no deposit matches this note", "EUNKNOWN"
end

function deposits.withdraw(opts)
  assert(type(opts) == "table", "deposits.withdraw{ note, recipient } takes a table")
  local given = opts.note
  if type(given) ~= "string" and type(given) ~= "userdata" then
    error("deposits.withdraw: note (an enigma.crypto.note or its text) is required", 2)
  end
  local db = workflow.connection(opts)
  local recipient, err, code = workflow.address(opts.recipient, "recipient")
  if not recipient then return nil, err, code end

  -- A closed note, or a userdata that is no note, raises here: misuse, not bad data.
  local ok, note = pcall(crypto.note.of, given)
  if not ok then return workflow.failure(note) end
  local commitment, nullifier_hash = note:hashes()
  if note ~= given then note:close() end -- parsed from the text: ours to wipe

  return db:transaction(function(tx)
    local d = tx:query([[
      SELECT id, commitment_hash, status, amount, token_address, token_symbol, privacy_level,
             coalesce(withdrawal_available_at > now(), false) AS locked
        FROM privacy_deposits
       WHERE nullifier_hash = $1
         FOR UPDATE]], nullifier_hash)[1]
    if not d then return missing(tx, nullifier_hash) end
    if not crypto.equal(d.commitment_hash, commitment) then
      return nil, "the note does not match its deposit: its amount, token or chain differ", "EMISMATCH"
    end
    if d.status == "withdrawn" then return nil, "this note has already been spent", "ESPENT" end
    if d.status == "failed" then return nil, "the deposit failed; there is nothing to withdraw", "EFAILED" end
    if d.locked then return nil, "the deposit cannot be withdrawn yet (withdrawal_available_at)", "ELOCKED" end

    tx:exec("UPDATE privacy_deposits SET status = 'withdrawn', processed_at = now() WHERE id = $1", d.id)
    local t = tx:query([[
      INSERT INTO transactions (user_id, user_wallet, tx_type, category, amount, token_address,
                                token_symbol, privacy_level, nullifier_hash, status)
      VALUES ((SELECT id FROM users WHERE wallet_address = $1), $1, 'privacy_withdrawal', 'privacy',
              $2, $3, $4, transaction_privacy_level($5), $6, 'pending')
      RETURNING id, created_at]],
      recipient, d.amount, d.token_address, d.token_symbol, d.privacy_level, nullifier_hash)[1]
    return {
      transaction_id = t.id, created_at = t.created_at, recipient = recipient,
      amount = d.amount, token = d.token_address, token_symbol = d.token_symbol,
    }
  end)
end

return deposits
