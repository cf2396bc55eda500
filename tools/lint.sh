#!/bin/sh
# make lint: every C source against .clang-format, every Lua file against .luacheckrc.
# Prints what is wrong (the diff clang-format would apply, luacheck's findings one a
# line) and exits 1 if anything is; both checks always run.
# make format (tools/lint.sh --format): applies clang-format to the C sources in place.
set -eu
cd "$(dirname "$0")/.."

# One major version: each formats a little differently (make lint installs it).
CLANG_FORMAT=${CLANG_FORMAT:-clang-format-22}
command -v "$CLANG_FORMAT" >/dev/null || { echo "lint: $CLANG_FORMAT is missing (make lint installs it)" >&2; exit 1; }
command -v luacheck >/dev/null || { echo "lint: luacheck is missing (make lint installs it)" >&2; exit 1; }

c_sources() {
    find core bindings host spec/c spec/bench spec/fuzz -type f \( -name '*.c' -o -name '*.h' \) | sort
}

if [ "${1:-}" = "--format" ]; then
    c_sources | xargs "$CLANG_FORMAT" -i --style=file
    echo "format: $(c_sources | wc -l) C files formatted with $CLANG_FORMAT"
    exit 0
fi

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
status=0

files=0 unformatted=0 lines=0
for f in $(c_sources); do
    files=$((files + 1))
    "$CLANG_FORMAT" --style=file "$f" >"$tmp"
    if ! diff -u --label "$f" --label "$f (clang-format)" "$f" "$tmp"; then
        unformatted=$((unformatted + 1))
        lines=$((lines + $(diff "$f" "$tmp" | grep -c '^<' || true)))
    fi
done
if [ "$unformatted" -gt 0 ]; then
    echo "lint: clang-format would change $lines lines in $unformatted of $files C files (make format applies it)"
    status=1
else
    echo "lint: $files C files as clang-format has them"
fi

if luacheck --formatter plain --codes --no-color . >"$tmp" 2>&1; then
    echo "lint: luacheck found nothing in the Lua files"
else
    cat "$tmp"
    echo "lint: luacheck found $(grep -c '' "$tmp") problems (.luacheckrc)"
    status=1
fi

exit $status
