"""Generate tests/golden/ranking_cases.json from real scikit-learn (not a test dependency).

    /work/.venv-gen/bin/python scripts/make_golden_ranking.py
    (any venv with scikit-learn and numpy: python -m venv /tmp/gen && /tmp/gen/bin/pip
    install scikit-learn)

Every expected value is what `sklearn.metrics.roc_auc_score` and
`average_precision_score` return, with `sample_weight` where the case has weights,
on the labels `target >= 0.5` (how bce counts a soft target). The tests read the
committed file and never import scikit-learn. Where a metric is undefined the
file holds null, and this script checks that scikit-learn refuses it too: ROC AUC
with no weight on one class (it raises, or warns and returns nan), average
precision with no positive weight (it warns that recall is meaningless).
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.metrics import average_precision_score, roc_auc_score

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "ranking_cases.json"
HALF_UP = math.nextafter(0.5, 1.0)
HALF_DOWN = math.nextafter(0.5, 0.0)
ONE_DOWN = math.nextafter(1.0, 0.0)


def metric(function: Any, labels: np.ndarray, scores: np.ndarray,
           weights: np.ndarray | None, defined: bool) -> float | None:
    """scikit-learn's value, or None where it is undefined (after checking that
    scikit-learn raises or warns there)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            value = float(function(labels, scores, sample_weight=weights))
        except (ValueError, Warning):
            if defined:
                raise
            return None
    if not defined:
        raise AssertionError(f"{function.__name__} gave {value} on an undefined case")
    return value


def cases(rng: np.random.Generator) -> list[tuple[str, list[float], list[float],
                                                  list[float] | None]]:
    """(name, scores, targets, weights or None): the edge cases, then random ones."""
    out: list[tuple[str, list[float], list[float], list[float] | None]] = [
        ("tutorial", [0.8, 0.3, 0.6], [1, 0, 1], None),
        ("four", [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], None),
        ("all-tied", [0.5] * 6, [1, 0, 0, 1, 1, 0], None),
        ("all-tied-weighted", [0.25] * 5, [1, 0, 0, 1, 0], [0.5, 2.0, 1.0, 3.0, 0.25]),
        ("separated", [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 0, 1, 1, 1], None),
        ("inverted", [0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [1, 1, 1, 0, 0, 0], None),
        ("zeros-and-ones", [0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.5], [1, 0, 1, 0, 0, 1, 1], None),
        ("negative-zero", [-0.0, 0.0, 0.0, -0.0, 0.3], [1, 0, 1, 0, 1], None),
        ("subnormals", [5e-324, 1e-310, 2.2250738585072014e-308, 0.0, 1e-300, 1e-320,
                        5e-324], [1, 0, 1, 0, 1, 0, 0], None),
        ("last-bit-half", [0.5, HALF_UP, HALF_DOWN, HALF_UP, HALF_DOWN, 0.5],
         [0, 1, 0, 0, 1, 1], None),
        ("last-bit-one", [1.0, ONE_DOWN, 1.0 - 2**-52, 1.0 - 2**-52, ONE_DOWN, 1.0],
         [0, 1, 1, 0, 0, 1], None),
        ("near-one-steps", [1.0 - k * 2**-53 for k in range(12)],
         [k % 3 == 0 for k in range(12)], None),
        ("near-zero-steps", [k * 2**-1074 for k in range(12)], [k % 2 for k in range(12)],
         None),
        ("soft-targets", [0.2, 0.4, 0.6, 0.8, 0.5], [0.5, 0.49, 0.51, 1.0, 0.0], None),
        ("weights-integers", [0.1, 0.4, 0.35, 0.8, 0.35], [0, 0, 1, 1, 0],
         [1.0, 3.0, 2.0, 1.0, 4.0]),
        ("weights-with-zeros", [0.1, 0.4, 0.35, 0.8, 0.35, 0.9, 0.05], [0, 0, 1, 1, 0, 0, 1],
         [1.0, 0.0, 2.0, 1.0, 0.0, 0.0, 0.5]),
        ("weight-zero-on-top", [0.99, 0.5, 0.4, 0.3], [0, 1, 0, 1], [0.0, 1.0, 1.0, 1.0]),
        ("weights-wide-range", [0.2, 0.4, 0.6, 0.8, 0.5, 0.1], [0, 1, 0, 1, 1, 0],
         [1e-6, 1e6, 3.0, 1e-6, 2.5e5, 7e6]),
        ("weights-fractions", [0.3, 0.3, 0.6, 0.6, 0.9], [1, 0, 1, 0, 1],
         [0.1, 0.2, 0.3, 0.4, 0.7]),
        ("one-positive", [0.3, 0.1, 0.7, 0.2], [0, 0, 1, 0], None),
        ("one-negative", [0.3, 0.1, 0.7, 0.2], [1, 1, 0, 1], None),
        ("only-positives", [0.3, 0.1, 0.7], [1, 1, 1], None),
        ("only-negatives", [0.3, 0.1, 0.7], [0, 0, 0], None),
        ("positives-weigh-nothing", [0.3, 0.1, 0.7, 0.5], [1, 0, 1, 0], [0.0, 1.0, 0.0, 2.0]),
        ("negatives-weigh-nothing", [0.3, 0.1, 0.7, 0.5], [1, 0, 1, 0], [1.0, 0.0, 2.0, 0.0]),
        ("single-row", [0.4], [1], None),
    ]
    for n in (10, 40, 200):
        p = rng.random(n)
        out.append((f"uniform-{n}", p.tolist(), (rng.random(n) < p).astype(float).tolist(),
                    None))
        out.append((f"uniform-{n}-weighted", p.tolist(),
                    (rng.random(n) < p).astype(float).tolist(), (rng.random(n) * 3).tolist()))
    for n, decimals in ((30, 1), (100, 2), (300, 1)):
        p = np.round(rng.random(n), decimals)
        y = (rng.random(n) < p).astype(float)
        out.append((f"rounded-{n}-to-{decimals}", p.tolist(), y.tolist(), None))
        w = rng.integers(0, 4, n).astype(float)
        out.append((f"rounded-{n}-to-{decimals}-weighted", p.tolist(), y.tolist(), w.tolist()))
    p = np.concatenate([rng.random(20) * 1e-5, 1 - rng.random(20) * 1e-5])
    out.append(("extremes", p.tolist(), (rng.random(40) < 0.5).astype(float).tolist(), None))
    p = rng.beta(0.2, 0.2, 80)
    out.append(("beta-u-shaped-weighted", p.tolist(), (rng.random(80) < p).astype(float).tolist(),
                rng.exponential(1.0, 80).tolist()))
    return out


def main() -> None:
    rng = np.random.default_rng(20261124)
    result = []
    for name, scores, targets, weights in cases(rng):
        p = np.array(scores, np.float64)
        labels = (np.array(targets, np.float64) >= 0.5).astype(int)
        w = None if weights is None else np.array(weights, np.float64)
        shares = np.ones(len(p)) if w is None else w
        positive, negative = shares[labels == 1].sum(), shares[labels == 0].sum()
        result.append({
            "name": name, "scores": scores, "targets": [float(t) for t in targets],
            "weights": weights,
            "roc_auc": metric(roc_auc_score, labels, p, w, bool(positive and negative)),
            "average_precision": metric(average_precision_score, labels, p, w,
                                        bool(positive)),
        })
    OUT.write_text(json.dumps({"generator": "scripts/make_golden_ranking.py",
                               "scikit-learn": sklearn.__version__, "cases": result},
                              indent=1) + "\n")
    print(f"{len(result)} cases -> {OUT}")


if __name__ == "__main__":
    main()
