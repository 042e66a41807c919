"""Fuzzing the real CLI: whatever arrives, a correct result or one clear line, never a trace.

Every example runs `bce compute` (or `bce merge`) in-process through the same
entry point users run (`BceGroup.main`) with random bytes, mutated CSV / JSON /
JSON Lines / gzip inputs, mutated first rows, mutated partial files, special files
(devices, named pipes, odd paths) and random option combinations. The invariants:

- the exit code is 0, 1 or 2, and no exception or traceback escapes;
- stderr holds only bce's own `bce: ...` and `hint: ...` lines (no Python warning);
- exit 2 prints nothing on stdout and one `bce: error: ...` line (plus a `hint:`),
  and never an internal error;
- exit 0 prints on stderr only `bce: warning: ...` and `bce: note: ...` lines
  (nothing at all from Python or numpy); exit 1 those and at least one gate's
  failure, `bce: loss ... is ...`;
- exit 0 gives a finite loss, or with `--logits` the documented limit (inf);
  on valid generated inputs it equals the core's loss on the same values;
- a CSV whose first row was mutated gives a refusal or the loss an independent,
  naive reader written here (csv module, float, numpy) finds when it reads the
  file as the SPEC's rules say a person would;
- a merge of mutated partial files succeeds exactly when every part still holds
  its values and is given once, and then equals the merge of the unmutated parts;
- with stdout or stderr closed, full or a broken pipe (after some characters), a
  run gives what the same run with working streams gave, except that a stdout
  it cannot write is one `cannot write output` error (exit 2) and a broken pipe
  ends the output quietly, with the same exit code.

CI runs a bounded number of examples with a fixed seed. The long mode:

    BCE_FUZZ_EXAMPLES=20000 python -m pytest tests/test_fuzz.py

runs that many examples in each of the nine fuzz tests, prints how many ended
in a result and how many in a refusal, and holds every case to the standing
memory rule: each case's peak stays under 150 MiB. A case's peak is taken as
the resident memory of this process before the first case (pytest, hypothesis,
numpy and bcecli loaded: more than a real `bce` starts with) plus what
the case's window added on top of the memory resident when it began (Linux's
VmHWM, reset after every case, minus VmRSS then). The window holds the harness's
work too (generating, the reference readers), so this bounds the case from above;
the harness's own slow growth over thousands of examples (hypothesis' records)
is not charged to the cases.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import gzip
import io
import itertools
import json
import math
import os
import re
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
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
TALLY: Counter[tuple[str, str]] = Counter()  # (test, outcome) -> runs, shown in the long mode
LONG = "BCE_FUZZ_EXAMPLES" in os.environ
MEMORY_LIMIT_MIB = 150  # the standing rule, checked for every case in the long mode
PEAKS: dict[str, float] = {}  # test -> the highest peak of one case, shown in the long mode


def memory_mib(field: str) -> float:
    """A line of /proc/self/status: VmRSS (resident now) or VmHWM (its peak since reset)."""
    found = re.search(rf"{field}:\s+(\d+) kB", Path("/proc/self/status").read_text())
    assert found is not None, field
    return int(found[1]) / 1024


class Window:
    """The memory a case adds: the peak since the last reset above what was resident then."""

    def __init__(self) -> None:
        self.start = self.resident = memory_mib("VmRSS")

    def added(self) -> float:
        added = memory_mib("VmHWM") - self.resident
        Path("/proc/self/clear_refs").write_text("5")  # VmHWM back to VmRSS
        self.resident = memory_mib("VmRSS")
        return added


WINDOW = Window() if LONG else None


@pytest.fixture(scope="module", autouse=True)
def tally(request: pytest.FixtureRequest) -> Iterator[None]:
    """In the long mode, say per test how many runs gave a result and how many a refusal."""
    yield
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if LONG and reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            for test in sorted({test for test, _ in TALLY}):
                counts = {outcome: n for (name, outcome), n in sorted(TALLY.items())
                          if name == test}
                runs = sum(n for outcome, n in counts.items() if not outcome.startswith("("))
                reporter.write_line(f"{test}: {runs} runs, {counts}, highest peak of a case "
                                    f"{PEAKS.get(test, 0):.1f} MiB")


def count(outcome: str) -> None:
    """Tally one run of the current test; in the long mode, hold it to the memory rule."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "?").split("::")[-1].split(" ")[0]
    TALLY[test, outcome] += 1
    if WINDOW is not None:
        peak = WINDOW.start + WINDOW.added()
        PEAKS[test] = max(PEAKS.get(test, 0.0), peak)
        assert peak < MEMORY_LIMIT_MIB, (test, outcome, peak)

OPTIONS = st.lists(st.sampled_from([
    ["--logits"], ["-r", "sum"], ["-r", "none"], ["-r", "rows"], ["-r", "weighted-mean"],
    ["-r", "median"],
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
    ["--tolerance", "0.1"], ["--partial"], ["--pred-col", "0-1"], ["--target-col", "t*"],
]), max_size=4).map(lambda groups: [arg for group in groups for arg in group])


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as name:
        yield Path(name)


