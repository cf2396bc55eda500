-- make bench: enigma's paths measured against the raw ones, side by side in
-- one run, on a scratch database (enigma_bench) in the embedded cluster.
-- Machines are shared and noisy: compare the ratios, not the absolute times.
--
--   enigma run spec/bench/run.lua BUILD_DIR [--rows N] [--roundtrips N] [--announcements N]
--                                           [--only db_roundtrip,db_copy,rss,crypto_ops,stealth_scan,
--                                                   sched_lateness,sched_reload,notify_latency,sched_multi,
--                                                   agents_ticks,report_latency,json_decode]
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
-- The bench sets up as the cluster's superuser; the runners it starts log in as the runtime
-- (enigma_runtime), as `enigma serve` does in production.
local function bench_url(flag)
  return (sh(build .. "/enigma db url" .. flag):gsub("^postgresql:///enigma%?", "postgresql:///enigma_bench?"))
end
local url, runtime_url = bench_url(""), bench_url(" --runtime")
do
  local admin <close> = assert(enigma.db.connect((sh(build .. "/enigma db url"))))
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

-- The runner sections: child `enigma serve` processes on generated job directories, measured
-- from what they recorded (job_runs, or a table or file the job writes). Lateness is a run's
-- start (taken in the runner) minus its due time; "1 core" is 100 % CPU.

--- The runner's own job_runs figures for jobs named prefix..., due in [from, to).
local WINDOW = [[
  from job_runs
 where starts_with(job, $1) and scheduled_for >= to_timestamp($2) and scheduled_for < to_timestamp($3)]]

