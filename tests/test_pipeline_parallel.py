"""The per-batch work made cheaper (one log per element for 0/1 targets, sums into reused
buffers, checks by min/max first) gives the very floats and messages it gave before.

The references are the previous code, kept here: any difference, a signed zero or
one ulp, fails.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from bcecli import BadValue, binary_cross_entropy, core
from bcecli.core import LOG_CLAMP, FloatArray, LossFunction, accurate_sum, exact_total
from bcecli.readers import base
from tests.helpers import Files, Run, loss_of, refused


def reference_losses(p: FloatArray, y: FloatArray, pos_weight: FloatArray | None,
                     eps: float | None) -> FloatArray:
    """The previous `probability_losses`: both logs of every element, PyTorch's formula."""
    if eps is not None:
        low = eps if p.dtype.type(1.0 - eps) < 1 else max(eps, float(np.finfo(p.dtype).eps))
        p = np.clip(p, p.dtype.type(low), p.dtype.type(1.0 - low))
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
        log_q = np.log1p(-p)
    if eps is None:
        np.maximum(log_p, LOG_CLAMP, out=log_p)
        np.maximum(log_q, LOG_CLAMP, out=log_q)
    positive = y * log_p if pos_weight is None else pos_weight * y * log_p
    result: FloatArray = (y - 1) * log_q - positive
    return result


def reference_sum(values: FloatArray) -> list[float]:
    """The previous `accurate_sum`, a fresh array at every step."""
    x = np.asarray(values, dtype=np.float64).ravel()
    parts: list[float] = []
    errors: list[float] = []
    with np.errstate(invalid="ignore", over="ignore"):
        while x.size > 1:
            if x.size % 2:
                parts.append(float(x[-1]))
                x = x[:-1]
            half = x.size // 2
            a, b = x[:half], x[half:]
            s = a + b
            b_virtual = s - a
            errors.append(float(np.sum((a - (s - b_virtual)) + (b - b_virtual))))
            x = s
    if x.size:
        parts.append(float(x[0]))
    if not all(math.isfinite(p) for p in parts):
        return [exact_total(parts)]
    return parts + errors


# the edges as well as the bulk: 0 and 1, subnormals, the floats next to 0.5 and 1
SPECIAL = [0.0, 1.0, 5e-324, 2.2250738585072014e-308, 1e-45, 1.4e-45, 0.5,
           math.nextafter(0.5, 0), math.nextafter(1.0, 0), 1e-300, 1e-8, 1 - 1e-8]
probability = st.one_of(st.sampled_from(SPECIAL), st.floats(0.0, 1.0))
label = st.sampled_from([0.0, 1.0])
soft = st.one_of(label, st.floats(0.0, 1.0))
DTYPES = [np.float64, np.float32]


def same(got: FloatArray, expected: FloatArray) -> bool:
    """Bit for bit: the dtype, the shape and every byte."""
    return got.dtype == expected.dtype and got.shape == expected.shape and \
        got.tobytes() == expected.tobytes()


@given(st.data(), st.sampled_from(DTYPES), st.sampled_from([None, 1e-7, 1e-3, 0.25]),
       st.booleans(), st.booleans())
def test_losses_are_the_previous_formulas_bit_for_bit(
        data: st.DataObject, dtype: type[np.floating], eps: float | None, hard: bool,
        strided: bool) -> None:
    n = data.draw(st.integers(1, 80))
    p = np.array(data.draw(st.lists(probability, min_size=n, max_size=n)), dtype=dtype)
    y = np.array(data.draw(st.lists(label if hard else soft, min_size=n, max_size=n)),
                 dtype=dtype)
    if strided:  # a column of a block, as the readers hand them over
        p = np.stack([p, p], axis=1)[:, 0]
    function = LossFunction(eps=eps, dtype=dtype)
    expected = reference_losses(p, y, None, eps)
    expected += 0.0  # as the loss function does
    with patch.object(core, "LABEL_SLICE", data.draw(st.sampled_from([1, 7, core.LABEL_SLICE]))):
        assert same(function(p, y), expected)