def invoke(args: list[str], stdin: bytes | None = None) -> Result:
    return RUNNER.invoke(app, ["compute", *args], input=stdin)


NOTE = re.compile(r"bce: (warning|note): \S")  # the documented lines beside a result
GATE = re.compile(r"bce: loss \S+ is ")  # a CI gate that did not hold (exit 1)


def check(result: Result, args: list[str]) -> None:
    """The invariants every run must keep."""
    count({0: "result", 1: "gate failed", 2: "refused"}.get(result.exit_code, "other"))
    assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.exception)
    assert result.exception is None or isinstance(result.exception, SystemExit), \
        (args, repr(result.exception))
    assert "Traceback" not in result.stdout + result.stderr
    # Only bce's own lines on stderr: never a Python warning (RuntimeWarning, ...).
    assert all(line.startswith(("bce: ", "hint: ")) for line in result.stderr.splitlines()), \
        result.stderr
    if result.exit_code in (0, 1):
        lines = result.stderr.splitlines()
        assert all(NOTE.match(line) or (result.exit_code == 1 and GATE.match(line))
                   for line in lines), (args, result.stderr)
        assert result.exit_code == 0 or any(GATE.match(line) for line in lines), result.stderr
    if result.exit_code == 2:
        lines = result.stderr.splitlines()
        assert result.stdout == "", args
        assert 1 <= len(lines) <= 2 and lines[0].startswith("bce: error: "), result.stderr
        assert "internal error" not in lines[0], (args, result.stderr)
        assert len(lines) == 1 or lines[1].startswith("hint: "), result.stderr
    if result.exit_code == 0 and result.stdout.startswith("{") and "--partial" not in args:
        out = json.loads(result.stdout)
        # merge: the parts say whether they were logits
        logits = "--logits" in args or (args[0] == "merge" and out["from_logits"] is True)
        for value in np.ravel(out["loss"]):
            assert value >= 0 and not math.isnan(value), args
            assert math.isfinite(value) or logits, args


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
# Valid before the mutations (probabilities, or scores for --logits), so that a mutation,
# not the data, decides whether bce reads it.
rows = st.sampled_from([st.floats(0, 1), numbers]).flatmap(lambda predictions: st.lists(
    st.tuples(predictions, st.sampled_from([0.0, 1.0]) | st.floats(0, 1), st.floats(0, 3)),
    min_size=1, max_size=30))


def as_csv(data: list[tuple[float, float, float]], header: bool) -> bytes:
    """With a header, three named columns (the weights unused unless --weight-col);
    without, the two columns read as (prediction, target)."""
    if header:
        return ("prediction,target,weight\n" + "".join(f"{p!r},{y!r},{w!r}\n"
                                                      for p, y, w in data)).encode()
    return "".join(f"{p!r},{y!r}\n" for p, y, _ in data).encode()


def as_json(data: list[tuple[float, float, float]]) -> bytes:
    return json.dumps({"predictions": [r[0] for r in data], "targets": [r[1] for r in data],
                       "weights": [r[2] for r in data]}).encode()


def as_jsonl(data: list[tuple[float, float, float]]) -> bytes:
    return "".join(json.dumps({"p": p, "y": y}) + "\n" for p, y, _ in data).encode()


def as_jsonl_lists(data: list[tuple[float, float, float]]) -> bytes:
    """Two rows of `data` a line, as list fields (multi-label), and one weight."""
    pairs = zip(data[0::2], data[1::2], strict=False)
    return "".join(json.dumps({"probs": [a[0], b[0]], "targets": [a[1], b[1]], "w": a[2]})
                   + "\n" for a, b in pairs).encode()


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
@given(rows, st.sampled_from(["json", "jsonl", "jsonl-lists"]), edits, OPTIONS)
def test_mutated_json(data: list[tuple[float, float, float]], kind: str,
                      changes: list[tuple[int, int, bytes]], options: list[str]) -> None:
    text = {"json": as_json, "jsonl": as_jsonl, "jsonl-lists": as_jsonl_lists}[kind](data)
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


# -- "first row" mutations of CSV, against an independent reader --------------------------
#
# The reference below knows nothing of bcecli: it reads a CSV file the way the SPEC
# says a person would (header rule, comments, blank lines, missing values, column
# names), with the csv module and float(), and computes PyTorch's BCE with numpy.
# Where the SPEC leaves a reading open (a blank line right after a header, a row of
# `0` over whole numbers in two files), it returns every reading the SPEC allows, and
# bce must give one of their numbers or refuse. Where no reading gives a number, bce
# must refuse.

PREDICTION_NAMES = {"prediction", "predictions", "pred", "preds", "y_pred", "y_prob", "y_proba",
                    "y_score", "prob", "probs", "proba", "probability", "probabilities", "score",
                    "scores", "logit", "logits", "output", "outputs"}
TARGET_NAMES = {"target", "targets", "label", "labels", "y", "y_true", "truth", "actual",
                "class"}
MISSING_MARKS = {"", "nan", "na", "n/a", "null", "none"}
INTEGER = re.compile(r"[+-]?\d+")


