-- enigma.json: strict JSON with exact numbers (core/json.h), in Lua and from json/jsonb
-- columns of the embedded cluster (needs: cluster).
local enigma = require "enigma"
local json, decimal, null = enigma.json, enigma.decimal, enigma.null

--- The value of JSON number text, exactly (decimal reads exponents too).
local function value(text) return decimal(text) end

--- decode, then encode: the number keeps its value, whatever its Lua type.
local function round_trip(text)
  local v = json.decode(text)
  local back = json.encode(v)
  assert.are.equal(value(text), value(back), text .. " came back as " .. back)
  return v, back
end

local function kind(v)
  if decimal.isdecimal(v) then return "decimal" end
  return math.type(v) or type(v)
end

describe("enigma.json.decode", function()
  describe("numbers", function()
    it("reads integer literals that fit in 64 bits as integers, and larger ones as decimals", function()
      local cases = {
        { "0", "integer" }, { "-0", "integer" }, { "42", "integer" },
        { "9007199254740992", "integer" }, { "-9007199254740992", "integer" },     -- +-2^53
        { "9007199254740993", "integer" }, { "-9007199254740993", "integer" },     -- +-(2^53+1)
        { "9007199254740991", "integer" }, { "-9007199254740991", "integer" },     -- +-(2^53-1)
        { "1234567890123456789", "integer" },
        { "9223372036854775807", "integer" }, { "-9223372036854775808", "integer" }, -- int64's ends
        { "9223372036854775808", "decimal" }, { "-9223372036854775809", "decimal" }, -- one past
        { "-9223372036854775808000", "decimal" },
        { "18446744073709551616", "decimal" }, { "18446744073709551617", "decimal" }, -- 2^64, 2^64+1
        { "12345678901234567890123", "decimal" },                                   -- wei
        { ("9"):rep(400), "decimal" },
      }
      for _, c in ipairs(cases) do
        local v, back = round_trip(c[1])
        assert.are.equal(c[2], kind(v), c[1])
        if c[1] ~= "-0" then assert.are.equal(c[1], back) end  -- digit for digit
      end
      assert.are.equal(math.maxinteger, json.decode("9223372036854775807"))
      assert.are.equal(math.mininteger, json.decode("-9223372036854775808"))
      assert.are.equal(9007199254740993, json.decode("9007199254740993"))
      assert.are.equal(decimal("18446744073709551616"), json.decode("18446744073709551616"))
    end)

    it("keeps a float where its shortest text has the literal's value, else an exact decimal", function()
      local cases = {
        { "0.1", "float" }, { "1E2", "float" }, { "1e+2", "float" }, { "1.5e-7", "float" },
        { "-0.0", "float" }, { "100.50", "float" }, { "0.30000000000000004", "float" },
        { "3.141592653589793", "float" }, { "1.7976931348623157e308", "float" }, { "5e-324", "float" },
        { "1e400", "decimal" }, { "-1e400", "decimal" }, { "1e-400", "decimal" },       -- out of range
        { "0.10000000000000001", "decimal" },                                           -- written 0.1
        { "3.14159265358979323846", "decimal" },
        { "12345678901234567890.123456789012345678", "decimal" },                       -- NUMERIC(38,18)
        { "-99999999999999999999.999999999999999999", "decimal" },
        { "0.000000000000000001", "float" }, { "1.000000000000000001", "decimal" },
      }
      for _, c in ipairs(cases) do
        local v = round_trip(c[1])
        assert.are.equal(c[2], kind(v), c[1])
      end
      assert.are.equal(100.0, json.decode("1E2"))
      assert.are.equal("-0.0", tostring(json.decode("-0.0")))
      assert.are.equal("12345678901234567890.123456789012345678",
                       tostring(json.decode("12345678901234567890.123456789012345678")))
      assert.are.equal("0.1", json.encode(json.decode("0.1")))
    end)

    it("keeps every number of a document through encode and decode", function()
      local text = '{"wei":12345678901234567890123,"n":42,"big":1234567890123456789,'
        .. '"bal":12345678901234567890.123456789012345678,"r":0.1,"t":[33,-9223372036854775808,1e-400]}'
      local doc = json.decode(text)
      assert.are.equal("integer", math.type(doc.n))
      assert.are.equal(33, doc.t[1])
      assert.are.equal("integer", math.type(doc.t[1]))                  -- a view tag stays 33, not 33.0
      assert.are.equal(1234567890123456789, doc.big)
      assert.are.equal(decimal("12345678901234567890123"), doc.wei)
      local again = json.decode(json.encode(doc))
      for _, k in ipairs({ "wei", "n", "big", "bal", "r" }) do assert.are.equal(doc[k], again[k], k) end
      assert.are.equal(doc.t[3], again.t[3])
      assert.are.equal(decimal("1e-400"), again.t[3])
    end)

    it("refuses a number past enigma.decimal's limits with ERANGE and its position", function()
      local ok, err = pcall(json.decode, "[1, 1e999999999]")
      assert.is_false(ok)
      assert.are.equal("ERANGE", err.code)
      assert.matches("byte offset 4", err.message, 1, true)
      ok, err = pcall(json.decode, ("1"):rep(300000))
      assert.is_false(ok)
      assert.are.equal("ERANGE", err.code)
    end)
  end)

  describe("values", function()
    it("reads null as enigma.null, which is cjson.null", function()
      assert.are.equal(null, json.decode("null"))
      assert.are.equal(require("cjson").null, json.decode("null"))
      assert.are.equal(null, json.null)
      local t = json.decode('[1, null, 3, {"a": null}]')
      assert.are.equal(4, #t)               -- null is a value, not a hole
      assert.are.equal(null, t[2])
      assert.are.equal(null, t[4].a)
    end)

    it("reads strings with every escape, surrogate pairs and UTF-8", function()
      assert.are.equal('"\\/\b\f\n\r\t', json.decode([["\"\\\/\b\f\n\r\t"]]))
      assert.are.equal("A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", json.decode([["\u0041\u00e9\u20AC\ud83d\ude00"]]))
      assert.are.equal("a\0b", json.decode([["a\u0000b"]]))
      assert.are.equal("caf\xC3\xA9", json.decode('"caf\xC3\xA9"'))
      local long = ("x"):rep(100000) .. "\\n" .. ("y"):rep(100000)
      assert.are.equal(200001, #json.decode('"' .. long .. '"'))
    end)

    it("reads nesting up to 1000 deep, keeps the last of duplicate keys", function()
      local t = json.decode(("["):rep(1000) .. ("]"):rep(1000))
      for _ = 1, 999 do t = t[1] end
      assert.are.same({}, t)
      assert.are.same({ a = 2 }, json.decode('{"a":1,"a":2}'))
      assert.are.same({ 1, { 2, { 3 } }, { k = { "v" } } }, json.decode('[1,[2,[3]],{"k":["v"]}]'))
    end)
  end)

  describe("malformed text", function()
    local bad = {
      { "", "expected a value" }, { "[1,]", "trailing comma" }, { '{"a":1,}', "trailing comma" },
      { "[1 2]", "expected ',' or ']'" }, { "{'a':1}", "expected a string" }, { "{a:1}", "expected a string" },
      { "// c\n1", "expected a value" }, { "/* c */ 1", "expected a value" }, { "[1 /* c */]", "expected ','" },
      { "NaN", "expected a value" }, { "Infinity", "expected a value" }, { "-Infinity", "expected a digit" },
      { "01", "leading zero" }, { "-012", "leading zero" }, { "1.", "decimal point" }, { ".5", "expected a value" },
      { "1e", "exponent" }, { "+1", "expected a value" }, { "0x1F", "end of the text" },
      { "tru", "expected a value" }, { "nul", "expected a value" },
      { '"a\tb"', "control characters" }, { '"a\nb"', "control characters" }, { '"\1"', "control characters" },
      { '"\\x"', "expected an escape" }, { '"\\u12"', "four hex digits" },
      { '"\\ud800"', "lone high surrogate" }, { '"\\udc00"', "lone low surrogate" },
      { '"\\ud800\\u0041"', "lone high surrogate" },
      { '"\xff"', "UTF-8" }, { '"\xC0\xAF"', "UTF-8" }, { '"\xED\xA0\x80"', "UTF-8" }, { '"\xF4\x90\x80\x80"', "UTF-8" },
      { '"abc', "not closed" }, { "[1] x", "end of the text" }, { "{} {}", "end of the text" },
      { "[1]\0", "end of the text" }, { "\xEF\xBB\xBF[]", "byte order mark" },
      { ("["):rep(1001) .. ("]"):rep(1001), "nested deeper than 1000" },
    }
    for _, c in ipairs(bad) do
      it(("refuses %q: %s"):format(c[1]:sub(1, 24), c[2]), function()
        local ok, err = pcall(json.decode, c[1])
        assert.is_false(ok)
        assert.is_true(enigma.error.is(err))
        assert.are.equal("EJSON", err.code)
        assert.matches(c[2], err.message, 1, true)
        assert.matches("at line %d+, column %d+ %(byte offset %d+%)", err.message)
      end)
    end

    it("names the line and column of the error", function()
      local ok, err = pcall(json.decode, '{\n  "a": [1,\n        2,]\n}')
      assert.is_false(ok)
      assert.matches("line 3, column 11 (byte offset 23)", err.message, 1, true)
    end)

    it("refuses a bomb of a million brackets with an error, not a crash", function()
      for _, bomb in ipairs({ ("["):rep(1000000), ('{"a":'):rep(1000000), ("[{\"a\":"):rep(500000) }) do
        local ok, err = pcall(json.decode, bomb)
        assert.is_false(ok)
        assert.matches("nested deeper than 1000", err.message, 1, true)
      end
      assert.are.equal(2, json.decode("[2]")[1])                          -- and goes on working
    end)

    it("refuses what is not a string", function()
      assert.has_error(function() json.decode({}) end)
      assert.has_error(function() json.decode() end)
    end)
  end)
end)

describe("enigma.json.encode", function()
  it("writes floats as the shortest text that reads back the same", function()
    assert.are.equal("[0.1,0.30000000000000004,1e+300,-0,100.5]",
                     json.encode({ 0.1, 0.1 + 0.2, 1e300, -0.0, 100.5 }))
    for _, x in ipairs({ 0.1, 1 / 3, 2 ^ 53 + 0.0, 5e-324, 1.7976931348623157e308, -123.456e-7 }) do
      assert.are.equal(x, json.decode(json.encode(x)))
    end
  end)
end)

describe("json and jsonb columns", function()
  local db
  before_each(function() db = assert(enigma.db.connect()) end)
  after_each(function() db:close() end)

  it("come back with exact numbers", function()
    local row = db:query([[
      select '{"n": 42, "big": 1234567890123456789, "wei": 12345678901234567890123,
               "neg": -9223372036854775809, "r": 0.1, "e": 1E2, "tag": 33,
               "bal": 12345678901234567890.123456789012345678}'::jsonb as j,
             '[9007199254740993, 1e400, 1e-400, -0, 1.5e-7]'::json as k,
             jsonb_build_object('amount', 12345678901234567890.123456789012345678::numeric(38,18),
                                'max', 9223372036854775807::int8) as built]])[1]
    local j, k = row.j, row.k
    assert.are.equal("integer", math.type(j.n))
    assert.are.equal(42, j.n)
    assert.are.equal(1234567890123456789, j.big)
    assert.are.equal("integer", math.type(j.tag))
    assert.are.equal(decimal("12345678901234567890123"), j.wei)
    assert.are.equal(decimal("-9223372036854775809"), j.neg)
    assert.are.equal(0.1, j.r)
    assert.are.equal(100, j.e)                             -- jsonb keeps 100
    assert.are.equal("12345678901234567890.123456789012345678", tostring(j.bal))
    assert.are.equal(9007199254740993, k[1])
    assert.are.equal(decimal("1e400"), k[2])               -- json keeps the text as written
    assert.are.equal(decimal("1e-400"), k[3])
    assert.are.equal("integer", math.type(k[4]))
    assert.are.equal(1.5e-7, k[5])
    assert.are.equal("12345678901234567890.123456789012345678", tostring(row.built.amount))
    assert.are.equal(math.maxinteger, row.built.max)
  end)

  it("round-trip exact values through a jsonb parameter", function()
    local doc = { wei = decimal("12345678901234567890123"), n = 7, r = 0.25,
                  bal = decimal("-12345678901234567890.123456789012345678"), tags = { 33, 34 } }
    local row = db:query("select $1::jsonb as j, ($1::jsonb ->> 'wei')::numeric as wei", json.encode(doc))[1]
    assert.are.equal(doc.wei, row.j.wei)
    assert.are.equal(doc.wei, row.wei)
    assert.are.equal(doc.bal, row.j.bal)
    assert.are.same({ 33, 34 }, row.j.tags)
    assert.are.equal("integer", math.type(row.j.n))
  end)

  it("keep as text a json value PostgreSQL accepts and the strict reader refuses", function()
    local row = db:query([[select '"\ud800"'::json as lone, '[1e999999999]'::json as huge]])[1]
    assert.are.equal('"\\ud800"', row.lone)
    assert.are.equal("[1e999999999]", row.huge)
  end)
end)
