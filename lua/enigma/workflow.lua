--- enigma.workflow: what the workflow modules (deposits, stealth) share.
local enigma = require "enigma"

local workflow = {}

local default_db

--- opts.db, or one default connection for the process.
function workflow.connection(opts)
  if opts.db then return opts.db end
  if not default_db then
    local db, err = enigma.db.connect()
    if not db then error("cannot connect to the database: " .. tostring(err), 3) end
    default_db = db
  end
  return default_db
end

--- An enigma.error (from pcall) as nil, message, code; anything else is re-raised.
function workflow.failure(err)
  if enigma.error.is(err) then return nil, err.message, err.code end
  error(err, 0)
end

--- Lower-case form of an address argument (EIP-55 mixed case is checked), or nil, message, code.
function workflow.address(text, what)
  if type(text) ~= "string" then error(what .. " (an address) is required", 3) end
  local ok, checked = pcall(enigma.crypto.checksum_address, text)
  if not ok then
    if enigma.error.is(checked) then
      return nil, ("%s: %s"):format(what, checked.message), "EADDRESS"
    end
    error(checked, 0)
  end
  return checked:lower()
end

return workflow
