"""--metrics in bounded memory: scores spilled to a temporary file and ranked a
range of values at a time give what plain-Python references give (exact pair
counts, exact rational sums); and --top names the right lines through pyarrow."""

from __future__ import annotations

import json
import math
import random
import tempfile
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bcecli import diagnostics
from bcecli.diagnostics import Keys, Metrics
from bcecli.readers import base
from tests.helpers import Files, Run
from tests.test_arrow import force_arrow, needs_arrow

EDGES = np.linspace(0, 1, 11)[1:-1].tolist()  # scikit-learn's calibration_curve bins


def reference(p: Sequence[float], y: Sequence[float], threshold: float) -> dict[str, Any]:
    """The metrics from their definitions, one pair and one value at a time."""
    hard = [t >= 0.5 for t in y]
    positives = [s for s, h in zip(p, hard, strict=True) if h]
    negatives = [s for s, h in zip(p, hard, strict=True) if not h]
    twice_u = sum(2 * (a > b) + (a == b) for a in positives for b in negatives)
    gaps = [Fraction(0)] * (len(EDGES) + 1)
    for s, h in zip(p, hard, strict=True):
        k = sum(edge < s for edge in EDGES)  # a p on an edge goes to the lower bin
        gaps[k] += Fraction(s) - h
    return {"threshold": threshold,
            "accuracy": sum((s >= threshold) == h for s, h in zip(p, hard, strict=True)) / len(p),
            "brier": math.fsum((s - t) ** 2 for s, t in zip(p, y, strict=True)) / len(p),
            "roc_auc": twice_u / (2 * len(positives) * len(negatives))
            if positives and negatives else None,
            "ece": float(sum(abs(gap) for gap in gaps)) / len(p)}


def measured(p: Sequence[float], y: Sequence[float], threshold: float = 0.5) -> dict[str, Any]:
    """`Metrics` fed in blocks of random sizes."""
    metrics, rng, start = Metrics(), random.Random(len(p)), 0
    while start < len(p):
        stop = start + rng.randint(1, 90)
        metrics.observe(np.array(p[start:stop]), np.array(y[start:stop]), threshold)
        start = stop
    result = metrics.result(threshold)
    assert metrics.keys.file is None  # the temporary file is closed, which deletes it
    return result


def uniform(rng: random.Random) -> tuple[list[float], list[float]]:
    p = [rng.random() for _ in range(700)]
    return p, [float(rng.random() < s) for s in p]


def ties(rng: random.Random) -> tuple[list[float], list[float]]:
    """Few distinct scores, each held many times by both classes; soft targets; edges."""
    pool = [0.0, -0.0, 0.1, 0.3, EDGES[2], 0.5, math.nextafter(0.5, 1), 0.8, 1.0, 5e-324]
    p = [rng.choice(pool) for _ in range(600)]
    return p, [rng.choice([0.0, 1.0, 0.25, 0.5, 0.75]) for _ in p]


def one_score(rng: random.Random) -> tuple[list[float], list[float]]:
    """One score held by every sample (a constant model)."""
    return [0.7] * 300, [float(rng.random() < 0.5) for _ in range(300)]


def near_one(rng: random.Random) -> tuple[list[float], list[float]]:
    """Positives scored just under 1: a plain sum of p rounds away the calibration gap."""
    p = [1 - rng.randint(1, 1000) * 2.0 ** -52 for _ in range(500)] + [0.05] * 20
    return p, [1.0] * 500 + [0.0] * 20


def one_class(rng: random.Random) -> tuple[list[float], list[float]]:
    return [rng.random() for _ in range(50)], [1.0] * 50


CASES = [uniform, ties, one_score, near_one, one_class]


@pytest.mark.parametrize("small", [False, True], ids=["in memory", "spilled"])
@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_metrics_match_their_definitions(monkeypatch: pytest.MonkeyPatch, small: bool,
                                         case: Any) -> None:
    if small:  # spill to the file at once, rank 16 keys at a time by pieces of 4, part
        # them into 3 files at a time: ranges are walked again in finer ranges, down to
        # single scores, and parts parted again
        monkeypatch.setattr(diagnostics, "HELD_KEYS", 7)
        monkeypatch.setattr(diagnostics, "RANKED_KEYS", 16)
        monkeypatch.setattr(diagnostics, "PIECE", 4)
        monkeypatch.setattr(diagnostics, "FILES", 3)
    p, y = case(random.Random(case.__name__))
    for threshold in (0.5, 0.3):
        got, expected = measured(p, y, threshold), reference(p, y, threshold)
        for key in ("threshold", "accuracy", "roc_auc"):  # counts: exact
            assert got[key] == expected[key], key
        for key in ("brier", "ece"):  # exact sums, rounded twice (sum, then mean)
            assert got[key] == pytest.approx(expected[key], rel=1e-15, abs=0), key


