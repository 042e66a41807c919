"""Generate tests/golden/framework_cases.json from PyTorch, Keras and scikit-learn.

    python -m venv /tmp/fw && /tmp/fw/bin/pip install torch==2.13.0 keras scikit-learn
    KERAS_BACKEND=torch /tmp/fw/bin/python scripts/make_golden_frameworks.py

Each case is one data set and what each library reports for it with its own
defaults: torch.nn.BCELoss / BCEWithLogitsLoss (float64 tensors),
keras.losses.BinaryCrossentropy (its default float32), and
sklearn.metrics.log_loss (binary hard labels only; logits through expit).
These are the conventions `bce --like` and `bce compare` reproduce.

Multi-label (N×C) cases also carry one loss per row (`bce -r rows`): PyTorch's
`reduction="none"` losses averaged over classes (`torch_rows`) and Keras'
`reduction=None` (`keras_rows`); scikit-learn's number is the per-class mean
(`log_loss` on each column, averaged over classes, weighted by the class
weights) that `bce compare` reports, and `sklearn_matrix` is what `log_loss`
gives on the whole N×C matrix, which it reads as one multiclass problem.
"""

from __future__ import annotations

import itertools
import json
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras
import sklearn
import torch
from scipy.special import expit
from sklearn.calibration import calibration_curve
from sklearn.metrics import accuracy_score, brier_score_loss, log_loss, roc_auc_score

OUT = Path(__file__).resolve().parent.parent / "tests" / "golden" / "framework_cases.json"


def torch_losses(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool,
                 smoothing: float, class_weights: np.ndarray | None = None,
                 reduction: str = "mean") -> torch.Tensor:
    """PyTorch's loss; `w` per row (N), or per element (N×C), times `class_weights` (C)."""
    xt, yt = torch.tensor(x, dtype=torch.float64), torch.tensor(y, dtype=torch.float64)
    yt = yt * (1 - smoothing) + 0.5 * smoothing
    weight = w if w is None or x.ndim == 1 or w.ndim == 2 else w[:, None]
    if class_weights is not None:
        weight = class_weights if weight is None else weight * class_weights
    wt = None if weight is None else torch.tensor(weight, dtype=torch.float64)
    loss = torch.nn.BCEWithLogitsLoss(weight=wt, reduction=reduction) if logits else \
        torch.nn.BCELoss(weight=wt, reduction=reduction)
    return loss(xt, yt)


def torch_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool,
               smoothing: float, class_weights: np.ndarray | None = None) -> float:
    return float(torch_losses(x, y, w, logits, smoothing, class_weights).item())


def torch_rows(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool,
               smoothing: float, class_weights: np.ndarray | None = None) -> list[float]:
    """One loss per row: `reduction="none"`, then the mean over classes."""
    losses = torch_losses(x, y, w, logits, smoothing, class_weights, reduction="none")
    return [float(v) for v in losses.mean(-1).tolist()]


def keras_losses(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool,
                 smoothing: float, reduction: str | None = "sum_over_batch_size") -> np.ndarray:
    loss = keras.losses.BinaryCrossentropy(from_logits=logits, label_smoothing=smoothing,
                                           reduction=reduction)
    x2, y2 = (x[:, None], y[:, None]) if x.ndim == 1 else (x, y)
    value = loss(y2.astype(np.float32), x2.astype(np.float32),
                 sample_weight=None if w is None else w.astype(np.float32))
    return np.asarray(keras.ops.convert_to_numpy(value))


def keras_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool,
               smoothing: float) -> float:
    return float(keras_losses(x, y, w, logits, smoothing))


def keras_rows(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool,
               smoothing: float) -> list[float]:
    """Keras' `reduction=None`: one float32 loss per row, the mean over classes."""
    return [float(v) for v in keras_losses(x, y, w, logits, smoothing, reduction=None)]


def sklearn_loss(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool) -> float:
    p = expit(x) if logits else x
    return float(log_loss(y, p, sample_weight=w, labels=[0, 1]))


def sklearn_per_class(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool,
                      class_weights: np.ndarray | None = None) -> float:
    """`log_loss` on each column with that column's sample weights, then the mean over
    classes, weighted by the class weights: what `bce compare` reports on N×C input."""
    per_class = [sklearn_loss(x[:, c], y[:, c], None if w is None else
                              (w if w.ndim == 1 else w[:, c]), logits)
                 for c in range(x.shape[1])]
    return float(np.average(per_class, weights=class_weights))


