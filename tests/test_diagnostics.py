"""--top, per-class losses, --metrics (against scikit-learn) and --hist."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import ROOT, Files, Run

GOLDEN = json.loads((ROOT / "tests" / "golden" / "framework_cases.json").read_text())["metrics"]


@pytest.mark.parametrize("case", GOLDEN, ids=[c["name"] for c in GOLDEN])
def test_metrics_match_scikit_learn(bce: Run, files: Files, case: dict[str, Any]) -> None:
    files(p__csv="".join(f"{v!r}\n" for v in case["input"]),
          y__csv="".join(f"{v!r}\n" for v in case["target"]))
    args = ["--logits"] if case["logits"] else []
    got = json.loads(bce("compute", "p.csv", "y.csv", "--metrics", "--json", *args).stdout)
    for key in ("accuracy", "brier", "roc_auc", "ece"):
        assert got["metrics"][key] == pytest.approx(case[key], rel=1e-12, abs=1e-15), key


def test_top_names_the_lines_of_the_worst_samples(bce: Run, files: Files) -> None:
    files(p__csv="p\n0.9\n0.1\n# a comment\n0.5\n0.99\n", y__csv="1\n1\n1\n0\n")
    out = json.loads(bce("compute", "p.csv", "y.csv", "--top", "2", "--json").stdout)
    assert [(t["where"], t["prediction"], t["target"]) for t in out["top"]] == \
        [("p.csv:6", 0.99, 0.0), ("p.csv:3", 0.1, 1.0)]
    assert out["top"][0]["loss"] == pytest.approx(-np.log(0.01))


def test_top_across_blocks(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    from bcecli.readers import base

    monkeypatch.setattr(base, "BLOCK_BYTES", 16)
    values = [0.5] * 40
    values[3], values[37] = 0.01, 0.02
    files(p__csv="".join(f"{v}\n" for v in values), y__csv="1\n" * 40)
    out = json.loads(bce("compute", "p.csv", "y.csv", "--top", "3", "--json").stdout)
    assert [t["where"] for t in out["top"]] == ["p.csv:4", "p.csv:38", "p.csv:1"]


def test_per_class_losses_for_multi_label(bce: Run, files: Files) -> None:
    files(p__csv="a,b\n0.9,0.2\n0.6,0.8\n", y__csv="a,b\n1,0\n0,1\n")
    out = json.loads(bce("compute", "p.csv", "y.csv", "--json").stdout)
    assert [c["class"] for c in out["per_class"]] == ["a", "b"]
    assert out["per_class"][0]["loss"] == pytest.approx((-np.log(0.9) - np.log(0.4)) / 2)
    assert [c["positives"] for c in out["per_class"]] == [1, 1]
    one = json.loads(bce("compute", "p.csv", "y.csv", "--pred-col", "a", "--target-col", "a",
                         "--json").stdout)
    assert "per_class" not in one


def test_histogram_counts_every_sample(bce: Run, files: Files,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    files(p__csv="0.99\n0.5\n0.5\n0.001\n", y__csv="1\n1\n1\n1\n")
    out = json.loads(bce("compute", "p.csv", "y.csv", "--hist", "--json").stdout)
    assert sum(out["histogram"]["counts"]) == 4
    shown = bce("compute", "p.csv", "y.csv", "--hist", "-f", "table").stdout
    assert "Per-sample losses" in shown and "[0.5, 0.7)" in shown and "█" in shown


def test_metrics_with_one_class_only(bce: Run, files: Files) -> None:
    files(p__csv="0.9\n0.8\n", y__csv="1\n1\n")
    out = json.loads(bce("compute", "p.csv", "y.csv", "--metrics", "--json").stdout)
    assert out["metrics"]["roc_auc"] is None and out["metrics"]["accuracy"] == 1.0


@pytest.mark.parametrize(("args", "message"), [
    (["--top", "-1"], "--top must be between 0 and 20000, not -1"),
    (["--top", "20001"], "--top must be between 0 and 20000, not 20001\nhint: it keeps K "
     "samples in memory; for all of them, sort the per-element losses: -r none -f csv"),
    (["--metrics", "--threshold", "2"], "--threshold must be in [0, 1], not 2.0"),
    (["--partial", "--top", "3", "--json"], "--partial prints JSON for bce merge: use it "
     "without -r none or rows, --format and the CI gates (give those to bce merge)"),
])
def test_diagnostic_option_errors(bce: Run, files: Files, args: list[str], message: str) -> None:
    files(p__csv="0.9\n", y__csv="1\n")
    result = bce("compute", "p.csv", "y.csv", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"bce: error: {message}\n")


@pytest.mark.parametrize(("args", "note"), [
    (["--top", "2", "-f", "plain"],
     "bce: note: -f plain prints the loss only: see -f json or -f table for --top\n"),
    (["--metrics", "--hist", "-f", "csv"], "bce: note: -f csv prints the loss only: see -f json "
     "or -f table for --metrics and --hist\n"),
    (["--top", "1", "-r", "none", "-f", "csv"],
     "bce: note: -f csv prints the losses only: see -f json or -f table for --top\n"),
    (["-f", "plain", "--pred-col", "a,b", "--target-col", "a,b"], "bce: note: -f plain prints "
     "the loss only: see -f json or -f table for the per-class losses\n"),
    (["--top", "1", "--hist", "--metrics", "-r", "rows", "-f", "plain", "--pred-col", "a,b",
      "--target-col", "a,b"], "bce: note: -f plain prints the losses only: see -f json or "
     "-f table for --top, --metrics, --hist and the per-class losses\n"),
])
def test_plain_and_csv_name_what_they_leave_out(bce: Run, files: Files, args: list[str],
                                                note: str) -> None:
    files(p__csv="a,b\n0.9,0.2\n0.6,0.8\n", y__csv="a,b\n1,0\n0,1\n")
    columns = [] if "--pred-col" in args else ["--pred-col", "a", "--target-col", "a"]
    result = bce("compute", "p.csv", "y.csv", *columns, *args)
    assert (result.exit_code, result.stderr) == (0, note)
    without = [arg for arg in args if arg not in ("--top", "1", "2", "--metrics", "--hist")]
    assert result.stdout == bce("compute", "p.csv", "y.csv", *columns, *without).stdout


def test_json_and_table_print_every_request_without_a_note(bce: Run, files: Files,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    files(p__csv="a,b\n0.9,0.2\n0.6,0.8\n", y__csv="a,b\n1,0\n0,1\n")
    for fmt in ("json", "table"):
        result = bce("compute", "p.csv", "y.csv", "--top", "1", "--hist", "--metrics", "-f", fmt)
        assert (result.exit_code, result.stderr) == (0, "")


def test_a_narrow_table_keeps_the_line_of_each_top_sample(bce: Run, files: Files,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "50")
    files(y__csv="1\n1\n1\n0\n")  # and work in the scratch folder
    path = Path("a_rather_long_folder_name/and_another_long_one/predictions_from_the_model.csv")
    path.parent.mkdir(parents=True)
    path.write_text("p\n0.9\n0.1\n# a comment\n0.5\n0.99\n")
    shown = bce("compute", str(path), "y.csv", "--top", "3", "-f", "table").stdout
    top = shown[shown.index("Highest losses"):].splitlines()[4:7]
    cells = [line.split("│")[1].strip() for line in top]
    assert [cell.rsplit(":", 1)[1] for cell in cells] == ["6", "3", "5"]
    for cell in cells:
        assert cell.startswith("…") and str(path).endswith(cell[1:].rsplit(":", 1)[0]), cell
    worst = json.loads(bce("compute", str(path), "y.csv", "--top", "1", "--json").stdout)["top"]
    assert top[0].split("│")[4].strip() == repr(worst[0]["loss"])  # never cut either


def test_the_table_shows_the_first_of_many_top_rows(bce: Run, files: Files) -> None:
    """JSON has every one of K samples; the table the first TOP_SHOWN and how many more."""
    p = [round(0.01 + 0.98 * i / 60, 6) for i in range(60)]
    files(p__csv="".join(f"{v}\n" for v in p), y__csv="1\n" * 60)
    out = json.loads(bce("compute", "p.csv", "y.csv", "--top", "50", "--json").stdout)
    assert len(out["top"]) == 50
    table = bce("compute", "p.csv", "y.csv", "--top", "50", "-f", "table").stdout
    shown = [item for item in out["top"] if f"p.csv:{item['where'].split(':')[1]} " in table]
    assert shown == out["top"][:20]
    assert "… 30 more (use -f json for all)" in table
