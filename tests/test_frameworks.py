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
from bcecli.core import DType, LossTotal
from tests.helpers import ROOT, Files, Run

GOLDEN = json.loads((ROOT / "tests" / "golden" / "framework_cases.json").read_text())
CASES = GOLDEN["cases"]
RTOL = {"torch": 1e-12, "keras": 1e-6, "sklearn": 1e-12}  # Keras computes in float32


def table(values: Any) -> str:
    rows = np.asarray(values, dtype=float).reshape(len(values), -1)
    return "".join(",".join(map(repr, row.tolist())) + "\n" for row in rows)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conventions_match_their_libraries(case: dict[str, Any]) -> None:
    x, y = np.array(case["input"]), np.array(case["target"])
    w = None if case["weight"] is None else np.array(case["weight"])
    if w is not None and x.ndim == 2:
        w = w[:, None]
    for name, convention in CONVENTIONS.items():
        if name not in case:
            continue
        function = convention.function(logits=case["logits"], pos_weight=None,
                                       label_smoothing=case["label_smoothing"], dtype=DType.FLOAT64)
        total = LossTotal()
        total.add(function(x, y, w), None if w is None else function.cast(w))
        got = total.result(convention.reduction, function.dtype)
        assert got == pytest.approx(case[name], rel=RTOL[name], abs=0), name


def test_the_golden_file_covers_all_three() -> None:
    assert {"torch", "keras", "sklearn"} <= {k for c in CASES for k in c}
    assert len(CASES) >= 16


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_compare_and_like_on_the_command_line(bce: Run, files: Files,
                                              case: dict[str, Any]) -> None:
    files(p__csv=table(case["input"]), y__csv=table(case["target"]),
          w__csv=table(case["weight"] or [1.0] * len(case["input"])))
    args = ["p.csv", "y.csv", "--label-smoothing", repr(case["label_smoothing"])]
    args += ["--logits"] if case["logits"] else []
    args += ["--weights", "w.csv"] if case["weight"] else []
    compared = json.loads(bce("compare", *args, "--json").stdout)
    for name in ("torch", "keras", "sklearn"):
        if name in case:
            assert compared["losses"][name] == pytest.approx(case[name], rel=RTOL[name], abs=0)
            like = json.loads(bce("compute", *args, "--like", name, "--json").stdout)
            assert like["loss"] == compared["losses"][name]
            assert like["like"] == name


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
    assert [line.split("\t")[0] for line in plain] == ["torch", "keras", "sklearn"]
    assert plain[0] == "torch\t0.36354803967297755"
    csv = bce("compare", "p.csv", "y.csv", "-f", "csv").stdout.splitlines()
    assert csv[0] == "convention,loss,reduction,dtype,differs" and len(csv) == 4
    shown = bce("compare", "p.csv", "y.csv", "-f", "table").stdout
    assert "three ways" in shown and "clips p to [1e-7, 1−1e-7]" in shown
