"""--metrics in bounded memory: through the score sketch, read in many blocks, the
CLI gives what plain-Python references give (exact pair counts, exact rational
sums); 10M rows stay under 150 MiB; and --top names the right lines through pyarrow."""

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
    for s, t in zip(p, y, strict=True):
        k = sum(edge < s for edge in EDGES)  # a p on an edge goes to the lower bin
        gaps[k] += Fraction(s) - Fraction(t)  # soft targets as they are
    return {"threshold": threshold,
            "accuracy": sum((s >= threshold) == h for s, h in zip(p, hard, strict=True)) / len(p),
            "brier": math.fsum((s - t) ** 2 for s, t in zip(p, y, strict=True)) / len(p),
            "roc_auc": twice_u / (2 * len(positives) * len(negatives))
            if positives and negatives else None,
            "ece": float(sum(abs(gap) for gap in gaps)) / len(p)}


def measured(bce: Run, files: Files, p: Sequence[float], y: Sequence[float],
             threshold: float = 0.5) -> dict[str, Any]:
    """`bce compute --metrics` on the pairs, read in blocks of a few rows."""
    files(p__csv="".join(f"{v!r}\n" for v in p), y__csv="".join(f"{v!r}\n" for v in y))
    result = bce("compute", "p.csv", "y.csv", "--metrics", "--threshold", str(threshold),
                 "--json")
    assert result.exit_code == 0, result.stderr
    metrics: dict[str, Any] = json.loads(result.stdout)["metrics"]
    return metrics


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


@pytest.mark.parametrize("case", CASES, ids=[case.__name__ for case in CASES])
def test_metrics_match_their_definitions(bce: Run, files: Files,
                                         monkeypatch: pytest.MonkeyPatch, case: Any) -> None:
    monkeypatch.setattr(base, "BLOCK_BYTES", 256)  # many blocks
    p, y = case(random.Random(case.__name__))
    for threshold in (0.5, 0.3):
        got, expected = measured(bce, files, p, y, threshold), reference(p, y, threshold)
        for key in ("threshold", "accuracy", "roc_auc"):  # counts: exact
            assert got[key] == expected[key], key
        # an exact sum, rounded twice (sum, then mean)
        assert got["brier"] == pytest.approx(expected["brier"], rel=1e-15, abs=0)
        # each bin's gap is the difference of its two correctly rounded sums Σp, Σy (each
        # within 2**-53 of itself, and p, y <= 1): ECE within 2**-51 absolute
        assert got["ece"] == pytest.approx(expected["ece"], rel=1e-15, abs=2.0**-51)
        assert "roc_auc_bounds" not in got  # every distinct score had its bucket


def test_metrics_write_no_file(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch,
                               tmp_path: Path) -> None:
    """The sketch replaced the temporary file: a folder that cannot be written is no
    error any more."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "missing"))
    files(p__csv="".join(f"{i / 100!r}\n" for i in range(100)), y__csv="1\n0\n" * 50)
    assert bce("compute", "p.csv", "y.csv", "--metrics").exit_code == 0
    assert not (tmp_path / "missing").exists()


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
