-- One withdrawal, started at a signal: used by spec/deposits_spec.lua to race two processes.
-- Waits for a shared advisory lock the spec holds exclusively, then withdraws and prints
-- "ok" or the error code. The note comes on stdin, not argv, so `ps` never shows it.
local enigma = require "enigma"
local deposits = require "enigma.deposits"

local recipient, gate = ...
local note = io.read("l")
local db = assert(enigma.db.connect())
db:query("SELECT pg_advisory_lock_shared($1)", math.tointeger(gate))
local result, _, code = deposits.withdraw { db = db, note = note, recipient = recipient }
print(result and "ok" or code)
