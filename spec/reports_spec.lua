-- The report scripts (scripts/reports) on the demo data, from the command line in every format
-- and from Lua, and their bad input (needs: cluster).
local enigma = require "enigma"
local report = require "enigma.report"
local shell = require "shell"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local WALLET = "0x1111111111111111111111111111111111111111"

local function run(name, args)
  return shell.run(("%s run scripts/reports/%s.lua %s"):format(BIN, name, args or ""))
end

describe("reports", function()
  local db
  setup(function() db = assert(enigma.db.connect()) end)
  teardown(function() db:close() end)

  it("daily_metrics: one row per UTC day, newest first, as the view counts them", function()
    local code, out, err = run("daily_metrics", "--format json --days 30")
    assert.are.equal(0, code, err)
    local rows = enigma.json.decode(out)
    assert.truthy(#rows > 0)
    local view = assert(db:query([[select count(*) as n, sum(total_transactions) as t from daily_platform_metrics
                                    where metric_date > (now() at time zone 'UTC')::date - 30]]))[1]
    assert.are.equal(view.n, #rows)
    local total = 0
    for i, r in ipairs(rows) do
      total = total + r.total_transactions
      if i > 1 then assert.truthy(r.metric_date < rows[i - 1].metric_date) end
    end
    assert.are.equal(tonumber(tostring(view.t)), total)
    code, out = run("daily_metrics", "--days 1 --format csv")
    assert.are.equal(0, code)
    assert.truthy(select(2, out:gsub("\n", "")) <= 2, out)   -- the header and today at most
  end)

  it("agent_trends: weeks per agent, and --agent filters", function()
    local code, out, err = run("agent_trends", "--agent risk_shield --format json")
    assert.are.equal(0, code, err)
    local rows = enigma.json.decode(out)
    assert.truthy(#rows > 0)
    for _, r in ipairs(rows) do assert.are.equal("risk_shield", r.agent_type) end
  end)

  it("pool_analytics: the main pools, largest first, in every format", function()
    local n = assert(db:query("select count(*) as n from pool_analytics"))[1].n
    for _, fmt in ipairs({ "table", "csv", "json", "markdown" }) do
      local code, out, err = run("pool_analytics", "--format " .. fmt)
      assert.are.equal(0, code, err)
      assert.truthy(out:find("Enigma Main Pool", 1, true), out)
      if fmt == "json" then assert.are.equal(n, #enigma.json.decode(out)) end
      if fmt == "csv" then assert.are.equal(n + 1, select(2, out:gsub("\n", ""))) end
      if fmt == "markdown" then assert.truthy(out:find("| pool_name |", 1, true), out) end
      if fmt == "table" then assert.truthy(out:find(("(%d rows)"):format(n), 1, true), out) end
    end
  end)

  it("privacy_dashboard: one wallet's row, read through row-level security as that user", function()
    local code, out, err = run("privacy_dashboard", "--wallet " .. WALLET:upper():gsub("^0X", "0x") .. " --format json")
    assert.are.equal(0, code, err)
    local rows = enigma.json.decode(out)
    assert.are.equal(1, #rows)
    assert.are.equal(WALLET, rows[1].user_wallet)
    -- the superuser sees every wallet in the view; the report saw one
    assert.truthy(assert(db:query("select count(*) as n from user_privacy_dashboard"))[1].n > 1)
  end)

  it("db_health: tables, indexes, slow statements and connections", function()
    local code, out, err = run("db_health", "--limit 3 --format json")
    assert.are.equal(0, code, err)
    local doc = enigma.json.decode(out)
    assert.are.equal(3, #doc.tables)
    assert.truthy(doc.tables[1].total_bytes >= doc.tables[2].total_bytes)
    assert.are.equal(3, #doc.indexes)
    assert.truthy(#doc["slow statements"] >= 1)
    assert.is_table(doc.connections)
    code, out = run("db_health")
    assert.are.equal(0, code)
    assert.truthy(out:find("slow statements", 1, true) and out:find("connections", 1, true), out)
  end)

  it("refuses bad input with exit 2 and a message naming it", function()
    for args, want in pairs({
      ["--format xml"] = "unknown format 'xml'",
      ["--days 0"] = "not a positive whole number",
      ["--days"] = "needs a value",
      ["--colour red"] = "unknown option '--colour'",
      ["stray"] = "unexpected argument 'stray'",
    }) do
      local code, _, err = run("daily_metrics", args)
      assert.are.equal(2, code, args)
      assert.truthy(err:find(want, 1, true), err)
    end
    local code, _, err = run("privacy_dashboard")
    assert.are.equal(2, code)
    assert.truthy(err:find("--wallet is required", 1, true), err)
    code, _, err = run("privacy_dashboard", "--wallet 0x9999999999999999999999999999999999999999")
    assert.are.equal(1, code)
    assert.truthy(err:find("no user has wallet", 1, true), err)
    code, _, err = run("privacy_dashboard", "--wallet nope")
    assert.are.equal(1, code)
    assert.truthy(err:find("not a wallet address", 1, true), err)
    local out
    code, out = run("daily_metrics", "--help")
    assert.are.equal(0, code)
    assert.truthy(out:find("--days", 1, true), out)
  end)

  it("runs from Lua on a given connection, with the same formatter", function()
    local sections = assert(report.run("pool_analytics", {}, db))
    assert.are.equal(1, #sections)
    local text = report.render(sections, "csv")
    assert.truthy(text:find("^pool_name,"), text)
    sections = assert(report.run("db_health", { limit = 2 }, db))
    assert.are.same({ "tables", "indexes", "slow statements", "connections" },
                    { sections[1].title, sections[2].title, sections[3].title, sections[4].title })
    assert.has_error(function() report.render(sections, "xml") end)
    -- options left out take their defaults, as on the command line
    local daily = assert(report.run("daily_metrics", {}, db))
    assert.truthy(#daily[1].rows > 0)
    local none, err = report.run("privacy_dashboard", {}, db)
    assert.is_nil(none)
    assert.truthy(err:find("wallet is required", 1, true), err)
    none, err = report.run("daily_metrics", { colour = "red" }, db)
    assert.is_nil(none)
    assert.truthy(err:find("unknown option 'colour'", 1, true), err)
  end)
end)
