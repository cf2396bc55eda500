--- enigma.chart: a report's rows as a self-contained HTML page with an SVG chart.
--
--   chart.html(title, sections, { x = "metric_date", y = "total_transactions", kind = "bar" })
--
-- The chart plots column y against column x of the first section's rows (bars, or a line for
-- kind = "line"), oldest x on the left; every section follows as an HTML table. No script, no
-- external file: the page renders the same anywhere, including headless browsers.
local enigma = require "enigma"

local chart = {}

chart.COLOUR = "#2f6fd8"       -- the bars and the line (the tests look for it on screenshots)
local W, H, PAD_L, PAD_R, PAD_T, PAD_B = 900, 320, 70, 20, 20, 60

local function esc(s)
  return (tostring(s):gsub("[&<>\"']", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;",
                                          ['"'] = "&quot;", ["'"] = "&#39;" }))
end

local function cell(v)
  if v == nil or v == enigma.null then return "NULL" end
  if type(v) == "table" then return enigma.json.encode(v) end
  return tostring(v)
end

local function number(v)
  if v == nil or v == enigma.null then return nil end
  return tonumber(tostring(v))
end

-- A readable axis label: 1234567 -> 1.23M.
local function short(v)
  local a = math.abs(v)
  if a >= 1e9 then return ("%.3gB"):format(v / 1e9) end
  if a >= 1e6 then return ("%.3gM"):format(v / 1e6) end
  if a >= 1e3 then return ("%.3gk"):format(v / 1e3) end
  return ("%.3g"):format(v)
end

--- The SVG of rows' column y against column x (nil when there is nothing to plot).
function chart.svg(rows, spec)
  local points = {}
  for _, r in ipairs(rows) do
    local y = number(r[spec.y])
    if y then points[#points + 1] = { x = cell(r[spec.x]), y = y } end
  end
  if #points == 0 then return nil end
  table.sort(points, function(a, b) return a.x < b.x end)
  local top = 0
  for _, p in ipairs(points) do top = math.max(top, p.y) end
  if top <= 0 then top = 1 end
  local pw, ph = W - PAD_L - PAD_R, H - PAD_T - PAD_B
  local step = pw / #points
  local out = {
    ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">')
      :format(W, H, W, H),
    ('<title>%s by %s</title>'):format(esc(spec.y), esc(spec.x)),
    ('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#999"/>'):format(PAD_L, PAD_T + ph, W - PAD_R, PAD_T + ph),
  }
  for i = 0, 4 do
    local v, y = top * i / 4, PAD_T + ph - ph * i / 4
    out[#out + 1] = ('<text x="%d" y="%.1f" font-size="11" text-anchor="end" fill="#555">%s</text>')
      :format(PAD_L - 6, y + 4, esc(short(v)))
    out[#out + 1] = ('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>'):format(PAD_L, y, W - PAD_R, y)
  end
  local line = {}
  for i, p in ipairs(points) do
    local x0 = PAD_L + (i - 1) * step
    local h = ph * math.max(p.y, 0) / top
    if spec.kind == "line" then
      line[#line + 1] = ("%.1f,%.1f"):format(x0 + step / 2, PAD_T + ph - h)
    else
      out[#out + 1] = ('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s</title></rect>')
        :format(x0 + step * 0.1, PAD_T + ph - h, step * 0.8, h, chart.COLOUR, esc(p.x), esc(p.y))
    end
    if #points <= 16 or i % math.ceil(#points / 16) == 1 then
      out[#out + 1] = ('<text x="%.1f" y="%d" font-size="10" text-anchor="end" fill="#555" '
        .. 'transform="rotate(-40 %.1f %d)">%s</text>'):format(x0 + step / 2, PAD_T + ph + 14,
        x0 + step / 2, PAD_T + ph + 14, esc(p.x))
    end
  end
  if #line > 0 then
    out[#out + 1] = ('<polyline points="%s" fill="none" stroke="%s" stroke-width="3"/>')
      :format(table.concat(line, " "), chart.COLOUR)
  end
  out[#out + 1] = "</svg>"
  return table.concat(out, "\n")
end

local function html_table(rows)
  local cols = rows.columns or {}
  if #cols == 0 and rows[1] then
    for k in pairs(rows[1]) do cols[#cols + 1] = k end
    table.sort(cols)
  end
  local out = { "<table><thead><tr>" }
  for _, c in ipairs(cols) do out[#out + 1] = "<th>" .. esc(c) .. "</th>" end
  out[#out + 1] = "</tr></thead><tbody>"
  for _, r in ipairs(rows) do
    out[#out + 1] = "<tr>"
    for _, c in ipairs(cols) do
      local v = r[c]
      local num = type(v) == "number" or enigma.decimal.isdecimal(v)
      out[#out + 1] = ("<td%s>%s</td>"):format(num and ' class="n"' or "", esc(cell(v)))
    end
    out[#out + 1] = "</tr>"
  end
  out[#out + 1] = ("</tbody></table><p class=\"count\">(%d row%s)</p>"):format(#rows, #rows == 1 and "" or "s")
  return table.concat(out)
end

--- A whole page: title, the chart (when spec is given and there is data), every section's table.
function chart.html(title, sections, spec)
  local out = {
    "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
    "<title>" .. esc(title) .. "</title>",
    "<style>body{font-family:sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0}"
      .. "th,td{border:1px solid #ccc;padding:3px 8px;font-size:13px}th{background:#f3f3f3}"
      .. "td.n{text-align:right;font-variant-numeric:tabular-nums}.count{color:#666;font-size:12px}</style>",
    "</head><body>", "<h1>" .. esc(title) .. "</h1>",
  }
  local svg = spec and sections[1] and chart.svg(sections[1].rows, spec)
  if svg then out[#out + 1] = '<figure id="chart">' .. svg .. "</figure>" end
  for _, s in ipairs(sections) do
    if s.title then out[#out + 1] = "<h2>" .. esc(s.title) .. "</h2>" end
    out[#out + 1] = html_table(s.rows)
  end
  out[#out + 1] = "</body></html>"
  return table.concat(out, "\n") .. "\n"
end

return chart
