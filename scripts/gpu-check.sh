#!/usr/bin/env bash
# Prove mmnet on this machine's GPU: parity with the CPU, training and resume, the data path on the
# device, throughput, a CASME II-size LOSO (extrapolated to the paper's 74 epochs), Ray, torch.compile.
# Writes gpu-check/gpu-check.json and gpu-check/gpu-check.md (at most 8 minutes: --budget 480) and prints the table.
#
#   bash scripts/gpu-check.sh                          the full check, into gpu-check/
#   bash scripts/gpu-check.sh --quick                  every section at tiny sizes (a smoke test, ~1 min)
#   bash scripts/gpu-check.sh --out DIR --budget 600   other arguments go to benchmarks/gpu_check.py
#   bash scripts/gpu-check.sh --work /tmp/w            synthetic data, caches and runs there (default: OUT/work)
#
# Python: $PYTHON, else ./.venv/bin/python (scripts/bootstrap.sh), else python3. The checkout's src/ is
# put first on PYTHONPATH, so the code checked is this checkout's.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-}
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
export PYTHONPATH="$(pwd)/src${PYTHONPATH:+:$PYTHONPATH}"
has_out=0
for a in "$@"; do case "$a" in --out|--out=*) has_out=1 ;; esac; done
if [ "$has_out" = 0 ]; then set -- --out gpu-check "$@"; fi
if ! "$PY" -c "import torch, numpy, PIL, yaml, openpyxl, pandas, safetensors, matplotlib, mmnet" 2>/dev/null; then
  echo "gpu-check: $PY cannot import mmnet's dependencies; install them first, e.g. '$PY -m pip install -e .'" \
       "(keeping the CUDA build of torch that is installed), or point PYTHON at an environment that has them." >&2
  "$PY" -c "import torch, numpy, PIL, yaml, openpyxl, pandas, safetensors, matplotlib, mmnet" || true
  exit 2
fi
exec "$PY" benchmarks/gpu_check.py "$@"
