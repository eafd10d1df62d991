#!/usr/bin/env bash
# Create ./.venv (once) and install mmnet with its test extras into it.
# torch is pinned to the 2.13 CPU build first: asking pip for plain "torch" on a machine
# without it would pull a multi-GB CUDA build; the package itself only needs torch>=2.1.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${MMNET_EXTRAS:-dev,face,onnx,video,ray,serve}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
.venv/bin/python -c "import torch" 2>/dev/null || .venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[${EXTRAS}]"