class Refused(Exception):
    """No number is right for this reading."""


def cell_kind(cell: str) -> str:
    """'missing', 'number', 'text' (a name), or 'bad' (not text a person wrote)."""
    text = cell.strip()
    if not text.isprintable():
        return "bad"
    if text.lower() in MISSING_MARKS:
        return "missing"
    if "_" not in text:
        try:
            float(text)
            return "number"
        except ValueError:
            pass
    return "text"


@dataclass(frozen=True)
class Reading:
    """One way to read one file: its header (if any) and rows (None: a blank line)."""

    header: str | None  # "names", "positions", or None
    maybe: bool  # positions over whole numbers: a header only if another input has one
    names: tuple[str, ...] | None
    rows: tuple[tuple[str, ...] | None, ...]


def split_cells(line: str) -> tuple[str, ...]:
    return tuple(next(csv.reader([line])))


def header_choices(first: tuple[str, ...], after: tuple[str, ...] | None
                   ) -> list[tuple[str | None, bool]]:
    """The SPEC's header rule for a first row: (header kind, maybe) readings."""
    stripped = [cell.strip() for cell in first]
    positions = [str(i) for i in range(len(first))]
    if len(first) > 1 and stripped == ["", *positions[:-1]]:
        return [("positions", False)]  # pandas' positions after its index cell
    if stripped == positions:
        if after is None or all(INTEGER.fullmatch(cell.strip()) for cell in after):
            return [("positions", True), (None, True)]  # over whole numbers: settled by others
        values = [float(c) for c in after if cell_kind(c) == "number"]
        if any(math.isfinite(v) and v != int(v) for v in values):
            return [("positions", False)]  # over a number that is not whole
        return [("positions", False), (None, False)]  # whole values written 1.0: either
    named = stripped[1:] if len(stripped) > 1 and not stripped[0] else stripped
    kinds = [cell_kind(cell) for cell in named]
    if all(kind == "text" for kind in kinds):
        return [("names", False)]
    if all(kind in ("text", "missing") for kind in kinds) and all(named):
        return [("names", False), (None, False)]  # `NA` alone: a name, or a missing value
    return [(None, False)]


def file_readings(text: str, header: bool | None) -> list[Reading]:
    """Every reading of one CSV file the SPEC allows."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    entries: list[tuple[str, ...] | None] = []
    for line in lines:
        if line.strip().startswith("#"):
            continue  # a comment, never a row
        entries.append(split_cells(line) if line.strip() else None)
    while entries and entries[-1] is None:
        entries.pop()  # blank lines at the end are not rows
    lead = next((k for k, entry in enumerate(entries) if entry is not None), len(entries))
    content = entries[lead:]
    if not content:
        return []
    first = content[0]
    assert first is not None
    after = next((entry for entry in content[1:] if entry is not None), None)
    choices = [("names", False)] if header else [(None, False)] if header is False \
        else header_choices(first, after)
    readings = []
    for kind, maybe in choices:
        if kind is None:  # blank lines before the first row: not rows, or missing rows
            for rows in {tuple(content), tuple(entries)}:
                readings.append(Reading(None, maybe, None, rows))
        else:  # blank lines between the header and the data: either too
            body = content[1:]
            start = next((k for k, entry in enumerate(body) if entry is not None), len(body))
            for rows in {tuple(body[start:]), tuple(body)}:
                readings.append(Reading(kind, maybe, tuple(c.strip() for c in first), rows))
    return readings


def consistent(readings: tuple[Reading, ...]) -> bool:
    """A row of positions over whole numbers is a header iff another input has one."""
    return all(mine.header == ("positions" if any(other.header == "positions" for other in
                                                    readings if other is not mine) else None)
               for mine in readings if mine.maybe)


def data_columns(reading: Reading, width: int) -> list[int]:
    """The columns that hold data: pandas' index (an empty or `Unnamed: 0` name) is not."""
    names = reading.names
    if names and len(names) > 1 and names[0] in ("", "Unnamed: 0"):
        return list(range(1, width))
    return list(range(width))


def widths(reading: Reading) -> int:
    """Every row as wide as the header (or the first row); else refused."""
    width = len(reading.names) if reading.names is not None else \
        len(next(row for row in reading.rows if row is not None))
    if any(row is not None and len(row) != width for row in reading.rows):
        raise Refused("ragged")
    if not reading.rows:
        raise Refused("a header but no rows")
    return width


def roles(reading: Reading) -> tuple[int, int]:
    """(prediction column, target column) of a one-file table."""
    columns = data_columns(reading, widths(reading))
    names = [reading.names[i].lower() if reading.names else "" for i in columns]
    preds = [c for c, name in zip(columns, names, strict=True) if name in PREDICTION_NAMES]
    targets = [c for c, name in zip(columns, names, strict=True) if name in TARGET_NAMES]
    if len(preds) > 1 or len(targets) > 1:
        raise Refused("two columns of one role")
    if preds and targets:
        return preds[0], targets[0]
    rest = [c for c in columns if c not in preds + targets]
    if (preds or targets) and len(rest) == 1:
        return (preds[0], rest[0]) if preds else (rest[0], targets[0])
    if not preds and not targets and len(columns) == 2:
        return columns[0], columns[1]
    raise Refused("roles")


