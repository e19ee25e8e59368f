#!/usr/bin/env bash
# Make sure a program the tests or the demo need is installed from Debian's packages.
#
#   bash scripts/ensure-debian.sh nginx|chromium|radosgw|npm
#
# nginx: the rolling-deploy simulation and its test; chromium: tests/test_browser.py; radosgw:
# Ceph's S3 server (with a monitor and an OSD) for `make test-rgw`; npm (with Node.js): the
# pinned npm packages and the Vite and webpack fixture projects the tests build.
#
# Idempotent: when the programs are already installed it only says so. Otherwise it installs the
# packages with apt-get (as root, or through passwordless sudo) without starting any system
# service: the tests run their own daemons on 127.0.0.1 in private directories. Exits non-zero
# with a reason when a program is absent and cannot be installed.
set -euo pipefail

what="${1:-}"
case "$what" in
    nginx)    packages=(nginx);    programs=(nginx) ;;
    chromium) packages=(chromium); programs=("chromium|chromium-browser") ;;
    radosgw)  packages=(radosgw ceph-mon ceph-osd ceph-common)
              programs=(radosgw radosgw-admin ceph-mon ceph-osd ceph monmaptool) ;;
    npm)      packages=(nodejs npm); programs=(npm node) ;;
    *) echo "usage: $0 nginx|chromium|radosgw|npm" >&2; exit 2 ;;
esac
me="ensure-$what"
fail() { echo "$me: $*" >&2; exit 1; }

# The path of one program (alternatives separated by |), or nothing.
find_program() {
    local name
    for name in ${1//|/ }; do
        command -v "$name" 2>/dev/null && return 0
        for dir in /usr/sbin /usr/bin; do
            [ -x "$dir/$name" ] && { echo "$dir/$name"; return 0; }
        done
    done
    return 0
}
# The programs still missing, space-separated.
missing() {
    local program out=()
    for program in "${programs[@]}"; do
        [ -n "$(find_program "$program")" ] || out+=("$program")
    done
    echo "${out[*]:-}"
}
version() {
    case "$what" in
        nginx) "$1" -v 2>&1 | sed 's/^nginx version: //' ;;
        chromium) "$1" --version 2>/dev/null | head -n1 || echo "version unknown" ;;
        radosgw) "$(find_program ceph)" --version 2>/dev/null | head -n1 || echo "version unknown" ;;
        npm) echo "npm $("$1" --version 2>/dev/null), node $("$(find_program node)" --version 2>/dev/null)" ;;
    esac
}
found() { find_program "${programs[0]}"; }

absent="$(missing)"
if [ -z "$absent" ]; then
    echo "$me: $what already installed: $(found) ($(version "$(found)"))"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 \
    || fail "$absent not installed and apt-get is not available: install ${packages[*]} by hand"
run=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null \
        || fail "$absent not installed and installing ${packages[*]} needs root or passwordless sudo"
    run=(sudo -n)
fi

echo "$me: $absent not found; installing Debian's ${packages[*]} with apt-get"
# One apt-get at a time: the test suite may run this script for several programs in parallel.
exec 9>"${TMPDIR:-/tmp}/hashstore-ensure-apt.lock"
command -v flock >/dev/null 2>&1 && flock 9
if [ -z "$(missing)" ]; then
    echo "$me: installed meanwhile by another process: $(found)"
    exit 0
fi
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
# A policy-rc.d that answers 101 keeps the packages from starting system services (nginx on
# port 80, Ceph daemons).
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    "${run[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    own_policy=1
fi
status=0
"${run[@]}" "${apt[@]}" update -qq || status=$?
if [ "$status" -eq 0 ]; then
    "${run[@]}" "${apt[@]}" install -y -qq --no-install-recommends "${packages[@]}" >/dev/null \
        || status=$?
fi
[ -n "$own_policy" ] && "${run[@]}" rm -f "$policy"

absent="$(missing)"
[ "$status" -eq 0 ] && [ -z "$absent" ] \
    || fail "apt-get could not install ${packages[*]} (exit $status; still missing: ${absent:-none}): see its output above, or install them by hand"
echo "$me: installed $(found) ($(version "$(found)"))"