local function statuses(prefix, from, to)
  local parts = {}
  for _, r in ipairs(assert(db:query("select status, count(*) as n" .. WINDOW
                                     .. " group by status order by status", prefix, from, to))) do
    parts[#parts + 1] = ("%s %d"):format(r.status, r.n)
  end
  for _, r in ipairs(assert(db:query("select split_part(error, E'\\n', 1) as error, count(*) as n" .. WINDOW
                                     .. " and error is not null group by 1 order by 2 desc limit 3",
                                     prefix, from, to))) do
    parts[#parts + 1] = ("\n    %d x %s"):format(r.n, r.error)
  end
  return #parts > 0 and table.concat(parts, ", ") or "none"
end

local function lateness(prefix, from, to)
  return assert(db:query([[
    select count(*) as n,
           percentile_cont(0.5) within group (order by l) as p50,
           percentile_cont(0.99) within group (order by l) as p99, max(l) as max
      from (select extract(epoch from started_at - scheduled_for)::float8 * 1000 as l]] .. WINDOW .. [[
               and status = 'succeeded') x]], prefix, from, to))[1]
end

-- sched_lateness ---------------------------------------------------------------------
-- 10,000 jobs, job i due every minute at second i % 60 (~167 runs a second), on one runner;
-- then the same runner binary idle, with one job due once a year.
if wanted("sched_lateness") then
  S.guard(function()
    local n, secs, warm = 10000, 22, 3
    local base = S.tempdir()
    local dir = base .. "/jobs"
    assert(os.execute("mkdir " .. quote(dir)))
    local per_second = {}
    for i = 1, n do
      S.write(("%s/lat_%05d.lua"):format(dir, i),
        ('return { schedule = "%d * * * * *", run = function() end }\n'):format(i % 60))
      per_second[i % 60] = (per_second[i % 60] or 0) + 1
    end
    local r = S.serve(build, runtime_url, dir, base .. "/runner.log", { "--quiet" })
    local up = S.wait_up(r, 60)
    local from = up + warm
    S.sleep_until(from)
    local cpu0, t0 = S.cpu_seconds(r), S.now()
    S.sleep_until(up + secs)
    local cpu = (S.cpu_seconds(r) - cpu0) / (S.now() - t0)
    local to = S.now()
    local clean = S.stop({ r })
    local expected = 0
    for s = math.ceil(from), math.ceil(to) - 1 do expected = expected + per_second[s % 60] end
    local l = lateness("lat_", from, to)

    local idle_dir = base .. "/idle"
    assert(os.execute("mkdir " .. quote(idle_dir)))
    S.write(idle_dir .. "/idle_yearly.lua", 'return { schedule = "0 0 1 1 *", run = function() end }\n')
    local idle = S.serve(build, runtime_url, idle_dir, base .. "/idle.log", { "--quiet" })
    S.sleep_until(S.wait_up(idle, 30) + 2)
    local icpu0, it0 = S.cpu_seconds(idle), S.now()
    S.sleep(10)
    local idle_cpu = (S.cpu_seconds(idle) - icpu0) / (S.now() - it0)
    S.stop({ idle })

    print(string.format("sched_lateness  %d jobs on second-level schedules (~%d runs/s), one runner, %.1f s measured",
      n, n // 60, to - from))
    print(string.format("  runs succeeded  %d of %d due   (statuses: %s)%s", l.n, expected,
      statuses("lat_", from, to), clean and "" or "   [runner did not stop cleanly]"))
    print(string.format("  lateness        p50 %.2f ms   p99 %.2f ms   max %.2f ms   (target p99 < 5 ms)",
      l.p50 or 0 / 0, l.p99 or 0 / 0, l.max or 0 / 0))
    print(string.format("  runner CPU      %.1f %% of one core during the run", cpu * 100))
    print(string.format("  idle CPU        %.2f %% of one core   (one job due once a year, 10 s; resolution %.2f %%)",
      idle_cpu * 100, 100 / S.TCK / 10))
    print()
  end)
end

-- sched_reload -------------------------------------------------------------------------
-- A job due every second records its version; the file is rewritten with the next version at a
-- random moment within a second, and the first run of that version is looked for.
if wanted("sched_reload") then
  S.guard(function()
    local rounds = 12
    assert(db:exec("drop table if exists bench_reload"))
    assert(db:exec("create table bench_reload (version integer not null, due float8, at float8 not null)"))
    local base = S.tempdir()
    local dir = base .. "/jobs"
    assert(os.execute("mkdir " .. quote(dir)))
    local path = dir .. "/reload_tick.lua"
    local function version(v)
      S.write(path, ([[
local enigma = require "enigma"
return { schedule = "* * * * * *", run = function(ctx)
  local at = enigma.sched.now()
  assert(ctx.db:exec("insert into bench_reload (version, due, at) values ($1, $2, $3)", %d, ctx.scheduled_for, at))
end }
]]):format(v))
    end
    version(0)
    local r = S.serve(build, runtime_url, dir, base .. "/runner.log", { "--quiet" })
    S.sleep_until(S.wait_up(r, 30) + 2)
    math.randomseed(42)
    local to_run, to_due, missed, lost = {}, {}, 0, 0
    for v = 1, rounds do
      S.sleep_until(math.floor(S.now()) + 1 + math.random())
      version(v)
      local written = S.now()
      local first_due = math.floor(written) + 1
      local row
      repeat
        S.sleep(0.1)
        row = assert(db:query("select due, at from bench_reload where version = $1 order by at limit 1", v))[1]
      until row or S.now() > written + 5
      if row then
        to_run[#to_run + 1] = (row.at - written) * 1000
        to_due[#to_due + 1] = (row.at - first_due) * 1000
        if math.abs(row.due - first_due) > 0.001 then missed = missed + 1 end
      else
        lost = lost + 1
      end
    end
    local clean = S.stop({ r })
    print(string.format("sched_reload  a job due every second rewritten %d times at random moments, one runner",
      rounds))
    print(string.format("  write -> first run of the new version      p50 %6.1f ms   max %6.1f ms",
      S.quantile(to_run, 0.5), S.quantile(to_run, 1)))
    print(string.format("  first due time after the write -> that run  p50 %6.1f ms   max %6.1f ms   (target < 200 ms)",
      S.quantile(to_due, 0.5), S.quantile(to_due, 1)))
    print(string.format("  new version missed the first due time %d of %d times; never ran within 5 s: %d%s",
      missed, rounds, lost, clean and "" or "   [runner did not stop cleanly]"))
    print()
    assert(db:exec("drop table bench_reload"))
  end)
end

-- notify_latency -----------------------------------------------------------------------
-- Single-row INSERTs into transactions, each its own statement, paced at 1,000 a second; a job
-- listening on `transactions` appends the row id and the time its run began to a file.
if wanted("notify_latency") then
  S.guard(function()
    local rate, secs = 1000, 5
    local base = S.tempdir()
    local dir = base .. "/jobs"
    assert(os.execute("mkdir " .. quote(dir)))
    local seen = base .. "/seen.txt"
    S.write(dir .. "/notify_tx.lua", ([[
local enigma = require "enigma"
local out = assert(io.open(%q, "a"))
out:setvbuf("line")
return { listen = "transactions", overlap = "allow", run = function(ctx)
  out:write(ctx.event.data.id or "?", " ", ("%%.6f"):format(enigma.sched.now()), "\n")
end }
]]):format(seen))
    local r = S.serve(build, runtime_url, dir, base .. "/runner.log", { "--quiet" })
    S.sleep_until(S.wait_up(r, 30) + 1)
    -- Several connections, each inserting at its share of the rate: one alone waits on every
    -- commit in turn and falls short of 1,000 a second here.
    local n, conns = rate * secs, 4
    local wallet = "0x" .. ("5e"):rep(20)
    local committed, t_start, t_end = {}, S.now() + 0.2, nil
    S.in_tasks(conns, function(k)
      local tx <close> = assert(enigma.db.connect(url))
      for i = k, n, conns do
        local wait = t_start + (i - 1) / rate - S.now()
        if wait > 0.001 then enigma.sched.sleep(wait) end
        local rows = assert(tx:query([[insert into transactions (user_wallet, tx_type, category, amount)
                                       values ($1, 'token_transfer', 'transfer', 1) returning id]], wallet))
        committed[rows[1].id] = S.now()
      end
      t_end = math.max(t_end or 0, S.now())
    end)
    S.sleep(2)
    local clean = S.stop({ r })
    local delays, handled, unknown = {}, 0, 0
    for id, at in (S.read(seen) or ""):gmatch("(%S+) (%S+)\n") do
      handled = handled + 1
      if committed[id] then delays[#delays + 1] = (tonumber(at) - committed[id]) * 1000 else unknown = unknown + 1 end
    end
    local runs = assert(db:query([[select status, count(*) as n from job_runs where job = 'notify_tx'
                                   group by status order by status]]))
    local parts = {}
    for _, row in ipairs(runs) do parts[#parts + 1] = ("%s %d"):format(row.status, row.n) end
    print(string.format("notify_latency  %d single-row INSERTs into transactions on %d connections, target %d/s, "
      .. "achieved %.0f/s", n, conns, rate, n / (t_end - t_start)))
    print(string.format("  handled %d of %d events   (job_runs: %s)%s%s", #delays, n,
      #parts > 0 and table.concat(parts, ", ") or "none",
      unknown > 0 and ("; %d unknown ids"):format(unknown) or "", clean and "" or "   [runner did not stop cleanly]"))
    print(string.format("  commit -> handler start   p50 %.2f ms   p99 %.2f ms   max %.2f ms",
      S.quantile(delays, 0.5), S.quantile(delays, 0.99), S.quantile(delays, 1)))
    print()
    assert(db:exec("delete from transactions where user_wallet = $1", wallet))
  end)
end

-- sched_multi ----------------------------------------------------------------------------
-- Three runners on one directory of 100 jobs due every second: every occurrence exactly once,
-- one attempt, succeeded; and how the runners shared them. Twice: jobs running `select 1` on
-- ctx.db, and jobs that touch no database (the claims alone).
local function multi(prefix, what, body)
  local njobs, secs = 100, 11
  local base = S.tempdir()
  local dir = base .. "/jobs"
  assert(os.execute("mkdir " .. quote(dir)))
  for i = 1, njobs do
    S.write(("%s/%s%03d.lua"):format(dir, prefix, i),
      ('return { schedule = "* * * * * *", run = function(ctx) %s end }\n'):format(body))
  end
  local rs = {}
  for i = 1, 3 do
    rs[i] = S.serve(build, runtime_url, dir, ("%s/r%d.log"):format(base, i), { "--id", "r" .. i, "--quiet" })
  end
  local up = 0
  for _, r in ipairs(rs) do up = math.max(up, S.wait_up(r, 30)) end
  local from = math.floor(up) + 2         -- all three have connected and claim by then
  S.sleep_until(from + secs - 0.5)        -- the last due second has started by the SIGTERM
  local to = S.now()
  local clean = S.stop(rs)
  local c = assert(db:query([[
    select count(*) as occurrences, min(n) as min_rows, max(n) as max_rows,
           count(*) filter (where n > 1) as duplicated, count(*) filter (where ok <> 1) as not_ok
      from (select job, occurrence, count(*) as n, count(*) filter (where status = 'succeeded') as ok
            ]] .. WINDOW .. [[ group by job, occurrence) x]], prefix, from, to))[1]
  local expected = njobs * (math.ceil(to) - from)
  local split = {}
  for _, row in ipairs(assert(db:query("select runner_id, count(*) as n" .. WINDOW
      .. " and status = 'succeeded' group by runner_id order by runner_id", prefix, from, to))) do
    split[#split + 1] = ("%s %d"):format(row.runner_id, row.n)
  end
  local errors = 0
  for _, r in ipairs(rs) do
    for _ in (S.read(r.log) or ""):gmatch("runner error: ") do errors = errors + 1 end
  end
  local l = lateness(prefix, from, to)
  print(string.format("  %s, %.1f s measured", what, to - from))
  print(string.format("    occurrences   %d of %d due; rows per occurrence min %s max %s; duplicated %d, "
    .. "not exactly one success %d, missing %d   (target: each exactly once)",
    c.occurrences, expected, c.min_rows or "-", c.max_rows or "-", c.duplicated, c.not_ok,
    expected - c.occurrences))
  print(string.format("    statuses      %s%s", statuses(prefix, from, to),
    clean and "" or "   [a runner did not stop cleanly]"))
  print(string.format("    split         %s;   'runner error' lines logged: %d", table.concat(split, ", "), errors))
  print(string.format("    throughput    %.1f runs/s   lateness p50 %.2f ms   p99 %.2f ms   max %.2f ms",
    l.n / (to - from), l.p50 or 0 / 0, l.p99 or 0 / 0, l.max or 0 / 0))
end

if wanted("sched_multi") then
  print("sched_multi  3 runners (r1, r2, r3) on one directory of 100 jobs due every second")
  S.guard(function() multi("multi_db_", "jobs running `select 1` on ctx.db", 'assert(ctx.db:query("select 1"))') end)
  S.guard(function() multi("multi_nodb_", "jobs touching no database", "") end)
  print()
end

-- agents_ticks ---------------------------------------------------------------------------
-- 10,000 activations of one bench agent on one runner, with a trivial strategy that counts its
-- ticks in ctx.state, every activation due all the time (interval 0.01 s): ticks recorded per
-- second with the sandbox and with --no-sandbox, in rounds A B B A. Then, with an interval of an
-- hour, the runner's RSS once all 10,000 have ticked once and idle, against the same runner
-- ticking 10 of them and half of them (spec/bench/agents.lua).
if wanted("agents_ticks") then
  local A = require "spec.bench.agents"
  local n, small, warm, secs = 10000, 10, 3, 10
  A.guard(db, build, runtime_url, n, function(bench)
    local m, failed, clean = A.ticks(bench, { "sandbox", "no sandbox", "no sandbox", "sandbox" }, warm, secs)
    local agree = A.states_agree(bench)
    local full, ok1 = A.idle_rss(bench, nil, 0, 1)
    local half, ok2 = A.idle_rss(bench, n // 2, full.took, 2)
    local few, ok3 = A.idle_rss(bench, small, full.took, 3)
    clean = clean and ok1 and ok2 and ok3

    local on, off = m["sandbox"], m["no sandbox"]
    local function tps(x) return x.ticks / x.secs end
    print(string.format("agents_ticks  %d activations, trivial strategy (ctx.state.n = n + 1), one runner: "
      .. "sandbox %.0f ticks/s, no sandbox %.0f ticks/s, overhead %.2fx (target <= 1.3x)",
      n, tps(on), tps(off), tps(off) / tps(on)))
    for _, name in ipairs({ "sandbox", "no sandbox" }) do
      local x = m[name]
      local rounds = {}
      for i, v in ipairs(x.rates) do rounds[i] = ("%.0f"):format(v) end
      print(string.format("  %-10s  %5.0f ticks/s (rounds %s)   CPU per 1000 ticks: runner %5.1f ms, "
        .. "its database backends %5.1f ms", name, tps(x), table.concat(rounds, ", "),
        x.cpu / x.ticks * 1e6, x.db / x.ticks * 1e6))
    end
    print(string.format("  interval 0.01 s (always due), %d s warm-up, ~%d s per round (first to last batch "
      .. "recorded); runner CPU per tick sandbox / no sandbox %.2fx", warm, secs,
      (on.cpu / on.ticks) / (off.cpu / off.ticks)))
    print(string.format("  ticks failed %d; every ctx.state.n equals its successful executions: %s%s", failed,
      agree and "yes" or "NO", clean and "" or "   [a runner did not stop cleanly]"))
    print(string.format("  memory per idle activation  %.2f KB   (target < 32 KB; (RSS with %d - RSS with %d) / %d)",
      (full.kb - few.kb) / (n - small), n, small, n - small))
    print(string.format("    interval 1 h, sandbox: RSS %.1f MB once %d ticked (in %.1f s), %.1f MB with %d, "
      .. "%.1f MB with %d; %.2f KB per activation from %d to %d", full.kb / 1024, n, full.took, half.kb / 1024,
      n // 2, few.kb / 1024, small, (full.kb - half.kb) / (n - n // 2), n // 2, n))
    -- What one activation's instance of each shipped strategy holds in its box: 2,000 instances
    -- made (the top level run for each), the box's memory after a full collection, per instance.
    local sizes = {}
    for _, name in ipairs({ "yield_optimizer_pro", "privacy_sentinel", "risk_shield", "arbitrage_hunter",
                            "liquidity_manager", "strategy_bot" }) do
      local f = assert(io.open(enigma.paths.scripts .. "/agents/" .. name .. ".lua"))
      local box = enigma.sandbox.new{ memory = 512 << 20, instances = 100000 }
      assert(box:load(f:read("a"), "=" .. name, {}))
      f:close()
      local before = box:collect()
      for i = 1, 2000 do
        local run = box:start_for("bench" .. i, "no_such_function", {})
        run:resume()
        run:close()
      end
      sizes[#sizes + 1] = ("%s %.1f"):format(name, (box:collect() - before) / 2000 / 1024)
      box:close()
    end
    print("    an instance in its box, KB (the shipped strategies): " .. table.concat(sizes, ", "))
    print(string.format("  duplicated ticks  %d   (must be 0: ticks beyond one per activation in its first "
      .. "interval of 1 h, over the three memory rounds: %d, %d, %d)", full.extra + half.extra + few.extra,
      full.extra, half.extra, few.extra))
    print()
  end)
end

-- report_latency -----------------------------------------------------------------------
-- Each report on 10,000 users and 1,000,000 transactions (the generator's), its median time
-- over 5 runs (the first, cold, counted), and the plan of its slowest statement.
if wanted("report_latency") then
  local R = require "spec.bench.reports"
  local have = db:query("select count(*) as n from transactions")[1].n
  if have < 1000000 then demo.generate(db, { deposits = 100000, transactions = 1000000 - have, seed = 11 }) end
  assert(db:exec("analyze"))
  local wallet = db:query([[select user_wallet from privacy_deposits group by 1
                             order by count(*) desc limit 1]])[1].user_wallet
  local counts = db:query([[select (select count(*) from users) as users,
                                   (select count(*) from transactions) as txs,
                                   (select count(*) from privacy_deposits) as deposits]])[1]
  print(string.format("report_latency  %d users, %d transactions, %d deposits; median of 5 runs (target < 100 ms each)",
    counts.users, counts.txs, counts.deposits))
  for _, r in ipairs(R.measure(db, { privacy_dashboard = { wallet = wallet }, db_health = { limit = 10 } }, 5)) do
    print(string.format("  %-18s %8.1f ms   slowest statement %.1f ms%s", r.name, r.median,
      r.slowest and r.slowest.ms or 0, r.median < 100 and "" or "   OVER TARGET"))
    for i, line in ipairs(r.plan or {}) do
      if i > 6 and not line:find("Execution Time") then goto continue end
      print("      " .. line)
      ::continue::
    end
  end
  print()
end

-- json_decode --------------------------------------------------------------------------
-- enigma.json.decode (the core's strict reader, numbers exact) and lua-cjson's decode on the
-- same documents, 4 alternating rounds of about 0.5 s each (spec/bench/json.lua).
if wanted("json_decode") then
  local J = require "spec.bench.json"
  local results = J.run(4, 0.5)
  print("json_decode  MB/s of enigma.json.decode and lua-cjson on the same documents (4 alternating rounds)")
  print(string.format("  %-13s %8s %12s %12s %7s", "", "size", "enigma MB/s", "cjson MB/s", "ratio"))
  local ours, theirs = 0, 0
  for _, r in ipairs(results) do
    local a, b = r.ours.bytes / r.ours.secs / 1e6, r.cjson.bytes / r.cjson.secs / 1e6
    ours, theirs = ours + r.ours.secs / r.ours.bytes, theirs + r.cjson.secs / r.cjson.bytes
    print(string.format("  %-13s %7.1fM %12.1f %12.1f %7.2f   %s", r.doc.name, #r.doc.text / 1e6, a, b, a / b, r.doc.what))
  end
  print(string.format("  ratio enigma/cjson, all three documents (time per byte summed) = %.2f   (target >= 0.8)",
    theirs / ours))
  print()
end

db:close()
do
  local admin <close> = assert(enigma.db.connect())
  admin:exec("drop database if exists enigma_bench with (force)")
end
