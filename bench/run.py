"""Benchmark bce against the scripts users would otherwise write, side by side.

    bash bench/setup.sh            # once: three virtual environments under bench/.venvs
    python3 bench/run.py           # about 5 minutes; --scale adds the 100M-row run

Every command runs as a child of this process, the contenders alternating in
rotating order; the table reports the median wall time and the peak resident
memory (GNU time's %M) over the repeats, and the ratios the targets are stated
in. Nothing here is a test: these machines are shared
and noisy, so the suite checks correctness and this script reports speed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
VENVS = ROOT / "bench" / ".venvs"
DATA = ROOT / "bench" / "data"
CHUNK = 1_000_000
TIME = shutil.which("time", path="/usr/bin:/bin") or "/usr/bin/time"  # GNU time (apt: time)

LOADTXT = """
import sys
import numpy as np
p = np.loadtxt(sys.argv[1]); y = np.loadtxt(sys.argv[2])
print(np.mean(-(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))))
"""
PYARROW = """
import sys
import numpy as np
import pyarrow.csv as pc
opts = pc.ReadOptions(autogenerate_column_names=True)
p = pc.read_csv(sys.argv[1], read_options=opts).column(0).to_numpy()
y = pc.read_csv(sys.argv[2], read_options=opts).column(0).to_numpy().astype(np.float64)
print(np.mean(-(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))))
"""
POLARS = """
import sys
import polars as pl
df = pl.concat([pl.read_csv(sys.argv[1], has_header=False, new_columns=["p"]),
                pl.read_csv(sys.argv[2], has_header=False, new_columns=["y"])], how="horizontal")
p, y = pl.col("p"), pl.col("y")
loss = -(y * p.log().clip(lower_bound=-100) + (1 - y) * (1 - p).log().clip(lower_bound=-100))
print(df.select(loss.mean()).item())
"""
PANDAS_TORCH = """
import sys
import pandas as pd
import torch
p = torch.tensor(pd.read_csv(sys.argv[1], header=None)[0].to_numpy())
y = torch.tensor(pd.read_csv(sys.argv[2], header=None)[0].to_numpy(), dtype=torch.float64)
print(torch.nn.BCELoss()(p, y).item())
"""
TORCH_ONE_LINER = ("import sys, numpy as np, torch; print(torch.nn.BCELoss()(torch.from_numpy("
                   "np.loadtxt(sys.argv[1])), torch.from_numpy(np.loadtxt(sys.argv[2]))).item())")


def python(venv: str) -> str:
    return str(VENVS / venv / "bin" / "python")


def bce(venv: str) -> str:
    return str(VENVS / venv / "bin" / "bce")


# -- data -------------------------------------------------------------------------------


def generate(rows: int, seed: int = 0) -> tuple[Path, Path, Path]:
    """Predictions with 6 decimals, 0/1 targets drawn from them, and weights with 3."""
    paths = tuple(DATA / f"{name}_{rows}.csv" for name in ("preds", "targets", "weights"))
    if all(p.exists() for p in paths):
        return paths  # type: ignore[return-value]
    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    with open(paths[0], "wb") as preds, open(paths[1], "wb") as targets, \
            open(paths[2], "wb") as weights:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            micro = rng.integers(0, 1_000_001, n)
            preds.write(fixed_decimals(micro, 1, 6))
            labels = (rng.random(n) * 1e6 < micro).astype(np.uint8)
            targets.write(np.column_stack([labels + 48, np.full(n, 10, np.uint8)]).tobytes())
            weights.write(fixed_decimals(rng.integers(500, 2000, n), 1, 3))
    return paths  # type: ignore[return-value]


def generate_repr(rows: int, seed: int = 1) -> Path:
    """Predictions written with `repr`, as pandas' to_csv does: variable width, 17 digits."""
    path = DATA / f"preds_repr_{rows}.csv"
    if not path.exists():
        rng = np.random.default_rng(seed)
        with open(path, "w") as out:
            for start in range(0, rows, CHUNK):
                out.write("\n".join(map(repr, rng.random(min(CHUNK, rows - start)).tolist())))
                out.write("\n")
    return path


def fixed_decimals(values: np.ndarray, whole: int, decimals: int) -> bytes:
    """`values / 10**decimals` written as text with `decimals` places, one a line, fast."""
    digits = np.empty((len(values), whole + 1 + decimals + 1), np.uint8)
    rest = values.copy()
    for j in range(whole + decimals, -1, -1):
        if j == whole:
            digits[:, j] = ord(".")
            continue
        digits[:, j] = 48 + rest % 10
        rest //= 10
    digits[:, -1] = 10
    return digits.tobytes()


# -- measuring --------------------------------------------------------------------------


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one run.

    The peak comes from GNU time, not from this process's own wait4: Linux carries
    a parent's peak RSS into a child across exec, so a child of this (large)
    process would report at least this process's peak.
    """
    with tempfile.NamedTemporaryFile("r") as peak:
        start = time.perf_counter()
        done = subprocess.run([TIME, "-f", "%M", "-o", peak.name, *command],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr.decode()}")
        return wall, int(peak.read().split()[-1]) / 1024


def race(commands: dict[str, list[str]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median wall time and peak RSS of each command, run alternately in rotating order."""
    names = list(commands)
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    for name in names:  # one warm-up each: the files into the page cache, the imports cached
        measure(commands[name])
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            runs[name].append(measure(commands[name]))
    return {name: (statistics.median(w for w, _ in runs[name]), max(m for _, m in runs[name]))
            for name in names}


