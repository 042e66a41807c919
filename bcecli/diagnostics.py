"""Diagnostics beside the loss: which samples drive it, per class, and classic metrics.

Fed batch by batch like the totals: `--top K` keeps the K highest-loss samples
seen so far (with the file and line they came from; a sample is kept only if it
is among them, so K at most, however long the input), the per-class losses and
the histogram are running sums, accuracy, Brier score and calibration are
counts per bin. ROC AUC needs every score ranked, so `--metrics` keeps the
predictions and targets (16 bytes per value) until the end.

Metrics use p = the prediction (the sigmoid of a logit) and the target rounded
to 0 or 1, except Brier, which takes soft targets as they are. They are not
weighted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from bcecli.core import FloatArray, LossTotal, Reduction, add_by_class, sigmoid, unreduced
from bcecli.pipeline import Batch

HISTOGRAM_EDGES = (0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
                   20.0, 50.0, 100.0, float("inf"))
CALIBRATION_BINS = 10
DEFAULT_THRESHOLD = 0.5  # predicted positive when p >= 0.5, unless --threshold says


@dataclass(frozen=True)
class DiagnosticOptions:
    """What was asked for; `per_class` comes from the input (several columns)."""

    top: int = 0
    per_class: bool = False
    metrics: bool = False
    histogram: bool = False
    threshold: float | None = None  # --threshold; None: DEFAULT_THRESHOLD
    logits: bool = False  # the predictions are logits: metrics take their sigmoid


class Diagnostics:
    """The running state behind the diagnostics asked for, fed batch by batch."""

    def __init__(self, options: DiagnosticOptions):
        self.options = options
        self.worst: list[tuple[str, Any, Any]] = []  # (where, prediction, target), worst first
        self.worst_losses: FloatArray = np.empty(0)  # their losses, in the same order
        self.classes: list[LossTotal] = []
        self.positives: FloatArray | None = None
        self.counts: FloatArray = np.zeros(len(HISTOGRAM_EDGES) - 1)
        self.scores: list[FloatArray] = []
        self.soft: list[FloatArray] = []

    def observe(self, batch: Batch, losses: FloatArray) -> None:
        """One batch of inputs and their per-element losses."""
        x = batch.predictions.values
        y = batch.targets.values
        per_sample = unreduced(losses, Reduction.ROWS)
        if self.options.top:
            self.keep_worst(batch, per_sample)
        if self.options.histogram:
            self.counts += np.histogram(per_sample, bins=HISTOGRAM_EDGES)[0]
        if self.options.per_class and losses.ndim == 2:
            add_by_class(self.classes, losses, None)
            positives = (y >= 0.5).sum(axis=0)
            self.positives = positives if self.positives is None else self.positives + positives
        if self.options.metrics:
            p = sigmoid(x) if self.options.logits else x
            self.scores.append(np.ravel(p).astype(np.float64))
            self.soft.append(np.ravel(y).astype(np.float64))

    def keep_worst(self, batch: Batch, per_sample: FloatArray) -> None:
        """The K highest losses so far, the earlier sample first among equal ones. Rows
        are ranked as numbers; only those that make the K become items."""
        top, kept = self.options.top, len(self.worst)
        rows = np.arange(len(per_sample)) if kept < top else \
            np.flatnonzero(per_sample > self.worst_losses[-1])
        losses = np.concatenate([self.worst_losses, per_sample[rows]])
        order = np.argsort(-losses, kind="stable")[:top]
        x, y = batch.predictions.values, batch.targets.values

        def item(i: int) -> tuple[str, Any, Any]:
            """The i-th of the ranked losses: a kept item, or a row of this batch made one."""
            if i < kept:
                return self.worst[i]
            row = int(rows[i - kept])
            return batch.predictions.where(row), x[row].tolist(), y[row].tolist()

        self.worst = [item(i) for i in order.tolist()]
        self.worst_losses = losses[order]

    def report(self, labels: tuple[str, ...]) -> dict[str, Any]:
        """The JSON keys for what was asked."""
        out: dict[str, Any] = {}
        if self.options.top:
            out["top"] = [{"where": where, "prediction": p, "target": y, "loss": loss}
                          for (where, p, y), loss in zip(self.worst, self.worst_losses.tolist(),
                                                         strict=True)]
        if self.options.per_class and self.classes:
            out["per_class"] = [
                {"class": labels[j] if j < len(labels) else str(j),
                 "loss": total.result(Reduction.MEAN), "count": total.count,
                 "positives": int(self.positives[j])}  # type: ignore[index]
                for j, total in enumerate(self.classes)]
        if self.options.histogram:
            out["histogram"] = {"edges": list(HISTOGRAM_EDGES),
                                "counts": [int(c) for c in self.counts]}
        if self.options.metrics:
            p = np.concatenate(self.scores)
            soft = np.concatenate(self.soft)
            threshold = self.options.threshold
            out["metrics"] = classic_metrics(
                p, soft, DEFAULT_THRESHOLD if threshold is None else threshold)
        return out


def classic_metrics(p: FloatArray, soft: FloatArray, threshold: float) -> dict[str, Any]:
    """Accuracy at a threshold, Brier score, ROC AUC and expected calibration error."""
    y = soft >= 0.5
    return {"threshold": threshold, "accuracy": float(np.mean((p >= threshold) == y)),
            "brier": float(np.mean((p - soft) ** 2)), "roc_auc": roc_auc(p, y),
            "ece": calibration_error(p, y)}


def roc_auc(p: FloatArray, y: np.ndarray[Any, np.dtype[np.bool_]]) -> float | None:
    """Area under the ROC curve as the Mann-Whitney U statistic, ties counted half."""
    positives = int(y.sum())
    negatives = len(y) - positives
    if not positives or not negatives:
        return None  # undefined with one class only (scikit-learn raises)
    order = np.argsort(p, kind="mergesort")
    ranks = np.empty(len(p))
    sorted_p = p[order]
    # average ranks over ties: each run of equal scores gets the mean of its positions
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])
    ends = np.r_[starts[1:], len(p)]
    average = (starts + ends + 1) / 2  # 1-based mean rank of each run
    ranks[order] = np.repeat(average, ends - starts)
    u = ranks[y].sum() - positives * (positives + 1) / 2
    return float(u / (positives * negatives))


def calibration_error(p: FloatArray, y: np.ndarray[Any, np.dtype[np.bool_]]) -> float:
    """Expected calibration error over ten equal-width bins of p (binned as
    scikit-learn's `calibration_curve` bins: a p on an edge goes to the lower bin)."""
    bins = np.searchsorted(np.linspace(0, 1, CALIBRATION_BINS + 1)[1:-1], p)
    count = np.bincount(bins, minlength=CALIBRATION_BINS)
    confidence = np.bincount(bins, weights=p, minlength=CALIBRATION_BINS)
    observed = np.bincount(bins, weights=y.astype(float), minlength=CALIBRATION_BINS)
    used = count > 0
    gap = np.abs(confidence[used] - observed[used])  # per bin: count · |mean p − mean y|
    return float(gap.sum() / len(p))
