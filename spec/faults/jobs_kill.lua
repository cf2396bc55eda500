--- Fault injection for jobs (issue 14): `kill -9` of `enigma serve` and of `enigma jobs run` at
--- random instants while a transactional job runs, then one runner that recovers everything;
--- afterwards no occurrence's work is missing from a succeeded run or doubled, and no succeeded
--- run lacks its work.
---
---   lua5.4 spec/faults/jobs_kill.lua [TRIALS] [SEED]     (the environment of spec/tests.cmake)
---
--- $ENIGMA_FAULT_TRIALS, when set, overrides TRIALS: `make faults` runs the ctest entry
--- (faults/jobs_kill, 4 trials in `make test`) with ENIGMA_FAULT_TRIALS=50.
---
--- Each trial kills one process: odd trials a runner (with a second runner beside it half of
--- the time, so takeovers happen while another runner is alive), even ones `jobs run`. Exit 0
--- when every invariant holds; the counts go to stdout.
local serve = require "serve"
local shell = require "shell"
local enigma = require "enigma"

local TRIALS = tonumber(os.getenv("ENIGMA_FAULT_TRIALS")) or tonumber(arg[1]) or 50
local SEED = tonumber(arg[2]) or os.time()
math.randomseed(SEED)
local BIN = assert(os.getenv("ENIGMA_BIN"))
local LEASE = 1

local db = serve.cluster("faults-jobs")
assert(db:exec("create table effects (occurrence text not null, attempt int, at timestamptz default now())"))

-- the work (a row) and a pause inside the transaction, so kills land before, inside and after it
local dir = serve.jobdir({ effect = [[
return { schedule = "every 1s", transactional = true, timeout = 5, retries = 1, backoff = 0.1,
  run = function(ctx)
    assert(ctx.db:exec("insert into effects (occurrence, attempt) values ($1, $2)", ctx.occurrence, ctx.attempt))
    assert(ctx.db:query("select pg_sleep($1)", math.random() * 0.4))
  end }]] })

local function kill9(pid) os.execute(("kill -9 %d 2>/dev/null"):format(pid)) end

local function kill_serve(n)
  local a = serve.start(dir, "fault-a-" .. n, "--lease " .. LEASE)
  local b = (math.random() < 0.5) and serve.start(dir, "fault-b-" .. n, "--lease " .. LEASE)
  serve.sleep(("%.3f"):format(math.random() * 2.5))
  kill9(a.pid)
  if b then
    serve.sleep(("%.3f"):format(math.random() * 1.0))
    kill9(b.pid)
  end
end

local function kill_jobs_run()
  local p = assert(io.popen(("%s%s jobs run effect --jobs %s >/dev/null 2>&1 & echo $!")
                            :format(serve.env, BIN, shell.quote(dir))))
  local pid = assert(tonumber(p:read("l")))
  p:close()
  serve.sleep(("%.3f"):format(math.random() * 0.8))
  kill9(pid)
end

local t0 = enigma.monotime()
for n = 1, TRIALS do
  if n % 2 == 1 then kill_serve(n) else kill_jobs_run() end
end
serve.cleanup()

-- one runner recovers what the killed ones left: expired leases are taken over within a few
-- lease periods, then it stops cleanly
local last = serve.start(dir, "fault-recover", "--lease " .. LEASE)
serve.wait_until("every killed run to be taken over", 60, function()
  local r = assert(db:query([[select count(*) n from job_runs
                               where status in ('claimed', 'running') and runner_id <> 'fault-recover']]))
  return r[1].n == 0
end)
serve.sleep(LEASE * 2)
assert(serve.stop(last) == 0, "the recovering runner did not stop cleanly")

local function one(sql) return assert(db:query(sql))[1] end
local doubled = one([[select count(*) n from (select occurrence from effects group by occurrence
                                              having count(*) > 1) d]]).n
local orphan = one([[select count(*) n from effects e where not exists (
                       select 1 from job_runs r where r.job = 'effect' and r.occurrence = e.occurrence
                          and r.attempt = e.attempt and r.status = 'succeeded')]]).n
local missing = one([[select count(*) n from job_runs r where r.job = 'effect' and r.status = 'succeeded'
                        and not exists (select 1 from effects e where e.occurrence = r.occurrence
                                                                  and e.attempt = r.attempt)]]).n
local twice = one([[select count(*) n from (select occurrence from job_runs where job = 'effect'
                      and status = 'succeeded' group by occurrence having count(*) > 1) d]]).n
local stats = assert(db:query([[select status, count(*) n from job_runs where job = 'effect'
                                 group by status order by status]]))
local took_over = one([[select count(*) n from job_runs where job = 'effect' and status = 'succeeded'
                          and attempt > 1]]).n
local parts = {}
for _, s in ipairs(stats) do parts[#parts + 1] = s.status .. " " .. s.n end
print(("jobs_kill: %d trials (seed %d) in %.0f s; runs: %s; succeeded after a lost attempt: %d")
      :format(TRIALS, SEED, enigma.monotime() - t0, table.concat(parts, ", "), took_over))
print(("jobs_kill: work doubled %d, work without its succeeded run %d, succeeded run without its work %d, "
       .. "occurrence succeeded twice %d"):format(doubled, orphan, missing, twice))
db:close()
serve.stop_cluster()
os.execute("rm -rf " .. shell.quote(dir))
if doubled + orphan + missing + twice > 0 then
  io.stderr:write("jobs_kill: FAILED (seed ", SEED, ")\n")
  os.exit(1)
end
