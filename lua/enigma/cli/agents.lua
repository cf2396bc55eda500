--- enigma.cli.agents: `enigma agents list`, `enigma agents tick ID` and
-- `enigma run --sandbox FILE` (host/main.c and host/run.c call main).
local enigma = require "enigma"
local agents = require "enigma.serve.agents"
local strategies = require "enigma.serve.strategies"
local service = require "enigma.serve.service"

local cli = {}

local AGENTS_USAGE = [[
usage: enigma agents list [--agents DIR] [--all]
       enigma agents tick ACTIVATION_ID [--agents DIR] [--no-sandbox]
       enigma agents pause ACTIVATION_ID
       enigma agents resume ACTIVATION_ID

  list   the strategies in DIR (default: the shipped scripts/agents), then the activations: status,
         executions, consecutive failures, last tick, next tick and last error
         (the first 50; --all for every one)
  tick   runs one tick of the activation now, recorded like any tick, and prints the
         actions it proposed. Exits 0 if it succeeded, 1 if it failed, 3 if a limit stopped it.
  pause  stops an active (or errored) activation ticking
  resume lets a paused activation, or one in error, tick again; for one in error its
         consecutive failures are reset and it ticks at once
]]

local SANDBOX_USAGE = [[
usage: enigma run --sandbox FILE.lua

Runs FILE under exactly the sandbox and limits an agent tick gets, with a ctx that has no
database: ctx.log and ctx.propose print, ctx.pools() and ctx.activations() are empty,
ctx.portfolio() is nil. If FILE returns a strategy (a table with tick), tick(ctx, activation)
runs once with an example activation. Exits 0 on success, 1 on a script error, 3 when a limit
(instructions, memory, time) stopped it.
]]

local EXIT_LIMIT = 3

local usage_error, print_table = service.usage_error, service.print_table

local OPTIONS = {
  agents = { key = "dir", kind = "string" },
  all = { key = "all", kind = "flag" },
  ["no-sandbox"] = { key = "sandbox", kind = "flag", value = false },
}

local function parse(args)
  local opts, rest = service.parse_options(args, OPTIONS)
  if opts then opts.dir = opts.dir or os.getenv("ENIGMA_AGENTS_DIR") or enigma.paths.scripts .. "/agents" end
  return opts, rest
end

local function utc(t)
  if t == nil or t == enigma.null then return "-" end
  return os.date("!%Y-%m-%d %H:%M:%S", math.floor(t))
end