def column(reading: Reading, at: int) -> list[float | None]:
    """One column's values; None where missing (a blank line, an empty cell, NA...)."""
    values: list[float | None] = []
    for row in reading.rows:
        kind = "missing" if row is None else cell_kind(row[at])
        if kind in ("text", "bad"):
            raise Refused("not a number")
        values.append(float(row[at]) if row is not None and kind == "number" else None)
    return values


def bce_of(predictions: list[float | None], targets: list[float | None],
           skip_missing: bool) -> tuple[float, int]:
    """PyTorch's mean BCE (logs clamped at -100) of the rows, and their count."""
    if len(predictions) != len(targets):
        raise Refused("lengths differ")
    pairs = [(p, y) for p, y in zip(predictions, targets, strict=True)
             if p is not None and y is not None]
    if (len(pairs) < len(predictions) and not skip_missing) or not pairs:
        raise Refused("missing values")
    p, y = np.array(pairs).T
    if not (np.all((p >= 0) & (p <= 1)) and np.all((y >= 0) & (y <= 1))):
        raise Refused("outside [0, 1]")
    with np.errstate(divide="ignore"):  # log(1 - p) as ATen computes it: log1p(-p)
        losses = -(y * np.maximum(np.log(p), -100.0) + (1 - y) * np.maximum(np.log1p(-p), -100.0))
    return math.fsum(losses.tolist()) / len(pairs), len(pairs)


def reference(texts: list[str], header: bool | None, skip_missing: bool
              ) -> list[tuple[float, int]]:
    """Every (loss, count) a reading allowed by the SPEC gives; empty: refuse."""
    results = []
    for readings in itertools.product(*(file_readings(text, header) for text in texts)):
        if not consistent(readings):
            continue
        try:
            if len(readings) == 1:
                (reading,) = readings
                at_p, at_y = roles(reading)
                results.append(bce_of(column(reading, at_p), column(reading, at_y),
                                      skip_missing))
            else:
                cols = [data_columns(reading, widths(reading)) for reading in readings]
                if any(len(c) != 1 for c in cols):
                    raise Refused("one column each")
                results.append(bce_of(column(readings[0], cols[0][0]),
                                      column(readings[1], cols[1][0]), skip_missing))
        except Refused:
            pass
    return results


FIRST_LINES = {
    2: ["0,1", ",0,1", "0", "p,y", "y,p", "a,b", "prediction,target", "label,score", "a,0.8",
        "0.8,a", "x,1", ",1", "0.9,", "NA,1", "0.9,NA", "nan,nan", "NA,NA", "p,NA", "0.9\0,1",
        "\0", "0.9,\0", "# comment", "#2,0.100,1", "   # x", "", "   ", "0.5,1", "1,0", "0,0",
        "1e999,1", "0.5", '"0.5","1"', "0.5,1,2"],
    1: ["0", "0,1", ",0", "p", "prediction", "target", "y", "x", "a,0.8", "NA", "nan", "None",
        "null", "\0", "0.9\0", "# comment", "#0.5", "", " ", "0.5", "1", "0", ",1", '"0.5"'],
}
CELL_FORMATS: dict[str, Callable[[float], str]] = {
    "repr": repr, "g": lambda v: f"{v:g}", "3f": lambda v: f"{v:.3f}",
    "quoted": lambda v: f'"{v!r}"'}
ONE_FILE_HEADERS = [None, "p,y", "prediction,target", "a,b", "y_true,y_pred", "pandas index"]
COLUMN_HEADERS = [None, "0", "name"]


@st.composite
def first_row_cases(draw: st.DrawFn) -> tuple[dict[str, str], list[str], str, bool]:
    """(files, options, what was done, whether the SPEC leaves no doubt) for one example."""
    n = draw(st.integers(1, 6))
    ps = draw(st.lists(st.sampled_from([0.0, 1.0, 0.5, 0.8, 0.3, 1e-3]) | st.floats(0, 1),
                       min_size=n, max_size=n))
    ys = draw(st.lists(st.sampled_from([0.0, 1.0, 0.25]), min_size=n, max_size=n))
    cell = CELL_FORMATS[draw(st.sampled_from(sorted(CELL_FORMATS)))]
    two = draw(st.booleans())
    if two:
        texts = []
        for values, name in ((ps, "prediction"), (ys, "target")):
            head = draw(st.sampled_from(COLUMN_HEADERS))
            top = "" if head is None else f"{name if head == 'name' else head}\n"
            texts.append(top + "".join(f"{cell(v)}\n" for v in values))
        names = ["p.csv", "y.csv"]
    else:
        head = draw(st.sampled_from(ONE_FILE_HEADERS))
        index = head == "pandas index"
        order = draw(st.permutations(range(n))) if index else []
        body = "".join((f"{order[k]}," if index else "") + f"{cell(p)},{cell(y)}\n"
                       for k, (p, y) in enumerate(zip(ps, ys, strict=True)))
        texts = [(",0,1\n" if index else f"{head}\n" if head else "") + body]
        names = ["d.csv"]
    which = draw(st.integers(0, len(texts) - 1))
    op = draw(st.sampled_from(["insert", "replace", "none"]))
    line = draw(st.sampled_from(FIRST_LINES[1 if two else 2]))
    lines = texts[which].split("\n")
    if op == "insert":
        lines.insert(0, line)
    elif op == "replace":
        lines[0] = line
    texts[which] = "\n".join(lines)
    options = draw(st.sampled_from([[], ["--skip-missing"], ["--header"], ["--no-header"]]))
    neutral = op == "none" or (op == "insert" and line.lstrip().startswith("#"))
    return dict(zip(names, texts, strict=True)), options, f"{op} {line!r}", neutral


