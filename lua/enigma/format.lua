--- Query results as text: aligned tables (as psql prints them), CSV, JSON
--- and Markdown. Every report and the REPL format through here.
---
---   local fmt = require "enigma.format"
---   print(fmt.table(db:query("select ...")))
---   fmt.render(rows, "csv")
local enigma = require "enigma"
local decimal, null = enigma.decimal, enigma.null

local M = {}

M.NULL = "NULL"

local function is_number(v)
  return type(v) == "number" or decimal.isdecimal(v)
end

local function cell(v)
  if v == null or v == nil then return M.NULL end
  if type(v) == "table" then return enigma.json.encode(v) end
  if type(v) == "number" and math.type(v) == "float" then
    return string.format("%.15g", v)
  end
  return tostring(v)
end

-- The column names: rows.columns when the rows came from a query, else the
-- sorted keys of the first row.
local function columns_of(rows)
  if rows.columns then return rows.columns end
  local cols = {}
  for k in pairs(rows[1] or {}) do cols[#cols + 1] = k end
  table.sort(cols)
  return cols
end

-- Display width of a UTF-8 string (one column per code point).
local function width(s)
  return utf8.len(s) or #s
end

local function pad(s, w, right)
  local fill = string.rep(" ", w - width(s))
  return right and fill .. s or s .. fill
end

--- An aligned table with a header, numbers right-aligned, and a row count.
function M.table(rows, opts)
  opts = opts or {}
  local cols = columns_of(rows)
  local widths, numeric, cells = {}, {}, {}
  for j, c in ipairs(cols) do widths[j] = width(c); numeric[j] = true end
  for i, row in ipairs(rows) do
    cells[i] = {}
    for j, c in ipairs(cols) do
      local v = row[c]
      local s = cell(v)
      cells[i][j] = s
      if v ~= null and v ~= nil and not is_number(v) then numeric[j] = false end
      if width(s) > widths[j] then widths[j] = width(s) end
    end
  end
  local out, line = {}, {}
  if opts.title then out[#out + 1] = opts.title end
  for j, c in ipairs(cols) do
    local w = widths[j]
    local left = (w - width(c)) // 2
    line[j] = " " .. string.rep(" ", left) .. c .. string.rep(" ", w - width(c) - left) .. " "
  end
  out[#out + 1] = (table.concat(line, "|"):gsub("%s+$", ""))
  for j in ipairs(cols) do line[j] = string.rep("-", widths[j] + 2) end
  out[#out + 1] = table.concat(line, "+")
  for i in ipairs(rows) do
    for j in ipairs(cols) do line[j] = " " .. pad(cells[i][j], widths[j], numeric[j]) .. " " end
    out[#out + 1] = (table.concat(line, "|"):gsub("%s+$", ""))
  end
  out[#out + 1] = string.format("(%d row%s)", #rows, #rows == 1 and "" or "s")
  return table.concat(out, "\n") .. "\n"
end

local function csv_field(s)
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

--- RFC 4180 CSV with a header line; NULL is an empty field.
function M.csv(rows)
  local cols, out = columns_of(rows), {}
  local line = {}
  for j, c in ipairs(cols) do line[j] = csv_field(c) end
  out[1] = table.concat(line, ",")
  for i, row in ipairs(rows) do
    for j, c in ipairs(cols) do
      local v = row[c]
      line[j] = (v == null or v == nil) and "" or csv_field(cell(v))
    end
    out[i + 1] = table.concat(line, ",")
  end
  return table.concat(out, "\r\n") .. "\r\n"
end

--- A JSON array of objects; decimals stay exact, NULL is null.
function M.json(rows)
  local list = {}
  for i, row in ipairs(rows) do list[i] = row end
  if #list == 0 then return "[]\n" end
  return enigma.json.encode(list) .. "\n"
end

--- A GitHub-flavoured Markdown table.
function M.markdown(rows)
  local cols, out, line = columns_of(rows), {}, {}
  local function esc(s) return (s:gsub("|", "\\|"):gsub("\n", " ")) end
  for j, c in ipairs(cols) do line[j] = esc(c) end
  out[1] = "| " .. table.concat(line, " | ") .. " |"
  for j in ipairs(cols) do line[j] = "---" end
  out[2] = "| " .. table.concat(line, " | ") .. " |"
  for i, row in ipairs(rows) do
    for j, c in ipairs(cols) do line[j] = esc(cell(row[c])) end
    out[i + 2] = "| " .. table.concat(line, " | ") .. " |"
  end
  return table.concat(out, "\n") .. "\n"
end

M.formats = { table = M.table, csv = M.csv, json = M.json, markdown = M.markdown }

--- rows in the named format ("table", "csv", "json", "markdown").
function M.render(rows, name, opts)
  local f = M.formats[name or "table"]
  if not f then
    error(string.format("unknown format '%s' (table, csv, json or markdown)", tostring(name)), 2)
  end
  return f(rows, opts)
end

return M
