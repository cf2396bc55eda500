-- Least privilege (issue 14): the runtime's login, and as_user as a boundary (needs: cluster).
-- Every escape an attacker tried inside db:as_user, each of which must fail or see nothing;
-- afterwards the runtime's connection and the next user's as_user are as before.
local enigma = require "enigma"
local shell = require "shell"
local admin_url = require "admin"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local ALICE = { sub = "11111111-1111-4111-8111-111111111111" }
local BOB_WALLET = "0x2222222222222222222222222222222222222222"
local ALICE_WALLET = "0x1111111111111111111111111111111111111111"
local BOBS_KEYS = "select viewing_key from stealth_addresses where user_wallet = $1"

describe("least privilege", function()
  local db, admin
  setup(function()
    db = assert(enigma.db.connect())
    admin = assert(enigma.db.connect(admin_url()))
  end)
  teardown(function()
    db:close()
    admin:close()
  end)

  local function identity(conn)
    return conn:query("select current_user as cu, session_user as su, "
      .. "(select rolsuper from pg_roles where rolname = session_user) as super")[1]
  end

  -- The runtime is as it was, and the next user sees their own rows only.
  local function unaffected()
    local me = identity(db)
    assert.are.same({ "service_role", "enigma_runtime", false }, { me.cu, me.su, me.super })
    assert.are.equal("public, pg_temp", db:query("select current_setting('search_path') as p")[1].p)
    assert.are.equal("users", db:query("select 'users'::regclass::text as t")[1].t)   -- not pg_temp_N.users
    local who, mine, bobs, uid = db:as_user(ALICE, function(tx)
      return tx:query("select current_user as u")[1].u,
             #tx:query(BOBS_KEYS, ALICE_WALLET), #tx:query(BOBS_KEYS, BOB_WALLET),
             tx:query("select auth.uid() as uid")[1].uid
    end)
    assert.are.same({ "authenticated", 0, ALICE.sub }, { who, bobs, uid })
    assert.is_true(mine > 0)
    local anon_uid, path = db:as_user({ role = "anon" }, function(tx)
      return tx:query("select auth.uid() as uid, current_setting('search_path') as p")[1].uid,
             tx:query("select current_setting('search_path') as p")[1].p
    end)
    assert.are.equal(enigma.null, anon_uid)
    assert.are.equal("public, pg_temp", path)
  end

  it("has the demo's keys for the victim", function()
    assert.is_true(#admin:query(BOBS_KEYS, BOB_WALLET) > 0)
  end)

  describe("the runtime's login", function()
    it("is enigma_runtime, not a superuser, acting as service_role", function()
      local me = identity(db)
      assert.are.same({ "service_role", "enigma_runtime", false }, { me.cu, me.su, me.super })
    end)

    it("creates nothing in the schema, and its temp tables shadow nothing", function()
      assert.is_nil(db:exec("create table public.pwned (id int)"))
      assert.is_nil(db:exec("truncate users"))
      assert(db:exec("create temp table users (id int)"))
      assert.is_true(db:query("select count(*)::int as n from users")[1].n > 0)   -- public.users
      unaffected()
      assert(db:exec("drop table pg_temp.users"))
    end)

    it("can become no superuser", function()
      for _, sql in ipairs({ "set role postgres", "set session authorization postgres",
                             "select set_config('role', 'postgres', false)" }) do
        local n, msg = db:exec(sql)
        assert.is_nil(n, sql)
        assert.matches("permission denied", msg)
      end
      unaffected()
    end)

    it("has rights to nothing as itself; RESET ROLE goes back to service_role", function()
      assert.are.equal(0, db:exec("set role none"))
      assert.are.equal("enigma_runtime", identity(db).cu)
      assert.is_nil(db:query("select 1 from users limit 1"))
      assert.are.equal(0, db:exec("reset role"))
      unaffected()
    end)
  end)

  describe("as_user", function()
    local escapes = {
      "reset role",
      "set role postgres",
      "set role enigma_runtime",
      "set role service_role",
      "set role agent_executor",
      "set session authorization postgres",
      "set session authorization enigma_runtime",
      "select set_config('role', 'postgres', false)",
      "select set_config('role', 'service_role', true)",
      "select set_config('request.jwt.claims', '{\"role\": \"service_role\"}', true)",
      "select refresh_agent_leaderboard()",
      "select archive_old_deposits()",
      "select update_pool_statistics()",
      "create temp table users (id int)",
      "create temporary table stealth_addresses as select 1",
      "create table public.pwned (id int)",
      "reset all",
      "set search_path = pg_temp, public",
    }
    for _, escape in ipairs(escapes) do
      it("does not give the body other rights or rows after: " .. escape, function()
        local ok, rows = pcall(db.as_user, db, ALICE, function(tx)
          tx:query(escape)
          return tx:query(BOBS_KEYS, BOB_WALLET)
        end)
        assert.is_true(not ok or #rows == 0, escape)
        unaffected()
      end)
    end

    it("refuses a SECURITY DEFINER function of a privileged role", function()
      assert(admin:exec([[create or replace function public.privilege_spec_definer() returns name
        language sql security definer set search_path = pg_catalog as 'select current_user']]))
      local ok, err = pcall(db.as_user, db, ALICE, function(tx)
        return tx:query("select public.privilege_spec_definer() as who")[1].who
      end)
      assert(admin:exec("drop function public.privilege_spec_definer()"))
      assert.is_false(ok, err)
      assert.matches("permission denied for function", tostring(err))
      unaffected()
    end)

    it("keeps a session-level change of one body from the next user", function()
      db:as_user(ALICE, function(tx)
        tx:query("select set_config('request.jwt.claims', '{\"sub\": \"22222222-2222-4222-8222-222222222222\"}', false)")
        tx:query("set role anon")
        tx:query("set search_path = pg_catalog")
        tx:exec("commit")                 -- the body leaves the transaction: its settings stay
      end)
      unaffected()
    end)

    it("runs the body on a gateway login that can become only anon and authenticated", function()
      local rows = db:as_user(ALICE, function(tx)
        return tx:query([[select session_user as su, r.rolsuper, r.rolinherit,
          array(select m.rolname::text from pg_roles m
                 where m.oid <> r.oid and pg_has_role(r.oid, m.oid, 'MEMBER') order by 1) as may
          from pg_roles r where r.rolname = session_user]])
      end)
      assert.are.equal("enigma_gateway", rows[1].su)
      assert.is_false(rows[1].rolsuper)
      assert.is_false(rows[1].rolinherit)
      assert.are.same({ "anon", "authenticated" }, rows[1].may)
    end)

    it("keeps service_role on the runtime's own connection", function()
      local who, n = db:as_user({ role = "service_role" }, function(tx)
        return tx:query("select session_user as su")[1].su, #tx:query(BOBS_KEYS, BOB_WALLET)
      end)
      assert.are.equal("enigma_runtime", who)
      assert.is_true(n > 0)
    end)

    it("refuses a gateway login that can do more (ENIGMA_GATEWAY_URL of a superuser)", function()
      local script = os.tmpname()
      local f = assert(io.open(script, "w"))
      f:write([[local db = assert(require("enigma").db.connect())
        db:as_user({ sub = "11111111-1111-4111-8111-111111111111" }, function() end)]])
      f:close()
      local code, _, err = shell.run(("ENIGMA_GATEWAY_URL=%s %s run %s"):format(
        shell.quote(admin_url()), BIN, script))
      os.remove(script)
      assert.are_not.equal(0, code)
      assert.matches("EGATEWAY", err)
      assert.matches("as_user login postgres is a superuser", err)
    end)
  end)

  describe("temporary objects", function()
    it("are nobody's but the owner's and the platform's (service_role)", function()
      assert.is_true(admin:query("select has_database_privilege('service_role', current_database(), 'TEMP') as t")[1].t)
      for _, role in ipairs({ "public", "anon", "authenticated", "app_service_role",
                              "analytics_readonly", "agent_executor", "enigma_runtime", "enigma_gateway" }) do
        local rows
        if role == "public" then
          rows = admin:query([[select bool_or(privilege_type = 'TEMPORARY') as t
            from aclexplode((select datacl from pg_database where datname = current_database()))
           where grantee = 0]])
        else
          rows = admin:query("select has_database_privilege($1, current_database(), 'TEMP') as t", role)
        end
        assert.is_not_true(rows[1].t, role)
      end
    end)
  end)

  describe("the command line", function()
    it("db url prints the superuser's URL, --runtime the runtime's", function()
      local code, out = shell.run(BIN .. " db url")
      assert.are.equal(0, code)
      assert.matches("user=postgres\n$", out)
      code, out = shell.run(BIN .. " db url --runtime")
      assert.are.equal(0, code)
      assert.matches("user=enigma_runtime\n$", out)
    end)

    it("enigma run connects as enigma_runtime", function()
      local script = os.tmpname()
      local f = assert(io.open(script, "w"))
      f:write([[local r = require("enigma").db.connect():query(
        "select session_user as su, (select rolsuper from pg_roles where rolname = session_user) as s")[1]
        print(r.su, r.s)]])
      f:close()
      local code, out = shell.run(BIN .. " run " .. script)
      os.remove(script)
      assert.are.equal(0, code)
      assert.are.equal("enigma_runtime\tfalse\n", out)
    end)

    it("serve refuses a superuser login, naming what to use", function()
      local dir = os.tmpname()
      os.remove(dir)
      os.execute("mkdir " .. shell.quote(dir))
      local code, _, err = shell.run(("ENIGMA_DATABASE_URL=%s %s serve --jobs %s --no-agents"):format(
        shell.quote(admin_url()), BIN, shell.quote(dir)))
      os.execute("rmdir " .. shell.quote(dir))
      assert.are.equal(1, code)
      assert.matches("login postgres is a superuser; serve logs in as enigma_runtime", err)
    end)
  end)

  describe("what one body leaves in the gateway's session", function()
    local MALLORY = { sub = "33333333-3333-4333-8333-333333333333" }

    it("a statement prepared again under the name the cache runs is not run for the next user", function()
      db:as_user(MALLORY, function(tx)
        tx:query(BOBS_KEYS, "0x0")          -- cached under an enigma_N name on the gateway
        local name = tx:query("select name from pg_prepared_statements where statement = $1", BOBS_KEYS)[1].name
        assert.truthy(name:match("^enigma_%d+$"), name)
        tx:exec("deallocate " .. name)
        tx:exec("prepare " .. name .. "(text) as select 'poisoned' as viewing_key")
      end)
      local keys = db:as_user(ALICE, function(tx) return tx:query(BOBS_KEYS, ALICE_WALLET) end)
      assert.is_true(#keys > 0)
      for _, k in ipairs(keys) do assert.are_not.equal("poisoned", k.viewing_key) end
      local left = db:as_user(ALICE, function(tx)
        return tx:query("select count(*) as n from pg_prepared_statements where statement like 'prepare%'")[1].n
      end)
      assert.are.equal(0, left)               -- and the earlier body's statements are gone
    end)

    it("LISTENs and session advisory locks are gone for the next user", function()
      db:as_user(MALLORY, function(tx)
        tx:exec("listen mallory_chan")
        tx:query("select pg_advisory_lock(4242)")
      end)
      local locks = db:as_user(ALICE, function(tx)
        return tx:query("select count(*) as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()")[1].n
      end)
      assert.are.equal(0, locks)
      -- UNLISTEN is transactional: it runs in the next body's transaction and holds from its commit
      local chans = db:as_user(ALICE, function(tx) return #tx:query("select pg_listening_channels()") end)
      assert.are.equal(0, chans)
      unaffected()
    end)
  end)
end)