@fuzz
@given(first_row_cases())
def test_first_row_mutations_match_an_independent_reader(
        folder: Path, case: tuple[dict[str, str], list[str], str, bool]) -> None:
    files, options, done, neutral = case
    for name, text in files.items():
        (folder / name).write_text(text)
    args = [str(folder / name) for name in files] + [*options, "--json", "--no-progress"]
    result = invoke(args)
    check(result, args)
    expected = reference(list(files.values()), {"--header": True, "--no-header": False}.get(
        options[0]) if options and options[0] != "--skip-missing" else None,
        "--skip-missing" in options)
    context = (files, options, done, expected, result.stderr)
    if not expected:
        count("(no reading gives a number)")
        assert result.exit_code == 2, context  # no reading gives a number: a wrong one
        return
    if neutral and len(expected) == 1:
        assert result.exit_code == 0, context  # the SPEC leaves no doubt: a number is due
    count("(several readings)" if len(expected) > 1 else "(one reading)")
    if result.exit_code == 0:
        out = json.loads(result.stdout)
        assert any(out["count"] == n and out["loss"] == pytest.approx(loss, rel=1e-12, abs=0)
                   for loss, n in expected), context
    else:
        count("(refused where a reading gives a number)")


# -- merge of mutated partial files --------------------------------------------------------


@dataclass(frozen=True)
class Shard:
    """A real partial file, its values, and the group of parts it may be merged with."""

    group: int
    text: str
    values: dict[str, Any]  # the header's
    rest: str  # the lines after the header: the sections (per-class totals, for two columns)


@pytest.fixture(scope="module")
def shards(folder: Path) -> list[Shard]:
    """Parts made by `bce compute --partial` in four groups of differently computed shards."""
    rng = np.random.default_rng(9)
    groups = [["-r", "mean"], ["-r", "weighted-mean", "--pos-weight", "2"],
              ["--logits", "-r", "sum", "--dtype", "float32", "--class-weights", "1,0.5"],
              ["--logits"]]
    made = []
    for group, options in enumerate(groups):
        for k in range(3 if group == 0 else 2):
            rows = int(rng.integers(1, 6))
            columns = 2 if group == 2 else 1
            p = rng.normal(0, 3, (rows, columns)) if "--logits" in options \
                else rng.uniform(0, 1, (rows, columns))
            y = (rng.uniform(0, 1, (rows, columns)) < 0.5).astype(int)
            if group == 3 and k == 0:
                p[0, 0], y[0, 0] = -math.inf, 1  # an infinite loss: the part's sum is Infinity
            w = rng.uniform(0, 3, rows)
            (folder / "sp.csv").write_text("".join(",".join(map(repr, r)) + "\n"
                                                   for r in p.tolist()))
            (folder / "sy.csv").write_text("".join(",".join(map(str, r)) + "\n" for r in y))
            (folder / "sw.csv").write_text("".join(f"{v!r}\n" for v in w.tolist()))
            weights = ["--weights", str(folder / "sw.csv")] if group == 1 else []
            result = invoke([str(folder / "sp.csv"), str(folder / "sy.csv"), *weights, *options,
                             "--partial"])
            assert result.exit_code == 0, result.stderr
            header, _, rest = result.stdout.partition("\n")
            made.append(Shard(group, result.stdout, json.loads(header), rest))
    return made


MERGED: dict[tuple[int, ...], dict[str, Any]] = {}


def merged(folder: Path, shards: list[Shard], chosen: tuple[int, ...]) -> dict[str, Any]:
    """The merge of the unmutated parts (written afresh), without the file names."""
    if chosen not in MERGED:
        paths = []
        for k in chosen:
            path = folder / f"original{k}.json"
            path.write_text(shards[k].text)
            paths.append(str(path))
        result = RUNNER.invoke(app, ["merge", *paths, "--json"])
        assert result.exit_code == 0, result.stderr
        MERGED[chosen] = {key: value for key, value in json.loads(result.stdout).items()
                          if key != "parts"}
    return MERGED[chosen]


