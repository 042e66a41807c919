"""What `--scheduler` costs beside `--workers`: issue 15's Dask row (docs/scale.md).

    .venv/bin/python bench/cluster_overhead.py   # the venv with the dask extra

Starts a `LocalCluster` of two single-thread worker processes on loopback, and times
the installed `bce` (beside this python) on the shards of `run.shard_files`:
16 and 32 tiny shards (1,000 rows each) with `--workers 2` and with `--scheduler`,
whose difference, times the 2 workers, over the 16 more pieces, is the worker time
one piece costs beyond its rows; and 4M rows in 16 shards, one core against both,
whose time beyond the 16 tiny shards' is the reading, so rows per second per worker.
Every run's JSON must be the same text. Median of `--repeats` after a warm-up; the
machine is shared, so these are rough figures, not tests.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import shard_files

BCE = str(Path(sys.executable).parent / "bce")


def timed(command: list[str], repeats: int) -> tuple[float, str]:
    """The median wall of `repeats` runs after one warm-up, and the output (the same each
    time, or this fails)."""
    outputs, walls = set(), []
    for k in range(repeats + 1):
        began = time.perf_counter()
        outputs.add(subprocess.run(command, capture_output=True, text=True,
                                   check=True).stdout)
        if k:
            walls.append(time.perf_counter() - began)
    assert len(outputs) == 1, command
    return statistics.median(walls), outputs.pop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=4_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    from distributed import LocalCluster

    folders = {"16 tiny": shard_files(16_000, args.seed, 16),
               "32 tiny": shard_files(32_000, args.seed, 32),
               f"{args.rows:,} rows": shard_files(args.rows, args.seed)}
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        engines = {"--workers 2": ["--workers", "2"],
                   "--scheduler": ["--scheduler", cluster.scheduler_address]}
        wall: dict[tuple[str, str], float] = {}
        for name, folder in folders.items():
            plain = [BCE, "compute", str(folder), "-f", "json", "--no-progress"]
            outputs = set()
            if name.endswith("rows"):
                wall[name, "one core"], out = timed(["taskset", "-c", "0", *plain],
                                                    args.repeats)
                outputs.add(out)
            for engine, options in engines.items():
                wall[name, engine], out = timed([*plain, *options], args.repeats)
                outputs.add(out)
            assert len(outputs) == 1, f"{name}: the engines' JSON differ"
    big = f"{args.rows:,} rows"
    print("| engine | 16 tiny shards s | 32 tiny shards s | per piece ms | "
          f"{big} in 16 shards s | rows/s per worker |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for engine in engines:
        t16, t32, tbig = (wall[name, engine] for name in folders)
        piece = (t32 - t16) * 2 / 16
        rate = args.rows / (2 * (tbig - t16))
        print(f"| {engine} | {t16:.3f} | {t32:.3f} | {piece * 1000:.0f} | {tbig:.3f} | "
              f"{rate:,.0f} |")
    print(f"\none core (taskset -c 0): {wall[big, 'one core']:.3f} s for {big}")
    t16, t32, tbig = (wall[name, "--scheduler"] for name in folders)
    piece, rate = (t32 - t16) * 2 / 16, args.rows / (2 * (tbig - t16))
    fixed = t16 - 16 * piece / 2
    rows, workers, pieces = 10_000_000_000, 100, 1000
    projected = fixed + rows / (workers * rate) + pieces * piece / workers
    print(f"projection, {rows:,} rows in {pieces} pieces on {workers} workers: "
          f"{fixed:.1f} s fixed + {rows / (workers * rate):.0f} s reading + "
          f"{pieces * piece / workers:.1f} s of pieces = {projected / 60:.1f} min")


if __name__ == "__main__":
    main()
