"""Issue 13: every diagnostic merges. `compute --partial` with --metrics (--bins, --binning,
--bootstrap, --negative-sampling-rate), --top, --hist and per-class losses, then `bce merge`,
gives what one run over the concatenated data gives: sums to 1e-13, counts and unweighted
AUC bounds identical, whatever the order of the parts. Partial files whose sections were
changed, cut, reordered or made by other settings are refused, naming the file."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bcecli.shards import digest
from tests.helpers import BCE, Files, Run

SOURCES = {"predictions", "targets", "weights", "columns", "unused_columns", "skipped",
           "parts", "id_col", "joined"}  # what says which files were read


def write_shards(files: Files, cuts: list[int], *, classes: int = 1, weighted: bool = False,
                 logits: bool = False, seed: int = 0) -> int:
    """Shards p{k}.csv, y{k}.csv (and w{k}.csv) with an id column, and all of them
    concatenated as p.csv, y.csv, w.csv; each file's rows in its own random order of ids
    (the bootstrap draws by id, so order must not matter). The number of shards."""
    rng = np.random.default_rng(seed)
    rows = cuts[-1]
    scores = rng.normal(0, 2, (rows, classes)) if logits else rng.random((rows, classes))
    probability = 1 / (1 + np.exp(-scores)) if logits else scores
    labels = (rng.random((rows, classes)) < probability).astype(int)
    weights = rng.uniform(0.2, 3, rows)
    names = ",".join("abc"[:classes])
    ids = rng.permutation(rows) + 1000

    def table(header: str, values: np.ndarray[Any, Any], order: np.ndarray[Any, Any]) -> str:
        return header + "\n" + "".join(
            f"i{ids[r]}," + ",".join(map(repr, np.atleast_1d(values[r]).tolist())) + "\n"
            for r in order)

    shards = list(zip([0, *cuts[:-1]], cuts, strict=True))
    for k, (a, b) in enumerate([*shards, (0, rows)]):
        name = "" if k == len(shards) else str(k)
        part = np.arange(a, b)
        files(**{f"p{name}__csv": table(f"id,{names}", scores, rng.permutation(part)),
                 f"y{name}__csv": table(f"id,{names}", labels, rng.permutation(part)),
                 f"w{name}__csv": table("id,w", weights, rng.permutation(part))})
    return len(shards)


def inputs(name: str, weighted: bool) -> list[str]:
    weights = ["--weights", f"w{name}.csv", "--weight-col", "w"] if weighted else []
    return [f"p{name}.csv", f"y{name}.csv", "--id-col", "id", *weights]


def merged_and_whole(bce: Run, files: Files, shards: int, weighted: bool, options: list[str],
                     order: list[int]) -> tuple[dict[str, Any], dict[str, Any]]:
    """`bce merge` of each shard's partial, in `order`, and one run over all the rows."""
    for k in range(shards):
        made = bce("compute", *inputs(str(k), weighted), *options, "--partial")
        assert made.exit_code == 0, made.stderr
        files(**{f"part{k}__json": made.stdout})
    merged = bce("merge", *(f"part{k}.json" for k in order), "--json")
    whole = bce("compute", *inputs("", weighted), *options, "--json")
    assert merged.exit_code == 0 and whole.exit_code == 0, merged.stderr + whole.stderr
    return json.loads(merged.stdout), json.loads(whole.stdout)


def assert_same(merged: Any, whole: Any, exact_bounds: bool, path: str = "") -> None:
    """Equal, floats to 1e-13 (AUC and AP bounds exactly when `exact_bounds`); the top
    samples' places (each part names its own file and line) left out."""
    if isinstance(whole, dict):
        keys = set(whole) - SOURCES - ({"where"} if "where" in whole else set())
        assert set(merged) - SOURCES - {"where"} == keys, path
        for key in keys:
            assert_same(merged[key], whole[key], exact_bounds, f"{path}.{key}")
    elif isinstance(whole, list):
        assert isinstance(merged, list) and len(merged) == len(whole), path
        for k, (a, b) in enumerate(zip(merged, whole, strict=True)):
            assert_same(a, b, exact_bounds, f"{path}[{k}]")
    elif isinstance(whole, float) and not (exact_bounds and "_bounds" in path):
        assert merged == pytest.approx(whole, rel=1e-13, abs=1e-15), path
    else:
        assert merged == whole, path