def same(original: Any, mutated: Any) -> bool:
    """Whether a value reads back as the same value: 0 for 0.0 is; 3.0 for 3, or -0.0 for
    0.0, is not (an integer field takes no float; the checksum is over the values)."""
    if isinstance(original, bool) or isinstance(mutated, bool):
        return type(original) is type(mutated) and original == mutated
    if isinstance(original, float):
        try:
            value = float(mutated) if isinstance(mutated, int | float) else None
        except OverflowError:
            return False
        return value is not None and repr(value) == repr(original)
    if isinstance(original, list):
        return isinstance(mutated, list) and len(original) == len(mutated) and \
            all(same(a, b) for a, b in zip(original, mutated, strict=True))
    if isinstance(original, dict):
        return isinstance(mutated, dict) and set(original) == set(mutated) and \
            all(same(original[key], mutated[key]) for key in original)
    return type(original) is type(mutated) and original == mutated


def unchanged(original: dict[str, Any], rest: str, text: str) -> bool:
    """Whether a mutated file still holds exactly the original part's values: its header
    (the whole text, for a part without sections) and each section line."""
    if rest:
        text, _, tail = text.partition("\n")
        lines = tail.rstrip(" \t\n\r\x0b\x0c").split("\n")  # what bytes.strip strips
        if len(lines) != len(rest.splitlines()) or not all(
                canonical(line) == canonical(before)
                for line, before in zip(lines, rest.splitlines(), strict=True)):
            return False
    value = unique(text)
    return isinstance(value, dict) and set(value) == set(original) and \
        all(same(original[key], value[key]) for key in value)


def unique(text: str) -> Any:
    """JSON text as bce reads it: None if it is not JSON, or repeats a key in an object."""
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        if len(dict(items)) < len(items):
            raise ValueError("a repeated key")
        return dict(items)

    try:
        return json.loads(text, object_pairs_hook=pairs)
    except ValueError:
        return None


def canonical(line: str) -> str | None:
    """A section line's values as bce compares them (None: not a JSON object)."""
    value = unique(line)
    return json.dumps(value, sort_keys=True, separators=(",", ":")) \
        if isinstance(value, dict) else None


ODD_VALUES: list[Any] = [
    None, True, False, 0, 1, -1, 2, 3, 0.5, 1.5, -0.0, 0.0, 2**63, 10**400, math.nan, math.inf,
    -math.inf, 1e308, -1e308, "1", "x", "", "mean", "float32", [], [1.0], [-1.0], [math.nan],
    [math.inf], [1e308, 1e308], [-1e308, -1e308], {}, "0" * 32, "f" * 64]
mutations = st.lists(st.tuples(
    st.sampled_from(["delete", "set", "tweak", "swap ids", "copy id", "reformat", "text"]),
    st.integers(0, 5), st.integers(0, 5), st.integers(0, 100), edits), max_size=3)


def tweak(value: Any, seed: int) -> Any:
    """A plausible, valid-looking change: what an edit by hand or a bad copy makes."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1 + seed % 3
    if isinstance(value, float):
        return value * (1 + 2.0**-40) if value else 0.1
    if isinstance(value, list):
        return [tweak(value[0], seed), *value[1:]] if value else [1.0]
    if isinstance(value, str) and value in ("mean", "sum", "weighted-mean"):
        return "sum" if value != "sum" else "mean"
    if isinstance(value, str) and value in ("float32", "float64"):
        return "float32" if value == "float64" else "float64"
    if isinstance(value, str):
        return value[::-1]
    return 0.1 if value is None else value


@fuzz
@given(st.integers(0, 3), st.permutations(range(3)), st.integers(1, 3),
       st.sampled_from([None, None, None, "same path", "copy"]), st.integers(0, 3),
       st.sampled_from([False, False, False, True]), mutations)
def test_merge_of_mutated_parts(folder: Path, shards: list[Shard], group: int,
                                order: list[int], size: int, repeat: str | None, which: int,
                                foreign: bool,
                                changes: list[tuple[str, int, int, int, list[tuple[int, int,
                                                                                  bytes]]]]
                                ) -> None:
    members = [k for k, shard in enumerate(shards) if shard.group == group]
    chosen = [members[k] for k in order if k < len(members)][:size]
    if repeat:  # a part given twice: its path again, or a copy under another name
        chosen.append(chosen[which % len(chosen)])
    if foreign:  # a part computed with other settings
        chosen.append((members[-1] + 1) % len(shards))
    values = [dict(shards[k].values) for k in chosen]
    texts: list[str | None] = [None] * len(chosen)  # None: json.dumps(values[i])
    raw: list[bytes | None] = [None] * len(chosen)
    for kind, at, other, seed, byte_edits in changes:
        i, j = at % len(chosen), other % len(chosen)
        key = sorted(values[i])[seed % len(values[i])]
        if kind == "delete":
            del values[i][key]
        elif kind == "set":
            values[i][key] = ODD_VALUES[seed % len(ODD_VALUES)]
        elif kind == "tweak":
            values[i][key] = tweak(values[i][key], seed)
        elif kind == "swap ids" and "id" in values[i] and "id" in values[j]:
            values[i]["id"], values[j]["id"] = values[j]["id"], values[i]["id"]
        elif kind == "copy id" and "id" in values[j]:
            values[i]["id"] = values[j]["id"]
        elif kind == "reformat":  # the same values, written otherwise
            items = list(reversed(values[i].items())) if seed % 2 else list(values[i].items())
            texts[i] = json.dumps({k: int(v) if isinstance(v, float) and v.is_integer() and
                                   abs(v) < 2**53 else v for k, v in items},
                                  indent=None if shards[chosen[i]].rest else seed % 3 or None)
        elif kind == "text":
            raw[i] = mutate(written(texts[i] or json.dumps(values[i]), shards[chosen[i]]),
                            byte_edits)
    paths: list[str] = []
    for i, k in enumerate(chosen):
        first = chosen.index(k)
        if first < i and repeat == "same path":
            paths.append(paths[first])  # the same file named twice
            continue
        path = folder / f"part{i}.json"
        text = texts[i] if texts[i] is not None and values[i] == shards[k].values else None
        path.write_bytes(raw[i] or written(text or json.dumps(values[i]), shards[k]))
        paths.append(str(path))
    args = ["merge", *paths, "--json"]
    result = RUNNER.invoke(app, args)
    check(result, args)

    def holds(i: int, path: str) -> bool:
        return unchanged(shards[chosen[i]].values, shards[chosen[i]].rest,
                         Path(path).read_bytes().decode("utf-8", errors="replace"))

    ok = len(set(chosen)) == len(chosen) and not foreign and \
        all(holds(i, path) for i, path in enumerate(paths))
    count("(parts unchanged)" if ok else "(a part changed, repeated or foreign)")
    assert result.exit_code == (0 if ok else 2), (chosen, foreign, changes, result.stderr)
    if ok:
        out = {key: value for key, value in json.loads(result.stdout).items() if key != "parts"}
        assert out == merged(folder, shards, tuple(chosen)), (chosen, changes)


def written(header: str, shard: Shard) -> bytes:
    """A part's file: its header, and its sections after it as bce wrote them."""
    return (header + ("\n" + shard.rest if shard.rest else "")).encode()


