"""The evaluation sums (bcecli/evaluation.py) against their references.

Golden values come from torcheval and scikit-learn (scripts/make_golden_metrics.py,
committed in tests/golden/metrics_cases.json); the rest is checked against exact
formulas written here: rationals (`fractions.Fraction`), `math.fsum`, plain loops.
"""

from __future__ import annotations

import bisect
import decimal
import itertools
import json
import math
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bcecli.core import (
    FloatArray,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    exact_total,
    sigmoid,
)
from bcecli.errors import UsageError
from bcecli.evaluation import (
    LANES,
    THRESHOLDS,
    Z95,
    Bins,
    Bootstrap,
    EvalSums,
    Uint64Array,
    binary_entropy,
    counts,
    in_base,
    poisson_thresholds,
    recalibrate,
    replicate_weights,
    wilson,
)
from tests.helpers import ROOT

GOLDEN = json.loads((ROOT / "tests" / "golden" / "metrics_cases.json").read_text())["cases"]
CASES = {case["name"]: case for case in GOLDEN}
REL = 1e-12  # torcheval and scikit-learn sum in float64 in their own order; bce exactly


def close(a: float | None, b: float, rel: float = REL) -> bool:
    return a is not None and math.isclose(a, b, rel_tol=rel, abs_tol=1e-300)


def bce(p: FloatArray, y: FloatArray, w: FloatArray | None, logits: bool = False
        ) -> FloatArray:
    """Core's per-element losses (times the weight), as the caller passes them."""
    function = binary_cross_entropy_with_logits if logits else binary_cross_entropy
    return np.asarray(function(p, y, w, reduction="none"), dtype=np.float64)


def inputs(case: dict[str, Any]) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
    """p (the sigmoid of logits), y, the losses as core returns them, and w."""
    x, y = np.array(case["input"]), np.array(case["target"])
    w = None if case["weight"] is None else np.array(case["weight"])
    if case["logits"]:
        return sigmoid(x), y, bce(x, y, w, logits=True), w
    return x, y, bce(x, y, w), w


def state(case: dict[str, Any], pieces: int = 1) -> EvalSums:
    p, y, losses, w = inputs(case)
    sums = EvalSums(bins=case["bins"], threshold=case["threshold"])
    for part in np.array_split(np.arange(len(p)), pieces):
        sums.observe(p[part], y[part], losses[part], None if w is None else w[part])
    return sums


def test_the_golden_file_covers_the_cases_asked() -> None:
    names = " ".join(CASES)
    assert len(GOLDEN) >= 30
    for kind in ("weighted", "soft", "all negative", "all positive", "p at 0", "logits",
                 "edges", "threshold", "zero weights"):
        assert kind in names


@pytest.mark.parametrize("name", list(CASES))
def test_ne_and_calibration_match_torcheval(name: str) -> None:
    case = CASES[name]
    result = state(case).result("weighted-mean")
    if result["mean_label"] in (0.0, 1.0) or result["mean_label"] is None:
        # torcheval clamps the base rate to [eps, 1 - eps] (binary_normalized_entropy.py:109)
        # and reports ~1e14; bce reports no NE rather than that number
        assert result["normalized_entropy"] is None
        assert result["relative_information_gain"] is None
        assert case["torcheval_ne"] > 1e13
    else:
        assert close(result["normalized_entropy"], case["torcheval_ne"])
        assert close(state(case, 3).result()["normalized_entropy"], case["torcheval_ne_merged"])
        assert result["relative_information_gain"] == 1 - result["normalized_entropy"]
    if math.isinf(case["torcheval_calibration"]):  # Σw·y = 0: torcheval divides by zero
        assert result["calibration"] is None
    else:
        assert close(result["calibration"], case["torcheval_calibration"])


