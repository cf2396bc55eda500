-- README.md's Lua blocks run as a reader would copy them (needs: cluster): each ```lua block
-- with `enigma run`, and the first, whose comment says how, with stock lua5.4 and only the
-- LUA_CPATH it names. A block that is a sketch (with `...` for what it leaves out) says so: ```lua sketch.
local shell = require "shell"

local BIN = assert(os.getenv("ENIGMA_BIN"))
local SRC = assert(os.getenv("ENIGMA_SOURCE_DIR"))

local function blocks()
  local f = assert(io.open(SRC .. "/README.md"))
  local text = f:read("a")
  f:close()
  local found, line = {}, 0
  local current
  for l in (text .. "\n"):gmatch("([^\n]*)\n") do
    line = line + 1
    if current then
      if l:match("^```%s*$") then
        found[#found + 1] = current
        current = nil
      else
        current.code[#current.code + 1] = l
      end
    else
      local info = l:match("^```(.*)$")
      if info and info:match("^lua") then
        current = { line = line, info = info, code = {}, sketch = info:match("%f[%w]sketch%f[%W]") ~= nil }
      end
    end
  end
  assert(not current, "README.md: an unclosed ``` block from line " .. tostring(current and current.line))
  return found
end

local function write(code)
  local path = os.tmpname() .. ".lua"
  local f = assert(io.open(path, "w"))
  f:write(code, "\n")
  f:close()
  return path
end

describe("README.md", function()
  local all = blocks()
  local runnable = {}
  for _, b in ipairs(all) do
    if not b.sketch then runnable[#runnable + 1] = b end
  end

  it("has Lua blocks that run, and marks the others as sketches", function()
    assert.is_true(#runnable >= 3, #runnable .. " runnable blocks")
    for _, b in ipairs(all) do
      assert.truthy(b.info == "lua" or b.info == "lua sketch",
                    ("line %d: ```%s is neither lua nor lua sketch"):format(b.line, b.info))
    end
  end)

  for _, b in ipairs(runnable) do
    it(("block at line %d runs under enigma run"):format(b.line), function()
      local path = write(table.concat(b.code, "\n"))
      local code, out, err = shell.run(("cd %s && %s run %s"):format(shell.quote(SRC), BIN, path))
      os.remove(path)
      assert.are.equal(0, code, ("README.md:%d failed:\n%s%s"):format(b.line, out, err))
    end)
  end

  it("the first block runs under stock lua5.4 with the LUA_CPATH its comment gives", function()
    local first = assert(runnable[1])
    local cpath = table.concat(first.code, "\n"):match("LUA_CPATH='([^']+)'")
    assert.truthy(cpath, "the first block names LUA_CPATH='...'")
    -- build/ in the comment is this build's directory
    local build = BIN:match("^(.*)/[^/]+$")
    cpath = cpath:gsub("^build/", build .. "/")
    local path = write(table.concat(first.code, "\n"))
    -- a sanitized build's module needs the sanitizer runtimes preloaded (spec/tests.cmake)
    local preload = os.getenv("ENIGMA_SANITIZER_PRELOAD") or ""
    local code, out, err = shell.run(
      ("cd %s && env -u LUA_PATH -u LUA_PATH_5_4 LD_PRELOAD=%s LUA_CPATH=%s lua5.4 %s")
        :format(shell.quote(SRC), shell.quote(preload), shell.quote(cpath), path))
    os.remove(path)
    assert.are.equal(0, code, out .. err)
    assert.matches("\n2\n", out)              -- the insert's affected rows
  end)

  -- Runs the runnable block containing `needle` with enigma run; returns its output.
  local function run_block_with(needle)
    for _, b in ipairs(runnable) do
      local text = table.concat(b.code, "\n")
      if text:find(needle, 1, true) then
        local path = write(text)
        local code, out, err = shell.run(("%s run %s"):format(BIN, path))
        os.remove(path)
        assert.are.equal(0, code, err)
        return out
      end
    end
    error("no block shows " .. needle)
  end

  it("the report example prints a section's rows", function()
    assert.matches("^%d+\tEnigma ", run_block_with("report.run"))
  end)

  it("the error example prints what its comments say", function()
    local out = run_block_with("enigma.error.describe")
    assert.matches("^42703\t8\n", out)
    assert.matches('column "nosuch" does not exist %(SQLSTATE 42703%)\nLINE 1: select nosuch from ai_agents\n' ..
                   (" "):rep(15) .. "%^", out)
  end)
end)
