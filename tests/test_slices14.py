"""Issue 14: slices (`--by COL[,COL]`). Per-slice counts, losses, NE, calibration and
ROC AUC against pandas groupby, PyTorch and scikit-learn (tests/golden/slices_cases.json,
made by scripts/make_golden_slices.py); ordering, (other), the limits and their
errors; shards merged as one run; `bce diff --by`; flat memory."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bcecli import slices as slices_module
from tests.helpers import BCE, ROOT, Files, Run, output, refused
from tests.test_merge13 import assert_same

CASES: list[dict[str, Any]] = json.loads(
    (ROOT / "tests" / "golden" / "slices_cases.json").read_text())["cases"]
METRICS = ("normalized_entropy", "calibration", "mean_prediction", "mean_label", "roc_auc")
HINT = ("hint: raise --max-slices, slice by a column of fewer values, or put small slices "
        "together with --min-slice-size\n")


def close(got: float | None, expected: float | None, rel: float = 1e-12) -> bool:
    if expected is None or got is None:
        return got is expected
    return math.isclose(got, expected, rel_tol=rel, abs_tol=1e-15)


def case_args(case: dict[str, Any]) -> list[str]:
    weights = ["--weight-col", case["weight"]] if case["weight"] else []
    return ["d.csv", "--pred-col", "p", "--target-col", "y", "--by", ",".join(case["by"]),
            "-r", case["reduction"], *weights]


def torch_loss(p: float, y: float) -> float:
    """PyTorch's BCELoss of one element: each log clamped at −100."""
    return -(y * max(math.log(p), -100.0) + (1 - y) * max(math.log1p(-p), -100.0))


# -- against the reference libraries -----------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_slices_match_pandas_torch_and_sklearn(bce: Run, files: Files,
                                               case: dict[str, Any]) -> None:
    files(d__csv=case["csv"])
    got = output(bce, *case_args(case), "--metrics")
    slices = got["slices"]
    assert len(slices) == len(case["slices"])
    found = {json.dumps(s["by"], sort_keys=True): s for s in slices}
    for expected in case["slices"]:
        mine = found[json.dumps(expected["by"], sort_keys=True)]
        assert mine["rows"] == mine["count"] == expected["rows"]
        assert close(mine["loss"], expected["loss"]), (expected["by"], mine, expected)
        for name in METRICS:
            assert close(mine[name], expected[name]), (name, expected["by"], mine, expected)
        assert "roc_auc_bounds" not in mine  # a few distinct scores: exact
    losses = [s["loss"] for s in slices]
    assert losses == sorted(losses, reverse=True)  # worst first
    # JSON values keep their type: texts, whole numbers, null
    assert {type(v) for s in slices for v in s["by"].values()} <= {str, int, type(None)}


def test_without_metrics_only_counts_and_loss(bce: Run, files: Files) -> None:
    case = CASES[0]
    files(d__csv=case["csv"])
    got = output(bce, *case_args(case))
    assert list(got)[-1] == "slices"  # after the other keys of the run
    assert all(set(s) == {"by", "rows", "count", "loss"} for s in got["slices"])
    whole = sum(s["rows"] for s in got["slices"])
    assert whole == got["count"] == 300


def test_ties_are_ordered_by_value_numbers_then_texts_then_null(bce: Run, files: Files) -> None:
    rows = ["p,y,s"] + [f"0.5,{k % 2},{s}" for k, s in enumerate(
        ["b", "", "10", "a", "2", "b", "", "10", "a", "2"])]
    files(d__csv="\n".join(rows) + "\n")
    got = output(bce, "d.csv", "--by", "s")
    assert [s["by"]["s"] for s in got["slices"]] == [2, 10, "a", "b", None]
    assert len({s["loss"] for s in got["slices"]}) == 1


def test_multi_label_counts_rows_and_elements(bce: Run, files: Files) -> None:
    """Two classes: a slice's count is its elements, its loss their mean (as the run's)."""
    files(d__csv="a,b,ya,yb,g\n0.9,0.2,1,0,x\n0.3,0.6,1,1,y\n0.7,0.1,0,0,x\n")
    got = output(bce, "d.csv", "--pred-col", "a,b", "--target-col", "ya,yb", "--by", "g")
    by = {s["by"]["g"]: s for s in got["slices"]}
    assert (by["x"]["rows"], by["x"]["count"]) == (2, 4)
    expected = math.fsum([torch_loss(0.9, 1), torch_loss(0.2, 0), torch_loss(0.7, 0),
                          torch_loss(0.1, 0)]) / 4
    assert close(by["x"]["loss"], expected)


# -- (other), limits and errors ------------------------------------------------------------


