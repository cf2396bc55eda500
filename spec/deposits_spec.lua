-- Deposits and withdrawals with notes, against the real database (needs: cluster).
local enigma = require "enigma"
local deposits = require "enigma.deposits"
local cjson = require "cjson"
local shell = require "shell"

local ALICE_WALLET = "0x1111111111111111111111111111111111111111"
local BOB_WALLET = "0x2222222222222222222222222222222222222222"

describe("enigma.deposits", function()
  local db
  setup(function() db = assert(enigma.db.connect()) end)
  teardown(function() db:close() end)

  local function count(sql, ...) return db:query(sql, ...)[1].n end
  local function ledger() return count("SELECT count(*)::int AS n FROM transactions") end

  it("creates a deposit and hands back the only copy of its note", function()
    local before = ledger()
    local note, d = deposits.create { db = db, wallet = ALICE_WALLET, amount = "1.50", privacy_level = "advanced" }
    assert.are.equal("enigma.crypto.note", getmetatable(note))
    assert.matches("^enigma%-note%-v1%-1%-", note:text())
    local row = db:query("SELECT * FROM privacy_deposits WHERE id = $1", d.id)[1]
    assert.are.equal("pending", row.status)
    assert.are.equal("1.5", tostring(row.amount:round(1)))
    assert.are.equal(d.commitment, row.commitment_hash)
    assert.is_true(row.anonymity_set >= 1)
    assert.are.equal(before + 1, ledger())
    -- The secret part of the note is nowhere in the database.
    local secret = note:text():match("%-(%x+)%-%x+$")
    assert.are.equal(128, #secret)
    for _, t in ipairs { "privacy_deposits", "transactions" } do
      assert.are.equal(0, count("SELECT count(*)::int AS n FROM " .. t .. " x WHERE strpos(row_to_json(x)::text, $1) > 0",
                                secret:sub(1, 32)))
    end
  end)

  it("withdraws once, and refuses the same note again", function()
    local note, d = deposits.create { db = db, wallet = ALICE_WALLET, amount = 2 }
    local w, err, code = deposits.withdraw { db = db, note = note, recipient = BOB_WALLET }
    assert.is_table(w, err)
    assert.is_nil(code)
    assert.are.equal(BOB_WALLET, w.recipient)
    assert.are.equal("withdrawn", db:query("SELECT status FROM privacy_deposits WHERE id = $1", d.id)[1].status)
    local t = db:query("SELECT * FROM transactions WHERE id = $1 AND created_at = $2", w.transaction_id, w.created_at)[1]
    assert.are.equal("privacy_withdrawal", t.tx_type)
    assert.are.equal(BOB_WALLET, t.user_wallet)
    assert.are.equal("2", tostring(t.amount:round(0)))

    local before = ledger()
    local again, msg, code2 = deposits.withdraw { db = db, note = note, recipient = BOB_WALLET }
    assert.is_nil(again)
    assert.are.equal("ESPENT", code2)
    assert.matches("already been spent", msg)
    assert.are.equal(before, ledger())
  end)

  it("refuses bad notes and addresses, and writes nothing", function()
    local note = deposits.create { db = db, wallet = ALICE_WALLET, amount = "0.25" }
    local text = note:text()
    local before = ledger()
    local pos = #text - 30
    local typo = text:sub(1, pos - 1) .. (text:sub(pos, pos) == "0" and "1" or "0") .. text:sub(pos + 1)
    local cases = {
      { typo, BOB_WALLET, "ECHECKSUM" },
      { "enigma-note-v1-garbage", BOB_WALLET, "EFORMAT" },
      { enigma.crypto.note.new({ amount = "0.25" }):text(), BOB_WALLET, "EUNKNOWN" }, -- never deposited
      { enigma.crypto.note.new({ amount = "0.25" }), BOB_WALLET, "EUNKNOWN" },        -- as a userdata too
      { note, "0x2222222222222222222222222222222222222222aa", "EADDRESS" },
      { text, "0x2222222222222222222222222222222222222222aa", "EADDRESS" },
    }
    for _, case in ipairs(cases) do
      local r, msg, code = deposits.withdraw { db = db, note = case[1], recipient = case[2] }
      assert.is_nil(r)
      assert.are.equal(case[3], code, msg)
      assert.is_string(msg)
    end
    assert.are.equal(before, ledger())
    -- and the real note still works
    assert.is_table((deposits.withdraw { db = db, note = note, recipient = BOB_WALLET }))
  end)

  it("refuses bad deposits with a message naming the problem", function()
    local r, msg, code = deposits.create { db = db, wallet = "0x123", amount = 1 }
    assert.is_nil(r); assert.are.equal("EADDRESS", code); assert.matches("wallet", msg)
    r, msg, code = deposits.create { db = db, wallet = ALICE_WALLET, amount = "-1" }
    assert.is_nil(r); assert.are.equal("EFORMAT", code); assert.matches("amount", msg)
    r, msg, code = deposits.create { db = db, wallet = ALICE_WALLET, amount = 1, privacy_level = "extreme" }
    assert.is_nil(r); assert.are.equal("EFORMAT", code); assert.matches("extreme", msg)
  end)

  it("knows an archived spent note is spent, and keeps unspent deposits out of the archive", function()
    local spent_note, spent = deposits.create { db = db, wallet = ALICE_WALLET, amount = 3 }
    assert.is_table((deposits.withdraw { db = db, note = spent_note, recipient = BOB_WALLET }))
    local _, unspent = deposits.create { db = db, wallet = ALICE_WALLET, amount = 4 }
    db:exec("ALTER TABLE privacy_deposits DISABLE TRIGGER privacy_deposits_set_updated_at")
    db:exec([[UPDATE privacy_deposits SET status = CASE WHEN id = $1 THEN status ELSE 'completed' END,
                     processed_at = now() - interval '3 years', updated_at = now() - interval '3 years'
               WHERE id IN ($1, $2)]], spent.id, unspent.id)
    db:exec("ALTER TABLE privacy_deposits ENABLE TRIGGER privacy_deposits_set_updated_at")
    assert.is_true(db:query("SELECT archive_old_deposits() AS n")[1].n >= 1)
    assert.are.equal(1, count("SELECT count(*)::int AS n FROM privacy_deposits_archive WHERE id = $1", spent.id))
    assert.are.equal(1, count("SELECT count(*)::int AS n FROM privacy_deposits WHERE id = $1", unspent.id))
    local r, _, code = deposits.withdraw { db = db, note = spent_note, recipient = BOB_WALLET }
    assert.is_nil(r)
    assert.are.equal("ESPENT", code)
  end)

  it("lets exactly one of two concurrent withdrawals of a note succeed", function()
    local note, d = deposits.create { db = db, wallet = ALICE_WALLET, amount = 5 }
    local gate = 424242
    db:query("SELECT pg_advisory_lock($1)", gate) -- closed until both are waiting
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local f = assert(io.open(dir .. "/note", "w"))
    f:write(note:text(), "\n")
    f:close()
    for i = 1, 2 do
      assert(os.execute(("unset LD_PRELOAD; %s run spec/support/withdraw_once.lua %s %d < %s/note > %s/out%d 2>&1 &")
        :format(shell.quote(os.getenv("ENIGMA_BIN")), BOB_WALLET, gate, dir, dir, i)))
    end
    local waiting = 0
    for _ = 1, 200 do
      waiting = count([[SELECT count(*)::int AS n FROM pg_locks
                         WHERE locktype = 'advisory' AND objid = $1 AND NOT granted]], gate)
      if waiting == 2 then break end
      os.execute("sleep 0.05")
    end
    assert.are.equal(2, waiting)
    db:query("SELECT pg_advisory_unlock($1)", gate)
    local outs = {}
    for i = 1, 2 do
      local out
      for _ = 1, 200 do
        local fh = io.open(("%s/out%d"):format(dir, i))
        out = fh and fh:read("a") or ""
        if fh then fh:close() end
        if out:find("\n") then break end
        os.execute("sleep 0.05")
      end
      outs[i] = out:match("^%s*(.-)%s*$")
    end
    os.execute("rm -rf " .. dir)
    table.sort(outs)
    assert.are.same({ "ESPENT", "ok" }, outs)
    assert.are.equal("withdrawn", db:query("SELECT status FROM privacy_deposits WHERE id = $1", d.id)[1].status)
    assert.are.equal(1, count([[SELECT count(*)::int AS n FROM transactions
                                 WHERE tx_type = 'privacy_withdrawal' AND nullifier_hash = $1]],
                              db:query("SELECT nullifier_hash FROM privacy_deposits WHERE id = $1", d.id)[1].nullifier_hash))
  end)

  -- The note, from create to withdraw, as an attacker would try to read it.
  describe("the note", function()
    -- Every form the secret could take in a string: the text, its secret part in either case,
    -- pieces of the nullifier and of the secret, their raw bytes.
    local function forms(note)
      local text = note:text()
      local hex = text:match("%-(%x+)%-%x+$")
      return { text, hex, hex:upper(), hex:sub(1, 16), hex:sub(65, 80), hex:sub(49, 64),
               enigma.crypto.unhex(hex:sub(1, 64)), enigma.crypto.unhex(hex:sub(65)),
               enigma.crypto.unhex(hex:sub(1, 16)), enigma.crypto.unhex(hex:sub(65, 80)) }
    end
    -- Every string a value can be made to say: itself, tostring, an error's fields.
    local function said(v)
      local out = { tostring(v) }
      if type(v) == "string" then out[#out + 1] = v end
      if enigma.error.is(v) then
        for _, k in ipairs { "message", "detail", "hint", "query" } do out[#out + 1] = tostring(v[k]) end
      end
      if type(v) == "table" and not enigma.error.is(v) then
        for k, x in pairs(v) do out[#out + 1] = tostring(k); out[#out + 1] = tostring(x) end
      end
      return out
    end
    local function assert_no_leak(secret_forms, what, ...)
      for i = 1, select("#", ...) do
        for _, text in ipairs(said((select(i, ...)))) do
          for _, secret in ipairs(secret_forms) do
            assert.is_nil(text:find(secret, 1, true), what .. " leaked the note: " .. text)
          end
        end
      end
    end

    it("is guarded userdata whose secret no string conversion, error or encoder reveals", function()
      local note = assert(deposits.create { db = db, wallet = ALICE_WALLET, amount = "0.125" })
      local secret = forms(note)
      assert.are.equal("userdata", type(note))
      assert.are.equal("enigma.crypto.note", getmetatable(note)) -- the metatable itself is hidden
      assert.matches("^enigma%.crypto%.note %(redacted", tostring(note))
      assert.are.equal(tostring(note), ("%s"):format(note))

      local path = os.tmpname()
      local file = assert(io.open(path, "w"))
      local attempts = {
        tostring = function() return tostring(note) end,
        format_s = function() return ("%s|%-300s|%.400s"):format(note, note, note) end,
        format_q = function() return ("%q"):format(note) end,
        format_d = function() return ("%d %x"):format(note, note) end,
        concat_right = function() return "note: " .. note end,
        concat_left = function() return note .. "" end,
        concat_both = function() return note .. note end,
        table_concat = function() return table.concat({ "a", note }, ",") end,
        string_rep = function() return string.rep(note, 2) end,
        string_byte = function() return string.byte(note, 1, -1) end,
        string_len = function() return string.len(note) end,
        string_sub = function() return string.sub(note, 1) end,
        string_gsub = function() return ("x"):gsub("x", note) end,
        string_pack = function() return string.pack("z", note) end,
        utf8_len = function() return utf8.len(note) end,
        length = function() return #note end,
        arithmetic = function() return note + 1 end,
        compare = function() return note < note end,
        call = function() return note() end,
        pairs = function() local t = {}; for k, v in pairs(note) do t[k] = v end; return t end,
        fields = function() return { note.secret, note.nullifier, note[1], note.text_form, note._bytes } end,
        rawget = function() return rawget(note, "secret") end,
        rawlen = function() return rawlen(note) end,
        load = function() return load(note) end,
        file_write = function() return file:write(note) end,
        json_encode = function() return enigma.json.encode(note) end,
        json_encode_table = function() return enigma.json.encode { note = note } end,
        json_encode_array = function() return enigma.json.encode { note } end,
        cjson_encode = function() return cjson.encode { note = note } end,
        query_param = function() return db:query("SELECT $1::text AS t", note) end,
        query_param_bytea = function() return db:query("SELECT $1::bytea AS t", note) end,
        query_param_json = function() return db:query("SELECT $1::jsonb AS t", { note = note }) end,
        query_param_array = function() return db:query("SELECT $1::text[] AS t", { note }) end,
        error_value = function() error(note) end,
        assert_message = function() assert(false, note) end,
        traceback = function() return debug.traceback(note) end,
        describe = function() return enigma.error.describe and enigma.error.describe(note) end,
        coroutine = function() return coroutine.wrap(function() error(note) end)() end,
      }
      for name, attempt in pairs(attempts) do
        local results = table.pack(pcall(attempt))
        assert_no_leak(secret, name, table.unpack(results, 1, results.n))
      end
      file:close()
      local f = assert(io.open(path))
      assert_no_leak(secret, "a file", f:read("a"))
      f:close()
      os.remove(path)
      -- what must refuse, refuses
      for _, name in ipairs { "format_q", "format_d", "concat_right", "concat_left", "concat_both",
                              "table_concat", "string_rep", "string_len", "length", "json_encode",
                              "json_encode_table", "json_encode_array", "cjson_encode", "query_param",
                              "query_param_bytea", "query_param_json", "file_write", "load" } do
        assert.is_false(pcall(attempts[name]), name .. " should refuse a note")
      end
      -- an error carrying the note says only the redacted form
      local _, err = pcall(error, note)
      assert.are.equal(note, err)
      assert.matches("redacted", tostring(err))
      note:close()
    end)

    it("is exported by note:text() only, and a closed note is wiped for good", function()
      local note = assert(deposits.create { db = db, wallet = ALICE_WALLET, amount = "0.5" })
      local text = note:text()
      assert.are.equal(text, note:text())
      assert.are.equal(text, enigma.crypto.note.parse(text):text())
      note:close()
      note:close() -- idempotent
      assert.are.equal("enigma.crypto.note (closed)", tostring(note))
      for _, method in ipairs { "text", "hashes", "commitment", "nullifier_hash", "amount" } do
        local ok, err = pcall(note[method], note)
        assert.is_false(ok, method)
        assert.matches("closed note", tostring(err))
      end
      -- a to-be-closed variable closes it when its block ends, by error or not
      local kept
      do
        local n <close> = assert(deposits.create { db = db, wallet = ALICE_WALLET, amount = "0.5" })
        kept = n
        assert.matches("^enigma%-note%-v1%-", n:text())
      end
      assert.are.equal("enigma.crypto.note (closed)", tostring(kept))
      local ok = pcall(function()
        local n <close> = assert(deposits.create { db = db, wallet = ALICE_WALLET, amount = "0.5" })
        kept = n
        error("boom")
      end)
      assert.is_false(ok)
      assert.are.equal("enigma.crypto.note (closed)", tostring(kept))
      -- and one dropped is wiped by the collector (nothing to see; it must not crash)
      for _ = 1, 3 do deposits.create { db = db, wallet = ALICE_WALLET, amount = "0.5" } end
      collectgarbage()
      collectgarbage()
    end)

    it("withdraws given the userdata or its exported text", function()
      local before = ledger()
      local note, d = assert(deposits.create { db = db, wallet = ALICE_WALLET, amount = "6.5" })
      local secret = forms(note)
      local w = assert(deposits.withdraw { db = db, note = note, recipient = BOB_WALLET })
      assert.are.equal(BOB_WALLET, w.recipient)
      assert.are.equal("withdrawn", db:query("SELECT status FROM privacy_deposits WHERE id = $1", d.id)[1].status)
      -- withdraw leaves the caller's note open; it is spent now, and the message says so only
      local again, msg, code = deposits.withdraw { db = db, note = note, recipient = BOB_WALLET }
      assert.is_nil(again)
      assert.are.equal("ESPENT", code)
      assert_no_leak(secret, "ESPENT", msg, code)
      note:close()

      local note2, d2 = assert(deposits.create { db = db, wallet = ALICE_WALLET, amount = "6.5" })
      local text = note2:text()
      note2:close()
      assert.is_table((deposits.withdraw { db = db, note = "  " .. text .. "\n", recipient = BOB_WALLET }))
      assert.are.equal("withdrawn", db:query("SELECT status FROM privacy_deposits WHERE id = $1", d2.id)[1].status)
      assert.are.equal(before + 4, ledger()) -- two deposits, two withdrawals

      -- a mistyped text: the message names the problem, not the note
      local pos = #text - 30
      local typo = text:sub(1, pos - 1) .. (text:sub(pos, pos) == "0" and "1" or "0") .. text:sub(pos + 1)
      local r
      r, msg, code = deposits.withdraw { db = db, note = typo, recipient = BOB_WALLET }
      assert.is_nil(r)
      assert.are.equal("ECHECKSUM", code)
      assert_no_leak({ text:match("%-(%x+)%-%x+$"):sub(1, 16), typo:match("%-(%x+)%-%x+$"):sub(1, 16) },
                     "ECHECKSUM", msg)
    end)

    it("refuses a closed note cleanly, writing nothing", function()
      local note, d = assert(deposits.create { db = db, wallet = ALICE_WALLET, amount = "7" })
      local secret = forms(note)
      note:close()
      local before = ledger()
      local ok, err = pcall(deposits.withdraw, { db = db, note = note, recipient = BOB_WALLET })
      assert.is_false(ok)
      assert.matches("closed note", tostring(err))
      assert_no_leak(secret, "a closed note's error", err)
      assert.are.equal(before, ledger())
      assert.are.equal("pending", db:query("SELECT status FROM privacy_deposits WHERE id = $1", d.id)[1].status)
      assert.is_false(db:in_transaction())
      -- neither a note nor text: misuse, raised
      for _, bad in ipairs { 42, true, {}, enigma.crypto.generate_key() } do
        ok, err = pcall(deposits.withdraw, { db = db, note = bad, recipient = BOB_WALLET })
        assert.is_false(ok)
        assert.matches("note", tostring(err))
      end
      assert.are.equal(before, ledger())
    end)
  end)
end)
