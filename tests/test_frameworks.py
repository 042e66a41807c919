"""`--like` and `bce compare` against what PyTorch, Keras and scikit-learn really report.

The expected values come from the libraries themselves (scripts/make_golden_frameworks.py,
committed in tests/golden/framework_cases.json); no library is needed here.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from bcecli.conventions import CONVENTIONS
from bcecli.core import DType
from tests.helpers import ROOT, Files, Run

GOLDEN = json.loads((ROOT / "tests" / "golden" / "framework_cases.json").read_text())
CASES = GOLDEN["cases"]
RTOL = {"torch": 1e-12, "keras": 1e-6, "sklearn": 1e-12}  # Keras computes in float32
EPS = float(np.finfo(np.float64).eps)  # scikit-learn's clip for float64 input


def table(values: Any) -> str:
    rows = np.asarray(values, dtype=float).reshape(len(values), -1)
    return "".join(",".join(map(repr, row.tolist())) + "\n" for row in rows)


MULTI_LABEL = [c for c in CASES if "torch_rows" in c]
MATRIX = [c for c in CASES if "sklearn_matrix" in c]


def weight_of(case: dict[str, Any]) -> np.ndarray | None:
    """The case's weights as bce applies them: row weights (N, 1) on N×C input, an N×C
    matrix as it is, times the class weights."""
    x = np.array(case["input"])
    w = None if case["weight"] is None else np.array(case["weight"])
    if w is not None and x.ndim == 2 and w.ndim == 1:
        w = w[:, None]
    classes = case.get("class_weights")
    if classes is not None:
        w = np.array(classes) if w is None else w * np.array(classes)
    return w


def arguments(case: dict[str, Any]) -> list[str]:
    """The files (written by `files`) and options that give bce the case."""
    args = ["p.csv", "y.csv", "--label-smoothing", repr(case["label_smoothing"])]
    args += ["--logits"] if case["logits"] else []
    args += ["--weights", "w.csv"] if case["weight"] else []
    classes = case.get("class_weights")
    return args + (["--class-weights", ",".join(map(repr, classes))] if classes else [])


def write(files: Files, case: dict[str, Any]) -> None:
    files(p__csv=table(case["input"]), y__csv=table(case["target"]),
          w__csv=table(case["weight"] or [1.0] * len(case["input"])))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conventions_match_their_libraries(case: dict[str, Any]) -> None:
    x, y = np.array(case["input"]), np.array(case["target"])
    w = weight_of(case)
    for name, convention in CONVENTIONS.items():
        if name not in case:
            continue
        function = convention.function(logits=case["logits"], pos_weight=None,
                                       label_smoothing=case["label_smoothing"], dtype=DType.FLOAT64)
        total = convention.total()
        total.add(function(x, y, w), None if w is None else function.cast(w))
        got = convention.result(total, function.dtype, case.get("class_weights"))
        assert got == pytest.approx(case[name], rel=RTOL[name], abs=0), name


def test_the_golden_file_covers_all_three() -> None:
    assert {"torch", "keras", "sklearn", "torch_rows", "keras_rows", "sklearn_matrix",
            "class_weights"} <= {k for c in CASES for k in c}
    assert len(CASES) >= 32
    assert {np.ndim(c["weight"]) for c in MULTI_LABEL if c["weight"]} == {1, 2}


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_compare_and_like_on_the_command_line(bce: Run, files: Files,
                                              case: dict[str, Any]) -> None:
    write(files, case)
    args = arguments(case)
    compared = json.loads(bce("compare", *args, "--json").stdout)
    multi_label = np.ndim(case["input"]) == 2
    for name in ("torch", "keras", "sklearn"):
        if name in case:
            assert compared["losses"][name] == pytest.approx(case[name], rel=RTOL[name], abs=0)
            like = json.loads(bce("compute", *args, "--like", name, "--json").stdout)
            assert like["like"] == name
            if not (name == "sklearn" and multi_label):
                assert like["loss"] == compared["losses"][name]
            elif np.ndim(case["weight"]) < 2:  # per-row weights: Σw·l/Σw is the class mean
                assert like["loss"] == pytest.approx(compared["losses"][name], rel=1e-13)
            else:  # an N×C weight matrix: the per-class mean is another number
                assert like["loss"] != pytest.approx(compared["losses"][name], rel=1e-3)
    sklearn = compared["conventions"]["sklearn"]
    assert sklearn["per_class_mean"] is multi_label
    assert ("per-class mean" in sklearn["differs"]) is multi_label


@pytest.mark.parametrize("case", MULTI_LABEL, ids=[c["name"] for c in MULTI_LABEL])
def test_rows_match_torch_and_keras(bce: Run, files: Files, case: dict[str, Any]) -> None:
    """`-r rows` is PyTorch's `none(...).mean(-1)` (float64) and Keras' `reduction=None`."""
    write(files, case)
    rows = json.loads(bce("compute", *arguments(case), "-r", "rows", "--json").stdout)
    assert rows["loss"] == pytest.approx(case["torch_rows"], rel=1e-12, abs=0)
    assert (rows["reduction"], rows["shape"]) == ("rows", list(np.shape(case["input"])))
    if "keras_rows" in case:
        keras = json.loads(bce("compute", *arguments(case), "--like", "keras", "-r", "rows",
                               "--json").stdout)
        assert keras["loss"] == pytest.approx(case["keras_rows"], rel=1e-6, abs=0)
        assert keras["dtype"] == "float32"


@pytest.mark.parametrize("case", MATRIX, ids=[c["name"] for c in MATRIX])
def test_log_loss_on_a_matrix_is_multiclass(bce: Run, files: Files,
                                            case: dict[str, Any]) -> None:
    """What docs/numerics.md says `log_loss(Y, P)` computes on N×C input: −Σ_c y·log p per
    row (clipped at float64's eps, rows not normalised), averaged over rows with the sample
    weights; not the per-class mean `bce compare` reports."""
    x, y = np.array(case["input"]), np.array(case["target"])
    p = np.clip(1 / (1 + np.exp(-x)) if case["logits"] else x, EPS, 1 - EPS)
    multiclass = np.average(-(y * np.log(p)).sum(axis=1), weights=case["weight"])
    assert multiclass == pytest.approx(case["sklearn_matrix"], rel=1e-12, abs=0)
    write(files, case)
    compared = json.loads(bce("compare", *arguments(case), "--json").stdout)
    assert compared["losses"]["sklearn"] != pytest.approx(case["sklearn_matrix"], rel=1e-3)


def test_rows_of_flat_input_are_its_elements(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n", w__csv="1\n2\n0.5\n")
    for fmt in ("json", "csv", "plain"):
        args = ["p.csv", "y.csv", "--weights", "w.csv", "-f", fmt]
        rows = bce("compute", *args, "-r", "rows")
        assert rows.stdout == bce("compute", *args, "-r", "none").stdout.replace(
            '"reduction": "none"', '"reduction": "rows"')


def test_explicit_options_win_over_like(bce: Run, files: Files) -> None:
    files(p__csv="0.0\n0.7\n", y__csv="1\n0\n")
    keras = json.loads(bce("compute", "p.csv", "y.csv", "--like", "keras", "--json").stdout)
    assert (keras["dtype"], keras["eps"], keras["reduction"]) == ("float32", 1e-7, "mean")
    mine = json.loads(bce("compute", "p.csv", "y.csv", "--like", "keras", "--dtype", "float64",
                          "--eps", "1e-3", "-r", "sum", "--json").stdout)
    assert (mine["dtype"], mine["eps"], mine["reduction"]) == ("float64", 1e-3, "sum")
    sklearn = json.loads(bce("compute", "p.csv", "y.csv", "--like", "sklearn", "--json").stdout)
    assert sklearn["reduction"] == "weighted-mean" and sklearn["eps"] == 2.220446049250313e-16


def test_compare_formats(bce: Run, files: Files, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "150")
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n")
    plain = bce("compare", "p.csv", "y.csv", "-f", "plain").stdout.splitlines()
    assert [line.split("\t")[0] for line in plain] == ["torch", "keras", "sklearn", "xgboost",
                                                        "lightgbm", "catboost", "spark"]
    assert plain[0] == "torch\t0.36354803967297755"
    csv = bce("compare", "p.csv", "y.csv", "-f", "csv").stdout.splitlines()
    assert csv[0] == "convention,loss,reduction,dtype,differs" and len(csv) == 8
    shown = bce("compare", "p.csv", "y.csv", "-f", "table").stdout
    assert "7 ways" in shown and "clips p to [1e-7, 1−1e-7]" in shown


def test_compare_names_the_per_class_mean(bce: Run, files: Files,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "150")
    files(p__csv="a,b\n0.9,0.2\n0.6,0.8\n", y__csv="a,b\n1,0\n0,1\n", w__csv="1,0\n2,0\n")
    shown = bce("compare", "p.csv", "y.csv", "-f", "table").stdout
    assert "│ sklearn (per-class mean)  │" in shown and "│ torch                     │" in shown
    assert "│ lightgbm (per-class mean) │" in shown and "│ xgboost                   │" in shown
    csv = bce("compare", "p.csv", "y.csv", "-f", "csv").stdout.splitlines()
    assert csv[3].startswith("sklearn,") and "per-class mean: log_loss of each class" in csv[3]
    zero = bce("compare", "p.csv", "y.csv", "--weights", "w.csv")
    assert (zero.exit_code, zero.stdout) == (2, "")
    assert zero.stderr == "bce: error: class 1 (0-based): weights sum to zero: weighted-mean " \
        "is undefined\n"
    skipped = bce("compare", "p.csv", "y.csv", "--weights", "w.csv", "--class-weights", "1,0")
    assert skipped.exit_code == 0 and json.loads(skipped.stdout)["losses"]["sklearn"] == \
        json.loads(bce("compare", "p.csv", "y.csv", "--pred-col", "a", "--target-col", "a",
                       "--weights", "w.csv", "--weight-col", "0").stdout)["losses"]["sklearn"]