# -- special files: pipes, devices, odd paths ----------------------------------------------

SPECIAL = ["/dev/zero", "/dev/null", "/dev/urandom", "pipe", "pipe of zeros", "folder", "",
           "new\nline.csv", "missing.csv", "short.npy"]
CONTENTS = {"csv": lambda data: as_csv(data, False), "json": as_json, "jsonl": as_jsonl}


def feed(fifo: Path, data: bytes) -> threading.Thread:
    """A named pipe that a thread writes `data` into (a pipe bce never opens is released
    by `release`)."""
    os.mkfifo(fifo)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError), open(fifo, "wb") as stream:
            stream.write(data)

    writer = threading.Thread(target=write, daemon=True)
    writer.start()
    return writer


def release(fifo: Path, writer: threading.Thread) -> None:
    """Let a writer whose pipe bce did not read end: open the pipe, and close it unread."""
    if writer.is_alive():
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
    writer.join(10)
    assert not writer.is_alive()


@fuzz
@given(st.sampled_from(SPECIAL), st.sampled_from(["PREDICTIONS", "TARGETS", "--weights",
                                                 "--baseline", "merge"]),
       rows, st.sampled_from(sorted(CONTENTS)), edits, OPTIONS)
def test_special_files(folder: Path, special: str, place: str,
                       data: list[tuple[float, float, float]], kind: str,
                       changes: list[tuple[int, int, bytes]], options: list[str]) -> None:
    """Devices, named pipes (ended), folders and odd names in every place a path goes: an
    answer or one clear line, never a hang or a read without end (the limits are shrunk
    here, so that /dev/zero is refused after a MiB, not 16 or 64)."""
    from bcecli.readers import base, jsondoc

    path = str(folder / special.replace(" ", "-")) if special in ("pipe", "pipe of zeros",
                                                                  "new\nline.csv", "short.npy") \
        else str(folder) if special == "folder" else special
    content = b"\0" * 3_000_000 if special == "pipe of zeros" else \
        mutate(CONTENTS[kind](data), changes)
    writer = feed(Path(path), content) if special.startswith("pipe") else None
    if special == "new\nline.csv":
        Path(path).write_bytes(content)
    if special == "short.npy":  # its header says 9 values, it holds 2
        array = io.BytesIO()
        np.save(array, np.zeros(9))
        Path(path).write_bytes(array.getvalue()[:-56])
    other = folder / "other.csv"
    other.write_bytes(as_csv(data, False))
    targets = folder / "targets.csv"
    targets.write_text("".join(f"{y!r}\n" for _, y, _ in data))
    args = {"PREDICTIONS": ["compute", path, str(targets)],
            "TARGETS": ["compute", str(other), path],
            "--weights": ["compute", str(other), "--weights", path],
            "--baseline": ["compute", str(other), "--baseline", path],
            "merge": ["merge", path]}[place] + options
    limits = (base.MAX_LINE, jsondoc.MAX_DOCUMENT)
    base.MAX_LINE = jsondoc.MAX_DOCUMENT = 1 << 20
    try:
        result = RUNNER.invoke(app, args)
    finally:
        base.MAX_LINE, jsondoc.MAX_DOCUMENT = limits
        if writer is not None:
            release(Path(path), writer)
            os.unlink(path)
        if special == "new\nline.csv":
            os.unlink(path)
    check(result, args)


