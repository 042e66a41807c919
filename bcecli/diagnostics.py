"""Diagnostics beside the loss: which samples drive it, per class, and evaluation metrics.

Fed batch by batch like the totals: `--top K` keeps the K highest-loss samples
seen so far (with the file and line they came from; a sample is kept only if it
is among them, so K at most, however long the input), the per-class losses and
the histogram are running sums. `--metrics` feeds the library layer of issue 13:
`evaluation.EvalSums` (exact sums: NE, calibration, accuracy, Brier, equal-width
reliability bins, the loss's interval), `ranking.ScoreSketch` (ROC AUC and
average precision in at most `cap` buckets, with certified bounds once scores
share buckets; equal-mass bins) and, with `--bootstrap B`, `evaluation.Bootstrap`.
`--by` adds the same per slice (`slices.Slices`).
Memory is that of the sketch and a batch, however long the input: nothing is
written to disk.

Metrics use p = the prediction (the sigmoid of a logit), recalibrated first when
a negative sampling rate is given, and every element's weight (row weights times
class weights, as the loss's). The definitions: docs/usage.md, "--metrics".
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

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
from bcecli.ranking import ORDER, SUMS, WEIGHTS, ScoreSketch, column_kind, decode_column
from bcecli.slices import DEFAULT_MAX_SLICES, SliceIndex, Slices

if TYPE_CHECKING:
    from bcecli.readers import Ids

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
    by_id: bool = False  # --id-col: the bootstrap draws by each row's id, not its position
    reduction: str = "mean"  # the loss's reduction, for its interval
    weighted: bool = False  # row or class weights are given
    class_weights: list[float] | None = None
    by: tuple[str, ...] = ()  # --by: the slice columns' names
    max_slices: int = DEFAULT_MAX_SLICES  # --max-slices
    min_slice_size: int = 1  # --min-slice-size
    arrow: bool | None = None  # the sketch's cap is ARROW_CAP; None: if pyarrow is reading

    def spec(self, class_names: tuple[str, ...]) -> dict[str, Any]:
        """What a partial file records of these options (`shards`): what shards must
        agree on, and what `bce merge` needs besides the loss's settings (`from_spec`)."""
        metrics = None if not self.metrics else {
            "bins": self.bins, "binning": "mass" if self.mass else "width",
            "threshold": DEFAULT_THRESHOLD if self.threshold is None else self.threshold,
            "bootstrap": self.bootstrap, "seed": self.seed,
            "keys": "id" if self.by_id else "position"}
        slices = {"slices": {"by": list(self.by), "max_slices": self.max_slices,
                             "min_slice_size": self.min_slice_size}} if self.by else {}
        return {"top": self.top, "histogram": self.histogram,
                "class_names": list(class_names) if self.per_class else None,
                "metrics": metrics} | slices

    @classmethod
    def from_spec(cls, spec: dict[str, Any], *, flat: bool, logits: bool, rate: float | None,
                  reduction: str, weighted: bool, class_weights: list[float] | None
                  ) -> DiagnosticOptions:
        """The options `spec` recorded, with the partial's loss settings."""
        metrics = spec["metrics"] or {}
        slices = spec.get("slices") or {}
        return cls(top=spec["top"], per_class=not flat, metrics=bool(metrics),
                   histogram=spec["histogram"], threshold=metrics.get("threshold"),
                   logits=logits, bins=metrics.get("bins", DEFAULT_BINS),
                   mass=metrics.get("binning") == "mass", rate=rate or 1.0,
                   bootstrap=metrics.get("bootstrap", 0), seed=metrics.get("seed", DEFAULT_SEED),
                   by_id=metrics.get("keys") == "id", reduction=reduction, weighted=weighted,
                   class_weights=class_weights, by=tuple(slices.get("by", ())),
                   max_slices=slices.get("max_slices", DEFAULT_MAX_SLICES),
                   min_slice_size=slices.get("min_slice_size", 1))


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

    def __init__(self, options: DiagnosticOptions, ids: Ids | None = None,
                 slice_codecs: list[Ids] | None = None):
        self.options = options
        self.worst: list[tuple[str, Any, Any]] = []  # (where, prediction, target), worst first
        self.worst_losses: FloatArray = np.empty(0)  # their losses, in the same order
        self.classes: list[LossTotal] = []
        self.positives: FloatArray | None = None
        self.counts: FloatArray = np.zeros(len(HISTOGRAM_EDGES) - 1)
        self.metrics = Metrics(options, ids) if options.metrics else None
        self.slices: Slices | None = None
        if options.by:
            self.slices = Slices(SliceIndex(options.by, options.max_slices, slice_codecs),
                                 metrics=options.metrics, weighted=options.weighted,
                                 min_size=options.min_slice_size)

    def observe(self, batch: Batch, losses: FloatArray) -> None:
        """One batch of inputs and their per-element losses (in nats, times the weight)."""
        y = batch.targets.values
        p = w = None
        if self.metrics is not None:
            p, w = self.metrics.observe(batch, losses)
        if self.slices is not None:
            weight = weight_array(batch, self.options.class_weights)
            if w is None and weight is not None:
                w = np.broadcast_to(weight, losses.shape)
            self.slices.observe(batch, losses, p, w)
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

    def section_names(self) -> list[str]:
        """The sections `sections` gives, in its order: what a partial file must hold."""
        options = self.options
        names = ["per_class"] if options.per_class else []
        names += ["histogram"] if options.histogram else []
        names += ["top"] if options.top else []
        names += self.metrics.section_names() if self.metrics is not None else []
        return names + (self.slices.section_names() if self.slices is not None else [])

    def sections(self) -> Iterator[tuple[str, Any]]:
        """The state as JSON values, a section at a time, for a partial file (`shards`)."""
        if self.options.per_class:
            positives = [] if self.positives is None else self.positives.tolist()
            yield "per_class", [
                {"count": total.count, "loss_parts": total.loss_parts,
                 "weight_parts": total.weight_parts, "positives": int(n)}
                for total, n in zip(self.classes, positives, strict=True)]
        if self.options.histogram:
            yield "histogram", [int(c) for c in self.counts]
        if self.options.top:
            yield "top", [[where, p, y, loss] for (where, p, y), loss
                          in zip(self.worst, self.worst_losses.tolist(), strict=True)]
        if self.metrics is not None:
            yield from self.metrics.sections()
        if self.slices is not None:
            yield from self.slices.sections()

    def absorb(self, sections: Iterator[tuple[str, Any]], count: int, classes: int) -> None:
        """Another shard's state, as `sections` gave it, merged in, as if its data had
        followed this one's. `count` and `classes` are the shard's elements and classes,
        which its sections must agree with.

        Raises
        ------
        ValueError
            A section that cannot be what `sections` wrote, saying which and why.
        """
        rows = count // classes
        if self.options.per_class:
            self.absorb_classes(take(sections, "per_class"), rows, classes)
        if self.options.histogram:
            counts = take(sections, "histogram")
            if not (isinstance(counts, list) and len(counts) == len(self.counts)
                    and all(type(c) is int and c >= 0 for c in counts) and sum(counts) == rows):
                raise ValueError(f"histogram must be {len(self.counts)} counts of its {rows} "
                                 "rows")
            self.counts += np.array(counts, np.float64)
        if self.options.top:
            self.absorb_top(take(sections, "top"))
        if self.metrics is not None:
            self.metrics.absorb(sections, count)
        if self.slices is not None:
            self.slices.absorb(sections, take)

    def absorb_classes(self, data: Any, rows: int, classes: int) -> None:
        """Per-class totals: each class's count, exact loss sum and positives."""
        if not isinstance(data, list) or len(data) != classes:
            raise ValueError(f"per_class must hold a total for each of {classes} classes")
        totals, positives = [], []
        for entry in data:
            if not (isinstance(entry, dict) and set(entry) == {"count", "loss_parts",
                                                               "weight_parts", "positives"}
                    and entry["count"] == rows and type(entry["positives"]) is int
                    and 0 <= entry["positives"] <= rows):
                raise ValueError(f"per_class must hold each class's count ({rows}), "
                                 "loss_parts, weight_parts and positives")
            totals.append(LossTotal(rows, numbers(entry["loss_parts"], "per_class"),
                                    numbers(entry["weight_parts"], "per_class")))
            positives.append(entry["positives"])
        if not self.classes:
            self.classes = [LossTotal() for _ in totals]
        for mine, theirs in zip(self.classes, totals, strict=True):
            mine.merge(theirs)
        more = np.array(positives, np.float64)
        self.positives = more if self.positives is None else self.positives + more

    def absorb_top(self, data: Any) -> None:
        """Another shard's worst samples, ranked with these: the K highest losses of both,
        this shard's first among equal ones (as one run over this data, then that)."""
        if not isinstance(data, list) or len(data) > self.options.top or not all(
                isinstance(item, list) and len(item) == 4 and isinstance(item[0], str)
                and is_number(item[3]) and item[3] >= 0 for item in data):
            raise ValueError(f"top must hold at most {self.options.top} samples, each "
                             "[where, prediction, target, loss]")
        losses = np.array([item[3] for item in data], np.float64)
        if bool((np.diff(losses) > 0).any()):
            raise ValueError("top must be ordered from the highest loss down")
        merged = np.concatenate([self.worst_losses, losses])
        order = np.argsort(-merged, kind="stable")[:self.options.top]
        items = self.worst + [(where, p, y) for where, p, y, _ in data]
        self.worst = [items[i] for i in order.tolist()]
        self.worst_losses = merged[order]

    def report(self, labels: tuple[str, ...], curves: bool = False) -> dict[str, Any]:
        """The JSON keys for what was asked (`curves`: a report or chart draws the ROC
        and PR curves, which `--metrics` then gives too)."""
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
            out["metrics"] = self.metrics.result(curves)
        if self.slices is not None:
            out["slices"] = self.slices.result(self.options.reduction, self.options.base)
        return out



