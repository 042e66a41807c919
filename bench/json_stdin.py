"""Peak memory and time of a big JSON document read from a file, stdin, a named pipe and gzip.

    .venv/bin/python bench/json_stdin.py                    # the arrow extra's install
    .venv/bin/python bench/json_stdin.py --bce .venv-np/bin/bce   # numpy only
    .venv/bin/python bench/json_stdin.py --small            # 1 M values: a smoke run

Two documents, made once under bench/data/ (seeded): a flat array of 10 M numbers
(193 MB, the targets beside it in a flat array of their own) and an object of
5 M predictions and 5 M targets (106 MB). Each is run by `bce compute ... --json`
under GNU time (%M: peak RSS) from the file, from stdin (a pipe that `cat`
fills), from a named pipe, and gzipped (`.json.gz`); every output must equal the
file's but for the input's name. Not a test: the machine is shared, so say its
load (printed first) beside the figures.
"""

from __future__ import annotations

import argparse
import gzip
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def make(folder: Path, rows: int) -> dict[str, tuple[Path, list[str]]]:
    """The documents (and the arguments after them), written once."""
    folder.mkdir(parents=True, exist_ok=True)
    flat, targets, keys = (folder / f"{name}-{rows}.json" for name in ("flat", "y", "keys"))
    rng = np.random.default_rng(20)
    if not flat.exists():
        y = rng.integers(0, 2, rows)
        targets.write_text("[" + ",".join(map(str, y.tolist())) + "]")
        with open(flat, "w") as out:
            out.write("[")
            for start in range(0, rows, 1_000_000):
                part = rng.random(min(1_000_000, rows - start)).tolist()
                out.write(("," if start else "") + ",".join(map(repr, part)))
            out.write("]")
    if not keys.exists():
        half = rows // 2
        p, y = rng.random(half).tolist(), rng.integers(0, 2, half).tolist()
        keys.write_text('{"predictions": [' + ",".join(map(repr, p)) + '],\n "targets": ['
                        + ",".join(map(str, y)) + "]}")
    for path in (flat, keys):
        packed = path.with_suffix(".json.gz")
        if not packed.exists():
            with open(path, "rb") as source, gzip.open(packed, "wb", compresslevel=1) as out:
                shutil.copyfileobj(source, out, 1 << 20)
    return {"flat array": (flat, [str(targets)]), "object": (keys, [])}


def timed(bce: str, args: list[str], stdin: Path | None = None) -> tuple[str, str, str]:
    """GNU time's "seconds s, KB" and the run's stdout."""
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "time"
        command = ["/usr/bin/time", "-o", str(report), "-f", "%e %M", bce, "compute", *args,
                   "--json"]
        if stdin is None:
            done = subprocess.run(command, capture_output=True, text=True, check=False)
        else:
            cat = subprocess.Popen(["cat", str(stdin)], stdout=subprocess.PIPE)
            done = subprocess.run(command, stdin=cat.stdout, capture_output=True, text=True,
                                  check=False)
            cat.wait()
        seconds, kb = report.read_text().split()[-2:]
    if done.returncode:
        sys.exit(f"{args}: {done.stderr}")
    return seconds, f"{int(kb) / 1024:.0f}", done.stdout


def fifo_run(bce: str, path: Path, args: list[str]) -> tuple[str, str, str]:
    """The document through a named pipe, written by a thread."""
    with tempfile.TemporaryDirectory() as scratch:
        pipe = Path(scratch) / "d.json"
        os.mkfifo(pipe)

        def feed() -> None:
            with open(path, "rb") as source, open(pipe, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)

        writer = threading.Thread(target=feed)
        writer.start()
        result = timed(bce, [str(pipe), *args])
        writer.join()
        return result[0], result[1], result[2].replace(str(pipe), str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bce", default=str(Path(sys.executable).parent / "bce"))
    parser.add_argument("--small", action="store_true", help="1 M values")
    options = parser.parse_args()
    print("load:", os.getloadavg(), "bce:", options.bce)
    print("| document | input | seconds | peak MiB |")
    print("|---|---|---:|---:|")
    for what, (path, args) in make(HERE / "data", 1_000_000 if options.small else
                                   10_000_000).items():
        packed = path.with_suffix(".json.gz")
        file = timed(options.bce, [str(path), *args])
        runs = {"file": file,
                "stdin": timed(options.bce, ["-", *args], stdin=path),
                "named pipe": fifo_run(options.bce, path, args),
                ".json.gz": timed(options.bce, [str(packed), *args])}
        for name, (seconds, mib, out) in runs.items():
            same = out.replace("<stdin>", str(path)).replace(str(packed), str(path))
            assert same == file[2], (what, name)
            print(f"| {what} ({path.stat().st_size / 1e6:.0f} MB) | {name} | {seconds} | "
                  f"{mib} |")


if __name__ == "__main__":
    main()
