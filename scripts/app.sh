#!/usr/bin/env bash
# Set up .venv if needed, then run the app on its built-in data: http://localhost:8501
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/venv.sh"
cd "$ROOT"
exec .venv/bin/python -m streamlit run app.py "$@"
