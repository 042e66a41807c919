"""Diagnostics beside the loss: which samples drive it, per class, and classic metrics.

Fed batch by batch like the totals: `--top K` keeps the K highest-loss samples
seen so far (with the file and line they came from; a sample is kept only if it
is among them, so K at most, however long the input), the per-class losses and
the histogram are running sums, and so are accuracy, Brier score and calibration
(exact sums, as the loss's). ROC AUC needs every score ranked: `--metrics` keeps
every score with its class, up to `HELD_KEYS` in memory and the rest in a
temporary file (8 bytes a value), and ranks them a range of values at a time at
the end, so memory stays bounded however long the input.

Metrics use p = the prediction (the sigmoid of a logit) and the target rounded
to 0 or 1, except Brier, which takes soft targets as they are. They are not
weighted.
"""

from __future__ import annotations

import bisect
import io
import itertools
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from bcecli.core import (
    FloatArray,
    LossTotal,
    Reduction,
    accurate_sum,
    add_by_class,
    exact_parts,
    exact_total,
    sigmoid,
    unreduced,
)
from bcecli.errors import BceError
from bcecli.pipeline import Batch

Uint64Array = np.ndarray[Any, np.dtype[np.uint64]]

HISTOGRAM_EDGES = (0.0, 0.01, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0,
                   20.0, 50.0, 100.0, float("inf"))
CALIBRATION_BINS = 10
DEFAULT_THRESHOLD = 0.5  # predicted positive when p >= 0.5, unless --threshold says
CALIBRATION_EDGES = np.linspace(0, 1, CALIBRATION_BINS + 1)[1:-1]
HELD_KEYS = 1 << 18  # scores held in memory (2 MiB) before a temporary file takes them
RANKED_KEYS = 1 << 19  # scores sorted at a time at the end (4 MiB)
PIECE = 1 << 16  # and then looked at by pieces, so that temporary arrays stay small
FILES = 256  # temporary files open at once, at most, to part the keys into ranges


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
        self.metrics = Metrics()
        self.threshold = DEFAULT_THRESHOLD if options.threshold is None else options.threshold

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
            self.metrics.observe(sigmoid(x) if self.options.logits else x, y, self.threshold)

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
            out["metrics"] = self.metrics.result(self.threshold)
        return out


class Metrics:
    """Accuracy at a threshold, Brier score, ROC AUC and expected calibration error,
    fed batch by batch: accuracy and Brier as a count and an exact sum, every score
    with its class kept (`Keys`) for the rest, which need them in order."""

    def __init__(self) -> None:
        self.count = 0
        self.correct = 0  # (p >= threshold) == (y >= 0.5)
        self.brier = LossTotal()  # sum of (p - y)^2, soft targets as they are
        self.keys = Keys()

    def observe(self, p: FloatArray, y: FloatArray, threshold: float) -> None:
        """A batch's probabilities and targets, in any shape (every element counts)."""
        p = np.ravel(p).astype(np.float64)
        p += 0.0  # -0.0 to 0.0: it ranks as 0.0, and a key has no sign bit
        soft = np.ravel(y).astype(np.float64)
        hard = soft >= 0.5
        self.count += len(p)
        self.correct += int(np.count_nonzero((p >= threshold) == hard))
        self.brier.add((p - soft) ** 2, None)
        keys = p.view(np.uint64) << np.uint64(1)
        keys |= hard
        self.keys.add(keys)

    def result(self, threshold: float) -> dict[str, Any]:
        """The JSON of `--metrics`."""
        ranking = Ranking()
        try:
            ranking.walk(self.keys, 0, 63)
        finally:
            self.keys.close()
        return {"threshold": threshold, "accuracy": self.correct / self.count,
                "brier": self.brier.result(Reduction.MEAN), "roc_auc": ranking.roc_auc(),
                "ece": ranking.calibration_error() / self.count}


