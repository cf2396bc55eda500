#!/bin/sh
# The README's promise, checked on a machine that has nothing: a minimal Debian 12
# (debootstrap --variant=minbase bookworm) plus only git, make and ca-certificates, where
# root clones this repository into /root/enigma (mode 0700, as on Debian) and runs
# `make test`, then `make run` until it reaches `enigma serve`.
#
#   sudo tools/fresh-debian.sh [DIR]      (or: make fresh-check)
#
# DIR (default /var/tmp/enigma-fresh) holds the chroot; it is made anew on every run.
# What is cloned is this repository's HEAD: commit first. Needs root, debootstrap (installed
# when missing) and Debian's archive; takes a while (it installs PostgreSQL, Chromium and
# the build tools inside). Not run by CI. Prints PASS or FAIL per step and exits non-zero on
# a failure; the logs stay in DIR/root/*.log.
set -eu

dir=$(realpath -m "${1:-/var/tmp/enigma-fresh}")
mirror=${ENIGMA_DEBIAN_MIRROR:-http://deb.debian.org/debian}
repo=$(cd "$(dirname "$0")/.." && pwd)

if [ "$(id -u)" -ne 0 ]; then
    echo "fresh-debian: must run as root (debootstrap and chroot need it)" >&2
    exit 2
fi
command -v debootstrap >/dev/null 2>&1 || {
    echo "fresh-debian: installing debootstrap" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
}

# Sends signal $1 to the processes running inside the chroot whose command line matches $2.
signal_inside() {
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$dir" ] || continue
        tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q -- "$2" && kill "-$1" "${p#/proc/}" 2>/dev/null
    done
    return 0
}

mounted=""
cleanup() {
    signal_inside KILL . # the embedded cluster and anything else still running inside
    for m in $mounted; do umount -l "$dir/$m" 2>/dev/null || true; done
}
trap cleanup EXIT INT TERM

step() {
    name=$1
    shift
    start=$(date +%s)
    if "$@"; then
        echo "fresh-debian: PASS $name ($(($(date +%s) - start)) s)"
    else
        echo "fresh-debian: FAIL $name ($(($(date +%s) - start)) s); see the log above or in $dir/root/" >&2
        exit 1
    fi
}

# Unmounts whatever an earlier, interrupted run left mounted under the chroot, so that
# removing it can never reach the host's /dev or /proc; rm stays on one file system too.
unmount_leftovers() {
    awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m"; done
}

make_chroot() {
    unmount_leftovers
    rm -rf --one-file-system "$dir"
    debootstrap --variant=minbase --include=git,make,ca-certificates bookworm "$dir" "$mirror" \
        >"$dir.debootstrap.log" 2>&1 || { tail -20 "$dir.debootstrap.log" >&2; return 1; }
    cp /etc/resolv.conf "$dir/etc/resolv.conf"
    chmod 0700 "$dir/root"
    # The chroot's / is a mount point, as a machine's is: `unshare -m` (the install test)
    # makes / private, which fails on a directory that is not one.
    mount --bind "$dir" "$dir" && mounted=". $mounted"
    for m in proc sys dev dev/pts dev/shm; do
        mkdir -p "$dir/$m"
    done
    mount -t proc proc "$dir/proc" && mounted="proc $mounted"
    mount -t sysfs sys "$dir/sys" && mounted="sys $mounted"
    mount --bind /dev "$dir/dev" && mounted="dev $mounted"
    mount -t devpts devpts "$dir/dev/pts" && mounted="dev/pts $mounted"
    mount -t tmpfs shm "$dir/dev/shm" && mounted="dev/shm $mounted"
}

clone() {
    git clone -q --no-local "$repo" "$dir/root/enigma"
}

in_chroot() {
    chroot "$dir" /usr/bin/env -i HOME=/root TERM=dumb LANG=C.UTF-8 \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/sh -c "cd /root/enigma && $1"
}

make_test() {
    in_chroot "make test" >"$dir/root/make-test.log" 2>&1 || {
        tail -40 "$dir/root/make-test.log" >&2
        return 1
    }
    grep -E 'tests passed' "$dir/root/make-test.log"
}

# make run ends in `enigma serve`, which runs until Ctrl-C: it passes when serve logs that it
# has loaded the jobs, then gets SIGINT.
make_run() {
    log="$dir/root/make-run.log"
    in_chroot "timeout --signal=INT --kill-after=30 300 make run" >"$log" 2>&1 &
    pid=$!
    i=0
    while ! grep -q 'job(s) from' "$log" 2>/dev/null; do
        if ! kill -0 "$pid" 2>/dev/null || [ $i -ge 900 ]; then
            tail -40 "$log" >&2
            return 1
        fi
        sleep 1
        i=$((i + 1))
    done
    sleep 3
    signal_inside INT 'enigma serve'
    wait "$pid" || true
    grep -E 'job\(s\) from|strateg(y|ies) from' "$log"
}

step "debootstrap --variant=minbase bookworm + git make ca-certificates" make_chroot
step "git clone into /root/enigma (0700)" clone
step "make test" make_test
step "make run reaches enigma serve" make_run
