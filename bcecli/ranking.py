"""Ranking metrics in bounded memory: ROC AUC, average precision and equal-mass bins.

`ScoreSketch` is fed (score, target, weight) batch by batch and keeps, per
bucket of scores, its lowest score and whether it holds only that one, the
count, the positives (target >= 0.5, as `--metrics`), the weight of each class
and the sums of w·p and w·y. While the scores are few
enough (at most `cap` distinct ones) every distinct score is its own bucket and
ROC AUC and average precision are those of scikit-learn, ties included. Past
that, neighbouring scores share buckets (the same resolution everywhere), and
each metric comes with bounds that provably hold the exact value. Two sketches
merge into the sketch of their union, whatever the split and the order, so
shards combine as `bce merge` needs; `to_json` / `from_json` save one without
loss.

numpy and `bcecli.core` only: no I/O, no CLI. Memory is that of the arrays:
65 bytes a bucket (97 with weights), `cap` buckets at most (33 MiB, 36 MiB with
weights, by default) plus a batch.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from bcecli.core import (
    FloatArray,
    accurate_sum,
    check_predictions,
    check_targets,
    check_weights,
    exact_parts,
    exact_total,
)

U64 = NDArray[np.uint64]
I64 = NDArray[np.int64]
Columns = dict[str, NDArray[Any]]  # one entry per bucket, in the order of the keys

DEFAULT_CAP = 1 << 19  # buckets without weights (65 bytes each): 33 MiB
WEIGHTED_CAP = 3 << 17  # with weights (97 bytes each): 36 MiB
MAX_CAP = 1 << 20
CURVE_POINTS = 200  # the most points of a ROC or PR curve, its start included
BLOCK = 1 << 17  # rows summarised and added to the buckets at a time
CHUNK = 1 << 16  # rows summed at a time: keeps the digit sums exact (`segment_sums`)
HALF = 0x3FE0000000000000  # the bits of 0.5
TOP = 2 * HALF  # the key of 1.0
WINDOW = 36  # bits per digit of the exact sums: 2**16 digits sum below 2**52 units
FORMAT = 1  # the value of "bcecli_sketch" in `to_json`
ENCODED = 3 << 16  # bytes of a column turned into base64 at a time (`encoded_chunks`)
U = 2.0**-53  # unit roundoff
SLACK = 32 * U  # relative margin for every rounding of the bounds (see `certify`)
TINY = 2.0**-960  # absolute margin for terms that underflow (see `certify`)
COUNTS = ("count", "positives")  # int64 columns, added
SCORES = ("first", "single")  # the smallest score's key in the bucket; whether it is the only
SUMS = ("sum_p", "sum_y")  # double-double columns (2, n): Σw·p and Σw·y
WEIGHTS = ("weight_neg", "weight_pos")  # with weights: Σw of negatives, of positives
ORDER = ("keys", *SCORES, *COUNTS, *SUMS, *WEIGHTS)  # the columns, as `to_json` writes them


@dataclass(frozen=True)
class Estimate:
    """A metric and bounds that hold its exact value: `low <= exact <= high`.

    `exact` says that every bucket held one distinct score, so `value` is the
    metric itself (within a few ulps); otherwise it counts each bucket as a tie
    and only the bounds are certain.
    """

    value: float
    low: float
    high: float
    exact: bool

    @classmethod
    def within(cls, value: float, low: float, high: float, exact: bool) -> Estimate:
        """A computed value, moved into its bounds where rounding left it just outside
        (an AP of 1 + 2**-52): the exact value is inside, so nearer is better."""
        return cls(min(max(value, low), high), low, high, exact)


@dataclass(frozen=True)
class Curves:
    """ROC and precision-recall points, from the highest threshold down: the start
    (fpr, tpr) = (0, 0), (recall, precision) = (0, 1), then one point per threshold kept.
    `roc` is None with no weight on one class, `pr` with no positive weight."""

    roc: tuple[list[float], list[float]] | None  # (fpr, tpr)
    pr: tuple[list[float], list[float]] | None  # (recall, precision)


@dataclass(frozen=True)
class MassBins:
    """Bins over the scores holding about equal weight, at bucket boundaries.

    Bin i is [edges[i], edges[i + 1]), the last one closed at 1.0. The sums are
    those of the rows in the bin: count, Σw, Σw·p and Σw·y (w = 1 without weights),
    and |Σw·p − Σw·y| from their unrounded sums.
    """

    edges: list[float]
    count: list[int]
    weight: list[float]
    sum_p: list[float]
    sum_y: list[float]
    gap: list[float]  # |Σw·p − Σw·y|, from the double-double sums


def score_keys(p: FloatArray) -> U64:
    """Integers that sort as the scores in [0, 1] do, one per distinct score.

    Below 0.5 the key is the float's bit pattern (order-preserving for p >= 0);
    from 0.5 up it is TOP minus the bits of 1 - p (exact there, by Sterbenz), so
    the resolution near 1 is as fine as near 0: high-scoring rows, where the
    ranking metrics are decided, keep their own buckets longest. -0.0 is 0.0.
    """
    low = (p + 0.0).view(np.uint64)
    high = np.uint64(TOP) - (1.0 - p).view(np.uint64)  # wraps below 0.5, where unused
    keys: U64 = np.where(p > 0.5, high, low)
    return keys


def key_score(key: int) -> float:
    """The smallest score whose key is `key` or more: the inverse of `score_keys` on
    its keys, and the lower edge of a bucket for the key of its start."""
    if key <= HALF:
        return float(np.uint64(key).view(np.float64))
    tail = float(np.uint64(TOP - key).view(np.float64))
    p = 1.0 - tail  # rounded to nearest; 1 - p is exact (p >= 0.5)
    return math.nextafter(p, 2.0) if 1.0 - p > tail else p


def key_scores(keys: U64) -> FloatArray:
    """The scores of keys, element-wise: the inverse of `score_keys` on its keys."""
    high = 1.0 - (np.uint64(TOP) - keys).view(np.float64)  # finite for every key
    scores: FloatArray = np.where(keys > HALF, high, keys.view(np.float64))
    return scores


def two_sum(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """s + e == a + b exactly, s = fl(a + b) (Knuth's TwoSum, element-wise)."""
    s = a + b
    virtual = s - a
    e = (a - (s - virtual)) + (b - virtual)
    return s, e


def dd_add(hi: FloatArray, lo: FloatArray, other_hi: FloatArray,
           other_lo: FloatArray | None = None) -> tuple[FloatArray, FloatArray]:
    """Double-double addition: the sum to about 2**-104 relative (for sums of
    non-negative values, where no cancellation can magnify it)."""
    s, e = two_sum(hi, other_hi)
    return two_sum(s, e + (lo if other_lo is None else lo + other_lo))


def segment_sums(values: FloatArray, segments: I64, size: int) -> tuple[FloatArray, FloatArray]:
    """Σ values per segment, as double-doubles (hi, lo), from exact partial sums.

    Each value is cut into digits of `WINDOW` bits on one grid for all of them
    (digit k holds the bits from 2**(low + 36k) up to 2**(low + 36k + 36), taken
    exactly by clearing mantissa bits); 2**16 such digits add up
    without rounding, so `np.bincount` gives each segment's digit sums exactly,
    and only joining them into a double-double rounds (about 2**-105). Values
    that are small integers (0/1 labels, counts as weights) need one `bincount`.
    """
    if len(values) > CHUNK:
        raise ValueError(f"segment_sums takes at most {CHUNK} values at a time")
    zeros: FloatArray = np.zeros(size)
    values = np.ascontiguousarray(values, np.float64)
    if not values.any():
        return zeros, zeros.copy()
    if float(np.abs(values).max()) < 2.0**31 and bool((values == np.trunc(values)).all()):
        return np.asarray(np.bincount(segments, values, minlength=size), np.float64), zeros
    bits = values.view(np.uint64)
    exponent = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(np.int64)
    unit = np.maximum(exponent, 1) - 1075  # the exponent of each value's last mantissa bit
    mantissa = (bits & np.uint64((1 << 52) - 1)) | np.where(exponent > 0, np.uint64(1 << 52),
                                                              np.uint64(0))
    nonzero = mantissa != 0
    lowest = (mantissa & (~mantissa + np.uint64(1))).astype(np.float64)  # its last set bit
    low = int((unit + np.frexp(lowest)[1] - 1)[nonzero].min())
    high = int((unit + 52)[nonzero].max())
    hi, lo = zeros, zeros.copy()
    rest = values  # the bits from the current cut up
    for cut in range(low + WINDOW, high + WINDOW + 1, WINDOW):  # a digit is the bits below cut
        if cut > high:
            upper = np.zeros_like(values)
        else:
            clear = cut - unit  # mantissa bits below 2**cut
            kept = bits & ~((np.uint64(1) << np.clip(clear, 0, 63).astype(np.uint64))
                            - np.uint64(1))
            upper = np.where(clear >= 53, np.uint64(0), kept).view(np.float64)
        digit_sums = np.asarray(np.bincount(segments, rest - upper, minlength=size), np.float64)
        if cut == low + WINDOW:
            hi = digit_sums
        else:
            hi, lo = dd_add(hi, lo, digit_sums)
        rest = upper
    return hi, lo


def runs(keys: U64) -> I64:
    """Where each run of equal (sorted) keys starts."""
    change = np.empty(len(keys), np.bool_)
    change[:1] = True
    np.not_equal(keys[1:], keys[:-1], out=change[1:])
    return np.flatnonzero(change)


def reduce_sorted(columns: Columns, extra: int) -> Columns:
    """The buckets `extra` bits coarser: those whose keys shifted right by `extra` are
    equal, added into one. `columns` is emptied on the way, so that each column is in
    memory twice at most (and the keys once, shifted)."""
    keys = columns.pop("keys") >> np.uint64(extra)
    starts = runs(keys)
    out: Columns = {"keys": keys[starts]}
    alone = np.empty(len(starts), np.bool_)  # runs of one bucket
    np.equal(np.diff(starts), 1, out=alone[:-1])
    alone[-1:] = len(keys) - starts[-1:] == 1
    del keys
    # sorted, so a bucket's first row has its smallest score; distinct buckets hold
    # distinct scores, so one score only where one bucket alone held one score
    out["first"] = columns.pop("first")[starts]
    out["single"] = columns.pop("single")[starts] & alone
    del alone
    for name in list(columns):
        column = columns.pop(name)
        if name in COUNTS:
            out[name] = np.add.reduceat(column, starts) if len(starts) else column
        else:
            out[name] = dd_runs(starts, column[0], column[1])
    return out


def dd_column(size: int, segments: I64, *parts: FloatArray) -> FloatArray:
    """The double-double sums per segment of every row of every part, as a (2, size) array.
    Each chunk of rows adds to the range of segments it meets (a short one when the
    segments are sorted, as when buckets are merged)."""
    return dd_chunks(size, len(segments), lambda rows: segments[rows], parts)


def dd_runs(starts: I64, *parts: FloatArray) -> FloatArray:
    """`dd_column` per run of rows, `starts` where each run begins (sorted, from 0): the
    run of each row is found a chunk at a time, never held for all of them (4 MB when
    a full sketch is coarsened)."""

    def segments(rows: slice) -> I64:
        """The run of each row of `rows`: the one it starts in, then those starting in it."""
        inside = slice(*np.searchsorted(starts, [rows.start, rows.stop - 1], "right"))
        lengths = np.diff(np.concatenate(([rows.start], starts[inside], [rows.stop])))
        runs: I64 = np.repeat(np.arange(inside.start - 1, inside.stop), lengths)
        return runs

    return dd_chunks(len(starts), len(parts[0]), segments, parts)


def dd_chunks(size: int, rows: int, segments_of: Callable[[slice], I64],
              parts: tuple[FloatArray, ...]) -> FloatArray:
    """`dd_column`, the segments of each chunk of `rows` rows given by `segments_of`."""
    out: FloatArray = np.zeros((2, size))
    for start in range(0, rows, CHUNK):
        chunk = segments_of(slice(start, min(start + CHUNK, rows)))
        first, last = int(chunk.min()), int(chunk.max()) + 1
        for part in parts:
            part_hi, part_lo = segment_sums(part[start:start + CHUNK], chunk - first,
                                            last - first)
            out[0, first:last], out[1, first:last] = dd_add(
                out[0, first:last], out[1, first:last], part_hi, part_lo)
    return out


def distinct_sorted(keys: U64, shift: int = 0) -> int:
    """How many distinct values sorted `keys` shifted right by `shift` hold (counted a
    chunk at a time: no shifted copy of them all)."""
    count, last = 0, None
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK] >> np.uint64(shift)
        count += int(np.count_nonzero(chunk[1:] != chunk[:-1])) + (last != chunk[0])
        last = chunk[-1]
    return count


