"""The fast text paths give exactly what Python's float() gives, or step aside."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from bcecli.readers import base
from bcecli.readers import text as delimited
from tests.helpers import Run

FORMATS = ["%.6f", "%.3f", "%.1f", "%.10e", "%.4E", "%r", "%g", "%d", "%+.2f", "%08.3f"]
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


def render(rows: list[list[float]], fmt: str, delimiter: str, crlf: bool) -> bytes:
    end = "\r\n" if crlf else "\n"
    cell = (lambda v: repr(v)) if fmt == "%r" else (lambda v: fmt % v)
    return "".join(delimiter.join(cell(v) for v in row) + end for row in rows).encode()


def reference(text: bytes, delimiter: str | None) -> np.ndarray:
    lines = [line for line in text.decode().split("\n") if line.strip()]
    return np.array([[float(c) for c in (line.split(delimiter) if delimiter else line.split())]
                     for line in lines])


@settings(max_examples=300)
@given(st.integers(1, 3).flatmap(lambda width: st.lists(
           st.lists(finite, min_size=width, max_size=width), min_size=1, max_size=40)),
       st.sampled_from(FORMATS), st.sampled_from([",", ";", "\t", None]), st.booleans())
def test_fast_paths_are_exact_or_decline(rows: list[list[float]], fmt: str,
                                         delimiter: str | None, crlf: bool) -> None:
    if fmt == "%d":
        rows = [[float(int(v)) for v in row] for row in rows]
    text = render(rows, fmt, delimiter or " ", crlf)
    width = len(rows[0])
    expected = reference(text, delimiter)
    columns = list(range(width))
    for path in (delimited.fixed_width, delimited.all_numeric):
        got = path(text, columns, width, delimiter)
        if got is not None:
            assert got.shape == expected.shape
            assert np.array_equal(got, expected), (path.__name__, text[:200])
    parsed = delimited.parse_block(text, columns, width, delimiter, "x.csv", 1, 0, None)
    assert np.array_equal(parsed.values, expected)


@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(["a,b", "c,d", "ab", "x y"]), st.floats(0, 1),
                          st.booleans(), st.booleans()), min_size=1, max_size=30),
       st.integers(2, 3))
@example([("a,b", 0.5, True, False), ("c,d", 0.25, True, False)], 3)
def test_fast_paths_take_only_what_csv_reads(rows: list[tuple[str, float, bool, bool]],
                                             width: int) -> None:
    """Rows of an id (quoted, maybe holding the delimiter) and a number (maybe quoted),
    under a header of `width` columns: a fast path may take a block only where every
    line has that many fields as `csv` reads them, and then must give csv's numbers."""
    import csv

    lines = []
    for label, value, quote_label, quote_value in rows:
        cell = f"{value:.3f}"
        lines.append(f'"{label}"' if quote_label or "," in label else label)
        lines[-1] += "," + (f'"{cell}"' if quote_value else cell) + "\n"
    text = "".join(lines).encode()
    parsed = list(csv.reader(text.decode().splitlines()))
    for path in (delimited.fixed_width, delimited.all_numeric):
        got = path(text, [width - 1], width, ",")
        if got is not None:
            assert all(len(row) == width for row in parsed), (path.__name__, text[:200])
            assert np.array_equal(got, [[float(row[-1])] for row in parsed])


@settings(max_examples=200)
@given(st.lists(st.just(0.0) | st.floats(1e-6, 0.999999), min_size=1, max_size=60),
       st.sampled_from(["%.6f", "%.3e", "%.9f", "%.14e"]), st.booleans())
def test_fixed_width_takes_printf_columns(values: list[float], fmt: str, labels: bool) -> None:
    rows = [[v, float(i % 2)] if labels else [v] for i, v in enumerate(values)]
    text = "".join(",".join(fmt % v if j == 0 else str(int(v)) for j, v in enumerate(row)) + "\n"
                   for row in rows).encode()
    width = len(rows[0])
    got = delimited.fixed_width(text, list(range(width)), width, ",")
    assert got is not None and np.array_equal(got, reference(text, ","))


@pytest.mark.parametrize(("text", "delimiter", "width"), [
    (b"0.5\n0.2\n", None, 1),
    (b"0.123456\n0.654321\n", None, 1),
    (b"1\n0\n1\n", None, 1),
    (b"0.500000,1\n0.250000,0\n", ",", 2),
    (b"-1.50e-03 2\n-2.25e+01 7\n", None, 2),
    (b"0.5\r\n0.7\r\n", None, 1),
])
def test_fixed_width_handles_the_common_shapes(text: bytes, delimiter: str | None,
                                               width: int) -> None:
    got = delimited.fixed_width(text, list(range(width)), width, delimiter)
    assert got is not None and np.array_equal(got, reference(text, delimiter))


@pytest.mark.parametrize("text", [
    b"0.5\n1.5\n-0.5\n+0.5\n",  # varying sign
    b"0.5\nab.c\n",  # letters where digits were
    b"0.5\n\n0.3\n",  # blank line
    b"0.5\n0.25\n",  # different widths
    b"nan\n0.5\n",
    b'"0.5"\n"0.7"\n',
    b"1.0000000000000001\n",  # more digits than float64 holds exactly
])
def test_fixed_width_declines(text: bytes) -> None:
    assert delimited.fixed_width(text, [0], 1, None) is None


@pytest.mark.parametrize(("text", "delimiter", "width"), [
    (b"0.5\n  \n0.3\n", None, 1),  # a blank line: np.fromstring would read -1
    (b"  \n", None, 1),
    (b"0.5,  \n0.3,1\n", ",", 2),  # a blank field
    (b"0.5,1,2\n0.3\n", ",", 2),  # ragged rows that add up
    (b"0.5 0.3\n", None, 1),
    (b"0.5\ntrue\n", None, 1),
    (b"1_0\n", None, 1),
    (b"0x10\n", None, 1),
])
def test_all_numeric_declines(text: bytes, delimiter: str | None, width: int) -> None:
    assert delimited.all_numeric(text, list(range(width)), width, delimiter) is None


@pytest.mark.parametrize("block", [1, 7, 64, 4096])
def test_block_size_changes_nothing(bce: Run, files: object, monkeypatch: pytest.MonkeyPatch,
                                    block: int) -> None:
    monkeypatch.setattr(base, "BLOCK_BYTES", block)
    monkeypatch.setattr(base, "BLOCK_ROWS", max(1, block // 8))
    preds = "p\n# comment\n" + "".join(f"{(i % 97) / 97:.6f}\n" for i in range(300)) + "\n"
    targets = "".join(f"{i % 2}\n" for i in range(300))
    same = json.dumps([float(f"{(i % 97) / 97:.6f}") for i in range(300)])
    files(p__csv=preds, y__csv=targets, p__json=same,  # type: ignore[operator]
          bad__csv=preds.replace("0.123711", "1.5"))
    out = json.loads(bce("compute", "p.csv", "y.csv", "--json").stdout)
    assert out["count"] == 300
    expected = bce("compute", "p.json", "y.csv", "--json")
    assert out["loss"] == json.loads(expected.stdout)["loss"]
    rows = bce("compute", "p.csv", "y.csv", "-r", "none", "-f", "csv").stdout.splitlines()
    assert len(rows) == 301
    error = bce("compute", "bad.csv", "y.csv")
    assert error.stderr.startswith("bce: error: bad.csv:15: prediction 1.5 in column 'p' is ")
