"""Generate tests/golden/metrics_cases.json from torcheval and scikit-learn.

    /work/.venv-gen/bin/python -m venv /tmp/evalsums-gen
    /tmp/evalsums-gen/bin/pip install torch==2.13.0 torcheval scikit-learn
    /tmp/evalsums-gen/bin/python scripts/make_golden_metrics.py

Each case is one data set (probabilities or logits, hard or soft targets, weights
or none) and what the reference libraries report for it, run on float64 tensors
and arrays:

- ``torcheval_ne``: torcheval.metrics.functional.binary_normalized_entropy
  (``from_logits`` for logits, ``weight``), and ``torcheval_ne_merged``, the same
  from the class BinaryNormalizedEntropy updated with the data in three pieces;
- ``torcheval_calibration``: torcheval.metrics.functional.weighted_calibration on
  the probabilities (torch.sigmoid of logits), with the weights;
- ``sklearn_accuracy``: accuracy_score(y >= 0.5, p >= threshold, sample_weight=w);
- ``sklearn_brier``: brier_score_loss(y, p, sample_weight=w), hard targets only;
- ``sklearn_bins``: calibration_curve(y, p, n_bins=bins) as [prob_pred, prob_true]
  (its non-empty bins, in order); hard targets, without weights or with whole-number
  weights, which count as that many copies of the row (calibration_curve has no
  sample_weight).

None where the library does not apply (soft targets for scikit-learn).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
import torch
import torcheval
from sklearn.calibration import calibration_curve
from sklearn.metrics import accuracy_score, brier_score_loss
from torcheval.metrics import BinaryNormalizedEntropy
from torcheval.metrics.functional import binary_normalized_entropy, weighted_calibration

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "metrics_cases.json"
EDGES_10 = np.linspace(0.0, 1.0, 11)  # scikit-learn's bin edges for 10 bins


def case(name: str, values: np.ndarray, y: np.ndarray, w: np.ndarray | None = None, *,
         logits: bool = False, bins: int = 10, threshold: float = 0.5) -> dict[str, Any]:
    """The inputs and every reference value for them."""
    xt = torch.tensor(values, dtype=torch.float64)
    yt = torch.tensor(y, dtype=torch.float64)
    wt = None if w is None else torch.tensor(w, dtype=torch.float64)
    p = torch.sigmoid(xt).numpy() if logits else values
    ne = binary_normalized_entropy(xt, yt, weight=wt, from_logits=logits)
    metric = BinaryNormalizedEntropy(from_logits=logits)
    for piece in np.array_split(np.arange(len(values)), 3):
        if len(piece):
            index = torch.tensor(piece)
            metric.update(xt[index], yt[index], weight=None if wt is None else wt[index])
    calibration = weighted_calibration(torch.tensor(p), yt, 1.0 if wt is None else wt)
    hard = bool(np.isin(y, [0.0, 1.0]).all())
    whole = w is None or bool((w == np.round(w)).all())
    out: dict[str, Any] = {
        "name": name, "logits": logits, "bins": bins, "threshold": threshold,
        "input": values.tolist(), "target": y.tolist(),
        "weight": None if w is None else w.tolist(),
        "torcheval_ne": float(ne.item()), "torcheval_ne_merged": float(metric.compute().item()),
        "torcheval_calibration": float(calibration.item()),
        "sklearn_accuracy": float(accuracy_score(y >= 0.5, p >= threshold, sample_weight=w)),
        "sklearn_brier": None, "sklearn_bins": None}
    if hard:
        out["sklearn_brier"] = float(brier_score_loss(y, p, sample_weight=w))
    if hard and whole:
        copies = np.ones(len(y), np.int64) if w is None else w.astype(np.int64)
        prob_true, prob_pred = calibration_curve(np.repeat(y, copies), np.repeat(p, copies),
                                                 n_bins=bins)
        out["sklearn_bins"] = [prob_pred.tolist(), prob_true.tolist()]
    return out


def cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(20261124)

    def probabilities(n: int) -> np.ndarray:
        return rng.random(n)

    def labels(p: np.ndarray) -> np.ndarray:
        return (rng.random(len(p)) < p).astype(np.float64)

    out = []
    for i, n in enumerate((12, 40, 40)):
        p = probabilities(n)
        out.append(case(f"unweighted {i}", p, labels(p)))
    for i, n in enumerate((15, 40, 40)):
        p = probabilities(n)
        out.append(case(f"weighted {i}", p, labels(p), rng.random(n) * 3))
    for i, n in enumerate((20, 40)):
        p = probabilities(n)
        out.append(case(f"whole weights {i}", p, labels(p),
                        rng.integers(0, 5, n).astype(np.float64)))
    p = probabilities(30)
    out.append(case("soft targets", p, rng.random(30)))
    out.append(case("soft targets, weighted", p, rng.random(30), rng.random(30)))
    out.append(case("soft targets, logits", rng.normal(0, 2, 30), rng.random(30),
                    rng.random(30), logits=True))
    p = probabilities(25)
    out.append(case("all negative", p, np.zeros(25)))
    out.append(case("all negative, weighted", p, np.zeros(25), rng.random(25)))
    out.append(case("all positive", p, np.ones(25)))
    out.append(case("all positive, weighted", p, np.ones(25), rng.random(25)))
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 0.25, 0.0, 1.0])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0])
    out.append(case("p at 0 and 1", p, y))
    out.append(case("p at 0 and 1, weighted", p, y, np.arange(1.0, 9.0)))
    edges = np.concatenate([EDGES_10, np.arange(11) / 10, np.nextafter(EDGES_10, 2)[:-1]])
    out.append(case("p on the edges", edges, labels(edges)))
    out.append(case("p on the edges, 5 bins", edges, labels(edges), bins=5))
    p = probabilities(40)
    out.append(case("7 bins", p, labels(p), bins=7))
    out.append(case("20 bins, whole weights", p, labels(p),
                    rng.integers(1, 4, 40).astype(np.float64), bins=20))
    x = rng.normal(0, 3, 40)
    out.append(case("logits", x, labels(1 / (1 + np.exp(-x))), logits=True))
    out.append(case("logits, weighted", x, labels(1 / (1 + np.exp(-x))), rng.random(40),
                    logits=True))
    x = np.array([-40.0, -20.0, -5.0, 0.0, 5.0, 20.0, 40.0, 0.5])
    out.append(case("large logits", x, np.array([0, 1, 0, 1, 1, 0, 1, 0.0]), logits=True))
    p = probabilities(40)
    out.append(case("threshold 0.3", p, labels(p), threshold=0.3))
    out.append(case("threshold 0.7, weighted", p, labels(p), rng.random(40), threshold=0.7))
    w = rng.random(30)
    w[::3] = 0.0
    p = probabilities(30)
    out.append(case("zero weights", p, labels(p), w))
    out.append(case("one element", np.array([0.3]), np.array([1.0])))
    out.append(case("two elements, weighted", np.array([0.3, 0.8]), np.array([1.0, 0.0]),
                    np.array([2.0, 0.5])))
    p = probabilities(40) * 0.02
    out.append(case("rare positives", p, np.where(np.arange(40) < 2, 1.0, 0.0)))
    return out


def main() -> None:
    document = {"generated_by": "scripts/make_golden_metrics.py",
                "versions": {"torch": torch.__version__, "torcheval": torcheval.__version__,
                             "scikit-learn": sklearn.__version__, "numpy": np.__version__},
                "cases": cases()}
    OUT.write_text(json.dumps(document, indent=1) + "\n")
    print(f"{len(document['cases'])} cases -> {OUT}")


if __name__ == "__main__":
    main()