def fitting(keys: U64, cap: int, others: U64 | None = None, at: I64 | None = None) -> int:
    """The fewest low bits to drop from sorted `keys` so that at most `cap` distinct remain;
    with `others` (sorted, distinct, and `at` where each falls in `keys`), from the union
    of both, never made. The count only falls as bits are dropped, and 63 always fits
    (keys are below 2**63): found by doubling, then halving (a first merge may drop 35)."""

    def fits(extra: int) -> bool:
        return distinct_sorted(keys, extra) + (0 if others is None or at is None else
                                               outside(keys, others, at, extra)) <= cap

    if fits(0):
        return 0
    low, high = 0, 1  # low does not fit
    while high < 63 and not fits(high):
        low, high = high, min(2 * high, 63)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle, high)
    return high


def outside(keys: U64, others: U64, at: I64, shift: int) -> int:
    """How many distinct values of sorted `others` shifted right by `shift` no key of
    sorted `keys` so shifted equals, counted a chunk at a time. A value's bucket holds a
    key if and only if it holds the nearest key below or above one of its others
    (`at`: where each would go in `keys`)."""
    count, last = 0, None
    bits = np.uint64(shift)
    for start in range(0, len(others), CHUNK):
        piece = slice(start, start + CHUNK)
        chunk = others[piece] >> bits
        first = np.empty(len(chunk), np.bool_)  # the first of each run of equal values
        first[0] = last != chunk[0]
        np.not_equal(chunk[1:], chunk[:-1], out=first[1:])
        last = chunk[-1]
        if len(keys):
            where = at[piece]
            first &= keys[np.minimum(where, len(keys) - 1)] >> bits != chunk
            first &= keys[np.maximum(where - 1, 0)] >> bits != chunk
        count += int(np.count_nonzero(first))
    return count


