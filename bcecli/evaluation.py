"""The evaluation metrics of issue 13 that are sums: NE, calibration, reliability bins,
an interval for the loss, and a Poisson bootstrap, fed batch by batch.

Every state here is a handful of exact sums (core's `accurate_sum` and
`exact_parts`), so it merges (`merge`) and round-trips through JSON (`to_json`,
`from_json`: the sums as their exact float parts) without losing a bit, and a
merge of shards equals one run over the concatenated data. No I/O, no CLI: the
caller feeds probabilities (the sigmoid of logits, recalibrated first when a
negative sampling rate is given), targets, weights and core's per-element losses.
Ranking metrics (ROC AUC, average precision) and equal-mass bins live in
`bcecli.ranking`; their bin sums make the same table through `Bins.from_sums`.
The definitions, and the reference each was checked against: docs/usage.md,
"Evaluation metrics".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from bcecli.core import FloatArray, accurate_sum, exact_parts, exact_total
from bcecli.errors import UsageError

Uint64Array = NDArray[np.uint64]
CountArray = NDArray[np.uint8]
Interval = tuple[float, float]

Z95 = 1.9599639845400543  # Φ⁻¹(0.975), the double nearest (the tests compute it in decimals)
DEFAULT_THRESHOLD = 0.5
DEFAULT_BINS = 10
DEFAULT_SEED = 0
SPLIT = 134217729.0  # 2**27 + 1: Veltkamp's split of a double into two 26-bit halves
MASK = (1 << 64) - 1
GAMMA = 0x9E3779B97F4A7C15  # splitmix64's increment (Steele, Lea and Flood, 2014)
MIX1, MIX2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
ROWS = 1 << 16  # a bootstrap chunk: 65536 rows × 16 replicates, 8 MiB a temporary
REPLICATES = 16  # a multiple of LANES

# The sums behind the metrics, each over every element: w the weight (1 without
# weights), u the loss as core returns it (already times w), p, y.
SUMS = ("weight", "weight_sq", "loss", "loss_sq", "weight_loss", "prediction", "label",
        "brier", "correct")
BIN_SUMS = ("weight", "weight_sq", "prediction", "label")
# What each bootstrap replicate sums, times the row's count: 1, w, u, w·y, w·p,
# w·(p − y)², w·[correct].
REPLICATE_SUMS = ("count", "weight", "loss", "label", "prediction", "brier", "correct")


def recalibrate(p: FloatArray, rate: float) -> FloatArray:
    """Predictions of a model trained on negatives kept at `rate`, mapped back to the
    full data: p' = p / (p + (1 − p) / rate), in that order of operations, as TorchRec's
    `RecalibratedNEMetricComputation._recalibrate` (torchrec/metrics/
    ne_with_recalibration.py:78-87) and calibration_with_recalibration.py:63-65 do.
    A rate of 1 returns `p` itself, untouched; p = 0 and p = 1 stay put.

    Raises
    ------
    UsageError
        `rate` is not a finite number > 0.
    """
    if not (math.isfinite(rate) and rate > 0):
        raise UsageError(f"the negative sampling rate must be a number > 0, not {rate!r}")
    if rate == 1:
        return p
    recalibrated: FloatArray = p / (p + (1 - p) / rate)
    return recalibrated


Nats = TypeVar("Nats", float, FloatArray)


def in_base(nats: Nats, base: float | None) -> Nats:
    """A loss-like number (a loss, an entropy, an end of their interval; per-element
    losses for --top, --hist and the classes) in nats given in `base` instead: bits for
    2; None (e) leaves it. The one place `--base` acts; ratios of losses (NE) have no
    unit and are not passed here."""
    return nats if base is None else nats / math.log(base)


def binary_entropy(q: float) -> float | None:
    """H(q) = −q·ln q − (1 − q)·ln(1 − q) in nats; None at q = 0 or 1, where a
    normalised entropy would divide by zero (torcheval clamps q to [eps, 1 − eps]
    instead: binary_normalized_entropy.py:109-113)."""
    if not 0 < q < 1:
        return None
    return -q * math.log(q) - (1 - q) * math.log1p(-q)


def wilson(rate: float, size: float, z: float = Z95) -> Interval:
    """Wilson's score interval for a proportion `rate` out of `size` trials (Wilson,
    1927): the roots in π of (rate − π)² = k·π(1 − π), k = z²/size. With s =
    2r + k + √(k(4r(1 − r) + k)), the upper root is s/(2(1 + k)) and the lower one
    2r²/s (their product is r²/(1 + k)): no cancellation in either, so the lower end
    is 0 at r = 0, not 1e-17. Clipped to [0, rate] and [rate, 1] against rounding.
    With weights, `size` is Kish's effective sample size (Σw)²/Σw²."""
    k = z * z / size
    s = 2 * rate + k + math.sqrt(k * (4 * rate * (1 - rate) + k))
    return min(2 * rate * rate / s, rate), min(max(s / (2 * (1 + k)), rate), 1.0)


