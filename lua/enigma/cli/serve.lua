--- enigma.cli.serve: the command line of `enigma serve`, `enigma jobs list` and
-- `enigma jobs run` (host/main.c calls main): options, usage texts and the job
-- listing, over enigma.serve.server (serve) and enigma.serve.runner (jobs run).
local enigma = require "enigma"
local jobs = require "enigma.serve.jobs"
local login = require "enigma.serve.login"
local runner = require "enigma.serve.runner"
local server = require "enigma.serve.server"
local service = require "enigma.serve.service"

local first_line, usage_error = service.first_line, service.usage_error
local cli = {}

local SERVE_USAGE = [[
usage: enigma serve [--jobs DIR] [--agents DIR] [--id NAME] [--lease SECONDS] [--grace SECONDS] [--quiet]

Runs every job in DIR (default scripts/jobs) on its schedule or its channel, logging one line
per run, and ticks every active agent activation with its strategy from scripts/agents, until
SIGINT or SIGTERM. Any number of runners may share one database: each occurrence runs exactly
once, each tick on one runner. Job and strategy files are reloaded when they change.

  --jobs DIR         the job files (default: $ENIGMA_JOBS_DIR, else the shipped scripts/jobs)
  --id NAME          this runner's name in job_runs (default: HOST:PID)
  --lease SECONDS    how long a claim outlives a runner that stopped renewing it (default 30)
  --grace SECONDS    how long running jobs get to finish after SIGINT/SIGTERM (default 10)
  --lookahead SECONDS  how early occurrences are claimed (default 0.5)
  --connections N    job database connections open at once; more runs wait (default 8)
  --agents DIR       the agent strategies (default: $ENIGMA_AGENTS_DIR, else the shipped scripts/agents)
  --no-agents        run the jobs only
  --no-sandbox       run strategies as trusted code: no sandbox, no limits (for measuring it)
  --max-failures N   consecutive failed ticks that put an activation in 'error' (default 3)
  --quiet            log failures only
]]

local JOBS_USAGE = [[
usage: enigma jobs list [--jobs DIR]
       enigma jobs run NAME [--jobs DIR]

  list   each job's schedule, next run (UTC) and last run, from job_runs
  run    runs the job now, once, recorded in job_runs (trigger 'manual'); exits 0 if it succeeded
]]

local OPTIONS = {
  jobs = { key = "dir", kind = "string" }, agents = { key = "agents_dir", kind = "string" },
  id = { key = "id", kind = "string", max_len = 200, pattern = "^[%w._:@/=-]+$",
         what = "a runner name (letters, digits and . _ : @ / = -)" },
  lease = { key = "lease", kind = "number", max = 3600 }, grace = { key = "grace", kind = "number", max = 3600 },
  lookahead = { key = "lookahead", kind = "number", max = 60 },
  capacity = { key = "capacity", kind = "number", integer = true, max = 100000 },
  connections = { key = "connections", kind = "number", integer = true, max = 1000 },
  ["max-failures"] = { key = "max_failures", kind = "number", integer = true, max = 1000 },
  quiet = { key = "quiet", kind = "flag" }, ["no-agents"] = { key = "no_agents", kind = "flag" },
  ["no-sandbox"] = { key = "no_sandbox", kind = "flag" },
}

--- Parses the options; returns opts and the positional arguments, or nil and a message.
local function parse(args)
  local opts, rest = service.parse_options(args, OPTIONS)
  if not opts then return nil, rest end
  opts.dir = opts.dir or os.getenv("ENIGMA_JOBS_DIR") or enigma.paths.scripts .. "/jobs"
  opts.agents_dir = opts.agents_dir or os.getenv("ENIGMA_AGENTS_DIR") or enigma.paths.scripts .. "/agents"
  return opts, rest
end

local function dir_exists(dir)
  return enigma.sched.listdir(dir) ~= nil
end

