"""The benchmark's input files, every format from one seeded draw, cached under bench/data/.

    python bench/datagen.py repr|fixed ROWS [SEED]   # in the peers venv (numpy, pandas, pyarrow)

Predictions are float64 in [0, 1) written with `repr`, as pandas' `to_csv` writes
them (17 significant digits at most, `3.2e-05` style for small ones); labels are
0/1 drawn from the predictions (so the loss is the calibrated one, ~0.5). Text is
made a million rows at a time, so 5M rows need about 0.5 GB.

Files, in DATA/repr-ROWS-sSEED/:
    preds.csv, targets.csv  one column each with its name as header, as
                            `df["prediction"].to_csv(path, index=False)` writes it
    data.csv                id,prediction,label: `df.to_csv(path, index=False)`
    data.csv.gz             the same, gzip level 6 (the gzip command's default)
    data.jsonl              {"id":0,"prediction":0.8132702392002724,"label":1} a line: pandas'
                            `to_json(orient="records", lines=True)` layout, but full-precision
                            floats (pandas' own default rounds to 10 decimals)
    data.json               {"predictions": [...], "targets": [...]}, as `json.dump` writes it
    preds.npy, targets.npy  float64 predictions, int64 labels (`np.save`)
    data.parquet            id,prediction,label: `df.to_parquet(path)` (pyarrow, snappy)
and in DATA/fixed-ROWS-sSEED/ the fixed-width pair (no header): `%.6f` predictions,
0/1 targets, and `%.3f` weights in [0.5, 2).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parent / "data"
CHUNK = 1_000_000
DONE = ".complete"


def cached(folder: Path) -> bool:
    """Whether `folder` holds a complete earlier draw; else it is made, to be filled."""
    if (folder / DONE).exists():
        return True
    folder.mkdir(parents=True, exist_ok=True)
    return False


def repr_files(rows: int, seed: int = 0) -> Path:
    """Every format of one draw of `rows` rows; returns their directory (cached)."""
    folder = DATA / f"repr-{rows}-s{seed}"
    if cached(folder):
        return folder
    rng = np.random.default_rng(seed)
    p = rng.random(rows)
    y = (rng.random(rows) < p).astype(np.int64)
    with open(folder / "preds.csv", "w") as preds, open(folder / "targets.csv", "w") as targets, \
            open(folder / "data.csv", "w") as table, open(folder / "data.jsonl", "w") as lines, \
            gzip.open(folder / "data.csv.gz", "wt", compresslevel=6) as zipped:
        preds.write("prediction\n")
        targets.write("label\n")
        table.write("id,prediction,label\n")
        zipped.write("id,prediction,label\n")
        for start in range(0, rows, CHUNK):
            texts = list(map(repr, p[start:start + CHUNK].tolist()))
            labels = list(map(str, y[start:start + CHUNK].tolist()))
            ids = range(start, start + len(texts))
            preds.write("".join(f"{t}\n" for t in texts))
            targets.write("".join(f"{t}\n" for t in labels))
            block = "".join(f"{i},{t},{c}\n" for i, t, c in zip(ids, texts, labels, strict=True))
            table.write(block)
            zipped.write(block)
            lines.write("".join(f'{{"id":{i},"prediction":{t},"label":{c}}}\n'
                                for i, t, c in zip(ids, texts, labels, strict=True)))
    with open(folder / "data.json", "w") as document:
        document.write(json.dumps({"predictions": p.tolist(), "targets": y.tolist()}))
    np.save(folder / "preds.npy", p)
    np.save(folder / "targets.npy", y)
    pd.DataFrame({"id": np.arange(rows), "prediction": p, "label": y}).to_parquet(
        folder / "data.parquet")
    (folder / DONE).touch()
    return folder


def fixed_files(rows: int, seed: int = 0) -> Path:
    """Predictions with 6 decimals, 0/1 targets drawn from them, and weights with 3 (cached)."""
    folder = DATA / f"fixed-{rows}-s{seed}"
    if cached(folder):
        return folder
    rng = np.random.default_rng(seed)
    with open(folder / "preds.csv", "wb") as preds, open(folder / "targets.csv", "wb") as targets, \
            open(folder / "weights.csv", "wb") as weights:
        for start in range(0, rows, CHUNK):
            n = min(CHUNK, rows - start)
            micro = rng.integers(0, 1_000_001, n)
            preds.write(fixed_decimals(micro, 1, 6))
            labels = (rng.random(n) * 1e6 < micro).astype(np.uint8)
            targets.write(np.column_stack([labels + 48, np.full(n, 10, np.uint8)]).tobytes())
            weights.write(fixed_decimals(rng.integers(500, 2000, n), 1, 3))
    (folder / DONE).touch()
    return folder


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


if __name__ == "__main__":
    kind, count, *rest = sys.argv[1:]
    make = repr_files if kind == "repr" else fixed_files
    print(make(int(count), int(rest[0]) if rest else 0))
