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

-- scan reads every field of an announcement as check reads its argument: the same encodings of
-- a key, the same addresses, the same view tags; what check refuses, scan counts malformed.
describe("stealth scan and check agree", function()
  local keys = crypto.stealth.keygen()
  local spending_pub = keys.spending_key:public_key()
  local decimal = enigma.decimal

  local function scan(list) return crypto.stealth.scan(keys.viewing_key, spending_pub, list, 1) end
  -- check's verdict on one announcement: true, false, or "refused" (it raised)
  local function check(a)
    local ok, r = pcall(crypto.stealth.check, a.stealth_address, a.ephemeral_public_key, keys.viewing_key,
                        spending_pub, a.view_tag)
    if not ok then return "refused" end
    return r
  end
  -- scan's verdict on one announcement, in the same terms
  local function scanned(a)
    local found, invalid = scan { a }
    if invalid == 1 then return "refused" end
    return #found == 1
  end
  local function mine()
    local p = crypto.stealth.generate(keys.meta_address)
    return { stealth_address = p.stealth_address, ephemeral_public_key = p.ephemeral_public_key,
             view_tag = p.view_tag }
  end
  local function with(a, field, value)
    local copy = { stealth_address = a.stealth_address, ephemeral_public_key = a.ephemeral_public_key,
                   view_tag = a.view_tag }
    copy[field] = value
    return copy
  end

  it("re-encodes real keys: the uncompressed form is the same point", function()
    local g = crypto.private_key("0x" .. ("00"):rep(31) .. "01"):public_key()
    assert.are.equal("0x0479be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
                     .. "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8",
                     crypto.public_key(g, "uncompressed"))
    for _ = 1, 10 do
      local pub = crypto.generate_key():public_key()
      local full = crypto.public_key(pub, "uncompressed")
      assert.matches("^0x04" .. ("[0-9a-f]"):rep(128) .. "$", full)
      assert.are.equal(pub, crypto.public_key(full))
      assert.are.equal(pub, crypto.public_key(pub, "compressed"))
    end
    assert.has_error(function() crypto.public_key(g, "hybrid") end)
  end)

  it("finds an announcement whatever encoding of its ephemeral key check accepts", function()
    local list, want = {}, {}
    for i = 1, 12 do
      local a = mine()
      local key = a.ephemeral_public_key
      local full = crypto.public_key(key, "uncompressed")
      local forms = { key, full, full:sub(3), full:upper():gsub("^0X", "0x"), "0X" .. full:sub(3):upper(),
                      key:sub(3) }
      a.ephemeral_public_key = forms[(i - 1) % #forms + 1]
      if i % 3 == 0 then a.view_tag = nil end -- the full check, too
      assert.is_true(check(a), a.ephemeral_public_key)
      list[#list + 1] = a
      want[#want + 1] = #list
      list[#list + 1] = with(mine(), "stealth_address", crypto.stealth.generate(crypto.stealth.keygen().meta_address).stealth_address)
    end
    local found, invalid = scan(list)
    assert.are.same(want, found)
    assert.are.equal(0, invalid)
    -- the threaded scan agrees
    local big = {}
    for i = 1, 300 do big[i] = list[(i - 1) % #list + 1] end
    found, invalid = crypto.stealth.scan(keys.viewing_key, spending_pub, big, 2)
    assert.are.equal(150, #found)
    assert.are.equal(0, invalid)
  end)

  it("counts malformed the keys check refuses, and only those", function()
    local a = mine()
    local key = a.ephemeral_public_key
    local full = crypto.public_key(key, "uncompressed")
    local y_last = tonumber(full:sub(-2), 16)
    local bad = {
      ("0x%02x"):format(6 + y_last % 2) .. full:sub(5),           -- hybrid: the same point, refused
      full:sub(1, -3) .. ("%02x"):format(y_last ~ 1),              -- y off the curve
      "0x04" .. key:sub(5),                                        -- uncompressed prefix, 33 bytes
      "0x05" .. key:sub(5),                                        -- no such prefix
      full:sub(1, -3),                                             -- 64 bytes
      full .. "00",                                                -- 66 bytes
      key .. "0",                                                  -- odd digits
      key:sub(1, -2) .. "g",                                       -- not hex
      "0x02" .. ("0"):rep(63) .. "5",                              -- x with no y
      "", "0x",
      42, true, {}, crypto.generate_key(),                         -- not text
    }
    local list = {}
    for i, k in ipairs(bad) do
      list[i] = with(a, "ephemeral_public_key", k)
      assert.are.equal("refused", check(list[i]), tostring(k))
    end
    list[#list + 1] = with(a, "ephemeral_public_key", nil)
    local found, invalid = scan(list)
    assert.are.same({}, found)
    assert.are.equal(#list, invalid)
    -- the good ones beside them are still found
    list[#list + 1] = a
    list[#list + 1] = with(a, "ephemeral_public_key", full)
    found, invalid = scan(list)
    assert.are.same({ #list - 1, #list }, found)
    assert.are.equal(#list - 2, invalid)
  end)

  it("reads addresses as check does", function()
    local a = mine()
    local lower = a.stealth_address:lower()
    local goods = { a.stealth_address, lower, "0x" .. lower:sub(3):upper() }
    for _, address in ipairs(goods) do
      local b = with(a, "stealth_address", address)
      assert.is_true(check(b), address)
      assert.is_true(scanned(b), address)
    end
    -- a mixed-case address with a broken checksum, no 0x, wrong lengths, not text
    local at = a.stealth_address:find("[a-fA-F]", 3)
    local c = a.stealth_address:sub(at, at)
    local flipped = a.stealth_address:sub(1, at - 1) .. (c == c:upper() and c:lower() or c:upper())
                    .. a.stealth_address:sub(at + 1)
    local bads = { lower:sub(3), lower:sub(1, -3), lower .. "00", "0x" .. lower:sub(3, -2) .. "g", 42, false }
    -- (one letter's case flipped is a broken checksum unless no case is mixed any more)
    local body = flipped:sub(3)
    if body ~= body:lower() and body ~= body:upper() then bads[#bads + 1] = flipped end
    for _, address in ipairs(bads) do
      local b = with(a, "stealth_address", address)
      assert.are.equal("refused", check(b), tostring(address))
      assert.are.equal("refused", scanned(b), tostring(address))
    end
  end)

  it("takes a view tag in every numeric form, and refuses what is not a tag", function()
    local a = mine()
    local t = a.view_tag
    local same = { t, t + 0.0, decimal(tostring(t)), decimal(t .. ".000"), nil, enigma.null, -0.0 * t }
    if t ~= 0 then same[7] = nil end
    for i = 1, 7 do
      local tag = same[i]
      local b = with(a, "view_tag", tag)
      assert.is_true(check(b), tostring(tag))
      assert.is_true(scanned(b), tostring(tag))
    end
    local bad = { t + 0.5, t - 0.25, 0 / 0, -(0 / 0), math.huge, -math.huge, -1, 256, -1.0, 256.0, 1e300,
                  math.maxinteger, math.mininteger, 2 ^ 53, t + 256, t - 256, tostring(t), ("%d.0"):format(t),
                  true, false, {}, decimal(t .. ".5"), decimal("-1"), decimal("256"), decimal("-" .. t + 1),
                  decimal("1e3"), crypto.generate_key(), print }
    local list = {}
    for i, tag in ipairs(bad) do
      list[i] = with(a, "view_tag", tag)
      assert.are.equal("refused", check(list[i]), tostring(tag))
    end
    local found, invalid = scan(list)
    assert.are.same({}, found)
    assert.are.equal(#bad, invalid)
    local ok, err = pcall(crypto.stealth.check, a.stealth_address, a.ephemeral_public_key, keys.viewing_key,
                          spending_pub, t + 0.5)
    assert.is_false(ok)
    assert.matches("bad argument #5 .*view tag is an integer from 0 to 255", err)
  end)

  it("never matches an announcement whose view tag is wrong, however it is written", function()
    local a = mine()
    -- every tag there is, in every numeric form: only the right one matches
    for _, form in ipairs { function(x) return x end, function(x) return x + 0.0 end,
                            function(x) return decimal(tostring(x)) end,
                            function(x) return decimal(x .. ".00") end } do
      local list = {}
      for tag = 0, 255 do list[tag + 1] = with(a, "view_tag", form(tag)) end
      local found, invalid = scan(list)
      assert.are.same({ a.view_tag + 1 }, found)
      assert.are.equal(0, invalid)
      for tag = 0, 255, 51 do
        if tag ~= a.view_tag then assert.is_false(check(list[tag + 1])) end
      end
    end
    -- a JSON round trip (a decoder that makes floats) keeps the verdicts
    local list = cjson.decode(cjson.encode { with(a, "view_tag", a.view_tag),
                                             with(a, "view_tag", (a.view_tag + 1) % 256) })
    assert.are.same({ 1 }, (scan(list)))
    -- someone else's announcement with our tag is still not ours
    local other = crypto.stealth.generate(crypto.stealth.keygen().meta_address)
    local found = scan { with(other, "view_tag", a.view_tag + 0.0), with(other, "view_tag", nil) }
    assert.are.same({}, found)
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

  it("are taken as a note or its text by note.of, and stay closed once closed", function()
    local note = crypto.note.new { amount = "3", chain_id = 5 }
    assert.are.equal(note, crypto.note.of(note))
    local text = note:text()
    local parsed = crypto.note.of(text)
    assert.are_not.equal(note, parsed)
    assert.are.equal(note:commitment(), parsed:commitment())
    assert.are.equal("EFORMAT", crypto_error(crypto.note.of, "enigma-note-v1-garbage").code)
    for _, bad in ipairs { 42, {}, crypto.generate_key() } do
      assert.has_error(function() crypto.note.of(bad) end)
    end
    note:close()
    assert.are.equal("enigma.crypto.note (closed)", tostring(note))
    assert.has_error(function() crypto.note.of(note) end, "attempt to use a closed note")
    assert.has_error(function() note:text() end, "attempt to use a closed note")
    parsed:wipe() -- the older name still works
    assert.has_error(function() parsed:hashes() end, "attempt to use a closed note")
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