@pytest.mark.parametrize("name", list(CASES))
def test_accuracy_brier_and_bins_match_scikit_learn(name: str) -> None:
    case = CASES[name]
    p, y, _, w = inputs(case)
    result = state(case).result()
    assert close(result["accuracy"], case["sklearn_accuracy"])
    if case["sklearn_brier"] is not None:
        assert close(result["brier"], case["sklearn_brier"])
    else:  # soft targets: scikit-learn refuses them; the formula, exactly
        ww = np.ones_like(p) if w is None else w
        assert close(result["brier"], math.fsum(ww * (p - y) ** 2) / math.fsum(ww))
    if case["sklearn_bins"] is not None:
        kept = [b for b in result["calibration_bins"] if b["weight"] > 0]
        prob_pred, prob_true = case["sklearn_bins"]
        assert len(kept) == len(prob_pred)
        for row, pred, true in zip(kept, prob_pred, prob_true, strict=True):
            assert close(row["mean_prediction"], pred, 1e-13)
            assert close(row["mean_label"], true, 1e-13)


def brute_bins(p: FloatArray, y: FloatArray, w: FloatArray, bins: int) -> list[list[Fraction]]:
    """[count, Σw, Σw², Σw·p, Σw·y] per bin, exactly, by a loop; edges as scikit-learn's,
    a p on an edge in the lower bin."""
    edges = np.linspace(0, 1, bins + 1)[1:-1].tolist()
    table = [[Fraction(0)] * 5 for _ in range(bins)]
    for pi, yi, wi in zip(p.tolist(), y.tolist(), w.tolist(), strict=True):
        row = table[bisect.bisect_left(edges, pi)]
        wf = Fraction(wi)
        for j, v in enumerate((Fraction(1), wf, wf * wf, wf * Fraction(pi), wf * Fraction(yi))):
            row[j] += v
    return table


@pytest.mark.parametrize("bins", [1, 3, 10, 16])
def test_weighted_bins_against_a_loop(bins: int) -> None:
    rng = np.random.default_rng(bins)
    p = np.concatenate([rng.random(300), np.linspace(0, 1, bins + 1)])
    y = rng.random(len(p))  # soft targets too
    w = rng.random(len(p)) * 2
    w[::7] = 0
    sums = EvalSums(bins=bins)
    for part in np.array_split(np.arange(len(p)), 4):
        sums.observe(p[part], y[part], bce(p[part], y[part], w[part]), w[part])
    table = sums.reliability()
    gaps = []
    for row, (n, sw, sw2, swp, swy) in zip(table.bins, brute_bins(p, y, w, bins), strict=True):
        assert row.count == n
        assert close(row.weight, float(sw), 1e-15)
        if sw:
            assert close(row.mean_prediction, float(swp / sw), 1e-15)
            assert close(row.mean_label, float(swy / sw), 1e-15)
            assert row.label_ci95 is not None
            low, high = wilson(float(swy / sw), float(sw * sw / sw2))
            assert row.label_ci95 == pytest.approx((low, high), rel=1e-14)
            gaps.append(abs(swp - swy))
        else:
            assert row.mean_prediction is None and row.label_ci95 is None
    total = sum((Fraction(v) for v in w.tolist()), Fraction(0))
    # each bin's gap from its exact sums, rounded once: the ece within a few ulps
    assert table.ece == pytest.approx(float(sum(gaps) / total), rel=1e-15, abs=1e-300)


def test_ece_keeps_a_gap_far_below_the_rounding_of_the_sums() -> None:
    """100,000 elements where p = y but one, off by 2**-40, all in one bin: its sums are
    near 5.5e4, rounded to 7e-12, yet the gap is exact (the difference of the rounded
    sums was 0 or 7e-12, not 9.1e-13)."""
    p = np.full(100_000, 0.55)
    y = p.copy()
    p[12_345] += 2.0**-40
    sums = EvalSums()
    sums.observe(p, y, bce(p, y, np.ones_like(p)))
    assert sums.bin_counts[5] == len(p)
    exact = (Fraction(float(p[12_345])) - Fraction(0.55)) / len(p)
    assert sums.reliability().ece == float(exact)
    assert sums.reliability().mce == float(exact)


def test_bins_of_extreme_weights_have_no_interval_rather_than_a_wrong_one() -> None:
    table = Bins.from_sums([0, 0.5], [0.5, 1], [2, 2], [2e-170, 2e160], [0.0, math.inf],
                           [1e-170, 1e160], [1e-170, 1e160], [0.0, 0.0])
    assert [b.label_ci95 for b in table.bins] == [None, None]
    assert [b.mean_label for b in table.bins] == [0.5, 0.5]
    assert Bins.from_sums([0], [1], [2], [2e150], [2e300], [0.0], [1e150],
                          [1e150]).bins[0].label_ci95 == pytest.approx(wilson(0.5, 2.0),
                                                                        rel=1e-15)


