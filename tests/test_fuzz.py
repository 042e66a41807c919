"""Fuzzing the real CLI: whatever arrives, a correct result or one clear line, never a trace.

Every example runs `bce compute` in-process through the same entry point users
run (`BceGroup.main`) with random bytes, mutated CSV / JSON / JSON Lines / gzip
inputs, and random option combinations. The invariants:

- the exit code is 0, 1 or 2, and no exception or traceback escapes;
- exit 2 prints nothing on stdout and one `bce: error: ...` line (plus a `hint:`),
  and never an internal error;
- exit 0 gives a finite loss, or with `--logits` the documented limit (inf);
  on valid generated inputs it equals the core's loss on the same values.

CI runs a bounded number of examples with a fixed seed. The long mode:

    BCE_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py

runs that many examples in each of the five fuzz tests.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner, Result

from bcecli import core
from bcecli.cli import app
from bcecli.errors import InputError

EXAMPLES = int(os.environ.get("BCE_FUZZ_EXAMPLES", "60"))
fuzz = settings(max_examples=EXAMPLES, suppress_health_check=list(HealthCheck))
RUNNER = CliRunner()

OPTIONS = st.lists(st.sampled_from([
    ["--logits"], ["-r", "sum"], ["-r", "none"], ["-r", "weighted-mean"], ["-r", "median"],
    ["--pos-weight", "2"], ["--pos-weight", "1,2"], ["--pos-weight", "-1"], ["--pos-weight", "x"],
    ["--class-weights", "1"], ["--class-weights", "0,0"], ["--label-smoothing", "0.1"],
    ["--label-smoothing", "3"], ["--eps", "1e-7"], ["--eps", "0.9"], ["--dtype", "float32"],
    ["-f", "plain"], ["-f", "csv"], ["-f", "table"], ["--json"], ["--max-loss", "0.5"],
    ["--max-loss", "nan"], ["--header"], ["--no-header"], ["--pred-col", "0"],
    ["--target-col", "1"], ["--pred-col", "p"], ["--weight-col", "2"],
    ["--input-format", "csv"], ["--input-format", "json"], ["--input-format", "jsonl"],
    ["--no-progress"], ["--frobnicate"], ["--focal-gamma", "2"], ["--focal-alpha", "0.25"],
    ["--like", "keras"], ["--like", "sklearn"], ["--top", "3"], ["--metrics"], ["--hist"],
    ["--threshold", "0.7"], ["--min-loss", "0.1"], ["--baseline", "missing.json"],
    ["--tolerance", "0.1"], ["--partial"],
]), max_size=4).map(lambda groups: [arg for group in groups for arg in group])


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def invoke(args: list[str], stdin: bytes | None = None) -> Result:
    return RUNNER.invoke(app, ["compute", *args], input=stdin)


def check(result: Result, args: list[str]) -> None:
    """The invariants every run must keep."""
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        (args, repr(result.exception))
    assert "Traceback" not in result.stdout + result.stderr
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert result.stdout == "", args
        assert 1 <= len(lines) <= 2 and lines[0].startswith("bce: error: "), result.stderr
        assert "internal error" not in lines[0], (args, result.stderr)
        assert len(lines) == 1 or lines[1].startswith("hint: "), result.stderr
    if result.exit_code == 0 and result.stdout.startswith("{") and "--partial" not in args:
        loss = json.loads(result.stdout)["loss"]
        for value in np.ravel(loss):
            assert value >= 0 and not math.isnan(value), args
            assert math.isfinite(value) or "--logits" in args, args


# -- random and mutated inputs ----------------------------------------------------------


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (position, length to delete, bytes to insert) edits."""
    for at, cut, insert in edits:
        at = at % (len(data) + 1)
        data = data[:at] + insert + data[at + cut:]
    return data


edits = st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 8),
                           st.sampled_from([b"", b",", b"\n", b"\r\n", b"\"", b"[", b"]", b"{",
                                            b"nan", b"-", b"1e999", b" ", b"\x00", b"\xff",
                                            b"true", b"#", b"2", b"0.5", b"\t", b";"])),
                 max_size=5)
numbers = st.floats(-5, 5) | st.sampled_from([0.0, 1.0, 0.5, 1e-300, 1 - 1e-16])
rows = st.lists(st.tuples(numbers, numbers, st.floats(0, 3)), min_size=1, max_size=30)


