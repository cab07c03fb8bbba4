#!/usr/bin/env bash
# The README's test command: the whole suite, CPU only, offline.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${GHPO_VENV:-.venv}
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
exec "$VENV/bin/python" -m pytest -q "$@"
