-- Reports as HTML pages with an SVG chart, rendered by headless Chromium: the screenshot must
-- show the chart (pixels of its colour), the page must be self-contained (needs: cluster).
local chart = require "enigma.chart"
local shell = require "shell"

local BIN = assert(os.getenv("ENIGMA_BIN"))

local function sh(cmd)
  local code, out, err = shell.run(cmd)
  assert(code == 0, cmd .. " failed: " .. err)
  return out
end

local dir = sh("mktemp -d /tmp/enigma-html.XXXXXX"):gsub("%s+$", "")

-- Renders page (a file) in headless Chromium; returns how many pixels have the chart's colour.
local function chart_pixels(page)
  local png, ppm = page .. ".png", page .. ".ppm"
  sh(("HOME=%s chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars --window-size=1000,800 "
      .. "--screenshot=%s file://%s"):format(dir, png, page))
  sh(("pngtopnm %s > %s"):format(png, ppm))
  local f = assert(io.open(ppm, "rb"))
  local data = f:read("a")
  f:close()
  local w, h, max, header = data:match("^P6%s+(%d+)%s+(%d+)%s+(%d+)%s()")
  assert(w and tonumber(max) == 255, "not a P6 image")
  local r, g, b = chart.COLOUR:match("#(%x%x)(%x%x)(%x%x)")
  r, g, b = tonumber(r, 16), tonumber(g, 16), tonumber(b, 16)
  local n = 0
  for i = header, header + tonumber(w) * tonumber(h) * 3 - 1, 3 do
    local pr, pg, pb = data:byte(i, i + 2)
    if math.abs(pr - r) <= 2 and math.abs(pg - g) <= 2 and math.abs(pb - b) <= 2 then n = n + 1 end
  end
  return n
end

local function write(name, text)
  local path = dir .. "/" .. name
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
  return path
end

describe("reports as HTML", function()
  teardown(function() os.execute("rm -rf " .. dir) end)

  for _, name in ipairs({ "daily_metrics", "pool_analytics" }) do
    it(name .. ": the page shows a chart that is not empty, and its table", function()
      local code, html, err = shell.run(("%s run scripts/reports/%s.lua --format html"):format(BIN, name))
      assert.are.equal(0, code, err)
      assert.truthy(html:find("<svg", 1, true) and html:find("<table>", 1, true))
      -- self-contained: nothing is fetched (the only URL is the SVG namespace)
      assert.is_nil(html:gsub('xmlns="http://www.w3.org/2000/svg"', ""):find("https?://"))
      assert.is_nil(html:find("<script", 1, true))
      local pixels = chart_pixels(write(name .. ".html", html))
      assert.truthy(pixels > 2000, ("only %d pixels of the chart's colour"):format(pixels))
    end)
  end

  it("a page without data has no chart, and the screenshot shows none of its colour", function()
    local page = chart.html("Nothing", { { rows = { columns = { "day", "n" } } } }, { x = "day", y = "n" })
    assert.is_nil(page:find("<svg", 1, true))
    assert.are.equal(0, chart_pixels(write("empty.html", page)))
  end)

  it("escapes what it prints", function()
    local page = chart.html("<b>", { { rows = { columns = { "x", "y" }, { x = "<script>", y = 1 } } } }, { x = "x", y = "y" })
    assert.is_nil(page:find("<script>", 1, true))
    assert.truthy(page:find("&lt;script&gt;", 1, true))
  end)
end)