class ScoreSketch:
    """A mergeable summary of (score, target, weight) for ROC AUC, average precision
    and equal-mass reliability bins, in at most `cap` buckets.

    Scores are keyed by `score_keys`; buckets are the keys shifted right by
    `shift` bits, the same shift everywhere. `shift` only grows: when a batch
    or a merge would make more than `cap` buckets it becomes the smallest shift
    at which the union fits. That smallest shift depends only on the set of
    scores, so any split of the data, fed or merged in any order, ends with the
    same buckets, counts and (to about 2**-100) sums as one run.

    Parameters
    ----------
    weighted : bool, default=False
        Whether every batch comes with weights (scikit-learn's `sample_weight`).
    cap : int, default=None
        The most buckets kept, at most 2**20; None: `DEFAULT_CAP` (2**19), or
        `WEIGHTED_CAP` (3·2**17) with weights, so that either stays near 35 MiB.

    Examples
    --------
    >>> from bcecli.ranking import ScoreSketch
    >>> sketch = ScoreSketch()
    >>> sketch.add([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    >>> sketch.roc_auc()
    Estimate(value=0.75, low=0.75, high=0.75, exact=True)
    >>> round(sketch.average_precision().value, 12)
    0.833333333333

    With room for two buckets only, 0.35 and 0.4 share one: the bounds hold
    whichever order they had. Shards merge into the state of one run:

    >>> first, second = ScoreSketch(cap=2), ScoreSketch(cap=2)
    >>> first.add([0.1, 0.4], [0, 0])
    >>> second.add([0.35, 0.8], [1, 1])
    >>> first.merge(second)
    >>> first.roc_auc()
    Estimate(value=0.75, low=0.5, high=1.0, exact=False)
    """

    def __init__(self, weighted: bool = False, cap: int | None = None) -> None:
        if cap is None:
            cap = WEIGHTED_CAP if weighted else DEFAULT_CAP
        if not 1 <= cap <= MAX_CAP:
            raise ValueError(f"cap must be in [1, {MAX_CAP}], not {cap}")
        self.weighted = weighted
        self.cap = cap
        self.shift = 0
        self.columns = self.summarise(np.empty(0), np.empty(0), np.empty(0) if weighted else None)

    @property
    def exact(self) -> bool:
        """Every bucket holds one distinct score: the metrics are exact."""
        return self.shift == 0

    def __len__(self) -> int:
        return len(self.columns["keys"])

    def add(self, scores: ArrayLike, targets: ArrayLike, weights: ArrayLike | None = None
            ) -> None:
        """A batch: scores in [0, 1], targets in [0, 1] (positive when >= 0.5, soft
        ones summed as they are in Σw·y), and weights (finite, >= 0) if `weighted`.

        Raises
        ------
        BadValue
            A score or target outside [0, 1] or NaN, a negative or infinite weight.
        ValueError
            Weights given to an unweighted sketch or missing from a weighted one,
            or shapes that differ.
        """
        p = np.ravel(np.asarray(scores, np.float64))
        y = np.ravel(np.asarray(targets, np.float64))
        w = None if weights is None else np.ravel(np.asarray(weights, np.float64))
        if (w is None) == self.weighted:
            raise ValueError("a weighted sketch takes weights with every batch, "
                             "an unweighted one none")
        if len(y) != len(p) or (w is not None and len(w) != len(p)):
            raise ValueError("scores, targets and weights must have the same length")
        check_predictions(p, logits=False)
        check_targets(y)
        if w is not None:
            check_weights(w, "weight")
        for start in range(0, len(p), BLOCK):
            end = start + BLOCK
            block = self.summarise(p[start:end], y[start:end],
                                   None if w is None else w[start:end])
            self.absorb(block)

    def summarise(self, p: FloatArray, y: FloatArray, w: FloatArray | None) -> Columns:
        """One block's buckets at the current shift: rows sorted by key, then each
        run of equal keys summed (so each chunk of rows meets few buckets).
        Temporaries are let go as soon as used: this is the peak of `add`."""
        full = score_keys(p)
        hard = bool(((y == 0) | (y == 1)).all())
        if w is None and hard:
            # 0/1 targets ride in the keys' last bit: one sort, and the scores come back
            # from the keys (a quarter of the time of sorting an order and gathering)
            full <<= np.uint64(1)
            full |= y == 1
            full.sort()
            positive = (full & np.uint64(1)).astype(np.bool_)
            full >>= np.uint64(1)
            p, y = key_scores(full), positive.astype(np.float64)
        else:
            order = np.argsort(full)
            full, p, y = full[order], p[order], y[order]
            w = None if w is None else w[order]
            del order
            positive = y >= 0.5
        starts = runs(full >> np.uint64(self.shift))
        size = len(starts)
        ends = np.append(starts[1:] - 1, len(full) - 1)[:size]  # each run's last row
        columns: Columns = {
            "keys": full[starts] >> np.uint64(self.shift),
            "first": full[starts],
            "single": full[starts] == full[ends],
            "count": np.diff(np.append(starts, len(full))).astype(np.int64),
            "positives": np.add.reduceat(positive.astype(np.int64), starts) if size
            else np.zeros(0, np.int64),
        }
        del full, ends
        columns["sum_p"] = dd_runs(starts, p if w is None else w * p)
        del p
        if w is not None:
            columns["weight_neg"] = dd_runs(starts, np.where(positive, 0.0, w))
            columns["weight_pos"] = dd_runs(starts, np.where(positive, w, 0.0))
        # with 0/1 targets, Σw·y is the weight of the positives (w·1 = w exactly)
        columns["sum_y"] = columns["weight_pos"].copy() if w is not None and hard else \
            dd_runs(starts, y if w is None else w * y)
        return {name: columns[name] for name in ORDER if name in columns}

    def absorb(self, other: Columns) -> None:
        """Buckets at this sketch's shift, added in (`other` is used up, a column at a
        time); both coarser first if there would be more than `cap` of them."""
        keys = self.columns["keys"]
        at = np.searchsorted(keys, other["keys"])
        found = np.zeros(len(at), np.bool_)
        for start in range(0, len(at) if len(keys) else 0, CHUNK):  # by pieces
            piece = slice(start, start + CHUNK)
            found[piece] = keys[np.minimum(at[piece], len(keys) - 1)] == other["keys"][piece]
        new = ~found
        if len(keys) + int(np.count_nonzero(new)) > self.cap:
            del found, new
            extra = fitting(keys, self.cap, other["keys"], at)
            del keys, at
            other = reduce_sorted(other, extra)  # the smaller first: it shrinks
            self.coarsen(self.shift + extra)
            self.absorb(other)
            return
        mine = self.columns
        for start in range(0, len(at), CHUNK):  # the buckets both have, by pieces
            piece = slice(start, start + CHUNK)
            hit, ours = at[piece][found[piece]], found[piece]
            first, theirs = mine["first"][hit], other["first"][piece][ours]
            mine["single"][hit] &= other["single"][piece][ours] & (first == theirs)
            mine["first"][hit] = np.minimum(first, theirs)
            for name, column in mine.items():
                if name in COUNTS:
                    column[hit] += other[name][piece][ours]
                elif name not in ("keys", *SCORES):
                    mine_hi, mine_lo = dd_add(column[0, hit], column[1, hit],
                                              other[name][0, piece][ours],
                                              other[name][1, piece][ours])
                    column[0, hit], column[1, hit] = mine_hi, mine_lo
        del found
        if new.any():  # an insertion by a mask: np.insert is several times slower
            slots = at[new] + np.arange(int(np.count_nonzero(new)))
            size = len(keys) + len(slots)
            del at, keys
            old = np.ones(size, np.bool_)
            old[slots] = False
            for name in list(mine):
                column = mine.pop(name)  # one column at a time in memory twice
                merged = np.empty((*column.shape[:-1], size), column.dtype)
                for target, source, added in zip(np.atleast_2d(merged), np.atleast_2d(column),
                                                 np.atleast_2d(other.pop(name)), strict=True):
                    target[slots] = added[new]
                    target[old] = source
                del column, source, added  # theirs too, if theirs alone (`merge`'s consume)
                mine[name] = merged

    def coarsen(self, shift: int) -> None:
        """Drop the low bits of every key down to `shift` bits, adding the buckets that meet."""
        extra = shift - self.shift
        if extra > 0:
            self.columns = reduce_sorted(self.columns, extra)
            self.shift = shift

    def limit(self, cap: int) -> None:
        """Room for `cap` buckets at most, where that is fewer than now: coarser, as a run
        with that cap would have been (the smallest shift that fits the scores)."""
        if cap < self.cap:
            self.cap = cap
            self.coarsen(self.shift + fitting(self.columns["keys"], cap))

    def merge(self, other: ScoreSketch, *, consume: bool = False) -> None:
        """Add another sketch's data, as if it had been fed to this one (shards).

        Sketches of different caps (pyarrow's readers leave room for fewer buckets)
        merge at the smaller: the result is the sketch one run with that cap would
        have made, since the smallest shift that fits the union fits every part.
        `consume` lets the merge use up `other` (left empty), column by column, rather
        than hold a coarser copy of it beside it: a shard read only to be merged."""
        if other.weighted != self.weighted:
            raise ValueError("sketches merge only with the same weighting")
        self.limit(other.cap)
        self.coarsen(other.shift)
        theirs = other.columns if consume else dict(other.columns)  # arrays read, not written
        if consume:
            other.columns = {}
        if self.shift > other.shift:
            theirs = reduce_sorted(theirs, self.shift - other.shift)
        self.absorb(theirs)

    def class_weights(self) -> tuple[FloatArray, FloatArray]:
        """The weight of the negatives and of the positives in each bucket, as floats
        (within 2**-52 relative of the exact sums; counts without weights)."""
        c = self.columns
        if not self.weighted:
            return ((c["count"] - c["positives"]).astype(np.float64),
                    c["positives"].astype(np.float64))
        neg, pos = c["weight_neg"], c["weight_pos"]
        return neg[0] + neg[1], pos[0] + pos[1]

    def roc_auc(self) -> Estimate | None:
        """Area under the ROC curve, as scikit-learn's `roc_auc_score` with
        `sample_weight` (`sklearn/metrics/_ranking.py`, `_binary_roc_auc_score`:
        the trapezoids of `roc_curve`, i.e. pairs ranked right, ties counted half).

        With buckets (score order unknown inside one), `low` ranks every bucket's
        negatives above its positives, `high` the reverse, and `value` counts the
        bucket as a tie; a bucket known to hold one score (every bucket, in exact
        mode) is a tie in all three. Unweighted, the three are exact fractions rounded
        outward; weighted, see `certify`. None with one class only (no weight on
        one side), where scikit-learn raises.
        """
        if not self.weighted:
            pos = self.columns["positives"]
            neg = self.columns["count"] - pos
            below = np.cumsum(neg) - neg
            pairs = int(pos.sum()) * int(neg.sum())
            if not pairs:
                return None
            ranked, tied = int_dot(pos, below, pairs), int_dot(pos, neg, pairs)
            open_ties = int_dot(pos, np.where(self.columns["single"], 0, neg), pairs)
            low = Fraction(2 * ranked + tied - open_ties, 2 * pairs)
            high = Fraction(2 * ranked + tied + open_ties, 2 * pairs)
            return Estimate(float((low + high) / 2), round_down(low), round_up(high),
                            self.exact)
        neg_w, pos_w = self.class_weights()
        total_pos = total_of(self.columns["weight_pos"])
        total_neg = total_of(self.columns["weight_neg"])
        if not total_pos or not total_neg:
            return None
        # each class scaled by a power of two to a total in [0.5, 1): nothing overflows
        pos_exp, neg_exp = math.frexp(total_pos)[1], math.frexp(total_neg)[1]
        pos_s, neg_s = np.ldexp(pos_w, -pos_exp), np.ldexp(neg_w, -neg_exp)
        scaled = math.ldexp(total_pos, -pos_exp) * math.ldexp(total_neg, -neg_exp)
        below = prefix_sums(neg_s)
        share = exact_total(accurate_sum(pos_s * below)) / scaled  # ranked right
        single = self.columns["single"]  # ties there count half, as scikit-learn's
        closed = exact_total(accurate_sum(pos_s * np.where(single, neg_s, 0.0))) / scaled
        unknown = exact_total(accurate_sum(pos_s * np.where(single, 0.0, neg_s))) / scaled
        point = share + (closed + unknown) / 2
        bounds = certify(share + closed / 2, share + closed / 2 + unknown)
        return Estimate.within(point, *bounds, self.exact)

    def average_precision(self) -> Estimate | None:
        """Average precision, as scikit-learn's `average_precision_score` with
        `sample_weight` (`sklearn/metrics/_ranking.py`,
        `_binary_uninterpolated_average_precision`): Σ over distinct scores, from
        the highest, of (the positive weight at that score / P) × precision there,
        where precision = TP / (TP + FP) over the scores at or above it.

        Bounds, when a bucket holds several scores. Take one bucket with weights
        T, F of positives, negatives above it, p, n inside it, D = F + n. Each
        positive group inside (one score) has precision (T + c) / (T + c + F + f),
        c and f the positive and negative weight of the bucket at or above it.
        Precision grows with c and falls with f, which is why moving a positive
        above a negative never lowers AP, and why the extreme orders bound it:
        - at most (T + c) / (T + c + F), c <= p: the bucket gives at most
          p·(T + p) / (T + p + F), its positives first, tied;
        - at least g(c) = (T + c) / (T + c + D), increasing in c, so the sum over
          the groups (weight times g at their running total c) is at least the
          integral of g from 0 to p, and g is concave, so that integral is at
          least the trapezoid p·(g(0) + g(p)) / 2.
        `value` counts each bucket as one tied score (between the two); a bucket
        known to hold one score is exact. None when no positive weight, where scikit-learn's value
        is meaningless (it warns and sets recall to 1).
        """
        neg, pos = self.class_weights()
        spread = 0  # negatives are 2**spread times their scale relative to positives
        if self.weighted:
            # each class scaled by a power of two to a total in [0.5, 1): however far
            # apart their weights, precision is formed as 1 / (1 + FP/TP · 2**spread)
            total = total_of(self.columns["weight_pos"])
            pos_exp = math.frexp(total)[1]
            neg_exp = math.frexp(total_of(self.columns["weight_neg"]))[1]
            spread = neg_exp - pos_exp
            neg, pos = np.ldexp(neg, -neg_exp), np.ldexp(pos, -pos_exp)
            total = math.ldexp(total, -pos_exp)
            above_pos, above_neg = prefix_sums(pos[::-1])[::-1], prefix_sums(neg[::-1])[::-1]
        else:
            total = float(self.columns["positives"].sum())
            above_pos = (np.cumsum(pos[::-1]) - pos[::-1])[::-1]  # exact: integers < 2**53
            above_neg = (np.cumsum(neg[::-1]) - neg[::-1])[::-1]
        if not total:
            return None
        sums: list[list[float]] = [[], [], []]  # exact sums of the terms: tie, low, high
        for i in range(0, len(pos), CHUNK):  # by pieces: a dozen temporary arrays each
            piece = slice(i, i + CHUNK)
            single = self.columns["single"][piece]
            for parts, term in zip(sums, precision_terms(
                    pos[piece], neg[piece], above_pos[piece], above_neg[piece], single,
                    spread), strict=True):
                parts[:] = exact_parts(parts + accurate_sum(term))
        value, lo, hi = (exact_total(parts) / total for parts in sums)
        return Estimate.within(value, *certify(lo, hi), self.exact)

    def curves(self, points: int = CURVE_POINTS) -> Curves:
        """The ROC and precision-recall curves at the buckets' lower boundaries, each a
        threshold (score >= it: predicted positive), as scikit-learn's `roc_curve`
        (`drop_intermediate=False`) and `precision_recall_curve` (reversed) give them
        on an exact sketch; buckets of no weight are no threshold (scikit-learn drops
        rows of weight 0). A bucket holding several scores is one threshold: the
        straight line through its corners is the tie curve (`roc_auc`'s value is the
        area under it). Past `points` thresholds, those kept are the first at which
        fpr + tpr (ROC) reaches each of `points - 1` even steps of [0, 2]: a
        deterministic choice, spread along the curve, the last threshold always kept.
        """
        if points < 2:
            raise ValueError(f"points must be >= 2, not {points}")
        neg, pos = self.class_weights()
        kept = (neg + pos) > 0
        neg, pos = neg[kept][::-1], pos[kept][::-1]  # from the highest score down
        if self.weighted:  # the running sums through each bucket, within about 2u
            fp, tp = prefix_sums(np.append(neg, 0.0))[1:], prefix_sums(np.append(pos, 0.0))[1:]
        else:
            fp, tp = np.cumsum(neg), np.cumsum(pos)  # exact: integers < 2**53
        if not len(tp):
            return Curves(None, None)
        negatives, positives = float(fp[-1]), float(tp[-1])
        if len(tp) >= points:
            spread = (fp / negatives if negatives else 0.0) + (tp / positives if positives
                                                               else 0.0)
            steps = np.linspace(0.0, 2.0, points)[1:-1]
            chosen = np.unique(np.append(np.searchsorted(spread, steps), len(tp) - 1))
            fp, tp = fp[chosen[chosen < len(tp)]], tp[chosen[chosen < len(tp)]]
        roc = None if not positives or not negatives else \
            ([0.0, *(fp / negatives).tolist()], [0.0, *(tp / positives).tolist()])
        pr = None if not positives else \
            ([0.0, *(tp / positives).tolist()], [1.0, *(tp / (tp + fp)).tolist()])
        return Curves(roc, pr)

    def mass_edges(self, bins: int) -> MassBins | None:
        """Up to `bins` bins of about equal weight, cut at bucket boundaries, with the
        sums of each (for an equal-mass reliability table).

        Each cut is the bucket boundary nearest to a multiple of 1/bins of the
        weight; cuts that meet are one, so fewer bins come back when one bucket
        (a tied score) holds more than a bin's share. None when the weight is zero.
        """
        if bins < 1:
            raise ValueError(f"bins must be >= 1, not {bins}")
        c = self.columns
        if self.weighted:
            weight = dd_add(c["weight_neg"][0], c["weight_neg"][1],
                            c["weight_pos"][0], c["weight_pos"][1])
        else:
            weight = (c["count"].astype(np.float64), np.zeros(len(self)))
        if not len(self):
            return None
        running = prefix_sums(weight[0] + weight[1]) + weight[0] + weight[1]
        if running[-1] <= 0:
            return None
        targets = running[-1] * np.arange(1, bins) / bins
        after = np.searchsorted(running, targets)  # running[after - 1] < t <= running[after]
        before = np.maximum(after - 1, 0)
        nearer = np.where(np.abs(running[before] - targets) <= np.abs(running[after] - targets),
                          before, after)
        cuts = sorted({*(int(i) + 1 for i in nearer), len(self)} - {0})
        starts = [0, *cuts[:-1]]
        edges = [0.0, *(key_score(int(c["keys"][s]) << self.shift) for s in starts[1:]), 1.0]
        firsts = np.asarray(starts, np.int64)  # each bin's first bucket
        sums = {name: dd_runs(firsts, c[name][0], c[name][1]) for name in SUMS}
        w = dd_runs(firsts, *weight)
        p, y = sums["sum_p"].tolist(), sums["sum_y"].tolist()
        gap = [abs(exact_total([p[0][b], p[1][b], -y[0][b], -y[1][b]])) for b in range(len(cuts))]
        return MassBins(edges, np.add.reduceat(c["count"], starts).tolist(),
                        (w[0] + w[1]).tolist(), (sums["sum_p"][0] + sums["sum_p"][1]).tolist(),
                        (sums["sum_y"][0] + sums["sum_y"][1]).tolist(), gap)

    def to_json(self, compact: bool = False) -> dict[str, Any]:
        """The whole state as plain ints, floats and lists (floats print exactly in
        JSON: Python writes the shortest repr that reads back to the same float).

        A full sketch is big that way (about 60 bytes of JSON and 300 of Python
        objects a bucket); `compact` writes each column as `encode_column` does
        instead (12 bytes of JSON for 8 of data), as exactly.
        """
        return self.state() | {name: encode_column(column) if compact else column.tolist()
                               for name, column in self.columns.items()}

    def state(self) -> dict[str, Any]:
        """The sketch but its columns: the keys of `to_json` besides them."""
        return {"bcecli_sketch": FORMAT, "weighted": self.weighted, "cap": self.cap,
                "shift": self.shift}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ScoreSketch:
        """The sketch `to_json` gave, in either form (a column may also be the array
        `decode_column` gave). Raises ValueError on a state that cannot be one."""
        if data.get("bcecli_sketch") != FORMAT:
            raise ValueError(f"not a sketch of format {FORMAT}")
        sketch = cls(bool(data["weighted"]), int(data["cap"]))
        sketch.shift = int(data["shift"])
        names = list(ORDER if sketch.weighted else ORDER[:-len(WEIGHTS)])
        if set(data) - {"bcecli_sketch", "weighted", "cap", "shift"} != set(names):
            raise ValueError("a sketch has the columns " + ", ".join(names))
        columns: Columns = {}
        for name in names:
            value = data[name]
            columns[name] = decode_column(name, value) if isinstance(value, str) else \
                np.asarray(value, column_kind(name))
        size = len(columns["keys"])
        keys = columns["keys"]
        sums = [columns[name] for name in names if name in SUMS + WEIGHTS]
        if (any(column.shape[-1:] != (size,) for column in columns.values())
                or any(column.shape != (2, size) for column in sums)
                or size > sketch.cap or not 0 <= sketch.shift < 64
                or bool((keys[1:] <= keys[:-1]).any())
                or bool((columns["first"] >> np.uint64(sketch.shift) != keys).any())
                or (size and int(keys[-1]) > TOP >> sketch.shift)
                or bool((columns["positives"] < 0).any())
                or bool((columns["positives"] > columns["count"]).any())
                or not all(bool(np.isfinite(column).all() and (column[0] >= 0).all())
                           for column in sums)):
            raise ValueError("the sketch's columns do not agree with each other")
        sketch.columns = columns
        return sketch


