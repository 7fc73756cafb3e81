#!/usr/bin/env bash
# Set up .venv if needed, then run every test (unit, AppTest per page, browser test).
# The browser test needs Debian's chromium at /usr/bin/chromium and a CJK font (fonts-noto-cjk) for the
# Korean pages; as root with apt-get, this script installs them when they are missing, otherwise that test is skipped with the reason.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/venv.sh"
if { [ ! -x /usr/bin/chromium ] || ! fc-list :lang=ko family 2>/dev/null | grep -q .; } \
        && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "[adlab] installing chromium and fonts-noto-cjk (Korean glyphs) from Debian's packages for the browser test"
    PKGS="chromium fonts-noto-cjk fontconfig"
    (apt-get install -y -qq $PKGS >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq $PKGS)) \
        || echo "[adlab] could not install chromium / fonts-noto-cjk; the browser test will be skipped or draw boxes for Hangul"
fi
cd "$ROOT"
exec .venv/bin/python -m pytest "$@"
