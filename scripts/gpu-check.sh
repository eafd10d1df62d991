#!/usr/bin/env bash
# Prove mmnet on this machine's GPU: parity with the CPU, training and resume, the data path on the
# device, throughput, a CASME II-size LOSO (extrapolated to the paper's 74 epochs), Ray, torch.compile.
# Writes gpu-check/gpu-check.json and gpu-check/gpu-check.md (within 8 minutes: --budget 450 from the start) and
# prints the table. It needs CUDA unless --quick or --device cpu is given.
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
# What the check imports (the LOSO reads the synthetic CASME II's .xlsx and writes the report): each missing
# module named with the package that provides it; docs/performance.md "The GPU check" installs them offline.
missing=$("$PY" - <<'PYEOF'
import importlib.util
needed = {"torch": "torch", "numpy": "numpy", "PIL": "pillow", "yaml": "pyyaml", "openpyxl": "openpyxl",
          "et_xmlfile": "et-xmlfile", "pandas": "pandas", "dateutil": "python-dateutil", "matplotlib": "matplotlib",
          "safetensors": "safetensors", "tqdm": "tqdm", "filelock": "filelock"}
print(" ".join(f"{m}({d})" for m, d in needed.items() if importlib.util.find_spec(m) is None))
PYEOF
) || missing="(python failed: $PY)"
if [ -n "$missing" ]; then
  echo "gpu-check: $PY lacks these modules (package in brackets): $missing." >&2
  echo "  With internet: $PY -m pip install -e . (keeping the CUDA build of torch that is installed)." >&2
  echo "  Without (a lent GPU machine): download the wheels elsewhere, install them with 'pip install --no-index" \
       "--target DIR' and put DIR on PYTHONPATH: the steps are in docs/performance.md, \"The GPU check\"." >&2
  exit 2
fi
if ! "$PY" -c "import torch, numpy, PIL, yaml, openpyxl, pandas, matplotlib, safetensors, mmnet"; then
  echo "gpu-check: $PY has every module the check needs, but importing them failed (the error is above)." >&2
  exit 2
fi
exec "$PY" benchmarks/gpu_check.py "$@"
