--- enigma.serve.jobs: job files -- loading, validating and describing them.
--
-- A job is scripts/jobs/<name>.lua returning a table:
--   schedule  cron expression (5 or 6 fields, @daily, "every 30s", see `enigma cron next`)
--   listen    a channel name: the job runs on each notification instead (or as well)
--   run       function(ctx) ... end
--   timeout   seconds a run may take (default 300)
--   retries   further attempts after a failure or a timeout (default 0)
--   backoff   seconds before the first retry, doubled for each next one (default 10)
--   overlap   "skip" (default), "queue" or "allow": what a due run does while one is running
--   tz        IANA zone the schedule is read in (default UTC)
--   catchup   false: do not run once for occurrences missed while no runner was up (default true)
--   transactional  true: ctx.db's work and the run's 'succeeded' record commit together (default false)
--   description  one line for `enigma jobs list`
local enigma = require "enigma"

local jobs = {}

local DEFAULTS = { timeout = 300, retries = 0, backoff = 10, overlap = "skip", catchup = true,
                   transactional = false }
local KNOWN = {
  schedule = "string", listen = "string", run = "function", timeout = "number",
  retries = "number", backoff = "number", overlap = "string", tz = "string",
  catchup = "boolean", transactional = "boolean", description = "string",
}
local OVERLAP = { skip = true, queue = true, allow = true }

--- The job name of a file name ("pool_stats.lua" -> "pool_stats"), or nil for other files.
function jobs.name_of(filename)
  local name = filename:match("^([%w_][%w_.-]*)%.lua$")
  if name and #name <= 100 then return name end
end

local function check(def, path)
  if type(def) ~= "table" then
    return nil, ("%s: a job file must return a table, not a %s"):format(path, type(def))
  end
  for k, v in pairs(def) do
    local want = KNOWN[k]
    if not want then return nil, ("%s: unknown field '%s'"):format(path, tostring(k)) end
    if type(v) ~= want then
      return nil, ("%s: field '%s' must be a %s, not a %s"):format(path, k, want, type(v))
    end
  end
  if not def.run then return nil, path .. ": field 'run' (a function) is required" end
  if not def.schedule and not def.listen then
    return nil, path .. ": a job needs a 'schedule' or a 'listen' channel"
  end
  if def.listen and not def.listen:match("^[%a_][%w_]*$") then
    return nil, ("%s: listen: '%s' is not a channel name"):format(path, def.listen)
  end
  -- every number as `not (low <= v and v <= high)`, so NaN fails as any other bad value
  if def.timeout and not (def.timeout > 0 and def.timeout <= 7 * 86400) then
    return nil, path .. ": field 'timeout' must be a number of seconds above 0, at most 604800"
  end
  if def.retries and not (math.type(def.retries) == "integer" and def.retries >= 0 and def.retries <= 1000) then
    return nil, path .. ": field 'retries' must be a whole number from 0 to 1000"
  end
  if def.backoff and not (def.backoff >= 0 and def.backoff <= 86400) then
    return nil, path .. ": field 'backoff' must be a number of seconds from 0 to 86400"
  end
  if def.overlap and not OVERLAP[def.overlap] then
    return nil, ("%s: overlap must be skip, queue or allow, not '%s'"):format(path, def.overlap)
  end
  return true
end

--- Compiles and validates one job file, in an environment of its own (globals it sets do not
--- leak into other jobs). Returns the job, or nil and a message naming the file.
function jobs.load(path, name)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local source = f:read("a")
  f:close()
  local env = setmetatable({}, { __index = _G })
  local chunk, cerr = load(source, "@" .. path, "t", env)
  if not chunk then return nil, cerr end
  local ok, def = pcall(chunk)
  if not ok then return nil, ("%s: %s"):format(path, tostring(def)) end
  local valid, verr = check(def, path)
  if not valid then return nil, verr end
  local job = {
    name = name, path = path, def = def, run = def.run, listen = def.listen,
    schedule = def.schedule, tz = def.tz, description = def.description,
    version = enigma.crypto.hex(enigma.crypto.keccak256(source)):sub(3, 14),
  }
  for k, v in pairs(DEFAULTS) do
    if def[k] == nil then job[k] = v else job[k] = def[k] end
  end
  if job.schedule then
    local cron, cerr2 = enigma.sched.cron(job.schedule)
    if not cron then return nil, ("%s: schedule '%s': %s"):format(path, job.schedule, cerr2) end
    local next_time, zerr = cron:next(os.time(), job.tz)
    if not next_time then return nil, ("%s: tz: %s"):format(path, zerr) end
    job.cron = cron
  end
  return job
end

--- Every job file in dir: { name = job }, plus { name = message } for those that failed.
function jobs.load_dir(dir)
  local names, err = enigma.sched.listdir(dir)
  if not names then return nil, err end
  table.sort(names)
  local loaded, failed = {}, {}
  for _, file in ipairs(names) do
    local name = jobs.name_of(file)
    if name then
      local job, jerr = jobs.load(dir .. "/" .. file, name)
      if job then loaded[name] = job else failed[name] = jerr end
    end
  end
  return loaded, failed
end

--- The next fire time of a scheduled job after `after` (Unix seconds), or nil.
function jobs.next_time(job, after)
  if not job.cron then return nil end
  return job.cron:next(after, job.tz)
end

--- Unix seconds as the UTC text used for occurrences and logs.
function jobs.utc(t, fraction)
  if not fraction then return os.date("!%Y-%m-%dT%H:%M:%SZ", math.floor(t)) end
  local ms = math.floor(t * 1000 + 0.5)
  return os.date("!%Y-%m-%dT%H:%M:%S", ms // 1000) .. (".%03dZ"):format(ms % 1000)
end

return jobs
