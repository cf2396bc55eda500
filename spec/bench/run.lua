-- make bench: enigma's paths measured against the raw ones, side by side in
-- one run, on a scratch database (enigma_bench) in the embedded cluster.
-- Machines are shared and noisy: compare the ratios, not the absolute times.
--
--   enigma run spec/bench/run.lua BUILD_DIR [--rows N] [--roundtrips N] [--announcements N]
--                                           [--only db_roundtrip,db_copy,rss,crypto_ops,stealth_scan,
--                                                   sched_lateness,sched_reload,notify_latency,sched_multi]
local enigma = require "enigma"
local demo = require "enigma.demo"
local stealth = require "enigma.stealth"
local S = require "spec.bench.sched"

local build = arg[1] or "build"
local opts = { rows = 1000000, roundtrips = 20000, announcements = 100000 }
local only
for i = 2, #arg, 2 do
  local key = arg[i]:match("^%-%-(%a+)$")
  if key == "only" then
    only = {}
    for name in arg[i + 1]:gmatch("[^,]+") do only[name] = true end
  else
    opts[key] = assert(math.tointeger(tonumber(arg[i + 1])), "bad value for " .. arg[i])
  end
end
--- Whether a section runs (all of them unless --only names some).
local function wanted(name) return only == nil or only[name] end

