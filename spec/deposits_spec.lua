-- Deposits and withdrawals with notes, against the real database (needs: cluster).
local enigma = require "enigma"
local deposits = require "enigma.deposits"
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
    assert.matches("^enigma%-note%-v1%-1%-", note)
    local row = db:query("SELECT * FROM privacy_deposits WHERE id = $1", d.id)[1]
    assert.are.equal("pending", row.status)
    assert.are.equal("1.5", tostring(row.amount:round(1)))
    assert.are.equal(d.commitment, row.commitment_hash)
    assert.is_true(row.anonymity_set >= 1)
    assert.are.equal(before + 1, ledger())
    -- The secret part of the note is nowhere in the database.
    local secret = note:match("%-(%x+)%-%x+$")
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
    local before = ledger()
    local pos = #note - 30
    local typo = note:sub(1, pos - 1) .. (note:sub(pos, pos) == "0" and "1" or "0") .. note:sub(pos + 1)
    local cases = {
      { typo, BOB_WALLET, "ECHECKSUM" },
      { "enigma-note-v1-garbage", BOB_WALLET, "EFORMAT" },
      { enigma.crypto.note.new({ amount = "0.25" }):text(), BOB_WALLET, "EUNKNOWN" }, -- never deposited
      { note, "0x2222222222222222222222222222222222222222aa", "EADDRESS" },
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
    f:write(note, "\n")
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
end)