def column_kind(name: str) -> np.dtype[Any]:
    """The dtype of a sketch's column."""
    return np.dtype(np.uint64 if name in ("keys", "first") else np.bool_ if name == "single"
                    else np.int64 if name in COUNTS else np.float64)


def encode_column(column: NDArray[Any]) -> str:
    """A column as the base64 of its little-endian bytes: exact, and 4/3 of its size."""
    return b"".join(encoded_chunks(column)).decode()


def encoded_chunks(column: NDArray[Any]) -> Iterator[bytes]:
    """`encode_column`'s text a piece at a time (a part's checksum and file take a column
    this way, without its whole text): the base64 of each `ENCODED` bytes, which join
    into the whole's (a multiple of 3 bytes, so no padding falls between them)."""
    data = np.ascontiguousarray(column, column.dtype.newbyteorder("<"))  # no copy if so
    raw = data.reshape(-1).view(np.uint8).data
    for start in range(0, len(raw), ENCODED):
        yield binascii.b2a_base64(raw[start:start + ENCODED], newline=False)


def decode_column(name: str, text: str) -> NDArray[Any]:
    """The column `encode_column` wrote, sums as their (2, n) double-doubles. Raises
    ValueError (binascii.Error) on text that is not base64 of whole values."""
    kind = column_kind(name)
    flat = np.frombuffer(base64.b64decode(text, validate=True),
                         kind.newbyteorder("<")).astype(kind)
    return flat.reshape(2, -1) if name in SUMS + WEIGHTS else flat


