-- The privacy workflows end to end, on the demo data:
--   1. Alice deposits 0.5 ETH and keeps the note (never printed, never stored);
--   2. the note withdraws to Bob, and a second try is refused as spent;
--   3. Bob registers stealth keys (spending key sealed under a passphrase),
--      Alice pays his meta-address, and Bob's scan finds the payment.
--
--   enigma run examples/privacy.lua
local enigma = require "enigma"
local deposits = require "enigma.deposits"
local stealth = require "enigma.stealth"

local ALICE = "0x1111111111111111111111111111111111111111"
local BOB = "0x2222222222222222222222222222222222222222"
local db <close> = assert(enigma.db.connect())

-- The note is a userdata in guarded memory, wiped when `note` goes out of scope (<close>);
-- note:text() would export it, to show the depositor once.
local note <close>, deposit = assert(deposits.create { db = db, wallet = ALICE, amount = "0.5" })
print(("deposit %s: %s ETH, anonymity set %d"):format(deposit.id, deposit.amount, deposit.anonymity_set))
print("the note stays in guarded memory: " .. tostring(note))

local withdrawal = assert(deposits.withdraw { db = db, note = note, recipient = BOB })
print(("withdrawn to %s in transaction %s"):format(withdrawal.recipient, withdrawal.transaction_id))
local again, why, code = deposits.withdraw { db = db, note = note, recipient = BOB }
assert(again == nil and code == "ESPENT")
print(("the same note again: %s (%s)"):format(why, code))

-- argon2id at libsodium's "interactive" cost: about 0.1 s and 64 MiB to seal or open.
local started = db:query("SELECT now() AS t")[1].t
local bob = assert(stealth.register { db = db, user = BOB, passphrase = "bob's passphrase" })
print("Bob's meta-address: " .. bob.meta_address)
local payment = assert(stealth.pay { db = db, from = ALICE, meta_address = bob.meta_address })
print(("Alice pays %s (view tag %d)"):format(payment.stealth_address, payment.view_tag))

local found = assert(stealth.scan { db = db, viewing_key = bob.viewing_key,
                                    spending_public_key = bob.spending_public_key, since = started })
for _, a in ipairs(found) do
  local key <close> = enigma.crypto.stealth.private_key(a.ephemeral_public_key, bob.viewing_key, bob.spending_key)
  print(("Bob's scan finds %s; its key is %s"):format(a.stealth_address, tostring(key)))
end
