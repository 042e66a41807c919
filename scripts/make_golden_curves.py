"""Generate tests/golden/curve_cases.json from real scikit-learn (not a test dependency).

    /work/.venv-gen/bin/python scripts/make_golden_curves.py
    (any venv with scikit-learn and numpy)

Each case holds scores, targets (positive when >= 0.5, as bce counts them) and
weights or null, and what `sklearn.metrics.roc_curve(drop_intermediate=False)`
and `precision_recall_curve` return on them, the latter reversed so that both
run from the highest threshold down, as `ScoreSketch.curves` gives them. Cases
have fewer distinct scores than the curves' 200 points, so every threshold is a
point. The tests read the committed file and never import scikit-learn.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.metrics import precision_recall_curve, roc_curve

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "curve_cases.json"


def cases(rng: np.random.Generator) -> list[tuple[str, list[float], list[float],
                                                  list[float] | None]]:
    """(name, scores, targets, weights or None): small hand-made ones, then random ones."""
    out: list[tuple[str, list[float], list[float], list[float] | None]] = [
        ("tutorial", [0.8, 0.3, 0.6], [1, 0, 1], None),
        ("four", [0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1], None),
        ("ties", [0.5, 0.5, 0.2, 0.9, 0.9, 0.2, 0.5], [1, 0, 0, 1, 0, 1, 1], None),
        ("soft-targets", [0.1, 0.7, 0.3, 0.9], [0.2, 0.6, 0.5, 0.4], None),
        ("weighted-zeros", [0.1, 0.4, 0.35, 0.8, 0.6, 0.05],
         [0, 0, 1, 1, 0, 1], [1.0, 0.0, 2.5, 0.5, 3.0, 0.0]),
    ]
    for i, (n, distinct, weighted) in enumerate([(50, 50, False), (150, 40, False),
                                                  (120, 120, True), (90, 12, True)]):
        scores = np.round(rng.random(n) * distinct) / distinct if distinct < n else rng.random(n)
        targets = (rng.random(n) < scores).astype(float)
        weights = rng.choice([0.0, 0.5, 1.0, 2.0, 3.25], n).tolist() if weighted else None
        out.append((f"random-{i}", scores.tolist(), targets.tolist(), weights))
    return out


def main() -> None:
    rng = np.random.default_rng(16)
    written: list[dict[str, Any]] = []
    for name, scores, targets, weights in cases(rng):
        labels = (np.asarray(targets) >= 0.5).astype(int)
        fpr, tpr, _ = roc_curve(labels, scores, sample_weight=weights, drop_intermediate=False)
        precision, recall, _ = precision_recall_curve(labels, scores, sample_weight=weights)
        written.append({"name": name, "scores": scores, "targets": targets, "weights": weights,
                        "fpr": fpr.tolist(), "tpr": tpr.tolist(),
                        "recall": recall[::-1].tolist(), "precision": precision[::-1].tolist()})
    OUT.write_text(json.dumps({"sklearn": sklearn.__version__, "cases": written}, indent=1)
                   + "\n")
    print(f"wrote {len(written)} cases to {OUT}")


if __name__ == "__main__":
    main()
