-- enigma.db's notifications and cancel outside a task, where they block
-- (needs: cluster). The task side is spec/c/db_waiter_test.c.
local enigma = require "enigma"
local admin_url = require "admin"   -- the superuser: other backends, extensions

describe("enigma.db notifications", function()
  local db, other
  before_each(function()
    db = assert(enigma.db.connect(admin_url()))
    other = assert(enigma.db.connect(admin_url()))
  end)
  after_each(function() db:close() other:close() end)

  it("hands each NOTIFY to its handler in wait()", function()
    local got = {}
    assert.is_true(db:listen("spec_channel", function(channel, payload, pid)
      got[#got + 1] = { channel, payload, pid }
    end))
    other:exec("select pg_notify($1, $2)", "spec_channel", "one")
    other:exec("select pg_notify($1, $2)", "spec_channel", "two")
    local n = db:wait(5)
    if n < 2 then n = n + db:wait(5) end
    assert.are.equal(2, n)
    assert.are.same({ "spec_channel", "one" }, { got[1][1], got[1][2] })
    assert.are.equal("two", got[2][2])
    assert.are.equal("integer", math.type(got[1][3]))
  end)

  it("returns 0 when the time passes first, and stops after unlisten", function()
    db:listen("spec_quiet", function() error("not called") end)
    assert.are.equal(0, db:wait(0.05))
    assert.is_true(db:unlisten("spec_quiet"))
    other:exec("select pg_notify($1, $2)", "spec_quiet", "late")
    assert.are.equal(0, db:wait(0.2))
  end)

  it("lets a handler's error through", function()
    db:listen("spec_loud", function() error("handler failed") end)
    other:exec("select pg_notify($1, $2)", "spec_loud", "")
    assert.has_error(function() db:wait(5) end)
  end)

  it("accepts only plain identifiers as channels", function()
    for _, bad in ipairs({ "", "9x", "a b", 'x"; drop table t; --', string.rep("a", 64) }) do
      assert.has_error(function() db:listen(bad, function() end) end)
    end
  end)

  it("reports a lost connection as 08006", function()
    db:listen("spec_lost", function() end)
    local pid = db:query("select pg_backend_pid() as p")[1].p
    other:query("select pg_terminate_backend($1)", pid)
    local ok, msg, code = db:wait(5)
    assert.is_nil(ok)
    assert.are.equal("08006", code)
    assert.is_string(msg)
  end)

  it("has a socket, and cancel() with nothing running is harmless", function()
    assert.are.equal("integer", math.type(db:socket()))
    assert.is_true(db:cancel())
    assert.are.equal(1, db:query("select 1 as n")[1].n)
  end)
end)