local function list(opts)
  local loaded, failed = strategies.load_dir(opts.dir, { sandbox = opts.sandbox })
  if not loaded then
    io.stderr:write("enigma: ", tostring(failed), "\n")
    return 1
  end
  local names = service.sorted_keys(loaded, failed)
  local out = { { "STRATEGY", "INTERVAL", "VERSION", "LIMITS" } }
  for _, name in ipairs(names) do
    local s = loaded[name]
    if s then
      out[#out + 1] = { name, ("%gs"):format(s.interval), s.version,
                        ("%d instr, %d KiB, %gs"):format(s.limits.instructions, s.limits.memory // 1024,
                                                        s.limits.time) }
      strategies.close(s)
    else
      out[#out + 1] = { name, "-", "-", "INVALID: " .. tostring(failed[name]):match("^[^\n]*") }
    end
  end
  print_table(out)
  local db, err = enigma.db.connect()
  if not db then
    io.stderr:write("enigma: cannot list activations: ", tostring(err), "\n")
    return 1
  end
  local rows, qerr = db:query(service.sql("agents_list"), opts.all and 2147483647 or 50)
  db:close()
  if not rows then
    io.stderr:write("enigma: ", tostring(qerr), "\n")
    return 1
  end
  print()
  out = { { "ACTIVATION", "AGENT TYPE", "STATUS", "TICKS", "FAILED", "IN A ROW", "LAST TICK (UTC)",
            "NEXT TICK (UTC)", "LAST ERROR" } }
  for _, r in ipairs(rows) do
    local e = r.last_error ~= enigma.null and tostring(r.last_error):match("^[^\n]*"):sub(1, 60) or ""
    out[#out + 1] = { r.id, r.agent_type, r.status, tostring(r.total_executions), tostring(r.failed_executions),
                      tostring(r.consecutive_failures), utc(r.last_tick),
                      r.status == "active" and (r.next_tick == enigma.null and "now" or utc(r.next_tick)) or "-", e }
  end
  print_table(out)
  local total = rows[1] and rows[1].total or 0
  if total > #rows then print(("(%d of %d activations; --all for every one)"):format(#rows, total)) end
  return next(failed) and 1 or 0
end

--- An amount (a decimal) exactly, without trailing zeros after the point.
local function amount(v)
  local s = tostring(v)
  if s:find(".", 1, true) then s = (s:gsub("0+$", ""):gsub("%.$", "")) end
  return s
end

local function print_outcome(out)
  for _, p in ipairs(out.proposals or {}) do
    print(("proposed %s %s %s%s%s"):format(p.tx_type, amount(p.amount), p.token, p.pool and (" pool " .. p.pool) or "",
                                          p.note and (" (" .. p.note .. ")") or ""))
  end
  for _, p in ipairs(out.pauses or {}) do print(("paused activation %s (%s)"):format(p.id, p.reason)) end
  if out.allocation then print(("allocation %s USD"):format(amount(out.allocation))) end
end

local function tick(opts, id)
  local a = agents.new({ dir = opts.dir, sandbox = opts.sandbox, quiet = true })
  local out, err = a:tick_now(id)
  if not out then
    io.stderr:write("enigma: ", tostring(err), "\n")
    return 1
  end
  print_outcome(out)
  if #out.proposals == 0 and #out.pauses == 0 and out.ok then print("no actions proposed") end
  print(("tick %s in %.1f ms"):format(out.ok and "succeeded" or "failed", out.ms))
  if not out.ok then
    io.stderr:write("enigma: ", out.reason, ": ", tostring(out.error), "\n")
    return out.reason == "error" and 1 or EXIT_LIMIT
  end
  return 0
end

--- `enigma agents pause|resume ID`: an operator stops an activation ticking, or lets it tick
--- again (resuming one in error resets its failures and lets it tick at once). Exit 0 when the
--- activation is (now) as asked, 1 when there is none or it has ended (stopped, terminated).
local function set_status(sub, id)
  local db, err = enigma.db.connect()
  if not db then
    io.stderr:write("enigma: cannot reach the database: ", tostring(err), "\n")
    return 1
  end
  local ok, msg, code = pcall(db.transaction, db, function(tx)
    local row = tx:query(service.sql("agents_status"), id)[1]
    if not row then return ("enigma: no activation %s"):format(id), 1 end
    local want = sub == "pause" and "paused" or "active"
    if row.status == want then return ("activation %s is %s already"):format(id, want), 0 end
    if row.status ~= "active" and row.status ~= "paused" and row.status ~= "error" then
      return ("enigma: activation %s is %s: it has ended, and cannot be %s"):format(
        id, row.status, sub == "pause" and "paused" or "resumed"), 1
    end
    tx:query(service.sql("agents_set_status"), id, want)
    return ("activation %s: %s -> %s%s"):format(id, row.status, want, row.status == "error"
      and (" (%d consecutive failures reset; it ticks at once)"):format(row.consecutive_failures) or ""), 0
  end)
  db:close()
  if not ok then
    io.stderr:write("enigma: ", service.message_of(msg), "\n")
    return 1
  end
  if code == 0 then print(msg) else io.stderr:write(msg, "\n") end
  return code
end

-- `enigma run --sandbox FILE`: the sandbox with a database-less host.
local function sandbox_run(args)
  local path = args[1]
  if path == "-h" or path == "--help" then io.write(SANDBOX_USAGE) return 0 end
  if not path then return usage_error("run", "--sandbox needs a script file") end
  local f, ferr = io.open(path, "rb")
  if not f then io.stderr:write("enigma: ", ferr, "\n") return 1 end
  local source = f:read("a")
  f:close()
  local box = enigma.sandbox.new{ memory = strategies.BOX_MEMORY }
  local def, err, why = box:load(source, "@" .. path, strategies.LIMITS)
  if def == nil then
    io.stderr:write("enigma: ", why == "error" and "" or (why .. ": "), err, "\n")
    return why == "error" and 1 or EXIT_LIMIT
  end
  if type(def) ~= "table" or def.tick ~= "function" then
    print("ok (the script ran; it returned no strategy to tick)")
    return 0
  end
  local limits, cerr = strategies.check(def, path)   -- exactly what loading it would refuse
  if not limits then
    io.stderr:write("enigma: ", cerr, "\n")
    return 1
  end
  local s = { name = "sandbox", box = box, limits = limits, interval = def.interval }
  local host = {
    pools = function() return {} end,
    portfolio = function() return nil end,
    activations = function() return {} end,
    recent = function() return {} end,
  }
  local activation = {
    id = "00000000-0000-4000-8000-000000000000", agent_type = "sandbox", status = "active",
    configuration = {}, risk_parameters = {}, allocation_limits = {}, current_allocation = 0,
    total_profit = 0, total_executions = 0, successful_executions = 0, failed_executions = 0,
  }
  local out = strategies.tick(s, activation, host, {})
  for _, line in ipairs(out.logs) do print("log: " .. line) end
  print_outcome(out)
  if not out.ok then
    io.stderr:write("enigma: ", out.reason == "error" and "" or (out.reason .. ": "), tostring(out.error), "\n")
    return out.reason == "error" and 1 or EXIT_LIMIT
  end
  print(("ok (tick in %.1f ms, state %s)"):format(out.ms, out.state_json))
  return 0
end

--- `enigma agents ...` and `enigma run --sandbox ...`: returns the exit status.
function cli.main(command, args)
  if command == "sandbox" then return sandbox_run(args) end
  local opts, rest = parse(args)
  if not opts then return usage_error("agents", "%s", rest) end
  if opts.help then io.write(AGENTS_USAGE) return 0 end
  local sub = rest[1]
  if sub == "list" then
    if #rest > 1 then return usage_error("agents", "unexpected argument '%s'", rest[2]) end
    return list(opts)
  elseif sub == "tick" or sub == "pause" or sub == "resume" then
    local id = rest[2]
    if not id then return usage_error("agents", "agents %s needs an activation id", sub) end
    if not id:match("^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$") then
      return usage_error("agents", "'%s' is not an activation id (a UUID)", id)
    end
    if #rest > 2 then return usage_error("agents", "unexpected argument '%s'", rest[3]) end
    if sub == "tick" then return tick(opts, id:lower()) end
    return set_status(sub, id:lower())
  end
  return usage_error("agents", sub and ("unknown subcommand '%s'"):format(sub)
                               or "a subcommand is required: list, tick, pause or resume")
end

return cli
