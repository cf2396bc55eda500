-- Fills the database with realistic demo volumes through COPY.
--
--   enigma run scripts/demo/generate.lua --users 10000 --deposits 100000 --transactions 1000000
--
-- Options: --users N (new users, with portfolios; 0 uses the existing ones),
-- --deposits N, --transactions N, --days N (spread over the last N days,
-- default 365), --seed N (default 42), --csv DIR (write DIR/<table>.csv for
-- psql \copy instead of loading). Progress goes to stderr.
local enigma = require "enigma"

local usage = [=[
usage: enigma run scripts/demo/generate.lua [--users N] [--deposits N] [--transactions N]
                                            [--days N] [--seed N] [--csv DIR]]=]

local argv = require("enigma.args").split(arg)
local opts, i = { users = 0, deposits = 0, transactions = 0 }, 1
while argv[i] do
  local flag, value = argv[i], argv[i + 1]
  local key = flag:match("^%-%-(%a+)$")
  if flag == "-h" or flag == "--help" then print(usage) os.exit(0) end
  if key == "csv" and value then
    opts.csv = value
  elseif key and opts[key] ~= nil or key == "days" or key == "seed" then
    opts[key] = math.tointeger(tonumber(value))
    if not opts[key] or opts[key] < 0 then
      io.stderr:write("generate: ", flag, " needs a whole number, got ", tostring(value), "\n", usage, "\n")
      os.exit(2)
    end
  else
    io.stderr:write("generate: unknown option ", flag, "\n", usage, "\n")
    os.exit(2)
  end
  i = i + 2
end

local db <close> = assert(enigma.db.connect())
local started = enigma.monotime()
enigma.demo.generate(db, opts)
if not opts.csv then db:exec("select update_pool_statistics()") end
io.stderr:write(string.format("generated in %.1f s\n", enigma.monotime() - started))
