-- The enigma module for a stock Lua 5.4, built by CMake from the checkout
-- this file is in (Debian: apt-get install luarocks):
--
--   luarocks --lua-version=5.4 make --tree=T
--   eval "$(luarocks --lua-version=5.4 --tree=T path)"
--   lua5.4 -e 'local e = require "enigma"; print(e.version, e.decimal("0.1") + "0.2")'
--
-- LuaRocks moves enigma.so and the Lua half into T/lib/lua/5.4 and
-- T/share/lua/5.4, and leaves the rest of what CMake installed -- the
-- schema, scripts and examples -- in its own directory for the rock; so the
-- data directory is given as an absolute path, which the module then uses
-- as it is (core/paths.c). bin/enigma is installed too, into T/bin.
rockspec_format = "3.0"
package = "enigma"
version = "0.1.0-1"

-- No download: `luarocks make` builds the working tree it is run in.
source = {
  url = ".",
}

description = {
  summary = "The Enigma Protocol runtime: PostgreSQL, cryptography and scheduling for Lua 5.4",
  detailed = [[
require "enigma" gives Lua 5.4 a PostgreSQL client (libpq) with exact
decimals and row-level-security sessions, the protocol's cryptography
(stealth addresses, notes, sealed keys, keystores), a libuv scheduler and a
sandbox for agent strategies, plus the schema's migrations, the shipped jobs,
agent strategies and reports.]],
}

dependencies = {
  "lua >= 5.4, < 5.5",
}

-- CMake finds libpq, libsodium, libsecp256k1, nettle, GMP, jansson, libuv
-- and readline with pkg-config (tools/bootstrap.sh installs them on Debian).
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    ENIGMA_INSTALL_LUA_CDIR = "$(LIBDIR)",
    ENIGMA_INSTALL_LUA_DIR = "$(LUADIR)",
    ENIGMA_INSTALL_DATA_DIR = "$(PREFIX)/share/enigma",
    ENIGMA_BUILD_TESTS = "OFF",
  },
}