# -- closed, full and broken output streams ----------------------------------------------


class Faulty(io.StringIO):
    """A stream that takes `room` characters, then fails with `error` (an errno) on the
    write that would pass it, after writing what fits, as a full disk does."""

    def __init__(self, room: int, error: int | None) -> None:
        super().__init__()
        self.room = room
        self.error = error

    def write(self, text: str) -> int:
        if self.error is not None and self.tell() + len(text) > self.room:
            super().write(text[:self.room - self.tell()])
            raise OSError(self.error, os.strerror(self.error))  # EPIPE: a BrokenPipeError
        return super().write(text)


FAULTS = {"closed": errno.EBADF,  # closed before Python started: no stream at all
          "full": errno.ENOSPC, "broken pipe": errno.EPIPE, "bad": errno.EBADF}
faults = st.sampled_from([None, *FAULTS])


def faulty(fault: str | None, room: int) -> Faulty | None:
    """The stream a fault names; None for one closed before Python started."""
    return None if fault == "closed" else Faulty(room, FAULTS[fault] if fault else None)


def run_with(args: list[str], out: tuple[str | None, int], err: tuple[str | None, int]
             ) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of bce run in-process on streams with these faults (and
    room before them)."""
    streams = faulty(*out), faulty(*err)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = streams
    try:
        app(args)
        raise AssertionError("bce returned without an exit code")
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    finally:
        sys.stdout, sys.stderr = saved
    written, shown = (stream.getvalue() if stream else "" for stream in streams)
    return code, written, shown


def cut(whole: str, shown: str, fault: str | None) -> bool:
    """Whether `shown` is `whole` as a stderr with `fault` shows it: all of it, or the part
    written before the fault (nothing when it was closed)."""
    if fault is None:
        return shown == whole
    return whole.startswith(shown) and (fault != "closed" or shown == "")


@fuzz
@given(rows, st.booleans(), OPTIONS, faults, st.integers(0, 400), faults, st.integers(0, 200))
def test_closed_and_full_streams(folder: Path, data: list[tuple[float, float, float]],
                                 header: bool, options: list[str], out_fault: str | None,
                                 out_room: int, err_fault: str | None, err_room: int) -> None:
    path = folder / "streams.csv"
    path.write_bytes(as_csv(data, header))
    # --partial is left out: its part id is new on every run (tests/test_streams.py has it)
    args = ["compute", str(path), *(option for option in options if option != "--partial")]
    reference = RUNNER.invoke(app, args)
    check(reference, args)
    code0, out0, err0 = reference.exit_code, reference.stdout, reference.stderr
    code, out, err = run_with(args, (out_fault, out_room), (None, 0))
    context = (args, out_fault, out_room, code0, out0, err0, code, out, err)
    room = 0 if out_fault == "closed" else out_room
    if out_fault is None or len(out0) <= room:  # stdout took everything
        assert (code, out, err) == (code0, out0, err0), context
    elif out_fault == "broken pipe":  # the reader went away: quiet, and the same exit code
        assert (code, out, err) == (code0, out0[:room], err0), context
        count("(broken pipe)")
    else:  # the warnings and notes printed before the output, then one error
        failure = f"bce: error: cannot write output: {os.strerror(FAULTS[out_fault])}\n"
        assert code0 in (0, 1) and (code, out) == (2, out0[:room]), context
        assert err.endswith(failure) and err0.startswith(err.removesuffix(failure)), context
        count("(cannot write output)")
    if err_fault is not None:  # stderr takes what it can; nothing else changes
        faulted = run_with(args, (out_fault, out_room), (err_fault, err_room))
        assert faulted[:2] == (code, out) and cut(err, faulted[2], err_fault), (context, faulted)
        count("(stderr faulted)")


# -- found by the long mode, and fixed -----------------------------------------------------


def test_an_unclosed_quote_is_a_clear_error() -> None:
    result = invoke(["-"], b'0.5,"1\n0.3,0\n')
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "bce: error: <stdin>:1: not valid CSV: a quoted field runs past " \
        "the end of the line\n"


def test_an_error_is_alone_on_stderr_after_a_warning(folder: Path) -> None:
    for name, text in (("xp.csv", "0.8\n0.3\n"), ("xy.csv", "1\n0\n"), ("xw.csv", "0\n0\n")):
        (folder / name).write_text(text)
    result = invoke([str(folder / "xp.csv"), str(folder / "xy.csv"), "--logits", "--weights",
                     str(folder / "xw.csv"), "-r", "weighted-mean"])
    assert (result.exit_code, result.stdout, result.stderr) == \
        (2, "", "bce: error: weights sum to zero: weighted-mean is undefined\n")
