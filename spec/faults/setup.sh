#!/bin/sh
# Fault injection on set-up: `enigma db start` and `enigma migrate` killed
# with SIGKILL at a random moment, then run again; afterwards the database
# must be complete and working. Also two `db start` racing on a fresh home.
#
#   ENIGMA_BIN=build/enigma FAULT_TRIALS=50 FAULT_DIR=build/faults sh spec/faults/setup.sh
#
# Only the enigma process is killed: an initdb, pg_ctl or server it started
# lives on as an orphan, which is the hard case. Each trial's homes are under
# FAULT_DIR/setup and their servers are stopped at the end. Prints one line
# per kind of trial with its counts; exits 1 when any trial failed.
set -u
BIN=$(realpath "${ENIGMA_BIN:-build/enigma}")
TRIALS=${FAULT_TRIALS:-50}
ROOT=$(realpath -m "${FAULT_DIR:-build/faults}")/setup
SCHEMA=$(cd "$(dirname "$0")/../../schema" && pwd)
unset ENIGMA_DATABASE_URL DATABASE_URL PGHOST PGDATABASE PGPORT PGHOSTADDR
export ENIGMA_SCHEMA_DIR="$SCHEMA"
MIGRATIONS=$(ls "$SCHEMA" | grep -c '^[0-9][0-9][0-9]*_.*\.sql$')
FAILED=0
HOMES=""

