--- enigma.repl: the read-eval-print loop of `enigma repl`, apart from the terminal. The host
-- (readline, Ctrl-C, the pager) feeds it one line at a time; it says what to print and whether
-- the input is complete.
--
--   local r = repl.new{ db = db, write = io.write }
--   r:feed("local t = {1,")   --> "more"   (r:prompt() is now the continuation prompt)
--   r:feed("2}")              --> "done"
--   r:feed("\\q")             --> "quit"
--
-- Lua mode (the default): an expression prints its values (no `=` or `return` needed), tables
-- pretty-printed to a depth of 4; a statement runs in the session's environment, where `db` is
-- the connection and `enigma` the package. SQL mode (\sql): statements end with `;` and may span
-- lines; results print through enigma.format (\format, \x, \timing, \o FILE).
local enigma = require "enigma"
local format = require "enigma.format"

local repl = {}
local Repl = {}
Repl.__index = Repl

local DEPTH = 4
local HELP = [[
  \sql, \lua        switch to SQL mode (statements end with ;) or back to Lua
  \d [NAME]         list tables and views, or describe one (columns, indexes, policies)
  \dt  \dv  \df     list tables, views, functions
  \x                toggle expanded display (one field per line)
  \format NAME      table, csv, json or markdown
  \timing           toggle printing how long each statement took
  \o [FILE]         send results to FILE, or back to the terminal
  \?                this help
  \q                quit (or Ctrl-D)
]]

--- opts: db (a connection or nil), write (function(text), default io.write), env (the Lua
--- environment; default: a table with db and enigma over _G).
function repl.new(opts)
  opts = opts or {}
  local self = setmetatable({
    db = opts.db, write = opts.write or io.write, mode = "lua", lines = {},
    format = "table", expanded = false, timing = false,
  }, Repl)
  self.env = opts.env or setmetatable({ db = opts.db, enigma = enigma }, { __index = _G })
  return self
end

