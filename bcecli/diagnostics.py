"""Diagnostics beside the loss: which samples drive it, per class, and evaluation metrics.

Fed batch by batch like the totals: `--top K` keeps the K highest-loss samples
seen so far (with the file and line they came from; a sample is kept only if it
is among them, so K at most, however long the input), the per-class losses and
the histogram are running sums. `--metrics` feeds the library layer of issue 13:
`evaluation.EvalSums` (exact sums: NE, calibration, accuracy, Brier, equal-width
reliability bins, the loss's interval), `ranking.ScoreSketch` (ROC AUC and
average precision in at most `cap` buckets, with certified bounds once scores
share buckets; equal-mass bins) and, with `--bootstrap B`, `evaluation.Bootstrap`.
Memory is that of the sketch and a batch, however long the input: nothing is
written to disk.

Metrics use p = the prediction (the sigmoid of a logit), recalibrated first when
a negative sampling rate is given, and every element's weight (row weights times
class weights, as the loss's). The definitions: docs/usage.md, "--metrics".
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from bcecli.core import (
    FloatArray,
    LossFunction,
    LossTotal,
    Reduction,
    add_by_class,
    check_predictions,
    check_targets,
    check_weights,
    sigmoid,
    unreduced,
)
from bcecli.errors import BadValue, InputError
from bcecli.evaluation import (
    DEFAULT_BINS,
    DEFAULT_SEED,
    DEFAULT_THRESHOLD,
    Bins,
    Bootstrap,
    EvalSums,
    in_base,
    recalibrate,
)
from bcecli.pipeline import Batch, located, weight_array
from bcecli.ranking import ScoreSketch

HISTOGRAM_EDGES = (0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
                   20.0, 50.0, 100.0, float("inf"))
# The sketch's buckets when pyarrow reads the input (its CSV and Parquet readers hold
# 35-45 MiB more than numpy's): 2**19 peaked at 175 MiB on 5M rows of CSV, 2**18 at 139
# (CSV) and 149 MiB (Parquet), 2**17 at 129 and 132 MiB. docs/usage.md, "--metrics".
ARROW_CAP = 1 << 17


@dataclass(frozen=True)
class DiagnosticOptions:
    """What was asked for; `per_class` comes from the input (several columns)."""

    top: int = 0
    per_class: bool = False
    metrics: bool = False
    histogram: bool = False
    threshold: float | None = None  # --threshold; None: DEFAULT_THRESHOLD
    logits: bool = False  # the predictions are logits: metrics take their sigmoid
    bins: int = DEFAULT_BINS  # --bins
    mass: bool = False  # --binning mass: equal-mass bins from the sketch
    base: float | None = None  # --base 2: losses in bits; None: nats
    rate: float = 1.0  # --negative-sampling-rate
    bootstrap: int = 0  # --bootstrap B: replicates
    seed: int = DEFAULT_SEED
    reduction: str = "mean"  # the loss's reduction, for its interval
    weighted: bool = False  # row or class weights are given
    class_weights: list[float] | None = None


class Recalibrated(LossFunction):
    """A loss function whose predictions are first recalibrated for negatives kept at
    `rate` (`--negative-sampling-rate`), as TorchRec's recalibrated NE does: with
    probabilities p' = p / (p + (1 − p)/R) (`evaluation.recalibrate`); with logits
    the same map is x' = x + ln R (the odds times R), so the loss stays the stable
    one from logits."""

    def __init__(self, function: LossFunction, rate: float) -> None:
        self.__dict__.update(function.__dict__)
        self.rate = rate

    def __call__(self, input: ArrayLike, target: ArrayLike, weight: ArrayLike | None = None
                 ) -> FloatArray:
        return super().__call__(recalibrated(np.asarray(input, np.float64), self.rate,
                                             self.logits), target, weight)


def recalibrated(x: FloatArray, rate: float, logits: bool) -> FloatArray:
    """Predictions (or logits) recalibrated for `rate`; checked first, so that a bad
    value is reported as read."""
    if rate == 1:
        return x
    check_predictions(x, logits)
    shifted: FloatArray = x + math.log(rate) if logits else recalibrate(x, rate)
    return shifted


def probabilities(x: FloatArray, options: DiagnosticOptions) -> FloatArray:
    """What the metrics rank and bin: the (recalibrated) probability of each element."""
    x = recalibrated(x, options.rate, options.logits)
    return sigmoid(x) if options.logits else x


class Diagnostics:
    """The running state behind the diagnostics asked for, fed batch by batch."""

    def __init__(self, options: DiagnosticOptions):
        self.options = options
        self.worst: list[tuple[str, Any, Any]] = []  # (where, prediction, target), worst first
        self.worst_losses: FloatArray = np.empty(0)  # their losses, in the same order
        self.classes: list[LossTotal] = []
        self.positives: FloatArray | None = None
        self.counts: FloatArray = np.zeros(len(HISTOGRAM_EDGES) - 1)
        self.metrics = Metrics(options) if options.metrics else None

    def observe(self, batch: Batch, losses: FloatArray) -> None:
        """One batch of inputs and their per-element losses (in nats, times the weight)."""
        y = batch.targets.values
        if self.metrics is not None:
            self.metrics.observe(batch, losses)
        losses = in_base(losses, self.options.base)  # --top, --hist and the classes too
        per_sample = unreduced(losses, Reduction.ROWS)
        if self.options.top:
            self.keep_worst(batch, per_sample)
        if self.options.histogram:
            self.counts += np.histogram(per_sample, bins=HISTOGRAM_EDGES)[0]
        if self.options.per_class and losses.ndim == 2:
            add_by_class(self.classes, losses, None)
            positives = (y >= 0.5).sum(axis=0)
            self.positives = positives if self.positives is None else self.positives + positives

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
        if self.metrics is not None:
            out["metrics"] = self.metrics.result()
        return out



class Metrics:
    """`--metrics`: the exact sums (`EvalSums`), the score sketch (`ScoreSketch`) and,
    with `--bootstrap`, the replicate sums, fed the same elements, weights and losses."""

    def __init__(self, options: DiagnosticOptions) -> None:
        self.options = options
        threshold = DEFAULT_THRESHOLD if options.threshold is None else options.threshold
        self.sums = EvalSums(bins=options.bins, threshold=threshold)
        self.sketch = ScoreSketch(options.weighted)
        self.bootstrap = Bootstrap(options.bootstrap, seed=options.seed, threshold=threshold) \
            if options.bootstrap else None
        self.rows = 0  # rows seen so far: the bootstrap's keys

    def observe(self, batch: Batch, losses: FloatArray) -> None:
        """A batch: its probabilities, targets and weights, broadcast to one per element.
        The first one tells whether pyarrow is reading (it is imported by then)."""
        x, y = batch.predictions.values, batch.targets.values
        try:  # what PyTorch allows (--like torch) but a metric cannot take
            check_targets(y)
            if batch.weights is not None:
                check_weights(batch.weights.values, "weight")
        except BadValue as e:
            error = located(e, batch, self.options.logits)
            raise InputError(f"{error.message}: --metrics needs targets in [0, 1] and "
                             f"weights >= 0", where=error.where) from None
        if not self.rows and "pyarrow" in sys.modules:
            self.sketch = ScoreSketch(self.options.weighted, ARROW_CAP)  # still empty
        p = probabilities(x, self.options)
        weight = weight_array(batch, self.options.class_weights)
        w = None if weight is None else np.broadcast_to(weight, p.shape)
        self.sums.observe(p, y, losses, w)
        self.sketch.add(p, y, w)
        if self.bootstrap is not None:
            keys = np.arange(self.rows, self.rows + len(p), dtype=np.uint64)
            self.bootstrap.observe(keys if p.ndim == 1 else keys[:, np.newaxis], p, y, losses, w)
        self.rows += len(p)

    def result(self) -> dict[str, Any]:
        """The JSON of `--metrics` (the table renders the same dict)."""
        options = self.options
        sums = self.sums.result(options.reduction, options.base)
        out: dict[str, Any] = {"threshold": self.sums.threshold}
        out["accuracy"], out["brier"] = sums["accuracy"], sums["brier"]
        for name, estimate in (("roc_auc", self.sketch.roc_auc()),
                               ("average_precision", self.sketch.average_precision())):
            out[name] = None if estimate is None else estimate.value
            if estimate is not None and not estimate.exact:
                out[f"{name}_bounds"] = [estimate.low, estimate.high]
        if options.mass:
            bins = self.mass_bins()
            sums |= {"ece": bins.ece, "mce": bins.mce,
                     "calibration_bins": [b.to_json() for b in bins.bins]}
        out["ece"], out["mce"] = sums["ece"], sums["mce"]
        for name in ("normalized_entropy", "relative_information_gain", "calibration",
                     "mean_prediction", "mean_label", "prior_entropy", "loss_ci95"):
            out[name] = sums[name]
        out["binning"] = "mass" if options.mass else "width"
        out["calibration_bins"] = sums["calibration_bins"]
        if self.bootstrap is not None:
            intervals = self.bootstrap.intervals(options.reduction, options.base)
            out["bootstrap"] = {"replicates": self.bootstrap.replicates, "seed": options.seed} | {
                f"{name}_ci95": None if interval is None else list(interval)
                for name, interval in intervals.items()}
        return out

    def mass_bins(self) -> Bins:
        """The equal-mass table, from the sketch's bins (`ScoreSketch.mass_edges`; none
        on zero weight). Σw² per bin is known only without weights (the count):
        weighted, no Wilson interval."""
        mass = self.sketch.mass_edges(self.options.bins)
        if mass is None:
            return Bins((), None, None)
        squares = [math.nan] * len(mass.count) if self.options.weighted else \
            [float(c) for c in mass.count]
        return Bins.from_sums(mass.edges[:-1], mass.edges[1:], mass.count, mass.weight,
                              squares, mass.sum_p, mass.sum_y)
