-- luacheck's configuration for every Lua file in the repository (`make lint`).
-- Lua 5.4 everywhere: the enigma program embeds it and the specs run on lua5.4.
std = "lua54"
max_line_length = 120
-- A method that does not use its self is still a method; `_name` says "unused on purpose".
self = false
ignore = { "21./_.*" }
exclude_files = { "build*/**", ".enigma/**" }

-- What a strategy sees under the sandbox (bindings/sandbox/sandbox_lib.c): the base
-- library without dofile, loadfile, collectgarbage, print and require; string without
-- dump; table, math, utf8, coroutine and decimal. No io, os, debug or package. A strategy that
-- reached for more would work with the sandbox off and fail with it on.
stds.enigma_sandbox = {
  read_globals = {
    "_G", "_VERSION", "assert", "error", "getmetatable", "ipairs", "load", "next", "pairs",
    "pcall", "rawequal", "rawget", "rawlen", "rawset", "select", "setmetatable", "tonumber",
    "tostring", "type", "warn", "xpcall",
    string = { fields = {
      "byte", "char", "find", "format", "gmatch", "gsub", "len", "lower", "match", "pack",
      "packsize", "rep", "reverse", "sub", "unpack", "upper",
    } },
    "table", "math", "utf8", "coroutine",
    decimal = { fields = { "new", "isdecimal", "tonumber" } },   -- sandbox_decimal.c
  },
}
files["scripts/agents/"] = { std = "enigma_sandbox" }

-- Jobs, reports and demo scripts run in a table that falls back to _G (stock Lua 5.4,
-- plus `arg` from `enigma run`, which lua54 already has): the default std covers them.

-- busted's describe/it/assert/spy/... in the specs and in the helpers they load. Specs
-- hold SQL and the output they expect inline: their lines may run to 140.
files["spec/"] = { std = "+busted", max_line_length = 140 }
