#!/bin/sh
# The installed enigma works on its own (ctest install/prefix, install/rock).
#
#   sh spec/install_test.sh prefix BUILD_DIR SOURCE_DIR
#       cmake --install BUILD_DIR into a temporary prefix P, then, from an
#       unrelated directory with the source tree (and BUILD_DIR) hidden under
#       an empty tmpfs in a private mount namespace, with PATH=P/bin:/usr/bin:/bin
#       and nothing else from the caller's environment: a new embedded cluster,
#       migrate, the demo data, the quickstart, migrate --status, and stock
#       lua5.4 loading the module from P. Also: what is installed where, the
#       module's exported symbols, the hardening of release builds, the man page.
#   sh spec/install_test.sh rock BUILD_DIR SOURCE_DIR
#       luarocks make of the rockspec (from a copy of the source) into a
#       temporary tree T, then the same Lua checks through `luarocks path`.
#
# Each run has its own cluster (ENIGMA_HOME under /tmp) and stops and removes
# it on every exit, passing or failing.
# shellcheck disable=SC2016,SC2015 # the sh -c scripts' $1 is theirs; `a && b || fail` is meant
set -eu

mode=${1:?usage: install_test.sh prefix|rock BUILD_DIR SOURCE_DIR}
build=$(cd "${2:?build dir}" && pwd -P)
src=$(cd "${3:?source dir}" && pwd -P)

say() { printf 'install_test: %s\n' "$*"; }
fail() {
    printf 'install_test: FAIL: %s\n' "$*" >&2
    exit 1
}

work=$(mktemp -d /tmp/enigma-install.XXXXXX)
chmod 0755 "$work" # as root the server runs as postgres, which must reach the home
home=$work/home    # ENIGMA_HOME: a new cluster of its own
cwd=$work/cwd      # an unrelated directory to run from
mkdir -m 0755 "$home" "$cwd" "$work/user"
enigma=""          # the installed program, once there is one

