-- enigma.crypto through Lua: the published vectors, the private-key userdata, and bad input.
-- Needs no database.
local enigma = require "enigma"
local cjson = require "cjson"
local crypto = enigma.crypto

local function read_json(path)
  local f = assert(io.open(path))
  local data = cjson.decode(f:read("a"))
  f:close()
  return data
end

--- Calls fn and returns the enigma.crypto.error object it raised (fails if it did not raise one).
local function crypto_error(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error")
  assert.are.equal("table", type(err), tostring(err))
  return err
end

local EIP5564 = read_json("spec/vectors/eip5564.json").vectors[1]

describe("enigma.crypto basics", function()
  it("computes Ethereum's Keccak-256 for the published vectors", function()
    for _, v in ipairs(read_json("spec/vectors/keccak256.json").vectors) do
      local digest = crypto.keccak256(v.input_utf8)
      assert.are.equal(32, #digest)
      assert.are.equal(v.keccak256, crypto.hex(digest))
    end
  end)

  it("round-trips hex, with and without 0x, either case", function()
    local bytes = "\0\1\127\128\255enigma"
    assert.are.equal("0x00017f80ff656e69676d61", crypto.hex(bytes))
    assert.are.equal(bytes, crypto.unhex(crypto.hex(bytes)))
    assert.are.equal(bytes, crypto.unhex("00017F80FF656E69676D61"))
    assert.are.equal("", crypto.unhex("0x"))
  end)

  it("rejects malformed hex, naming the problem", function()
    local err = crypto_error(crypto.unhex, "0x123")
    assert.are.equal("EHEX", err.code)
    assert.matches("odd number of digits", err.message)
    err = crypto_error(crypto.unhex, "0x12g4")
    assert.are.equal("EHEX", err.code)
    assert.matches("character 5 is 'g'", err.message)
    assert.is_true(enigma.error.is(err))
    assert.are.equal(err.message .. " (EHEX)", tostring(err))
  end)

  it("checks EIP-55 checksums", function()
    local want = EIP5564.expected.stealthAddress
    assert.are.equal(want, crypto.checksum_address(EIP5564.expected.stealthAddressLower))
    assert.are.equal(want, crypto.checksum_address(want))
    -- one character's case flipped: the checksum catches it
    local at = want:find("%u", 3) -- the first upper-case hex letter
    local typo = want:sub(1, at - 1) .. want:sub(at, at):lower() .. want:sub(at + 1)
    assert.are_not.equal(want, typo)
    local err = crypto_error(crypto.checksum_address, typo)
    assert.are.equal("ECHECKSUM", err.code)
    assert.are.equal("ELENGTH", crypto_error(crypto.checksum_address, want:sub(1, -2)).code)
    assert.are.equal("EFORMAT", crypto_error(crypto.checksum_address, want:sub(3)).code)
  end)

  it("compares in constant time and draws random bytes", function()
    assert.is_true(crypto.equal("abc", "abc"))
    assert.is_false(crypto.equal("abc", "abd"))
    assert.is_false(crypto.equal("abc", "abcd"))
    local a, b = crypto.random(32), crypto.random(32)
    assert.are.equal(32, #a)
    assert.are_not.equal(a, b)
  end)
end)

describe("private keys", function()
  local hex = EIP5564.inputs.spendingPrivateKey

  it("export only on request, and tostring is redacted", function()
    local key = crypto.private_key(hex)
    assert.are.equal(hex, key:hex())
    assert.are.equal(EIP5564.derived_keys.spendingPublicKey, key:public_key())
    local shown = tostring(key)
    assert.matches("redacted", shown)
    assert.is_nil(shown:find(hex:sub(3), 1, true))
    assert.is_nil(shown:find(hex:sub(3, 18), 1, true))
    assert.is_nil(shown:lower():find(hex:sub(3, 18), 1, true))
  end)

  it("are wiped by wipe(), __close and __gc, and refuse use afterwards", function()
    local key = crypto.private_key(hex)
    key:wipe()
    assert.has_error(function() key:hex() end, "attempt to use a wiped private key")
    assert.matches("wiped", tostring(key))
    local closed
    do
      local k <close> = crypto.private_key(hex)
      closed = k
    end
    assert.has_error(function() closed:public_key() end, "attempt to use a wiped private key")
    -- the metatable itself (and so the methods) is not reachable from a script
    assert.are.equal("enigma.crypto.key", getmetatable(crypto.generate_key()))
  end)

  it("reject invalid scalars", function()
    assert.are.equal("EKEY", crypto_error(crypto.private_key, "0x" .. ("00"):rep(32)).code)
    local n = "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"
    assert.are.equal("EKEY", crypto_error(crypto.private_key, n).code)
    assert.are.equal("ELENGTH", crypto_error(crypto.private_key, "0x1234").code)
  end)
end)

describe("EIP-5564 stealth addresses", function()
  local v = EIP5564
  local spending = crypto.private_key(v.inputs.spendingPrivateKey)
  local viewing = crypto.private_key(v.inputs.viewingPrivateKey)

  it("derives the published meta-address", function()
    assert.are.equal(v.derived_keys.stealthMetaAddressURI, crypto.stealth.meta_address(spending, viewing))
    local meta = crypto.stealth.parse_meta(v.derived_keys.stealthMetaAddressURI)
    assert.are.equal(v.derived_keys.spendingPublicKey, meta.spending_public_key)
    assert.are.equal(v.derived_keys.viewingPublicKey, meta.viewing_public_key)
  end)

  it("generates the published stealth address from the given ephemeral key", function()
    local p = crypto.stealth.generate(v.derived_keys.stealthMetaAddressURI, v.inputs.ephemeralPrivateKey)
    assert.are.equal(v.expected.stealthAddress, p.stealth_address)
    assert.are.equal(v.expected.ephemeralPublicKey, p.ephemeral_public_key)
    assert.are.equal(tonumber(v.expected.viewTag), p.view_tag)
  end)

  it("checks with and without the view tag, and rejects a wrong one", function()
    local e = v.expected
    local spend_pub = v.derived_keys.spendingPublicKey
    assert.is_true(crypto.stealth.check(e.stealthAddress, e.ephemeralPublicKey, viewing, spend_pub,
                                        tonumber(e.viewTag)))
    assert.is_true(crypto.stealth.check(e.stealthAddress, e.ephemeralPublicKey, viewing, spend_pub))
    assert.is_false(crypto.stealth.check(e.stealthAddress, e.ephemeralPublicKey, viewing, spend_pub,
                                         tonumber(e.wrongViewTagUsed)))
    -- keys given as hex strings work the same
    assert.is_true(crypto.stealth.check(e.stealthAddressLower, e.ephemeralPublicKey,
                                        v.inputs.viewingPrivateKey, spend_pub))
  end)

  it("derives the published stealth private key", function()
    local key = crypto.stealth.private_key(v.expected.ephemeralPublicKey, viewing, spending)
    assert.are.equal(v.expected.stealthPrivateKey, key:hex())
    assert.are.equal(v.expected.stealthAddress, key:address())
    assert.matches("redacted", tostring(key))
  end)

  it("round-trips fresh keys", function()
    for _ = 1, 5 do
      local keys = crypto.stealth.keygen()
      assert.matches("^st:eth:0x" .. ("[0-9a-f]"):rep(132) .. "$", keys.meta_address)
      local p = crypto.stealth.generate(keys.meta_address)
      assert.matches("^0x0[23]" .. ("[0-9a-f]"):rep(64) .. "$", p.ephemeral_public_key)
      assert.is_true(p.view_tag >= 0 and p.view_tag <= 255)
      assert.is_true(crypto.stealth.check(p.stealth_address, p.ephemeral_public_key, keys.viewing_key,
                                          keys.spending_key:public_key(), p.view_tag))
      local other = crypto.stealth.keygen()
      assert.is_false(crypto.stealth.check(p.stealth_address, p.ephemeral_public_key, other.viewing_key,
                                           other.spending_key:public_key()))
      local key = crypto.stealth.private_key(p.ephemeral_public_key, keys.viewing_key, keys.spending_key)
      assert.are.equal(p.stealth_address, key:address())
    end
  end)

  it("rejects malformed meta-addresses and public keys", function()
    local uri = v.derived_keys.stealthMetaAddressURI
    local cases = {
      { uri:sub(8), "EFORMAT" },                           -- no st:eth: prefix
      { uri:sub(1, -2), "EFORMAT" },                       -- 131 hex digits
      { uri:sub(1, -2) .. "z", "EFORMAT" },                -- not hex
      { uri:sub(1, 9) .. "05" .. uri:sub(12), "EFORMAT" }, -- no such point prefix
    }
    for _, case in ipairs(cases) do
      local err = crypto_error(crypto.stealth.parse_meta, case[1])
      assert.are.equal(case[2], err.code, case[1])
      assert.is_true(#err.message > 10)
    end
    -- x = 5 is not the x-coordinate of any point on secp256k1
    local bad_point = "0x02" .. ("0"):rep(63) .. "5"
    local err = crypto_error(crypto.public_key, bad_point)
    assert.are.equal("EKEY", err.code)
    assert.are.equal("ELENGTH", crypto_error(crypto.public_key, "0x02" .. ("11"):rep(31)).code)
    local e = v.expected
    err = crypto_error(crypto.stealth.check, e.stealthAddress, bad_point, viewing,
                       v.derived_keys.spendingPublicKey)
    assert.are.equal("EKEY", err.code)
  end)

  it("scans announcements for the recipient's, in C", function()
    local keys = crypto.stealth.keygen()
    local list, mine = {}, {}
    for i = 1, 300 do
      local p
      if i % 37 == 0 then
        p = crypto.stealth.generate(keys.meta_address)
        mine[#mine + 1] = i
      else
        p = crypto.stealth.generate(crypto.stealth.keygen().meta_address)
      end
      list[i] = { stealth_address = p.stealth_address, ephemeral_public_key = p.ephemeral_public_key,
                  view_tag = p.view_tag }
    end
    list[5].ephemeral_public_key = "0x05" .. ("ab"):rep(32)  -- someone else's garbage
    for _, threads in ipairs { 1, 2 } do
      local found, invalid = crypto.stealth.scan(keys.viewing_key, keys.spending_key:public_key(), list,
                                                 threads)
      assert.are.same(mine, found)
      assert.are.equal(1, invalid)
    end
  end)
end)

describe("deposit notes", function()
  it("round-trip through their text form", function()
    local note = crypto.note.new { amount = "1.50", token = ("0x" .. ("ab"):rep(20)), chain_id = 10 }
    assert.are.equal("1.5", note:amount())
    assert.are.equal(10, note:chain_id())
    local text = note:text()
    assert.matches("^enigma%-note%-v1%-", text)
    local back = crypto.note.parse(text)
    assert.are.equal(note:commitment(), back:commitment())
    assert.are.equal(note:nullifier_hash(), back:nullifier_hash())
    assert.are_not.equal(note:commitment(), note:nullifier_hash())
    assert.matches("^0x" .. ("[0-9a-f]"):rep(64) .. "$", note:commitment())
    assert.matches("redacted", tostring(note))
    assert.is_nil(tostring(note):find(text:sub(-40), 1, true))
  end)

  it("detect a mistyped note", function()
    local text = crypto.note.new({ amount = 2 }):text()
    local secret_at = #text - 20 -- inside the nullifier and secret
    local c = text:sub(secret_at, secret_at)
    local typo = text:sub(1, secret_at - 1) .. (c == "a" and "b" or "a") .. text:sub(secret_at + 1)
    assert.are.equal("ECHECKSUM", crypto_error(crypto.note.parse, typo).code)
    assert.are.equal("EFORMAT", crypto_error(crypto.note.parse, text:sub(1, 40)).code)
    assert.are.equal("EFORMAT", crypto_error(crypto.note.parse, "hello").code)
  end)

  it("refuse amounts that are not amounts", function()
    for _, amount in ipairs { "0", "-1", "1e5", "abc", "1.0000000000000000001" } do
      assert.are.equal("EFORMAT", crypto_error(crypto.note.new, { amount = amount }).code, amount)
    end
    assert.has_error(function() crypto.note.new { amount = 0.1 } end)
  end)
end)

describe("sealed keys", function()
  local address = EIP5564.expected.stealthAddress
  local light = { address = address, chain_id = 1, passphrase = "correct horse", opslimit = 1,
                  memlimit = 8192 }

  local function with(t, changes)
    local copy = {}
    for k, val in pairs(t) do copy[k] = val end
    for k, val in pairs(changes) do copy[k] = val end
    return copy
  end

  it("open with the passphrase, address and chain they were sealed with", function()
    local key = crypto.generate_key()
    local envelope = crypto.seal.wrap(key, light)
    assert.matches("^enigma%-seal%-v1:", envelope)
    assert.is_nil(envelope:find(key:hex():sub(3), 1, true))
    assert.are.equal(key:hex(), crypto.seal.open(envelope, light):hex())
    local info = crypto.seal.inspect(envelope)
    assert.are.same({ kdf = "argon2id", opslimit = 1, memlimit = 8192 }, info)

    assert.are.equal("EAUTH", crypto_error(crypto.seal.open, envelope, with(light, { passphrase = "wrong" })).code)
    assert.are.equal("EAUTH", crypto_error(crypto.seal.open, envelope,
      with(light, { address = EIP5564.derived_keys.spendingPublicKey:sub(1, 42) })).code)
    assert.are.equal("EAUTH", crypto_error(crypto.seal.open, envelope, with(light, { chain_id = 2 })).code)
    -- a character changed in the middle of the envelope
    local i = #envelope // 2
    local tampered = envelope:sub(1, i - 1) .. (envelope:sub(i, i) == "A" and "B" or "A") .. envelope:sub(i + 1)
    local err = crypto_error(crypto.seal.open, tampered, light)
    assert.is_true(err.code == "EAUTH" or err.code == "EFORMAT", err.code)
  end)

  it("use a master key file only when only its owner can read it", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir -m 700 " .. dir))
    local path = dir .. "/master.key"
    local f = assert(io.open(path, "w"))
    f:write(crypto.hex(crypto.random(32)):sub(3), "\n")
    f:close()
    assert(os.execute("chmod 600 " .. path))
    local master = crypto.seal.master_key(path)
    assert.matches("redacted", tostring(master))
    local key = crypto.generate_key()
    local opts = { address = address, master_key = master }
    local envelope = crypto.seal.wrap(key, opts)
    assert.are.equal(key:hex(), crypto.seal.open(envelope, opts):hex())
    assert.are.equal("master_key", crypto.seal.inspect(envelope).kdf)
    -- a passphrase cannot open a master-key envelope
    assert.are.equal("EAUTH", crypto_error(crypto.seal.open, envelope, light).code)

    assert(os.execute("chmod 644 " .. path))
    local err = crypto_error(crypto.seal.master_key, path)
    assert.are.equal("EKEYFILE", err.code)
    assert.matches("group or others", err.message)
    os.execute("rm -rf " .. dir)
  end)
end)

describe("keystore v3", function()
  local vectors = read_json("spec/vectors/keystore_v3.json").vectors
  local function vector(id)
    for _, v in ipairs(vectors) do if v.id == id then return v end end
    error("no vector " .. id)
  end

  it("decrypts the published PBKDF2 and scrypt vectors", function()
    for _, id in ipairs { "go-ethereum/wikipage_test_vector_pbkdf2", "go-ethereum/31_byte_key" } do
      local v = vector(id)
      local key = crypto.keystore.decrypt(cjson.encode(v.json), v.password)
      assert.are.equal(("0"):rep(64 - #v.priv) .. v.priv, key:hex():sub(3))
    end
  end)

  it("refuses the broken ethereum.org scrypt vector and a wrong password", function()
    local v = vector("ethereum-org/scrypt")
    assert.are.equal("EAUTH", crypto_error(crypto.keystore.decrypt, cjson.encode(v.json), v.password).code)
    v = vector("go-ethereum/31_byte_key")
    local err = crypto_error(crypto.keystore.decrypt, cjson.encode(v.json), "not the password")
    assert.are.equal("EAUTH", err.code)
  end)

  it("round-trips its own files", function()
    local key = crypto.generate_key()
    for _, opts in ipairs { { kdf = "scrypt", n = 1024, r = 8, p = 1 }, { kdf = "pbkdf2", c = 1000 } } do
      local text = crypto.keystore.encrypt(key, "pw", opts)
      local doc = cjson.decode(text)
      assert.are.equal(3, doc.version)
      assert.are.equal(key:address():lower(), "0x" .. doc.address)
      assert.is_nil(text:find(key:hex():sub(3), 1, true))
      assert.are.equal(key:hex(), crypto.keystore.decrypt(text, "pw"):hex())
    end
  end)

  it("rejects malformed files, naming the field", function()
    assert.are.equal("EFORMAT", crypto_error(crypto.keystore.decrypt, "not json", "pw").code)
    local v = vector("go-ethereum/31_byte_key")
    local doc = cjson.decode(cjson.encode(v.json))
    doc.crypto.cipherparams.iv = "00"
    local err = crypto_error(crypto.keystore.decrypt, cjson.encode(doc), v.password)
    assert.are.equal("EFORMAT", err.code)
    assert.matches("iv", err.message)
  end)
end)
