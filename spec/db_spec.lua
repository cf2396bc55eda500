-- enigma.db against the embedded cluster (needs: cluster).
local enigma = require "enigma"
local admin_url = require "admin"   -- tables of its own: the superuser's connection
local decimal = enigma.decimal
local null = enigma.null

describe("enigma.db", function()
  local db
  before_each(function() db = assert(enigma.db.connect(admin_url())) end)
  after_each(function() db:close() end)

  describe("type mapping", function()
    it("maps each column type to its Lua type", function()
      local row = db:query([[
        select 1::int2 as i2, 2147483647::int4 as i4, 9223372036854775807::int8 as i8,
               1.5::float8 as f8, 0.25::float4 as f4, true as yes, false as no,
               'text'::text as t, 'v'::varchar(3) as v,
               '7f2c7c1e-2c8a-4f38-9d8e-3d5f4b0c9a11'::uuid as u]])[1]
      assert.are.equal(1, row.i2)
      assert.are.equal(math.type(row.i8), "integer")
      assert.are.equal(9223372036854775807, row.i8)        -- int8 is exact
      assert.are.equal(1.5, row.f8)
      assert.are.equal(0.25, row.f4)
      assert.is_true(row.yes)
      assert.is_false(row.no)
      assert.are.equal("text", row.t)
      assert.are.equal("v", row.v)
      assert.are.equal("7f2c7c1e-2c8a-4f38-9d8e-3d5f4b0c9a11", row.u)
    end)

    it("reads numeric as an exact decimal", function()
      local row = db:query("select 1.000000000000000001::numeric(38,18) as a, 123456789012345678901234567890 as b")[1]
      assert.is_true(decimal.isdecimal(row.a))
      assert.are.equal("1.000000000000000001", tostring(row.a))
      assert.are.equal("123456789012345678901234567891", tostring(row.b + 1))
      assert.are.equal(decimal("2.000000000000000001"), row.a + 1)
    end)

    it("keeps SQL NULL as enigma.null, so a row never loses a column", function()
      local rows = db:query("select null::int as a, null::jsonb as b, 1 as c")
      assert.are.equal(null, rows[1].a)
      assert.are.equal(null, rows[1].b)
      assert.are.same({ "a", "b", "c" }, rows.columns)
      assert.are.equal(require("cjson").null, null)
    end)

    it("reads timestamptz as ISO-8601 UTC whatever the session time zone", function()
      db:transaction(function(tx)
        tx:exec("set local timezone = 'America/Los_Angeles'")
        local row = tx:query("select '2024-12-01 02:00:00.25+00'::timestamptz as t, '2024-12-01 02:00'::timestamp as l")[1]
        assert.are.equal("2024-12-01T02:00:00.25Z", row.t)
        assert.are.equal("2024-12-01T02:00:00", row.l)
      end)
    end)

    it("decodes json and jsonb, arrays and bytea", function()
      local row = db:query([[select '{"a": [1, null, "x"], "b": {"c": true}}'::jsonb as j,
                                     '[1,2]'::json as k, '{1,NULL,3}'::int[] as ints,
                                     '{{"a b","c"},{"d\"e",NULL}}'::text[] as texts,
                                     '{1.5,2.25}'::numeric[] as nums, '\x00ff41'::bytea as bin]])[1]
      assert.are.equal(1, row.j.a[1])
      assert.are.equal(null, row.j.a[2])
      assert.is_true(row.j.b.c)
      assert.are.same({ 1, 2 }, row.k)
      assert.are.same({ 1, null, 3 }, row.ints)
      assert.are.same({ { "a b", "c" }, { 'd"e', null } }, row.texts)
      assert.are.equal("2.25", tostring(row.nums[2]))
      assert.are.equal("\0\255A", row.bin)
    end)
  end)

  describe("parameters", function()
    it("sends Lua values with their SQL meaning", function()
      local row = db:query([[select $1::int8 as i, $2::float8 as f, $3::numeric as d, $4::bool as b,
                                    $5::text as n, $6::jsonb as j, $7::int[] as a, $8::text[] as t,
                                    $9::bytea as bin, $10::text as nul]],
        9007199254740993, 0.1, decimal("1.000000000000000001"), true, nil,
        { big = 1234567890123456789, list = { 1, 2 } }, { 1, 2, 3 }, { 'a "q"', "b\\c", null },
        "\0\1\2", null)[1]
      assert.are.equal(9007199254740993, row.i)               -- beyond 2^53: exact
      assert.are.equal(0.1, row.f)                            -- full precision
      assert.are.equal("1.000000000000000001", tostring(row.d))
      assert.is_true(row.b)
      assert.are.equal(null, row.n)
      assert.are.same({ 1, 2 }, row.j.list)
      assert.are.same({ 1, 2, 3 }, row.a)
      assert.are.same({ 'a "q"', "b\\c", null }, row.t)
      assert.are.equal("\0\1\2", row.bin)
      assert.are.equal(null, row.nul)
      local exact = db:query("select ($1::jsonb ->> 'big') as big", { big = 1234567890123456789 })[1]
      assert.are.equal("1234567890123456789", exact.big)  -- JSON parameters keep integers exact
    end)

    it("raises on a wrong parameter count", function()
      assert.has_error(function() db:query("select $1::int, $2::int", 1) end,
        "the statement takes 2 parameters but 1 was given")
      assert.has_error(function() db:exec("select 1", 1) end,
        "the statement takes 0 parameters but 1 was given")
    end)

    it("raises on values that have no SQL form, naming the argument", function()
      assert.has_error(function() db:query("select $1::text, $2::text", "ok", print) end,
        "bad argument #3 to 'query' (a function cannot be a query parameter)")
      assert.has_error(function() db:query("select $1::text", "a\0b") end,
        "bad argument #2 to 'query' (string contains a zero byte; send binary data to a bytea column)")
    end)

    it("returns nil, message, sqlstate when the server rejects a value", function()
      local rows, msg, state = db:query("select $1::int", "forty-two")
      assert.is_nil(rows)
      assert.matches('invalid input syntax for type integer: "forty%-two"', msg)
      assert.are.equal("22P02", state)
    end)
  end)

  describe("statements", function()
    it("exec returns the affected row count", function()
      db:exec("create temp table t (a int)")
      assert.are.equal(3, db:exec("insert into t select generate_series(1, 3)"))
      assert.are.equal(2, db:exec("delete from t where a > $1", 1))
    end)

    it("reports SQL errors with their SQLSTATE and keeps the connection usable", function()
      local rows, msg, state = db:query("select * from no_such_table")
      assert.is_nil(rows)
      assert.matches('relation "no_such_table" does not exist', msg)
      assert.are.equal("42P01", state)
      assert.are.equal(1, db:query("select 1 as x")[1].x)
    end)

    it("follows a statement whose columns changed with the schema", function()
      db:exec("create temp table shape (a int)")
      db:exec("insert into shape values (1)")
      assert.are.same({ "a" }, db:query("select * from shape").columns)
      db:exec("alter table shape add column b text default 'x'")
      local rows = db:query("select * from shape")
      assert.are.same({ "a", "b" }, rows.columns)
      assert.are.equal("x", rows[1].b)
    end)

    it("takes many parameters", function()
      local marks, values = {}, {}
      for i = 1, 40 do marks[i] = "$" .. i .. "::int"; values[i] = i end
      local rows = db:query("select " .. table.concat(marks, " + ") .. " as total", table.unpack(values))
      assert.are.equal(820, rows[1].total)
    end)

    it("reuses prepared statements across calls", function()
      for i = 1, 5 do db:query("select $1::int as x /* cache probe */", i) end
      local n = db:query("select count(*)::int as n from pg_prepared_statements where statement like $1",
        "%cache probe%")[1].n
      assert.are.equal(1, n)
    end)
  end)

  describe("transactions", function()
    before_each(function() db:exec("create temp table tx (a int primary key)") end)

    it("commits and returns the function's results", function()
      local a, b = db:transaction(function(tx)
        tx:exec("insert into tx values (1)")
        return "done", 2
      end)
      assert.are.equal("done", a)
      assert.are.equal(2, b)
      assert.are.equal(1, #db:query("select * from tx"))
    end)

    it("rolls back and re-raises the function's error", function()
      local ok, err = pcall(db.transaction, db, function(tx)
        tx:exec("insert into tx values (1)")
        error({ code = "mine" })
      end)
      assert.is_false(ok)
      assert.are.same({ code = "mine" }, err)
      assert.are.equal(0, #db:query("select * from tx"))
      assert.is_false(db:in_transaction())
    end)

    it("raises SQL errors inside, with the SQLSTATE, and rolls back", function()
      local ok, err = pcall(db.transaction, db, function(tx)
        tx:exec("insert into tx values (1)")
        tx:exec("insert into tx values (1)")
      end)
      assert.is_false(ok)
      assert.are.equal("23505", err.sqlstate)
      assert.matches("duplicate key value", tostring(err))
      assert.are.equal(0, #db:query("select * from tx"))
    end)

    it("makes nested calls savepoints", function()
      db:transaction(function(tx)
        tx:exec("insert into tx values (1)")
        local ok = pcall(tx.transaction, tx, function(inner)
          inner:exec("insert into tx values (2)")
          error("inner fails")
        end)
        assert.is_false(ok)
        tx:transaction(function(inner) inner:exec("insert into tx values (3)") end)
      end)
      local rows = db:query("select a from tx order by a")
      assert.are.same({ 1, 3 }, { rows[1].a, rows[2].a })
    end)

    it("does not commit a transaction whose failed statement was caught", function()
      local ok, err = pcall(db.transaction, db, function(tx)
        tx:exec("insert into tx values (1)")
        pcall(tx.exec, tx, "insert into tx values (1)")
      end)
      assert.is_false(ok)
      assert.matches("rolled back", err)
      assert.are.equal(0, #db:query("select * from tx"))
    end)
  end)

  describe("as_user", function()
    it("runs as the authenticated role with the claims, then restores", function()
      local claims = { sub = "7f2c7c1e-2c8a-4f38-9d8e-3d5f4b0c9a11", wallet_address = "0xabc" }
      local row = db:as_user(claims, function(tx)
        return tx:query("select current_user as who, auth.uid() as uid, auth.jwt() ->> 'wallet_address' as w")[1]
      end)
      assert.are.equal("authenticated", row.who)
      assert.are.equal(claims.sub, row.uid)
      assert.are.equal("0xabc", row.w)
      assert.are.equal("postgres", db:query("select current_user as who")[1].who)
    end)

    it("restores the outer identity when nested", function()
      db:as_user({ sub = "7f2c7c1e-2c8a-4f38-9d8e-3d5f4b0c9a11" }, function(tx)
        tx:as_user({ role = "anon" }, function(inner)
          assert.are.equal("anon", inner:query("select current_user as u")[1].u)
        end)
        assert.are.equal("authenticated", tx:query("select current_user as u")[1].u)
      end)
    end)

    it("refuses roles other than anon, authenticated and service_role", function()
      assert.has_error(function() db:as_user({ role = "postgres" }, function() end) end)
    end)
  end)

  describe("copy", function()
    it("loads rows with nulls and escapes", function()
      db:exec("create temp table c (a int, b text, j jsonb)")
      local n = db:copy("copy c (a, b, j) from stdin", function(put)
        put(1, "tab\there", { k = 1 })
        put(2, nil, null)
        put(3, "back\\slash\nnewline", nil)
      end)
      assert.are.equal(3, n)
      local rows = db:query("select * from c order by a")
      assert.are.equal("tab\there", rows[1].b)
      assert.are.equal(1, rows[1].j.k)
      assert.are.equal(null, rows[2].b)
      assert.are.equal("back\\slash\nnewline", rows[3].b)
    end)

    it("aborts, storing nothing, when the function raises", function()
      db:exec("create temp table c2 (a int)")
      assert.has_error(function()
        db:copy("copy c2 from stdin", function(put) put(1); error("stop") end)
      end)
      assert.are.equal(0, #db:query("select * from c2"))
    end)

    it("returns the server's error for bad data", function()
      db:exec("create temp table c3 (a int)")
      local n, msg, state = db:copy("copy c3 from stdin", function(put) put("x") end)
      assert.is_nil(n)
      assert.are.equal("22P02", state)
      assert.matches("invalid input syntax", msg)
    end)
  end)

  describe("connections", function()
    it("raises on use after close, and close is idempotent", function()
      local c = assert(enigma.db.connect(admin_url()))
      c:close()
      c:close()
      assert.has_error(function() c:query("select 1") end, "attempt to use a closed database connection")
      assert.matches("closed", tostring(c))
    end)

    it("closes at the end of a to-be-closed scope", function()
      local handle
      do
        local c <close> = assert(enigma.db.connect(admin_url()))
        handle = c
      end
      assert.has_error(function() handle:query("select 1") end)
    end)

    it("returns nil, message, code for an unreachable server", function()
      local c, msg, code = enigma.db.connect("host=/nonexistent-socket-dir dbname=x")
      assert.is_nil(c)
      assert.matches("could not connect", msg)
      assert.are.equal("08001", code)
    end)

    it("returns nil, message, code for a malformed URL", function()
      local c, msg, code = enigma.db.connect("postgresql://[::1")
      assert.is_nil(c)
      assert.matches("invalid database URL", msg)
      assert.are.equal("EURL", code)
    end)

    it("reports a lost connection", function()
      local victim = assert(enigma.db.connect(admin_url()))
      local pid = victim:query("select pg_backend_pid() as p")[1].p
      db:query("select pg_terminate_backend($1, 5000)", pid)
      local ok, msg, code = victim:query("select 1")
      assert.is_nil(ok)
      assert.is_truthy(code:match("^08") or code == "57P01", msg)
      ok, msg, code = victim:query("select 1")
      assert.is_nil(ok)
      assert.are.equal("08006", code)
      assert.matches("lost the connection", msg)
      victim:close()
    end)
  end)
end)
