"""The score sketch (bcecli/ranking.py): ROC AUC and average precision against
scikit-learn's values (tests/golden/ranking_cases.json, from
scripts/make_golden_ranking.py) and against brute-force exact fractions written
here; certified bounds; merges equal to one run; the JSON form; equal-mass bins."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bcecli.errors import BadValue
from bcecli.ranking import (
    ScoreSketch,
    key_score,
    score_keys,
    segment_sums,
)
from tests.helpers import ROOT

GOLDEN: list[dict[str, Any]] = json.loads(
    (ROOT / "tests" / "golden" / "ranking_cases.json").read_text())["cases"]
Rows = tuple[list[float], list[float], list[float] | None]  # scores, targets, weights


def brute_auc(p: list[float], y: list[float], w: list[float] | None) -> Fraction | None:
    """Every (positive, negative) pair, ranked right counting 1, tied 1/2, weighted by
    the product of the weights: the definition, in exact fractions."""
    weights = [Fraction(x) for x in (w or [1.0] * len(p))]
    pos = [(Fraction(s), v) for s, t, v in zip(p, y, weights, strict=True) if t >= 0.5]
    neg = [(Fraction(s), v) for s, t, v in zip(p, y, weights, strict=True) if t < 0.5]
    total = sum((a for _, a in pos), Fraction(0)) * sum((b for _, b in neg), Fraction(0))
    if not total:
        return None
    won = sum((a * b * (1 if s > r else Fraction(1, 2) if s == r else 0)
               for s, a in pos for r, b in neg), Fraction(0))
    return won / total


def brute_ap(p: list[float], y: list[float], w: list[float] | None) -> Fraction | None:
    """scikit-learn's definition in exact fractions: rows of zero weight dropped, one
    threshold per distinct score from the highest, Σ ΔTP/P × TP/(TP + FP)."""
    rows = [(Fraction(s), t >= 0.5, Fraction(v))
            for s, t, v in zip(p, y, w or [1.0] * len(p), strict=True) if v]
    total = sum((v for _, positive, v in rows if positive), Fraction(0))
    if not total:
        return None
    tp = fp = ap = Fraction(0)
    for score in sorted({s for s, _, _ in rows}, reverse=True):
        gained = sum((v for s, positive, v in rows if s == score and positive), Fraction(0))
        tp += gained
        fp += sum((v for s, positive, v in rows if s == score and not positive), Fraction(0))
        ap += gained / total * tp / (tp + fp)
    return ap


def fed(rows: Rows, cap: int = 1 << 19, pieces: int = 1) -> ScoreSketch:
    """A sketch fed the rows in `pieces` batches."""
    p, y, w = rows
    sketch = ScoreSketch(w is not None, cap)
    cuts = np.linspace(0, len(p), pieces + 1).astype(int).tolist()
    for a, b in itertools.pairwise(cuts):
        sketch.add(p[a:b], y[a:b], None if w is None else w[a:b])
    return sketch


def assert_contains(estimate: Any, exact: Fraction | None) -> None:
    assert (estimate is None) == (exact is None)
    if exact is not None:
        assert Fraction(estimate.low) <= exact <= Fraction(estimate.high)
        assert estimate.low <= estimate.value <= estimate.high


def golden_rows(case: dict[str, Any]) -> Rows:
    return case["scores"], case["targets"], case["weights"]


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
@pytest.mark.parametrize("pieces", [1, 3])
def test_exact_mode_is_scikit_learn(case: dict[str, Any], pieces: int) -> None:
    sketch = fed(golden_rows(case), pieces=pieces)
    assert sketch.exact
    for estimate, expected in ((sketch.roc_auc(), case["roc_auc"]),
                               (sketch.average_precision(), case["average_precision"])):
        if expected is None:
            assert estimate is None
        else:
            assert estimate is not None and estimate.exact
            assert estimate.value == pytest.approx(expected, rel=1e-13, abs=0)


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
@pytest.mark.parametrize("cap", [1, 2, 5])
def test_forced_coarse_bounds_contain_scikit_learn(case: dict[str, Any], cap: int) -> None:
    """Bounds hold the exact value (brute force) and scikit-learn's, to its own rounding
    (scikit-learn's float sums are a few ulps from the exact value)."""
    rows = golden_rows(case)
    sketch = fed(rows, cap=cap, pieces=2)
    assert len(sketch) <= cap
    auc, ap = sketch.roc_auc(), sketch.average_precision()
    assert_contains(auc, brute_auc(*rows))
    assert_contains(ap, brute_ap(*rows))
    for estimate, expected in ((auc, case["roc_auc"]), (ap, case["average_precision"])):
        if estimate is not None:
            assert estimate.low * (1 - 1e-14) <= expected <= estimate.high * (1 + 1e-14)


def test_a_coarse_sketch_says_so_and_bounds_are_not_a_point() -> None:
    rows = ([0.1, 0.2, 0.3, 0.4], [0.0, 1.0, 0.0, 1.0], None)
    sketch = fed(rows, cap=1)
    auc = sketch.roc_auc()
    assert not sketch.exact and auc is not None and not auc.exact
    assert (auc.low, auc.value, auc.high) == (0.0, 0.5, 1.0)  # one bucket: any order


def test_a_tied_score_in_a_coarse_sketch_stays_a_tie() -> None:
    """Buckets that hold one score (p = 0 and p = 1 clipped, say) keep the tie
    counted half in both bounds; only buckets of several scores widen them."""
    rng = np.random.default_rng(2)
    p = np.concatenate([np.ones(3000), np.zeros(3000), rng.random(3000)])
    y = (rng.random(9000) < 0.5).astype(np.float64)
    rows = (p.tolist(), y.tolist(), None)
    sketch = fed(rows, cap=64, pieces=3)
    assert not sketch.exact
    auc = sketch.roc_auc()
    assert auc is not None
    # the two ties alone would make the bounds 2·(3000·3000/4)/(P·N) ≈ 0.22 wide
    assert auc.high - auc.low < 0.05
    exact = brute_auc_fast(p, y)
    assert auc.low <= exact <= auc.high


def brute_auc_fast(p: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> Fraction:
    """Mann-Whitney with midranks, in integers: 2U = Σ 2·rank(positives) - P(P + 1)."""
    order = np.argsort(p, kind="stable")
    _, start, counts = np.unique(p[order], return_index=True, return_counts=True)
    twice_rank = np.repeat(2 * start + counts + 1, counts)  # in sorted order
    positive = y[order] >= 0.5
    pos = int(positive.sum())
    return Fraction(int(twice_rank[positive].sum()) - pos * (pos + 1),
                    2 * pos * (len(p) - pos))


pool = st.sampled_from([0.0, 5e-324, 1e-300, 1e-9, 0.1, 0.3, 0.5, math.nextafter(0.5, 1),
                        0.7, 1 - 2**-52, math.nextafter(1.0, 0.0), 1.0])
scores = st.one_of(pool, st.floats(0, 1))
weights = st.one_of(st.sampled_from([0.0, 1.0, 0.5, 3.0]), st.floats(0, 1e3),
                    st.floats(1e-30, 1e-20))


@st.composite
def datasets(draw: st.DrawFn) -> Rows:
    n = draw(st.integers(1, 30))
    p = draw(st.lists(scores, min_size=n, max_size=n))
    y = draw(st.lists(st.sampled_from([0.0, 1.0, 0.49, 0.5]), min_size=n, max_size=n))
    w = draw(st.one_of(st.none(), st.lists(weights, min_size=n, max_size=n)))
    return p, y, w


@given(datasets(), st.integers(1, 8), st.integers(1, 3))
@settings(max_examples=300)
def test_bounds_contain_the_exact_value(rows: Rows, cap: int, pieces: int) -> None:
    sketch = fed(rows, cap=cap, pieces=pieces)
    assert_contains(sketch.roc_auc(), brute_auc(*rows))
    assert_contains(sketch.average_precision(), brute_ap(*rows))


@given(datasets())
@settings(max_examples=150)
def test_exact_mode_equals_the_definition(rows: Rows) -> None:
    sketch = fed(rows, pieces=2)
    for estimate, exact in ((sketch.roc_auc(), brute_auc(*rows)),
                            (sketch.average_precision(), brute_ap(*rows))):
        assert (estimate is None) == (exact is None)
        if estimate is not None and exact is not None:
            assert estimate.value == pytest.approx(float(exact), rel=1e-13, abs=1e-300)
            assert Fraction(estimate.low) <= exact <= Fraction(estimate.high)


def test_unweighted_auc_is_the_exact_fraction_rounded() -> None:
    rows = ([0.3, 0.3, 0.1, 0.7, 0.7, 0.2, 0.9], [1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0], None)
    auc = fed(rows).roc_auc()
    exact = brute_auc(*rows)
    assert auc is not None and exact is not None
    assert auc.value == float(exact)
    assert auc.low <= exact <= auc.high
    assert math.nextafter(auc.low, 1) >= exact and math.nextafter(auc.high, 0) <= exact


def random_rows(rng: np.random.Generator, n: int, weighted: bool, ties: bool) -> Rows:
    p = rng.random(n)
    if ties:
        p = np.round(p, 2)
    y = (rng.random(n) < p).astype(np.float64)
    y[::7] = rng.random(len(y[::7]))  # some soft targets
    w = (rng.random(n) * 3).tolist() if weighted else None
    return p.tolist(), y.tolist(), w


def sketches_equal(a: ScoreSketch, b: ScoreSketch) -> None:
    """Keys, counts and shift exactly; sums to 1e-15 relative (double-doubles added in
    another order round differently, by about 2**-100)."""
    one, other = a.to_json(), b.to_json()
    assert one.keys() == other.keys()
    for name, column in one.items():
        if name in ("sum_p", "sum_y", "weight_neg", "weight_pos"):
            np.testing.assert_allclose(np.sum(column, axis=0), np.sum(other[name], axis=0),
                                       rtol=1e-15, atol=0)
        else:
            assert column == other[name], name


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_shards_merge_to_one_run(weighted: bool, ties: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    p, y, w = random_rows(rng, 3000, weighted, ties)
    cap = int(rng.integers(20, 400))
    whole = fed((p, y, w), cap=cap, pieces=5)
    cuts = sorted(rng.choice(np.arange(1, 3000), 4, replace=False).tolist())
    parts = [fed((p[a:b], y[a:b], None if w is None else w[a:b]), cap=cap,
                 pieces=int(rng.integers(1, 4)))
             for a, b in itertools.pairwise([0, *cuts, 3000])]
    order = rng.permutation(len(parts)).tolist()
    merged = parts[order[0]]
    for i in order[1:]:
        merged.merge(parts[i])
    sketches_equal(merged, whole)
    for name in ("roc_auc", "average_precision"):
        a, b = getattr(merged, name)(), getattr(whole, name)()
        if weighted:
            assert a.value == pytest.approx(b.value, rel=1e-15)
            assert (a.low, a.high) == pytest.approx((b.low, b.high), rel=1e-15)
        else:
            assert a == b


def test_a_batch_larger_than_a_block_is_the_same_as_pieces() -> None:
    rng = np.random.default_rng(4)
    p, y = rng.random(300_000), (rng.random(300_000) < 0.3).astype(np.float64)
    whole, pieces = ScoreSketch(cap=5000), ScoreSketch(cap=5000)
    whole.add(p, y)
    for i in range(0, len(p), 70_000):
        pieces.add(p[i:i + 70_000], y[i:i + 70_000])
    assert not whole.exact
    sketches_equal(whole, pieces)


def test_merging_is_associative_and_commutative() -> None:
    rng = np.random.default_rng(7)
    parts = [random_rows(rng, 500, False, ties=False) for _ in range(3)]
    a, b, c = (fed(rows, cap=64) for rows in parts)
    a.merge(b)
    a.merge(c)  # (a + b) + c
    a2, b2, c2 = (fed(rows, cap=64) for rows in parts)
    b2.merge(c2)
    b2.merge(a2)  # (b + c) + a
    whole = fed(([x for rows in parts for x in rows[0]], [x for rows in parts for x in rows[1]],
                 None), cap=64)
    assert not whole.exact
    sketches_equal(a, whole)
    sketches_equal(b2, whole)


def test_merge_refuses_a_different_weighting() -> None:
    with pytest.raises(ValueError, match="same weighting"):
        ScoreSketch(False).merge(ScoreSketch(True))


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("caps", [(64, 200), (200, 64), (30, 500, 90)])
def test_sketches_of_different_caps_merge_at_the_smallest(weighted: bool,
                                                          caps: tuple[int, ...]) -> None:
    """Shards read by pyarrow keep fewer buckets: merged in any order, the result is the
    sketch one run with the smallest cap makes."""
    rng = np.random.default_rng(len(caps) + caps[0])
    parts = [random_rows(rng, 700, weighted, ties=False) for _ in caps]
    sketches = [fed(rows, cap=cap, pieces=2) for rows, cap in zip(parts, caps, strict=True)]
    merged = sketches[0]
    for other in sketches[1:]:
        merged.merge(other)
    p = [x for rows in parts for x in rows[0]]
    y = [x for rows in parts for x in rows[1]]
    w = [x for rows in parts for x in rows[2] or []] if weighted else None
    whole = fed((p, y, w), cap=min(caps))
    assert merged.cap == min(caps) and not whole.exact
    sketches_equal(merged, whole)


@pytest.mark.parametrize("compact", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_json_round_trip_is_exact(weighted: bool, compact: bool) -> None:
    rng = np.random.default_rng(3)
    sketch = fed(random_rows(rng, 2000, weighted, ties=False), cap=100, pieces=3)
    data = json.loads(json.dumps(sketch.to_json(compact)))
    back = ScoreSketch.from_json(data)
    assert back.to_json() == sketch.to_json()
    assert back.roc_auc() == sketch.roc_auc()
    assert back.average_precision() == sketch.average_precision()
    assert back.mass_edges(7) == sketch.mass_edges(7)
    back.add([0.5], [1.0], [2.0] if weighted else None)  # and it goes on
    assert sum(back.to_json()["count"]) == 2001


@pytest.mark.parametrize("change", [
    {"bcecli_sketch": 2}, {"shift": 64}, {"cap": 2},
    {"keys": [3, 2, 1]}, {"count": [1, 1]}, {"positives": [5, 0, 0]},
    {"sum_p": [[0.0, 0.0, 0.0]]}, {"sum_y": [[0.0, -1.0, 0.0], [0.0, 0.0, 0.0]]},
    {"extra": 1}, {"keys": "AAAA"}, {"count": "not base64!"}, {"first": [0, 0, 0]},
])
def test_from_json_refuses_what_cannot_be_a_sketch(change: dict[str, Any]) -> None:
    sketch = fed(([0.1, 0.5, 0.9], [0.0, 1.0, 1.0], None))
    with pytest.raises(ValueError):
        ScoreSketch.from_json(sketch.to_json() | change)


def test_undefined_cases() -> None:
    empty = ScoreSketch()
    assert empty.roc_auc() is None and empty.average_precision() is None
    assert empty.mass_edges(10) is None
    one_class = fed(([0.2, 0.4], [1.0, 1.0], None))
    assert one_class.roc_auc() is None
    assert one_class.average_precision() is not None
    weightless = fed(([0.2, 0.4], [1.0, 0.0], [0.0, 0.0]))
    assert weightless.roc_auc() is None and weightless.average_precision() is None
    assert weightless.mass_edges(3) is None


def test_inputs_are_checked() -> None:
    with pytest.raises(ValueError, match="weighted sketch takes weights"):
        ScoreSketch().add([0.5], [1.0], [1.0])
    with pytest.raises(ValueError, match="weighted sketch takes weights"):
        ScoreSketch(True).add([0.5], [1.0])
    with pytest.raises(ValueError, match="same length"):
        ScoreSketch().add([0.5, 0.2], [1.0])
    with pytest.raises(BadValue, match="outside"):
        ScoreSketch().add([1.5], [1.0])
    with pytest.raises(BadValue, match="negative"):
        ScoreSketch(True).add([0.5], [1.0], [-1.0])
    with pytest.raises(ValueError, match="cap"):
        ScoreSketch(cap=0)


def test_keys_sort_as_scores_and_invert() -> None:
    rng = np.random.default_rng(0)
    special = [0.0, 5e-324, 1e-300, 0.25, math.nextafter(0.5, 0), 0.5,
               math.nextafter(0.5, 1), 0.75, 1 - 2**-52, math.nextafter(1.0, 0.0), 1.0]
    p = np.unique(np.concatenate([special, rng.random(10000), rng.random(100) * 1e-200,
                                  1 - rng.random(100) * 1e-10]))
    keys = score_keys(p)
    assert (np.diff(keys.astype(object)) > 0).all()  # strictly increasing: one per score
    assert [key_score(int(k)) for k in keys] == p.tolist()
    assert score_keys(np.array([-0.0]))[0] == 0


@given(st.integers(0, 0x7FC0000000000000))
def test_key_score_is_the_lowest_score_of_a_key(key: int) -> None:
    """What `mass_edges` reports as a bucket's lower edge."""
    score = key_score(key)
    assert int(score_keys(np.array([score]))[0]) >= key
    if score > 0:
        below = math.nextafter(score, 0)
        assert int(score_keys(np.array([below]))[0]) < key


@given(st.lists(st.one_of(st.floats(-1e300, 1e300), st.floats(-1e-300, 1e-300),
                          st.sampled_from([5e-324, -5e-324, 1.0, 3.0])), min_size=1,
                max_size=60), st.integers(1, 5))
def test_segment_sums_are_exact_to_2_to_the_minus_100(values: list[float], size: int) -> None:
    segments = np.arange(len(values), dtype=np.int64) % size
    hi, lo = segment_sums(np.array(values), segments, size)
    for k in range(size):
        exact = sum((Fraction(v) for v in values[k::size]), Fraction(0))
        assert abs(Fraction(float(hi[k])) + Fraction(float(lo[k])) - exact) <= \
            abs(exact) * Fraction(1, 2**100)


def test_mass_bins_split_the_weight_and_sum_each_bin() -> None:
    rng = np.random.default_rng(11)
    p, y, weights = random_rows(rng, 5000, weighted=True, ties=False)
    assert weights is not None
    w = weights
    for cap in (1 << 19, 300):
        bins = fed((p, y, w), cap=cap, pieces=3).mass_edges(10)
        assert bins is not None and len(bins.edges) == 11
        assert bins.edges[0] == 0.0 and bins.edges[-1] == 1.0
        total = math.fsum(w)
        for i in range(10):
            inside = [j for j, s in enumerate(p) if bins.edges[i] <= s < bins.edges[i + 1]
                      or (i == 9 and s == 1.0)]
            assert bins.count[i] == len(inside)
            assert bins.weight[i] == pytest.approx(math.fsum(w[j] for j in inside), rel=1e-15)
            assert bins.sum_p[i] == pytest.approx(math.fsum(w[j] * p[j] for j in inside),
                                                  rel=1e-15)
            assert bins.sum_y[i] == pytest.approx(math.fsum(w[j] * y[j] for j in inside),
                                                  rel=1e-15)
            assert abs(bins.weight[i] - total / 10) < total / 10 * (0.02 if cap > 300 else 0.2)


def test_mass_bins_merge_fewer_when_a_score_holds_more_than_a_bin() -> None:
    p = [0.5] * 60 + [0.1, 0.2, 0.8, 0.9]
    bins = fed((p, [1.0] * 64, None)).mass_edges(10)
    assert bins is not None
    assert 0.5 in bins.edges and len(bins.edges) < 11
    assert sum(bins.count) == 64 and max(bins.count) >= 60
    assert fed((p, [1.0] * 64, None)).mass_edges(1) == type(bins)(
        [0.0, 1.0], [64], [64.0], [math.fsum(p)], [64.0], [64.0 - math.fsum(p)])


def test_ten_million_scale_bounds_on_a_smaller_cap() -> None:
    """The 10M-row figure scaled down: 2**18 uniform scores in 2**14 buckets; the AUC
    is checked against an exact rank formula (integers), the bounds are narrow."""
    rng = np.random.default_rng(5)
    p = rng.random(1 << 18)
    y = (rng.random(1 << 18) < p).astype(np.float64)
    sketch = ScoreSketch(cap=1 << 14)
    for i in range(0, len(p), 1 << 15):
        sketch.add(p[i:i + (1 << 15)], y[i:i + (1 << 15)])
    order = np.argsort(p, kind="stable")  # distinct scores: the rank formula is exact
    ranks = np.empty(len(p), np.int64)
    ranks[order] = np.arange(1, len(p) + 1)
    positives = int(y.sum())
    negatives = len(p) - positives
    exact = Fraction(int(ranks[y == 1].sum()) - positives * (positives + 1) // 2,
                     positives * negatives)
    auc = sketch.roc_auc()
    assert auc is not None and auc.low <= exact <= auc.high
    assert auc.high - auc.low < 1e-3
    ap = sketch.average_precision()
    assert ap is not None and ap.high - ap.low < 1e-3