def sklearn_matrix(x: np.ndarray, y: np.ndarray, w: np.ndarray | None, logits: bool) -> float:
    """`log_loss` on the N×C matrices as they are: scikit-learn reads a multiclass
    problem (−Σ_c y·log p per row), and warns that the rows do not sum to one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return float(log_loss(y, expit(x) if logits else x, sample_weight=w))


def cases() -> list[dict[str, Any]]:
    rng = np.random.default_rng(11)
    out = []
    for logits, weighted, shape, smoothing in itertools.product(
            (False, True), (False, True), ((24,), (8, 3)), (0.0, 0.1)):
        if logits:
            x = rng.normal(0, 5, shape)
            x.flat[:3] = [40.0, -40.0, 0.0]
        else:
            x = rng.uniform(0, 1, shape)
            x.flat[:4] = [0.0, 1.0, 1e-12, 1 - 1e-9]
        y = rng.integers(0, 2, shape).astype(np.float64)
        w = rng.uniform(0.2, 3, shape[0]) if weighted else None
        case: dict[str, Any] = dict(
            name=f"{'logits' if logits else 'probs'}-{'x'.join(map(str, shape))}"
                 f"-{'weighted' if weighted else 'plain'}-smoothing{smoothing}",
            input=x.tolist(), target=y.tolist(), weight=None if w is None else w.tolist(),
            logits=logits, label_smoothing=smoothing,
            torch=torch_loss(x, y, w, logits, smoothing),
            keras=keras_loss(x, y, w, logits, smoothing))
        if x.ndim == 1 and not smoothing:  # log_loss takes binary hard labels only
            case["sklearn"] = sklearn_loss(x, y, w, logits)
        if x.ndim == 2:
            case.update(torch_rows=torch_rows(x, y, w, logits, smoothing),
                        keras_rows=keras_rows(x, y, w, logits, smoothing))
            if not smoothing:
                case.update(sklearn=sklearn_per_class(x, y, w, logits),
                            sklearn_matrix=sklearn_matrix(x, y, w, logits))
        out.append(case)
    for n, logits in itertools.product((5, 200, 2000), (False, True)):  # more binary sets
        x = rng.normal(0, 8, n) if logits else rng.beta(0.3, 0.3, n)
        y = (rng.uniform(0, 1, n) < 0.4).astype(np.float64)
        w = rng.uniform(0, 2, n)
        out.append(dict(name=f"binary-{n}-{'logits' if logits else 'probs'}", input=x.tolist(),
                        target=y.tolist(), weight=w.tolist(), logits=logits, label_smoothing=0.0,
                        torch=torch_loss(x, y, w, logits, 0.0),
                        keras=keras_loss(x, y, w, logits, 0.0),
                        sklearn=sklearn_loss(x, y, w, logits)))
    return out


def multilabel_cases() -> list[dict[str, Any]]:
    """N×C sets with per-element weights, class weights (one of them 0), or both: PyTorch's
    loss and rows, and scikit-learn's per-class mean (Keras has neither kind of weight)."""
    rng = np.random.default_rng(23)
    out = []
    for logits, weights, with_classes in itertools.product(
            (False, True), ("none", "rows", "matrix"), (False, True)):
        if weights == "none" and not with_classes:
            continue  # the plain N×C sets are in cases()
        shape = (30, 4)
        x = rng.normal(0, 4, shape) if logits else rng.uniform(0, 1, shape)
        y = rng.integers(0, 2, shape).astype(np.float64)
        w = {"none": None, "rows": rng.uniform(0.2, 3, shape[0]),
             "matrix": rng.uniform(0, 3, shape)}[weights]
        v = np.array([2.0, 0.5, 0.0, 1.25]) if with_classes else None
        out.append(dict(
            name=f"multilabel-{'logits' if logits else 'probs'}-{weights}-weights"
                 f"{'-class-weights' if with_classes else ''}",
            input=x.tolist(), target=y.tolist(), weight=None if w is None else w.tolist(),
            class_weights=None if v is None else v.tolist(), logits=logits,
            label_smoothing=0.0, torch=torch_loss(x, y, w, logits, 0.0, v),
            torch_rows=torch_rows(x, y, w, logits, 0.0, v),
            sklearn=sklearn_per_class(x, y, w, logits, v)))
    return out


def metric_cases() -> list[dict[str, Any]]:
    """Accuracy, Brier score, ROC AUC and expected calibration error from scikit-learn."""
    rng = np.random.default_rng(5)
    out = []
    for name, logits, decimals in (("ties", False, 2), ("smooth", False, None),
                                   ("logits", True, None)):
        p = rng.uniform(0, 1, 300)
        if decimals:
            p = np.round(p, decimals)  # ties for the AUC, values on the bin edges
        y = (rng.uniform(0, 1, 300) < p).astype(np.float64)
        x = np.log(p / (1 - p)) if logits else p
        scores = expit(x) if logits else p
        prob_true, prob_pred = calibration_curve(y, scores, n_bins=10)
        counts = np.bincount(np.searchsorted(np.linspace(0, 1, 11)[1:-1], scores), minlength=10)
        counts = counts[counts > 0]
        out.append(dict(name=name, input=x.tolist(), target=y.tolist(), logits=logits,
                        accuracy=float(accuracy_score(y, scores >= 0.5)),
                        brier=float(brier_score_loss(y, scores)),
                        roc_auc=float(roc_auc_score(y, scores)),
                        ece=float(np.sum(counts / len(y) * np.abs(prob_true - prob_pred)))))
    return out


def main() -> None:
    all_cases = cases() + multilabel_cases()
    OUT.write_text(json.dumps({
        "generator": "scripts/make_golden_frameworks.py", "torch": torch.__version__,
        "keras": f"{keras.__version__} ({keras.backend.backend()} backend)",
        "sklearn": sklearn.__version__, "cases": all_cases, "metrics": metric_cases()},
        indent=1) + "\n")
    print(f"wrote {len(all_cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
