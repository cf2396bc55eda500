--- enigma.serve.login: what `enigma serve` checks of its database login at start-up (issue 14,
-- least privilege). serve logs in as enigma_runtime (schema/014_privilege.sql): no superuser,
-- a member of service_role (its job ledger and the platform's data) and of agent_executor (the
-- ticks). A superuser login is refused unless ENIGMA_ALLOW_SUPERUSER=1 says the operator means
-- it; a login that lacks a role serve needs is refused with the GRANT that gives it.
local enigma = require "enigma"

local login = {}

local SQL = [[
select r.rolname, r.rolsuper,
       pg_catalog.pg_has_role(r.oid, 'service_role', 'MEMBER') as service,
       pg_catalog.pg_has_role(r.oid, 'agent_executor', 'MEMBER') as executor
  from pg_catalog.pg_roles r where r.rolname = session_user]]

local ROLES = 'README, "Database roles"'

--- Checks `row` (SQL's) for serve with or without agents: true, or nil and the message.
function login.judge(row, agents, allow_superuser)
  if row.rolsuper then
    if allow_superuser then return true end
    return nil, ("the database login %s is a superuser; serve logs in as enigma_runtime, which "
      .. "`enigma migrate` creates (with an external database see %s), or set "
      .. "ENIGMA_ALLOW_SUPERUSER=1 to run as %s anyway"):format(row.rolname, ROLES, row.rolname)
  end
  local missing = {}
  if not row.service then missing[#missing + 1] = "service_role" end
  if agents and not row.executor then missing[#missing + 1] = "agent_executor" end
  if #missing > 0 then
    return nil, ("the database login %s is not a member of %s: GRANT %s TO %s (%s)"):format(
      row.rolname, table.concat(missing, " and "), table.concat(missing, ", "), row.rolname, ROLES)
  end
  return true
end

--- Connects to `url` (nil: the default) and judges its login. An unreachable database fails
--- the check: serve exits 1 rather than run later under a login nobody checked.
function login.check(url, agents)
  local db, cerr = enigma.db.connect(url)
  -- A database unreachable now is refused too: a login that could not be checked must not
  -- be used later, when the reconnection succeeds (a superuser's would then run the jobs).
  if not db then return nil, "cannot reach the database to check its login: " .. tostring(cerr) end
  local rows, err = db:query(SQL)
  db:close()
  if not rows then return nil, "cannot check the database login: " .. tostring(err) end
  return login.judge(rows[1], agents, os.getenv("ENIGMA_ALLOW_SUPERUSER") == "1")
end

return login
