"""`--like` and `bce compare` for XGBoost, LightGBM, CatBoost and Spark (issue 14).

The expected values come from XGBoost, LightGBM and CatBoost themselves, and from
Spark's logLoss as its source defines it (scripts/make_golden_conventions.py, committed
in tests/golden/convention_cases.json); no library is needed here.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from bcecli.conventions import CONVENTIONS
from bcecli.core import DType
from tests.helpers import ROOT, Files, Run

GOLDEN = json.loads((ROOT / "tests" / "golden" / "convention_cases.json").read_text())
CASES = GOLDEN["cases"]
NAMES = ("xgboost", "lightgbm", "catboost", "spark")
# XGBoost computes each loss in float32 with the C library's logf/expf, numpy's differ in
# the last bit now and then, and bce rounds the float32 mean to float32
RTOL = {"xgboost": 1e-7, "lightgbm": 1e-13, "catboost": 1e-13, "spark": 1e-13}


def table(values: Any) -> str:
    rows = np.asarray(values, dtype=float).reshape(len(values), -1)
    return "".join(",".join(map(repr, row.tolist())) + "\n" for row in rows)


def close(got: float | None, expected: float, name: str) -> bool:
    assert got is not None
    return got == expected if math.isinf(expected) else \
        got == pytest.approx(expected, rel=RTOL[name], abs=0)


def write(files: Files, case: dict[str, Any]) -> list[str]:
    """The case's files, and the arguments that give them to bce."""
    files(p__csv=table(case["input"]), y__csv=table(case["target"]),
          w__csv=table(case["weight"] or [1.0] * len(case["input"])))
    return ["p.csv", "y.csv", *(["--logits"] if case["logits"] else []),
            *(["--weights", "w.csv"] if case["weight"] else [])]


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conventions_match_their_libraries(case: dict[str, Any]) -> None:
    x, y = np.array(case["input"]), np.array(case["target"])
    w = None if case["weight"] is None else np.array(case["weight"])
    if w is not None and x.ndim == 2:
        w = w[:, None]
    for name in NAMES:
        if name not in case:
            continue
        convention = CONVENTIONS[name]
        function = convention.function(logits=case["logits"], pos_weight=None,
                                       label_smoothing=0.0, dtype=DType.FLOAT64)
        total = convention.total()
        total.add(function(x, y, w), None if w is None else function.cast(w))
        assert close(convention.result(total, function.dtype, None), case[name], name), name


def test_the_golden_file_covers_what_the_issue_asks() -> None:
    assert all(name in c for c in CASES for name in NAMES if not c["name"].startswith("soft"))
    assert {c["spark_from"] for c in CASES if "spark" in c} == {"source"}
    inputs = [v for c in CASES if not c["logits"] for v in np.ravel(c["input"])]
    assert {0.0, 1.0, 1e-20} <= set(inputs)  # the floors and clips
    assert {np.ndim(c["input"]) for c in CASES} == {1, 2}  # multi-label
    assert any(c["weight"] for c in CASES) and any(c["logits"] for c in CASES)
    soft = [c for c in CASES if c["name"].startswith("soft")]
    assert soft and all(set(c) & set(NAMES) == {"xgboost"} for c in soft)
    assert any(math.isinf(c["catboost"]) for c in CASES if "catboost" in c)  # p = 0, y = 1


ONE_EACH = {"xgboost": "soft-probs", "lightgbm": "probs-10x3-weighted",
            "catboost": "open-300-logits", "spark": "probs-24-weighted"}


@pytest.mark.parametrize("name", NAMES)
def test_like_and_compare_on_the_command_line(bce: Run, files: Files, name: str) -> None:
    case = next(c for c in CASES if c["name"] == ONE_EACH[name])
    args = write(files, case)
    like = json.loads(bce("compute", *args, "--like", name, "--json").stdout)
    assert like["like"] == name and like["eps"] == CONVENTIONS[name].eps_for(case["logits"])
    assert (like["reduction"], like["dtype"]) == ("weighted-mean", CONVENTIONS[name].dtype)
    assert close(like["loss"], case[name], name)
    compared = json.loads(bce("compare", *args, "--json").stdout)
    assert list(compared["losses"]) == list(CONVENTIONS)
    assert compared["losses"][name] == pytest.approx(like["loss"], rel=1e-13)
    assert compared["conventions"][name]["per_class_mean"] is \
        (CONVENTIONS[name].per_class and np.ndim(case["input"]) == 2)


@pytest.mark.parametrize(("name", "why"), [
    ("lightgbm", "LightGBM's binary_logloss reads any target above 0 as 1"),
    ("catboost", "CatBoost's Logloss reads a target above 0.5 as 1"),
    ("spark", "Spark's logLoss takes whole-number labels only")])
def test_soft_targets_are_refused_where_the_library_reads_them_as_labels(
        bce: Run, files: Files, name: str, why: str) -> None:
    files(p__csv="0.8\n0.3\n", y__csv="1\n0.25\n")
    refused = bce("compute", "p.csv", "y.csv", "--like", name)
    assert (refused.exit_code, refused.stdout) == (2, "")
    assert refused.stderr == f"bce: error: y.csv:2: target 0.25 is not 0 or 1: {why} " \
        f"(--like {name})\n"
    compared = json.loads(bce("compare", "p.csv", "y.csv", "--json").stdout)
    assert compared["losses"][name] is None
    assert compared["conventions"][name]["differs"] == f"soft targets refused: {why} " \
        f"(--like {name})"
    assert compared["losses"]["xgboost"] == pytest.approx(  # XGBoost takes them: y and 1 − y
        (-0.25 * math.log(0.3) - 0.75 * math.log(0.7) - math.log(0.8)) / 2, rel=1e-7)
    plain = bce("compare", "p.csv", "y.csv", "-f", "plain").stdout.splitlines()
    assert f"{name}\trefused" in plain


def test_explicit_eps_replaces_the_floor(bce: Run, files: Files) -> None:
    """--eps clips p as always, whatever --like says (explicit options win)."""
    files(p__csv="1.0\n0.5\n", y__csv="0\n1\n")
    like = json.loads(bce("compute", "p.csv", "y.csv", "--like", "lightgbm", "--eps", "1e-3",
                          "--json").stdout)
    mine = json.loads(bce("compute", "p.csv", "y.csv", "--eps", "1e-3", "-r", "weighted-mean",
                          "--json").stdout)
    assert like["loss"] == mine["loss"] == pytest.approx((-math.log(1e-3) - math.log(0.5)) / 2)


def test_partial_and_merge_keep_like_xgboost(bce: Run, files: Files) -> None:
    case = next(c for c in CASES if c["name"] == "probs-24-weighted")
    p, y, w = case["input"], case["target"], case["weight"]
    files(p0__csv=table(p[:10]), y0__csv=table(y[:10]), w0__csv=table(w[:10]),
          p1__csv=table(p[10:]), y1__csv=table(y[10:]), w1__csv=table(w[10:]))
    for k in (0, 1):
        made = bce("compute", f"p{k}.csv", f"y{k}.csv", "--weights", f"w{k}.csv", "--like",
                   "xgboost", "--partial")
        assert made.exit_code == 0, made.stderr
        assert json.loads(made.stdout)["like"] == "xgboost"
        files(**{f"part{k}__json": made.stdout})
    merged = json.loads(bce("merge", "part0.json", "part1.json", "--json").stdout)
    assert (merged["like"], merged["dtype"], merged["reduction"]) == \
        ("xgboost", "float32", "weighted-mean")
    assert close(merged["loss"], case["xgboost"], "xgboost")
