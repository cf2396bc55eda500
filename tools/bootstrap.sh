#!/bin/sh
# Installs the Debian 12 packages enigma builds and tests with, and only those
# that are missing: a second run prints nothing and takes a fraction of a second.
set -eu

packages="
  build-essential cmake pkg-config
  liblua5.4-dev lua5.4 lua-cjson lua-busted
  libpq-dev postgresql-15 postgresql-client-15
  libsodium-dev libsecp256k1-dev nettle-dev libgmp-dev libuv1-dev libreadline-dev
  libjansson-dev tzdata tmux
  chromium netpbm
  valgrind
  luarocks
"
# luarocks is for the install test, which builds the rockspec with `luarocks make`.
# Extra packages some targets need: make lint and make format (lua-check, and
# clang-format-22, which Debian 12 ships in bookworm-security: a machine whose
# apt sources lack it can still build, test and run), make fuzz (clang and libFuzzer).
packages="$packages ${ENIGMA_EXTRA_PACKAGES:-}"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' \
        || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

echo "bootstrap: installing$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "bootstrap: these packages are missing and I am not root:$missing" >&2
    echo "bootstrap: install them with apt-get as root, then run make again" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >/dev/null
