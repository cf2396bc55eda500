-- The demo data: the idempotent loader and the COPY generator, on a scratch
-- database of their own so the other specs see stable data (needs: cluster).
local enigma = require "enigma"
local BIN = assert(os.getenv("ENIGMA_BIN"))

local run = require("shell").run

describe("demo data", function()
  local url, db, env

  setup(function()
    local admin <close> = assert(enigma.db.connect(require("admin")()))
    assert(admin:exec("drop database if exists demo_spec with (force)"))
    assert(admin:exec("create database demo_spec"))
    local _, out = run(BIN .. " db url")
    url = out:gsub("%s+$", ""):gsub("^postgresql:///enigma%?", "postgresql:///demo_spec?")
    env = "ENIGMA_DATABASE_URL='" .. url .. "' "
    local code, _, err = run(env .. BIN .. " migrate")
    assert(code == 0, err)
    db = assert(enigma.db.connect(url))
  end)

  teardown(function()
    db:close()
    local admin <close> = assert(enigma.db.connect(require("admin")()))
    admin:exec("drop database if exists demo_spec with (force)")
  end)

  local function counts()
    return db:query([[select (select count(*) from users) as users, (select count(*) from ai_agents) as agents,
                             (select count(*) from privacy_deposits) as deposits,
                             (select count(*) from transactions) as txs]])[1]
  end

  it("loads the sample data idempotently", function()
    local code, out, err = run(env .. BIN .. " run scripts/demo/load.lua")
    assert.are.equal(0, code, err)
    assert.matches("demo data loaded: 5 users", out)
    local first = counts()
    code = run(env .. BIN .. " run scripts/demo/load.lua")
    assert.are.equal(0, code)
    assert.are.same(first, counts())
    assert.are.equal(7, first.agents)
  end)

  it("generates volumes through COPY with a progress line", function()
    local before = counts()
    local code, _, err = run(env .. BIN .. " run scripts/demo/generate.lua --users 50 --deposits 300 --transactions 2000 --seed 5")
    assert.are.equal(0, code, err)
    assert.matches("transactions +2000/2000 +100%%", err)
    local after = counts()
    assert.are.equal(before.users + 50, after.users)
    assert.are.equal(before.deposits + 300, after.deposits)
    assert.are.equal(before.txs + 2000, after.txs)
    -- every generated row belongs to a generated user, and the amounts are exact
    assert.are.equal(0, db:query([[select count(*) as n from transactions t
                                    where not exists (select 1 from users u where u.id = t.user_id)]])[1].n)
  end)

  it("writes the same rows as CSV for psql", function()
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir -p " .. dir)
    local code, _, err = run(env .. BIN .. " run scripts/demo/generate.lua --transactions 100 --seed 9 --csv " .. dir)
    assert.are.equal(0, code, err)
    local f = assert(io.open(dir .. "/transactions.csv"))
    local n = 0
    for _ in f:lines() do n = n + 1 end
    f:close()
    os.execute("rm -rf " .. dir)
    assert.are.equal(100, n)
  end)

  it("rejects bad options with usage, exit 2", function()
    local code, _, err = run(BIN .. " run scripts/demo/generate.lua --users many")
    assert.are.equal(2, code)
    assert.matches("%-%-users needs a whole number", err)
    code, _, err = run(BIN .. " run scripts/demo/generate.lua --frobnicate 1")
    assert.are.equal(2, code)
    assert.matches("unknown option", err)
  end)
end)