def test_a_spilled_run_prints_the_same_metrics(bce: Run, files: Files,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(7)
    rows = [(rng.random(), rng.random() < 0.4) for _ in range(3000)]
    files(d__csv="p,y\n" + "".join(f"{p!r},{int(y)}\n" for p, y in rows))
    held = json.loads(bce("compute", "d.csv", "--metrics", "--json").stdout)["metrics"]
    monkeypatch.setattr(diagnostics, "HELD_KEYS", 100)
    monkeypatch.setattr(diagnostics, "RANKED_KEYS", 300)
    spilled = json.loads(bce("compute", "d.csv", "--metrics", "--json").stdout)["metrics"]
    assert spilled == held == measured([p for p, _ in rows], [float(y) for _, y in rows])


def test_spilled_scores_leave_no_file(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path) -> None:
    folder = tmp_path / "temporary"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    opened: list[Keys] = []
    spill = Keys.spill

    def spy(self: Keys) -> None:
        opened.append(self)
        spill(self)

    monkeypatch.setattr(Keys, "spill", spy)
    monkeypatch.setattr(diagnostics, "HELD_KEYS", 10)
    files(p__csv="".join(f"{i / 100!r}\n" for i in range(100)), y__csv="1\n0\n" * 50)
    assert bce("compute", "p.csv", "y.csv", "--metrics").exit_code == 0
    assert opened and all(keys.file is None for keys in opened)  # closed: deleted
    opened.clear()
    monkeypatch.setattr(base, "BLOCK_BYTES", 64)  # blocks of a few rows: spilled, then stopped
    files(p__csv="".join(f"{i / 100!r}\n" for i in range(100)) + "2\n", y__csv="1\n" * 101)
    assert bce("compute", "p.csv", "y.csv", "--metrics").exit_code == 2
    assert opened and list(folder.iterdir()) == []


@needs_arrow
def test_top_names_the_lines_read_by_pyarrow(bce: Run, files: Files,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Through several pyarrow blocks, and one with a cell it leaves to bce's reader."""
    rng = random.Random(3)
    rows = [(rng.uniform(0.02, 0.98), rng.randrange(2)) for _ in range(2000)]
    lines = [f"r{i},{p!r},{y}" for i, (p, y) in enumerate(rows)]
    lines[1500] = lines[1500][:-1] + ("true" if rows[1500][1] else "false")  # not for pyarrow
    files(d__csv="id,p,y\n" + "\n".join(lines) + "\n")
    losses = [-math.log(p if y else 1 - p) for p, y in rows]
    line_of = [i + 2 for i in range(len(rows))]  # after the header
    worst = sorted(range(len(rows)), key=lambda i: -losses[i])[:8]
    reads = force_arrow(monkeypatch)
    monkeypatch.setattr(base, "BLOCK_BYTES", 1 << 12)  # many blocks
    top = json.loads(bce("compute", "d.csv", "--pred-col", "p", "--target-col", "y",
                         "--top", "8", "--json").stdout)["top"]
    assert {took for _, took in reads} == {True, False}  # pyarrow took blocks, and left one
    assert [(t["where"], t["prediction"]) for t in top] == \
        [(f"d.csv:{line_of[i]}", rows[i][0]) for i in worst]
    assert {i >= 1500 for i in worst} == {True, False}  # both readers named some


def test_a_temporary_folder_that_cannot_be_written_is_one_error(
        bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    monkeypatch.setattr(diagnostics, "HELD_KEYS", 10)
    files(p__csv="".join(f"{i / 100!r}\n" for i in range(100)), y__csv="1\n0\n" * 50)
    result = bce("compute", "p.csv", "y.csv", "--metrics")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.splitlines() == [
        "bce: error: --metrics cannot write its temporary file: No such file or directory",
        "hint: set TMPDIR to a folder with room: it takes 8 bytes a value"]
