"""The numpy core: validation, limits, and properties checked with Hypothesis."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from bcecli import BadValue, InputError, UsageError, core

probabilities = st.floats(0.0, 1.0)
stable_probabilities = st.floats(1e-6, 1 - 1e-6)
logits = st.floats(-1e4, 1e4)
targets = st.floats(0.0, 1.0)


def pairs(values: st.SearchStrategy[float]) -> st.SearchStrategy[tuple[list[float], list[float]]]:
    return st.integers(1, 40).flatmap(lambda n: st.tuples(
        st.lists(values, min_size=n, max_size=n), st.lists(targets, min_size=n, max_size=n)))


@given(pairs(probabilities))
def test_probability_losses_are_finite_and_non_negative(data: tuple[list[float], list[float]]
                                                        ) -> None:
    losses = core.binary_cross_entropy(*data, reduction="none")
    assert isinstance(losses, np.ndarray)
    assert np.all(np.isfinite(losses)) and np.all(losses >= 0)
    assert np.all(losses <= 100 + 1e-12)  # each log term is clamped at -100


@given(pairs(logits))
def test_logit_losses_are_finite_and_non_negative(data: tuple[list[float], list[float]]) -> None:
    losses = core.binary_cross_entropy_with_logits(*data, reduction="none")
    assert isinstance(losses, np.ndarray)
    assert np.all(np.isfinite(losses)) and np.all(losses >= -1e-12)


@given(pairs(stable_probabilities))
def test_matches_the_naive_formula_where_it_is_stable(data: tuple[list[float], list[float]]
                                                      ) -> None:
    p, y = data
    naive = [-(t * math.log(q) + (1 - t) * math.log(1 - q)) for q, t in zip(p, y, strict=True)]
    got = core.binary_cross_entropy(p, y, reduction="none")
    np.testing.assert_allclose(got, naive, rtol=1e-9, atol=1e-12)


@given(pairs(st.floats(-15, 15)))  # beyond, 1 - sigmoid(x) loses the bits
def test_logits_equal_probabilities_of_their_sigmoid(data: tuple[list[float], list[float]]
                                                     ) -> None:
    x, y = data
    p = [1 / (1 + math.exp(-v)) for v in x]
    with_logits = core.binary_cross_entropy_with_logits(x, y, reduction="none")
    np.testing.assert_allclose(with_logits, core.binary_cross_entropy(p, y, reduction="none"),
                               rtol=1e-7, atol=1e-9)


@given(hnp.arrays(np.float64, st.integers(1, 3000), elements=st.floats(0, 1e6)),
       st.lists(st.integers(1, 4096), min_size=1, max_size=6))
@settings(max_examples=200)
def test_chunking_does_not_change_the_sum(values: np.ndarray, sizes: list[int]) -> None:
    whole = core.LossTotal()
    whole.add(values, None)
    chunked = core.LossTotal()
    start, turn = 0, 0
    while start < values.size:
        stop = start + sizes[turn % len(sizes)]
        chunked.add(values[start:stop], None)
        start, turn = stop, turn + 1
    exact = math.fsum(values.tolist())
    for total in (whole, chunked):
        assert total.count == values.size
        assert abs(total.result("sum") - exact) <= math.ulp(exact)


def test_sum_is_accurate_where_naive_summation_is_not() -> None:
    values = np.array([1.0] + [1e-16] * 100_000)
    total = core.LossTotal()
    total.add(values, None)
    assert total.result("sum") == math.fsum(values.tolist())
    assert float(np.cumsum(values)[-1]) != math.fsum(values.tolist())  # what we avoid


def test_reductions() -> None:
    p, y, w = [0.8, 0.3, 0.6], [1, 0, 1], [1.0, 2.0, 0.5]
    losses = core.binary_cross_entropy(p, y, w, reduction="none")
    assert isinstance(losses, np.ndarray)
    assert core.binary_cross_entropy(p, y, w, reduction="sum") == pytest.approx(losses.sum())
    assert core.binary_cross_entropy(p, y, w) == pytest.approx(losses.sum() / 3)
    assert core.binary_cross_entropy(p, y, w, reduction="weighted-mean") == pytest.approx(
        losses.sum() / 3.5)
    assert core.binary_cross_entropy(p, y, reduction="weighted-mean") == (
        core.binary_cross_entropy(p, y))


@pytest.mark.parametrize(("x", "y", "pos_weight", "expected"), [
    (math.inf, 1.0, None, 0.0), (math.inf, 0.0, None, math.inf), (math.inf, 0.3, None, math.inf),
    (-math.inf, 0.0, None, 0.0), (-math.inf, 1.0, None, math.inf), (-math.inf, 0.3, None, math.inf),
    (-math.inf, 1.0, 0.0, 0.0), (math.inf, 1.0, 3.0, 0.0),
])
def test_infinite_logits_give_the_limit(x: float, y: float, pos_weight: float | None,
                                        expected: float) -> None:
    assert core.binary_cross_entropy_with_logits(
        [x], [y], pos_weight=None if pos_weight is None else [pos_weight]) == expected


def test_infinite_logit_with_zero_weight_is_zero() -> None:
    assert core.binary_cross_entropy_with_logits([math.inf, 0.0], [0, 1], [0.0, 1.0],
                                                 reduction="sum") == pytest.approx(math.log(2))


def test_overflow_is_infinity_not_a_warning() -> None:
    huge = [1e307, 1e307]
    assert core.binary_cross_entropy([0.0, 0.5], [1, 1], huge, reduction="sum") == math.inf
    assert core.binary_cross_entropy([0.5, 0.5], [1, 1], [1.7e308] * 2, reduction="sum") == \
        math.inf
    assert core.binary_cross_entropy([1e-10], [1], pos_weight=[1e308], reduction="sum") == math.inf


def test_no_negative_zero() -> None:
    losses = core.binary_cross_entropy([1.0], [1.0], reduction="none")
    assert isinstance(losses, np.ndarray) and str(losses[0]) == "0.0"
    assert str(core.binary_cross_entropy([1.0], [1.0])) == "0.0"


def test_clamp_and_eps() -> None:
    assert core.binary_cross_entropy([0.0], [1]) == 100.0
    assert core.binary_cross_entropy([1.0], [0]) == 100.0
    assert core.binary_cross_entropy([0.0], [1], eps=1e-7) == pytest.approx(-math.log(1e-7))


def test_label_smoothing_moves_targets_toward_one_half() -> None:
    smoothed = core.binary_cross_entropy([0.8], [1], label_smoothing=0.2)
    assert smoothed == pytest.approx(core.binary_cross_entropy([0.8], [0.9]))


def test_float32_rounds_to_float32() -> None:
    value = core.binary_cross_entropy([0.8, 0.3, 0.6], [1, 0, 1], dtype="float32")
    assert isinstance(value, float) and float(np.float32(value)) == value


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(input=[0.5, 1.5], target=[1, 0]), "prediction 1.5 is outside [0, 1]"),
    (dict(input=[0.5, math.nan], target=[1, 0]), "prediction nan is not a number"),
    (dict(input=[0.5, 0.5], target=[1, 2]), "target 2.0 is outside [0, 1]"),
    (dict(input=[0.5, 0.5], target=[1, 0], weight=[1, -1]), "weight -1.0 is negative"),
    (dict(input=[0.5, 0.5], target=[1, 0], weight=[1, math.inf]), "weight inf is not finite"),
])
def test_bad_values_name_role_value_and_index(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(BadValue) as caught:
        core.binary_cross_entropy(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message
    assert caught.value.index == (1,)


def test_nan_logit_is_an_error_but_large_logits_are_fine() -> None:
    with pytest.raises(BadValue, match="prediction nan is not a number"):
        core.binary_cross_entropy_with_logits([math.nan], [1])
    assert core.binary_cross_entropy_with_logits([1e300, -1e300], [1, 0]) == 0.0


def test_index_of_a_matrix_value() -> None:
    with pytest.raises(BadValue) as caught:
        core.binary_cross_entropy([[0.5, 0.5], [0.5, -0.1]], [[0, 0], [0, 0]])
    assert caught.value.index == (1, 1)


@pytest.mark.parametrize(("kwargs", "error", "message"), [
    (dict(input=[], target=[]), InputError, "no values to compute a loss from"),
    (dict(input=[0.5], target=[1, 0]), InputError,
     "target shape (2,) differs from input shape (1,)"),
    (dict(input=[0.5], target=[1], reduction="avg"), UsageError,
     "reduction must be one of mean, sum, none, rows, weighted-mean, not 'avg'"),
    (dict(input=[0.5], target=[1], eps=0.7), UsageError, "eps must be in (0, 0.5), not 0.7"),
    (dict(input=[0.5], target=[1], label_smoothing=2.0), UsageError,
     "label smoothing must be in [0, 1], not 2.0"),
    (dict(input=[0.5], target=[1], dtype="int64"), UsageError,
     "dtype must be float64 or float32, not int64"),
    (dict(input=[0.5, 0.5], target=[1, 0], weight=[1, 1, 1]), InputError,
     "weight of shape (3,) does not broadcast to input shape (2,)"),
    (dict(input=[0.5], target=[1], weight=[0.0], reduction="weighted-mean"), InputError,
     "weights sum to zero: weighted-mean is undefined"),
])
def test_invalid_calls(kwargs: dict[str, object], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as caught:
        core.binary_cross_entropy(**kwargs)  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_pos_weight_broadcasts_over_classes() -> None:
    p = np.array([[0.9, 0.2], [0.4, 0.7]])
    y = np.array([[1.0, 0.0], [1.0, 1.0]])
    weighted = core.binary_cross_entropy(p, y, pos_weight=[2.0, 1.0], reduction="none")
    plain = core.binary_cross_entropy(p, y, reduction="none")
    assert isinstance(weighted, np.ndarray) and isinstance(plain, np.ndarray)
    np.testing.assert_allclose(weighted[:, 0], 2 * plain[:, 0])
    np.testing.assert_allclose(weighted[:, 1], plain[:, 1])


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 20), st.integers(1, 6)),
                  elements=probabilities),
       hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(0, 4)))
def test_rows_are_the_mean_over_classes_of_the_weighted_losses(p: np.ndarray, classes: np.ndarray
                                                               ) -> None:
    y = (p > 0.5).astype(np.float64)
    weight = np.resize(classes, p.shape[1])
    none = core.binary_cross_entropy(p, y, weight, reduction="none")
    rows = core.binary_cross_entropy(p, y, weight, reduction="rows")
    assert isinstance(none, np.ndarray) and isinstance(rows, np.ndarray)
    np.testing.assert_allclose(rows, none.mean(axis=1), rtol=1e-15, atol=0)
    flat = core.binary_cross_entropy(p[:, 0], y[:, 0], reduction="rows")
    assert np.array_equal(flat, core.binary_cross_entropy(p[:, 0], y[:, 0], reduction="none"))


def test_class_mean_weights_the_classes_and_names_one_without_weight() -> None:
    losses = np.array([[1.0, 2.0, 4.0], [3.0, 6.0, 8.0]])
    weights = np.array([[1.0, 1.0, 0.0], [3.0, 1.0, 0.0]])
    total = core.ClassTotals()
    total.add(losses * weights, weights)
    assert total.class_mean("weighted-mean", class_weights=[1.0, 3.0, 0.0]) == \
        pytest.approx((1 * (1 + 9) / 4 + 3 * (2 + 6) / 2) / 4)
    with pytest.raises(InputError, match=r"^class 2 \(0-based\): weights sum to zero"):
        total.class_mean("weighted-mean")
    with pytest.raises(InputError, match="the class weights sum to zero"):
        total.class_mean("weighted-mean", class_weights=[0.0, 0.0, 0.0])