def test_ece_and_mce_from_sums() -> None:
    table = Bins.from_sums([0, 0.5], [0.5, 1], [3, 0], [2.0, 0.0], [2.0, 0.0], [0.5, 0.0],
                           [1.0, 0.0], [0.5, 0.0])
    assert table.bins[1].mean_prediction is None
    assert table.ece == 0.25 and table.mce == 0.25  # |0.5 − 1| / 2
    assert Bins.from_sums([0], [1], [0], [0.0], [0.0], [0.0], [0.0], [0.0]).ece is None


def wilson_by_quadratic(rate: float, n: float, z: float) -> tuple[float, float]:
    """The interval's ends as the roots in π of (rate − π)² = z²·π(1 − π)/n, solved by
    the school formula in 1000-digit decimals (in floats it cancels)."""
    with decimal.localcontext(decimal.Context(prec=1000)):
        r, k = Decimal(rate), Decimal(z) * Decimal(z) / Decimal(n)
        a, b, c = 1 + k, -(2 * r + k), r * r
        root = (b * b - 4 * a * c).sqrt()
        return float((-b - root) / (2 * a)), float((-b + root) / (2 * a))


@given(st.floats(0, 1), st.floats(0.5, 1e12))
def test_wilson_against_the_quadratic(rate: float, n: float) -> None:
    low, high = wilson(rate, n)
    ref_low, ref_high = wilson_by_quadratic(rate, n, Z95)
    assert 0 <= low <= rate <= high <= 1
    assert low == pytest.approx(ref_low, rel=1e-14, abs=1e-300)
    assert high == pytest.approx(ref_high, rel=1e-14, abs=1e-300)


def normal_quantile(p: Decimal) -> Decimal:
    """Φ⁻¹(p) in 60-digit decimals: Newton's method on Φ(z) = 1/2 + erf(z/√2)/2, erf by
    its Taylor series."""
    with decimal.localcontext(decimal.Context(prec=60)):
        def arctan_inverse(n: int) -> Decimal:  # arctan(1/n) by its series
            total, power, k = Decimal(0), Decimal(1) / n, 0
            while power > Decimal(10) ** -70:
                total += (-1) ** k * power / (2 * k + 1)
                power /= n * n
                k += 1
            return total

        root2, pi = Decimal(2).sqrt(), 16 * arctan_inverse(5) - 4 * arctan_inverse(239)  # Machin

        def cdf(z: Decimal) -> Decimal:
            x, total, n = z / root2, Decimal(0), 0
            term = x  # x^(2n+1)·(−1)^n / n!
            while abs(term) > Decimal(10) ** -70:
                total += term / (2 * n + 1)
                n += 1
                term = -term * x * x / n
            return (1 + 2 * total / pi.sqrt()) / 2

        z = Decimal(2)
        for _ in range(100):
            step = (cdf(z) - p) * (2 * pi).sqrt() * (z * z / 2).exp()
            z -= step
            if abs(step) < Decimal(10) ** -40:
                break
        return z


def test_z_is_the_nearest_double_to_the_quantile() -> None:
    """Not NormalDist().inv_cdf(0.975), which answers for the double nearest 0.975."""
    assert float(normal_quantile(Decimal("0.975"))) == Z95


def reference_interval(u: list[float], w: list[float], reduction: str) -> tuple[float, float]:
    """mean ± z·sqrt(var/N), or the ratio's delta-method interval, in rationals."""
    n = len(u)
    uf, wf = [Fraction(v) for v in u], [Fraction(v) for v in w]
    if reduction == "weighted-mean":
        ratio = sum(uf) / sum(wf)
        variance = Fraction(n, n - 1) * sum((a - ratio * b) ** 2 for a, b in
                                            zip(uf, wf, strict=True)) / sum(wf) ** 2
        centre = ratio
    else:
        centre = sum(uf) / n
        variance = sum((a - centre) ** 2 for a in uf) / (n - 1) / n
    half = Z95 * math.sqrt(variance)
    return float(centre) - half, float(centre) + half


