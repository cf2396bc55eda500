-- The REPL's evaluator (enigma.repl) fed line by line, as the terminal host feeds it: Lua and
-- SQL modes, multi-line input, printing, errors and the transaction prompt, meta-commands
-- (needs: cluster). The terminal itself (readline, Ctrl-C, the pager) is tested through tmux.
local enigma = require "enigma"
local repl = require "enigma.repl"

describe("repl", function()
  local db, r, out

  before_each(function()
    db = assert(enigma.db.connect())
    out = {}
    r = repl.new{ db = db, write = function(s) out[#out + 1] = s end }
  end)
  after_each(function() db:close() end)

  local function feed(...)
    out = {}
    local status
    for _, line in ipairs({ ... }) do status = r:feed(line) end
    return status, table.concat(out)
  end

  it("prints the value of an expression, without = or return", function()
    assert.are.same({ "done", "3\n" }, { feed("1 + 2") })
    assert.are.same({ "done", '"a"\t2\tnil\n' }, { feed("'a', 2, nil") })
    assert.are.same({ "done", "" }, { feed("x = 5") })
    assert.are.same({ "done", "5\n" }, { feed("x") })
  end)

  it("continues multi-line input until it is complete", function()
    assert.are.equal("more", r:feed("function double(a)"))
    assert.are.equal("enigma- ", r:prompt())
    assert.are.equal("more", r:feed("  return a * 2"))
    assert.are.equal("done", r:feed("end"))
    assert.are.equal("enigma> ", r:prompt())
    assert.are.same({ "done", "42\n" }, { feed("double(21)") })
  end)

  it("pretty-prints tables to a depth limit, and cycles", function()
    local _, text = feed("{ 1, 'two', k = { deep = { deeper = { deepest = { 5 } } } } }")
    assert.are.equal('{ 1, "two", k = { deep = { deeper = { deepest = {...} } } } }\n', text)
    _, text = feed("(function() local t = {} t.self = t return t end)()")
    assert.are.equal("{ self = <cycle> }\n", text)
  end)

  it("reports errors and goes on", function()
    local status, text = feed("error('boom')")
    assert.are.equal("done", status)
    assert.truthy(text:find("ERROR: stdin:1: boom", 1, true), text)
    status, text = feed("1 +* 2")
    assert.are.equal("done", status)
    assert.truthy(text:find("ERROR:", 1, true), text)
    assert.are.same({ "done", "2\n" }, { feed("1 + 1") })
  end)

  it("SQL mode: statements end with ; and may span lines", function()
    feed("\\sql")
    assert.are.equal("sql> ", r:prompt())
    assert.are.equal("more", r:feed("select 1 as n,"))
    local status, text = feed("  'it''s; not the end' as s;")
    assert.are.equal("done", status)
    assert.truthy(text:find("it's; not the end", 1, true), text)
    assert.truthy(text:find("(1 row)", 1, true), text)
  end)

  it("reports a failed statement with its SQLSTATE and shows the transaction in the prompt", function()
    feed("\\sql")
    feed("begin;")
    assert.are.equal("sql*> ", r:prompt())
    local _, text = feed("select 1/0;")
    assert.truthy(text:find("division by zero (SQLSTATE 22012)", 1, true), text)
    assert.are.equal("sql!> ", r:prompt())
    _, text = feed("select 1;")
    assert.truthy(text:find("25P02", 1, true), text)
    feed("rollback;")
    assert.are.equal("sql> ", r:prompt())
  end)

  it("\\x, \\format and \\o", function()
    feed("\\sql")
    local _, text = feed("\\x", "select 1 as a, null as b;")
    assert.are.equal("Expanded display is on.\n-[ RECORD 1 ]\na | 1\nb | NULL\n", text)
    _, text = feed("\\x", "\\format csv", "select 1 as a, 'x,y' as b;")
    assert.truthy(text:find('a,b\r?\n1,"x,y"'), text)
    _, text = feed("\\format yaml")
    assert.truthy(text:find("unknown format 'yaml'", 1, true), text)
    local path = os.tmpname()
    _, text = feed("\\o " .. path, "select 7 as seven;", "\\o")
    assert.are.equal("", text)
    local f = assert(io.open(path))
    assert.truthy(f:read("a"):find("seven", 1, true))
    f:close()
    os.remove(path)
  end)

  it("\\d lists relations and describes one with its indexes and policies", function()
    local _, text = feed("\\d")
    assert.truthy(text:find("user_agents", 1, true) and text:find("pool_analytics", 1, true), text)
    _, text = feed("\\dv")
    assert.truthy(text:find("pool_analytics", 1, true), text)
    assert.is_nil(text:find("| user_agents", 1, true))
    _, text = feed("\\d user_agents")
    for _, want in ipairs({ "strategy_state", "jsonb", "idx_user_agents_next_tick", "user_agents_select_own" }) do
      assert.truthy(text:find(want, 1, true), want .. " in\n" .. text)
    end
    _, text = feed("\\d no_such_table")
    assert.truthy(text:find("no table or view named no_such_table", 1, true), text)
    _, text = feed("\\df")
    assert.truthy(text:find("refresh_agent_leaderboard", 1, true), text)
  end)

  it("\\q quits; unknown commands are named", function()
    local _, text = feed("\\nope")
    assert.truthy(text:find("unknown command \\nope", 1, true), text)
    assert.are.equal("quit", r:feed("\\q"))
  end)

  it("knows when SQL is complete", function()
    local cases = {
      ["select 1;"] = true, ["select 1"] = false, ["select ';'"] = false, ["select ';';"] = true,
      ["select 1; -- done"] = true, ["select 1 -- ;"] = false, ["select /* ; */ 1"] = false,
      ["select $$;$$"] = false, ["select $f$ ; $f$;"] = true, ['select ";" from t'] = false,
      ["select 'open"] = false,
    }
    for sql, want in pairs(cases) do assert.are.equal(want, repl.sql_complete(sql), sql) end
  end)
end)