def precision_terms(pos: FloatArray, neg: FloatArray, above_pos: FloatArray,
                    above_neg: FloatArray, single: NDArray[np.bool_] | bool, spread: int
                    ) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Each bucket's part of P·AP: counted as a tie, and its lower and upper bounds
    (`ScoreSketch.average_precision`); all three the tie where a bucket is one score.
    Negative weights are 2**spread times the scale of positive ones."""
    reached = above_pos + pos
    tie = pos * precision(reached, above_neg + neg, spread)
    high = pos * precision(reached, above_neg, spread)
    start = precision(above_pos, above_neg + neg, spread)
    start[np.isnan(start)] = 1.0  # nothing above, nothing negative: precision 1 throughout
    low = pos / 2 * (start + precision(reached, above_neg + neg, spread))
    has = pos > 0
    tie = np.where(has, tie, 0.0)  # no positive: no term (and 0/0 above)
    bounded = has & ~single
    return tie, np.where(bounded, low, tie), np.where(bounded, high, tie)


def precision(tp: FloatArray, fp: FloatArray, spread: int) -> FloatArray:
    """TP / (TP + FP) as 1 / (1 + FP/TP · 2**spread): 0 where TP = 0 < FP, NaN at 0/0;
    no overflow or underflow can cost more than an ulp of the result."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        result: FloatArray = 1 / (1 + np.ldexp(fp / tp, spread))
    return result


