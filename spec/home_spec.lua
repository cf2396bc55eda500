-- The enigma home is found, not guessed (issue 12, part 6): the real `enigma` program in
-- temporary directories, each with its own HOME, XDG_DATA_HOME, ENIGMA_HOME and cwd.
-- Every cluster a test starts is stopped and removed in its `finally`, even when it fails.
local shell = require "shell"

local BIN = assert(os.getenv("ENIGMA_BIN"), "ENIGMA_BIN is set by ctest")

local function sh(cmd)
  local code, out, err = shell.run(cmd)
  assert(code == 0, ("%s failed (%s): %s%s"):format(cmd, tostring(code), out, err))
  return (out:gsub("%s+$", ""))
end

local ROOT = sh("id -u") == "0"

-- A program from before discovery would make ./.enigma wherever these tests stand (even in /)
-- and leave servers there: refuse to run it at all.
assert(not sh(BIN .. " db --help"):find("./.enigma", 1, true),
       BIN .. " still defaults to ./.enigma: rebuild it before running home_spec")

--- A new temporary directory (its real path) with the given mode.
local function tmpdir(mode)
  local dir = sh("mktemp -d /tmp/enigma-home-spec.XXXXXX")
  sh(("chmod %s %s"):format(mode, shell.quote(dir)))
  return sh("cd " .. shell.quote(dir) .. " && pwd -P")
end

