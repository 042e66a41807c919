"""Issue 12: `-r none` text formatted a block at a time, by numpy or pyarrow.

The text must stay what it always was, Python's `repr` of each float64 (float32
widened exactly), `1e999` for an infinite loss in JSON: every formatter is held to
`repr` itself on random bit patterns and on the values where layouts change (the
exponent form below 1e-4 and from 1e16, whole numbers, -0.0, subnormals, inf, nan),
and numpy's shortest digits to `repr`'s on whatever Hypothesis finds.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bcecli import render
from bcecli.readers import base
from tests.helpers import Files, Run

EDGES = [0.0, -0.0, 1.0, -1.0, 100.0, 0.1, 0.30000000000000004, 1e-4, 1e-5, 1.5e-7, 5e-324,
         2.2250738585072014e-308, 1e10, 1e15, 1e16, 1.5e16, 2.0 ** 53, 2.0 ** 53 + 2,
         999999999999999.9, 9999999999.999998, 1e21, 1.7976931348623157e308, math.inf,
         -math.inf, math.nan]


def values() -> np.ndarray:
    """Random float64 bit patterns, random magnitudes from 1e-9 to 1e18, whole numbers,
    losses, and every float next to a place where a layout may change."""
    rng = np.random.default_rng(12)
    near = [np.nextafter(edge, toward) for edge in (1e-4, 1e10, 1e16, 1e15)
            for toward in (0.0, math.inf)]
    return np.concatenate([
        rng.integers(0, 2 ** 64, 40_000, dtype=np.uint64).view(np.float64),
        10.0 ** rng.uniform(-9, 18, 40_000) * rng.choice([-1.0, 1.0], 40_000),
        rng.integers(-10 ** 12, 10 ** 12, 4_000).astype(np.float64),
        -np.log(rng.random(40_000)), EDGES, near, np.zeros(2)])[:124_000]


def reference(losses: np.ndarray, separator: str, between: str, json: bool) -> str:
    """The text, value by value, from `repr`."""
    def number(value: float) -> str:
        if json and math.isnan(value):
            return "null"
        if json and math.isinf(value):
            return "1e999" if value > 0 else "-1e999"
        return repr(float(value))

    if losses.ndim == 1:
        return between.join(number(v) for v in losses)
    opening, closing = ("[", "]") if json else ("", "")
    return between.join(opening + separator.join(number(v) for v in row) + closing
                        for row in losses)


@pytest.mark.parametrize("formatter", ["python", "numpy", "arrow"])
@pytest.mark.parametrize("shape", [(-1,), (-1, 1), (-1, 4)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_text_is_repr(monkeypatch: pytest.MonkeyPatch, formatter: str, shape: tuple[int, ...],
                      dtype: type) -> None:
    if formatter == "arrow":
        pytest.importorskip("pyarrow")
    monkeypatch.setattr(render, "BULK_AFTER", 0 if formatter == "numpy" else 1 << 40)
    monkeypatch.setattr(render, "BULK_VALUES", 1 << 12)  # several slices, joined
    with np.errstate(over="ignore", invalid="ignore"):
        losses: np.ndarray = values().astype(dtype).reshape(shape)
    for separator, between, as_json in ((",", "\n", False), ("\t", "\n", False),
                                        (", ", ", ", True)):
        assert render.joined_rows(losses, separator, between, json=as_json,
                                  arrow=formatter == "arrow") == \
            reference(losses, separator, between, as_json)


def test_pyarrow_formats_only_where_it_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past 150 MiB with pyarrow's formatter (beside pyarrow's CSV reader), numpy formats."""
    monkeypatch.setattr(render, "PEAK_MEMORY", 1 << 20)  # less than the process holds
    assert not render.room_for_arrow()


def shortest_text(x: np.ndarray) -> list[str | None]:
    """numpy's digits of each positive float as repr lays them out, None where unproven."""
    digits, places, proven = render.shortest(x)
    return [None if not held else f"{m // 10 ** p}.{m % 10 ** p:0{p}d}" if p else f"{m}.0"
            for m, p, held in zip(digits.tolist(), places.tolist(), proven.tolist(), strict=True)]


@given(st.lists(st.integers(0, 2 ** 63 - 1), min_size=1, max_size=200))
def test_shortest_digits_are_repr_on_random_bits(bits: list[int]) -> None:
    x = np.array(bits, dtype=np.uint64).view(np.float64)
    x = x[(x >= render.BULK_LOW) & (x < render.BULK_HIGH)]
    for value, text in zip(x.tolist(), shortest_text(x), strict=True):
        assert text is None or text == repr(value)


@given(st.lists(st.floats(render.BULK_LOW, render.BULK_HIGH, exclude_max=True), min_size=1,
                max_size=200))
def test_shortest_digits_are_repr_in_range(floats: list[float]) -> None:
    x = np.array(floats)
    for value, text in zip(floats, shortest_text(x), strict=True):
        assert text is None or text == repr(value)


def test_shortest_proves_the_losses() -> None:
    """On real losses (logs of uniform probabilities, whole numbers such as the clamp's
    100.0) numpy proves every value's digits but powers of two' (1.0, 64.0: their rounding
    interval is lopsided): those alone are left to Python."""
    rng = np.random.default_rng(5)
    x = np.concatenate([-np.log(rng.random(50_000)), -np.log1p(-rng.random(50_000)),
                        np.arange(1.0, 101.0)])
    x = x[(x >= render.BULK_LOW) & (np.frexp(x)[0] != 0.5)]
    texts = shortest_text(x)
    assert None not in texts
    assert texts == [repr(value) for value in x.tolist()]


