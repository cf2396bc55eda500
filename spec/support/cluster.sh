#!/bin/sh
# ctest fixture: the embedded cluster the tests share (ENIGMA_HOME=build/test-home).
set -eu
case "$1" in
start)
    "$ENIGMA_BIN" db start
    "$ENIGMA_BIN" migrate
    "$ENIGMA_BIN" run "$ENIGMA_SOURCE_DIR/scripts/demo/load.lua"
    ;;
stop)
    "$ENIGMA_BIN" db stop
    ;;
esac
