#!/usr/bin/env bash
# Three environments for bench/run.py: bce as users install it (with and without the arrow
# extra) and the anchors, the scripts users would otherwise write (numpy, pandas, pyarrow,
# polars, and the PyTorch 2.13 CPU build that pip takes from this machine's disk).
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/.venvs
for name in default arrow anchors; do
  [[ -x bench/.venvs/$name/bin/python ]] || python3 -m venv "bench/.venvs/$name"
done
bench/.venvs/default/bin/pip install --quiet --force-reinstall --no-deps . && bench/.venvs/default/bin/pip install --quiet .
bench/.venvs/arrow/bin/pip install --quiet --force-reinstall --no-deps . && bench/.venvs/arrow/bin/pip install --quiet ".[arrow]"
bench/.venvs/anchors/bin/pip install --quiet numpy pandas pyarrow polars "torch==2.13.0"
