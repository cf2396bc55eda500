-- `enigma repl` in a real terminal: tmux runs it, send-keys types, capture-pane reads the
-- screen (needs: cluster). SQL mode, a multi-line Lua function, a query error, Ctrl-C during
-- pg_sleep and at the prompt, completion, history across sessions, Ctrl-D.
local enigma = require "enigma"
local shell = require "shell"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local HOME = assert(os.getenv("ENIGMA_HOME"))
local SESSION = "enigma-repl-spec-" .. tostring(os.time())

local function tmux(args)
  local code, out, err = shell.run("tmux " .. args)
  assert(code == 0, "tmux " .. args .. ": " .. err)
  return out
end

local function screen()
  return tmux("capture-pane -p -t " .. SESSION)
end

local function alive()
  return (shell.run("tmux has-session -t " .. SESSION)) == 0
end

-- Waits until the screen shows `text` (plain); returns the screen.
local function wait_for(text, timeout)
  local deadline = enigma.monotime() + (timeout or 10)
  while true do
    local s = screen()
    if s:find(text, 1, true) then return s end
    if enigma.monotime() > deadline then error(("timed out waiting for %q on the screen:\n%s"):format(text, s), 2) end
    os.execute("sleep 0.05")
  end
end

-- Types `text` literally (tmux reads a trailing ; as its own separator: escaped).
local function type_text(text)
  tmux(("send-keys -t %s -l %s"):format(SESSION, shell.quote((text:gsub(";", "\\;")))))
end

local function key(name)
  tmux(("send-keys -t %s %s"):format(SESSION, name))
end

local function line(text)
  type_text(text)
  key("Enter")
end

local function start(pager)
  local cmd = ("new-session -d -s %s -x 150 -y 45 %s"):format(SESSION, shell.quote(
    ("ENIGMA_HOME=%s PAGER=%s %s repl"):format(shell.quote(HOME), shell.quote(pager or "cat"), BIN)))
  -- the tmux server of a session just killed may still be exiting: try again a moment later
  for _ = 1, 20 do
    if (shell.run("tmux " .. cmd)) == 0 then break end
    os.execute("sleep 0.1")
  end
  wait_for("enigma>")
end

local function stop()
  if alive() then shell.run("tmux kill-session -t " .. SESSION) end
end

describe("enigma repl in a terminal", function()
  before_each(start)
  after_each(stop)

  it("runs SQL over several lines and prints an aligned table", function()
    line("\\sql")
    wait_for("sql>")
    line("select 'a' as letter,")
    wait_for("sql-")
    line("  41 + 1 as answer;")
    local s = wait_for("(1 row)")
    assert.truthy(s:find(" letter | answer", 1, true), s)
    assert.truthy(s:find(" a      |     42", 1, true), s)
  end)

  it("takes a multi-line Lua function", function()
    line("function double(n)")
    wait_for("enigma-")
    line("  return n * 2")
    line("end")
    line("double(21)")
    local s = wait_for("\n42")
    assert.truthy(s:find("enigma- end", 1, true), s)
  end)

  it("reports a query error and goes on, showing the failed transaction", function()
    line("\\sql")
    line("begin;")
    wait_for("sql*>")
    line("select 1/0;")
    wait_for("division by zero (SQLSTATE 22012)")
    wait_for("sql!>")
    line("rollback;")
    line("select 'after' as s;")
    wait_for(" after")
  end)

  it("Ctrl-C cancels a running query and the line being typed, and never exits", function()
    line("\\sql")
    line("select pg_sleep(10);")
    os.execute("sleep 0.5")
    local t0 = enigma.monotime()
    key("C-c")
    wait_for("canceling statement due to user request", 5)
    assert.truthy(enigma.monotime() - t0 < 5)
    type_text("select 'dropped' as never")
    key("C-c")
    key("C-c")
    line("select 'alive' as s;")
    local s = wait_for(" alive")
    assert.is_nil(s:find("never |", 1, true))
    assert.truthy(alive())
  end)

  it("Ctrl-C stops a Lua loop", function()
    line("while true do end")
    os.execute("sleep 0.5")
    key("C-c")
    wait_for("interrupted")
    line("1 + 1")
    wait_for("\n2")
  end)

  it("completes Lua fields and SQL names without running code", function()
    type_text("string.for")
    key("Tab")
    wait_for("string.format")
    key("C-c")
    line("\\sql")
    type_text("select count(*) from user_ag")
    key("Tab")
    wait_for("from user_agents")
  end)

  it("pages output taller than the screen through $PAGER, and only that", function()
    stop()
    start("sed s/^/paged:/")
    line("\\sql")
    line("select 'short' as s;")
    local s = wait_for(" short")
    assert.is_nil(s:find("paged:", 1, true), s)
    line("select generate_series(1, 100) as n;")
    s = wait_for("paged:(100 rows)")
    assert.truthy(s:find("paged: 100\n", 1, true), s)
  end)

  it("keeps history across sessions, and Ctrl-D quits", function()
    local marker = ("'history-%d'"):format(os.time())
    line(marker)
    wait_for(marker:gsub("'", '"'))
    key("C-d")
    local deadline = enigma.monotime() + 5
    while alive() and enigma.monotime() < deadline do os.execute("sleep 0.05") end
    assert.is_false(alive())
    start()
    key("Up")
    wait_for("enigma> " .. marker)
  end)
end)