class Metrics:
    """`--metrics`: the exact sums (`EvalSums`), the score sketch (`ScoreSketch`) and,
    with `--bootstrap`, the replicate sums, fed the same elements, weights and losses."""

    def __init__(self, options: DiagnosticOptions, ids: Ids | None = None) -> None:
        self.options = options
        self.ids = ids  # with options.by_id: turns each row's id into its bootstrap key
        threshold = DEFAULT_THRESHOLD if options.threshold is None else options.threshold
        self.sums = EvalSums(bins=options.bins, threshold=threshold)
        self.sketch = ScoreSketch(options.weighted)
        self.bootstrap = Bootstrap(options.bootstrap, seed=options.seed, threshold=threshold) \
            if options.bootstrap else None
        self.rows = 0  # rows seen so far: the bootstrap's keys

    def observe(self, batch: Batch, losses: FloatArray
                ) -> tuple[FloatArray, FloatArray | None]:
        """A batch: its probabilities, targets and weights, broadcast to one per element
        (returned: the slices take them too). The first one tells whether pyarrow is
        reading (it is imported by then)."""
        x, y = batch.predictions.values, batch.targets.values
        try:  # what PyTorch allows (--like torch) but a metric cannot take
            check_targets(y)
            if batch.weights is not None:
                check_weights(batch.weights.values, "weight")
        except BadValue as e:
            error = located(e, batch, self.options.logits)
            raise InputError(f"{error.message}: --metrics needs targets in [0, 1] and "
                             f"weights >= 0", where=error.where) from None
        arrow = self.options.arrow
        if not self.rows and (("pyarrow" in sys.modules) if arrow is None else arrow):
            self.sketch = ScoreSketch(self.options.weighted, ARROW_CAP)  # still empty
        p = probabilities(x, self.options)
        weight = weight_array(batch, self.options.class_weights)
        w = None if weight is None else np.broadcast_to(weight, p.shape)
        self.sums.observe(p, y, losses, w)
        self.sketch.add(p, y, w)
        if self.bootstrap is not None:
            if self.options.by_id:
                assert self.ids is not None and batch.ids is not None
                keys = self.ids.keys(batch.ids)
            else:
                keys = np.arange(self.rows, self.rows + len(p), dtype=np.uint64)
            self.bootstrap.observe(keys if p.ndim == 1 else keys[:, np.newaxis], p, y, losses, w)
        self.rows += len(p)
        return p, w

    def result(self, curves: bool = False) -> dict[str, Any]:
        """The JSON of `--metrics` (the table renders the same dict); with `curves`, the
        ROC and PR curves last (`ScoreSketch.curves`; null where undefined)."""
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
            out["bootstrap"] = {"replicates": self.bootstrap.replicates, "seed": options.seed,
                                "keys": "id" if options.by_id else "position"} | {
                f"{name}_ci95": None if interval is None else list(interval)
                for name, interval in intervals.items()}
        if curves:
            drawn = self.sketch.curves()
            out["roc_curve"] = None if drawn.roc is None else \
                {"fpr": drawn.roc[0], "tpr": drawn.roc[1]}
            out["pr_curve"] = None if drawn.pr is None else \
                {"recall": drawn.pr[0], "precision": drawn.pr[1]}
        return out

    def section_names(self) -> list[str]:
        columns = ORDER if self.options.weighted else ORDER[:-len(WEIGHTS)]
        return ["metrics.sums", *(["metrics.bootstrap"] if self.bootstrap else []),
                "metrics.sketch", *(f"metrics.sketch.{name}" for name in columns)]

    def sections(self) -> Iterator[tuple[str, Any]]:
        """The sums, the replicates and the sketch, a column a section, as the array (a
        file holds its base64 text, made a piece at a time as it is written: `shards`)."""
        yield "metrics.sums", self.sums.to_json()
        if self.bootstrap is not None:
            yield "metrics.bootstrap", self.bootstrap.to_json()
        yield "metrics.sketch", self.sketch.state()
        yield from ((f"metrics.sketch.{name}", column)
                    for name, column in self.sketch.columns.items())

    def absorb(self, sections: Iterator[tuple[str, Any]], count: int) -> None:
        """Another shard's metrics (`Diagnostics.absorb`), merged in."""
        sums = EvalSums.from_json(take(sections, "metrics.sums"))
        if (sums.bins, sums.threshold, sums.count) != (self.sums.bins, self.sums.threshold,
                                                        count):
            raise ValueError(f"metrics.sums must be of {self.sums.bins} bins at threshold "
                             f"{self.sums.threshold}, over the part's {count} elements")
        self.sums.merge(sums)
        if self.bootstrap is not None:
            replicates = Bootstrap.from_json(take(sections, "metrics.bootstrap"))
            if (replicates.replicates, replicates.seed) != (self.bootstrap.replicates,
                                                             self.bootstrap.seed):
                raise ValueError("metrics.bootstrap must be of the replicates and seed the "
                                 "part was computed with")
            self.bootstrap.merge(replicates)
        state = take(sections, "metrics.sketch")
        if not isinstance(state, dict) or state.get("weighted") is not self.options.weighted:
            raise ValueError("metrics.sketch must say whether it is weighted, as the part is")
        for name in self.sketch.columns:
            state[name] = sketch_column(name, take(sections, f"metrics.sketch.{name}"))
        sketch = ScoreSketch.from_json(state)
        del state
        if int(sketch.columns["count"].sum()) != count:
            raise ValueError(f"metrics.sketch must hold the part's {count} elements")
        if len(self.sketch) or sketch.cap > self.sketch.cap:
            self.sketch.merge(sketch, consume=True)
        else:  # the first part's sketch is the merge so far: not copied (33 MB)
            self.sketch = sketch

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
                              squares, mass.sum_p, mass.sum_y, mass.gap)


def sketch_column(name: str, value: Any) -> NDArray[Any]:
    """A sketch's column as a part holds it: base64 text (`ranking.encode_column`), or in
    memory (`shards.Lines`) the array itself, of the column's dtype and shape."""
    if isinstance(value, str):
        return decode_column(name, value)
    sums = name in SUMS + WEIGHTS
    if not (isinstance(value, np.ndarray) and value.dtype == column_kind(name)
            and value.ndim == 1 + sums and (not sums or value.shape[0] == 2)):
        raise ValueError(f"metrics.sketch.{name} must be base64 text")
    return value


def take(sections: Iterator[tuple[str, Any]], name: str) -> Any:
    """The next section's value, which must be `name`'s."""
    found, value = next(sections, (None, None))
    if found != name:
        raise ValueError(f"section {name} is missing")
    return value


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def numbers(value: Any, what: str) -> list[float]:
    """A JSON list of numbers as floats."""
    if not isinstance(value, list) or not all(is_number(v) for v in value):
        raise ValueError(f"{what} must hold lists of numbers")
    return [float(v) for v in value]