class Keys:
    """Every score with its class, as the integers `bits(p) << 1 | (y >= 0.5)`, which
    sort as the scores do, a score's negatives before its positives: held in memory up
    to `HELD_KEYS`, then written to a temporary file (deleted on close), so memory
    stays bounded however long the input."""

    def __init__(self, on_disk: bool = False) -> None:
        self.on_disk = on_disk  # straight to the file (the parts of keys already there)
        self.held: list[Uint64Array] = []
        self.file: io.BufferedRandom | None = None

    def add(self, keys: Uint64Array) -> None:
        self.held.append(keys)
        if self.on_disk or sum(len(held) for held in self.held) >= HELD_KEYS:
            self.spill()

    def spill(self) -> None:
        """Move the held keys to the file (a folder that is missing or full: one error)."""
        try:
            if self.file is None:
                import tempfile  # 4 ms: only when needed

                self.file = tempfile.TemporaryFile(prefix="bce-scores-")  # noqa: SIM115 (below)
                # closed by close(), or when these keys are dropped, however the run ends
                self.closing = weakref.finalize(self, self.file.close)
            for held in self.held:
                self.file.write(held.data)
        except OSError as error:
            raise BceError(f"--metrics cannot write its temporary file: "
                           f"{error.strerror or error}",
                           hint="set TMPDIR to a folder with room: it takes 8 bytes a value"
                           ) from None
        self.held = []

    def close(self) -> None:
        """Let go of the file, which deletes it."""
        if self.file is not None:
            self.closing()
            self.file = None

    def within(self, low: int, high: int) -> Iterator[Uint64Array]:
        """The keys in [low, high] less `low`, a block at a time (one comparison: below
        `low`, a key less `low` wraps around to a large number)."""
        offset, span = np.uint64(low), np.uint64(high - low)
        if self.file is not None:
            self.spill()
            self.file.seek(0)
            block = np.empty(1 << 17, np.uint64)
            while read := self.file.readinto(block.data.cast("B")) or 0:
                keys = block[:read // block.itemsize]
                keys -= offset
                yield keys[keys <= span]
        for keys in self.held:
            keys = keys - offset
            yield keys[keys <= span]

    def split(self, bounds: list[int]) -> list[Keys]:
        """The keys in parts, cut before each of `bounds` (in order): one pass."""
        parts = [Keys(self.file is not None) for _ in range(len(bounds) + 1)]
        for block in self.within(0, (1 << 64) - 1):
            block.sort()  # faster than finding each key's part
            cuts = [0, *np.searchsorted(block, np.array(bounds, np.uint64)).tolist(), len(block)]
            for part, (a, b) in zip(parts, itertools.pairwise(cuts), strict=True):
                if b > a:
                    part.add(block[a:b])
        return parts


class Ranking:
    """The end of `--metrics`: every score visited in order, a range of values at a
    time, for ROC AUC (ranks) and the calibration bins (sums of p), exactly."""

    def __init__(self) -> None:
        self.positives = 0
        self.negatives = 0  # so far: below the range visited next
        self.twice_u = 0  # the Mann-Whitney U doubled: 2 a pair ranked right, 1 a tie
        self.sums: list[list[float]] = [[] for _ in range(CALIBRATION_BINS)]  # exact sums of p
        self.observed = [0] * CALIBRATION_BINS  # positives in each bin

    def walk(self, keys: Keys, low: int, width: int) -> None:
        """The scores whose bits are in [low, low + 2**width): counted in 2**16 slots or
        fewer, then visited by runs of slots that hold `RANKED_KEYS` or so, each run's
        keys first moved to a file of its own (one pass, not one a run)."""
        shift = max(width - 16, 0)
        counts = np.zeros(2 << (width - shift), np.int64)  # per slot, negatives then positives
        for block in keys.within(low << 1, ((low + (1 << width)) << 1) - 1):
            counts += np.bincount((block >> np.uint64(shift + 1) << np.uint64(1)) | (block & 1),
                                  minlength=len(counts))
        ends = np.cumsum(counts[0::2] + counts[1::2]).tolist()
        runs: list[tuple[int, int]] = []  # [start, stop) slots, in order
        start = 0
        while start < len(ends):
            held = ends[start - 1] if start else 0
            stop = max(bisect.bisect_right(ends, held + RANKED_KEYS), start + 1)
            if ends[stop - 1] > held:
                runs.append((start, stop))
            start = stop
        if len(runs) == 1:
            self.visit(keys, low, shift, counts, *runs[0])
            return
        step = -(-len(runs) // FILES)  # runs a part: 1, unless there are many
        groups = [runs[i:i + step] for i in range(0, len(runs), step)]
        parts = keys.split([(low + (group[0][0] << shift)) << 1 for group in groups[1:]])
        keys.close()  # the parts hold every key now: the disk holds each key once
        for part, group in zip(parts, groups, strict=True):
            if len(group) == 1:
                self.visit(part, low, shift, counts, *group[0])
            else:
                self.walk(part, low, width)
            part.close()

    def visit(self, keys: Keys, low: int, shift: int, counts: np.ndarray[Any, Any],
              start: int, stop: int) -> None:
        """The scores in slots [start, stop): sorted whole, walked again in finer slots
        when one slot holds too many, or counted when all of them are one score."""
        begin = low + (start << shift)
        size = int(counts[2 * start:2 * stop].sum())
        if stop - start > 1 or size <= RANKED_KEYS:
            self.rank(keys, begin, low + (stop << shift), size)
        elif shift:
            self.walk(keys, begin, shift)
        else:  # one score, held more than RANKED_KEYS times
            self.tie(begin, int(counts[2 * start + 1]), int(counts[2 * start]))

    def rank(self, scores: Keys, begin: int, end: int, size: int) -> None:
        """The `size` scores whose bits are in [begin, end), sorted in memory."""
        keys = np.empty(size, np.uint64)
        filled = 0
        for block in scores.within(begin << 1, (end << 1) - 1):
            keys[filled:filled + len(block)] = block
            filled += len(block)
        keys += np.uint64(begin << 1)
        keys.sort()
        positive = np.empty(size, np.bool_)
        np.bitwise_and(keys, 1, out=positive, casting="unsafe")
        positives = int(np.count_nonzero(positive))
        # a p on an edge goes to the lower bin, as scikit-learn's `calibration_curve` bins
        cuts = np.searchsorted(keys, CALIBRATION_EDGES.view(np.uint64) << np.uint64(1) |
                               np.uint64(1), side="right").tolist()
        at_or_under = tied = 0
        for a, b in itertools.pairwise(sorted({*range(0, size, PIECE), *cuts, size})):
            # by pieces, so that temporary arrays stay small
            piece = positive[a:b]
            # the negatives at or under each positive: its position less the positives before
            at_or_under += int(np.flatnonzero(piece).sum()) + a * int(np.count_nonzero(piece))
            pairs = keys[a:b + 1]
            last = np.flatnonzero((pairs[1:] ^ pairs[:-1]) == 1) + a  # a score's last negative
            tied += int(((last + 1 - np.searchsorted(keys, keys[last])) *
                         (np.searchsorted(keys, keys[last + 1], side="right") - last - 1)).sum())
            k = bisect.bisect_right(cuts, a)
            self.sums[k] = exact_parts(self.sums[k] + accurate_sum(
                (keys[a:b] >> np.uint64(1)).view(np.float64)))
            self.observed[k] += int(np.count_nonzero(piece))
        at_or_under -= positives * (positives - 1) // 2
        self.twice_u += 2 * positives * self.negatives + 2 * at_or_under - tied
        self.positives += positives
        self.negatives += size - positives

    def tie(self, bits: int, positives: int, negatives: int) -> None:
        """A score held by `positives` and `negatives`, all tied."""
        p = float(np.uint64(bits).view(np.float64))
        self.twice_u += 2 * positives * self.negatives + positives * negatives
        self.positives += positives
        self.negatives += negatives
        k = int(np.searchsorted(CALIBRATION_EDGES, p))
        # (positives + negatives) * p, exactly: one power-of-two multiple of p per bit
        count = positives + negatives
        self.sums[k] = exact_parts(
            self.sums[k] + [p * 2.0 ** b for b in range(count.bit_length()) if count >> b & 1])
        self.observed[k] += positives

    def roc_auc(self) -> float | None:
        """Area under the ROC curve as the Mann-Whitney U statistic, ties counted half."""
        if not self.positives or not self.negatives:
            return None  # undefined with one class only (scikit-learn raises)
        return self.twice_u / (2 * self.positives * self.negatives)

    def calibration_error(self) -> float:
        """The sum over the bins of |sum of p - positives|, exactly rounded: the expected
        calibration error times the count."""
        gaps: list[float] = []
        for parts, positives in zip(self.sums, self.observed, strict=True):
            gap = exact_parts([*parts, -float(positives)])
            gaps += gap if exact_total(gap) >= 0 else [-part for part in gap]
        return exact_total(gaps)
