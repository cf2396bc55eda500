-- enigma.error, the one error type that crosses into Lua (needs: cluster): what each module
-- raises or returns, how it prints, and describe() under values an attacker would pick.
local enigma = require "enigma"
local shell = require "shell"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local E = enigma.error

local function raised(fn, ...)
  local ok, err = pcall(fn, ...)
  assert.is_false(ok, "it should have raised")
  return err
end

describe("enigma.error", function()
  it("is made, recognised and printed", function()
    local e = E("it broke", "EBROKE", { detail = "d", hint = "h" })
    assert.is_true(E.is(e))
    assert.are.equal("it broke", e.message)
    assert.are.equal("EBROKE", e.code)
    assert.are.equal("d", e.detail)
    assert.are.equal("it broke (EBROKE)", tostring(e))
    assert.are.equal("ERROR", E.new("x").code)
    for _, v in ipairs({ "it broke", 42, {}, setmetatable({}, { __tostring = function() return "t" end }) }) do
      assert.is_false(E.is(v))
    end
    assert.is_false(E.is(nil))
    local err = raised(E, nil)
    assert.matches("bad argument #1", tostring(err))
    err = raised(E, "m", "C", "not a table")
    assert.matches("bad argument #3", tostring(err))
  end)

  it("describes a statement's error with a caret under its position, counting characters", function()
    local q = "select 1,\n  'héllo', nosuch"
    local e = E("column \"nosuch\" does not exist\nHINT: look again", "42703",
                { sqlstate = "42703", query = q, position = utf8.len(q) - 5 })
    assert.are.equal(table.concat({
      'column "nosuch" does not exist (SQLSTATE 42703)',
      "LINE 2:   'héllo', nosuch",
      "                   ^",
      "HINT: look again" }, "\n"), E.describe(e))
  end)

  it("describes anything without raising: positions out of range, bad UTF-8, odd values", function()
    for _, pos in ipairs({ 0, -1, math.mininteger, math.maxinteger, 10 ^ 300, 0 / 0, "3" }) do
      local text = E.describe(E("m", "C", { query = "select \255\254 x", position = pos }))
      assert.matches("^m %(C%)", text)
    end
    assert.matches("^m %(C%)\nLINE 1: select \255\254 x\n", E.describe(E("m", "C", { query = "select \255\254 x", position = 10 })))
    assert.are.equal("plain", E.describe("plain"))
    assert.are.equal("42", E.describe(42))
    assert.are.equal("(error object is a nil value)", E.describe(nil))
    assert.are.equal("(error object is a table value)", E.describe({}))
    assert.are.equal("(error object is a table value)",
                     E.describe(setmetatable({}, { __tostring = function() return 42 end })))
    assert.are.equal("t", E.describe(setmetatable({}, { __tostring = function() return "t" end })))
    assert.matches("^message %(C%)$", E.describe(setmetatable({ message = "message", code = "C" },
                                                              getmetatable(E("x")))))
  end)

  it("describes a message of any length (the buffer grows past 1 KiB and again)", function()
    for _, n in ipairs({ 1013, 1014, 1020, 1023, 1024, 1025, 1535, 1600, 3000, 100000 }) do
      for _, fields in ipairs({ {}, { sqlstate = "22P02" } }) do
        local msg = ("x"):rep(n)
        local text = E.describe(E(msg .. "\nDETAIL: d", "22P02", fields))
        local tag = fields.sqlstate and " (SQLSTATE 22P02)" or " (22P02)"
        assert.are.equal(msg .. tag .. "\nDETAIL: d", text)
      end
    end
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write("error(require('enigma').error(('x'):rep(3000), 'ELONG'))\n")
    f:close()
    local code, _, err = shell.run(BIN .. " run " .. path)
    os.remove(path)
    assert.are.equal(1, code)
    assert.matches("^enigma: " .. ("x"):rep(3000) .. " %(ELONG%)\nstack traceback:", err)
  end)

  it("does not call enigma's own E codes SQLSTATEs", function()
    local seal = enigma.crypto.seal
    local key = enigma.crypto.stealth.keygen().spending_key
    local env = seal.wrap(key, { address = "0x" .. ("11"):rep(20), chain_id = 1, passphrase = "right" })
    local err = raised(seal.open, env, { address = "0x" .. ("11"):rep(20), chain_id = 1, passphrase = "wrong" })
    assert.are.equal("EAUTH", err.code)
    assert.is_nil(err.sqlstate)
    assert.matches("%(EAUTH%)$", tostring(err))
  end)

  it("shows a long line's window around the caret, drops a CR, and keeps tabs under it", function()
    local q = ("a"):rep(200) .. " nosuch " .. ("b"):rep(200)
    local text = E.describe(E("m", "C", { query = q, position = 202 }))
    local line, caret = text:match("\n(LINE 1: [^\n]*)\n([^\n]*)$")
    assert.are.equal("LINE 1: ..." .. ("a"):rep(59) .. " nosuch " .. ("b"):rep(53) .. "...", line)
    assert.are.equal(#"LINE 1: ..." + 59 + 1 + 1, caret:find("^", 1, true))   -- under the n
    text = E.describe(E("m", "C", { query = "select 1,\r\n\tnosuch", position = 13 }))
    assert.are.equal("m (C)\nLINE 2: \tnosuch\n        \t^", text)
  end)

  describe("from the modules", function()
    local db
    setup(function() db = assert(enigma.db.connect()) end)
    teardown(function() db:close() end)

    it("db: a server error returns nil, message, code and the error, with position and query", function()
      local sql = "select 1 from ai_agents where nosuch = 1"
      local rows, msg, code, err = db:query(sql)
      assert.is_nil(rows)
      assert.are.equal("42703", code)
      assert.matches("nosuch", msg)
      assert.is_true(E.is(err))
      assert.are.equal("42703", err.code)
      assert.are.equal("42703", err.sqlstate)
      assert.are.equal(sql:find("nosuch", 1, true), err.position)
      assert.are.equal(sql, err.query)
      assert.matches("LINE 1: select 1 from ai_agents where nosuch = 1\n" .. (" "):rep(8 + 30) .. "%^",
                     E.describe(err))
    end)

    it("db: DETAIL and HINT are fields of their own, and lines of the message", function()
      assert(db:exec("create temporary table error_spec_t (k int primary key)"))
      assert(db:exec("insert into error_spec_t values (1)"))
      local _, msg, code, err = db:exec("insert into error_spec_t values (1)")
      assert.are.equal("23505", code)
      assert.matches("Key %(k%)=%(1%) already exists", err.detail)
      assert.matches("\nDETAIL: Key %(k%)=%(1%) already exists", msg)
      assert.is_nil(err.position)
      local _, _, _, herr = db:query("select pg_sleep('x')")
      assert.is_true(E.is(herr))
    end)

    it("db: inside a transaction the same error is raised", function()
      local err = raised(db.transaction, db, function(tx) tx:query("select 1/0") end)
      assert.is_true(E.is(err))
      assert.are.equal("22012", err.code)
      assert.are.equal("division by zero (SQLSTATE 22012)", tostring(err))
    end)

    it("crypto raises it for bad input", function()
      local err = raised(enigma.crypto.unhex, "0xzz")
      assert.is_true(E.is(err))
      assert.are.equal("EHEX", err.code)
    end)

    it("a failure a caller may expect returns nil, message, code", function()
      local list, msg, code = enigma.sched.listdir("/nonexistent/enigma-error-spec")
      assert.is_nil(list)
      assert.matches("enigma%-error%-spec", msg)
      assert.are.equal("ENOENT", code)
      local c, cmsg, ccode = enigma.sched.cron("61 * * * *")
      assert.is_nil(c)
      assert.truthy(cmsg)
      assert.matches("^E%u+$", ccode)
      local report = require "enigma.report"
      local sections, rmsg, rcode = report.run("pool_analytics", { no_such_option = 1 }, db)
      assert.is_nil(sections)
      assert.matches("no_such_option", rmsg)
      assert.are.equal("EOPTION", rcode)
      local failing = { run = function(d) d:transaction(function(tx) tx:query("select 1/0") end) end }
      local _, fmsg, fcode = report.run_spec(failing, {}, db)
      assert.matches("division by zero", fmsg)
      assert.are.equal("22012", fcode)
    end)

    it("serve's helpers raise it", function()
      local err = raised(require("enigma.serve.service").query, db, "select nosuch")
      assert.is_true(E.is(err))
      assert.are.equal("42703", err.code)
    end)
  end)

  it("enigma run prints an error object readably, with the caret, and exits 1", function()
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    f:write([[
      local db = assert(require("enigma").db.connect())
      db:transaction(function(tx) tx:query("select 1,\n nosuch") end)
    ]])
    f:close()
    local code, out, err = shell.run(BIN .. " run " .. path)
    os.remove(path)
    assert.are.equal(1, code)
    assert.are.equal("", out)
    assert.matches('^enigma: column "nosuch" does not exist %(SQLSTATE 42703%)\nLINE 2:  nosuch\n         %^\nstack traceback:', err)
  end)

  it("enigma repl prints a crypto error, not '(error object is a table value)'", function()
    local code, out = shell.run("printf '%s\\n' 'enigma.crypto.unhex(\"0xzz\")' | " .. BIN .. " repl")
    assert.are.equal(0, code)
    assert.matches("ERROR: not hex: character 3 is 'z' %(EHEX%)", out)
  end)
end)
