"""`bce diff`: two models' losses on the same targets, and whether their difference is noise.

Both models' per-element losses (already times the weight) come from the same
`LossFunction`; d = l_B − l_A is kept exactly (TwoSum: d = s + e), and every sum
is exact (core's `accurate_sum`, evaluation's `two_product`), so Δ = loss_B −
loss_A is exact to one rounding and a model compared with itself gives Δ = 0 with
a [0, 0] interval. The interval is `evaluation.mean_ci95` on the paired
differences: the loss's own interval, with d in place of the loss. State is a
few sums per class, whatever the number of rows.

Per-slice differences (`--by`) are one `PairedSums` per slice (`slices.SliceIndex`
numbers them), beside the per-class ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bcecli.core import DType, FloatArray, LossFunction, LossTotal, Reduction
from bcecli.errors import BadValue, InputError, UsageError, format_float
from bcecli.evaluation import Interval, add_parts, exact_sum, fraction, mean_ci95, two_product
from bcecli.gates import Gate
from bcecli.pipeline import Batch, earliest_problem, weight_array
from bcecli.slices import SliceIndex, order_key


def difference(b: FloatArray, a: FloatArray) -> tuple[FloatArray, FloatArray]:
    """b − a as s + e exactly (Knuth's TwoSum); where an infinite loss leaves the error
    undefined it is 0 (the sums are infinite then, and the interval none)."""
    with np.errstate(invalid="ignore", over="ignore"):
        s = b - a
        b_virtual = s + a
        a_virtual = b_virtual - s
        error = (b - b_virtual) + (a_virtual - a)
    error[~np.isfinite(error)] = 0.0
    return s, error


@dataclass(repr=False, eq=False)
class PairedSums:
    """Exact sums over paired elements: each model's losses (`LossTotal`s), and Σd, Σd²,
    Σw·d, Σw² of the differences for their interval."""

    a: LossTotal = field(default_factory=LossTotal)
    b: LossTotal = field(default_factory=LossTotal)
    sums: dict[str, list[float]] = field(default_factory=lambda: {
        "d": [], "d_sq": [], "weight_d": [], "weight_sq": []})
    weighted: bool = False

    def add(self, a: FloatArray, b: FloatArray, weight: FloatArray | None) -> None:
        """Flat float64 losses of A and B, and their weights (None: all 1)."""
        self.a.add(a, weight)
        self.b.add(b, weight)
        d, e = difference(b, a)
        with np.errstate(over="ignore", invalid="ignore"):  # an infinite loss: no interval
            square, square_error = two_product(d, d)
            new = {"d": exact_sum(d, e), "d_sq": exact_sum(square, square_error + 2 * d * e)}
            if weight is not None:
                self.weighted = True
                new["weight_d"] = exact_sum(*sum_with(two_product(weight, d), weight * e))
                new["weight_sq"] = exact_sum(*two_product(weight, weight))
        for name, parts in new.items():
            self.sums[name] = add_parts(self.sums[name], parts)

    @property
    def count(self) -> int:
        return self.a.count

    def delta(self, reduction: Reduction) -> float | None:
        """loss_B − loss_A from the exact sums, rounded once; None where undefined (an
        infinite loss on both sides)."""
        a, b = self.a.loss_parts, self.b.loss_parts
        if not all(math.isfinite(v) for v in a + b):
            loss_a, loss_b = self.a.result(reduction), self.b.result(reduction)
            return None if math.isinf(loss_a) and loss_a == loss_b else loss_b - loss_a
        d = fraction(b) - fraction(a)
        if reduction == Reduction.SUM:
            return float(d)
        if reduction == Reduction.WEIGHTED_MEAN and self.weighted:
            return float(d / fraction(self.a.weight_parts))
        return float(d / self.count)

    def interval(self, reduction: Reduction) -> Interval | None:
        """The paired 95% interval of Δ (`evaluation.mean_ci95` on the differences)."""
        n, sums = self.count, self.sums
        weight = self.a.weight_parts if self.weighted else [float(n)]
        return mean_ci95(reduction, n, sums["d"], sums["d_sq"], weight,
                         sums["weight_sq"] if self.weighted else [float(n)],
                         sums["weight_d"] if self.weighted else sums["d"])

    def result(self, reduction: Reduction, dtype: DType) -> dict[str, Any]:
        """loss_a, loss_b, delta and delta_ci95, as the JSON holds them."""
        interval = self.interval(reduction)
        return {"loss_a": self.a.result(reduction, dtype),
                "loss_b": self.b.result(reduction, dtype), "delta": self.delta(reduction),
                "delta_ci95": None if interval is None else list(interval)}


def sum_with(pair: tuple[FloatArray, FloatArray], more: FloatArray
             ) -> tuple[FloatArray, FloatArray]:
    """A `two_product` (product, error) with more error terms added to its error."""
    return pair[0], pair[1] + more


class Diff:
    """The running state of `bce diff`: paired sums over every element and per class,
    and how many rows B's loss is lower or higher on. `observe` is the pipeline's batch
    hook: it gets model A's losses, computes B's with the same function and weights."""

    def __init__(self, function: LossFunction, class_weights: list[float] | None,
                 skip_missing: bool, index: SliceIndex | None = None) -> None:
        self.function = function
        self.index = index  # --by
        self.slices: list[PairedSums] = []
        self.class_weights = class_weights
        self.skip_missing = skip_missing
        self.total = PairedSums()
        self.classes: list[PairedSums] = []
        self.rows = 0
        self.better = 0
        self.worse = 0

    def observe(self, batch: Batch, losses: FloatArray) -> None:
        assert batch.second is not None
        weight = weight_array(batch, self.class_weights)
        try:
            second = self.function(batch.second.values, batch.targets.values, weight)
        except BadValue:
            raise earliest_problem(batch, [self.function], self.class_weights,
                                   self.skip_missing) from None
        a, b = (np.asarray(x, dtype=np.float64) for x in (losses, second))
        w = None if weight is None else \
            np.broadcast_to(np.asarray(self.function.cast(weight), dtype=np.float64), a.shape)
        self.total.add(a.ravel(), b.ravel(), None if w is None else w.ravel())
        if a.ndim == 2:
            if not self.classes:
                self.classes = [PairedSums() for _ in range(a.shape[1])]
            for j, sums in enumerate(self.classes):
                sums.add(a[:, j], b[:, j], None if w is None else w[:, j])
        if self.index is not None:
            self.observe_slices(batch, a, b, w)
        d, e = difference(b, a)
        by_row = d if d.ndim == 1 else d.sum(axis=1) + e.sum(axis=1)
        self.rows += len(by_row)
        self.better += int(np.count_nonzero(by_row < 0))
        self.worse += int(np.count_nonzero(by_row > 0))

    def observe_slices(self, batch: Batch, a: FloatArray, b: FloatArray,
                       w: FloatArray | None) -> None:
        """Each slice's elements of the batch, added to its paired sums."""
        assert self.index is not None
        inverse, numbers = self.index.locate(batch)
        self.slices += [PairedSums() for _ in range(len(self.index) - len(self.slices))]
        segments = np.repeat(inverse, 1 if a.ndim == 1 else a.shape[1])
        order = np.argsort(segments, kind="stable")
        cuts = np.searchsorted(segments[order], np.arange(len(numbers) + 1)).tolist()
        a, b = a.ravel()[order], b.ravel()[order]
        weights = None if w is None else w.ravel()[order]
        for j, number in enumerate(numbers.tolist()):
            start, end = cuts[j], cuts[j + 1]
            self.slices[number].add(a[start:end], b[start:end],
                                    None if weights is None else weights[start:end])

    def result(self, reduction: Reduction, dtype: DType, class_names: tuple[str, ...]
               ) -> dict[str, Any]:
        """The JSON keys of the comparison, in their order."""
        out = self.total.result(reduction, dtype) | {
            "better": self.better / self.rows, "worse": self.worse / self.rows,
            "better_rows": self.better, "worse_rows": self.worse, "rows": self.rows}
        if self.classes:
            out["per_class"] = [{"class": name} | sums.result(reduction, dtype)
                                for name, sums in zip(class_names, self.classes, strict=True)]
        if self.index is not None:
            classes = len(self.classes) or 1
            slices: list[dict[str, Any]] = [
                {"by": self.index.by(k), "rows": sums.count // classes,
                 "count": sums.count} | sums.result(reduction, dtype)
                for k, sums in enumerate(self.slices)]
            slices.sort(key=lambda s: (s["delta"] is None, -(s["delta"] or 0.0),
                                       order_key(tuple(s["by"].values()))))
            out["slices"] = slices
        return out


# The numbers `bce diff --check` may gate: keys of `Diff.result`.
DIFF_METRICS = ("delta", "loss_a", "loss_b", "better", "worse")


def check_regression(bound: float | None) -> None:
    """`--max-regression X` must be a finite number (before any input is read)."""
    if bound is not None and not math.isfinite(bound):
        raise UsageError(f"--max-regression must be a finite number, not {format_float(bound)}")


def regression_gate(bound: float, delta: float | None, interval: Interval | None) -> Gate:
    """`--max-regression X`: fails when Δ's interval lies above X (its lower end > X), a
    regression beyond noise. With no interval (fewer than two elements, an infinite
    loss) it decides only an infinite Δ: +inf fails (B's loss is infinite, A's not),
    −inf holds; anything else is an error, not a guess."""
    name = f"--max-regression {format_float(bound)}"
    expression = f"delta_ci95 low <= {format_float(bound)}"
    if interval is None:
        if delta is not None and math.isinf(delta):
            return Gate(expression, "--max-regression", delta, delta < 0,
                        f"Δ is +inf (B's loss is infinite): a regression beyond {name}")
        raise InputError(f"{name} cannot decide: Δ has no interval (it needs two or more "
                         "elements and finite losses)")
    low, high = interval
    held = not low > bound
    shown = f"[{format_float(low)}, {format_float(high)}]"
    assert delta is not None  # finite sums, as the interval's
    return Gate(expression, "--max-regression", low, held, f"Δ {format_float(delta)} is a "
                f"regression beyond noise: its 95% interval {shown} lies above {name}")
