--- The superuser URL of the specs' embedded cluster (`enigma db url`), for what the runtime's
--- own login (enigma_runtime, the default connection) may not do: temporary tables, DDL,
--- fixtures of other roles. Asked once per spec file.
local shell = require "shell"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local url

return function()
  if not url then
    local code, out, err = shell.run(BIN .. " db url")
    assert(code == 0, "enigma db url failed: " .. tostring(err))
    url = (out:gsub("%s+$", ""))
  end
  return url
end