--- The prompt for the next line: mode, transaction state (* open, ! failed) and continuation.
function Repl:prompt()
  local tx = ""
  if self.db and self.db.transaction_status then
    local ok, st = pcall(self.db.transaction_status, self.db)
    tx = ok and (st == "inerror" and "!" or (st == "intrans" or st == "active") and "*" or "") or ""
  end
  local name = self.mode == "sql" and "sql" or "enigma"
  return ("%s%s%s "):format(name, tx, #self.lines > 0 and "-" or ">")
end

-- Output goes to the terminal, or to the \o file.
function Repl:emit(text)
  if self.output then self.output:write(text) else self.write(text) end
end

--- Prints an error: an enigma.error as enigma.error.describe gives it (code, the statement's line
--- and a caret under the position, as psql shows it), else a message and an optional SQLSTATE.
function Repl:error(msg, code)
  if enigma.error.is(msg) then
    self.write("ERROR: " .. enigma.error.describe(msg) .. "\n")
    return
  end
  self.write(("ERROR: %s%s\n"):format(tostring(msg), code and (" (SQLSTATE " .. tostring(code) .. ")") or ""))
end

-- --- printing Lua values -----------------------------------------------------------------

local function is_identifier(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

local function show(v, depth, seen)
  local t = type(v)
  if t == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  if t ~= "table" or getmetatable(v) ~= nil and getmetatable(v).__tostring then
    if v == enigma.null then return "null" end
    return tostring(v)
  end
  if seen[v] then return "<cycle>" end
  if depth >= DEPTH then return "{...}" end
  seen[v] = true
  local parts, n = {}, #v
  for i = 1, n do parts[#parts + 1] = show(v[i], depth + 1, seen) end
  local keys = {}
  for k in pairs(v) do
    if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
  end
  table.sort(keys, function(a, b)
    if type(a) == type(b) and (type(a) == "string" or type(a) == "number") then return a < b end
    return type(a) < type(b)
  end)
  for _, k in ipairs(keys) do
    local key = is_identifier(k) and k or ("[" .. show(k, depth + 1, seen) .. "]")
    parts[#parts + 1] = key .. " = " .. show(v[k], depth + 1, seen)
  end
  seen[v] = nil
  local one = "{ " .. table.concat(parts, ", ") .. " }"
  if #parts == 0 then return "{}" end
  if #one <= 100 then return one end
  local indent = ("  "):rep(depth + 1)
  return "{\n" .. indent .. table.concat(parts, ",\n" .. indent) .. "\n" .. ("  "):rep(depth) .. "}"
end
repl.show = function(v) return (show(v, 0, {})) end

-- --- Lua mode ------------------------------------------------------------------------------

-- Compiles the buffered lines: the function, or nil and "more" when the chunk is incomplete,
-- or nil and the syntax error.
function Repl:compile(text)
  local fn = load("return " .. text, "=stdin", "t", self.env)
  if fn then return fn end
  local err
  fn, err = load(text, "=stdin", "t", self.env)
  if fn then return fn end
  if err:match("<eof>$") then return nil, "more" end
  return nil, err
end

function Repl:run_lua(text)
  local fn, err = self:compile(text)
  if not fn then
    if err == "more" then return "more" end
    self:error(err)
    return "done"
  end
  local res = table.pack(xpcall(fn, function(e)
    if enigma.error.is(e) or type(e) == "string" then return e end
    return enigma.error.describe(e)   -- its __tostring, or what kind of value it is
  end))
  if not res[1] then
    self:error(res[2])
  elseif res.n > 1 then
    local parts = {}
    for i = 2, res.n do parts[#parts + 1] = repl.show(res[i]) end
    self:emit(table.concat(parts, "\t") .. "\n")
  end
  return "done"
end

-- --- SQL mode ------------------------------------------------------------------------------

--- Rows as psql's expanded display: a record header, then one `column | value` line per field.
function repl.expanded(rows)
  local cols = rows.columns or {}
  local w = 0
  for _, c in ipairs(cols) do w = math.max(w, utf8.len(c) or #c) end
  local out = {}
  for i, row in ipairs(rows) do
    out[#out + 1] = ("-[ RECORD %d ]%s"):format(i, ("-"):rep(math.max(0, w - 10)))
    for _, c in ipairs(cols) do
      local v = row[c]
      local s = (v == nil or v == enigma.null) and format.NULL
                or (type(v) == "table" and enigma.json.encode(v) or tostring(v))
      out[#out + 1] = c .. (" "):rep(w - (utf8.len(c) or #c)) .. " | " .. s
    end
  end
  if #rows == 0 then out[1] = "(0 rows)" end
  return table.concat(out, "\n") .. "\n"
end

function Repl:print_rows(rows)
  if self.expanded and self.format == "table" then
    self:emit(repl.expanded(rows))
  else
    self:emit(format.render(rows, self.format))
  end
end

function Repl:run_sql(text)
  if not self.db then
    self:error("no database connection (see `enigma db status`)")
    return "done"
  end
  local started = enigma.monotime()
  local rows, msg, code, err = self.db:query(text)
  if not rows then
    self:error(err or msg, code)
  elseif rows.columns and #rows.columns > 0 then
    self:print_rows(rows)
  else
    self:emit((rows.command or "OK") .. "\n")
  end
  if self.timing then self.write(("Time: %.3f ms\n"):format((enigma.monotime() - started) * 1000)) end
  return "done"
end

-- Whether the SQL text is complete: it ends with a `;` outside quotes and comments.
function repl.sql_complete(text)
  local i, n, last = 1, #text, nil
  while i <= n do
    local c = text:sub(i, i)
    if c == "'" or c == '"' then
      local j = text:find(c, i + 1, true)
      if not j then return false end
      i, last = j + 1, c
    elseif text:sub(i, i + 1) == "--" then
      i = (text:find("\n", i, true) or n) + 1
    elseif text:sub(i, i + 1) == "/*" then
      local j = text:find("*/", i + 2, true)
      if not j then return false end
      i = j + 2
    elseif c == "$" and text:match("^%$[%w_]*%$", i) then
      local tag = text:match("^%$[%w_]*%$", i)
      local j = text:find(tag, i + #tag, true)
      if not j then return false end
      i, last = j + #tag, "$"
    else
      if not c:match("%s") then last = c end
      i = i + 1
    end
  end
  return last == ";"
end

-- --- meta-commands -------------------------------------------------------------------------

local LIST_SQL = [[
select n.nspname as schema, c.relname as name,
       case c.relkind when 'r' then 'table' when 'p' then 'partitioned table' when 'v' then 'view'
                      when 'm' then 'materialized view' end as type
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
 where c.relkind = any($1::"char"[]) and not c.relispartition
   and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'
 order by 1, 2]]

local FUNCTIONS_SQL = [[
select n.nspname as schema, p.proname as name, pg_get_function_result(p.oid) as result,
       pg_get_function_identity_arguments(p.oid) as arguments
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace
 where n.nspname in ('public', 'auth') order by 1, 2]]

local COLUMNS_SQL = [[
select a.attname as column, format_type(a.atttypid, a.atttypmod) as type,
       case when a.attnotnull then 'not null' else '' end as nullable,
       coalesce(pg_get_expr(d.adbin, d.adrelid), '') as default
  from pg_attribute a left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
 where a.attrelid = to_regclass($1) and a.attnum > 0 and not a.attisdropped
 order by a.attnum]]

local INDEXES_SQL = [[
select i.relname as index, pg_get_indexdef(x.indexrelid) as definition
  from pg_index x join pg_class i on i.oid = x.indexrelid
 where x.indrelid = to_regclass($1) order by 1]]

local POLICIES_SQL = [[
select policyname as policy, cmd as command, array_to_string(roles, ', ') as roles,
       coalesce(qual, '') as using, coalesce(with_check, '') as with_check
  from pg_policies
 where (schemaname, tablename) = (select n.nspname, c.relname from pg_class c
                                    join pg_namespace n on n.oid = c.relnamespace
                                   where c.oid = to_regclass($1))
 order by 1]]   -- by name: casting each row's name to regclass trips on pg_toast as a non-superuser

function Repl:describe(name)
  local db = self.db
  local found = db:query("select to_regclass($1) is not null as ok", name)
  if not found then return self:error("cannot look up " .. name) end
  if not found[1].ok then return self:error(("no table or view named %s"):format(name)) end
  self:emit(("%s\n"):format(name))
  self:print_rows(assert(db:query(COLUMNS_SQL, name)))
  local idx = assert(db:query(INDEXES_SQL, name))
  if #idx > 0 then self:emit("Indexes:\n") self:print_rows(idx) end
  local pol = assert(db:query(POLICIES_SQL, name))
  if #pol > 0 then self:emit("Policies:\n") self:print_rows(pol) end
end

function Repl:meta(line)
  local cmd, arg = line:match("^\\(%S+)%s*(.-)%s*$")
  if cmd == "q" then return "quit" end
  if cmd == "?" then self.write(HELP) return "done" end
  if cmd == "sql" or cmd == "lua" then self.mode = cmd return "done" end
  if cmd == "x" then
    self.expanded = not self.expanded
    self.write(("Expanded display is %s.\n"):format(self.expanded and "on" or "off"))
    return "done"
  end
  if cmd == "timing" then
    self.timing = not self.timing
    self.write(("Timing is %s.\n"):format(self.timing and "on" or "off"))
    return "done"
  end
  if cmd == "format" then
    if not format.formats[arg] then
      self:error(("unknown format '%s' (table, csv, json or markdown)"):format(arg))
    else
      self.format = arg
      self.write(("Output format is %s.\n"):format(arg))
    end
    return "done"
  end
  if cmd == "o" then
    if self.output then self.output:close() self.output = nil end
    if arg ~= "" then
      local f, err = io.open(arg, "w")
      if not f then self:error(err) else self.output = f end
    end
    return "done"
  end
  local kinds = { d = { "r", "p", "v", "m" }, dt = { "r", "p" }, dv = { "v", "m" } }
  if kinds[cmd] or cmd == "df" then
    if not self.db then self:error("no database connection") return "done" end
    if cmd == "d" and arg ~= "" then self:describe(arg) return "done" end
    local rows, msg, code
    if cmd == "df" then rows, msg, code = self.db:query(FUNCTIONS_SQL)
    else rows, msg, code = self.db:query(LIST_SQL, kinds[cmd]) end
    if rows then self:print_rows(rows) else self:error(msg, code) end
    return "done"
  end
  self:error(("unknown command \\%s (\\? lists them)"):format(tostring(cmd)))
  return "done"
end

--- Feeds one line. Returns "more" (the input continues), "done" or "quit".
function Repl:feed(line)
  if #self.lines == 0 and line:match("^%s*\\") then return self:meta(line:match("^%s*(.-)$")) end
  if #self.lines == 0 and line:match("^%s*$") then return "done" end
  self.lines[#self.lines + 1] = line
  local text = table.concat(self.lines, "\n")
  local status
  if self.mode == "sql" then
    if not repl.sql_complete(text) then return "more" end
    status = self:run_sql(text)
  else
    status = self:run_lua(text)
  end
  if status ~= "more" then self.lines = {} end
  return status
end

-- --- completion ----------------------------------------------------------------------------

local SQL_WORDS = {
  "select", "from", "where", "group", "by", "order", "having", "limit", "offset", "join", "left",
  "right", "inner", "outer", "on", "and", "or", "not", "null", "is", "in", "exists", "between",
  "like", "ilike", "as", "distinct", "insert", "into", "values", "update", "set", "delete",
  "returning", "with", "union", "all", "case", "when", "then", "else", "end", "begin", "commit",
  "rollback", "explain", "analyze", "count", "sum", "avg", "min", "max", "now", "interval",
}

-- Table, view and column names, read once per session.
function Repl:sql_names()
  if self.names then return self.names end
  local names = {}
  local rows = self.db and self.db:query([[
    select distinct c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm') and not c.relispartition
    union
    select distinct a.attname from pg_attribute a join pg_class c on c.oid = a.attrelid
      join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'public' and c.relkind in ('r', 'p', 'v', 'm') and a.attnum > 0
       and not a.attisdropped]])
  for _, r in ipairs(rows or {}) do names[#names + 1] = r.name end
  self.names = names
  return names
end

--- Candidates for completing `word` (the text before the cursor's word boundary), without
--- running code: Lua globals and fields (read raw, no metamethod runs) in Lua mode, SQL
--- keywords and table and column names in SQL mode. A sorted list of whole words.
function Repl:complete(word)
  local found, seen = {}, {}
  local function add(candidate)
    if not seen[candidate] then seen[candidate] = true found[#found + 1] = candidate end
  end
  if self.mode == "sql" then
    local lower = word:lower()
    for _, w in ipairs(SQL_WORDS) do if w:sub(1, #lower) == lower then add(w) end end
    for _, w in ipairs(self:sql_names()) do if w:sub(1, #lower) == lower then add(w) end end
  else
    local path, sep, last = word:match("^(.-)([%.:]?)([%w_]*)$")
    local t = self.env
    if sep ~= "" then
      for part in path:gmatch("[^%.:]+") do
        t = type(t) == "table" and rawget(t, part) or nil
        if t == nil and path == part then t = rawget(_G, part) end
      end
    end
    local function scan(tbl)
      if type(tbl) ~= "table" then return end
      for k in next, tbl do
        if type(k) == "string" and k:match("^[%a_][%w_]*$") and k:sub(1, #last) == last then
          add(path .. sep .. k)
        end
      end
    end
    if type(t) == "userdata" or (type(t) == "table" and sep == ":") then
      local mt = getmetatable(t)
      scan(type(mt) == "table" and rawget(mt, "__index") or nil)
    else
      scan(t)
      if sep == "" then scan(_G) end
    end
  end
  table.sort(found)
  return found
end

--- Drops the lines typed so far (Ctrl-C at the prompt).
function Repl:reset()
  self.lines = {}
end

return repl
