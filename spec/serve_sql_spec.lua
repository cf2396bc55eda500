-- The statements of enigma serve (lua/enigma/serve/sql/*.sql), each on its own against the schema
-- (needs: cluster): every one is accepted by PREPARE (so its tables, columns, functions and
-- parameter types exist), and every one is used by the code, every name the code asks for exists.
local enigma = require "enigma"
local service = require "enigma.serve.service"

local DIR = enigma.paths.lua .. "/enigma/serve/sql"

local function files()
  local names = {}
  for _, f in ipairs(assert(enigma.sched.listdir(DIR))) do
    local name = f:match("^(.+)%.sql$")
    if name then names[#names + 1] = name end
  end
  table.sort(names)
  return names
end

-- The names the Lua half asks service.sql for: literal ones, and the SQL.<x> of a module whose
-- service.statements table prefixes "jobs_" or "agents_", plus the listener's catch-up table.
local function used_names()
  local used = {}
  for _, rel in ipairs({ "serve/runner.lua", "serve/agents.lua", "serve/listener.lua",
                         "cli/serve.lua", "cli/agents.lua" }) do
    local f = assert(io.open(enigma.paths.lua .. "/enigma/" .. rel))
    local src = f:read("a")
    f:close()
    local prefix = src:match('service%.statements%("(%a+_)"%)')
    for name in src:gmatch('service%.sql%("([%w_]+)"%)') do used[name] = true end
    if prefix then
      for name in src:gmatch("SQL%.([%w_]+)") do used[prefix .. name] = true end
    end
  end
  for _, name in pairs(require("enigma.serve.listener").CATCHUP) do used[name] = true end
  return used
end

describe("serve's SQL files", function()
  local db
  setup(function() db = assert(enigma.db.connect()) end)
  teardown(function() db:close() end)

  it("are there", function()
    assert.is_true(#files() >= 20, DIR)
  end)

  for _, name in ipairs(files()) do
    it(name .. ".sql is accepted by PREPARE", function()
      local ok, msg, code = db:exec("prepare serve_sql_check as " .. service.sql(name))
      assert.truthy(ok, ("%s.sql: %s (%s)"):format(name, tostring(msg), tostring(code)))
      assert(db:exec("deallocate serve_sql_check"))
    end)
  end

  it("are each used, and each name used has a file", function()
    local used, have = used_names(), {}
    for _, name in ipairs(files()) do
      have[name] = true
      assert.truthy(used[name], name .. ".sql is used by nothing")
    end
    for name in pairs(used) do assert.truthy(have[name], "no " .. name .. ".sql") end
  end)

  it("agents_tick_rows gives one row per activation, even for a user with two portfolios", function()
    local act = assert(db:query("select id, user_id from user_agents order by id limit 1"))[1]
    local ok, err = pcall(db.transaction, db, function(tx)
      tx:exec("insert into user_portfolios (user_wallet, user_id, total_value) values ($1, $2, 1)",
              "0x" .. ("ab"):rep(20), act.user_id)
      assert.is_true(#tx:query("select 1 from user_portfolios where user_id = $1", act.user_id) >= 2)
      local rows = tx:query(service.sql("agents_tick_rows"), { act.id })
      assert.are.equal(1, #rows)
      assert.are.equal(act.id, rows[1].id)
      error("rollback", 0)
    end)
    assert.is_false(ok)
    assert.are.equal("rollback", err)
  end)

  it("a broken statement is refused, so the check can fail", function()
    local ok, _, code = db:exec("prepare serve_sql_check as select no_such_column from job_runs")
    assert.is_nil(ok)
    assert.are.equal("42703", code)
  end)
end)
