-- The migrated schema: the seed's objects with its errata fixed (needs: cluster).
local enigma = require "enigma"
local admin_url = require "admin"   -- the superuser: other backends, extensions
local decimal = enigma.decimal

local function read(path)
  local f = assert(io.open(path))
  local s = f:read("a")
  f:close()
  return s
end

-- spec/support/seed_queries.sql: "-- name: x" then one statement.
local function seed_queries()
  local list = {}
  for name, sql in read("spec/support/seed_queries.sql"):gmatch("%-%- name: ([%w_]+)\n(.-;)") do
    list[#list + 1] = { name = name, sql = sql }
  end
  return list
end

describe("schema", function()
  local db
  setup(function() db = assert(enigma.db.connect(admin_url())) end)
  teardown(function() db:close() end)

  -- Runs fn in a transaction that is always rolled back.
  local function scratch(fn)
    local _, err = pcall(db.transaction, db, function(tx) fn(tx); error("rollback", 0) end)
    if err ~= "rollback" then error(err, 0) end
  end

  it("has every table, view and materialized view of the seed", function()
    local want = {
      ai_agents = "r", pool_statistics = "r", privacy_deposits = "r", stealth_addresses = "r",
      transactions = "p", user_agents = "r", user_portfolios = "r", users = "r",
      privacy_deposits_archive = "r", pool_statistics_history = "p",
      pool_analytics = "v", user_privacy_dashboard = "v", daily_platform_metrics = "v",
      agent_performance_trends = "v", agent_leaderboard = "m",
    }
    for name, kind in pairs(want) do
      local rows = db:query("select relkind from pg_class where oid = to_regclass($1)", "public." .. name)
      assert.are.equal(kind, rows[1] and rows[1].relkind, name)
    end
  end)

  it("has the seed's indexes, less the duplicates E12 and E29 drop", function()
    local kept = {
      "idx_ai_agents_type_active", "idx_ai_agents_reputation", "idx_ai_agents_execution_time",
      "idx_ai_agents_yield", "idx_ai_agents_search", "idx_pool_stats_type_chain",
      "idx_pool_stats_privacy_score", "idx_pool_stats_volume_24h", "idx_deposits_user_wallet",
      "idx_deposits_status", "idx_deposits_created", "idx_deposits_privacy_level", "idx_deposits_active",
      "idx_stealth_addresses_wallet", "idx_stealth_addresses_used", "idx_stealth_addresses_commitment",
      "idx_stealth_addresses_metadata", "idx_transactions_wallet_status", "idx_transactions_type_created",
      "idx_transactions_hash", "idx_transactions_block", "idx_transactions_agent",
      "idx_transactions_privacy_time", "idx_transactions_token_amount", "idx_transactions_metadata",
      "idx_transactions_tags", "idx_user_agents_agent", "idx_user_agents_performance",
      "idx_agent_leaderboard_ranking", "idx_deposits_privacy_time_amount", "idx_agents_active_optimized",
      "idx_user_agents_active_users",
    }
    for _, name in ipairs(kept) do
      assert.are.equal(1, #db:query("select 1 from pg_indexes where schemaname = 'public' and indexname = $1", name), name)
    end
    -- duplicates of a UNIQUE index, of a generated column, or of a wider index
    for _, name in ipairs({ "idx_deposits_commitment", "idx_stealth_addresses_stealth", "idx_pool_privacy_score",
                            "idx_user_agents_user", "idx_transactions_user_privacy_status" }) do
      assert.are.equal(0, #db:query("select 1 from pg_indexes where indexname = $1", name), name)
    end
    -- E29: the foreign keys it names are indexed
    for _, t in ipairs({ "transactions", "user_portfolios" }) do
      local n = db:query([[select count(*)::int as n from pg_index i join pg_attribute a
                             on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
                            where i.indrelid = to_regclass($1) and a.attname = 'user_id']], t)[1].n
      assert.is_true(n > 0, t)
    end
  end)

  it("has the seed's roles and the auth shim", function()
    for _, role in ipairs({ "anon", "authenticated", "service_role", "app_service_role",
                            "analytics_readonly", "agent_executor" }) do
      assert.are.equal(1, #db:query("select 1 from pg_roles where rolname = $1", role), role)
    end
    assert.is_true(db:query("select rolbypassrls from pg_roles where rolname = 'service_role'")[1].rolbypassrls)
    local row = db:query([[select auth.uid() as uid, auth.role() as role,
                                  auth.jwt() as jwt]])[1]
    assert.are.equal(enigma.null, row.uid)
  end)

  it("views run with the caller's rights", function()
    for _, v in ipairs({ "pool_analytics", "user_privacy_dashboard", "daily_platform_metrics",
                         "agent_performance_trends" }) do
      local opts = db:query("select reloptions from pg_class where oid = to_regclass($1)", v)[1].reloptions
      assert.is_truthy(opts ~= enigma.null and table.concat(opts, ","):find("security_invoker=true"), v)
    end
  end)

  it("forces RLS on the tables that hold users' data", function()
    for _, t in ipairs({ "privacy_deposits", "user_portfolios", "user_agents", "transactions",
                         "stealth_addresses", "pool_statistics", "ai_agents" }) do
      local r = db:query("select relrowsecurity, relforcerowsecurity from pg_class where oid = to_regclass($1)", t)[1]
      assert.is_true(r.relrowsecurity, t)
      assert.is_true(r.relforcerowsecurity, t)
    end
  end)

  for _, q in ipairs(seed_queries()) do
    it("runs the seed query " .. q.name, function()
      if q.name:match("^pg_stat_statements") then
        assert(db:exec("create extension if not exists pg_stat_statements"))
      end
      local rows, err = db:query(q.sql)
      assert.is_truthy(rows, err)
    end)
  end

  it("computes privacy_score with numeric division (E12): 50M pool, 2,500 mixers, 10,000 set -> 50.00", function()
    scratch(function(tx)
      tx:exec([[insert into pool_statistics (pool_type, pool_name, chain_id, total_pool_size, active_mixers, anonymity_set)
                values ('institutional', 'probe', 999, 50000000, 2500, 10000)]])
      local score = tx:query("select privacy_score from pool_statistics where chain_id = 999")[1].privacy_score
      assert.are.equal(decimal("50.00"), score)
      tx:exec("update pool_statistics set total_pool_size = 1e9, active_mixers = 4999, anonymity_set = 19999 where chain_id = 999")
      score = tx:query("select privacy_score from pool_statistics where chain_id = 999")[1].privacy_score
      assert.are.equal(decimal("99.99"), score)
    end)
  end)

  it("keeps 18 decimals of a token amount (E26)", function()
    scratch(function(tx)
      tx:exec([[insert into privacy_deposits (user_wallet, amount, privacy_level, anonymity_set, commitment_hash, nullifier_hash)
                values ($1, $2, 'standard', 10, 'c-probe', 'n-probe')]], "0x1111111111111111111111111111111111111111",
        decimal("0.000000001"))
      local amount = tx:query("select amount from privacy_deposits where commitment_hash = 'c-probe'")[1].amount
      assert.are.equal(decimal("0.000000001"), amount)
    end)
  end)

  it("maintains updated_at (E28)", function()
    scratch(function(tx)
      tx:exec("update ai_agents set updated_at = '2020-01-01' where agent_type = 'risk_shield'")
      tx:exec("update ai_agents set agent_version = agent_version where agent_type = 'risk_shield'")
      local r = tx:query("select updated_at > '2021-01-01' as fresh from ai_agents where agent_type = 'risk_shield'")[1]
      assert.is_true(r.fresh)
    end)
  end)

  it("upserts the main pool per chain from deposits (E25)", function()
    scratch(function(tx)
      tx:exec("delete from pool_statistics")
      tx:exec("select update_pool_statistics()")
      local rows = tx:query("select chain_id from pool_statistics where pool_type = 'main' order by chain_id")
      local chains = tx:query("select distinct chain_id from privacy_deposits order by chain_id")
      assert.are.equal(#chains, #rows)
      assert.is_true(#rows > 0)
    end)
  end)

  it("archives spent deposits older than two years, never unspent ones (E09, 011)", function()
    scratch(function(tx)
      tx:exec([[insert into privacy_deposits (user_wallet, amount, privacy_level, anonymity_set,
                  commitment_hash, nullifier_hash, status, processed_at)
                values ('0x1111111111111111111111111111111111111111', 1, 'standard', 10,
                        'c-old', 'n-old', 'withdrawn', now() - interval '3 years'),
                       ('0x1111111111111111111111111111111111111111', 1, 'standard', 10,
                        'c-unspent', 'n-unspent', 'completed', now() - interval '3 years')]])
      tx:exec("select archive_old_deposits()")
      assert.are.equal(0, #tx:query("select 1 from privacy_deposits where commitment_hash = 'c-old'"))
      assert.are.equal(1, #tx:query("select 1 from privacy_deposits_archive where commitment_hash = 'c-old'"))
      -- a completed deposit still belongs to its note: it stays where a withdrawal finds it
      assert.are.equal(1, #tx:query("select 1 from privacy_deposits where commitment_hash = 'c-unspent'"))
    end)
  end)

  it("refreshes the leaderboard concurrently (E05)", function()
    assert.is_truthy(db:exec("select refresh_agent_leaderboard()"))
    assert.is_true(#db:query("select * from agent_leaderboard") > 0)
  end)

  it("creates transaction partitions ahead, idempotently", function()
    scratch(function(tx)
      tx:query("select create_transaction_partitions(6)")
      local again = tx:query("select create_transaction_partitions(6) as n")[1].n
      assert.are.equal(0, again)
      local name = tx:query([[select 'transactions_y' || to_char(now() + interval '6 months', 'YYYY"m"MM') as n]])[1].n
      assert.are.equal(1, #tx:query("select 1 from pg_class where relname = $1", name))
    end)
  end)

  it("records pool statistics history", function()
    scratch(function(tx)
      local before = tx:query("select count(*)::int as n from pool_statistics_history")[1].n
      tx:exec("select record_pool_statistics_history()")
      local after = tx:query("select count(*)::int as n from pool_statistics_history")[1].n
      assert.are.equal(before + tx:query("select count(*)::int as n from pool_statistics")[1].n, after)
    end)
  end)
end)