CASES = {
    "width bins, top, histogram": (1, False, False, ["--metrics", "--bins", "7", "--top", "7",
                                                     "--hist"]),
    "weighted, equal-mass bins": (1, True, False, ["--metrics", "--binning", "mass",
                                                   "--bins", "5", "--top", "4"]),
    "three classes, class weights": (3, True, False, ["--metrics", "--class-weights",
                                                      "1,2,0.5", "--top", "3", "--hist"]),
    "logits, negative sampling": (1, False, True, ["--logits", "--metrics",
                                                   "--negative-sampling-rate", "0.25",
                                                   "--threshold", "0.3"]),
    "bootstrap by id": (1, False, False, ["--metrics", "--bootstrap", "40", "--seed", "7"]),
    "weighted bootstrap, two classes": (2, True, False, ["--metrics", "--bootstrap", "25",
                                                         "-r", "weighted-mean"]),
    "per-class losses alone": (2, False, False, ["-r", "sum"]),
}


@pytest.mark.parametrize("case", CASES)
def test_merged_diagnostics_equal_one_run(bce: Run, files: Files, case: str) -> None:
    classes, weighted, logits, options = CASES[case]
    shards = write_shards(files, [130, 170, 400, 420], classes=classes, weighted=weighted,
                          logits=logits, seed=len(case))
    merged, whole = merged_and_whole(bce, files, shards, weighted, options, [0, 1, 2, 3])
    assert_same(merged, whole, exact_bounds=not weighted)
    assert merged["parts"] == [f"part{k}.json" for k in range(4)]
    if "--top" in options:  # each part names its own file and line
        assert all(item["where"].startswith("p") and ".csv:" in item["where"]
                   for item in merged["top"])
        assert any(not item["where"].startswith("p.csv") for item in merged["top"])


def test_the_order_of_the_parts_changes_nothing_but_the_tie_order(bce: Run,
                                                                   files: Files) -> None:
    options = ["--metrics", "--binning", "mass", "--bootstrap", "10", "--hist", "--top", "5"]
    shards = write_shards(files, [50, 60, 200], weighted=True, seed=3)
    first, _ = merged_and_whole(bce, files, shards, True, options, [0, 1, 2])
    again = json.loads(bce("merge", "part2.json", "part0.json", "part1.json", "--json").stdout)
    assert_same({**again, "parts": None}, {**first, "parts": None}, exact_bounds=False)


# -- partial files with sections are checked when read -------------------------------------

HINT = "hint: make it again with bce compute ... --partial\n"


@pytest.fixture
def part(bce: Run, files: Files) -> list[str]:
    """A real partial with sections (--metrics --top 2 --hist), as its lines."""
    write_shards(files, [20, 40])
    made = bce("compute", *inputs("0", False), "--metrics", "--top", "2", "--hist", "--partial")
    assert made.exit_code == 0, made.stderr
    return made.stdout.splitlines()


def refusal(bce: Run, files: Files, lines: list[str]) -> str:
    files(bad__json="\n".join(lines) + "\n")
    result = bce("merge", "bad.json")
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    return result.stderr


def resigned(lines: list[str], k: int, data: Any) -> list[str]:
    """Line k's section given `data`, its checksum and the header's made anew: a file
    whose checksums hold but whose content cannot be what bce wrote."""
    header = json.loads(lines[0])
    name = header["sections"][k - 1][0]
    header["sections"][k - 1][1] = digest(data)
    header.pop("checksum")
    header["checksum"] = digest(header)
    return [json.dumps(header), *lines[1:k], json.dumps({"section": name, "data": data}),
            *lines[k + 1:]]


def test_the_sections_of_a_part(part: list[str]) -> None:
    header = json.loads(part[0])
    names = ["histogram", "top", "metrics.sums", "metrics.sketch", "metrics.sketch.keys",
             "metrics.sketch.first", "metrics.sketch.single", "metrics.sketch.count",
             "metrics.sketch.positives", "metrics.sketch.sum_p", "metrics.sketch.sum_y"]
    assert [name for name, _ in header["sections"]] == names
    assert [json.loads(line)["section"] for line in part[1:]] == names
    assert header["diagnostics"] == {"top": 2, "histogram": True, "class_names": None,
                                     "metrics": {"bins": 10, "binning": "width",
                                                 "threshold": 0.5, "bootstrap": 0,
                                                 "seed": 0, "keys": "id"}}


