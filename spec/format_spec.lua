-- enigma.format: the one formatter behind reports and the REPL.
local enigma = require "enigma"
local fmt = require "enigma.format"
local decimal, null = enigma.decimal, enigma.null

local function rows_of(columns, list)
  list.columns = columns
  return list
end

describe("enigma.format", function()
  local rows = rows_of({ "name", "amount", "n", "note" }, {
    { name = "alpha", amount = decimal("1.50"), n = 7, note = null },
    { name = "β-long name", amount = decimal("-1234.000000000000000001"), n = 12345, note = 'say "hi", ok' },
  })

  it("aligns a table as psql does: header, right-aligned numbers, NULL, row count", function()
    local out = fmt.table(rows)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal("    name     |          amount          |   n   |     note", lines[1])
    assert.are.equal("-------------+--------------------------+-------+--------------", lines[2])
    assert.are.equal(" alpha       |                     1.50 |     7 | NULL", lines[3])
    assert.are.equal(" β-long name | -1234.000000000000000001 | 12345 | say \"hi\", ok", lines[4])
    assert.are.equal("(2 rows)", lines[5])
  end)

  it("writes CSV with quoting and empty NULLs", function()
    assert.are.equal('name,amount,n,note\r\nalpha,1.50,7,\r\n'
      .. 'β-long name,-1234.000000000000000001,12345,"say ""hi"", ok"\r\n', fmt.csv(rows))
  end)

  it("writes JSON with exact decimals and null", function()
    local out = fmt.json(rows_of({ "a", "b" }, { { a = decimal("0.100000000000000001"), b = null } }))
    assert.matches('"a":0.100000000000000001', out, nil, true)
    assert.matches('"b":null', out, nil, true)
    assert.are.equal("[]\n", fmt.json(rows_of({ "a" }, {})))
  end)

  it("writes Markdown, escaping pipes", function()
    local out = fmt.markdown(rows_of({ "a" }, { { a = "x|y" } }))
    assert.are.equal("| a |\n| --- |\n| x\\|y |\n", out)
  end)

  it("names an unknown format", function()
    assert.has_error(function() fmt.render(rows, "yaml") end,
      "unknown format 'yaml' (table, csv, json or markdown)")
  end)

  it("handles a result with no rows", function()
    assert.are.equal(" a\n---\n(0 rows)\n", fmt.table(rows_of({ "a" }, {})))
  end)
end)
