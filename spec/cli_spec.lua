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

  describe("habits", function()
    local SRC = assert(os.getenv("ENIGMA_SOURCE_DIR"))

    it("takes --opt=value wherever it takes --opt value", function()
      local spaced = { run(BIN .. " cron next '*/7 * * * *' --from 2026-03-08T09:00:00Z --tz America/New_York -n 3") }
      local joined = { run(BIN .. " cron next '*/7 * * * *' --from=2026-03-08T09:00:00Z --tz=America/New_York -n 3") }
      assert.are.equal(0, spaced[1], spaced[3])
      assert.are.same(spaced, joined)
      local code, out, err = run(BIN .. " jobs list --jobs=" .. SRC .. "/scripts/jobs")
      assert.are.equal(0, code, err)
      assert.matches("pool_stats", out)
      code, out, err = run(BIN .. " run " .. SRC .. "/scripts/reports/pool_analytics.lua --format=csv")
      assert.are.equal(0, code, err)
      assert.matches("^pool_name,", out)
      -- an empty value is a value; a bare --= is not an option
      local out2
      code, out2, err = run(BIN .. " cron next '* * * * *' --tz=")
      assert.are.equal(2, code)
      assert.are.equal("", out2)
      assert.matches("enigma: ", err)
      code, out2, err = run(BIN .. " migrate --=x")
      assert.are.equal("", out2)
      assert.are.equal(2, code)
      assert.matches("'%-%-=x'", err)
    end)

    it("refuses a value on a flag, keeps a value that looks like an option, passes psql's own", function()
      local code, out, err = run(BIN .. " serve --no-agents=yes")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches("option %-%-no%-agents takes no value", err)
      code, out, err = run(BIN .. " jobs run --jobs=" .. SRC .. "/scripts/jobs --id=--a=b")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches("jobs run needs a job name", err)      -- not "unknown option '--a'"
      code, out, err = run(BIN .. " db psql --help=variables")
      assert.are.equal(0, code, err)
      assert.matches("specially treated variables", out)   -- psql's --help=variables, as given
    end)

    it("leaves a script's own arguments alone", function()
      local path = script("print(table.concat(arg, '|'))")
      local code, out = run(BIN .. " run " .. path .. " --x=y -- --a=b")
      os.remove(path)
      assert.are.equal(0, code)
      assert.are.equal("--x=y|--|--a=b\n", out)
    end)

    it("has enigma help and enigma help COMMAND", function()
      local code, out = run(BIN .. " help")
      assert.are.equal(0, code)
      assert.matches("usage: enigma", out)
      for _, cmd in ipairs({ "run", "migrate", "db", "cron", "serve", "jobs", "agents", "repl" }) do
        local c1, o1 = run(BIN .. " help " .. cmd)
        local c2, o2 = run(BIN .. " " .. cmd .. " --help")
        assert.are.equal(0, c1, cmd)
        assert.are.equal(o2, o1, cmd)
        assert.matches("usage: enigma " .. cmd, o1)
        assert.are.equal(0, c2)
      end
      local err
      code, out, err = run(BIN .. " help migrte")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches("did you mean 'migrate'", err)
      code, out, err = run(BIN .. " help run db")
      assert.are.equal(2, code)
      assert.are.equal("", out)
      assert.matches("one command", err)
    end)

    it("suggests the command a typo meant, and nothing for a word far from all", function()
      local quote = require("shell").quote
      for _, case in ipairs({ { "migrte", "migrate" }, { "srve", "serve" }, { "agnets", "agents" },
                              { "crn", "cron" }, { "mig", "migrate" }, { "hlep", "help" },
                              { "r\1un", "run" }, { "RUN" }, { "xyzzy" }, { "a" }, { ("q"):rep(5000) } }) do
        local typo, meant = case[1], case[2]
        local code, out, err = run(BIN .. " " .. quote(typo))
        assert.are.equal(2, code, typo:sub(1, 20))
        assert.are.equal("", out)
        if meant then
          assert.matches("did you mean '" .. meant .. "'%?", err, nil, typo)
        else
          assert.is_nil(err:find("did you mean", 1, true), typo:sub(1, 20))
        end
      end
    end)
  end)
end)

describe("options are checked before the database is touched", function()
  local SRC = assert(os.getenv("ENIGMA_SOURCE_DIR"))
  -- no database at all: an option error must come first, and exit 2
  local NODB = "ENIGMA_DATABASE_URL='postgresql:///nope?host=/nonexistent' "
  for _, case in ipairs({
    { "serve --id " .. ("x"):rep(201), "--id: 'xxxxxxxxxxxxxxxxxxxx...' is longer than 200 characters" },
    { "serve --id 'a b'", "--id: 'a b' is not a runner name" },
    { "serve --lease nan", "--lease: 'nan' is not a number above 0, at most 3600" },
    { "serve --lease 1e9", "--lease: '1e9' is not a number" },
    { "serve --grace -1", "--grace: '-1' is not a number above 0" },
    { "serve --capacity 1.5", "--capacity: '1.5' is not a whole number" },
    { "serve --connections 1e6", "--connections: '1e6' is not a whole number" },
    { "serve --max-failures inf", "--max-failures: 'inf' is not a whole number" },
    { "run " .. SRC .. "/scripts/reports/daily_metrics.lua --days 1e9", "--days: 1000000000 is more than 3650" },
    { "run " .. SRC .. "/scripts/reports/daily_metrics.lua --days -3", "--days: '-3' is not a positive whole number" },
    { "run " .. SRC .. "/scripts/reports/db_health.lua --limit 0x7fffffffffffffff", "--limit:" },
  }) do
    it("enigma " .. case[1]:sub(1, 60), function()
      local code, _, err = run(NODB .. BIN .. " " .. case[1])
      assert.are.equal(2, code, err)
      assert.truthy(err:find(case[2], 1, true), err)
    end)
  end

  it("serve without a database exits 1: a login it cannot check is never used later", function()
    local code, _, err = run(NODB .. BIN .. " serve --no-agents")
    assert.are.equal(1, code, err)
    assert.truthy(err:find("cannot reach the database to check its login", 1, true), err)
  end)

  it("jobs list without a database says so and exits 1", function()
    local code, out, err = run(NODB .. BIN .. " jobs list")
    assert.are.equal(1, code, out)
    assert.truthy(err:find("no run history", 1, true), err)
  end)
end)