@pytest.mark.parametrize("formatter", ["numpy", "arrow"])
@pytest.mark.parametrize("fmt", ["csv", "plain", "json"])
@pytest.mark.parametrize("columns", [1, 3])
def test_bulk_output_is_the_same(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch,
                                 formatter: str, fmt: str, columns: int) -> None:
    """The whole -r none output, by numpy (or pyarrow) from the first row, is the
    value-by-value one: exact zeros (p == y), clamped logs (100.0) and float32 included."""
    if formatter == "arrow":
        pytest.importorskip("pyarrow")
    calls: list[int] = []
    name = "arrow_rows" if formatter == "arrow" else "bulk_text"
    original = getattr(render, name)

    def counted(losses: np.ndarray, *layout: Any) -> str:
        calls.append(len(losses))
        text: str = original(losses, *layout)
        return text

    monkeypatch.setattr(render, name, counted)
    rng = np.random.default_rng(columns)
    p = rng.random((3000, columns))
    y = (rng.random((3000, columns)) < 0.5).astype(np.float64)
    p[:20], p[20:40] = y[:20], 1 - y[20:40]
    np.save("p.npy", p)
    np.save("y.npy", y)
    for dtype in ("float64", "float32"):
        args = ("compute", "p.npy", "y.npy", "-r", "none", "-f", fmt, "--dtype", dtype)
        monkeypatch.setattr(render, "BULK_AFTER", 1 << 40)
        monkeypatch.setattr(render, "ARROW_AFTER", 1 << 40)
        before = list(calls)
        one_by_one = bce(*args)
        assert calls == before
        if formatter == "arrow":
            monkeypatch.setattr(render, "ARROW_AFTER", 0)
            monkeypatch.setattr(render, "PEAK_MEMORY", 1 << 40)
        else:
            monkeypatch.setattr(render, "BULK_AFTER", 0)
        bulk = bce(*args)
        assert one_by_one.exit_code == bulk.exit_code == 0, bulk.stderr
        assert len(calls) > len(before)  # numpy (pyarrow) did format them
        assert "0.0" in one_by_one.stdout and "100.0" in one_by_one.stdout
        assert bulk.stdout == one_by_one.stdout


def test_the_table_keeps_the_first_rows_of_many_blocks(bce: Run, files: Files,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocks after the tenth row add nothing to the table's preview, not even a blank line."""
    monkeypatch.setattr(base, "BLOCK_BYTES", 64)  # a few rows a block
    p = [round(0.05 + 0.9 * i / 300, 4) for i in range(300)]
    files(p__csv="".join(f"{v!r}\n" for v in p), y__csv="1\n" * 300)
    table = bce("compute", "p.csv", "y.csv", "-r", "none", "-f", "table")
    assert table.exit_code == 0, table.stderr
    shown = bce("compute", "p.csv", "y.csv", "-r", "none", "-f", "csv").stdout.split()[1:11]
    cells = [line.strip("│ ").split("│")[-1].strip() for line in table.stdout.splitlines()]
    first = cells.index(shown[0])
    assert cells[first:first + 11] == [*shown, "… 290 more rows (use -f csv for all)"]


@pytest.mark.parametrize("formatter", ["python", "numpy", "arrow"])
def test_json_keeps_the_sign_of_inf_and_writes_nan_as_null(
        bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch, formatter: str) -> None:
    """Weights of both signs (`--like torch`) make losses of inf and -inf, and their sum
    NaN: JSON has neither, so ±1e999 and null, which json reads back as what they are."""
    if formatter == "arrow":
        pytest.importorskip("pyarrow")
        monkeypatch.setattr(render, "ARROW_AFTER", 0)
        monkeypatch.setattr(render, "PEAK_MEMORY", 1 << 40)
    monkeypatch.setattr(render, "BULK_AFTER", 0 if formatter == "numpy" else 1 << 40)
    files(p__csv="0.5\n0\n0\n", y__csv="1\n1\n1\n", w__csv="1\n1e308\n-1e308\n")
    args = ("compute", "p.csv", "y.csv", "--weights", "w.csv", "--like", "torch", "--json")
    rows = bce(*args, "-r", "none")
    assert rows.exit_code == 0, rows.stderr
    assert json.loads(rows.stdout)["loss"] == [-math.log(0.5), math.inf, -math.inf]
    total = bce(*args, "-r", "sum")
    assert total.stdout.startswith('{"loss": null, ')
    assert json.loads(total.stdout)["loss"] is None


def strict_json(text: str) -> Any:
    """JSON as the standard has it: Infinity and NaN, which Python's json takes, refused."""
    def refuse(token: str) -> None:
        raise AssertionError(f"{token} is no JSON")

    return json.loads(text, parse_constant=refuse)


def test_every_key_is_strict_json(bce: Run, files: Files) -> None:
    """An infinite logit in `--top`, the histogram's last edge, `compare`'s losses: written
    1e999 (Python's json would write Infinity), read back as inf."""
    files(x__csv="1e999\n-1e999\n0.5\n", y__csv="1\n1\n1\n")
    out = strict_json(bce("compute", "x.csv", "y.csv", "--logits", "--top", "3", "--hist",
                          "--json").stdout)
    assert [item["prediction"] for item in out["top"]] == [-math.inf, 0.5, math.inf]
    assert out["histogram"]["edges"][-1] == math.inf
    compared = strict_json(bce("compare", "x.csv", "y.csv", "--logits", "--json").stdout)
    assert compared["conventions"]["torch"]["loss"] == math.inf
