#!/usr/bin/env bash
# Set up .venv if needed, then run every test (unit, AppTest per page, browser test).
# The browser test needs Debian's chromium at /usr/bin/chromium; as root with apt-get, this script
# installs it when it is missing, otherwise that test is skipped with the reason.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/venv.sh"
if [ ! -x /usr/bin/chromium ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[adlab] installing chromium from Debian's packages for the browser test"
    (apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium)) \
        || echo "[adlab] could not install chromium; the browser test will be skipped"
fi
cd "$ROOT"
exec .venv/bin/python -m pytest "$@"
