--- enigma.report: report scripts (scripts/reports/NAME.lua), from the command line or from Lua.
--
-- A report script is short and declarative:
--   local report = require "enigma.report"
--   return report.define {
--     description = "one line for --help",
--     options = { days = { default = 30, help = "how many days" } },   -- --days N
--     run = function(db, opts) return rows end,   -- or { { title =, rows = }, ... }
--   }
--     chart = { x = "metric_date", y = "total_transactions", kind = "bar" },  -- for --format html
-- Run as `enigma run scripts/reports/NAME.lua [--format table|csv|json|markdown|html] [--OPTION V]`,
-- report.define parses the arguments, connects to the default database, runs it and prints the
-- result through enigma.format; from Lua, report.run(name, opts[, db]) returns its sections.
local enigma = require "enigma"
local format = require "enigma.format"

local report = { dir = require("enigma").paths.scripts .. "/reports" }

local function sections_of(result)
  if result[1] and result[1].rows then return result end
  return { { rows = result } }
end

local FORMATS = "table, csv, json, markdown or html"

local function known(name)
  return format.formats[name] ~= nil or name == "html"
end

--- Renders sections in format `name`: one table after another (titled when there are
--- several), CSV blocks after "# title" lines, one JSON document, or (html) a self-contained
--- page with the chart `spec.chart` asks for (enigma.chart).
function report.render(sections, name, spec)
  name = name or "table"
  if not known(name) then
    error(("unknown format '%s' (%s)"):format(tostring(name), FORMATS), 2)
  end
  if name == "html" then
    spec = spec or {}
    return require("enigma.chart").html(spec.title or spec.description or "report", sections, spec.chart)
  end
  if name == "json" then
    if #sections == 1 then return format.json(sections[1].rows) end
    local parts = {}
    for i, s in ipairs(sections) do
      parts[i] = enigma.json.encode(s.title or tostring(i)) .. ":" .. format.json(s.rows)
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  local out = {}
  for _, s in ipairs(sections) do
    if #sections > 1 and s.title then
      out[#out + 1] = (name == "csv" and "# " or name == "markdown" and "### " or "") .. s.title
    end
    out[#out + 1] = format.render(s.rows, name)
  end
  return table.concat(out, "\n")
end

local function usage(spec)
  local lines = { ("usage: enigma run %s [--format table|csv|json|markdown|html]"):format(spec.path or "REPORT.lua") }
  lines[#lines + 1] = ""
  lines[#lines + 1] = spec.description or ""
  local names = {}
  for name in pairs(spec.options or {}) do names[#names + 1] = name end
  table.sort(names)
  for _, name in ipairs(names) do
    local o = spec.options[name]
    lines[#lines + 1] = ("  --%-12s %s%s"):format(name .. " V", o.help or "",
      o.default ~= nil and (" (default %s)"):format(tostring(o.default)) or (o.required and " (required)" or ""))
  end
  return table.concat(lines, "\n") .. "\n"
end

--- The options of spec from argv (a list of strings): opts and the format, or nil and a message.
function report.parse(spec, argv)
  argv = require("enigma.args").split(argv)
  local opts, fmt, i = {}, "table", 1
  for name, o in pairs(spec.options or {}) do opts[name] = o.default end
  while i <= #argv do
    local a = argv[i]
    local name = a:match("^%-%-([%w_-]+)$")
    if a == "-h" or a == "--help" then return nil, "help" end
    if not name then return nil, ("unexpected argument '%s'"):format(a) end
    local v = argv[i + 1]
    if v == nil then return nil, ("option --%s needs a value"):format(name) end
    if name == "format" then
      if not known(v) then return nil, ("unknown format '%s' (%s)"):format(v, FORMATS) end
      fmt = v
    else
      local o = (spec.options or {})[name:gsub("-", "_")]
      if not o then return nil, ("unknown option '--%s'"):format(name) end
      if type(o.default) == "number" then
        local n = math.tointeger(tonumber(v))
        if not n or n <= 0 then return nil, ("--%s: '%s' is not a positive whole number"):format(name, v) end
        if o.max and n > o.max then return nil, ("--%s: %d is more than %d"):format(name, n, o.max) end
        v = n
      end
      opts[name:gsub("-", "_")] = v
    end
    i = i + 2
  end
  for name, o in pairs(spec.options or {}) do
    if o.required and opts[name] == nil then return nil, ("--%s is required"):format(name) end
  end
  return opts, fmt
end

--- Runs spec with opts (the options' defaults fill what is missing) on db (default: a new
--- connection to the default database). Returns its sections, or nil, message, code (EOPTION,
--- a SQLSTATE, EREPORT when the script failed).
function report.run_spec(spec, opts, db)
  local given = opts or {}
  opts = {}
  for name, o in pairs(spec.options or {}) do
    if given[name] == nil then opts[name] = o.default else opts[name] = given[name] end
    if o.required and opts[name] == nil then return nil, ("option %s is required"):format(name), "EOPTION" end
  end
  for name, v in pairs(given) do
    if not (spec.options or {})[name] then
      return nil, ("unknown option '%s'"):format(tostring(name)), "EOPTION"
    end
    opts[name] = v
  end
  local own
  if not db then
    local err
    local code
    db, err, code = enigma.db.connect()
    if not db then return nil, "cannot connect to the database: " .. tostring(err), code or "08001" end
    own = db
  end
  local ok, result, err = pcall(spec.run, db, opts or {})
  if own then own:close() end
  if not ok then
    if enigma.error.is(result) then return nil, result.message, result.code end
    return nil, tostring(result), "EREPORT"
  end
  if result == nil then return nil, tostring(err), "EREPORT" end
  return sections_of(result)
end

--- The command line: parses argv, runs, prints. Returns the exit status.
function report.main(spec, argv)
  local opts, fmt = report.parse(spec, argv)
  if not opts then
    if fmt == "help" then io.write(usage(spec)) return 0 end
    io.stderr:write("enigma: ", fmt, "\nRun `enigma run ", spec.path or "REPORT.lua", " --help` for usage.\n")
    return 2
  end
  local sections, err = report.run_spec(spec, opts)
  if not sections then
    io.stderr:write("enigma: ", err, "\n")
    return 1
  end
  local text = report.render(sections, fmt, spec)
  io.write(text, text:sub(-1) == "\n" and "" or "\n")
  return 0
end

--- Loads report `name` (a name in report.dir, or a path) without running it: its spec.
function report.load(name)
  local path = name:find("/", 1, true) and name or ("%s/%s.lua"):format(report.dir, name)
  report.loading = true
  local ok, spec = pcall(dofile, path)
  report.loading = false
  if not ok then error(spec, 2) end
  spec.path = path
  return spec
end

--- report.run(name, opts[, db]) from Lua: the sections, or nil, message, code.
function report.run(name, opts, db)
  return report.run_spec(report.load(name), opts, db)
end

--- What a report script returns. Run as the main script (`enigma run`), it runs and exits.
function report.define(spec)
  if report.loading or type(arg) ~= "table" then return spec end
  spec.path = arg[0]
  local argv = {}
  for i = 1, #arg do argv[i] = arg[i] end
  os.exit(report.main(spec, argv), true)
end

return report