local function list_jobs(opts)
  local loaded, failed = jobs.load_dir(opts.dir)
  if not loaded then
    io.stderr:write("enigma: ", tostring(failed), "\n")
    return 1
  end
  local names = service.sorted_keys(loaded, failed)
  local last, unreachable = {}, false
  local db, err = enigma.db.connect()
  if db then
    local rows = db:query(service.sql("jobs_list"), names)
    for _, r in ipairs(rows or {}) do last[r.job] = r end
    db:close()
  else
    io.stderr:write("enigma: no run history (", first_line(err), ")\n")
    unreachable = true
  end
  local out = { { "JOB", "SCHEDULE", "NEXT RUN (UTC)", "LAST RUN", "STATUS" } }
  local now = os.time()
  for _, name in ipairs(names) do
    local job = loaded[name]
    if job then
      local when = job.schedule and ("%s%s"):format(job.schedule, job.tz and (" (" .. job.tz .. ")") or "")
      if job.listen then when = (when and when .. ", " or "") .. "on " .. job.listen end
      local nxt = jobs.next_time(job, now)
      local l = last[name]
      out[#out + 1] = { name, when, nxt and jobs.utc(nxt) or "-", l and jobs.utc(l.at) or "never",
                        l and (l.attempt > 1 and ("%s (attempt %d)"):format(l.status, l.attempt) or l.status) or "-" }
    else
      out[#out + 1] = { name, "INVALID: " .. first_line(failed[name]), "-", "-", "-" }
    end
  end
  service.print_table(out)
  return (next(failed) or unreachable) and 1 or 0
end

--- `enigma serve ...` and `enigma jobs ...`: returns the exit status.
function cli.main(command, args)
  local opts, rest = parse(args)
  if not opts then return usage_error(command, "%s", rest) end
  if command == "serve" then
    if opts.help then io.write(SERVE_USAGE) return 0 end
    if #rest > 0 then return usage_error("serve", "unexpected argument '%s'", rest[1]) end
    if not dir_exists(opts.dir) then return usage_error("serve", "no job directory %s", opts.dir) end
    if not opts.no_agents and not dir_exists(opts.agents_dir) then
      return usage_error("serve", "no agent directory %s (--no-agents runs the jobs only)", opts.agents_dir)
    end
    -- The database is found (and the embedded cluster started) once, here: every connection and
    -- reconnection after this uses the URL, so a cluster someone stops stays stopped.
    if not opts.url then
      local url, uerr = enigma.db.default_url()
      if not url then
        io.stderr:write("enigma: cannot reach the database: ", tostring(uerr), "\n")
        return 1
      end
      opts.url = url
    end
    local allowed, why = login.check(opts.url, not opts.no_agents)
    if not allowed then
      io.stderr:write("enigma serve: ", why, "\n")
      return 1
    end
    local ok, err = server.new(opts):run()
    if not ok then
      io.stderr:write("enigma: ", tostring(err), "\n")
      return 1
    end
    return 0
  end
  if opts.help then io.write(JOBS_USAGE) return 0 end
  local sub = rest[1]
  if sub == "list" then
    if #rest > 1 then return usage_error("jobs", "unexpected argument '%s'", rest[2]) end
    return list_jobs(opts)
  elseif sub == "run" then
    local name = rest[2]
    if not name then return usage_error("jobs", "jobs run needs a job name") end
    if not jobs.name_of(name .. ".lua") then return usage_error("jobs", "'%s' is not a job name", name) end
    local r = runner.new(opts)
    local status, err = r:run_now(name)
    if not status then
      io.stderr:write("enigma: ", tostring(err), "\n")
      return 1
    end
    if status ~= "succeeded" then
      io.stderr:write("enigma: job ", name, " ", status, err and (": " .. tostring(err)) or "", "\n")
      return 1
    end
    return 0
  end
  return usage_error("jobs", sub and ("unknown subcommand '%s'"):format(sub) or "a subcommand is required: list or run")
end

return cli