@given(st.data(), st.sampled_from(DTYPES), st.booleans())
def test_weights_and_pos_weight_are_unchanged(data: st.DataObject, dtype: type[np.floating],
                                              negative: bool) -> None:
    n = data.draw(st.integers(1, 40))
    p = np.array(data.draw(st.lists(probability, min_size=n, max_size=n)), dtype=dtype)
    y = np.array(data.draw(st.lists(label, min_size=n, max_size=n)), dtype=dtype)
    largest = 1e38 if dtype is np.float32 else 1e308  # finite in dtype; times 100, not
    w = np.array(data.draw(st.lists(st.floats(-3.0 if negative else 0.0, largest),
                                    min_size=n, max_size=n)), dtype=np.float64)
    pos_weight = data.draw(st.sampled_from([None, 0.0, 2.5]))
    function = LossFunction(dtype=dtype, pos_weight=pos_weight, permissive=negative)
    many = data.draw(st.integers(1, 4))  # several classes
    p, y, w = np.tile(p, (many, 1)).T, np.tile(y, (many, 1)).T, np.tile(w, (many, 1)).T
    pw = None if pos_weight is None else np.asarray(pos_weight, dtype=dtype)
    with np.errstate(over="ignore", invalid="ignore"):
        expected = reference_losses(p, y, pw, None) * w.astype(dtype)
    expected = np.where(w.astype(dtype) == 0, dtype(0), expected) if np.isinf(expected).any() \
        else expected
    expected += 0.0
    assert same(function(p, y, w), expected)


@given(st.lists(st.one_of(st.floats(-1e300, 1e300), st.sampled_from(SPECIAL),
                          st.sampled_from([math.inf, -math.inf, math.nan])), max_size=300))
def test_accurate_sum_gives_the_previous_parts(values: list[float]) -> None:
    array = np.array(values, dtype=np.float64)
    try:
        expected = reference_sum(array)
    except ValueError:  # inf and -inf as separate parts: math.fsum's "-inf + inf"
        assert math.isnan(exact_total(accurate_sum(array)))
        return
    assert np.array_equal(accurate_sum(array), expected, equal_nan=True)