class Report:
    def __init__(self) -> None:
        self.lines = ["| workload | command | median s | peak RSS MiB |",
                      "| --- | --- | ---: | ---: |"]
        self.checks: list[str] = []

    def add(self, workload: str, results: dict[str, tuple[float, float]]) -> None:
        for name, (wall, rss) in results.items():
            self.lines.append(f"| {workload} | {name} | {wall:.3f} | {rss:.0f} |")
        print("\n".join(self.lines[-len(results):]), flush=True)

    def check(self, what: str, value: float, target: str, ok: bool) -> None:
        line = f"- {what}: **{value:.2f}** (target {target}) {'met' if ok else 'MISSED'}"
        self.checks.append(line)
        print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scale", action="store_true", help="add 1M and 100M rows for memory")
    args = parser.parse_args()
    report = Report()

    small = generate(1000)
    p, y = str(small[0]), str(small[1])
    results = race({
        "python -c 'import numpy'": [python("default"), "-c", "import numpy"],
        "bce -f json": [bce("default"), "compute", p, y, "-f", "json"],
        "bce -f table": [bce("default"), "compute", p, y, "-f", "table"],
        "torch + loadtxt one-liner": [python("anchors"), "-c", TORCH_ONE_LINER, p, y],
    }, args.repeats * 4)
    report.add("1,000 rows", results)
    numpy_import = results["python -c 'import numpy'"][0]
    json_ratio = results["bce -f json"][0] / numpy_import
    table_ratio = results["bce -f table"][0] / numpy_import
    torch_ratio = results["torch + loadtxt one-liner"][0] / results["bce -f json"][0]
    report.check("1k rows, bce -f json / import numpy", json_ratio, "≤ 1.5", json_ratio <= 1.5)
    report.check("1k rows, bce -f table / import numpy", table_ratio, "≤ 1.8", table_ratio <= 1.8)
    report.check("1k rows, torch one-liner / bce", torch_ratio, "≥ 6", torch_ratio >= 6)

    big = generate(args.rows)
    p, y, w = map(str, big)
    label = f"{args.rows:,} rows"
    results = race({
        "bce (default install)": [bce("default"), "compute", p, y, "-f", "json"],
        "bce (arrow extra)": [bce("arrow"), "compute", p, y, "-f", "json"],
        "numpy.loadtxt script": [python("anchors"), "-c", LOADTXT, p, y],
        "pyarrow script": [python("anchors"), "-c", PYARROW, p, y],
        "polars script": [python("anchors"), "-c", POLARS, p, y],
        "pandas + torch script": [python("anchors"), "-c", PANDAS_TORCH, p, y],
    }, args.repeats)
    report.add(label, results)
    default, extra = results["bce (default install)"][0], results["bce (arrow extra)"][0]
    loadtxt = results["numpy.loadtxt script"][0] / default
    fastest = min(results["pyarrow script"][0], results["polars script"][0]) / extra
    pandas = results["pandas + torch script"][0] / extra
    report.check(f"{label}, loadtxt script / bce", loadtxt, "≥ 1.5", loadtxt >= 1.5)
    report.check(f"{label}, faster of pyarrow and polars / bce[arrow]", fastest, "≥ 1.3",
                 fastest >= 1.3)
    report.check(f"{label}, pandas + torch / bce[arrow]", pandas, "≥ 4", pandas >= 4)

    p_repr = str(generate_repr(args.rows))
    results = race({
        "bce (default install)": [bce("default"), "compute", p_repr, y, "-f", "json"],
        "bce (arrow extra)": [bce("arrow"), "compute", p_repr, y, "-f", "json"],
        "numpy.loadtxt script": [python("anchors"), "-c", LOADTXT, p_repr, y],
        "pyarrow script": [python("anchors"), "-c", PYARROW, p_repr, y],
        "polars script": [python("anchors"), "-c", POLARS, p_repr, y],
    }, max(1, args.repeats // 2))
    report.add(f"{label}, repr floats (no target)", results)

    memory = {}
    for venv in ("default", "arrow"):
        for reduction, extra_args in (("mean", []), ("sum", []),
                                      ("weighted-mean", ["--weights", w])):
            memory[f"bce ({venv}) -r {reduction}"] = [bce(venv), "compute", p, y, "-r",
                                                      reduction, "-f", "json", *extra_args]
    results = race(memory, max(1, args.repeats // 2))
    report.add(f"{label}, memory", results)
    peak = max(rss for _, rss in results.values())
    report.check(f"{label}, peak RSS of bce, MiB", peak, "≤ 150", peak <= 150)

    if args.scale:
        peaks = {}
        for rows in (1_000_000, 10_000_000, 100_000_000):
            p, y, _ = map(str, generate(rows))
            results = race({f"bce ({venv})": [bce(venv), "compute", p, y, "-f", "json"]
                            for venv in ("default", "arrow")}, 1)
            report.add(f"{rows:,} rows, scale", results)
            peaks[rows] = max(rss for _, rss in results.values())
        spread = max(peaks.values()) / min(peaks.values()) - 1
        report.check("peak RSS spread over 1M/10M/100M rows", spread, "≤ 0.20", spread <= 0.2)

    accuracy = subprocess.run([python("default"), str(ROOT / "bench" / "accuracy.py"),
                               str(big[0]), str(big[1])], capture_output=True, text=True,
                              check=True).stdout.strip()
    worst = float(accuracy.split()[-1])
    report.check(f"{label}, worst relative error of the streamed mean vs math.fsum over "
                 "block sizes", worst / 1e-13, "≤ 1, in units of 1e-13", worst <= 1e-13)
    print(accuracy)

    machine = f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {os.uname().machine}"
    print(f"\nMachine: {machine}\n")
    print("\n".join([*report.lines, "", *report.checks]))


if __name__ == "__main__":
    main()