@pytest.mark.parametrize("reduction", ["mean", "weighted-mean"])
@pytest.mark.parametrize("offset", [0.0, 1e8])
def test_loss_interval_against_rationals(reduction: str, offset: float) -> None:
    """Exact even where Σu² − (Σu)²/N cancels almost everything (offset 1e8, spread 1e-3)."""
    rng = np.random.default_rng(7)
    u = offset + rng.random(500) * 1e-3 if offset else rng.exponential(1.0, 500)
    w = np.ones(500) if offset else rng.random(500)
    losses = u * w
    sums = EvalSums()
    for part in np.array_split(np.arange(500), 3):
        sums.observe(np.full(len(part), 0.5), np.ones(len(part)), losses[part], w[part])
    low, high = reference_interval(losses.tolist(), w.tolist(), reduction)
    interval = sums.loss_ci95(reduction)
    assert interval is not None
    assert interval[0] == pytest.approx(low, rel=1e-15)
    assert high - low > 0
    assert (interval[1] - interval[0]) == pytest.approx(high - low, rel=1e-9)


def test_loss_interval_is_none_when_undefined() -> None:
    sums = EvalSums()
    sums.observe(np.array([0.5]), np.array([1.0]), np.array([0.7]))
    assert sums.loss_ci95() is None
    sums.observe(np.array([0.0]), np.array([1.0]), np.array([np.inf]))
    assert sums.loss_ci95() is None


def random_batch(rng: np.random.Generator, n: int, weighted: bool
                 ) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray | None]:
    p = rng.random(n)
    p[rng.random(n) < 0.1] = 0.5  # ties and edges
    y = np.where(rng.random(n) < 0.3, rng.random(n), (rng.random(n) < p).astype(float))
    w = rng.random(n) * 3 if weighted else None
    return p, y, bce(p, y, w), w


def totals(state: EvalSums) -> dict[str, Any]:
    data = state.to_json()
    return {"count": data["count"], "bin_counts": data["bin_counts"],
            **{name: exact_total(parts) for name, parts in data["sums"].items()},
            **{f"bin {name}": [exact_total(parts) for parts in sums]
               for name, sums in data["bin_sums"].items()}}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 400), st.booleans(),
       st.lists(st.floats(0, 1), max_size=4))
def test_merged_splits_equal_one_state(seed: int, n: int, weighted: bool,
                                       cuts: list[float]) -> None:
    rng = np.random.default_rng(seed)
    p, y, losses, w = random_batch(rng, n, weighted)
    whole = EvalSums(bins=7)
    whole.observe(p, y, losses, w)
    bounds = [0, *sorted(int(c * n) for c in cuts), n]
    merged = EvalSums(bins=7)
    for a, b in itertools.pairwise(bounds):
        shard = EvalSums(bins=7)
        shard.observe(p[a:b], y[a:b], losses[a:b], None if w is None else w[a:b])
        merged.merge(EvalSums.from_json(json.loads(json.dumps(shard.to_json()))))
    expected, got = totals(whole), totals(merged)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-13, abs=1e-300), key
    r1, r2 = whole.result("weighted-mean"), merged.result("weighted-mean")
    for key, value in r1.items():
        if isinstance(value, float):
            assert r2[key] == pytest.approx(value, rel=1e-13), key


def test_json_round_trip_is_exact() -> None:
    rng = np.random.default_rng(3)
    sums = EvalSums(bins=5, threshold=0.4)
    sums.observe(*random_batch(rng, 1000, True))
    again = EvalSums.from_json(json.loads(json.dumps(sums.to_json())))
    assert again.to_json() == sums.to_json()
    assert again.result() == sums.result()


def test_merge_and_json_refuse_what_does_not_fit() -> None:
    with pytest.raises(UsageError, match="cannot merge"):
        EvalSums(bins=5).merge(EvalSums(bins=6))
    with pytest.raises(UsageError, match="missing or malformed"):
        EvalSums.from_json({"bins": 5})
    with pytest.raises(UsageError, match="bin_counts"):
        EvalSums.from_json({**EvalSums(bins=2).to_json(), "bin_counts": [1]})
    with pytest.raises(UsageError, match="list of numbers"):
        EvalSums.from_json({**EvalSums().to_json(),
                            "sums": {**EvalSums().to_json()["sums"], "loss": "1"}})