def test_losses_of_inf_and_minus_inf_sum_to_nan(bce: Run, files: Files) -> None:
    """Weights of both signs overflow two losses to inf and -inf: their sum is NaN (as
    in one block, and in PyTorch), not an internal error, wherever the blocks cut."""
    files(p__csv="p,y\n1,1\n1,1\n1,1\n0,1\n0,1\n", w__csv="1\n1\n1\n1e308\n-1e308\n")
    args = ("compute", "p.csv", "--weights", "w.csv", "--like", "torch", "-r", "sum")
    result = bce(*args, "--json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["loss"] is None  # JSON has no NaN
    assert bce(*args, "-f", "plain").stdout == "nan\n"


def test_accurate_sum_of_a_broadcast_and_of_a_column() -> None:
    rng = np.random.default_rng(1)
    matrix = rng.random((1001, 3))
    assert accurate_sum(matrix[:, 1]) == reference_sum(matrix[:, 1])
    row = np.broadcast_to(rng.random(3), (999, 3))
    assert accurate_sum(row) == reference_sum(row)


def reference_error(p: FloatArray, y: FloatArray, w: FloatArray | None) -> tuple[object, ...]:
    """The first bad value as the previous checks found it: weights, then predictions, then
    targets, each by its masks in order."""
    checks = []
    if w is not None:
        checks += [(~np.isfinite(w), w, "weight", "is not finite"),
                   (w < 0, w, "weight", "is negative")]
    checks += [(np.isnan(p), p, "prediction", "is not a number"),
               (~((p >= 0) & (p <= 1)), p, "prediction", "is outside [0, 1]"),
               (np.isnan(y), y, "target", "is not a number"),
               (~((y >= 0) & (y <= 1)), y, "target", "is outside [0, 1]")]
    for mask, values, role, problem in checks:
        if mask.any():
            index = int(np.flatnonzero(mask)[0])
            return role, (index,), float(values[index]), problem
    return ()


BAD = [math.nan, math.inf, -math.inf, -0.5, 1.5, -5e-324, math.nextafter(1.0, 2)]


@given(st.data(), st.booleans())
def test_the_first_bad_value_is_the_one_reported(data: st.DataObject, weighted: bool) -> None:
    n = data.draw(st.integers(1, 60))
    columns = []
    for _ in range(3):
        column = np.array(data.draw(st.lists(probability, min_size=n, max_size=n)))
        for _ in range(data.draw(st.integers(0, 3))):
            column[data.draw(st.integers(0, n - 1))] = data.draw(st.sampled_from(BAD))
        columns.append(column)
    p, y, w = columns[0], columns[1], columns[2] if weighted else None
    expected = reference_error(p, y, w)
    try:
        LossFunction()(p, y, w)
    except BadValue as e:
        got = (e.role, e.index, e.value, e.problem)
        assert got == expected or (math.isnan(e.value) and repr(got) == repr(expected))
    else:
        assert expected == ()


@pytest.fixture
def small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Text read a few lines at a time: many batches through the pipeline."""
    monkeypatch.setattr(base, "BLOCK_BYTES", 64)


# the files are rewritten for each example, in the one folder of the test
through_files = settings(max_examples=40,
                         suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.mark.usefixtures("small_blocks")
@through_files
@given(data=st.data())
def test_totals_over_many_batches_are_those_of_one_array(data: st.DataObject, bce: Run,
                                                         files: Files) -> None:
    n = data.draw(st.integers(1, 300))
    p = data.draw(st.lists(probability, min_size=n, max_size=n))
    y = data.draw(st.lists(data.draw(st.sampled_from([label, soft])), min_size=n, max_size=n))
    files(p__csv="".join(f"{v!r}\n" for v in p), y__csv="".join(f"{v!r}\n" for v in y))
    assert loss_of(bce("compute", "p.csv", "y.csv", "--json")) == \
        binary_cross_entropy(p, y)


@through_files
@given(data=st.data())
def test_the_first_bad_line_in_file_order_is_reported(data: st.DataObject, bce: Run,
                                                      files: Files) -> None:
    """Bad values of several kinds in several roles: the earliest line is reported,
    wherever the blocks cut (a missing value is looked for before a bad weight, a bad
    weight before a bad prediction before a bad target, but only within a row)."""
    n = data.draw(st.integers(2, 300))
    columns = {"p.csv": [0.25] * n, "y.csv": [1.0] * n, "w.csv": [2.0] * n}
    bad = {"p.csv": [math.nan, 1.5, -0.5], "y.csv": [math.nan, 1.5, -0.5],
           "w.csv": [math.nan, -1.0, math.inf]}
    for _ in range(data.draw(st.integers(1, 5))):
        name = data.draw(st.sampled_from(sorted(columns)))
        columns[name][data.draw(st.integers(0, n - 1))] = data.draw(st.sampled_from(bad[name]))

    def problems(row: int) -> list[str]:
        """The files whose value is bad on a row, in the order the checks report them."""
        values = {name: column[row] for name, column in columns.items()}
        missing = [name for name, v in values.items() if math.isnan(v)]
        if missing:
            return [min(missing, key=["p.csv", "y.csv", "w.csv"].index)]
        return [name for name in ("w.csv", "p.csv", "y.csv")
                if not (0 <= values[name] <= 1 if name != "w.csv"
                        else 0 <= values[name] < math.inf)]

    row = next(r for r in range(n) if problems(r))
    files(**{name.replace(".", "__"): "".join(f"{v!r}\n" for v in column)
             for name, column in columns.items()})
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(base, "BLOCK_BYTES", data.draw(st.sampled_from([16, 64, 1 << 20])))
        assert refused(bce, "p.csv", "y.csv", "--weights", "w.csv").startswith(
            f"bce: error: {problems(row)[0]}:{row + 1}: ")


@example([-1e308, -1e308, 1e307]).via("negative overflow")
@example([1e308, 1e308, -1e307]).via("positive overflow")
@example([-8.988465674311579e+307, -8.98846567431158e+307, 9.9792015476736e+291]).via(
    "a partial sum overflows, the sum does not")
@given(st.lists(st.floats(-1.7e308, 1.7e308), min_size=2, max_size=40))
def test_an_overflowing_exact_sum_keeps_its_sign(values: list[float]) -> None:
    """Parts whose exact sum is beyond a double: ±inf as that sum's sign (not always +inf);
    a sum within range is that sum, though a partial sum overflowed on the way. A double
    rounds to infinity from 2**1024 − 2**970 up (half an ulp above the largest)."""
    exact = sum((Fraction(v) for v in values), Fraction(0))
    result = exact_total(values)
    if abs(exact) >= Fraction(2**1024 - 2**970):
        assert result == (math.inf if exact > 0 else -math.inf)
    else:
        assert abs(Fraction(result) - exact) <= abs(exact) / 2**52