def two_product(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray]:
    """a·b as product + error, exactly (Dekker's TwoProduct with Veltkamp's split), so
    that sums of squares are exact and a variance loses nothing to cancellation. Where
    the split overflows (|a| or |b| above 1e300 or so) the error is taken as 0."""
    product = a * b
    with np.errstate(over="ignore", invalid="ignore"):
        a_high = SPLIT * a
        a_high = a_high - (a_high - a)
        b_high = SPLIT * b
        b_high = b_high - (b_high - b)
        a_low, b_low = a - a_high, b - b_high
        error = ((a_high * b_high - product) + a_high * b_low + a_low * b_high) + a_low * b_low
    error[~np.isfinite(error)] = 0.0
    return product, error


def exact_sum(values: FloatArray, errors: FloatArray | None = None) -> list[float]:
    """The parts of the sum of `values` (core's `accurate_sum`) plus that of `errors`,
    the error terms of `two_product`, summed plainly: they are 2⁻⁵³ of the values, so
    the sum stays within about eps² of exact, as `accurate_sum`'s own errors do."""
    parts = accurate_sum(values)
    if errors is not None:
        parts.append(float(np.sum(errors)))
    return exact_parts(parts)


def fraction(parts: list[float]) -> Fraction:
    """The exact sum of finite parts, as a rational, for formulas that cancel."""
    return sum((Fraction(part) for part in parts), Fraction(0))


def mean_ci95(reduction: str, n: int, total: list[float], squares: list[float],
              weight: list[float], weight_sq: list[float], weight_total: list[float]
              ) -> Interval | None:
    """A 95% normal interval for the reduced sum of n values u, from the exact sums
    Σu, Σu², Σw, Σw², Σw·u (as parts; without weights Σw = Σw² = n, Σw·u = Σu).

    "mean" (and "sum", times N): the sample variance s² of u, s² = (Σu² − (Σu)²/N)/(N − 1),
    and mean ± z·s/√N. "weighted-mean": R = Σu/Σw is a ratio estimator; its
    delta-method variance is N/(N − 1) · Σ(u − R·w)² / (Σw)², with Σ(u − R·w)² = Σu² −
    2R·Σw·u + R²·Σw². Each formula is evaluated in rationals from the exact sums, so
    nothing is lost to cancellation: values all equal give a width of exactly 0. None
    with fewer than two values, zero total weight, or an infinite sum. Used for the
    loss (`EvalSums`) and for the paired differences of two models (`bce diff`).
    """
    if n < 2 or not all(math.isfinite(v) for parts in (total, squares, weight, weight_sq,
                                                       weight_total) for v in parts):
        return None
    s1, s2 = fraction(total), fraction(squares)
    if reduction == "weighted-mean":
        w = fraction(weight)
        if w == 0:
            return None
        ratio = s1 / w
        residuals = s2 - 2 * ratio * fraction(weight_total) + ratio * ratio * fraction(weight_sq)
        centre, variance = ratio, n * residuals / ((n - 1) * w * w)
    elif reduction in ("mean", "sum"):
        scale = n if reduction == "sum" else 1
        centre = s1 / n * scale
        variance = (n * s2 - s1 * s1) / (n * n * (n - 1)) * scale * scale
    else:
        raise UsageError(f"reduction {reduction!r} has no interval")
    half = Z95 * math.sqrt(max(float(variance), 0.0))
    return float(centre) - half, float(centre) + half