def test_weights_broadcast_as_the_loss_weights_do() -> None:
    rng = np.random.default_rng(5)
    p, y = rng.random((50, 3)), (rng.random((50, 3)) < 0.4).astype(float)
    row_w = rng.random((50, 1))
    one, two = EvalSums(), EvalSums()
    one.observe(p, y, bce(p, y, row_w), row_w)
    full = np.broadcast_to(row_w, p.shape)
    two.observe(p.ravel(), y.ravel(), bce(p, y, full).ravel(),
                full.ravel())
    assert one.to_json() == two.to_json()


def test_undefined_metrics_are_none() -> None:
    sums = EvalSums()
    p = np.array([0.2, 0.9])
    sums.observe(p, np.zeros(2), np.zeros(2), np.zeros(2))
    result = sums.result("weighted-mean")
    for key in ("mean_prediction", "mean_label", "normalized_entropy", "accuracy", "brier",
                "calibration", "ece", "mce", "loss_ci95"):
        assert result[key] is None, key


def test_base_two_converts_loss_like_numbers_only() -> None:
    case = CASES["weighted 1"]
    nats, bits = state(case).result("mean"), state(case).result("mean", base=2)
    assert bits["prior_entropy"] == nats["prior_entropy"] / math.log(2)
    assert bits["loss_ci95"] == [v / math.log(2) for v in nats["loss_ci95"]]
    assert bits["normalized_entropy"] == nats["normalized_entropy"]
    assert in_base(1.0, None) == 1.0
    q = nats["mean_label"]
    assert binary_entropy(q) == pytest.approx(
        -q * math.log(q) - (1 - q) * math.log(1 - q), rel=1e-15)


@given(st.floats(0, 1), st.floats(1e-6, 1))
def test_recalibration_against_the_exact_formula(p: float, rate: float) -> None:
    got = float(recalibrate(np.array([p]), rate)[0])
    exact = Fraction(p) * Fraction(rate) / (Fraction(p) * Fraction(rate) + 1 - Fraction(p))
    assert got == pytest.approx(float(exact), rel=1e-15, abs=1e-300)


def test_recalibration_at_rate_one_is_the_identity_bit_for_bit() -> None:
    p = np.concatenate([np.random.default_rng(1).random(10000), [0.0, 1.0, 5e-324, 0.1]])
    assert recalibrate(p, 1.0).view(np.uint64).tolist() == p.view(np.uint64).tolist()
    assert recalibrate(np.array([0.0, 1.0]), 0.1).tolist() == [0.0, 1.0]
    with pytest.raises(UsageError, match="negative sampling rate"):
        recalibrate(p, 0.0)


def test_the_poisson_table() -> None:
    assert poisson_thresholds(terms=60) == THRESHOLDS.tolist()
    previous = 0
    for k, t in enumerate([*THRESHOLDS.tolist(), 1 << 16]):
        probability = (t - previous) / 65536  # what a 16-bit uniform draws
        assert abs(probability - math.exp(-1) / math.factorial(k)) <= 2**-16
        previous = t


def test_replicate_counts_depend_on_key_replicate_and_seed_only() -> None:
    keys = np.arange(10_000, dtype=np.uint64) * np.uint64(7919)
    drawn = replicate_weights(keys, 13, seed=5)
    assert drawn.shape == (13, 10_000)
    pieces = [counts(keys[2000:], 0, 5, 5), counts(keys[2000:], 5, 9, 5),
              counts(keys[2000:], 9, 13, 5)]
    assert (np.concatenate(pieces) == drawn[:, 2000:]).all()
    assert (replicate_weights(keys[::-1], 13, seed=5) == drawn[:, ::-1]).all()
    assert not (replicate_weights(keys, 13, seed=6) == drawn).all()
    assert LANES == 4 and not (drawn[0] == drawn[1]).all()


