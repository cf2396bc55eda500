-- Stealth payments stored in stealth_addresses: register, pay, scan (needs: cluster).
local enigma = require "enigma"
local cjson = require "cjson"
local stealth = require "enigma.stealth"
local crypto = enigma.crypto

local ALICE_WALLET = "0x1111111111111111111111111111111111111111"
local BOB_WALLET = "0x2222222222222222222222222222222222222222"
local LIGHT = { opslimit = 1, memlimit = 8192 } -- argon2id cost low enough for tests

local function vector()
  local f = assert(io.open("spec/vectors/eip5564.json"))
  local v = cjson.decode(f:read("a")).vectors[1]
  f:close()
  return v
end

describe("enigma.stealth", function()
  local db
  setup(function()
    db = assert(enigma.db.connect())
    -- rows with the vector's fixed keys from an earlier run of this spec
    local v = vector()
    db:exec("DELETE FROM stealth_addresses WHERE stealth_address IN ($1, $2)",
            crypto.private_key(v.inputs.spendingPrivateKey):address():lower(), v.expected.stealthAddressLower)
  end)
  teardown(function() db:close() end)

  local function register(user, extra)
    local opts = { db = db, user = user, passphrase = "pass " .. user, opslimit = LIGHT.opslimit,
                   memlimit = LIGHT.memlimit, chain_id = 1 }
    for k, v in pairs(extra or {}) do opts[k] = v end
    return assert(stealth.register(opts))
  end

  it("registers a user's keys with the spending key sealed to the row", function()
    local reg = register(ALICE_WALLET)
    local row = db:query("SELECT * FROM stealth_addresses WHERE id = $1", reg.id)[1]
    assert.are.equal(ALICE_WALLET, row.user_wallet)
    assert.are.equal(reg.address:lower(), row.stealth_address)
    assert.are.equal(reg.meta_address, row.metadata.meta_address)
    assert.are.equal(reg.viewing_key:hex(), row.viewing_key)
    assert.matches("^enigma%-seal%-v1:", row.spending_key_encrypted)
    assert.is_nil(row.spending_key_encrypted:find(reg.spending_key:hex():sub(3), 1, true))
    local opened = crypto.seal.open(row.spending_key_encrypted,
      { address = row.stealth_address, chain_id = row.chain_id, passphrase = "pass " .. ALICE_WALLET })
    assert.are.equal(reg.spending_key, opened)
    -- bound to its row: another address cannot open it
    local ok, err = pcall(crypto.seal.open, row.spending_key_encrypted,
      { address = BOB_WALLET, chain_id = row.chain_id, passphrase = "pass " .. ALICE_WALLET })
    assert.is_false(ok)
    assert.are.equal("EAUTH", err.code)
  end)

  it("registers given keys under a master key", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local path = dir .. "/master.key"
    local f = assert(io.open(path, "w"))
    f:write(crypto.hex(crypto.random(32)), "\n")
    f:close()
    assert(os.execute("chmod 600 " .. path))
    local master = crypto.seal.master_key(path)
    local v = vector()
    local reg = register(BOB_WALLET, { passphrase = false, master_key = master,
                                       spending_key = v.inputs.spendingPrivateKey,
                                       viewing_key = v.inputs.viewingPrivateKey })
    assert.are.equal(v.derived_keys.stealthMetaAddressURI, reg.meta_address)
    local sealed = db:query("SELECT spending_key_encrypted FROM stealth_addresses WHERE id = $1", reg.id)[1]
    local key = crypto.seal.open(sealed.spending_key_encrypted, { address = reg.address, master_key = master })
    assert.are.equal(v.inputs.spendingPrivateKey, key:hex())
    os.execute("rm -rf " .. dir)
  end)

  it("stores a payment announcement that the columns hold in full", function()
    local v = vector()
    local p = assert(stealth.pay { db = db, from = ALICE_WALLET, meta_address = v.derived_keys.stealthMetaAddressURI,
                                   ephemeral_key = v.inputs.ephemeralPrivateKey, payment_reference = "invoice-7" })
    assert.are.equal(v.expected.stealthAddress, p.stealth_address)
    local row = db:query("SELECT * FROM stealth_addresses WHERE id = $1", p.id)[1]
    assert.are.equal(v.expected.ephemeralPublicKey, row.ephemeral_public_key)
    assert.are.equal(68, #row.ephemeral_public_key)
    assert.are.equal(tonumber(v.expected.viewTag), row.view_tag)
    assert.are.equal(v.expected.stealthAddressLower, row.stealth_address)
    assert.are.equal(enigma.null, row.original_address) -- the recipient is not recorded
    -- the same announcement twice is refused by the UNIQUE stealth address
    local again, _, code = stealth.pay { db = db, from = ALICE_WALLET, meta_address = v.derived_keys.stealthMetaAddressURI,
                                         ephemeral_key = v.inputs.ephemeralPrivateKey }
    assert.is_nil(again)
    assert.are.equal("23505", code)
  end)

  it("refuses malformed keys at the database too", function()
    local _, err, code = db:exec([[INSERT INTO stealth_addresses (user_wallet, stealth_address, ephemeral_public_key,
                                     zk_proof_commitment) VALUES ($1, $2, $3, 'x')]],
                                  ALICE_WALLET, "0x" .. ("ab"):rep(20), "0x02" .. ("ab"):rep(31))
    assert.are.equal("23514", code, err)
    local bad, msg, c = stealth.pay { db = db, from = ALICE_WALLET, meta_address = "st:eth:0x1234" }
    assert.is_nil(bad)
    assert.are.equal("EFORMAT", c)
    assert.is_string(msg)
  end)

  it("scans for a user's payments among everyone's", function()
    local since = db:query("SELECT now() AS t")[1].t
    local carol = register("0x" .. ("c0"):rep(20))
    local dave = register("0x" .. ("d0"):rep(20))
    local mine = {}
    for i = 1, 12 do
      local to = (i % 4 == 0) and carol or dave
      local p = assert(stealth.pay { db = db, from = ALICE_WALLET, meta_address = to.meta_address })
      if to == carol then mine[#mine + 1] = p.stealth_address end
    end
    local found = assert(stealth.scan { db = db, viewing_key = carol.viewing_key,
                                        spending_public_key = carol.spending_public_key, since = since })
    local got = {}
    for i, a in ipairs(found) do got[i] = a.stealth_address end
    assert.are.same(mine, got)
    -- each one is spendable with the key the recipient derives
    for _, a in ipairs(found) do
      local key = crypto.stealth.private_key(a.ephemeral_public_key, carol.viewing_key, carol.spending_key)
      assert.are.equal(a.stealth_address, key:address())
    end
    assert.are.equal(9, #assert(stealth.scan { db = db, viewing_key = dave.viewing_key,
                                               spending_public_key = dave.spending_public_key, since = since }))
    local later = assert(stealth.scan { db = db, viewing_key = carol.viewing_key, since = "2999-01-01T00:00:00Z",
                                        spending_public_key = carol.spending_public_key })
    assert.are.equal(0, #later)
  end)

  it("sends a private key as a query parameter without making a Lua string of it", function()
    local key = crypto.generate_key()
    assert.are.equal(key:hex(), db:query("SELECT $1::text AS k", key)[1].k)
    key:wipe()
    assert.has_error(function() db:query("SELECT $1::text AS k", key) end, "attempt to use a wiped private key")
  end)
end)