def add_parts(total: list[float], more: list[float]) -> list[float]:
    """Two exact sums as one, still a few floats."""
    return exact_parts(total + more)


def parts_of(data: Any, what: str) -> list[float]:
    """A list of floats from JSON, or UsageError naming it."""
    if not isinstance(data, list) or not all(isinstance(v, int | float) for v in data):
        raise UsageError(f"{what} must be a list of numbers")
    return [float(v) for v in data]


def prepared(p: FloatArray, y: FloatArray, losses: FloatArray, weight: FloatArray | None
             ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
    """The batch as flat float64 arrays, the weight broadcast to the predictions' shape
    as the loss's weights are."""
    shape = np.shape(p)
    flat = [np.ravel(np.asarray(a, dtype=np.float64)) for a in (p, y, losses)]
    if any(len(a) != flat[0].size for a in flat):
        raise UsageError("predictions, targets and losses must have the same shape")
    w = None if weight is None else \
        np.ravel(np.broadcast_to(np.asarray(weight, dtype=np.float64), shape))
    return flat[0], flat[1], flat[2], w


@dataclass(frozen=True)
class Bin:
    """One row of the reliability table; the means and interval are None on zero weight."""

    lower: float
    upper: float
    count: int
    weight: float
    mean_prediction: float | None
    mean_label: float | None
    label_ci95: Interval | None

    def to_json(self) -> dict[str, Any]:
        """The row as `"calibration_bins"` holds it."""
        return {"lower": self.lower, "upper": self.upper, "count": self.count,
                "weight": self.weight, "mean_prediction": self.mean_prediction,
                "mean_label": self.mean_label,
                "label_ci95": None if self.label_ci95 is None else list(self.label_ci95)}


@dataclass(frozen=True)
class Bins:
    """A reliability table and the calibration errors read from it.

    `ece` = Σ_b (W_b/W)·|P_b/W_b − Y_b/W_b| = Σ_b |P_b − Y_b| / W and `mce` = the
    largest |P_b/W_b − Y_b/W_b| over bins of weight > 0, with W_b, P_b, Y_b the bin's
    Σw, Σw·p, Σw·y and W = Σ_b W_b. Without weights, w = 1: scikit-learn's
    `calibration_curve` (sklearn/calibration.py:1332-1340) gives the same means.
    """

    bins: tuple[Bin, ...]
    ece: float | None
    mce: float | None

    @classmethod
    def from_sums(cls, lower: Sequence[float], upper: Sequence[float], count: Sequence[int],
                  weight: Sequence[float], weight_sq: Sequence[float],
                  prediction: Sequence[float], label: Sequence[float],
                  gap: Sequence[float]) -> Bins:
        """The table from each bin's edges, element count and sums Σw, Σw², Σw·p, Σw·y
        (Σw² = the count without weights), and |Σw·p − Σw·y| from the exact sums (the
        difference of the rounded ones can lose every digit to cancellation):
        equal-width bins here, equal-mass ones in `bcecli.ranking`."""
        rows = []
        gaps: list[float] = []
        mce: float | None = None
        for row in zip(lower, upper, count, weight, weight_sq, prediction, label, gap,
                       strict=True):
            low, high, n, w, w2, wp, wy, g = row
            if w > 0:
                rate = min(max(wy / w, 0.0), 1.0)
                # Kish's size as (Σw/√Σw²)², safe from overflow; none if Σw² under- or
                # overflowed (weights below 1e-162 or above 1e154)
                interval = wilson(rate, (w / math.sqrt(w2)) ** 2) if 0 < w2 < math.inf \
                    else None
                rows.append(Bin(low, high, n, w, wp / w, wy / w, interval))
                gaps.append(g)
                mce = max(g / w, mce or 0.0)
            else:
                rows.append(Bin(low, high, n, w, None, None, None))
        total = math.fsum(weight)
        ece = math.fsum(gaps) / total if total > 0 else None
        return cls(tuple(rows), ece, mce)


class EvalSums:
    """The running sums behind NE, calibration, accuracy, Brier, the reliability bins
    and the loss's interval, fed batch by batch.

    Parameters
    ----------
    bins : int, default=10
        Equal-width reliability bins; edges as ``np.linspace(0, 1, bins + 1)``, as
        scikit-learn's `calibration_curve` makes them, and a p on an edge goes to the
        lower bin, as there (``np.searchsorted(edges[1:-1], p)``).
    threshold : float, default=0.5
        Predicted positive when p >= threshold; a target is positive when y >= 0.5.

    Examples
    --------
    >>> import numpy as np
    >>> from bcecli.core import binary_cross_entropy
    >>> from bcecli.evaluation import EvalSums
    >>> p, y = np.array([0.8, 0.3, 0.6, 0.1]), np.array([1.0, 0.0, 1.0, 1.0])
    >>> sums = EvalSums()
    >>> sums.observe(p, y, binary_cross_entropy(p, y, reduction="none"))
    >>> r = sums.result()
    >>> r["calibration"], r["mean_label"], r["accuracy"]
    (0.6, 0.75, 0.75)
    """

    def __init__(self, *, bins: int = DEFAULT_BINS, threshold: float = DEFAULT_THRESHOLD
                 ) -> None:
        if bins < 1:
            raise UsageError(f"the number of bins must be at least 1, not {bins}")
        self.bins = bins
        self.threshold = threshold
        self.count = 0
        self.sums: dict[str, list[float]] = {name: [] for name in SUMS}
        self.bin_counts = [0] * bins
        self.bin_sums: dict[str, list[list[float]]] = {
            name: [[] for _ in range(bins)] for name in BIN_SUMS}

    @property
    def edges(self) -> FloatArray:
        """scikit-learn's: k·(1/N) rounded (0.30000000000000004 for N = 10), not k/N."""
        return np.linspace(0.0, 1.0, self.bins + 1)

    def observe(self, p: FloatArray, y: FloatArray, losses: FloatArray,
                weight: FloatArray | None = None) -> None:
        """One batch: probabilities, targets (soft allowed), the per-element losses as
        core returns them with reduction "none" (already times the weight), and the
        weights (None: all 1), any shape that broadcasts to the predictions'."""
        p, y, u, w = prepared(p, y, losses, weight)
        self.count += p.size
        wp, wy = (p, y) if w is None else (w * p, w * y)
        brier = (p - y) ** 2
        correct = (p >= self.threshold) == (y >= 0.5)
        new = {"loss": exact_sum(u), "loss_sq": exact_sum(*two_product(u, u)),
               "prediction": exact_sum(wp), "label": exact_sum(wy)}
        if w is None:
            ones = [float(p.size)]
            new |= {"weight": ones, "weight_sq": ones, "weight_loss": new["loss"],
                    "brier": exact_sum(brier), "correct": [float(np.count_nonzero(correct))]}
        else:
            new |= {"weight": exact_sum(w), "weight_sq": exact_sum(*two_product(w, w)),
                    "weight_loss": exact_sum(*two_product(w, u)),
                    "brier": exact_sum(w * brier), "correct": exact_sum(w * correct)}
        for name, parts in new.items():
            self.sums[name] = add_parts(self.sums[name], parts)
        self.observe_bins(p, wp, wy, w)

    def observe_bins(self, p: FloatArray, wp: FloatArray, wy: FloatArray,
                     w: FloatArray | None) -> None:
        """Each bin's count and sums, over the batch sorted by bin (a radix sort)."""
        index = np.searchsorted(self.edges[1:-1], p).astype(
            np.uint16 if self.bins <= 1 << 16 else np.uint32)  # 16 bits: a radix sort
        order = np.argsort(index, kind="stable")
        cuts = np.searchsorted(index[order], np.arange(self.bins + 1)).tolist()
        columns = {"prediction": wp[order], "label": wy[order]}
        if w is not None:
            columns |= {"weight": w[order]}
        for k in range(self.bins):
            a, b = cuts[k], cuts[k + 1]
            if b == a:
                continue
            self.bin_counts[k] += b - a
            new = {name: exact_sum(values[a:b]) for name, values in columns.items()}
            if w is None:
                new |= {"weight": [float(b - a)], "weight_sq": [float(b - a)]}
            else:  # only for Kish's effective size: no need of every bit
                new |= {"weight_sq": exact_sum(columns["weight"][a:b] ** 2)}
            for name, parts in new.items():
                self.bin_sums[name][k] = add_parts(self.bin_sums[name][k], parts)

    def merge(self, other: EvalSums) -> None:
        """Add another state's sums, as if its data had followed this one's (shards).

        Raises
        ------
        UsageError
            The two were made with different bins or thresholds.
        """
        if (other.bins, other.threshold) != (self.bins, self.threshold):
            raise UsageError(f"cannot merge metrics of {other.bins} bins at threshold "
                             f"{other.threshold} into {self.bins} bins at {self.threshold}")
        self.count += other.count
        for name in SUMS:
            self.sums[name] = add_parts(self.sums[name], other.sums[name])
        for k in range(self.bins):
            self.bin_counts[k] += other.bin_counts[k]
            for name in BIN_SUMS:
                self.bin_sums[name][k] = add_parts(self.bin_sums[name][k],
                                                   other.bin_sums[name][k])

    def to_json(self) -> dict[str, Any]:
        """The state as plain ints, floats and lists; every sum as its exact parts."""
        return {"bins": self.bins, "threshold": self.threshold, "count": self.count,
                "sums": {name: list(self.sums[name]) for name in SUMS},
                "bin_counts": list(self.bin_counts),
                "bin_sums": {name: [list(parts) for parts in self.bin_sums[name]]
                             for name in BIN_SUMS}}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EvalSums:
        """The state `to_json` gave, exactly.

        Raises
        ------
        UsageError
            A key is missing or holds the wrong kind of value.
        """
        try:
            state = cls(bins=int(data["bins"]), threshold=float(data["threshold"]))
            state.count = int(data["count"])
            state.sums = {name: parts_of(data["sums"][name], f"sums.{name}") for name in SUMS}
            counts = data["bin_counts"]
            if not isinstance(counts, list) or len(counts) != state.bins or \
                    not all(isinstance(c, int) and c >= 0 for c in counts):
                raise UsageError(f"bin_counts must be {state.bins} counts")
            state.bin_counts = counts
            for name in BIN_SUMS:
                sums = data["bin_sums"][name]
                if not isinstance(sums, list) or len(sums) != state.bins:
                    raise UsageError(f"bin_sums.{name} must hold {state.bins} lists")
                state.bin_sums[name] = [parts_of(s, f"bin_sums.{name}") for s in sums]
        except (KeyError, TypeError) as error:
            raise UsageError(f"metrics state: {error!r} is missing or malformed") from None
        return state

    def total(self, name: str) -> float:
        """One of `SUMS`, exactly rounded."""
        return exact_total(self.sums[name])

    def reliability(self) -> Bins:
        """The equal-width reliability table."""
        edges = self.edges.tolist()
        sums = {name: [exact_total(parts) for parts in self.bin_sums[name]]
                for name in BIN_SUMS}
        gap = [abs(exact_total(p + [-v for v in y]))
               for p, y in zip(self.bin_sums["prediction"], self.bin_sums["label"], strict=True)]
        return Bins.from_sums(edges[:-1], edges[1:], self.bin_counts, sums["weight"],
                              sums["weight_sq"], sums["prediction"], sums["label"], gap)

    def loss_ci95(self, reduction: str = "mean") -> Interval | None:
        """A 95% normal interval for the reduced loss, from the exact variance of the
        per-element losses u (already times the weight): `mean_ci95`."""
        sums = self.sums
        return mean_ci95(reduction, self.count, sums["loss"], sums["loss_sq"], sums["weight"],
                         sums["weight_sq"], sums["weight_loss"])

    def result(self, reduction: str = "mean", base: float | None = None) -> dict[str, Any]:
        """The metrics, for the JSON and the table: None where undefined (no weight, a
        base rate of 0 or 1, no positive label for calibration)."""
        weight, label = self.total("weight"), self.total("label")
        bins = self.reliability()
        out: dict[str, Any] = {
            "count": self.count, "threshold": self.threshold, "mean_prediction": None,
            "mean_label": None, "prior_entropy": None, "normalized_entropy": None,
            "relative_information_gain": None,
            "calibration": self.total("prediction") / label if label else None,
            "accuracy": None, "brier": None, "ece": bins.ece, "mce": bins.mce,
            "calibration_bins": [b.to_json() for b in bins.bins]}
        if weight > 0:
            q = label / weight
            prior = binary_entropy(q)
            ne = None if prior is None else self.total("loss") / weight / prior
            out |= {"mean_prediction": self.total("prediction") / weight, "mean_label": q,
                    "prior_entropy": None if prior is None else in_base(prior, base),
                    "normalized_entropy": ne,
                    "relative_information_gain": None if ne is None else 1 - ne,
                    "accuracy": self.total("correct") / weight,
                    "brier": self.total("brier") / weight}
        interval = self.loss_ci95(reduction)
        out["loss_ci95"] = None if interval is None else \
            [in_base(interval[0], base), in_base(interval[1], base)]
        return out


def poisson_thresholds(bits: int = 16, terms: int = 40) -> list[int]:
    """T_k = ⌈F(k)·2^bits⌉ for the CDF F of Poisson(1), while below 2^bits: a uniform
    u of `bits` bits draws the count #{k : T_k <= u}. e⁻¹ is its series to `terms`
    terms, in rationals (error below 1/terms!, far under 2^-bits)."""
    inverse_e = sum((Fraction((-1) ** j, math.factorial(j)) for j in range(terms)),
                    Fraction(0))
    thresholds = []
    cumulative = Fraction(0)
    for k in range(terms):
        cumulative += Fraction(1, math.factorial(k))
        t = math.ceil(inverse_e * cumulative * (1 << bits))
        if t >= 1 << bits:
            break
        thresholds.append(t)
    return thresholds


# A 16-bit uniform u draws #{k : T_k <= u}: Poisson(1) with each probability rounded
# to a multiple of 2⁻¹⁶ (counts 0 to 7; P(0) = 24110/65536, e⁻¹ to 4e-6).
THRESHOLDS = np.array(poisson_thresholds(), dtype=np.uint16)
LANES = 4  # 16-bit uniforms a 64-bit hash gives: replicates 4g to 4g + 3 share hash g


def mix64(z: int) -> int:
    """splitmix64's finaliser on a Python int."""
    z = (z ^ (z >> 30)) * MIX1 & MASK
    z = (z ^ (z >> 27)) * MIX2 & MASK
    return z ^ (z >> 31)


def counts(keys: Uint64Array, first: int, stop: int, seed: int) -> CountArray:
    """Poisson(1) counts of replicates [first, stop) for each key, shape (stop − first,
    len(keys)). Hash g of a key is splitmix64's finaliser of key·γ + s_g, s_g a hash of
    (seed, g); its four 16-bit quarters, low first, draw replicates 4g to 4g + 3. So a
    row's counts depend on its key, the replicate and the seed only."""
    low, high = first // LANES, -(-stop // LANES)
    streams = np.array([mix64((mix64(seed & MASK) + (g + 1) * GAMMA) & MASK)
                        for g in range(low, high)], dtype=np.uint64)
    z = keys * np.uint64(GAMMA) + streams[:, None]
    z ^= z >> np.uint64(30)
    z *= np.uint64(MIX1)
    z ^= z >> np.uint64(27)
    z *= np.uint64(MIX2)
    z ^= z >> np.uint64(31)
    quarters = z.astype("<u8", copy=False).view("<u2").reshape(len(streams), len(keys), LANES)
    uniform = np.ascontiguousarray(quarters.transpose(0, 2, 1)).reshape(-1, len(keys))
    uniform = uniform[first - low * LANES:stop - low * LANES]
    # the count as a sum of comparisons: faster than a table lookup or a binary search
    drawn: CountArray = np.zeros(uniform.shape, np.uint8)
    above = np.empty(uniform.shape, np.bool_)
    for threshold in THRESHOLDS:
        np.greater_equal(uniform, threshold, out=above)
        drawn += above.view(np.uint8)
    return drawn


def replicate_weights(keys: Uint64Array, replicates: int, seed: int = DEFAULT_SEED
                      ) -> CountArray:
    """The Poisson bootstrap's counts, shape (replicates, len(keys)): the same key gets
    the same counts in any shard, in any block, so replicates merge exactly.

    Examples
    --------
    >>> import numpy as np
    >>> from bcecli.evaluation import replicate_weights
    >>> keys = np.arange(6, dtype=np.uint64)
    >>> (replicate_weights(keys, 3)[:, 2:] == replicate_weights(keys[2:], 3)).all()
    np.True_
    """
    return counts(np.ravel(np.asarray(keys, dtype=np.uint64)), 0, replicates, seed)


class Bootstrap:
    """A Poisson bootstrap of loss, NE, calibration, Brier and accuracy: per replicate,
    the exact sums of count·v over the rows, v in (1, w, u, w·y, w·p, w·(p − y)²,
    w·[correct]), the count drawn by `replicate_weights` from the row's key.

    Each 65536-row chunk's replicate sums come from one matrix product (counts ×
    values), rounded once per chunk; the chunks' results are added exactly. A shard
    split elsewhere rounds its chunks differently, by about 1e-16 of a sum relative:
    intervals of merged shards equal a single run's to 1e-12 or better.

    Parameters
    ----------
    replicates : int
        B, the number of replicates.
    seed : int, default=0
    threshold : float, default=0.5
        As `EvalSums`'s.
    """

    def __init__(self, replicates: int, *, seed: int = DEFAULT_SEED,
                 threshold: float = DEFAULT_THRESHOLD) -> None:
        if replicates < 1:
            raise UsageError(f"the number of bootstrap replicates must be at least 1, "
                             f"not {replicates}")
        self.replicates = replicates
        self.seed = seed
        self.threshold = threshold
        self.sums: list[list[list[float]]] = [[[] for _ in REPLICATE_SUMS]
                                              for _ in range(replicates)]

    def observe(self, keys: Uint64Array, p: FloatArray, y: FloatArray, losses: FloatArray,
                weight: FloatArray | None = None) -> None:
        """One batch, as `EvalSums.observe`, with each element's key (its row's position
        in the whole input, or its id), in any shape that broadcasts to the
        predictions' (a row's key as shape (n, 1) for n × C predictions)."""
        shape = np.shape(p)
        p, y, u, w = prepared(p, y, losses, weight)
        flat_keys = np.ravel(np.broadcast_to(np.asarray(keys, dtype=np.uint64), shape))
        ones = np.ones_like(p)
        w = ones if w is None else w
        values = np.stack([ones, w, u, w * y, w * p, w * (p - y) ** 2,
                           w * ((p >= self.threshold) == (y >= 0.5))], axis=1)
        for start in range(0, p.size, ROWS):
            rows = slice(start, start + ROWS)
            for first in range(0, self.replicates, REPLICATES):
                stop = min(first + REPLICATES, self.replicates)
                drawn = counts(flat_keys[rows], first, stop, self.seed)
                totals = (drawn.astype(np.float64) @ values[rows]).tolist()
                for r, row in zip(range(first, stop), totals, strict=True):
                    self.sums[r] = [add_parts(parts, [v])
                                    for parts, v in zip(self.sums[r], row, strict=True)]

    def merge(self, other: Bootstrap) -> None:
        """Add another state's replicate sums (shards drawn with the same seed).

        Raises
        ------
        UsageError
            Different replicates, seed or threshold.
        """
        mine = (self.replicates, self.seed, self.threshold)
        theirs = (other.replicates, other.seed, other.threshold)
        if mine != theirs:
            raise UsageError(f"cannot merge a bootstrap of (replicates, seed, threshold) "
                             f"{theirs} into one of {mine}")
        self.sums = [[add_parts(a, b) for a, b in zip(x, z, strict=True)]
                     for x, z in zip(self.sums, other.sums, strict=True)]

    def to_json(self) -> dict[str, Any]:
        """Plain ints, floats and lists; each replicate's sums as exact parts."""
        return {"replicates": self.replicates, "seed": self.seed, "threshold": self.threshold,
                "sums": [[list(parts) for parts in row] for row in self.sums]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bootstrap:
        """The state `to_json` gave, exactly.

        Raises
        ------
        UsageError
            A key is missing or holds the wrong kind of value.
        """
        try:
            state = cls(int(data["replicates"]), seed=int(data["seed"]),
                        threshold=float(data["threshold"]))
            rows = data["sums"]
            if not isinstance(rows, list) or len(rows) != state.replicates or \
                    not all(isinstance(r, list) and len(r) == len(REPLICATE_SUMS) for r in rows):
                raise UsageError(f"sums must hold {state.replicates} lists of "
                                 f"{len(REPLICATE_SUMS)} sums")
            state.sums = [[parts_of(parts, "bootstrap sums") for parts in row] for row in rows]
        except (KeyError, TypeError) as error:
            raise UsageError(f"bootstrap state: {error!r} is missing or malformed") from None
        return state

    def replicate_metrics(self, reduction: str = "mean") -> dict[str, list[float | None]]:
        """Each metric in each replicate (None where undefined in it)."""
        if reduction not in ("mean", "sum", "weighted-mean"):
            raise UsageError(f"reduction {reduction!r} has no interval")
        out: dict[str, list[float | None]] = {
            name: [] for name in ("loss", "normalized_entropy", "calibration", "brier",
                                  "accuracy")}
        for row in self.sums:
            n, w, u, wy, wp, brier, correct = (exact_total(parts) for parts in row)
            divisor = {"mean": n, "sum": 1.0, "weighted-mean": w}[reduction]
            prior = binary_entropy(wy / w) if w > 0 else None
            out["loss"].append(u / divisor if divisor else None)
            out["normalized_entropy"].append(u / w / prior if prior else None)
            out["calibration"].append(wp / wy if wy else None)
            out["brier"].append(brier / w if w > 0 else None)
            out["accuracy"].append(correct / w if w > 0 else None)
        return out

    def intervals(self, reduction: str = "mean", base: float | None = None
                  ) -> dict[str, Interval | None]:
        """Percentile 95% intervals: the 2.5% and 97.5% quantiles of the replicates'
        values (numpy's default linear interpolation). None for a metric undefined in
        any replicate (a replicate with no positive label has no NE)."""
        out: dict[str, Interval | None] = {}
        for name, values in self.replicate_metrics(reduction).items():
            defined = [v for v in values if v is not None]
            if len(defined) < len(values):
                out[name] = None
                continue
            low, high = np.quantile(np.array(defined), [0.025, 0.975]).tolist()
            if name == "loss":
                low, high = in_base(low, base), in_base(high, base)
            out[name] = (low, high)
        return out
