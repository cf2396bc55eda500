-- The plumbing of the runner sections of make bench (spec/bench/run.lua): child `enigma serve`
-- processes on job directories of their own, waiting on the wall clock, their CPU time, and
-- percentiles. Every child and temporary directory is remembered, so guard() can take them
-- all down when a section fails half-way. BENCH_KEEP=1 keeps the directories (job files and
-- runner logs) for a look afterwards.
local enigma = require "enigma"

local sched = enigma.sched
local M = {}

local children, dirs = {}, {}

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  assert(p:close(), "command failed: " .. cmd)
  return (out:gsub("%s+$", ""))
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

M.now = sched.now

--- Blocks for s seconds, on the event loop's timer (run.lua itself is not a task).
function M.sleep(s)
  if s <= 0 then return end
  sched.spawn(function()
    sched.sleep(s)
    sched.stop()
  end)
  sched.run()
end

--- Blocks until the wall clock reads t.
function M.sleep_until(t) M.sleep(t - sched.now()) end

--- Runs fn(1) .. fn(n) as n tasks side by side on the event loop, until all have returned;
--- raises the first error one of them raised.
function M.in_tasks(n, fn)
  local left, failure = n, nil
  for k = 1, n do
    sched.spawn(function()
      local ok, err = xpcall(fn, debug.traceback, k)
      if not ok then failure = failure or err end
      left = left - 1
      if left == 0 then sched.stop() end
    end)
  end
  sched.run()
  if failure then error(failure, 0) end
end

--- A new directory under /tmp, removed by cleanup().
function M.tempdir()
  local dir = sh("mktemp -d /tmp/enigma-bench.XXXXXX")
  dirs[#dirs + 1] = dir
  return dir
end

function M.write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
M.read = read

--- Starts `enigma serve --jobs dir ...args` on the bench database, logging to log; returns
--- { pid, log }.
function M.serve(build, url, dir, log, args)
  local cmd = ("ENIGMA_DATABASE_URL=%s %s/enigma serve --no-agents --jobs %s %s >%s 2>&1 </dev/null & echo $!")
    :format(quote(url), build, quote(dir), table.concat(args or {}, " "), quote(log))
  local child = { pid = assert(math.tointeger(tonumber(sh(cmd)))), log = log }
  children[#children + 1] = child
  return child
end

--- /proc/<pid>/stat's fields after the command name, or nil once the process is gone (or a zombie).
local function stat(pid)
  local s = read(("/proc/%d/stat"):format(pid))
  if not s then return nil end
  local fields = {}
  for f in s:match("%) (.*)$"):gmatch("%S+") do fields[#fields + 1] = f end
  if fields[1] == "Z" or fields[1] == "X" then return nil end
  return fields
end

function M.alive(child) return stat(child.pid) ~= nil end

local TCK = tonumber(sh("getconf CLK_TCK"))
M.TCK = TCK

--- CPU seconds (user + system) the process has used so far.
function M.cpu_seconds(child)
  local f = assert(stat(child.pid), "the runner is gone")
  -- utime and stime are fields 14 and 15 of stat; the list starts at field 3
  return (tonumber(f[12]) + tonumber(f[13])) / TCK
end

--- Waits until the runner has logged that it is serving; returns the wall-clock time it saw so.
function M.wait_up(child, timeout)
  local deadline = sched.now() + timeout
  while sched.now() < deadline do
    local text = read(child.log) or ""
    if text:find("runner [^\n]* job%(s%) from") then return sched.now() end
    assert(M.alive(child), "enigma serve exited early:\n" .. text)
    M.sleep(0.02)
  end
  error("enigma serve did not start within " .. timeout .. " s:\n" .. (read(child.log) or ""))
end

--- SIGTERM to each child, then waits (up to timeout s) for them all to exit; returns whether
--- every one exited with the runner's graceful-stop line logged.
function M.stop(list, timeout)
  for _, c in ipairs(list) do
    if not c.stopped then os.execute(("kill -TERM %d 2>/dev/null"):format(c.pid)) end
    c.stopped = true
  end
  local deadline = sched.now() + (timeout or 30)
  for _, c in ipairs(list) do
    while M.alive(c) and sched.now() < deadline do M.sleep(0.02) end
    if M.alive(c) then
      os.execute(("kill -KILL %d 2>/dev/null"):format(c.pid))
      c.killed = true
    end
  end
  for _, c in ipairs(list) do
    if c.killed or not (read(c.log) or ""):find("SIGTERM: stopping", 1, true) then return false end
  end
  return true
end

--- Kills whatever child is still running and removes the temporary directories.
function M.cleanup()
  for _, c in ipairs(children) do
    if M.alive(c) then os.execute(("kill -KILL %d 2>/dev/null"):format(c.pid)) end
  end
  children = {}
  for _, d in ipairs(dirs) do
    if os.getenv("BENCH_KEEP") then print("kept " .. d) else os.execute("rm -rf " .. quote(d)) end
  end
  dirs = {}
end

--- Runs a section; whatever happens, its children and directories are gone afterwards.
function M.guard(fn)
  local ok, err = xpcall(fn, debug.traceback)
  M.cleanup()
  if not ok then error(err, 0) end
end

--- The p-th quantile (0..1) of a list of numbers, nearest rank; sorts the list.
function M.quantile(list, p)
  if #list == 0 then return 0 / 0 end
  table.sort(list)
  return list[math.max(1, math.ceil(p * #list))]
end

return M
