-- Row-level security as the seed meant it, through as_user (needs: cluster).
-- The demo data (scripts/demo/sample.sql) has two users with rows of every kind.
local enigma = require "enigma"
local admin_url = require "admin"

local ALICE = { sub = "11111111-1111-4111-8111-111111111111" }
local ALICE_WALLET = "0x1111111111111111111111111111111111111111"
local BOB = { sub = "22222222-2222-4222-8222-222222222222" }
local BOB_WALLET = "0x2222222222222222222222222222222222222222"
local ANON = { role = "anon" }

describe("row-level security", function()
  local db
  setup(function() db = assert(enigma.db.connect()) end)
  teardown(function() db:close() end)

  -- Runs fn as `claims`; returns what fn returns, or nil, err if it raised.
  local function as(claims, fn)
    local ok, a, b = pcall(db.as_user, db, claims, fn)
    if ok then return a, b end
    return nil, a
  end

  local function count(sql, ...)
    return db:query(sql, ...)[1].n
  end

  it("has demo data for both users", function()
    assert.is_true(count("select count(*)::int as n from privacy_deposits where user_wallet = $1", ALICE_WALLET) > 0)
    assert.is_true(count("select count(*)::int as n from privacy_deposits where user_wallet = $1", BOB_WALLET) > 0)
  end)

  for _, t in ipairs({ "privacy_deposits", "user_portfolios", "transactions", "stealth_addresses" }) do
    it("shows a user only their own " .. t, function()
      local mine, others = as(ALICE, function(tx)
        return tx:query("select count(*)::int as n from " .. t .. " where user_wallet = $1", ALICE_WALLET)[1].n,
               tx:query("select count(*)::int as n from " .. t .. " where user_wallet <> $1", ALICE_WALLET)[1].n
      end)
      assert.are.equal(count("select count(*)::int as n from " .. t .. " where user_wallet = $1", ALICE_WALLET), mine)
      assert.are.equal(0, others)
    end)
  end

  it("shows a user only their own agent activations", function()
    local rows = as(BOB, function(tx) return tx:query("select user_id from user_agents") end)
    assert.is_true(#rows > 0)
    for _, r in ipairs(rows) do assert.are.equal(BOB.sub, r.user_id) end
  end)

  it("ignores a wallet claim that is not the user's own", function()
    local n = as({ sub = ALICE.sub, wallet_address = BOB_WALLET }, function(tx)
      return tx:query("select count(*)::int as n from privacy_deposits where user_wallet = $1", BOB_WALLET)[1].n
    end)
    assert.are.equal(0, n)
  end)

  describe("money and status columns", function()
    local writes = {
      { "update privacy_deposits set amount = 999999 where user_wallet = $1", ALICE_WALLET },
      { "update privacy_deposits set status = 'completed', verification_status = 'verified' where user_wallet = $1", ALICE_WALLET },
      { "delete from privacy_deposits where user_wallet = $1", ALICE_WALLET },
      { "update user_portfolios set total_value = 1e9 where user_wallet = $1", ALICE_WALLET },
      { "update user_agents set status = 'active', total_profit = 1e6 where user_id = $1", ALICE.sub },
      { "insert into transactions (user_wallet, tx_type, category, amount) values ($1, 'token_transfer', 'transfer', 1)", ALICE_WALLET },
      { "update transactions set amount = 0 where user_wallet = $1", ALICE_WALLET },
    }
    for _, w in ipairs(writes) do
      it("cannot be changed by their owner: " .. w[1]:match("^%a+ %a* ?[%w_]+"), function()
        local target = w[1]:match("^update ([%w_]+)") or w[1]:match("^%a+ %a+ ([%w_]+)")
        local digest = "select md5(coalesce(string_agg(t::text, ',' order by t::text), '')) as h from " .. target .. " t"
        local before = db:query(digest)[1].h
        local affected, err = as(ALICE, function(tx) return tx:exec(w[1], w[2]) end)
        assert.is_true(affected == nil or affected == 0, "the write went through")
        if affected == nil then assert.are.equal("42501", err.sqlstate) end
        assert.are.equal(before, db:query(digest)[1].h)
      end)
    end
  end)

  describe("anon", function()
    it("reads public pool statistics", function()
      local n = as(ANON, function(tx) return tx:query("select count(*)::int as n from pool_statistics")[1].n end)
      assert.are.equal(count("select count(*)::int as n from pool_statistics"), n)
      assert.is_true(n > 0)
    end)

    it("reads active agents only", function()
      -- as_user's body is a transaction of its own (on the gateway): an uncommitted change
      -- is seen as anon by taking the role in the same transaction, on the superuser's side.
      local admin <close> = assert(enigma.db.connect(admin_url()))
      local ok, err = pcall(admin.transaction, admin, function(tx)
        tx:exec("update ai_agents set active = false where agent_type = 'strategy_bot'")
        local active = tx:query("select count(*)::int as n from ai_agents where active")[1].n
        tx:query("select set_config('role', 'anon', true)")
        local seen = tx:query("select count(*)::int as n from ai_agents")[1].n
        local inactive = tx:query("select count(*)::int as n from ai_agents where not active")[1].n
        assert.are.equal(active, seen)
        assert.are.equal(0, inactive)
        error({ rollback = true })
      end)
      assert.is_false(ok)
      assert.are.same({ rollback = true }, err)
    end)

    local writes = {
      "insert into ai_agents (agent_type, agent_name, description) values ('risk_shield', 'x', 'y')",
      "update pool_statistics set total_pool_size = 0",
      "delete from pool_statistics",
      "update ai_agents set reputation_score = 100",
    }
    for _, sql in ipairs(writes) do
      it("writes nothing: " .. sql:match("^%a+ %a* ?[%w_]+"), function()
        local affected, err = as(ANON, function(tx) return tx:exec(sql) end)
        assert.is_true(affected == nil or affected == 0)
        if affected == nil then assert.are.equal("42501", err.sqlstate) end
      end)
    end

    it("sees no private rows", function()
      for _, t in ipairs({ "privacy_deposits", "user_portfolios", "transactions", "user_agents", "stealth_addresses" }) do
        local n, err = as(ANON, function(tx) return tx:query("select count(*)::int as n from " .. t)[1].n end)
        assert.is_true(n == 0 or (n == nil and err.sqlstate == "42501"), t)
      end
    end)
  end)

  describe("stealth-address keys", function()
    it("are readable by their owner", function()
      local rows = as(ALICE, function(tx)
        return tx:query("select viewing_key, spending_key_encrypted from stealth_addresses")
      end)
      assert.is_true(#rows > 0)
    end)

    for _, role in ipairs({ "anon", "analytics_readonly", "agent_executor", "app_service_role" }) do
      it("are not readable by " .. role, function()
        local ok, err = pcall(db.transaction, db, function(tx)
          tx:query("select set_config('role', $1, true)", role)
          return tx:query("select viewing_key from stealth_addresses")
        end)
        assert.is_false(ok)
        assert.are.equal("42501", err.sqlstate)
        ok, err = pcall(db.transaction, db, function(tx)
          tx:query("select set_config('role', $1, true)", role)
          return tx:query("select spending_key_encrypted from stealth_addresses")
        end)
        assert.is_false(ok)
        assert.are.equal("42501", err.sqlstate)
      end)
    end

    it("are readable by service_role", function()
      local rows = as({ role = "service_role" }, function(tx)
        return tx:query("select viewing_key from stealth_addresses")
      end)
      assert.are.equal(count("select count(*)::int as n from stealth_addresses"), #rows)
    end)
  end)

  describe("views", function()
    it("user_privacy_dashboard shows only the user's own row", function()
      local rows = as(ALICE, function(tx) return tx:query("select user_wallet from user_privacy_dashboard") end)
      assert.are.equal(1, #rows)
      assert.are.equal(ALICE_WALLET, rows[1].user_wallet)
      assert.is_true(count("select count(*)::int as n from user_privacy_dashboard") > 1)
    end)

    it("user_privacy_dashboard counts only the user's own deposits", function()
      local seen = as(BOB, function(tx) return tx:query("select total_privacy_deposits as n from user_privacy_dashboard")[1].n end)
      assert.are.equal(count("select count(*)::int as n from privacy_deposits where user_wallet = $1", BOB_WALLET), seen)
    end)

    it("daily_platform_metrics is for analytics, not for end users", function()
      local seen, err = as(ALICE, function(tx)
        return tx:query("select coalesce(sum(total_transactions), 0)::int as n from daily_platform_metrics")[1].n
      end)
      assert.is_nil(seen)
      assert.are.equal("42501", err.sqlstate)
      local admin <close> = assert(enigma.db.connect(admin_url()))
      local all = admin:transaction(function(tx)
        tx:exec("set local role analytics_readonly")
        return tx:query("select coalesce(sum(total_transactions), 0)::int as n from daily_platform_metrics")[1].n
      end)
      assert.are.equal(count([[select count(*)::int as n from transactions
                                where created_at >= current_date - interval '30 days']]), all)
    end)

    it("anon sees no user's dashboard", function()
      local n, err = as(ANON, function(tx) return #tx:query("select * from user_privacy_dashboard") end)
      assert.is_true(n == 0 or (n == nil and err.sqlstate == "42501"))
    end)
  end)
end)
