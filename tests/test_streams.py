"""Issue 11, the output side: user text in tables, closed and full streams, closed pipes,
streamed per-element JSON, `--top` and `--threshold`.

A closed or full stream is a property of a real process, so those tests run the
installed `bce` under bash (`>&-`, `2>&-`, `> /dev/full`) or with the reading end
of its stdout closed before it writes; the rest run in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bcecli import commands, render
from bcecli.diagnostics import Diagnostics
from bcecli.pipeline import Batch
from bcecli.readers import base
from tests.helpers import BCE, TRUE, Files, Run

P, Y = "0.8\n0.3\n0.6\n", "1\n0\n1\n"
BAD_DESCRIPTOR = "bce: error: cannot write output: Bad file descriptor\n"
FULL = "bce: error: cannot write output: No space left on device\n"


def table_rows(text: str) -> list[str]:
    """The cells of a Rich table's rows, as `left │ right` without the borders."""
    return [" │ ".join(cell.strip() for cell in line.strip("│ ").split("│"))
            for line in text.splitlines() if line.startswith("│")]


# -- user text in tables: shown as written, never read as Rich markup -----------------------


@pytest.mark.parametrize("path", ["y[red]z.csv", "d[/x].csv", "a:smile:b.csv", "[bold].csv"])
def test_a_path_is_shown_as_written(bce: Run, files: Files, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, path: str) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # `files`: the run is in tmp_path
    (tmp_path / path).parent.mkdir(exist_ok=True)  # d[/x].csv is x].csv in the folder d[
    (tmp_path / path).write_text("0.5,1\n0.2,0\n")
    result = bce("compute", path, "--top", "1", "-f", "table")
    assert (result.exit_code, result.stderr) == (0, "")
    rows = table_rows(result.stdout)
    assert f"Predictions │ {path}" in rows and f"{path}:1 │ 0.5 │ 1.0 │ 0.6931471805599453" in rows


