"""bce on files written by the real exporters (pandas, polars, NumPy, scikit-learn, torch).

The files and their expected outcomes are made by scripts/make_exports.py from a
scikit-learn model's predictions on its bundled data sets: it writes each file with
the exporter's own call and computes the loss with PyTorch before writing. This test
reads only the committed tests/data/exports/ and imports none of those libraries.
Parquet cases need the arrow extra and are skipped without it; with it, the text
cases run once more through the arrow CSV reader (its size threshold lowered), which
must give the same outcome, line numbers included.
"""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path
from typing import Any

import pytest

from bcecli.readers import arrow
from tests.helpers import ROOT, Run

EXPORTS = ROOT / "tests" / "data" / "exports"
EXPECTED: dict[str, Any] = json.loads((EXPORTS / "expected.json").read_text())
CASES: list[dict[str, Any]] = EXPECTED["cases"]
AVAILABLE = {"pyarrow": importlib.util.find_spec("pyarrow") is not None}
TEXT_CASES = [case for case in CASES
              if all(Path(file).suffix in (".csv", ".txt") for file in case["files"])]


def test_the_expected_file_and_the_folder_agree() -> None:
    """Every file a case names exists, every file is some case's, and names are unique."""
    named = {file for case in CASES for file in case["files"]}
    present = {path.name for path in EXPORTS.iterdir()} - {"expected.json", "README.md"}
    assert named - present == set(), "named in expected.json but not in the folder"
    assert present - named == set(), "in the folder but in no case"
    assert len({case["name"] for case in CASES}) == len(CASES)
    assert EXPECTED["versions"]["torch"].startswith("2.13")


def test_the_corpus_is_small() -> None:
    assert sum(path.stat().st_size for path in EXPORTS.iterdir()) < 300 * 1024


def check(case: dict[str, Any], bce: Run, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the case's command from the exports folder; the outcome must be exactly the
    expected one."""
    for requirement in case["requires"]:
        if not AVAILABLE[requirement]:
            pytest.skip(f"needs {requirement} (the arrow extra)")
    monkeypatch.chdir(EXPORTS)
    result = bce("compute", *case["files"], *case["options"], "--json")
    expect: dict[str, Any] = case["expect"]
    if "exit" in expect:
        assert result.exit_code == expect["exit"], result.stdout
        assert result.stdout == ""
        first = result.stderr.splitlines()[0] if result.stderr else ""
        assert first.startswith(f"bce: error: {expect['where']}: "), result.stderr
        if "message" in expect:
            assert first == f"bce: error: {expect['message']}", result.stderr
        return
    assert result.exit_code == 0, result.stderr
    out: dict[str, Any] = json.loads(result.stdout)
    assert math.isclose(out["loss"], expect["loss"], rel_tol=1e-12, abs_tol=0), \
        (out["loss"], expect["loss"])
    assert out["count"] == expect["count"]
    assert out.get("columns") == expect["columns"]
    assert out.get("skipped") == expect["skipped"]


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_bce_reads_the_export(case: dict[str, Any], bce: Run,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    check(case, bce, monkeypatch)


@pytest.mark.skipif(not AVAILABLE["pyarrow"], reason="the arrow extra is not installed")
@pytest.mark.parametrize("case", TEXT_CASES, ids=[case["name"] for case in TEXT_CASES])
def test_bce_reads_the_export_through_arrow(case: dict[str, Any], bce: Run,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The same outcome where the arrow extra reads the text (as it does from 8 MiB on)."""
    monkeypatch.setattr(arrow, "MIN_BYTES", 0)
    check(case, bce, monkeypatch)


def test_cases_cover_every_exporter() -> None:
    """The corpus keeps a case for each writer the project promises to read."""
    writers = " ".join(case["writer"] for case in CASES)
    for call in ("to_csv(index=False)", "to_csv()", "Series.to_csv", "lines=True",
                 "to_parquet", "write_parquet", "write_csv", "np.savetxt", "np.save:",
                 "train_test_split", "na_rep='NA'", "Series.to_json()", "decimal=','",
                 "np.savez(", "np.savez_compressed(", "x.csv.gz", "x.csv.bz2", "x.csv.xz",
                 "x.csv.zip", "encoding='utf-16'", "encoding='utf-8-sig'", "torch.save",
                 "Categorical", "json.dumps", "pl.List(pl.Float64)", "numpy-array cells"):
        assert call in writers, call
    for option in ("--skip-missing", "--weight-col", "--pos-label", "--decimal"):
        assert any(option in case["options"] for case in CASES), option


def test_the_readme_names_the_script_and_the_versions() -> None:
    readme = (EXPORTS / "README.md").read_text()
    assert "scripts/make_exports.py" in readme and "load_breast_cancer" in readme
    for library, version in EXPECTED["versions"].items():
        assert f"| {library} | {version} |" in readme


def test_exports_are_read_from_their_own_folder() -> None:
    """Paths in expected.json are plain names, relative to the exports folder."""
    for case in CASES:
        for file in case["files"]:
            assert Path(file).name == file, file
