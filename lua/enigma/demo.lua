--- Realistic demo data, generated: users with portfolios, privacy deposits
--- and a transaction ledger, loaded through COPY (or written as CSV).
---
---   local demo = require "enigma.demo"
---   demo.generate(db, { users = 10000, deposits = 100000, transactions = 1000000, seed = 42 })
---
--- Everything is drawn from one seeded generator, so a seed gives the same
--- data every time (ids included), apart from the timestamps, which are
--- relative to now.
local M = {}

local random, floor, format = math.random, math.floor, string.format
local DAY = 86400

local TOKENS = { -- symbol, address, usd price, weight
  { "ETH",  "0x0000000000000000000000000000000000000000", 3000, 60 },
  { "USDC", "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48", 1, 25 },
  { "DAI",  "0x6b175474e89094c44da98b954eedeac495271d0f", 1, 10 },
  { "WBTC", "0x2260fac5e5542a773aa44fbcfedf7c193bc2c599", 60000, 5 },
}

local TX_TYPES = { -- type, category, weight
  { "privacy_deposit", "privacy", 25 }, { "privacy_withdrawal", "privacy", 15 },
  { "token_transfer", "transfer", 25 }, { "yield_harvest", "defi", 10 },
  { "rebalance", "defi", 10 }, { "stealth_generation", "privacy", 5 },
  { "zk_proof_generation", "privacy", 5 }, { "agent_activation", "agent", 3 },
  { "governance_vote", "governance", 2 },
}

local TX_STATUS = { { "confirmed", 90 }, { "pending", 5 }, { "failed", 4 }, { "reverted", 1 } }
local TX_PRIVACY = { { "public", 30 }, { "private", 35 }, { "anonymous", 25 }, { "maximum", 10 } }
local DEPOSIT_STATUS = { { "completed", 55 }, { "mixed", 15 }, { "processing", 5 },
                         { "pending", 10 }, { "withdrawn", 12 }, { "failed", 3 } }
local DEPOSIT_PRIVACY = { { "standard", 60 }, { "advanced", 30 }, { "maximum", 10 } }
local CHAINS = { { 1, 70 }, { 10, 10 }, { 137, 10 }, { 42161, 10 } }

