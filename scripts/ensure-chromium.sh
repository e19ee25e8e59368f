#!/usr/bin/env bash
# Make sure a headless-capable Chromium (Debian's `chromium` package) is installed, for
# tests/test_browser.py.
#
# Idempotent: when chromium is already installed it only says so. Otherwise it installs it with
# apt-get (as root, or through passwordless sudo). Exits non-zero with a reason when Chromium is
# absent and cannot be installed.
set -euo pipefail

find_chromium() {
    local name
    for name in chromium chromium-browser; do
        command -v "$name" 2>/dev/null && return 0
    done
    return 0
}
version() { "$1" --version 2>/dev/null | head -n1 || echo "version unknown"; }
fail() { echo "ensure-chromium: $*" >&2; exit 1; }

found="$(find_chromium)"
if [ -n "$found" ]; then
    echo "ensure-chromium: chromium already installed: $found ($(version "$found"))"
    exit 0
fi
command -v apt-get >/dev/null 2>&1 \
    || fail "chromium is not installed and apt-get is not available: install chromium by hand"
run=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null \
        || fail "chromium is not installed and installing it needs root or passwordless sudo"
    run=(sudo -n)
fi

echo "ensure-chromium: chromium not found; installing Debian's chromium with apt-get"
# One apt-get at a time: the test suite may run this script and its sibling in parallel.
exec 9>"${TMPDIR:-/tmp}/hashstore-ensure-apt.lock"
command -v flock >/dev/null 2>&1 && flock 9
found="$(find_chromium)"
if [ -n "$found" ]; then
    echo "ensure-chromium: installed meanwhile by another process: $found"
    exit 0
fi
apt=(env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
status=0
"${run[@]}" "${apt[@]}" update -qq || status=$?
if [ "$status" -eq 0 ]; then
    "${run[@]}" "${apt[@]}" install -y -qq --no-install-recommends chromium >/dev/null || status=$?
fi

found="$(find_chromium)"
[ "$status" -eq 0 ] && [ -n "$found" ] \
    || fail "apt-get could not install chromium (exit $status): see its output above, or install chromium by hand"
echo "ensure-chromium: installed $found ($(version "$found"))"