def int_dot(a: I64, b: I64, bound: int) -> int:
    """Σ a·b exactly, for non-negative integers whose products sum to at most `bound`:
    in int64 when that cannot overflow, else in Python integers a piece at a time."""
    if bound < 2**63:
        return int(np.dot(a, b))
    return sum(sum(map(int.__mul__, a[i:i + CHUNK].tolist(), b[i:i + CHUNK].tolist()))
               for i in range(0, len(a), CHUNK))


def total_of(parts: FloatArray) -> float:
    """The total of a double-double column (rows hi, lo), correctly rounded."""
    return exact_total(accurate_sum(parts[0]) + accurate_sum(parts[1]))


def prefix_sums(values: FloatArray) -> FloatArray:
    """Σ of the values before each one (non-negative values), within about 2u relative:
    numpy's sequential cumsum plus the cumsum of its own rounding errors (TwoSum)."""
    if not values.size:
        return values.copy()
    running = np.cumsum(values)
    before = np.concatenate([[0.0], running[:-1]])
    if not np.array_equal(running, before + values):  # the errors below assume this order
        raise AssertionError("np.cumsum did not add in sequence")
    errors = np.cumsum(two_sum(before, values)[1])
    return np.concatenate([[0.0], (running + errors)[:-1]])


def certify(low: float, high: float) -> tuple[float, float]:
    """Bounds from computed ones, widened by every error they can carry.

    Every computed bound is a sum of non-negative terms, each through at most a
    dozen roundings of u = 2**-53 from bucket weights within 2**-60 relative of
    their exact sums (double-doubles after fewer than 2**40 additions), and a
    correctly rounded sum (`accurate_sum`, `math.fsum`): within 16u relative. Each
    class is scaled to a total near 1 first, so only weights below 2**-1000 of
    their class's total can underflow; a bucket of such weight moves the value by
    at most 2**-1000, n <= 2**20 buckets by 2**-980. We widen by 32u, by 2**-960,
    and by one ulp each way, then clip to [0, 1].
    """
    lo = math.nextafter(max(low * (1 - SLACK) - TINY, 0.0), -math.inf)
    hi = math.nextafter(high * (1 + SLACK) + TINY, math.inf)
    return max(lo, 0.0), min(hi, 1.0)


def round_down(value: Fraction) -> float:
    """The largest float <= value."""
    f = float(value)
    return math.nextafter(f, -math.inf) if Fraction(f) > value else f


def round_up(value: Fraction) -> float:
    """The smallest float >= value."""
    f = float(value)
    return math.nextafter(f, math.inf) if Fraction(f) < value else f
