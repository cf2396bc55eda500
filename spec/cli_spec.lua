-- The enigma command line, run as a user runs it (needs: cluster).
local BIN = assert(os.getenv("ENIGMA_BIN"), "ENIGMA_BIN is set by ctest")

local run = require("shell").run

local function script(text)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

describe("enigma CLI", function()
  it("prints help on --help, exit 0", function()
    local code, out = run(BIN .. " --help")
    assert.are.equal(0, code)
    assert.matches("usage: enigma", out)
    for _, cmd in ipairs({ "run", "migrate", "db" }) do
      code, out = run(BIN .. " " .. cmd .. " --help")
      assert.are.equal(0, code, cmd)
      assert.matches("usage: enigma " .. cmd, out)
    end
  end)

  it("prints its version", function()
    local code, out = run(BIN .. " --version")
    assert.are.equal(0, code)
    assert.matches("^enigma %d+%.%d+%.%d+ %(Lua 5%.4", out)
  end)

  it("rejects an unknown command or flag with usage on stderr, exit 2", function()
    for _, args in ipairs({ "frobnicate", "--frobnicate", "", "migrate --force", "db launch",
                            "run --weird x.lua", "run", "db" }) do
      local code, out, err = run(BIN .. " " .. args)
      assert.are.equal(2, code, args)
      assert.are.equal("", out, args)
      assert.matches("enigma: ", err, nil, args)
      assert.matches("usage", err, nil, args)
    end
  end)

  describe("run", function()
    it("passes arguments as arg and ...", function()
      local path = script([[
        local a, b = ...
        print(arg[0]:match("[^/]+$"), arg[1], arg[2], a, b, #arg)
      ]])
      local code, out = run(BIN .. " run " .. path .. " one 'two words'")
      os.remove(path)
      assert.are.equal(0, code)
      assert.matches("%.lua\tone\ttwo words\tone\ttwo words\t2", out)
    end)

    it("prints a traceback on stderr and exits 1 on error", function()
      local path = script("local function inner() error('it broke') end\ninner()\n")
      local code, _, err = run(BIN .. " run " .. path)
      os.remove(path)
      assert.are.equal(1, code)
      assert.matches("it broke", err)
      assert.matches("stack traceback", err)
      assert.matches("inner", err)
    end)

    it("shows a database error object's message", function()
      local path = script([[
        local db = require("enigma").db.connect()
        db:transaction(function(tx) tx:exec("select 1/0") end)
      ]])
      local code, _, err = run(BIN .. " run " .. path)
      os.remove(path)
      assert.are.equal(1, code)
      assert.matches("division by zero %(SQLSTATE 22012%)", err)
    end)

    it("reports a missing or broken file, exit 1", function()
      local code, _, err = run(BIN .. " run /nonexistent/script.lua")
      assert.are.equal(1, code)
      assert.matches("cannot open /nonexistent/script.lua", err)
      local path = script("local x = = 1\n")
      code, _, err = run(BIN .. " run " .. path)
      os.remove(path)
      assert.are.equal(1, code)
      assert.matches("unexpected symbol", err)
    end)
  end)

  describe("migrate", function()
    it("is a no-op on an up-to-date database", function()
      local code, out = run(BIN .. " migrate")
      assert.are.equal(0, code)
      assert.are.equal("schema is up to date\n", out)
    end)

    it("lists every migration as applied", function()
      local code, out = run(BIN .. " migrate --status")
      assert.are.equal(0, code)
      local n = 0
      for line in out:gmatch("[^\n]+") do
        assert.matches("^applied +%d%d%d%d%-%d%d%-%d%dT[%d:]+Z +%d%d%d_[%w_]+%.sql$", line)
        n = n + 1
      end
      assert.is_true(n >= 10)
    end)
  end)

  describe("db", function()
    it("says the cluster is running", function()
      local code, out = run(BIN .. " db status")
      assert.are.equal(0, code)
      assert.matches("^running", out)
    end)

    it("prints a URL that psql can use with full rights", function()
      local code, url = run(BIN .. " db url")
      assert.are.equal(0, code)
      url = url:gsub("%s+$", "")
      assert.matches("^postgresql://", url)
      local out
      code, out = run("psql -X -A -t '" .. url .. "' -c 'select rolsuper from pg_roles where rolname = current_user'")
      assert.are.equal(0, code)
      assert.are.equal("t\n", out)
    end)

    it("runs psql on the default database", function()
      local code, out = run(BIN .. " db psql -X -A -t -c 'select current_database()'")
      assert.are.equal(0, code)
      assert.are.equal("enigma\n", out)
    end)
  end)
end)
