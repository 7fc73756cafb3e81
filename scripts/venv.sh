#!/usr/bin/env bash
# Create (or reuse) .venv at the repository root and install requirements.txt + adlab (editable).
# Re-installs only when requirements.txt or pyproject.toml changed since the last install.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
    echo "[adlab] creating .venv with $("$PY" --version)"
    "$PY" -m venv .venv
fi
STAMP=.venv/.adlab-installed
WANT="$(cat requirements.txt pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    echo "[adlab] installing requirements into .venv (first time: several minutes, torch is large)"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r requirements.txt
    .venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e .
    echo "$WANT" > "$STAMP"
fi