for h in "$ROOT"/*/; do   # servers a run that was interrupted left behind
    [ -d "$h/data" ] && ENIGMA_HOME=$h "$BIN" db stop >/dev/null 2>&1
done
rm -rf "$ROOT"
mkdir -p "$ROOT"

# random_ms MAX: a random whole number of milliseconds in [0, MAX)
random_ms() {
    echo $(( $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % $1 ))
}

ms_sleep() {
    sleep "$(printf '%d.%03d' $(( $1 / 1000 )) $(( $1 % 1000 )))"
}

fail() {
    echo "FAIL $*" >&2
    FAILED=$(( FAILED + 1 ))
}

# check HOME LABEL: the database is complete (every migration recorded and
# none pending) and answers a query; initdb never ran twice at once there.
check() {
    h=$1 label=$2
    got=$(ENIGMA_HOME=$h "$BIN" db psql -Atc 'select count(*) from schema_migrations' 2>&1)
    if [ "$got" != "$MIGRATIONS" ]; then
        fail "$label: $got migrations recorded, $MIGRATIONS expected"
        return
    fi
    if ENIGMA_HOME=$h "$BIN" migrate --status 2>&1 | grep -qv applied; then
        fail "$label: migrate --status: $(ENIGMA_HOME=$h "$BIN" migrate --status 2>&1 | grep -v applied)"
        return
    fi
    got=$(ENIGMA_HOME=$h "$BIN" db psql -Atc 'select count(*) >= 0 from users' 2>&1)
    [ "$got" = t ] || fail "$label: a query failed: $got"
    if grep -E 'initdb: error|FATAL|PANIC' "$h/log/initdb.log" >/dev/null 2>&1; then
        fail "$label: initdb.log: $(grep -E 'initdb: error|FATAL|PANIC' "$h/log/initdb.log" | head -3)"
    fi
}

# run_again HOME LABEL CMD...: the command run again must succeed
run_again() {
    h=$1 label=$2
    shift 2
    if ! out=$(ENIGMA_HOME=$h "$BIN" "$@" 2>&1); then
        fail "$label: enigma $* after the kill: $out"
        return 1
    fi
}

# trial HOME LABEL MAX_MS CMD...: start CMD, SIGKILL it after a random delay,
# then recover with `db start` and `migrate`, and check
trial() {
    [ -z "${FAULT_VERBOSE:-}" ] || echo "$(date +%T.%N | cut -c1-12) $2" >&2
    h=$1 label=$2 max=$3
    shift 3
    ENIGMA_HOME=$h "$BIN" "$@" >/dev/null 2>&1 &
    pid=$!
    ms_sleep "$(random_ms "$max")"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    run_again "$h" "$label" "$@" || return
    run_again "$h" "$label" db start || return
    run_again "$h" "$label" migrate || return
    check "$h" "$label"
}

stop_all() {
    for h in $HOMES; do
        ENIGMA_HOME=$h "$BIN" db stop >/dev/null 2>&1
    done
}
trap stop_all EXIT

# db start: on a fresh home (the kill lands in initdb or the first start) for
# even trials, on a stopped complete one for odd trials
start_failed=$FAILED
i=0
while [ $i -lt "$TRIALS" ]; do
    h=$ROOT/start-$i
    HOMES="$HOMES $h"
    if [ $(( i % 2 )) = 1 ]; then
        ENIGMA_HOME=$h "$BIN" db start >/dev/null 2>&1 && ENIGMA_HOME=$h "$BIN" migrate >/dev/null 2>&1 &&
            ENIGMA_HOME=$h "$BIN" db stop >/dev/null 2>&1 || fail "start $i: preparing"
    fi
    trial "$h" "start $i" 1500 db start
    ENIGMA_HOME=$h "$BIN" db stop >/dev/null 2>&1
    i=$(( i + 1 ))
done
echo "faults/setup: db start killed -9 at random: $TRIALS trials, $(( FAILED - start_failed )) failed"

# migrate: each trial on a database of its own (fresh home every 5th trial, so
# the kill may land in the start or initdb that migrate does first)
migrate_failed=$FAILED
h=""
i=0
while [ $i -lt "$TRIALS" ]; do
    if [ $(( i % 5 )) = 0 ]; then
        [ -z "$h" ] || ENIGMA_HOME=$h "$BIN" db stop >/dev/null 2>&1
        h=$ROOT/migrate-$i
        HOMES="$HOMES $h"
        trial "$h" "migrate $i" 2000 migrate
    else
        url=$(ENIGMA_HOME=$h "$BIN" db url | sed 's|:///enigma?|:///postgres?|')
        psql -q "$url" -c 'drop database enigma with (force)' -c 'create database enigma' \
            >/dev/null 2>&1 || fail "migrate $i: a fresh database"
        trial "$h" "migrate $i" 250 migrate
    fi
    i=$(( i + 1 ))
done
ENIGMA_HOME=$h "$BIN" db stop >/dev/null 2>&1
echo "faults/setup: migrate killed -9 at random: $TRIALS trials, $(( FAILED - migrate_failed )) failed"

# two db start racing on a fresh home: both succeed, one initdb ran
race_failed=$FAILED
i=0
while [ $i -lt $(( TRIALS < 5 ? TRIALS : 5 )) ]; do
    h=$ROOT/race-$i
    HOMES="$HOMES $h"
    ENIGMA_HOME=$h "$BIN" db start >"$ROOT/race-$i.a" 2>&1 &
    a=$!
    ENIGMA_HOME=$h "$BIN" db start >"$ROOT/race-$i.b" 2>&1 &
    b=$!
    wait $a || fail "race $i: the first db start failed: $(cat "$ROOT/race-$i.a")"
    wait $b || fail "race $i: the second db start failed: $(cat "$ROOT/race-$i.b")"
    n=$(cat "$ROOT/race-$i.a" "$ROOT/race-$i.b" | grep -c 'creating a new database cluster')
    [ "$n" = 1 ] || fail "race $i: $n processes said they create the cluster"
    n=$(grep -c '^Success' "$h/log/initdb.log")
    [ "$n" = 1 ] || fail "race $i: initdb ran $n times"
    run_again "$h" "race $i" migrate && check "$h" "race $i"
    ENIGMA_HOME=$h "$BIN" db stop >/dev/null 2>&1
    i=$(( i + 1 ))
done
echo "faults/setup: two db start racing on a fresh home: $i trials, $(( FAILED - race_failed )) failed"

[ "$FAILED" = 0 ] || { echo "faults/setup: $FAILED failed"; exit 1; }