def test_replicate_counts_are_poisson() -> None:
    """Frequencies within 5 standard errors of the table's probabilities (fixed seed)."""
    drawn = replicate_weights(np.arange(1 << 18, dtype=np.uint64), 8, seed=1).ravel()
    frequency = np.bincount(drawn, minlength=8) / drawn.size
    probability = np.diff([0, *THRESHOLDS.tolist(), 1 << 16]) / 65536
    error = np.sqrt(probability * (1 - probability) / drawn.size)
    assert (np.abs(frequency - probability) <= 5 * error + 1e-12).all()
    assert abs(drawn.mean() - 1) < 5 / math.sqrt(drawn.size)


def boot(keys: Uint64Array, batch: tuple[FloatArray, FloatArray, FloatArray, FloatArray | None],
         pieces: list[int], replicates: int = 20) -> Bootstrap:
    p, y, losses, w = batch
    state = Bootstrap(replicates, seed=3, threshold=0.4)
    for part in np.split(np.arange(len(p)), pieces):
        state.observe(keys[part], p[part], y[part], losses[part], None if w is None else w[part])
    return state


def test_bootstrap_sums_against_a_loop() -> None:
    rng = np.random.default_rng(11)
    batch = random_batch(rng, 3000, True)
    keys = np.arange(3000, dtype=np.uint64)
    state = boot(keys, batch, [1000])
    p, y, u, w = batch
    assert w is not None
    drawn = replicate_weights(keys, 20, seed=3)
    values = [np.ones(3000), w, u, w * y, w * p, w * (p - y) ** 2,
              w * ((p >= 0.4) == (y >= 0.5))]
    for r in range(20):
        for j, v in enumerate(values):
            assert exact_total(state.sums[r][j]) == pytest.approx(
                math.fsum(drawn[r] * v), rel=1e-13)


def test_bootstrap_is_the_same_in_any_blocks_and_shards() -> None:
    rng = np.random.default_rng(12)
    batch = random_batch(rng, 150_000, True)
    keys = np.arange(150_000, dtype=np.uint64)
    whole = boot(keys, batch, [])
    blocks = boot(keys, batch, [1, 70_000, 70_001, 140_000])
    p, y, u, w = batch
    assert w is not None
    shards = [boot(keys[a:b], (p[a:b], y[a:b], u[a:b], w[a:b]), [])
              for a, b in ((0, 33_333), (33_333, 150_000))]
    shards[0].merge(Bootstrap.from_json(json.loads(json.dumps(shards[1].to_json()))))
    reference = whole.intervals("weighted-mean")
    for other in (blocks, shards[0]):
        for name, interval in other.intervals("weighted-mean").items():
            assert interval == pytest.approx(reference[name], rel=1e-12), name


def test_bootstrap_intervals_cover_the_estimate() -> None:
    rng = np.random.default_rng(13)
    batch = random_batch(rng, 20_000, False)
    p, y, u, w = batch
    state = boot(np.arange(20_000, dtype=np.uint64), batch, [5000], replicates=64)
    sums = EvalSums(threshold=0.4)
    sums.observe(p, y, u, w)
    point = sums.result()
    intervals = state.intervals()
    loss = math.fsum(u) / len(u)
    for name, value in [("loss", loss), ("normalized_entropy", point["normalized_entropy"]),
                        ("calibration", point["calibration"]), ("brier", point["brier"]),
                        ("accuracy", point["accuracy"])]:
        interval = intervals[name]
        assert interval is not None
        assert interval[0] < value < interval[1], name
    bits = state.intervals(base=2)["loss"]
    assert bits is not None and intervals["loss"] is not None
    assert bits[0] == intervals["loss"][0] / math.log(2)


def test_bootstrap_refuses_what_does_not_fit() -> None:
    with pytest.raises(UsageError, match="cannot merge"):
        Bootstrap(4).merge(Bootstrap(4, seed=1))
    with pytest.raises(UsageError, match="sums must hold"):
        Bootstrap.from_json({**Bootstrap(4).to_json(), "sums": [[]]})
    with pytest.raises(UsageError, match="at least 1"):
        Bootstrap(0)
    tiny = Bootstrap(50)
    tiny.observe(np.arange(2, dtype=np.uint64), np.array([0.2, 0.7]), np.array([0.0, 1.0]),
                 np.array([0.2, 0.4]))
    assert tiny.intervals()["normalized_entropy"] is None  # some replicate lacks a positive
