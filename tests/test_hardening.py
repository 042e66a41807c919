"""Limits, the no-silent-loss policy, and safety: each ends in an answer or a clear error."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from bcecli.readers import base
from tests.helpers import ROOT, Files, Run, loss_of


def error_of(bce: Run, *args: str, input: bytes | str | None = None) -> str:
    result = bce("compute", *args, input=input)
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    return result.stderr


# -- limits -----------------------------------------------------------------------------


def test_deeply_nested_json(bce: Run, files: Files) -> None:
    files(d__json="[" * 200_000 + "]" * 200_000)
    assert error_of(bce, "d.json") == "bce: error: d.json: JSON nested too deeply\n"
    assert error_of(bce, "-", input="[" * 200_000) == \
        "bce: error: <stdin>: JSON nested too deeply\n"


def test_a_100_mb_line_without_newline(bce: Run, files: Files,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    files(d__csv="0.5," * (base.MAX_LINE // 4 + 1), y__csv="1\n")
    assert error_of(bce, "d.csv", "y.csv") == (
        "bce: error: d.csv:1: a line longer than 16 MiB: this is not line-based text (or not "
        "split into lines)\n")
    monkeypatch.setattr(base, "MAX_LINE", 1000)  # the same check later in a file
    files(e__csv="0.5\n" * 10 + "7" * 5000, z__csv="1\n" * 10)
    assert error_of(bce, "e.csv", "z.csv") == (
        "bce: error: e.csv:11: a line longer than 0 MiB: this is not line-based text (or not "
        "split into lines)\n")


def test_a_million_columns(bce: Run, files: Files) -> None:
    files(d__csv=",".join(["0.5"] * 1_000_000) + "\n", j__json=json.dumps([[0.5] * 200_000]))
    assert error_of(bce, "d.csv", "d.csv") == (
        "bce: error: d.csv:1: has more than 100000 columns; bce reads at most that many (are "
        "rows and columns swapped?)\n")
    assert error_of(bce, "j.json", "j.json").startswith("bce: error: j.json: has more than")


def test_wide_but_allowed(bce: Run, files: Files) -> None:
    row = ",".join(["0.5"] * 5000) + "\n"
    files(p__csv=row * 3, y__csv=row.replace("0.5", "1") * 3)
    out = json.loads(bce("compute", "p.csv", "y.csv", "--json").stdout)
    assert out["shape"] == [3, 5000] and out["loss"] == pytest.approx(0.6931471805599453)


@pytest.mark.parametrize(("text", "logits", "expected"), [
    ("1e999999", True, 0.0),
    ("-1e999999", True, float("inf")),
    ("1e-999999", False, 100.0),
])
def test_huge_exponents(bce: Run, files: Files, text: str, logits: bool,
                        expected: float) -> None:
    files(p__csv=text + "\n", y__csv="1\n", j__json=f"[{text}]")
    args = ["--logits"] if logits else []
    assert loss_of(bce("compute", "p.csv", "y.csv", "--json", *args)) == expected
    assert loss_of(bce("compute", "j.json", "y.csv", "--json", *args)) == expected


def test_huge_exponent_probability_is_out_of_range(bce: Run, files: Files) -> None:
    files(p__csv="1e999999\n", y__csv="1\n")
    assert error_of(bce, "p.csv", "y.csv") == (
        "bce: error: p.csv:1: prediction inf is outside [0, 1]\n"
        "hint: if these are logits (raw scores), pass --logits\n")


def test_unreadable_file(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    files(p__csv="0.5\n")

    def denied(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("builtins.open", denied)
    assert error_of(bce, "p.csv", "p.csv") == "bce: error: p.csv: cannot read: Permission denied\n"


def test_a_big_flat_json_array_is_read_without_python_floats(bce: Run, files: Files) -> None:
    n = 200_000
    files(p__json=json.dumps([0.25] * n), y__json=json.dumps([1] * n))
    out = json.loads(bce("compute", "p.json", "y.json", "--json").stdout)
    assert out["count"] == n and out["loss"] == pytest.approx(1.3862943611198906)


# -- nothing lost -----------------------------------------------------------------------


def test_comment_lines_and_trailing_blank_lines_hold_no_data(bce: Run, files: Files) -> None:
    files(p__csv="# model v3\n0.8\n0.3\n  # end\n0.6\n\n   \n# bye\n\n", y__csv="1\n0\n1\n")
    out = json.loads(bce("compute", "p.csv", "y.csv", "--json").stdout)
    assert out["count"] == 3 and out["loss"] == 0.36354803967297755


def test_a_blank_line_inside_data_is_a_missing_row_never_a_shift(bce: Run, files: Files) -> None:
    """polars writes a null in a one-column file as a blank line: the rows after it
    still pair with their own targets."""
    files(p__csv="0.8\n\n0.3\n0.6\n", y__csv="1\n1\n0\n1\n")
    assert error_of(bce, "p.csv", "y.csv") == "bce: error: p.csv:2: a missing value\n" \
        "hint: pass --skip-missing to leave out every row with a missing value, in all the " \
        "inputs alike\n"
    out = json.loads(bce("compute", "p.csv", "y.csv", "--skip-missing", "--json").stdout)
    assert (out["count"], out["skipped"], out["loss"]) == (3, 1, 0.36354803967297755)


def test_trailing_delimiters_are_an_empty_column(bce: Run, files: Files) -> None:
    files(d__csv="p,y,\n0.8,1,\n0.3,0,\n0.6,1\n")
    out = json.loads(bce("compute", "d.csv", "--json").stdout)
    assert out["count"] == 3 and out["loss"] == 0.36354803967297755
    files(e__csv="p,y\n0.8,1,\n")
    assert error_of(bce, "e.csv") == \
        "bce: error: e.csv:2: has 3 fields, expected 2 like the first row\n"


def test_empty_cells_are_errors_not_zeros(bce: Run, files: Files) -> None:
    files(d__csv="p,y\n0.8,1\n,0\n")
    assert error_of(bce, "d.csv") == "bce: error: d.csv:3: a missing value in column 'p'\n" \
        "hint: pass --skip-missing to leave out every row with a missing value, in all the " \
        "inputs alike\n"


def test_none_writes_one_loss_per_element_in_order(bce: Run, files: Files) -> None:
    n = 3000
    files(p__csv="".join(f"{(i % 99 + 1) / 100}\n" for i in range(n)),
          y__csv="".join(f"{i % 2}\n" for i in range(n)))
    lines = bce("compute", "p.csv", "y.csv", "-r", "none", "-f", "plain").stdout.splitlines()
    assert len(lines) == n
    single = bce("compute", "p.csv", "y.csv", "-r", "none", "--json")
    assert json.loads(single.stdout)["loss"] == [float(v) for v in lines]


def test_a_late_bad_value_leaves_stdout_empty_unless_streaming(
        bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    from bcecli import render

    monkeypatch.setattr(base, "BLOCK_BYTES", 64)
    files(p__csv="0.5\n" * 100 + "1.5\n", y__csv="1\n" * 101)
    held = bce("compute", "p.csv", "y.csv", "-r", "none", "-f", "plain")
    assert (held.exit_code, held.stdout) == (2, "")
    monkeypatch.setattr(render, "STREAM_AFTER", 100)
    streamed = bce("compute", "p.csv", "y.csv", "-r", "none", "-f", "csv")
    assert streamed.exit_code == 2
    assert streamed.stdout.startswith("loss\n0.6931471805599453\n")
    assert streamed.stderr.startswith("bce: error: p.csv:101: prediction 1.5 is outside")


# -- safety -----------------------------------------------------------------------------


FORBIDDEN_CALLS = {"eval", "exec", "compile", "__import__"}
FORBIDDEN_MODULES = {"pickle", "socket", "urllib", "http", "tempfile", "shelve", "marshal",
                     "subprocess", "requests"}


# A JSON document from a stream past 4 MiB is kept in an anonymous temporary file
# (docs/errors.md#safety): readers/spool.py alone may import tempfile.
TEMPORARY_FILES = {"spool.py"}


def test_no_pickle_eval_network_or_temporary_files() -> None:
    """bce never loads a pickle or evaluates text from its inputs, and never reaches the
    network by itself: a URL is read through the `cloud` extra's fsspec and a Dask cluster
    through `distributed` (the `dask` extra), both imported only when a URL or
    `--scheduler` is given (test_cloud15, test_dask15); `--workers`' processes exchange
    bce's own pieces and texts, never the input's bytes as pickles."""
    for path in sorted((ROOT / "bcecli").rglob("*.py")):  # the readers package too
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                    [node.module or ""]
                allowed = {"tempfile"} if path.name in TEMPORARY_FILES else set()
                assert not {n.split(".")[0] for n in names} & FORBIDDEN_MODULES - allowed, path
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in FORBIDDEN_CALLS, (path, node.func.id)
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                assert isinstance(node.value, ast.Constant) and node.value.value is False


def test_inputs_are_used_as_given(bce: Run, files: Files, tmp_path: Path) -> None:
    files(**{"~p__csv": "0.5\n", "y__csv": "1\n"})
    assert bce("compute", "~p.csv", "y.csv", "-f", "plain").exit_code == 0  # no ~ expansion
    assert error_of(bce, "$HOME/p.csv", "y.csv") == "bce: error: $HOME/p.csv: no such file\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["y.csv", "~p.csv"]  # nothing left