def test_column_names_labels_and_ids_are_shown_as_written(bce: Run, files: Files,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    files(p__csv="[i],[p]\na,0.8\nb,0.3\n", y__csv="[i],[/t],[u]\nb,:x:,1\na,[b]yes,2\n",
          mp__csv="[red]a,[/b]\n0.9,0.2\n0.6,0.7\n", my__csv="[red]a,[/b]\n1,0\n0,1\n")
    joined = bce("compute", "p.csv", "y.csv", "--id-col", "[i]", "--pred-col", "[p]",
                 "--target-col", "[/t]", "--pos-label", "[b]yes", "-f", "table")
    assert (joined.exit_code, joined.stderr) == (0, "")
    assert table_rows(joined.stdout)[8:] == [
        "Columns │ predictions ← '[p]', targets ← '[/t]'", "Not used │ y.csv: '[u]'",
        "Labels │ '[b]yes' → 1, ':x:' → 0", "Joined │ 2 rows by '[i]'", "Pos label │ [b]yes"]
    classes = bce("compute", "mp.csv", "my.csv", "-f", "table")
    assert (classes.exit_code, classes.stderr) == (0, "")
    assert table_rows(classes.stdout)[-2:] == ["[red]a │ 0.5108256237659906 │ 2 │ 1",
                                               "[/b] │ 0.2899092476264711 │ 2 │ 1"]


class Broken:
    """A Rich renderable that fails while it is drawn."""

    def __rich_console__(self, console: Any, options: Any) -> Any:
        raise RuntimeError("cannot draw")


def test_a_table_is_written_whole_or_not_at_all(bce: Run, files: Files,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(render, "diagnostic_tables", lambda extra: [Broken()])
    files(p__csv=P, y__csv=Y)
    result = bce("compute", "p.csv", "y.csv", "-f", "table")
    assert (result.exit_code, result.stdout) == (2, "")  # not the first table, then an error
    assert result.stderr.startswith("bce: error: internal error: RuntimeError: cannot draw\n")


# -- closed and full streams, in real processes ----------------------------------------------


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runs' folder: two inputs and a partial result for `bce merge`."""
    path = tmp_path_factory.mktemp("streams")
    (path / "p.csv").write_text(P)
    (path / "y.csv").write_text(Y)
    part = subprocess.run([BCE, "compute", "p.csv", "y.csv", "--partial"], cwd=path,
                          capture_output=True, check=True, timeout=60)
    (path / "part.json").write_bytes(part.stdout)
    return path


def shell(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`command` in bash, with `$BCE` the installed entry point."""
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env={**os.environ, "BCE": str(BCE)})


WRITERS = ["compute p.csv y.csv", "compute p.csv y.csv -f table", "compute p.csv y.csv -f plain",
           "compute p.csv y.csv -r none -f csv", "compute p.csv y.csv -r none --json",
           "compute p.csv y.csv --partial", "compare p.csv y.csv", "compare p.csv y.csv -f table",
           "merge part.json", "--version", "--help", "compute --help"]


@pytest.mark.parametrize("args", WRITERS)
def test_a_closed_stdout_is_an_error(folder: Path, args: str) -> None:
    done = shell(f'"$BCE" {args} >&-', folder)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", BAD_DESCRIPTOR)


def test_a_stdout_open_for_reading_is_an_error(folder: Path) -> None:
    done = shell('"$BCE" compute p.csv y.csv 1< p.csv', folder)
    assert (done.returncode, done.stderr) == (2, BAD_DESCRIPTOR)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
@pytest.mark.parametrize("args", WRITERS)
def test_a_full_disk_is_an_error(folder: Path, args: str) -> None:
    done = shell(f'"$BCE" {args} > /dev/full', folder)
    assert (done.returncode, done.stdout, done.stderr) == (2, "", FULL)


@pytest.mark.parametrize(("args", "code"), [
    ("compute p.csv y.csv --logits", 0),  # a warning
    ("compute p.csv y.csv --top 1 -f plain", 0),  # a note
    ("compute p.csv y.csv --max-loss 0.1 -f plain", 1),  # a gate's failure
    ("compute p.csv missing.csv", 2),  # an error
    ("--version", 0),
])
@pytest.mark.parametrize("redirect", ["2>&-", "2> /dev/full"])
def test_a_closed_or_full_stderr_changes_nothing_else(folder: Path, args: str, code: int,
                                                      redirect: str) -> None:
    if redirect.endswith("/dev/full") and not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    open_ = shell(f'"$BCE" {args}', folder)
    assert open_.returncode == code and (open_.stderr != "") == (args != "--version")
    closed = shell(f'"$BCE" {args} {redirect}', folder)
    assert (closed.returncode, closed.stdout, closed.stderr) == (code, open_.stdout, "")


def read_nothing(args: list[str], cwd: Path) -> tuple[int, str]:
    """Exit code and stderr of bce whose stdout's reader went away before it wrote a byte."""
    with subprocess.Popen([BCE, *args], cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()
        return process.wait(timeout=60), process.stderr.read()


@pytest.mark.parametrize("args", [*WRITERS, "compute p.csv y.csv --top 1 -f table"])
def test_a_closed_pipe_ends_quietly(folder: Path, args: str) -> None:
    assert read_nothing(args.split(), folder) == (0, "")


def test_a_closed_pipe_keeps_the_gates_exit_code(folder: Path) -> None:
    for fmt in ("table", "json", "plain"):
        assert read_nothing(["compute", "p.csv", "y.csv", "--max-loss", "0.1", "-f", fmt],
                            folder) == (1, f"bce: loss {TRUE!r} is above --max-loss 0.1\n")


# -- per-element losses in JSON: streamed, in flat memory --------------------------------------


@pytest.mark.parametrize(("p", "y", "reduction"), [
    ("0.25\n0.5\n0.75\n" * 40, "1\n0\n1\n" * 40, "none"),
    ("0.9,0.2\n0.6,0.7\n" * 30, "1,0\n0,1\n" * 30, "none"),
    ("0.9,0.2\n0.6,0.7\n" * 30, "1,0\n0,1\n" * 30, "rows"),
])
def test_streamed_json_is_the_same_object(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch,
                                          p: str, y: str, reduction: str) -> None:
    files(p__csv=p, y__csv=y)
    whole = bce("compute", "p.csv", "y.csv", "-r", reduction, "--json")
    monkeypatch.setattr(base, "BLOCK_BYTES", 64)
    monkeypatch.setattr(render, "STREAM_AFTER", 100)
    streamed = bce("compute", "p.csv", "y.csv", "-r", reduction, "--json")
    assert (streamed.exit_code, streamed.stdout) == (0, whole.stdout)
    assert len(json.loads(streamed.stdout)["loss"]) == len(p.splitlines())


def test_streamed_json_cut_short_by_a_late_bad_value(bce: Run, files: Files,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "BLOCK_BYTES", 64)
    files(p__csv="0.5\n" * 100 + "1.5\n", y__csv="1\n" * 101)
    held = bce("compute", "p.csv", "y.csv", "-r", "none", "--json")
    assert (held.exit_code, held.stdout) == (2, "")  # under STREAM_AFTER: nothing was written
    monkeypatch.setattr(render, "STREAM_AFTER", 100)
    streamed = bce("compute", "p.csv", "y.csv", "-r", "none", "--json")
    assert streamed.exit_code == 2
    assert streamed.stdout.startswith('{"loss": [0.6931471805599453, 0.6931471805599453')
    assert streamed.stderr.startswith("bce: error: p.csv:101: prediction 1.5 is outside")


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_per_element_json_streams_in_flat_memory(tmp_path: Path) -> None:
    rows = 1_000_000  # holding every loss as text took about 190 MB here
    (tmp_path / "p.csv").write_text("0.25\n" * rows)
    (tmp_path / "y.csv").write_text("1\n" * rows)
    measure = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, "
               "stdout=subprocess.DEVNULL); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    done = subprocess.run([sys.executable, "-c", measure, BCE, "compute", "p.csv", "y.csv",
                           "-r", "none", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, check=True)
    # KiB: the rule, 150 MiB at any size (pyarrow's formatter, when installed, takes ~50)
    assert int(done.stdout) < 150 * 1024, done.stdout


# -- --top keeps K samples; --threshold needs --metrics ------------------------------------


def test_top_holds_at_most_k_samples(bce: Run, files: Files,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base, "BLOCK_BYTES", 64)
    rng = np.random.default_rng(11)
    p = rng.choice([0.1, 0.3, 0.5, 0.9], 300).tolist()  # many equal losses: earlier lines first
    y = rng.choice([0, 1], 300).tolist()
    files(p__csv="".join(f"{v!r}\n" for v in p), y__csv="".join(f"{v}\n" for v in y))
    losses = json.loads(bce("compute", "p.csv", "y.csv", "-r", "none", "--json").stdout)["loss"]
    ranked = [f"p.csv:{i + 1}" for i in sorted(range(300), key=lambda i: -losses[i])]
    held: list[int] = []
    keep = Diagnostics.keep_worst

    def counted(self: Diagnostics, batch: Batch, per_sample: Any) -> None:
        keep(self, batch, per_sample)
        held.append(len(self.worst))

    monkeypatch.setattr(Diagnostics, "keep_worst", counted)
    for k in (1, 7, 299, 300, 5000):
        held.clear()
        top = json.loads(bce("compute", "p.csv", "y.csv", "--top", str(k), "--json").stdout)
        assert [item["where"] for item in top["top"]] == ranked[:k]
        assert [item["loss"] for item in top["top"]] == sorted(losses, reverse=True)[:k]
        assert len(held) > 10 and max(held) == min(k, 300)


def test_threshold_needs_metrics(bce: Run, files: Files) -> None:
    files(p__csv=P, y__csv=Y)
    result = bce("compute", "p.csv", "y.csv", "--threshold", "0.7")
    assert (result.exit_code, result.stdout, result.stderr) == \
        (2, "", "bce: error: --threshold needs --metrics\n")
    metrics = json.loads(bce("compute", "p.csv", "y.csv", "--metrics", "--threshold", "0",
                             "--json").stdout)["metrics"]
    assert (metrics["threshold"], metrics["accuracy"]) == (0.0, 2 / 3)


# -- warnings ----------------------------------------------------------------------------------


def test_a_runtime_warning_is_an_internal_error(bce: Run, files: Files,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def warns(*args: object) -> dict[str, Any]:
        warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        return {}

    monkeypatch.setattr(commands, "sources", warns)
    files(p__csv=P, y__csv=Y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # not the test suite's filter: the boundary's own
        result = bce("compute", "p.csv", "y.csv")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith("bce: error: internal error: RuntimeWarning: overflow "
                                    "encountered in exp\nhint: this is a bug in bce")
