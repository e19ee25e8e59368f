#!/usr/bin/env bash
# Make sure nginx (Debian's package) is installed, for the rolling-deploy simulation and its test.
#
# Idempotent: when nginx is already installed it only says so. Otherwise it installs it with
# apt-get (as root, or through passwordless sudo) without starting the system service: the
# simulation runs its own nginx on 127.0.0.1 with a private prefix. Exits non-zero with a
# reason when nginx is absent and cannot be installed.
set -euo pipefail

find_nginx() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true
}
version() { "$1" -v 2>&1 | sed 's/^nginx version: //'; }
fail() { echo "ensure-nginx: $*" >&2; exit 1; }

found="$(find_nginx)"
if [ -n "$found" ]; then
    echo "ensure-nginx: nginx already installed: $found ($(version "$found"))"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 \
    || fail "nginx is not installed and apt-get is not available: install nginx by hand"
run=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null \
        || fail "nginx is not installed and installing it needs root or passwordless sudo"
    run=(sudo -n)
fi

echo "ensure-nginx: nginx not found; installing Debian's nginx with apt-get"
# One apt-get at a time: the test suite may run this script and its sibling in parallel.
exec 9>"${TMPDIR:-/tmp}/hashstore-ensure-apt.lock"
command -v flock >/dev/null 2>&1 && flock 9
found="$(find_nginx)"
if [ -n "$found" ]; then
    echo "ensure-nginx: installed meanwhile by another process: $found"
    exit 0
fi
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
# A policy-rc.d that answers 101 keeps the package from starting a system nginx on port 80.
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
    "${run[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $policy && chmod 755 $policy"
    own_policy=1
fi
status=0
"${run[@]}" "${apt[@]}" update -qq || status=$?
if [ "$status" -eq 0 ]; then
    "${run[@]}" "${apt[@]}" install -y -qq --no-install-recommends nginx >/dev/null || status=$?
fi
[ -n "$own_policy" ] && "${run[@]}" rm -f "$policy"

found="$(find_nginx)"
[ "$status" -eq 0 ] && [ -n "$found" ] \
    || fail "apt-get could not install nginx (exit $status): see its output above, or install nginx by hand"
echo "ensure-nginx: installed $found ($(version "$found"))"
