-- enigma.decimal: exact decimals for PostgreSQL NUMERIC. Needs no database.
local decimal = require("enigma").decimal

local function str(x) return tostring(x) end

describe("enigma.decimal", function()
  describe("text", function()
    -- { input, how it prints }: what PostgreSQL prints comes back unchanged
    local accepted = {
      { "123", "123" },
      { "-0.000000000000000001", "-0.000000000000000001" },
      { "1.500000000000000000", "1.500000000000000000" },
      { "1.50", "1.50" },
      { "-0.5", "-0.5" },
      { "0.00", "0.00" },
      { "-0", "0" },
      { "-0.00", "0.00" },
      { "+5", "5" },
      { "2.5E+3", "2500" },
      { "1e-5", "0.00001" },
      { "1.50e1", "15.0" },
      { ".5", "0.5" },
      { "1.", "1" },
      { "123456789012345678901234567890.123456789012345678",
        "123456789012345678901234567890.123456789012345678" },
    }
    for _, case in ipairs(accepted) do
      it(("reads %q and prints %q"):format(case[1], case[2]), function()
        local d = decimal(case[1])
        assert.are.equal(case[2], tostring(d))
        assert.are.equal(case[2], tostring(decimal(tostring(d)))) -- and round-trips
      end)
    end

    local rejected = { "", "1.2.3", "abc", " 1", "1 ", "1e", "--1", "0x10", "NaN", "Infinity",
                       "-Infinity", ".", "+", "1,5" }
    for _, text in ipairs(rejected) do
      it(("rejects %q, naming it"):format(text), function()
        assert.has_error(function() return decimal(text) end,
          ('bad argument #1 to \'decimal\' (invalid decimal: "%s")'):format(text))
      end)
    end

    it("refuses absurd sizes instead of allocating", function()
      for _, text in ipairs({ "1e999999999", "1e-999999999", "1e200000" }) do
        assert.error_matches(function() return decimal(text) end, "decimal out of range", 1, true)
      end
      assert.are.equal(131073, #tostring(decimal("1e131072"))) -- PostgreSQL's own limit fits
    end)

    it("names decimal.new in its own errors", function()
      assert.has_error(function() return decimal.new("1.2.3") end,
        'bad argument #1 to \'new\' (invalid decimal: "1.2.3")')
      assert.has_error(function() return decimal({}) end,
        "bad argument #1 to 'decimal' (decimal, number or string expected, got table)")
    end)

    it("never prints an exponent or -0", function()
      assert.are.equal("0.00", str(-decimal("0.00")))
      assert.are.equal("0", str(decimal("-0.4"):round(0)))
      assert.are.equal("100000000000000000000", str(decimal(1e20)))
    end)

    it("concatenates as text", function()
      assert.are.equal("x1.50", "x" .. decimal("1.50"))
      assert.are.equal("1.50 EUR", decimal("1.50") .. " EUR")
      assert.are.equal("21.5", 2 .. decimal("1.5"))
      assert.has_error(function() return decimal(1) .. {} end,
        "attempt to concatenate a table value")
    end)
  end)

  describe("conversion", function()
    -- floats become the shortest decimal that reads back as the same float
    local floats = {
      { 0.1, "0.1" }, { 0.1 + 0.2, "0.30000000000000004" }, { 1 / 3, "0.3333333333333333" },
      { 2.0, "2" }, { -0.0, "0" }, { 1.5e-7, "0.00000015" }, { 123456.789, "123456.789" },
    }
    for _, case in ipairs(floats) do
      it(("reads the float %.17g as %s"):format(case[1], case[2]), function()
        assert.are.equal(case[2], str(decimal(case[1])))
        assert.are.equal(case[1], decimal(case[1]):tonumber())
      end)
    end

    it("reads integers exactly", function()
      assert.are.equal("9223372036854775807", str(decimal(math.maxinteger)))
      assert.are.equal("-9223372036854775808", str(decimal(math.mininteger)))
    end)

    it("raises on NaN and infinity", function()
      assert.has_error(function() return decimal(0 / 0) end,
        "bad argument #1 to 'decimal' (cannot convert NaN to a decimal)")
      assert.has_error(function() return decimal(math.huge) end,
        "bad argument #1 to 'decimal' (cannot convert inf to a decimal)")
      assert.has_error(function() return decimal(1) + -math.huge end,
        "bad argument #2 to 'add' (cannot convert -inf to a decimal)")
    end)

    it("gives the nearest double", function()
      assert.are.equal(0.1, decimal("0.1"):tonumber())
      assert.are.equal(-2.5, decimal.tonumber(decimal("-2.5")))
      assert.are.equal("float", math.type(decimal("2"):tonumber()))
      assert.are.equal(1.0, decimal("1.000000000000000001"):tonumber())
      assert.are.equal(math.huge, decimal("1e400"):tonumber())
    end)

    it("gives an integer only when exact and in range", function()
      local cases = {
        { "42", 42 }, { "-42", -42 }, { "2.00", 2 }, { "0.000", 0 },
        { "9223372036854775807", math.maxinteger }, { "-9223372036854775808", math.mininteger },
        { "1.5", nil }, { "-0.000000000000000001", nil },
        { "9223372036854775808", nil }, { "-9223372036854775809", nil },
      }
      for _, case in ipairs(cases) do
        local n = decimal(case[1]):tointeger()
        assert.are.equal(case[2], n, case[1])
        if n then assert.are.equal("integer", math.type(n)) end
      end
    end)

    it("passes a decimal through", function()
      local d = decimal("1.50")
      assert.are.equal("1.50", str(decimal(d)))
      assert.are.equal("1.50", str(decimal.new(d)))
    end)
  end)

  describe("arithmetic", function()
    it("is exact", function()
      assert.is_true(decimal("0.1") + decimal("0.2") == decimal("0.3"))
      assert.are.equal("0.3", str(decimal("0.1") + "0.2"))
      assert.are.equal("2.000000000000000001", str(decimal("1.000000000000000001") + 1))
      assert.are.equal("10000000000000000000000000000000000000001", str(decimal("1e40") + 1))
      assert.is_true(decimal("1e20") * decimal("1e20") == decimal("1e40"))
      assert.are.equal("-0.000000000000000001", str(1 - decimal("1.000000000000000001")))
    end)

    it("keeps scales as PostgreSQL does", function()
      assert.are.equal("4.00", str(decimal("1.50") + decimal("2.5")))
      assert.are.equal("0.0", str(decimal("1.5") - decimal("1.5")))
      assert.are.equal("3.00", str(decimal("1.50") * 2))
      assert.are.equal("2.25", str(decimal("1.5") * 1.5))
    end)

    it("takes numbers and strings on either side", function()
      assert.are.equal("1.6", str(0.1 + decimal("1.5")))
      assert.are.equal("1.6", str("0.1" + decimal("1.5")))
      assert.are.equal("2.5", str(decimal("1.5") + 1))
      assert.are.equal("-0.5", str(1 - decimal("1.5")))
      assert.has_error(function() return decimal(1) + "abc" end,
        'bad argument #2 to \'add\' (invalid decimal: "abc")')
    end)

    it("leaves its operands alone", function()
      local a, b = decimal("1.5"), decimal("2")
      local _, _, _, _, _ = a + b, a * b, -a, a:round(0), a:abs()
      assert.are.equal("1.5", str(a))
      assert.are.equal("2", str(b))
    end)

    it("negates and takes absolute values", function()
      assert.are.equal("0.5", str(-decimal("-0.5")))
      assert.are.equal("1.50", str(decimal("-1.50"):abs()))
    end)
  end)

  describe("division", function()
    it("rounds half up to max(18, the operands' scales) digits", function()
      assert.are.equal("0.333333333333333333", str(decimal(1) / 3))
      assert.are.equal("0.666666666666666667", str(decimal(2) / 3))
      assert.are.equal("-0.666666666666666667", str(decimal(-2) / 3))
      assert.are.equal("0.500000000000000000", str(1 / decimal(2)))
      assert.are.equal("0.3333333333333333333333", str(decimal("1.0000000000000000000000") / 3))
      assert.are.equal("0.2500000000000000000000",
        str(decimal(1) / decimal("4.0000000000000000000000")))
    end)

    it("takes an explicit scale and mode", function()
      assert.are.equal("0.33", str(decimal(1):div(3, 2)))
      assert.are.equal("0.13", str(decimal(1):div(8, 2)))
      assert.are.equal("0.12", str(decimal(1):div(8, 2, "half_even")))
      assert.are.equal("-0.34", str(decimal(1):div(-3, 2, "up")))
      assert.are.equal("-1", str(decimal(-1):div(3, 0, "floor")))
      assert.has_error(function() return decimal(1):div(3, 2, "nearest") end,
        "bad argument #3 to 'div' (invalid option 'nearest')")
      assert.has_error(function() return decimal(1):div(3, -1) end,
        "bad argument #2 to 'div' (scale out of range)")
    end)

    it("raises on division by zero", function()
      assert.has_error(function() return decimal(1) / 0 end, "division by zero")
      assert.has_error(function() return decimal(1) / decimal("0.00") end, "division by zero")
      assert.has_error(function() return decimal(1):div(0, 2) end, "division by zero")
      assert.has_error(function() return decimal(1) // 0 end, "division by zero")
      assert.has_error(function() return decimal(1) % 0 end, "division by zero")
    end)

    -- { a, b, a // b, a % b }: the sign conventions of Lua's own // and %
    local floor_cases = {
      { "7.5", "2", "3", "1.5" }, { "-7.5", "2", "-4", "0.5" },
      { "7.5", "-2", "-4", "-0.5" }, { "-7.5", "-2", "3", "-1.5" },
      { "1", "0.3", "3", "0.1" }, { "0.3", "0.1", "3", "0.0" },
    }
    for _, case in ipairs(floor_cases) do
      it(("floors %s // %s and %s %% %s"):format(case[1], case[2], case[1], case[2]), function()
        local a, b = decimal(case[1]), decimal(case[2])
        assert.are.equal(case[3], str(a // b))
        assert.are.equal(case[4], str(a % b))
        assert.is_true(b * (a // b) + a % b == a)
      end)
    end

    it("agrees with Lua's floats where they are exact, and not where they are not", function()
      for _, x in ipairs({ { 7.5, 2 }, { -7.5, 2 }, { 7.5, -2 }, { -7.5, -2 } }) do
        local a, b = decimal(x[1]), decimal(x[2])
        assert.are.equal(x[1] // x[2], (a // b):tonumber())
        assert.are.equal(x[1] % x[2], (a % b):tonumber())
      end
      assert.are.equal(2.0, 0.3 // 0.1) -- binary 0.1 is a little more than 0.1
      assert.are.equal("3", str(decimal("0.3") // decimal("0.1")))
    end)
  end)

  describe("rounding", function()
    -- { value, scale, { half_up, half_even, down, up, floor, ceil } }
    local modes = { "half_up", "half_even", "down", "up", "floor", "ceil" }
    local cases = {
      { "2.5", 0, { "3", "2", "2", "3", "2", "3" } },
      { "-2.5", 0, { "-3", "-2", "-2", "-3", "-3", "-2" } },
      { "2.45", 1, { "2.5", "2.4", "2.4", "2.5", "2.4", "2.5" } },
      { "-2.45", 1, { "-2.5", "-2.4", "-2.4", "-2.5", "-2.5", "-2.4" } },
      { "3.5", 0, { "4", "4", "3", "4", "3", "4" } },
      { "2.41", 1, { "2.4", "2.4", "2.4", "2.5", "2.4", "2.5" } },
      { "-2.49", 1, { "-2.5", "-2.5", "-2.4", "-2.5", "-2.5", "-2.4" } },
    }
    for _, case in ipairs(cases) do
      for i, mode in ipairs(modes) do
        it(("rounds %s to %d places %s"):format(case[1], case[2], mode), function()
          assert.are.equal(case[3][i], str(decimal(case[1]):round(case[2], mode)))
        end)
      end
    end

    it("rounds half up by default, like PostgreSQL's round()", function()
      assert.are.equal("3", str(decimal("2.5"):round(0)))
      assert.are.equal("-3", str(decimal("-2.5"):round(0)))
    end)

    it("pads to a larger scale and rounds to tens with a negative one", function()
      assert.are.equal("1.500", str(decimal("1.5"):round(3)))
      assert.are.equal("1200", str(decimal("1234.5"):round(-2)))
    end)
  end)

  describe("comparison", function()
    it("compares by value, whatever the scale", function()
      assert.is_true(decimal("1.50") == decimal("1.5"))
      assert.is_true(decimal("0") == decimal("-0.00"))
      assert.is_false(decimal("0.1") == decimal("0.10000000000000001"))
      assert.is_true(decimal("0.1") < decimal("0.2"))
      assert.is_true(decimal("-1") < decimal("-0.5"))
      assert.is_true(decimal("1.5") <= decimal("1.50"))
      assert.is_false(decimal("1.5") < decimal("1.50"))
      assert.is_true(decimal("9999999999999999999999999999999999999999.9") < decimal("1e40"))
    end)

    it("orders against Lua numbers", function()
      local d = decimal("1.5")
      assert.is_true(d < 2)
      assert.is_true(1 < d)
      assert.is_true(d <= 1.5)
      assert.is_true(1.5 <= d)
      assert.is_true(d > 1.4999999)
      assert.is_false(d >= 2)
      assert.is_true(decimal("0.1") <= 0.1) -- the float counts as its shortest decimal
      assert.is_true(d < math.huge)
      assert.is_true(-math.huge < d)
      assert.is_false(d < 0 / 0)
      assert.is_false(0 / 0 <= d)
    end)

    it("is never == to a number, as Lua only calls __eq for two userdata", function()
      assert.is_false(decimal(1) == 1)
      assert.is_true(decimal(1) == decimal(1.0))
    end)
  end)

  describe("the value", function()
    it("reports its scale, sign and zeroness", function()
      assert.are.equal(2, decimal("1.50"):scale())
      assert.are.equal(0, decimal("2.5E+3"):scale())
      assert.are.equal(-1, decimal("-0.01"):sign())
      assert.are.equal(0, decimal("0.00"):sign())
      assert.are.equal(1, decimal("7"):sign())
      assert.is_true(decimal("-0.000"):iszero())
      assert.is_false(decimal("0.001"):iszero())
    end)

    it("is recognisable", function()
      assert.is_true(decimal.isdecimal(decimal(1)))
      assert.is_false(decimal.isdecimal(1))
      assert.is_false(decimal.isdecimal("1"))
      assert.is_false(decimal.isdecimal(io.stdout))
      assert.are.equal("enigma.decimal", getmetatable(decimal(1)).__name)
    end)

    -- regression: a hand-called __gc must not leave a value that reads freed memory
    it("raises when used after its __gc", function()
      local d = decimal("1.5")
      getmetatable(d).__gc(d)
      assert.has_error(function() return tostring(d) end, "decimal used after it was collected")
      getmetatable(d).__gc(d) -- and a second close is harmless
    end)

    it("survives garbage collection", function()
      local keep = decimal(0)
      for i = 1, 10000 do keep = keep + decimal(i) / 7 end
      collectgarbage()
      assert.are.equal("7143571.428571428571428571", str(keep))
    end)
  end)
end)
