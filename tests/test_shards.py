"""Shards: partial totals merged give the result of one run over all the data."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from tests.conftest import Run

Files = Callable[..., None]


def shard_files(count: int, rows: int, seed: int = 3) -> dict[str, str]:
    rng = np.random.default_rng(seed)
    files = {}
    for k in range(count):
        p = rng.uniform(0, 1, (rows, 2))
        y = (rng.uniform(0, 1, (rows, 2)) < p).astype(int)
        files[f"p{k}__csv"] = "".join(f"{a!r},{b!r}\n" for a, b in p.tolist())
        files[f"y{k}__csv"] = "".join(f"{a},{b}\n" for a, b in y)
        files[f"w{k}__csv"] = "".join(f"{v!r}\n" for v in rng.uniform(0.5, 2, rows).tolist())
    return files


@pytest.mark.parametrize("reduction", ["mean", "sum", "weighted-mean"])
def test_merged_shards_equal_one_run(bce: Run, files: Files, reduction: str) -> None:
    parts = shard_files(4, 50)
    files(**parts, all_p__csv="".join(parts[f"p{k}__csv"] for k in range(4)),
          all_y__csv="".join(parts[f"y{k}__csv"] for k in range(4)),
          all_w__csv="".join(parts[f"w{k}__csv"] for k in range(4)))
    options = ["-r", reduction, "--pos-weight", "2,1", "--dtype", "float64"]
    for k in range(4):
        result = bce("compute", f"p{k}.csv", f"y{k}.csv", "--weights", f"w{k}.csv", "--partial",
                     *options)
        assert result.exit_code == 0, result.stderr
        files(**{f"part{k}__json": result.stdout})
    merged = json.loads(bce("merge", *(f"part{k}.json" for k in (2, 0, 3, 1)), "--json").stdout)
    whole = json.loads(bce("compute", "all_p.csv", "all_y.csv", "--weights", "all_w.csv",
                           "--json", *options).stdout)
    assert merged["loss"] == pytest.approx(whole["loss"], rel=1e-13)
    for key in ("reduction", "count", "shape", "from_logits", "dtype", "pos_weight"):
        assert merged[key] == whole[key]
    assert merged["parts"] == ["part2.json", "part0.json", "part3.json", "part1.json"]


def test_merge_gates_and_formats(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n")
    files(part__json=bce("compute", "p.csv", "y.csv", "--partial").stdout)
    assert bce("merge", "part.json", "-f", "plain").stdout == "0.36354803967297755\n"
    gated = bce("merge", "part.json", "--max-loss", "0.3")
    assert gated.exit_code == 1
    assert gated.stderr == "bce: loss 0.36354803967297755 is above --max-loss 0.3\n"


@pytest.mark.parametrize(("setup", "args", "message"), [
    ({"a__json": "A", "b__json": "B"}, ["merge", "a.json", "b.json"],
     "bce: error: b.json was computed with dtype = \"float32\", a.json with \"float64\": "
     "shards must agree"),
    ({"p__csv": "0.5\n"}, ["merge", "p.csv"],
     "bce: error: p.csv: not a partial result (make one with bce compute ... --partial)"),
    ({"x__json": '{"bcecli_partial": 1, "count": "many"}'}, ["merge", "x.json"],
     "bce: error: x.json: a partial result with missing or broken fields"),
    ({}, ["merge", "gone.json"], "bce: error: gone.json: cannot read: No such file or directory"),
    ({"p__csv": "0.5\n", "y__csv": "1\n"}, ["compute", "p.csv", "y.csv", "--partial", "-r", "none"],
     "bce: error: --partial prints JSON for bce merge: use it without -r none, --format, the "
     "CI gates (give those to bce merge) and diagnostics"),
])
def test_shard_errors(bce: Run, files: Files, setup: dict[str, str], args: list[str],
                      message: str) -> None:
    files(p0__csv="0.5\n", y0__csv="1\n")
    made = {}
    for name, dtype in (("A", "float64"), ("B", "float32")):
        made[name] = bce("compute", "p0.csv", "y0.csv", "--partial", "--dtype", dtype).stdout
    files(**{key: made.get(value, value) for key, value in setup.items()})
    result = bce(*args)
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines()[0] == message