cleanup() {
    rc=$?
    if [ -n "$enigma" ] && [ -d "$home/data" ]; then
        env -i PATH=/usr/bin:/bin HOME="$work/user" ENIGMA_HOME="$home" "$enigma" db stop >/dev/null ||
            say "could not stop the cluster in $home"
    fi
    rm -rf "$work"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- hiding the source tree -------------------------------------------------
# As root a private mount namespace is enough; otherwise a user namespace
# gives one (unshare -r). Without either the test cannot prove anything, so
# it fails rather than skip.
if [ "$(id -u)" -eq 0 ]; then unshare="unshare -m"; else unshare="unshare -r -m"; fi
hide='src=$1 build=$2; shift 2
case $build/ in "$src"/*) ;; *) mount -t tmpfs -o size=1m,mode=0755 none "$build" || exit 97;; esac
mount -t tmpfs -o size=1m,mode=0755 none "$src" || exit 97
exec "$@"'
if ! $unshare sh -c "$hide" sh "$src" "$build" sh -c 'test ! -e "$1/CMakeLists.txt"' sh "$src" \
    >"$work/unshare.log" 2>&1; then
    cat "$work/unshare.log" >&2
    fail "cannot hide the source tree: \`$unshare\` with a tmpfs over $src does not work here.
  The install test needs a private mount namespace: run it as root, or allow unprivileged
  user namespaces (sysctl kernel.unprivileged_userns_clone=1)."
fi

# hidden BIN_PATH CMD...: CMD from $cwd with the source tree hidden, an
# empty environment but for PATH=BIN_PATH:/usr/bin:/bin, HOME and ENIGMA_HOME,
# and any VAR=value given first in CMD.
hidden() {
    path=$1
    shift
    $unshare sh -c "$hide" sh "$src" "$build" \
        env -i PATH="$path:/usr/bin:/bin" HOME="$work/user" ENIGMA_HOME="$home" LANG=C.UTF-8 \
        sh -c 'cd "$1" && shift && exec env "$@"' sh "$cwd" "$@"
}

# Under `unshare -r` we look like root to ourselves, and the program would
# start the server as the postgres user, which a user namespace cannot do:
# then the cluster is started and stopped outside it (still with the
# installed program and an empty environment).
db() {
    if [ "$(id -u)" -eq 0 ]; then
        hidden "$1" enigma db "$2"
    else
        env -i PATH="$1:/usr/bin:/bin" HOME="$work/user" ENIGMA_HOME="$home" "$enigma" db "$2"
    fi
}

# expect FILE PATTERN WHAT: FILE has a line matching the extended regex.
expect() {
    grep -Eq -- "$2" "$1" || {
        cat "$1" >&2
        fail "$3: no line matches /$2/"
    }
}

# same_files SRC_DIR DST_DIR: the same files (names, below them) in both.
same_files() {
    (cd "$1" && find . -type f ! -name '.*' | sort) >"$work/want"
    (cd "$2" && find . -type f | sort) >"$work/got"
    diff -u "$work/want" "$work/got" >&2 || fail "$2 does not hold what $1 holds (diff above)"
}

# A sanitized build's enigma.so needs the sanitizer runtimes loaded first in a
# stock lua5.4, as the specs have them (spec/tests.cmake).
lua_preload=""
if grep -q '^ENIGMA_SANITIZE:BOOL=ON$' "$build/CMakeCache.txt"; then
    cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
    lua_preload="$("$cc" -print-file-name=libasan.so):$("$cc" -print-file-name=libubsan.so)"
fi

migrations=$(find "$src/schema" -maxdepth 1 -name '[0-9]*_*.sql' | wc -l)
[ "$migrations" -gt 0 ] || fail "no migrations in $src/schema"

# The checks through a stock lua5.4, run hidden:
#   lua5.4 check.lua ROOT SCHEMA_DIR LUA_DIR N
# the module and its Lua half come from ROOT, enigma.paths says installed and
# names SCHEMA_DIR (N migrations) and LUA_DIR, and the database answers.
cat >"$work/check.lua" <<'EOF'
local root, schema, luadir, n = arg[1], arg[2], arg[3], tonumber(arg[4])
local function check(ok, ...)
  if not ok then io.stderr:write("check.lua: ", string.format(...), "\n"); os.exit(1) end
end
local enigma = require "enigma"
check(package.searchpath("enigma", package.cpath):sub(1, #root + 1) == root .. "/",
      "enigma.so is not from %s: %s", root, package.searchpath("enigma", package.cpath))
check(enigma.version == "0.1.0", "enigma.version is %s", tostring(enigma.version))
check(enigma.decimal("0.1") + "0.2" == enigma.decimal("0.3"), "0.1 + 0.2 is not 0.3")
check(enigma.paths.installed == true, "enigma.paths.installed is %s", tostring(enigma.paths.installed))
check(enigma.paths.schema == schema, "enigma.paths.schema is %s, not %s", enigma.paths.schema, schema)
check(enigma.paths.lua == luadir, "enigma.paths.lua is %s, not %s", enigma.paths.lua, luadir)
local files = 0
for name in io.popen("ls " .. enigma.paths.schema):lines() do
  if name:match("^%d+_.*%.sql$") then files = files + 1 end
end
check(files == n, "%d migrations in %s, not %d", files, enigma.paths.schema, n)
local fmt = require "enigma.format"
local from = debug.getinfo(fmt.table, "S").source
check(from == "@" .. luadir .. "/enigma/format.lua", "enigma.format was loaded from %s", from)
local db <close> = assert(enigma.db.connect())
local row = assert(db:query("select (select count(*) from schema_migrations) as applied, current_user as who"))[1]
check(row.applied == n, "%d migrations applied, not %d", row.applied, n)
print(string.format("check.lua: ok: %s %s, %d migrations applied, connected as %s",
                    enigma.version, tostring(enigma.decimal("0.1") + "0.2"), row.applied, row.who))
EOF

# exports SO: the module's own dynamic symbols are its luaopen_* functions.
exports() {
    nm -D --defined-only "$1" >"$work/nm" || fail "nm -D $1"
    awk '$3 !~ /^luaopen_/ && $3 !~ /^(_init|_fini|_edata|_end|__bss_start)$/' "$work/nm" >"$work/leaks"
    [ ! -s "$work/leaks" ] || {
        cat "$work/leaks" >&2
        fail "$1 exports more than luaopen_* (above)"
    }
    awk '$3 ~ /^luaopen_/ && $2 != "T"' "$work/nm" | grep -q . && fail "$1 exports a luaopen_* that is not a function"
    grep -Eq ' T luaopen_enigma$' "$work/nm" || fail "$1 does not export luaopen_enigma"
    say "$1 exports: $(awk '{print $3}' "$work/nm" | tr '\n' ' ')"
}

case $mode in
prefix)
    P=$work/prefix
    cmake --install "$build" --prefix "$P" >"$work/install.log" 2>&1 || {
        cat "$work/install.log" >&2
        fail "cmake --install $build --prefix $P"
    }
    enigma=$P/bin/enigma
    [ -x "$enigma" ] || fail "no $P/bin/enigma"
    [ -f "$P/lib/lua/5.4/enigma.so" ] || fail "no $P/lib/lua/5.4/enigma.so"
    same_files "$src/lua/enigma" "$P/share/lua/5.4/enigma"
    [ -f "$P/share/lua/5.4/enigma/serve/runner.lua" ] && [ -f "$P/share/lua/5.4/enigma/cli/serve.lua" ] ||
        fail "the serve/ and cli/ modules are not installed"
    for d in schema scripts examples; do same_files "$src/$d" "$P/share/enigma/$d"; done
    for d in agents jobs reports demo; do
        [ -d "$P/share/enigma/scripts/$d" ] || fail "no $P/share/enigma/scripts/$d"
    done
    say "installed into $P: bin/enigma, lib/lua/5.4/enigma.so, share/lua/5.4/enigma, share/enigma, share/man"

    # the man page: installed, with its sections, and no groff warnings
    man=$P/share/man/man1/enigma.1
    [ -f "$man" ] || fail "no $man"
    cmp -s "$man" "$src/docs/enigma.1" || fail "$man is not docs/enigma.1"
    for s in NAME SYNOPSIS DESCRIPTION COMMANDS ENVIRONMENT FILES 'EXIT STATUS' EXAMPLES; do
        grep -Eq "^\\.SH \"?$s\"?\$" "$man" || fail "the man page has no $s section"
    done
    if command -v groff >/dev/null 2>&1; then
        groff -man -Tutf8 -ww -z "$man" >"$work/groff.log" 2>&1 || true
        [ ! -s "$work/groff.log" ] || {
            cat "$work/groff.log" >&2
            fail "groff warns about the man page"
        }
    else
        say "groff is not installed: the man page was not rendered"
    fi

    exports "$P/lib/lua/5.4/enigma.so"

    # hardening, in release builds
    type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
    case $type in
    Release | RelWithDebInfo)
        for f in "$enigma" "$P/lib/lua/5.4/enigma.so"; do
            readelf -d "$f" | grep -Eq 'BIND_NOW|FLAGS_1.* NOW' || fail "$f is not linked with -z now"
            readelf -lW "$f" | grep -q GNU_RELRO || fail "$f has no GNU_RELRO segment"
            nm -D "$f" | grep -q ' U __stack_chk_fail' || fail "$f has no stack protector"
            nm -D "$f" | grep -Eq ' U __[a-z]+_chk' || fail "$f is not built with _FORTIFY_SOURCE"
        done
        say "hardened ($type): full RELRO, stack protector, _FORTIFY_SOURCE"
        ;;
    *) say "a $type build: hardening not checked" ;;
    esac

    # the program, with nothing of the source tree to fall back on
    hidden "$P/bin" enigma --version >"$work/out" 2>&1 || fail "enigma --version"
    expect "$work/out" '^enigma 0\.1\.0 ' "enigma --version"
    db "$P/bin" start >"$work/out" 2>&1 || {
        cat "$work/out" >&2
        fail "enigma db start"
    }
    hidden "$P/bin" enigma migrate >"$work/out" 2>&1 || {
        cat "$work/out" >&2
        fail "enigma migrate"
    }
    [ "$(grep -c '^applied [0-9]*_.*\.sql' "$work/out")" -eq "$migrations" ] || {
        cat "$work/out" >&2
        fail "enigma migrate did not apply the $migrations migrations"
    }
    hidden "$P/bin" enigma run "$P/share/enigma/scripts/demo/load.lua" >"$work/out" 2>&1 || {
        cat "$work/out" >&2
        fail "enigma run $P/share/enigma/scripts/demo/load.lua"
    }
    expect "$work/out" '^demo data loaded: [1-9][0-9]* users, [1-9][0-9]* transactions$' "the demo data"
    hidden "$P/bin" enigma run "$P/share/enigma/examples/quickstart.lua" >"$work/out" 2>&1 || {
        cat "$work/out" >&2
        fail "enigma run $P/share/enigma/examples/quickstart.lua"
    }
    expect "$work/out" '^Privacy pools$' "the quickstart's pool analytics"
    expect "$work/out" '^ Enigma Main Pool \(Ethereum\) +\| +1 \| +84250000\.00 \|' "the quickstart's Ethereum pool"
    expect "$work/out" '^Agent leaderboard$' "the quickstart's leaderboard"
    expect "$work/out" '^ +1 \| Privacy Sentinel Elite +\| privacy_sentinel +\| +98\.20 \|' "the leaderboard's first"
    expect "$work/out" '^Privacy dashboard of 0x1111111111111111111111111111111111111111 \(as that user\)$' \
        "the quickstart's privacy dashboard"
    hidden "$P/bin" enigma migrate --status >"$work/out" 2>&1 || fail "enigma migrate --status"
    [ "$(grep -c '^applied ' "$work/out")" -eq "$migrations" ] && ! grep -qv '^applied ' "$work/out" || {
        cat "$work/out" >&2
        fail "enigma migrate --status: not exactly the $migrations migrations, all applied"
    }
    say "enigma db start, migrate, demo/load.lua, quickstart.lua, migrate --status: ok from $P"

    # shellcheck disable=SC2086 # two words, or none
    hidden "$P/bin" ${lua_preload:+LD_PRELOAD=$lua_preload ASAN_OPTIONS=detect_leaks=0} \
        LUA_PATH="$P/share/lua/5.4/?.lua;$P/share/lua/5.4/?/init.lua;;" \
        LUA_CPATH="$P/lib/lua/5.4/?.so;;" \
        lua5.4 "$work/check.lua" "$P" "$P/share/enigma/schema" "$P/share/lua/5.4" "$migrations" \
        >"$work/out" 2>&1 || {
        cat "$work/out" >&2
        fail "lua5.4 with the module from $P"
    }
    cat "$work/out"
    ;;

rock)
    command -v luarocks >/dev/null 2>&1 || fail "luarocks is not installed (tools/bootstrap.sh installs it)"
    T=$work/tree
    rockspec=$(cd "$src" && ls enigma-*.rockspec)
    # LuaRocks builds in the directory it runs in (build.luarocks/): a copy,
    # so the source tree stays clean; removed once built, so that nothing
    # can fall back on it.
    copy=$work/src
    mkdir "$copy"
    (cd "$src" && cp -R "$rockspec" CMakeLists.txt core bindings host lua schema scripts examples docs "$copy/")
    (cd "$copy" && env -i PATH=/usr/bin:/bin HOME="$work/user" CMAKE_BUILD_PARALLEL_LEVEL=2 \
        luarocks --lua-version=5.4 make --tree="$T" "$rockspec") >"$work/rock.log" 2>&1 || {
        cat "$work/rock.log" >&2
        fail "luarocks make $rockspec --tree=$T"
    }
    rm -rf "$copy"
    enigma=$T/bin/enigma
    [ -x "$enigma" ] || fail "the rock installed no bin/enigma"
    exports "$T/lib/lua/5.4/enigma.so"
    eval "$(env -i PATH=/usr/bin:/bin HOME="$work/user" luarocks --lua-version=5.4 --tree="$T" path)"
    schema=$(find "$T/lib/luarocks" -type d -path '*/share/enigma/schema')
    [ -n "$schema" ] || fail "the rock installed no share/enigma/schema"

    db "$T/bin" start >"$work/out" 2>&1 || {
        cat "$work/out" >&2
        fail "enigma db start (the rock's)"
    }
    hidden "$T/bin" enigma migrate >"$work/out" 2>&1 || {
        cat "$work/out" >&2
        fail "enigma migrate (the rock's)"
    }
    hidden "$T/bin" LUA_PATH="$LUA_PATH" LUA_CPATH="$LUA_CPATH" \
        lua5.4 "$work/check.lua" "$T" "$schema" "$T/share/lua/5.4" "$migrations" >"$work/out" 2>&1 || {
        cat "$work/out" >&2
        fail "lua5.4 with the module from the rock in $T"
    }
    cat "$work/out"
    hidden "$T/bin" LUA_PATH="$LUA_PATH" LUA_CPATH="$LUA_CPATH" \
        lua5.4 -e 'local e = require "enigma"; print(e.version, e.decimal("0.1") + "0.2")' >"$work/out" 2>&1 ||
        fail "lua5.4 -e 'require \"enigma\"' through luarocks path"
    expect "$work/out" '^0\.1\.0	0\.3$' "require \"enigma\" through luarocks path"
    say "luarocks make $rockspec: ok in $T"
    ;;
*) fail "unknown mode $mode" ;;
esac
say "ok"
