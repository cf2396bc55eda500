--- Driving `enigma serve` from specs: a private cluster (so restarting it disturbs no other
--- test), job directories, runners in the background, and waiting for what they do.
local enigma = require "enigma"
local shell = require "shell"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local M = { runners = {} }

local home, BUILD = nil, BIN:match("^(.*)/[^/]+$")

local function sh(cmd)
  local code, out, err = shell.run(M.env .. cmd)
  assert(code == 0, ("%s failed (%s): %s%s"):format(cmd, tostring(code), out, err))
  return out
end
M.sh = sh

function M.sleep(s)
  os.execute("sleep " .. s)
end

--- Polls fn until it returns a true value (returned) or `timeout` seconds pass (error).
function M.wait_until(what, timeout, fn)
  local deadline = enigma.monotime() + timeout
  while true do
    local v = fn()
    if v then return v end
    if enigma.monotime() > deadline then error("timed out waiting for " .. what, 2) end
    M.sleep(0.05)
  end
end

--- A fresh cluster of its own for spec `name`, migrated; returns a connection to it.
function M.cluster(name)
  home = BUILD .. "/serve-" .. name .. "-home"
  M.home = home
  M.env = "unset LD_PRELOAD; ENIGMA_HOME=" .. shell.quote(home) .. " "
  os.execute("unset LD_PRELOAD; ENIGMA_HOME=" .. shell.quote(home) .. " " .. BIN .. " db stop >/dev/null 2>&1")
  os.execute("rm -rf " .. shell.quote(home))
  sh(BIN .. " db start")
  sh(BIN .. " migrate")
  M.url = (sh(BIN .. " db url"):gsub("%s+$", ""))   -- the superuser's, for the specs' fixtures
  M.runtime_url = (sh(BIN .. " db url --runtime"):gsub("%s+$", ""))   -- serve's own login
  return assert(enigma.db.connect(M.url))
end

function M.stop_cluster() sh(BIN .. " db stop") end
function M.start_cluster() sh(BIN .. " db start") end

--- A fresh job directory with the given files { name = source }.
function M.jobdir(files)
  local dir = (sh("mktemp -d /tmp/enigma-jobs.XXXXXX"):gsub("%s+$", ""))
  for name, src in pairs(files or {}) do M.write(dir, name, src) end
  return dir
end

--- Writes dir/name.lua atomically (write then rename), as editors do.
function M.write(dir, name, src)
  local tmp = dir .. "/." .. name .. ".tmp"
  local f = assert(io.open(tmp, "w"))
  f:write(src)
  f:close()
  assert(os.rename(tmp, dir .. "/" .. name .. ".lua"))
end

--- Starts `enigma serve` in the background; returns a runner { pid, log, dir }. It runs jobs
--- only (--no-agents) unless args name an --agents directory; with `embedded` it finds the
--- database as a user's serve does, through the embedded cluster's default.
function M.start(dir, id, args, embedded)
  args = args or ""
  if not args:find("--agents", 1, true) then args = args .. " --no-agents" end
  local log = os.tmpname()
  local status = os.tmpname()
  os.remove(status)
  -- Through its URL, as in production; `embedded`: through the embedded cluster's default.
  local url = embedded and "unset ENIGMA_DATABASE_URL DATABASE_URL; "
                       or ("ENIGMA_DATABASE_URL=%s "):format(shell.quote(M.runtime_url))
  local cmd = ("%s%ssh -c %s"):format(M.env, url, shell.quote(
    ("%s serve --jobs %s --id %s %s > %s 2>&1 & pid=$!; echo $pid; wait $pid; echo $? > %s")
      :format(BIN, shell.quote(dir), shell.quote(id), args, log, status)))
  local p = assert(io.popen(cmd .. " 2>/dev/null &"))
  local pid = assert(tonumber(p:read("l")), "no pid from the runner")
  p:close()
  local r = { pid = pid, log = log, status = status, dir = dir, id = id }
  M.runners[#M.runners + 1] = r
  M.wait_until("runner " .. id .. " to start", 10, function() return M.read(log):find("job%(s%) from") end)
  return r
end

--- Kills every runner a test started and left running (after_each: a failed test must not
--- leave one behind).
function M.cleanup()
  for _, r in ipairs(M.runners) do
    if not tonumber((M.read(r.status):match("%d+"))) then M.signal(r, "KILL") end
  end
  M.runners = {}
end

--- Runs a command against the private cluster: exit code, stdout, stderr.
function M.run_cmd(cmd)
  return shell.run(M.env .. cmd)
end

function M.read(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

function M.signal(r, sig)
  os.execute(("kill -%s %d 2>/dev/null"):format(sig, r.pid))
end

--- Waits for the runner to exit; returns its exit status.
function M.wait_exit(r, timeout)
  local code = M.wait_until("runner " .. r.id .. " to exit", timeout or 20, function()
    return tonumber((M.read(r.status):match("%d+")))
  end)
  return code
end

--- Stops a runner with SIGTERM and returns its exit status (kills it if it hangs).
function M.stop(r)
  M.signal(r, "TERM")
  local ok, code = pcall(M.wait_exit, r, 20)
  if not ok then
    M.signal(r, "KILL")
    error(code)
  end
  return code
end

--- A job file whose run(ctx) executes `body`; `record(ctx, note)` in it stores what ran,
--- where and when in the spec's `seen` table.
function M.job(fields, body)
  return ([[
local enigma = require "enigma"
local function record(ctx, note)
  assert(ctx.db:exec("insert into seen (job, occurrence, runner, note, at) values ($1, $2, $3, $4, $5)",
                     ctx.job, ctx.occurrence, ctx.runner_id, note, enigma.sched.now()))
end
return { %s, run = function(ctx) %s end }]]):format(fields, body)
end

return M
