--- Running commands from specs, as a user would in a shell.
local M = {}

--- Runs `cmd` through /bin/sh; returns its exit code, stdout and stderr.
--- The sanitizer runtimes a sanitized spec run preloads into lua5.4 are not
--- passed on: the programs run here are either built with them or not ours.
function M.run(cmd)
  local errfile = os.tmpname()
  local p = assert(io.popen("unset LD_PRELOAD; " .. cmd .. " 2>" .. errfile))
  local out = p:read("a")
  local _, _, code = p:close()
  local f = assert(io.open(errfile))
  local err = f:read("a")
  f:close()
  os.remove(errfile)
  return code, out, err
end

--- `s` quoted for /bin/sh.
function M.quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

return M