def test_min_slice_size_sums_small_slices_into_other(bce: Run, files: Files) -> None:
    case = CASES[1]  # two columns, weighted-mean
    files(d__csv=case["csv"])
    smallest = sorted(s["rows"] for s in case["slices"])
    limit = smallest[len(smallest) // 2]
    got = output(bce, *case_args(case), "--min-slice-size", str(limit))["slices"]
    small = [s for s in case["slices"] if s["rows"] < limit]
    assert [s for s in got if s["by"] is not None] == sorted(
        [s for s in got if s["by"] is not None], key=lambda s: -s["loss"])
    other = got[-1]
    assert (other["by"], other["other"], other["slices"]) == (None, True, len(small))
    assert other["rows"] == sum(s["rows"] for s in small)
    assert len(got) == len(case["slices"]) - len(small) + 1
    # its loss is Σu/Σw over its rows, from the file's own numbers
    frame = [line.split(",") for line in case["csv"].splitlines()[1:]]
    members = {(s["by"]["country"], s["by"]["device"]) for s in small}
    picked = [r for r in frame if ((r[2] or None), int(r[3])) in members]
    u = [float(r[4]) * torch_loss(float(r[0]), float(r[1])) for r in picked]
    assert close(other["loss"], math.fsum(u) / math.fsum(float(r[4]) for r in picked))


def test_more_slices_than_max_slices_is_an_error_at_the_row(bce: Run, files: Files) -> None:
    files(d__csv="p,y,s,t\n0.1,0,a,1\n0.2,1,b,1\n0.3,0,a,2\n0.4,1,c,\n")
    assert refused(bce, "d.csv", "--by", "s", "--max-slices", "2") == (
        "bce: error: more than 2 slices (the 3rd, 'c', at d.csv:5)\n" + HINT)
    assert refused(bce, "d.csv", "--by", "s,t", "--max-slices", "3") == (
        "bce: error: more than 3 slices (the 4th, s='c', t=null, at d.csv:5)\n" + HINT)
    assert output(bce, "d.csv", "--by", "s", "--max-slices", "3")["slices"]


@pytest.mark.parametrize(("args", "message"), [
    (["--max-slices", "3"], "--max-slices needs --by"),
    (["--min-slice-size", "3"], "--min-slice-size needs --by"),
    (["--by", "s", "--max-slices", "0"], "--max-slices must be in [1, 20000], not 0"),
    (["--by", "s", "--max-slices", "20001"], "--max-slices must be in [1, 20000], not 20001"),
    (["--by", "s", "--max-slices", "10001", "--metrics"], "--max-slices with --metrics is at "
     "most 10000, not 10001: each slice keeps a score sketch"),
    (["--by", "s", "--min-slice-size", "0"], "--min-slice-size must be at least 1, not 0"),
    (["--by", "s", "-r", "none"], "--by gives a loss per slice: not with -r none\n"
     "hint: use -r mean, sum or weighted-mean"),
    (["--by", "p"], "--by 'p': column 'p' of d.csv is the predictions"),
    (["--by", "s,s"], "--by 's': column 's' of d.csv is a --by column already"),
    (["--by", "t"], "--by 't': no such column in d.csv (columns: p, y, s)"),
])
def test_option_errors(bce: Run, files: Files, args: list[str], message: str) -> None:
    files(d__csv="p,y,s\n0.1,0,a\n0.2,1,b\n")
    assert refused(bce, "d.csv", *args) == f"bce: error: {message}\n"


def test_a_column_in_two_inputs_is_ambiguous(bce: Run, files: Files) -> None:
    files(p__csv="p,g\n0.1,a\n0.2,b\n", y__csv="y,g\n0,a\n1,b\n", w__csv="w,h\n1,x\n2,y\n")
    assert refused(bce, "p.csv", "y.csv", "--by", "g") == (
        "bce: error: --by 'g': both p.csv and y.csv have a column of that name\n"
        "hint: slice by a column only one input has\n")
    got = output(bce, "p.csv", "y.csv", "--weights", "w.csv", "--weight-col", "w",
                 "--by", "h")  # the weights' own column
    assert sorted(s["by"]["h"] for s in got["slices"]) == ["x", "y"]
    assert "h" not in json.dumps(got["unused_columns"])


def test_a_json_object_has_no_columns_to_slice(bce: Run, files: Files) -> None:
    files(d__json='{"predictions": [0.1, 0.2], "targets": [0, 1]}')
    assert refused(bce, "d.json", "--by", "g") == (
        "bce: error: --by slices the rows of a table by its columns: d.json has no columns "
        "to slice by\n")


def test_a_slice_value_that_is_no_value_is_an_error(bce: Run, files: Files) -> None:
    files(d__jsonl='{"p": 0.1, "y": 0, "g": "a"}\n{"p": 0.2, "y": 1, "g": [1, 2]}\n')
    assert refused(bce, "d.jsonl", "--by", "g") == (
        "bce: error: d.jsonl:2: [1.0, 2.0] in column 'g' is not a slice value\n")


def test_missing_rows_skipped_leave_their_slices(bce: Run, files: Files) -> None:
    files(d__csv="p,y,g\n0.1,0,a\n,1,b\n0.3,1,b\n")
    got = output(bce, "d.csv", "--by", "g", "--skip-missing")
    assert {s["by"]["g"]: s["rows"] for s in got["slices"]} == {"a": 1, "b": 1}


# -- shards --------------------------------------------------------------------------------


def shards_and_whole(bce: Run, files: Files, lines: list[str], cuts: list[int],
                     options: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`bce merge` of the parts of `lines` cut at `cuts`, and one run over them all."""
    header, rows = lines[0], lines[1:]
    bounds = [0, *cuts, len(rows)]
    files(all__csv="\n".join(lines) + "\n")
    for k in range(len(bounds) - 1):
        files(**{f"s{k}__csv": "\n".join([header, *rows[bounds[k]:bounds[k + 1]]]) + "\n"})
        made = bce("compute", f"s{k}.csv", *options, "--partial")
        assert made.exit_code == 0, made.stderr
        files(**{f"part{k}__json": made.stdout})
    merged = bce("merge", *(f"part{k}.json" for k in reversed(range(len(bounds) - 1))),
                 "--json")
    assert merged.exit_code == 0, merged.stderr
    return json.loads(merged.stdout), output(bce, "all.csv", *options)


def test_merged_shards_give_one_runs_slices(bce: Run, files: Files) -> None:
    case = CASES[1]
    lines = case["csv"].splitlines()
    merged, whole = shards_and_whole(bce, files, lines, [90, 250], [
        *case_args(case)[1:], "--metrics", "--min-slice-size", "35"])
    assert_same(merged["slices"], whole["slices"], exact_bounds=False)
    assert merged["slices"][-1]["other"] is True


def test_coarse_sketches_merge_to_one_runs_bounds(bce: Run, files: Files,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Sketches of 16 buckets (a budget of 128 for 8 slices) over 100 distinct scores a
    slice: the AUC has bounds, and shards that saw fewer slices (larger caps) merge
    to exactly one run's, whatever the order."""
    monkeypatch.setattr(slices_module, "BUDGET", 128)
    rng = np.random.default_rng(14)
    slice_of = np.repeat(np.arange(8), 100)  # the first shard sees two slices only
    p = rng.random(800)
    y = (rng.random(800) < p).astype(int)
    lines = ["p,y,g"] + [f"{a!r},{b},{c}" for a, b, c in zip(p.tolist(), y.tolist(),
                                                            slice_of.tolist(), strict=True)]
    merged, whole = shards_and_whole(bce, files, lines, [200, 500], [
        "--by", "g", "--metrics"])
    assert all("roc_auc_bounds" in s for s in whole["slices"])
    assert_same(merged["slices"], whole["slices"], exact_bounds=True)


def test_shards_must_agree_on_the_slices(bce: Run, files: Files) -> None:
    files(d__csv="p,y,g,h\n0.1,0,a,x\n0.2,1,b,y\n")
    for k, by in enumerate(["g", "h"]):
        made = bce("compute", "d.csv", "--by", by, "--partial")
        files(**{f"part{k}__json": made.stdout})
    result = bce("merge", "part0.json", "part1.json")
    assert result.exit_code == 2
    assert "shards must agree" in result.stderr and '"by": ["h"]' in result.stderr


# -- bce diff --by -------------------------------------------------------------------------


def test_diff_by_gives_each_slices_delta(bce: Run, files: Files) -> None:
    rng = np.random.default_rng(7)
    n = 120
    g = rng.choice(["x", "y", "z"], n)
    pa, pb = np.round(rng.random(n), 4), np.round(rng.random(n), 4)
    y = (rng.random(n) < 0.5).astype(int)
    files(a__csv="p,y,g\n" + "".join(f"{a},{t},{s}\n" for a, t, s in zip(pa, y, g, strict=True)),
          b__csv="p,y,g\n" + "".join(f"{b},{t},{s}\n" for b, t, s in zip(pb, y, g, strict=True)))
    result = bce("diff", "a.csv", "b.csv", "--by", "g", "--json")
    assert result.exit_code == 0, result.stderr
    got = json.loads(result.stdout)
    assert list(got)[-1] == "slices"
    deltas = [s["delta"] for s in got["slices"]]
    assert deltas == sorted(deltas, reverse=True)  # B's worst regressions first
    for item in got["slices"]:
        rows = np.flatnonzero(g == item["by"]["g"])
        la = [torch_loss(float(pa[r]), float(y[r])) for r in rows]
        lb = [torch_loss(float(pb[r]), float(y[r])) for r in rows]
        d = np.array(lb) - np.array(la)
        assert item["rows"] == len(rows)
        assert close(item["loss_a"], math.fsum(la) / len(rows))
        assert close(item["loss_b"], math.fsum(lb) / len(rows))
        assert close(item["delta"], (math.fsum(lb) - math.fsum(la)) / len(rows), 1e-11)
        half = 1.959963984540054 * float(np.std(d, ddof=1)) / math.sqrt(len(rows))
        low, high = item["delta_ci95"]
        assert close(high - low, 2 * half, 1e-9)


def test_diff_by_table_and_limit(bce: Run, files: Files) -> None:
    files(a__csv="p,y,g\n0.1,0,a\n0.2,1,b\n0.3,0,c\n", b__csv="p,y,g\n0.2,0,a\n0.2,1,b\n0.1,0,c\n")
    table = bce("diff", "a.csv", "b.csv", "--by", "g", "-f", "table")
    assert table.exit_code == 0
    assert "3 slices" in table.stdout and "Slices, worst first" in table.stdout
    result = bce("diff", "a.csv", "b.csv", "--by", "g", "--max-slices", "2")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == "bce: error: more than 2 slices (the 3rd, 'c', at a.csv:4)\n" + HINT


# -- output --------------------------------------------------------------------------------


def test_table_shows_the_worst_ten_in_80_columns(bce: Run, files: Files) -> None:
    rows = ["p,y,country,device"] + [f"0.{k % 9 + 1},{k % 2},c{k % 7},{k % 3}"
                                     for k in range(210)]
    files(d__csv="\n".join(rows) + "\n")
    result = bce("compute", "d.csv", "--by", "country,device", "--metrics", "-f", "table")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    start = lines.index(next(line for line in lines if line.startswith("Slices, worst first")))
    body = [line for line in lines[start:] if line.startswith("│")]
    assert len(body) == 10
    assert "21 slices; the worst 10 shown" in [line.strip() for line in lines]


def test_plain_format_says_slices_are_left_out(bce: Run, files: Files) -> None:
    files(d__csv="p,y,g\n0.1,0,a\n0.2,1,b\n")
    result = bce("compute", "d.csv", "--by", "g", "-f", "plain")
    assert result.stderr == ("bce: note: -f plain prints the loss only: see -f json or -f "
                             "table for --by\n")


def test_sketch_cap_depends_on_the_slice_count_only() -> None:
    caps = [slices_module.sketch_cap(n) for n in (1, 2, 3, 1000, 40_000)]
    assert caps == [1 << 17, 1 << 16, 1 << 15, 128, 16]
    assert all(slices_module.sketch_cap(n) * n <= 1 << 17 for n in range(1, 8193))


# -- memory --------------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_two_million_rows_in_a_thousand_slices_stay_under_150_mib(tmp_path: Path) -> None:
    """--by with --metrics on 2M rows of 8-decimal scores in 1,000 slices: peak RSS of the
    whole run under 150 MiB, every slice reported."""
    rows = 2_000_000
    rng = np.random.default_rng(14)
    digits = rng.integers(0, 10**8, rows)
    slice_of = rng.integers(0, 1000, rows)
    text = np.empty((rows, 17), np.uint8)  # "0.dddddddd,y,sss\n"
    text[:, 0], text[:, 1], text[:, 10], text[:, 12], text[:, 16] = (
        ord("0"), ord("."), ord(","), ord(","), ord("\n"))
    for k in range(8):
        text[:, 9 - k] = ord("0") + digits % 10
        digits //= 10
    text[:, 11] = ord("0") + (rng.random(rows) < 0.3)
    for k in range(3):
        text[:, 15 - k] = ord("0") + slice_of % 10
        slice_of //= 10
    (tmp_path / "d.csv").write_bytes(b"p,y,s\n" + text.tobytes())
    del text, digits, slice_of
    measure = ("import resource, subprocess, sys; out = subprocess.run(sys.argv[1:], "
               "check=True, capture_output=True).stdout; print(resource.getrusage("
               "resource.RUSAGE_CHILDREN).ru_maxrss); sys.stdout.buffer.write(out)")
    done = subprocess.run([sys.executable, "-c", measure, BCE, "compute", "d.csv", "--by", "s",
                           "--metrics", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, check=True)
    peak, result = done.stdout.split("\n", 1)
    assert int(peak) < 150 * 1024, peak  # KiB
    slices = json.loads(result)["slices"]
    assert len(slices) == 1000 and sum(s["rows"] for s in slices) == rows
    assert all(abs(s["roc_auc"] - 0.5) < 0.1 for s in slices)