def as_csv(data: list[tuple[float, float, float]], header: bool) -> bytes:
    head = "p,y,w\n" if header else ""
    return (head + "".join(f"{p!r},{y!r},{w!r}\n" for p, y, w in data)).encode()


def as_json(data: list[tuple[float, float, float]]) -> bytes:
    return json.dumps({"predictions": [r[0] for r in data], "targets": [r[1] for r in data],
                       "weights": [r[2] for r in data]}).encode()


def as_jsonl(data: list[tuple[float, float, float]]) -> bytes:
    return "".join(json.dumps({"p": p, "y": y}) + "\n" for p, y, _ in data).encode()


@fuzz
@given(st.binary(max_size=3000), OPTIONS)
def test_random_bytes_on_stdin(data: bytes, options: list[str]) -> None:
    args = ["-", *options]
    check(invoke(args, data), args)


@fuzz
@given(rows, st.booleans(), edits, OPTIONS)
def test_mutated_csv(data: list[tuple[float, float, float]], header: bool,
                     changes: list[tuple[int, int, bytes]], options: list[str]) -> None:
    args = ["-", *options]
    check(invoke(args, mutate(as_csv(data, header), changes)), args)


@fuzz
@given(rows, st.sampled_from(["json", "jsonl"]), edits, OPTIONS)
def test_mutated_json(data: list[tuple[float, float, float]], kind: str,
                      changes: list[tuple[int, int, bytes]], options: list[str]) -> None:
    text = as_json(data) if kind == "json" else as_jsonl(data)
    args = ["-", *options, *(["--pred-col", "p", "--target-col", "y"] if kind == "jsonl" else [])]
    check(invoke(args, mutate(text, changes)), args)


@fuzz
@given(rows, st.sampled_from(["csv", "json"]), edits, st.integers(0, 200), OPTIONS)
def test_mutated_gzip_files(folder: Path, data: list[tuple[float, float, float]], kind: str,
                            changes: list[tuple[int, int, bytes]], cut: int,
                            options: list[str]) -> None:
    packed = gzip.compress(as_csv(data, True) if kind == "csv" else as_json(data), mtime=0)
    packed = mutate(packed, changes)
    path = folder / f"data.{kind}.gz"
    path.write_bytes(packed[: len(packed) - cut] if cut < len(packed) else packed)
    args = [str(path), *options]
    check(invoke(args), args)


# -- valid inputs: the CLI agrees with the core -------------------------------------------


probabilities = st.floats(0, 1)
valid = st.integers(1, 25).flatmap(lambda n: st.tuples(
    st.lists(probabilities, min_size=n, max_size=n),
    st.lists(st.sampled_from([0.0, 1.0]) | probabilities, min_size=n, max_size=n),
    st.lists(st.floats(0, 4), min_size=n, max_size=n)))


@fuzz
@given(valid, st.booleans(), st.sampled_from(["mean", "sum", "weighted-mean"]),
       st.sampled_from(["repr", "%.6f", "%.3e"]), st.sampled_from([None, 0.5, 3.0]),
       st.sampled_from(["float64", "float32"]), st.booleans())
def test_valid_inputs_match_the_core(folder: Path, data: tuple[list[float], ...], logits: bool,
                                     reduction: str, fmt: str, pos_weight: float | None,
                                     dtype: str, weighted: bool) -> None:
    cell = repr if fmt == "repr" else (lambda v: fmt % v)
    text = "".join(f"{cell(p)},{cell(y)},{cell(w)}\n" for p, y, w in zip(*data, strict=True))
    path = folder / "valid.csv"
    path.write_text("p,y,w\n" + text)
    values = np.array([[float(c) for c in line.split(",")] for line in text.splitlines()])
    args = [str(path), "--pred-col", "p", "--target-col", "y", "-r", reduction, "--json",
            "--dtype", dtype, *(["--weight-col", "w"] if weighted else []),
            *(["--logits"] if logits else []),
            *(["--pos-weight", repr(pos_weight)] if pos_weight else [])]
    result = invoke(args)
    check(result, args)
    expected: Any = None
    try:
        expected = core.loss(values[:, 0], values[:, 1], weight=values[:, 2] if weighted else None,
                             pos_weight=[pos_weight] if pos_weight else None,
                             reduction=reduction, logits=logits,
                             label_smoothing=0.0, eps=None, dtype=dtype)
    except InputError:
        assert result.exit_code == 2  # e.g. weights that sum to zero
        return
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)["loss"]
    assert got == pytest.approx(expected, rel=1e-14, abs=0) or got == expected
