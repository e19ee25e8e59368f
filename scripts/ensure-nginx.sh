#!/usr/bin/env bash
# Make sure nginx (Debian's package) is installed: see ensure-debian.sh.
exec bash "$(dirname "$0")/ensure-debian.sh" nginx
