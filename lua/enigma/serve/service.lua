--- enigma.serve.service: what the long-running commands share -- the job runner and the agent ticker
-- of `enigma serve`, and their command lines: log lines, database errors, option errors and
-- aligned tables.
local enigma = require "enigma"
local jobs = require "enigma.serve.jobs"

local service = {}

--- `s` as text the database takes: a NUL becomes "\0" and each byte that is not part of valid
--- UTF-8 "\xHH", so a job's error message (which may hold any bytes) cannot make the write that
--- records it fail (22021, 22P05) again and again.
function service.clean_text(s)
  s = tostring(s):gsub("%z", "\\0")
  local out, i = {}, 1
  while true do
    local ok, bad = utf8.len(s, i)
    if ok then
      out[#out + 1] = s:sub(i)
      return table.concat(out)
    end
    out[#out + 1] = s:sub(i, bad - 1)
    out[#out + 1] = ("\\x%02X"):format(s:byte(bad))
    i = bad + 1
  end
end

--- `s` as one line that is safe on an operator's terminal and in a log: clean_text's escapes,
--- then every control character but tab (line breaks, ESC, DEL) as \n, \r or \xHH, and the C1
--- controls (U+0080-U+009F, which some terminals obey) as \u{HH}. A strategy's or a job's text
--- cannot forge a log line or drive the terminal. With `lines`, line breaks (\n) are kept.
function service.printable(s, lines)
  s = service.clean_text(s):gsub("[%c]", function(c)
    if c == "\t" or (lines and c == "\n") then return c end
    if c == "\n" then return "\\n" end
    if c == "\r" then return "\\r" end
    return ("\\x%02X"):format(c:byte())
  end)
  return (s:gsub("\xC2([\x80-\x9F])", function(c) return ("\\u{%02X}"):format(c:byte()) end))
end

function service.first_line(s)
  return tostring(s or ""):match("^[^\n]*")
end

--- One log line on stdout, stamped with the UTC time to the millisecond.
function service.log(fmt, ...)
  io.stdout:write(jobs.utc(enigma.sched.now(), true), " ", service.printable(fmt:format(...)), "\n")
  io.stdout:flush()
end

--- Runs a statement; a failure raises an enigma.error (a lost connection has code 08xxx).
function service.query(db, sql, ...)
  local rows, msg, code, err = db:query(sql, ...)
  if not rows then error(err or enigma.error(msg, code), 0) end
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

--- Parses command-line arguments against `known`: option name (without "--") -> { key = the
--- field it sets, kind = "flag" (sets `value`, default true), "string" or "number" (positive) }.
--- -h/--help sets opts.help; --opt=value is --opt value; "--" ends the options. Returns opts
--- and the positional arguments, or nil and a message.
function service.parse_options(args, known)
  local opts, rest, i = {}, {}, 1
  while i <= #args do
    local a = args[i]
    local name, inline = a:match("^%-%-([%w-]+)=(.*)$")
    name = name or a:match("^%-%-([%w-]+)$")
    local o = known[name or ""]
    if a == "--" then
      table.move(args, i + 1, #args, #rest + 1, rest)
      break
    elseif a == "-h" or a == "--help" then
      opts.help = true
    elseif o and o.kind == "flag" then
      if inline then return nil, ("option --%s takes no value"):format(name) end
      if o.value == nil then opts[o.key] = true else opts[o.key] = o.value end
    elseif o then
      local v = inline
      if v == nil then
        v = args[i + 1]
        i = i + 1
      end
      if not v then return nil, ("option --%s needs a value"):format(name) end
      if o.kind == "number" then
        local n = tonumber(v)
        if o.integer then n = math.tointeger(n) end
        local low, high = o.min or 0, o.max or math.huge
        -- as `not (low < n <= high)`, so NaN fails as any other bad value
        if not n or not (n > low and n <= high) then
          return nil, ("--%s: '%s' is not a %s above %s%s"):format(name, v, o.integer and "whole number" or "number",
                                                                 low, high < math.huge and (", at most " .. high) or "")
        end
        v = n
      elseif o.max_len and #v > o.max_len then
        return nil, ("--%s: '%s...' is longer than %d characters"):format(name, v:sub(1, 20), o.max_len)
      elseif o.pattern and not v:match(o.pattern) then
        return nil, ("--%s: '%s' is not %s"):format(name, v, o.what or "valid")
      end
      opts[o.key] = v
    elseif a:sub(1, 1) == "-" then
      return nil, ("unknown option '%s'"):format(a)
    else
      rest[#rest + 1] = a
    end
    i = i + 1
  end
  return opts, rest
end

--- A watched script file changed: waits a moment for its writer (one wait per name at a
--- time, kept in owner.reloading), then returns its name, its path in dir and whether it still
--- exists. Returns nil when `filename` is not a script (name_of gives nil) or a wait for it
--- is already running.
function service.settle(owner, dir, filename, name_of)
  local name = name_of(filename or "")
  if not name then return nil end
  owner.reloading = owner.reloading or {}
  if owner.reloading[name] then return nil end
  owner.reloading[name] = true
  enigma.sched.sleep(0.02)
  owner.reloading[name] = nil
  local path = dir .. "/" .. name .. ".lua"
  local f = io.open(path, "rb")
  if f then f:close() end
  return name, path, f ~= nil
end

local SQL_DIR = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") .. "/sql"
local sql_text = {}

--- The text of the statement sql/<name>.sql beside this module, read once. The long statements
--- of serve live there, where they can be read, and checked against the schema on their own.
function service.sql(name)
  local text = sql_text[name]
  if not text then
    local f = assert(io.open(SQL_DIR .. "/" .. name .. ".sql", "rb"))
    text = f:read("a")
    f:close()
    sql_text[name] = text
  end
  return text
end

--- A table whose field x is the text of sql/<prefix>x.sql (SQL.claim for "jobs_claim.sql").
function service.statements(prefix)
  return setmetatable({}, { __index = function(t, name)
    local text = service.sql(prefix .. name)
    t[name] = text
    return text
  end })
end

--- The keys of the given tables, sorted, each once.
function service.sorted_keys(...)
  local names, seen = {}, {}
  for i = 1, select("#", ...) do
    for k in pairs((select(i, ...))) do
      if not seen[k] then
        seen[k] = true
        names[#names + 1] = k
      end
    end
  end
  table.sort(names)
  return names
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
