#!/usr/bin/env bash
# Create ./.venv (once) and install mmnet into it, with the extras in MMNET_EXTRAS.
# torch is pinned to 2.13, the CPU build first: asking PyPI for plain "torch" on a Linux machine
# without it would pull a multi-GB CUDA build; the package itself only needs torch>=2.5.
#
#   bash scripts/bootstrap.sh                        everything: the test suite needs every extra
#   MMNET_EXTRAS=core bash scripts/bootstrap.sh      the core only (train, demo, report, predict on frames)
#   MMNET_EXTRAS=face,video bash scripts/bootstrap.sh   the core and the named extras
#   MMNET_BOOTSTRAP_DRY_RUN=1 bash scripts/bootstrap.sh  say what would be installed, install nothing
#   MMNET_TORCH_INDEX=https://download.pytorch.org/whl/cuXYZ bash scripts/bootstrap.sh   a CUDA build (PyTorch's index)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
EXTRAS=${MMNET_EXTRAS-dev,face,onnx,video,ray,slurm,serve,tensorboard}
[ "$EXTRAS" = "core" ] && EXTRAS=""
DRY=${MMNET_BOOTSTRAP_DRY_RUN:-}

say() { echo "bootstrap: $*"; }
why() {
  case "$1" in
    dev) echo "pytest, ruff: to run the test suite" ;;
    face) echo "OpenCV, dlib, the 68-point landmark model: mmnet prepare, predict/explain --align, optical flow" ;;
    onnx) echo "onnx, onnxruntime, onnxscript: mmnet export" ;;
    video) echo "PyAV: video files as input to predict/explain" ;;
    ray) echo "Ray: train/sweep --executor ray" ;;
    slurm) echo "submitit: train/sweep --executor slurm (SLURM array jobs)" ;;
    serve) echo "FastAPI, uvicorn: mmnet serve (the web page and HTTP API)" ;;
    tensorboard) echo "TensorBoard: event files of a run (train --tensorboard) and the tensorboard viewer" ;;
    xls) echo "xlrd: old .xls annotation workbooks (CAS(ME)^3 part A's long-video table)" ;;
    *) echo "see pyproject.toml" ;;
  esac
}

say "mmnet into $(pwd)/.venv (Python: $PY)"
# On Linux, PyPI's torch is the CUDA build (GBs of NVIDIA libraries): take the CPU build from PyTorch's own
# index when it answers; where it does not (an offline mirror or local wheels set up in pip's config),
# the configured index decides. MMNET_TORCH_INDEX="" skips the CPU index; a CUDA machine may name another.
TORCH_INDEX=${MMNET_TORCH_INDEX-https://download.pytorch.org/whl/cpu}
say "core: torch 2.13 (${TORCH_INDEX:+from $TORCH_INDEX when it answers, else }from pip's index; the largest part), numpy, pillow, pandas, matplotlib, ... (every command's base)"
if [ -n "$EXTRAS" ]; then
  IFS=, read -ra names <<< "$EXTRAS"
  for e in "${names[@]}"; do say "extra $e: $(why "$e")"; done
  say "a lean install: MMNET_EXTRAS=core bash scripts/bootstrap.sh (then add extras as commands need them)"
  TARGET=".[${EXTRAS}]"
else
  say "no extras (MMNET_EXTRAS=core)"
  TARGET="."
fi
if [ -n "$DRY" ]; then
  say "dry run: would install $TARGET; nothing installed"
  exit 0
fi
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true
if ! .venv/bin/python -c "import torch" 2>/dev/null; then
  if [ -n "$TORCH_INDEX" ] && .venv/bin/python -c "import sys, urllib.request as u; u.urlopen(sys.argv[1] + '/torch/', timeout=10)" "$TORCH_INDEX" 2>/dev/null; then
    say "installing torch 2.13.0 from $TORCH_INDEX (a few minutes on a slow connection)"
    if ! .venv/bin/python -m pip install -q "torch==2.13.0" --index-url "$TORCH_INDEX"; then
      # e.g. a proxy or certificate that pip's configuration knows and a plain request does not
      say "that failed; installing torch 2.13.0 from pip's configured index instead"
      .venv/bin/python -m pip install -q "torch==2.13.0"
    fi
  else
    say "installing torch 2.13.0 from pip's configured index${TORCH_INDEX:+ ($TORCH_INDEX does not answer)}"
    .venv/bin/python -m pip install -q "torch==2.13.0"
  fi
fi
say "installing mmnet $TARGET (editable)"
.venv/bin/python -m pip install -q -e "$TARGET"
say "done: .venv/bin/mmnet --help lists the commands; or, in each new terminal, source .venv/bin/activate once and type mmnet"