local function sh(cmd)
  local p = assert(io.popen(cmd))
  local out = p:read("a")
  local ok = p:close()
  assert(ok, "command failed: " .. cmd)
  return (out:gsub("%s+$", ""))
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function median(t)
  table.sort(t)
  return t[(#t + 1) // 2]
end

-- A fresh, migrated database with demo users.
local url = sh(build .. "/enigma db url"):gsub("^postgresql:///enigma%?", "postgresql:///enigma_bench?")
do
  local admin <close> = assert(enigma.db.connect())
  assert(admin:exec("drop database if exists enigma_bench with (force)"))
  assert(admin:exec("create database enigma_bench"))
end
sh("ENIGMA_DATABASE_URL=" .. quote(url) .. " " .. build .. "/enigma migrate")
local db <close> = assert(enigma.db.connect(url))
do
  local f = assert(io.open("scripts/demo/sample.sql"))
  assert(db:run_script(f:read("a")))
  f:close()
end
demo.generate(db, { users = 10000, seed = 1 })
print(string.format("enigma %s bench, %s", enigma.version, os.date("!%Y-%m-%dT%H:%M:%SZ")))
print()

-- db_roundtrip -------------------------------------------------------------------
if wanted("db_roundtrip") then
  local sql = "select * from users where id = $1"
  local ids = {}
  for i, r in ipairs(assert(db:query("select id from users order by id limit 1000"))) do ids[i] = r.id end
  local n = opts.roundtrips

  local rounds, per_round = 20, n // 20
  -- Both loops run in one process (bench_tool embeds Lua with the enigma
  -- module), alternating round by round and swapping which goes first, so
  -- they share the machine's scheduling; the ratio of the summed times over
  -- all rounds is the figure, the per-round ratios show the noise.
  local cmd = build .. "/bench_tool roundtrip " .. quote(url) .. " " .. quote(sql) .. " "
    .. per_round .. " " .. rounds .. " " .. table.concat(ids, " ")
  local t_ours, t_raw, c_ours, c_raw, ratios = 0, 0, 0, 0, {}
  for line in sh(cmd):gmatch("[^\n]+") do
    local o, r, co, cr = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    o, r = tonumber(o), tonumber(r)
    t_ours, t_raw, ratios[#ratios + 1] = t_ours + o, t_raw + r, o / r
    c_ours, c_raw = c_ours + tonumber(co), c_raw + tonumber(cr)
  end
  local total = per_round * rounds
  print(string.format("db_roundtrip  %d prepared single-row SELECTs by primary key (%d alternating rounds)",
    total, rounds))
  print(string.format("  enigma.db     %8.3f s   %8.1f us/query", t_ours, t_ours / total * 1e6))
  print(string.format("  raw libpq (C) %8.3f s   %8.1f us/query", t_raw, t_raw / total * 1e6))
  print(string.format("  client CPU    enigma.db %.1f us/query, raw libpq %.1f us/query (syscalls included)",
    c_ours / total * 1e6, c_raw / total * 1e6))
  local mid = median(ratios)
  print(string.format("  ratio enigma/raw = %.3f   (target <= 1.15; per-round median %.3f, range %.3f to %.3f)",
    t_ours / t_raw, mid, ratios[1], ratios[#ratios]))
  print()
end

-- db_copy ------------------------------------------------------------------------
-- The same rows both ways: the generator streaming through COPY, and psql
-- \copy of the CSV the generator wrote beforehand (not timed). Each path runs
-- twice, alternating, and the better time counts: the first load into a new
-- cluster also pays for creating WAL segments the later ones recycle.
if wanted("db_copy") then
  local n = opts.rows
  local dir = sh("mktemp -d")
  demo.generate(db, { transactions = n, seed = 7, csv = dir })
  local copy = "\\copy transactions (" .. demo.COLUMNS.transactions .. ") from '"
    .. dir .. "/transactions.csv' csv"

  local function load(fn)
    assert(db:exec("truncate transactions"))
    assert(db:exec("checkpoint"))
    local start = enigma.monotime()
    fn()
    local secs = enigma.monotime() - start
    local loaded = db:query("select count(*) as n from transactions")[1].n
    assert(loaded == n, "expected " .. n .. " rows, found " .. loaded)
    return secs
  end
  local function ours() demo.generate(db, { transactions = n, seed = 7 }) end
  local function psql() sh("psql -X -q " .. quote(url) .. " -c " .. quote(copy)) end

  local t_psql, t_ours = load(psql), load(ours)
  t_psql, t_ours = math.min(t_psql, load(psql)), math.min(t_ours, load(ours))
  sh("rm -rf " .. quote(dir))

  print(string.format("db_copy  %d transactions rows (10 indexes, monthly partitions; best of 2)", n))
  print(string.format("  enigma generator + COPY  %8.1f s   %9.0f rows/s", t_ours, n / t_ours))
  print(string.format("  psql \\copy of the CSV    %8.1f s   %9.0f rows/s", t_psql, n / t_psql))
  print(string.format("  ratio enigma/psql = %.3f   (target >= 0.8)", t_psql / t_ours))
  print()
end

-- peak RSS -------------------------------------------------------------------------
if wanted("rss") then
  local trivial = os.tmpname()
  local f = assert(io.open(trivial, "w"))
  f:write("local x = 1 + 1\n")
  f:close()
  local kb = tonumber(sh(build .. "/bench_tool rss " .. build .. "/enigma run " .. trivial))
  f = assert(io.open(trivial, "w"))
  f:write("local db = require('enigma').db.connect(); assert(db:query('select 1'))\n")
  f:close()
  local kb_db = tonumber(sh("ENIGMA_DATABASE_URL=" .. quote(url) .. " " .. build
    .. "/bench_tool rss " .. build .. "/enigma run " .. trivial))
  os.remove(trivial)
  print("peak RSS of enigma run")
  print(string.format("  trivial script            %6.1f MB   (target < 15 MB)", kb / 1024))
  print(string.format("  connect and one query     %6.1f MB", kb_db / 1024))
  print()
end

-- crypto_ops -----------------------------------------------------------------------
-- Each operation through enigma.crypto and as the same loop in C calling the core,
-- alternating in one process (bench_tool crypto); text in and out on both sides.
if wanted("crypto_ops") then
  local names = {
    note = "commitment + nullifier hash",
    generate = "stealth generate",
    check_miss = "stealth check, view tag differs",
    check_full = "stealth check, full",
    seal_open = "open envelope, master key",
  }
  print("crypto_ops  operations per second, Lua (enigma.crypto) vs C (core), 6 alternating rounds")
  print(string.format("  %-34s %12s %12s %7s", "", "Lua ops/s", "C ops/s", "ratio"))
  for line in sh(build .. "/bench_tool crypto 1000 6"):gmatch("[^\n]+") do
    local name, t_lua, t_c, n = line:match("^(%S+) (%S+) (%S+) (%S+)$")
    t_lua, t_c, n = tonumber(t_lua), tonumber(t_c), tonumber(n)
    print(string.format("  %-34s %12.0f %12.0f %7.3f", names[name], n / t_lua, n / t_c, t_c / t_lua))
  end
  print("  (ratio = Lua ops/s / C ops/s; target >= 0.8)")
  print()
end

-- stealth_scan -----------------------------------------------------------------------
-- N payment announcements on one chain, 20 of them for the recipient; stealth.scan
-- reads them all and checks each in C over every CPU, using the view tag.
if wanted("stealth_scan") then
  local n, mine = opts.announcements, 20
  local crypto = enigma.crypto
  local recipient, other = crypto.stealth.keygen(), crypto.stealth.keygen()
  local payer = "0x" .. ("ab"):rep(20)
  local step = n // mine
  assert(db:exec("delete from stealth_addresses where chain_id = 424242"))
  local start = enigma.monotime()
  assert(db:copy([[copy stealth_addresses (user_wallet, chain_id, stealth_address, ephemeral_public_key,
                   view_tag, zk_proof_commitment, generation_method) from stdin]], function(put)
    for i = 1, n do
      local p = crypto.stealth.generate(i % step == 0 and recipient.meta_address or other.meta_address)
      put(payer, 424242, p.stealth_address:lower(), p.ephemeral_public_key, p.view_tag, "bench-" .. i,
          "eip5564")
    end
  end))
  local t_load = enigma.monotime() - start
  assert(db:exec("analyze stealth_addresses"))
  local args = { db = db, viewing_key = recipient.viewing_key, chain_id = 424242,
                 spending_public_key = recipient.spending_key:public_key() }
  local best, found = math.huge, nil
  for _ = 1, 3 do
    start = enigma.monotime()
    found = assert(stealth.scan(args))
    best = math.min(best, enigma.monotime() - start)
  end
  assert(#found == mine, "expected " .. mine .. " payments, found " .. #found)
  -- the two halves, measured apart
  start = enigma.monotime()
  local rows = assert(db:query([[select id, stealth_address, ephemeral_public_key, view_tag, created_at,
                                        payment_reference from stealth_addresses
                                  where generation_method = 'eip5564' and chain_id = 424242]]))
  local t_query = enigma.monotime() - start
  start = enigma.monotime()
  local hits = crypto.stealth.scan(args.viewing_key, args.spending_public_key, rows)
  local t_crypto = enigma.monotime() - start
  assert(#hits == mine)
  assert(db:exec("delete from stealth_addresses where chain_id = 424242"))
  print(string.format("stealth_scan  %d announcements, %d for the recipient (generated and loaded in %.1f s)",
    n, mine, t_load))
  print(string.format("  stealth.scan total      %7.3f s   (best of 3; target < 2 s)", best))
  print(string.format("    query into Lua rows   %7.3f s", t_query))
  print(string.format("    crypto.stealth.scan   %7.3f s   %.1f us per announcement, all CPUs", t_crypto,
    t_crypto / n * 1e6))
  print()
end

db:close()
do
  local admin <close> = assert(enigma.db.connect())
  admin:exec("drop database if exists enigma_bench with (force)")
end