--- Runs `enigma ARGS` in `cwd` with exactly the given HOME, XDG_DATA_HOME and ENIGMA_HOME
--- (nil: unset) and no database URL; returns code, stdout, stderr.
local function enigma(env, cwd, args)
  local cmd = { "cd", shell.quote(cwd), "&& env -u ENIGMA_HOME -u XDG_DATA_HOME -u HOME",
                "-u ENIGMA_DATABASE_URL -u DATABASE_URL -u PGHOST -u PGDATABASE -u PGSERVICE" }
  for _, name in ipairs({ "HOME", "XDG_DATA_HOME", "ENIGMA_HOME" }) do
    if env[name] then cmd[#cmd + 1] = name .. "=" .. shell.quote(env[name]) end
  end
  cmd[#cmd + 1] = BIN .. " " .. args
  return shell.run(table.concat(cmd, " "))
end

local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

--- Every path under `dir` (itself included), sorted.
local function tree(dir)
  local paths = {}
  for line in sh("find " .. shell.quote(dir)):gmatch("[^\n]+") do paths[#paths + 1] = line end
  table.sort(paths)
  return paths
end

local function exists(path)
  return os.execute("test -e " .. shell.quote(path) .. " || test -L " .. shell.quote(path)) == true
end

--- Stops the cluster of `env` (its home may be gone) and removes it and `dir`.
local function cleanup(env, dir, mapped)
  enigma(env, "/tmp", "db stop")
  if mapped and mapped:match("^/var/lib/enigma/%x+") then os.execute("rm -rf " .. shell.quote(mapped)) end
  os.execute("rm -rf " .. shell.quote(dir))
end

--- The cluster directory a `db start` or `db status` line names after "its data in".
local function data_in(out)
  return out:match("its data in (/[^)]+)%)")
end

-- The default connection creates and starts the cluster; it logs in as enigma_runtime, which
-- only `enigma migrate` creates, so the mark is made and read as the superuser (`db url`,
-- found by the same rule as the default connection).
local QUERY = [[
local enigma = require("enigma")
local _, msg = enigma.db.connect()
assert(tostring(msg):find('role "enigma_runtime" does not exist', 1, true), msg)
local p = assert(io.popen(]] .. ("%q"):format(shell.quote(BIN) .. " db url") .. [[))
local db = assert(enigma.db.connect(p:read("l")))
p:close()
local action = ...
if action == "create" then assert(db:exec("create table home_spec_mark (a int)")) end
print(db:query("select count(*) as n from pg_tables where tablename = 'home_spec_mark'")[1].n)
]]

describe("the enigma home", function()
  it("is ENIGMA_HOME, else the nearest .enigma above, else XDG_DATA_HOME/enigma, else ~/.local/share/enigma", function()
    local t = tmpdir("0755")
    finally(function() os.execute("rm -rf " .. shell.quote(t)) end)
    sh(("mkdir -p %s/p/.enigma %s/p/a/b %s/none %s/h"):format(t, t, t, t))
    write(t .. "/p/a/.enigma", "a file, not a home\n")
    local function home_of(env, cwd)
      local code, out, err = enigma(env, cwd, "db status")
      assert.are.equal(3, code, err)
      return out:match("^no cluster at (.-) %(enigma db start creates one%)\n$")
    end
    local env = { HOME = t .. "/h" }
    -- two levels up, past a .enigma that is a regular file
    assert.are.equal(t .. "/p/.enigma", home_of(env, t .. "/p/a/b"))
    -- ENIGMA_HOME wins over it
    assert.are.equal(t .. "/elsewhere", home_of({ HOME = env.HOME, ENIGMA_HOME = t .. "/elsewhere" }, t .. "/p/a/b"))
    assert.are.equal(t .. "/p/a/rel", home_of({ HOME = env.HOME, ENIGMA_HOME = "../rel" }, t .. "/p/a/b"))
    if exists("/tmp/.enigma") or exists("/.enigma") then
      print("a .enigma directory in /tmp or /: skipping the fallbacks")
      return
    end
    -- none above: XDG_DATA_HOME when absolute, else HOME's
    assert.are.equal(t .. "/xdg/enigma", home_of({ HOME = env.HOME, XDG_DATA_HOME = t .. "/xdg" }, t .. "/none"))
    assert.are.equal(t .. "/h/.local/share/enigma", home_of({ HOME = env.HOME, XDG_DATA_HOME = "xdg" }, t .. "/none"))
    assert.are.equal(t .. "/h/.local/share/enigma", home_of({ HOME = env.HOME, XDG_DATA_HOME = "" }, t .. "/none"))
    assert.are.equal(t .. "/h/.local/share/enigma", home_of(env, t .. "/none"))
  end)

  it("is never created by a command that only reads", function()
    -- mode 0700 as mktemp makes it: as root, the home would be mapped to /var/lib/enigma
    local t = tmpdir("0700")
    local envs = { { HOME = t .. "/h" }, { HOME = t .. "/h", XDG_DATA_HOME = t .. "/h/xdg" } }
    local dirs = {}
    finally(function()  -- should a command create a cluster after all, it goes too
      for i, env in ipairs(envs) do cleanup(env, t, dirs[i]) end
    end)
    sh(("mkdir %s/h %s/cwd"):format(t, t))
    local before = tree(t)
    for i, env in ipairs(envs) do
      local home = env.XDG_DATA_HOME and t .. "/h/xdg/enigma" or t .. "/h/.local/share/enigma"
      local code, url, err = enigma(env, t .. "/cwd", "db url")
      assert.are.equal(0, code, err)
      local sockdir = url:match("host=([^&]+)"):gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
      dirs[i] = sockdir:gsub("/run$", "")
      local out
      code, out, err = enigma(env, t .. "/cwd", "db status")
      assert.are.equal(3, code, err)
      assert.are.equal("no cluster at " .. home .. " (enigma db start creates one)\n", out)
      code, out, err = enigma(env, t .. "/cwd", "migrate --status")
      assert.are.equal(1, code, out)
      assert.are.equal("enigma: no database cluster at " .. home .. " (enigma db start creates one)\n", err)
      code, out, err = enigma(env, t .. "/cwd", "db stop")
      assert.are.equal(0, code, err)
      assert.are.equal("database stopped\n", out)
      assert.are.same(before, tree(t))
      -- nor the cluster directory the URL names (under /var/lib/enigma when mapped)
      assert.is_false(exists(dirs[i]), dirs[i])
    end
  end)

  it("says once, on stderr, that it creates a cluster and where", function()
    local t = tmpdir("0755")
    local env = { HOME = t .. "/h" }
    finally(function() cleanup(env, t) end)
    sh(("mkdir %s/h %s/cwd"):format(t, t))
    write(t .. "/q.lua", QUERY)
    local home = t .. "/h/.local/share/enigma"
    -- a script's default connection creates the per-user cluster, saying so in one line
    local code, out, err = enigma(env, t .. "/cwd", "run ../q.lua")
    assert.are.equal(0, code, err)
    assert.are.equal("0\n", out)
    assert.are.equal("enigma: creating a new database cluster in " .. home .. "\n", err)
    -- and then never again
    code, out, err = enigma(env, t .. "/cwd", "db start")
    assert.are.equal(0, code, err)
    assert.are.equal("", err)
    assert.are.equal("database running in " .. home .. "\n", out)
    code, out, err = enigma(env, t, "run " .. t .. "/q.lua")
    assert.are.equal(0, code, err)
    assert.are.equal("0\n", out)
    assert.are.equal("", err)
    code, out = enigma(env, t, "db status")
    assert.are.equal(0, code)
    assert.are.equal("running (" .. home .. ")\n", out)
  end)

  it("says so from stock lua5.4 with require \"enigma\" too", function()
    local t = tmpdir("0755")
    local env = { HOME = t .. "/h" }
    finally(function() cleanup(env, t) end)
    sh(("mkdir %s/h"):format(t))
    write(t .. "/q.lua", QUERY)
    local home = t .. "/h/.local/share/enigma"
    local cpath = BIN:match("^(.*)/[^/]+$") .. "/?.so;;"
    -- A sanitized build's runtimes go into this lua5.4 alone, through the dynamic loader's
    -- --preload: in LD_PRELOAD the PostgreSQL programs the module starts would inherit them,
    -- and initdb and postgres hang under a preloaded ASan.
    local lua, preload = "lua5.4", os.getenv("ENIGMA_SANITIZER_PRELOAD") or ""
    if preload ~= "" then
      local path = sh("command -v lua5.4")
      local loader = sh("readelf -l " .. path .. " | sed -n 's/.*interpreter: \\(.*\\)]$/\\1/p'")
      lua = ("%s --preload %s %s"):format(loader, shell.quote(preload), path)
    end
    local code, out, err = shell.run(("cd %s && env -u ENIGMA_HOME -u XDG_DATA_HOME -u ENIGMA_DATABASE_URL "
                                      .. "-u DATABASE_URL -u PGHOST -u PGDATABASE HOME=%s LUA_CPATH=%s %s q.lua")
                                     :format(shell.quote(t), shell.quote(env.HOME), shell.quote(cpath), lua))
    assert.are.equal(0, code, err)
    assert.are.equal("0\n", out)
    assert.are.equal("enigma: creating a new database cluster in " .. home .. "\n", err)
  end)

  describe("as root, when the postgres user cannot reach it", function()
    if not ROOT then
      it("is skipped: not root", function() print("home_spec: not root, skipping the /var/lib/enigma cases") end)
      return
    end

    it("keeps the cluster under /var/lib/enigma, and everything works", function()
      local t = tmpdir("0700")
      local home = t .. "/home"
      local env = { HOME = t, ENIGMA_HOME = home }
      local mapped
      finally(function() cleanup(env, t, mapped) end)
      write(t .. "/q.lua", QUERY)
      local code, out, err = enigma(env, t, "db start")
      assert.are.equal(0, code, err)
      mapped = data_in(out)
      assert.matches("^/var/lib/enigma/%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%x%-home$", mapped)
      assert.are.equal(("database running in %s (its data in %s)\n"):format(home, mapped), out)
      assert.are.equal(("enigma: creating a new database cluster in %s (its data in %s)\n"):format(home, mapped), err)
      assert.are.equal("postgres", sh("stat -c %U " .. mapped .. "/data"))
      assert.are.equal(mapped, sh("readlink " .. shell.quote(home .. "/cluster")))
      code, out, err = enigma(env, t, "run " .. t .. "/q.lua create")
      assert.are.equal(0, code, err)
      assert.are.equal("1\n", out)
      code, out = enigma(env, t, "db status")
      assert.are.equal(0, code)
      assert.are.equal(("running (%s; its data in %s)\n"):format(home, mapped), out)
      code, out, err = enigma(env, t, "db stop")
      assert.are.equal(0, code, err)
      assert.are.equal("database stopped\n", out)
      code, out = enigma(env, t, "db status")
      assert.are.equal(3, code)
      assert.matches("^stopped", out)
      -- started again: the same data
      code, out, err = enigma(env, t, "run " .. t .. "/q.lua")
      assert.are.equal(0, code, err)
      assert.are.equal("1\n", out)
      assert.are.equal("", err)
    end)

    it("gives a deleted home a new, empty cluster, and db stop still stops the old one", function()
      local t = tmpdir("0700")
      local home = t .. "/home"
      local env = { HOME = t, ENIGMA_HOME = home }
      local mapped
      finally(function() cleanup(env, t, mapped) end)
      write(t .. "/q.lua", QUERY)
      local code, out, err = enigma(env, t, "run " .. t .. "/q.lua create")
      assert.are.equal(0, code, err)
      assert.are.equal("1\n", out)
      code, out = enigma(env, t, "db status")
      assert.are.equal(0, code)
      mapped = data_in(out)
      assert.matches("^/var/lib/enigma/", mapped)
      -- the home goes while its server runs
      sh("rm -rf " .. shell.quote(home))
      code, out = enigma(env, t, "db status")
      assert.are.equal(3, code)
      assert.are.equal("no cluster at " .. home .. " (enigma db start creates one)\n", out)
      code, out, err = enigma(env, t, "run " .. t .. "/q.lua")
      assert.are.equal(0, code, err)
      assert.are.equal("0\n", out)           -- not the old cluster's table
      assert.matches("^enigma: creating a new database cluster in " .. home:gsub("%p", "%%%0"), err)
      assert.are.equal(mapped, sh("readlink " .. shell.quote(home .. "/cluster")))
      -- deleted again: stop finds the server all the same
      sh("rm -rf " .. shell.quote(home))
      assert.is_true(exists(mapped .. "/data/postmaster.pid"))
      code, out, err = enigma(env, t, "db stop")
      assert.are.equal(0, code, err)
      assert.are.equal("database stopped\n", out)
      assert.is_false(exists(mapped .. "/data/postmaster.pid"))
      assert.is_false(exists(home))
      -- the whole tree goes, the directory that kept postgres out included: /tmp is within
      -- its reach, yet stop finds the server (the cluster directory names its home)
      code, out, err = enigma(env, t, "db start")
      assert.are.equal(0, code, err)
      assert.are.equal(mapped, data_in(out))
      sh("rm -rf " .. shell.quote(t))
      assert.is_true(exists(mapped .. "/data/postmaster.pid"))
      code, out, err = enigma(env, "/tmp", "db stop")
      assert.are.equal(0, code, err)
      assert.are.equal("database stopped\n", out)
      assert.is_false(exists(mapped .. "/data/postmaster.pid"))
    end)
  end)
end)
