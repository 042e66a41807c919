#!/usr/bin/env bash
# Three environments for bench/run.py: bce as users install it (with and without the arrow
# extra) and the peers, the one-liners users would otherwise write (numpy, pandas, pyarrow,
# polars, DuckDB, and scikit-learn for --metrics). Needs GNU time (apt: time) and pip's index.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bench/.venvs
for name in default arrow peers; do
  [[ -x bench/.venvs/$name/bin/python ]] || python3 -m venv "bench/.venvs/$name"
done
bench/.venvs/peers/bin/pip download --quiet --no-deps --dest "$(mktemp -d)" duckdb \
  || { echo "setup.sh: pip cannot reach its index (tried duckdb)" >&2; exit 1; }
bench/.venvs/default/bin/pip install --quiet --force-reinstall --no-deps . && bench/.venvs/default/bin/pip install --quiet .
bench/.venvs/arrow/bin/pip install --quiet --force-reinstall --no-deps . && bench/.venvs/arrow/bin/pip install --quiet ".[arrow]"
bench/.venvs/peers/bin/pip install --quiet numpy pandas pyarrow polars duckdb scikit-learn
[[ -x /usr/bin/time ]] || echo "setup.sh: GNU time is missing (apt-get install time)" >&2