-- Picks from { {value..., weight}, ... } where the weight is the last field.
local function weighted(list)
  local total = 0
  for _, item in ipairs(list) do total = total + item[#item] end
  return function()
    local r = random() * total
    for _, item in ipairs(list) do
      r = r - item[#item]
      if r <= 0 then return item end
    end
    return list[#list]
  end
end

-- n random hex digits (n = 32, 40 or 64): math.random(0) gives 64 random bits.
local function hex(n)
  local h = format("%016x%016x%016x%016x", random(0), random(0), random(0), random(0))
  return n == 64 and h or h:sub(1, n)
end

local function uuid()
  local h = hex(32)
  return format("%s-%s-4%s-%x%s-%s", h:sub(1, 8), h:sub(9, 12), h:sub(14, 16),
    8 + random(0, 3), h:sub(18, 20), h:sub(21, 32))
end

-- ISO-8601 UTC text of a time in seconds. Built from cached day and
-- time-of-day strings: os.date for every timestamp of a million rows costs
-- more than the rest of a row.
local day_text, second_text = {}, {}
local function iso(t)
  t = floor(t)
  local day, second = t // DAY, t % DAY
  local d = day_text[day]
  if not d then
    d = os.date("!%Y-%m-%d", day * DAY)
    day_text[day] = d
  end
  local s = second_text[second]
  if not s then
    s = format("T%02d:%02d:%02dZ", second // 3600, second // 60 % 60, second % 60)
    second_text[second] = s
  end
  return d .. s
end

-- An amount between lo and hi, log-uniform, with 6 decimals (exact text).
local function amount(lo, hi)
  return format("%.6f", lo * (hi / lo) ^ random())
end

--- A progress line on stderr, rewritten in place every 50,000 rows.
local function progress(label, total)
  local monotime = require("enigma").monotime
  local start, shown = monotime(), 0
  return function(done, final)
    if not final and (done - shown < 50000 or done >= total) then return end
    shown = done
    local secs = math.max(monotime() - start, 1e-3)
    io.stderr:write(format("\r%-14s %9d/%-9d %3d%%  %7.0f rows/s%s", label, done, total,
      total > 0 and floor(100 * done / total) or 100, done / secs, final and "\n" or ""))
    io.stderr:flush()
  end
end

-- Writes rows as CSV (for psql \copy) through the same put(...) interface as db:copy.
local function csv_sink(path)
  local f = assert(io.open(path, "w"))
  local buf, n = {}, 0
  local function field(v)
    if v == nil or v == M.null then return "" end
    v = tostring(v)
    if v:find('[,"\n\r]') or v == "" then return '"' .. v:gsub('"', '""') .. '"' end
    return v
  end
  local function put(...)
    local row = table.pack(...)
    for i = 1, row.n do row[i] = field(row[i]) end
    n = n + 1
    buf[n] = table.concat(row, ",", 1, row.n)
    if n >= 10000 then f:write(table.concat(buf, "\n"), "\n"); buf, n = {}, 0 end
  end
  return function(_, fn)
    fn(put)
    if n > 0 then f:write(table.concat(buf, "\n"), "\n") end
    f:close()
    return true
  end
end

local COLUMNS = {
  users = "id, wallet_address, created_at",
  user_portfolios = "user_wallet, user_id, total_value, total_deposited, eth_balance, "
    .. "stablecoin_balance, privacy_score, anonymity_level, stealth_addresses_count, risk_score",
  privacy_deposits = "user_wallet, chain_id, amount, token_address, token_symbol, privacy_level, "
    .. "anonymity_set, commitment_hash, nullifier_hash, status, privacy_score, created_at, processed_at",
  transactions = "user_id, user_wallet, tx_type, category, amount, token_address, token_symbol, "
    .. "usd_value, privacy_level, confidentiality_score, tx_hash, block_number, gas_used, "
    .. "gas_price_gwei, transaction_fee, status, confirmations, agent_id, execution_time_ms, "
    .. "metadata, created_at, confirmed_at",
}
M.COLUMNS = COLUMNS

local function sink_for(db, opts, table_name)
  if opts.csv then
    local copy = csv_sink(opts.csv .. "/" .. table_name .. ".csv")
    return function(fn) return copy(nil, fn) end
  end
  local sql = "copy " .. table_name .. " (" .. COLUMNS[table_name] .. ") from stdin"
  return function(fn)
    local n, err = db:copy(sql, fn)
    if not n then error(table_name .. ": " .. err, 0) end
    return n
  end
end

local function gen_users(db, opts, now)
  local users = {}
  local tick = progress("users", opts.users)
  sink_for(db, opts, "users")(function(put)
    for i = 1, opts.users do
      local u = { id = uuid(), wallet = "0x" .. hex(40) }
      users[i] = u
      put(u.id, u.wallet, iso(now - random(30, 720) * DAY))
      tick(i)
    end
  end)
  tick(opts.users, true)

  local pick_level = weighted(TX_PRIVACY)
  sink_for(db, opts, "user_portfolios")(function(put)
    for _, u in ipairs(users) do
      local eth = amount(0.05, 200)
      local stable = amount(10, 500000)
      local total = format("%.6f", eth * 3000 + stable)
      put(u.wallet, u.id, total, total, eth, stable, format("%.2f", random() * 100),
        pick_level()[1], random(0, 12), format("%.2f", 20 + random() * 60))
    end
  end)
  return users
end

local function existing_users(db)
  local rows = assert(db:query("select id, wallet_address from users order by id limit 100000"))
  local users = {}
  for i, r in ipairs(rows) do users[i] = { id = r.id, wallet = r.wallet_address } end
  return users
end

local function gen_deposits(db, opts, users, now)
  local pick_token, pick_status = weighted(TOKENS), weighted(DEPOSIT_STATUS)
  local pick_level, pick_chain = weighted(DEPOSIT_PRIVACY), weighted(CHAINS)
  local tick = progress("deposits", opts.deposits)
  sink_for(db, opts, "privacy_deposits")(function(put)
    for i = 1, opts.deposits do
      local u, token, status = users[random(#users)], pick_token(), pick_status()[1]
      local created = now - random() * 400 * DAY
      local processed = (status == "completed" or status == "withdrawn") and iso(created + 3600) or nil
      put(u.wallet, pick_chain()[1], amount(0.01, 50),
        token[2], token[1], pick_level()[1], random(100, 20000), "0x" .. hex(64), "0x" .. hex(64),
        status, format("%.2f", 40 + random() * 60), iso(created), processed)
      tick(i)
    end
  end)
  tick(opts.deposits, true)
end

local function agent_ids(db)
  local rows = db:query("select id from ai_agents order by id")
  local ids = {}
  for i, r in ipairs(rows or {}) do ids[i] = r.id end
  return ids
end

local function gen_transactions(db, opts, users, agents, now)
  local pick_token, pick_type = weighted(TOKENS), weighted(TX_TYPES)
  local pick_status, pick_level = weighted(TX_STATUS), weighted(TX_PRIVACY)
  local days = opts.days or 365
  local tick = progress("transactions", opts.transactions)
  local metadata = '{"source": "enigma.demo"}'
  sink_for(db, opts, "transactions")(function(put)
    for i = 1, opts.transactions do
      local u, token, tx = users[random(#users)], pick_token(), pick_type()
      local status = pick_status()[1]
      local created = now - random() * days * DAY
      local value = 0.01 * 10000 ^ random()       -- 0.01 to 100, log-uniform
      local amt = format("%.6f", value)
      local gas, gwei = random(21000, 300000), format("%.3f", 2 + random() * 60)
      local agent = (tx[2] == "defi" or tx[2] == "agent") and #agents > 0 and agents[random(#agents)] or nil
      put(u.id, u.wallet, tx[1], tx[2], amt, token[2], token[1], format("%.6f", value * token[3]),
        pick_level()[1], format("%.2f", random() * 100), "0x" .. hex(64),
        17000000 + floor((created - (now - 400 * DAY)) / 12), gas, gwei,
        format("%.9f", gas * gwei * 1e-9), status, status == "confirmed" and random(12, 500) or 0,
        agent, agent and random(50, 5000) or nil, metadata, iso(created),
        status == "confirmed" and iso(created + random(12, 180)) or nil)
      tick(i)
    end
  end)
  tick(opts.transactions, true)
end

--- Generates and loads (or, with opts.csv = DIR, writes DIR/<table>.csv):
--- opts.users new users with portfolios (0: use the users already there),
--- opts.deposits privacy deposits and opts.transactions ledger rows over
--- the last opts.days (default 365) days. opts.seed seeds the generator.
function M.generate(db, opts)
  M.null = require("enigma").null
  math.randomseed(opts.seed or 42)
  local now = os.time()
  local users = (opts.users or 0) > 0 and gen_users(db, opts, now) or existing_users(db)
  if #users == 0 and ((opts.deposits or 0) > 0 or (opts.transactions or 0) > 0) then
    error("there are no users to own deposits and transactions; generate some with --users N", 0)
  end
  if (opts.deposits or 0) > 0 then gen_deposits(db, opts, users, now) end
  if (opts.transactions or 0) > 0 then gen_transactions(db, opts, users, agent_ids(db), now) end
  return { users = #users }
end

return M
