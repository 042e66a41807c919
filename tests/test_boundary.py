"""The boundary: what bce reads from its environment (terminals, BCE_TRACEBACK), and --help.

(tests/test_docs.py, on main, checks that every option and argument has help.)

Terminals are passed in as an `Environment`, so "a table on a terminal, JSON in a
pipe" and the progress bar are tested in-process, without a pty.
"""

from __future__ import annotations

import json
import re
from typing import Any, ClassVar

import pytest
from typer.testing import CliRunner, Result

from bcecli import commands, job
from bcecli.cli import app
from bcecli.environment import Environment
from bcecli.errors import InputError
from tests.helpers import Files

P, Y = "0.8\n0.3\n0.6\n", "1\n0\n1\n"


def run(*args: str, environment: Environment | None = None,
        env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), obj=environment, env=env)


# -- terminals --------------------------------------------------------------------------


def test_auto_is_a_table_on_a_terminal(files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    files(p__csv=P, y__csv=Y)
    shown = run("compute", "p.csv", "y.csv", environment=Environment(stdout_isatty=True))
    assert shown.exit_code == 0
    assert [line.rstrip() for line in shown.stdout.splitlines()[:3]] == [
        "Binary cross-entropy",
        "┌─────────────┬─────────────────────┐",
        "│ Loss        │ 0.36354803967297755 │",
    ]
    forced = run("compute", "p.csv", "y.csv", "--json", environment=Environment(stdout_isatty=True))
    assert json.loads(forced.stdout)["loss"] == 0.36354803967297755


@pytest.mark.parametrize("command", [["compute", "p.csv", "y.csv"], ["compare", "p.csv", "y.csv"]])
def test_auto_is_json_in_a_pipe(files: Files, command: list[str]) -> None:
    files(p__csv=P, y__csv=Y)
    piped = run(*command, environment=Environment(stdout_isatty=False))
    assert piped.exit_code == 0
    assert piped.stdout == run(*command, "-f", "json").stdout
    assert json.loads(piped.stdout)


def test_compare_and_merge_also_show_a_table_on_a_terminal(files: Files) -> None:
    files(p__csv=P, y__csv=Y)
    terminal = Environment(stdout_isatty=True)
    assert run("compare", "p.csv", "y.csv", environment=terminal).stdout.startswith(
        "Binary cross-entropy of 3 values, 7 ways")
    files(part__json=run("compute", "p.csv", "y.csv", "--partial").stdout)
    merged = run("merge", "part.json", environment=terminal).stdout.splitlines()
    assert merged[0].rstrip() == "Binary cross-entropy" and "│ Parts " in merged[-2]


class Recorder:
    """Stands in for `ByteProgress`: records what it was made with and fed."""

    made: ClassVar[list[Recorder]] = []

    def __init__(self, total: int | None, file: Any) -> None:
        self.total = total
        self.done = 0
        self.closed = False
        Recorder.made.append(self)

    def advance(self, size: int) -> None:
        self.done += size

    def close(self) -> None:
        self.closed = True


@pytest.mark.parametrize(("environment", "extra", "bars"), [
    (Environment(stderr_isatty=True), [], 1),
    (Environment(stderr_isatty=True), ["--no-progress"], 0),
    (Environment(stderr_isatty=False), [], 0),
    (Environment(stdout_isatty=True), [], 0),  # stdout's terminal is not stderr's
])
def test_the_progress_bar_follows_stderr(files: Files, monkeypatch: pytest.MonkeyPatch,
                                         environment: Environment, extra: list[str],
                                         bars: int) -> None:
    monkeypatch.setattr(job, "ByteProgress", Recorder)
    monkeypatch.setattr(Recorder, "made", [])
    files(p__csv=P, y__csv=Y)
    result = run("compute", "p.csv", "y.csv", "-f", "plain", *extra, environment=environment)
    assert (result.exit_code, result.stderr) == (0, "")
    assert len(Recorder.made) == bars
    if bars:
        bar = Recorder.made[0]
        assert (bar.total, bar.closed) == (len(P) + len(Y), True)
        assert bar.done > 0


# -- BCE_TRACEBACK ----------------------------------------------------------------------


def test_bce_traceback_re_raises_instead_of_one_line(files: Files) -> None:
    files(p__csv=P)
    quiet = run("compute", "p.csv", "missing.csv")
    assert (quiet.exit_code, quiet.stderr) == (2, "bce: error: missing.csv: no such file\n")
    for value in ("1", "yes"):
        loud = run("compute", "p.csv", "missing.csv", env={"BCE_TRACEBACK": value})
        assert isinstance(loud.exception, InputError), value
        assert str(loud.exception) == "missing.csv: no such file"
        assert "bce: error" not in loud.stderr
    off = run("compute", "p.csv", "missing.csv", env={"BCE_TRACEBACK": "0"})
    assert (off.exit_code, off.stderr) == (2, "bce: error: missing.csv: no such file\n")


def test_bce_traceback_shows_where_a_bug_happened(files: Files,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> dict[str, Any]:
        raise KeyError("oops")

    monkeypatch.setattr(commands, "sources", broken)
    files(p__csv=P, y__csv=Y)
    quiet = run("compute", "p.csv", "y.csv")
    assert (quiet.exit_code, quiet.stdout) == (2, "")
    assert quiet.stderr == (
        "bce: error: internal error: KeyError: 'oops'\n"
        "hint: this is a bug in bce; please report it with the command that caused it "
        "(BCE_TRACEBACK=1 shows where it happened)\n")
    loud = run("compute", "p.csv", "y.csv", environment=Environment(traceback=True))
    assert isinstance(loud.exception, KeyError) and loud.stdout == ""
    assert loud.exc_info is not None and loud.exc_info[2] is not None


def test_an_internal_error_over_several_lines_is_shown_in_one(
        files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    """A library's exception text can span lines (multiprocessing's RuntimeError did): the
    message is still one line, and its hint another."""
    def broken(*args: object) -> dict[str, Any]:
        raise RuntimeError("\n        An attempt has been made\n        to start a process\n")

    monkeypatch.setattr(commands, "sources", broken)
    files(p__csv=P, y__csv=Y)
    result = run("compute", "p.csv", "y.csv")
    assert (result.exit_code, result.stdout) == (2, "")
    lines = result.stderr.splitlines()
    assert lines[0] == ("bce: error: internal error: RuntimeError: An attempt has been made to "
                        "start a process")
    assert len(lines) == 2 and lines[1].startswith("hint: this is a bug in bce")


def test_the_environment_is_read_from_the_system(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, wanted in (("", False), ("0", False), ("1", True)):
        monkeypatch.setenv("BCE_TRACEBACK", value)
        assert Environment.from_system().traceback is wanted
    monkeypatch.delenv("BCE_TRACEBACK")
    assert Environment.from_system().traceback is False


# -- help -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["compute", "compare", "merge"])
def test_help_says_what_each_option_takes(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    page = run(name, "--help").stdout
    for vague in ("<str>", "<float>", "<int>", "TEXT", "FLOAT", "INTEGER", "{"):
        assert vague not in page, (name, vague)
    usage = {"compute": "PREDICTIONS [TARGETS]", "compare": "PREDICTIONS [TARGETS]",
             "merge": "PART..."}[name]
    assert page.splitlines()[0] == f"Usage: bce {name} [OPTIONS] {usage}"


def test_metavars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    page = run("compute", "--help").stdout
    for shown in ("--weights FILE", "--pred-col COL", "--target-col COL", "--weight-col COL",
                  "--class-weights LIST", "--pos-weight LIST", "--label-smoothing F", "--eps E",
                  "--focal-gamma G", "--focal-alpha A", "--max-loss X", "--min-loss X",
                  "--baseline FILE", "--tolerance FRACTION", "--top K", "--threshold T",
                  "-r, --reduction <mean|sum|none|rows|weighted-mean>", "--dtype <float64|float32>",
                  "--like <torch|keras|sklearn|xgboost|lightgbm|catboost|spark>",
                  "--input-format <csv|tsv|json|jsonl>",
                  "-f, --format <auto|table|json|csv|plain>"):
        assert re.search(rf"^  {re.escape(shown)}(  |$)", page, re.MULTILINE), shown
