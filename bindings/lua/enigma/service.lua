--- enigma.service: what the long-running commands share -- the job runner and the agent ticker
-- of `enigma serve`, and their command lines: log lines, database errors, option errors and
-- aligned tables.
local enigma = require "enigma"
local jobs = require "enigma.jobs"

local service = {}

function service.first_line(s)
  return tostring(s or ""):match("^[^\n]*")
end

--- One log line on stdout, stamped with the UTC time to the millisecond.
function service.log(fmt, ...)
  io.stdout:write(jobs.utc(enigma.sched.now(), true), " ", fmt:format(...), "\n")
  io.stdout:flush()
end

--- Runs a statement; a failure raises { message, code } (a lost connection has code 08xxx).
function service.query(db, sql, ...)
  local rows, msg, code = db:query(sql, ...)
  if not rows then error({ message = msg, code = code }, 0) end
  return rows
end

function service.is_connection_error(err)
  if type(err) == "table" then
    return err.code == nil or tostring(err.code):sub(1, 2) == "08" or tostring(err.code) == "57P01"
  end
  return tostring(err):find("closed database connection", 1, true) ~= nil
end

function service.message_of(err)
  if type(err) == "table" then return tostring(err.message) end
  return tostring(err)
end

--- Prints "enigma: <message>" and the --help hint on stderr; returns the usage exit status, 2.
function service.usage_error(command, fmt, ...)
  io.stderr:write("enigma: ", fmt:format(...), "\nRun `enigma ", command, " --help` for usage.\n")
  return 2
end

--- Prints rows of strings as columns aligned on the widest cell (the first row: headers).
function service.print_table(rows)
  local widths = {}
  for _, row in ipairs(rows) do
    for i, cell in ipairs(row) do widths[i] = math.max(widths[i] or 0, #cell) end
  end
  for _, row in ipairs(rows) do
    local cells = {}
    for i, cell in ipairs(row) do cells[i] = i < #row and cell .. (" "):rep(widths[i] - #cell) or cell end
    print(table.concat(cells, "  "))
  end
end

return service
