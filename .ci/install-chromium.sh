#!/bin/sh
# Headless Chromium for tests/tracking/test_tracking_browser.py (Debian package, ~16 s).
# The browser test fails when CI=true and chromium is missing, so CI runs this first.
set -eu
if command -v chromium >/dev/null 2>&1; then
    chromium --version
    exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends chromium
chromium --version