@pytest.mark.parametrize(("change", "message"), [
    (lambda lines: [*lines[:1], lines[1].replace("[", "[1,", 1), *lines[2:]],
     "section histogram does not match its checksum: it was changed after bce wrote it"),
    (lambda lines: lines[:-1], "section metrics.sketch.sum_y is missing (line 12): the file "
     "was cut short"),
    (lambda lines: [*lines, lines[-1]], "more lines than the header's 11 sections"),
    (lambda lines: [lines[0], lines[2], lines[1], *lines[3:]],
     'line 2 must be section histogram: {"section": ..., "data": ...}'),
    (lambda lines: [lines[0], lines[1][:-9], *lines[2:]], "line 2 is not a JSON object"),
    (lambda lines: [json.dumps(json.loads(lines[0]), indent=1), *lines[1:]],
     "its header is on several lines, but sections follow a header of one line"),
    (lambda lines: resigned(lines, 1, [0] * 17), "histogram must be 17 counts of its 20 rows"),
    (lambda lines: resigned(lines, 2, [["p0.csv:2", 0.5, 1, 0.1], ["p0.csv:3", 0.5, 1, 0.2]]),
     "top must be ordered from the highest loss down"),
    (lambda lines: resigned(lines, 8, "AQAAAAAAAAA="), "the sketch's columns do not agree "
     "with each other"),
    (lambda lines: resigned(lines, 3, {**json.loads(lines[3])["data"], "count": 19}),
     "metrics.sums must be of 10 bins at threshold 0.5, over the part's 20 elements"),
])
def test_a_broken_section_is_refused(bce: Run, files: Files, part: list[str],
                                     change: Any, message: str) -> None:
    assert refusal(bce, files, change(part)) == \
        f"bce: error: bad.json: a broken partial result: {message}\n{HINT}"


def test_parts_with_other_diagnostics_are_refused(bce: Run, files: Files) -> None:
    write_shards(files, [20, 40])
    for name, options in (("a", ["--metrics"]), ("b", ["--metrics", "--bins", "5"]),
                          ("c", [])):
        made = bce("compute", *inputs("0" if name != "b" else "1", False), *options,
                   "--partial")
        files(**{f"{name}__json": made.stdout})
    result = bce("merge", "a.json", "b.json")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr.startswith('bce: error: b.json was computed with diagnostics = {"top": '
                                    '0, "histogram": false, "class_names": null, "metrics": '
                                    '{"bins": 5, ')
    assert result.stderr.endswith("shards must agree\n")
    result = bce("merge", "a.json", "c.json")
    assert result.stderr.startswith("bce: error: c.json was computed with diagnostics = null,")


# -- a full sketch: more distinct scores than buckets, in bounded memory -------------------


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_a_coarse_sketch_merges_to_the_one_run_bounds_in_bounded_memory(tmp_path: Path
                                                                        ) -> None:
    """600k distinct scores (more than the sketch's 2**19 buckets) in three .npy shards:
    merged, the AUC and AP bounds are those of one run, to the bit; the merge of the
    three 45 MB parts peaks under 150 MiB."""
    rng = np.random.default_rng(21)
    p = rng.random(600_000)
    y = (rng.random(len(p)) < p).astype(np.float64)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    cuts = [0, 150_000, 420_000, len(p)]
    for k, (a, b) in enumerate(itertools.pairwise(cuts)):
        np.save(tmp_path / f"p{k}.npy", p[a:b])
        np.save(tmp_path / f"y{k}.npy", y[a:b])
        with open(tmp_path / f"part{k}.json", "wb") as out:
            subprocess.run([BCE, "compute", f"p{k}.npy", f"y{k}.npy", "--metrics", "--binning",
                            "mass", "--partial"], cwd=tmp_path, stdout=out, check=True,
                           timeout=300)
    measure = ("import resource, subprocess, sys; out = subprocess.run(sys.argv[1:], "
               "check=True, capture_output=True).stdout; print(resource.getrusage("
               "resource.RUSAGE_CHILDREN).ru_maxrss); sys.stdout.buffer.write(out)")
    done = subprocess.run([sys.executable, "-c", measure, BCE, "merge", "part2.json",
                           "part0.json", "part1.json", "--json"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, check=True)
    peak, merged = done.stdout.split("\n", 1)
    assert int(peak) < 150 * 1024, peak  # KiB
    whole = subprocess.run([BCE, "compute", "p.npy", "y.npy", "--metrics", "--binning", "mass",
                            "--json"], cwd=tmp_path, capture_output=True, text=True,
                           timeout=300, check=True).stdout
    one, other = json.loads(merged)["metrics"], json.loads(whole)["metrics"]
    assert "roc_auc_bounds" in other  # the sketch had to share buckets
    assert_same(one, other, exact_bounds=True)
