#!/usr/bin/env bash
# Headless Chromium for the tests that open a report in a real browser.
#
#   .ci/chromium.sh   print the path of Debian's chromium on the last line of stdout,
#                     installing it with apt-get first when it is missing
#
# Playwright drives this browser through `executable_path`; it never downloads its own. Two
# test workers may call this at once: the second apt-get waits for the first one's lock.
set -euo pipefail

log() { echo "chromium.sh: $*" >&2; }

find_chromium() {
    local name
    for name in chromium chromium-browser; do
        if command -v "$name" >/dev/null 2>&1; then
            readlink -f "$(command -v "$name")"
            return 0
        fi
    done
    return 1
}

if path=$(find_chromium); then
    echo "$path"
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    log "Chromium is not installed and installing it needs root: apt-get install chromium"
    exit 1
fi
log "installing chromium with apt-get"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >&2
path=$(find_chromium) || { log "chromium installed but not found on PATH"; exit 1; }
echo "$path"
