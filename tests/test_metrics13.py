"""`bce compute --metrics` after issue 13, end to end: the golden cases the library
layer was checked with (torcheval's NE and calibration, scikit-learn's accuracy,
Brier, calibration_curve, roc_auc_score and average_precision_score, written by
scripts/make_golden_metrics.py and make_golden_ranking.py), through the CLI;
--base, --negative-sampling-rate, --binning mass and --bootstrap against exact
formulas; the exact error messages; the table's width; and 10M rows under 150 MiB."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.helpers import BCE, ROOT, Files, Run, output, refused

METRICS = json.loads((ROOT / "tests" / "golden" / "metrics_cases.json").read_text())["cases"]
RANKING = json.loads((ROOT / "tests" / "golden" / "ranking_cases.json").read_text())["cases"]


def lines(values: list[float]) -> str:
    return "".join(f"{v!r}\n" for v in values)


def run_case(bce: Run, files: Files, p: list[float], y: list[float], w: list[float] | None,
             *args: str) -> dict[str, Any]:
    """`bce compute p.csv y.csv [--weights w.csv] --metrics ARGS --json`."""
    files(p__csv=lines(p), y__csv=lines(y), w__csv=lines(w or []))
    weights = ["--weights", "w.csv"] if w is not None else []
    return output(bce, "p.csv", "y.csv", *weights, "--metrics", *args)


@pytest.mark.parametrize("case", METRICS, ids=[c["name"] for c in METRICS])
def test_metrics_match_torcheval_and_scikit_learn(bce: Run, files: Files,
                                                  case: dict[str, Any]) -> None:
    args = ["--bins", str(case["bins"]), "--threshold", str(case["threshold"])]
    got = run_case(bce, files, case["input"], case["target"], case["weight"],
                   *args, *(["--logits"] if case["logits"] else []))["metrics"]
    one_class = got["mean_label"] in (0.0, 1.0)
    if one_class:  # torcheval clamps the base rate and gives ~1e14: bce says undefined
        assert got["normalized_entropy"] is None and case["torcheval_ne"] > 1e13
    else:
        assert got["normalized_entropy"] == pytest.approx(case["torcheval_ne"], rel=1e-12)
        assert got["relative_information_gain"] == \
            pytest.approx(1 - case["torcheval_ne"], rel=1e-11)
    if math.isinf(case["torcheval_calibration"]):  # no positive label: Σw·y = 0
        assert got["calibration"] is None
    else:
        assert got["calibration"] == pytest.approx(case["torcheval_calibration"], rel=1e-12)
    assert got["accuracy"] == pytest.approx(case["sklearn_accuracy"], rel=1e-12)
    if case["sklearn_brier"] is not None:
        assert got["brier"] == pytest.approx(case["sklearn_brier"], rel=1e-12)
    if case["sklearn_bins"] is not None:  # calibration_curve's non-empty bins
        shown = [b for b in got["calibration_bins"] if b["weight"] > 0]
        assert [b["mean_prediction"] for b in shown] == \
            pytest.approx(case["sklearn_bins"][0], rel=1e-12)
        assert [b["mean_label"] for b in shown] == \
            pytest.approx(case["sklearn_bins"][1], rel=1e-12)


@pytest.mark.parametrize("case", RANKING, ids=[c["name"] for c in RANKING])
def test_ranking_matches_scikit_learn(bce: Run, files: Files, case: dict[str, Any]) -> None:
    got = run_case(bce, files, case["scores"], case["targets"], case["weights"])["metrics"]
    for key in ("roc_auc", "average_precision"):
        if case[key] is None:
            assert got[key] is None, key
        else:
            assert got[key] == pytest.approx(case[key], rel=1e-12, abs=1e-15), key
        assert f"{key}_bounds" not in got  # a few scores: each its own bucket, exact


def test_base_2_gives_every_loss_in_bits(bce: Run, files: Files) -> None:
    p, y = [0.9, 0.2, 0.7, 0.4, 0.6], [1.0, 0.0, 1.0, 1.0, 0.0]
    nats = [-math.log(q if t else 1 - q) for q, t in zip(p, y, strict=True)]
    got = run_case(bce, files, p, y, None, "--base", "2", "--top", "1")
    assert got["base"] == 2
    assert got["loss"] == pytest.approx(math.fsum(nats) / 5 / math.log(2), rel=1e-15)
    assert got["top"][0]["loss"] == pytest.approx(max(nats) / math.log(2), rel=1e-15)
    rate = 3 / 5
    entropy = -rate * math.log2(rate) - (1 - rate) * math.log2(1 - rate)
    assert got["metrics"]["prior_entropy"] == pytest.approx(entropy, rel=1e-15)
    nats_run = run_case(bce, files, p, y, None)
    assert "base" not in nats_run
    assert got["metrics"]["normalized_entropy"] == nats_run["metrics"]["normalized_entropy"]
    assert got["metrics"]["loss_ci95"] == pytest.approx(
        [v / math.log(2) for v in nats_run["metrics"]["loss_ci95"]], rel=1e-15)
    assert output(bce, "p.csv", "y.csv", "--base", "e")["loss"] == nats_run["loss"]


def test_negative_sampling_rate_recalibrates_the_loss_and_the_metrics(bce: Run,
                                                                      files: Files) -> None:
    p, y, rate = [0.9, 0.2, 0.7, 0.4, 0.6, 0.05], [1.0, 0.0, 1.0, 1.0, 0.0, 0.0], 0.25
    q = [v / (v + (1 - v) / rate) for v in p]  # TorchRec's formula, in this order
    got = run_case(bce, files, p, y, None, "--negative-sampling-rate", str(rate))
    assert got["negative_sampling_rate"] == rate
    expected = math.fsum(-math.log(v if t else 1 - v) for v, t in zip(q, y, strict=True)) / 6
    assert got["loss"] == pytest.approx(expected, rel=1e-15)
    assert got["metrics"]["mean_prediction"] == pytest.approx(math.fsum(q) / 6, rel=1e-15)
    # with logits the same map is x + ln R: equal to rounding
    files(x__csv=lines([math.log(v / (1 - v)) for v in p]))
    logits = output(bce, "x.csv", "y.csv", "--logits", "--metrics",
                    "--negative-sampling-rate", str(rate))
    assert logits["loss"] == pytest.approx(expected, rel=1e-13)
    assert logits["metrics"]["mean_prediction"] == pytest.approx(math.fsum(q) / 6, rel=1e-13)


def test_equal_mass_bins_hold_equal_counts_and_their_ece(bce: Run, files: Files) -> None:
    rng = random.Random(5)
    p = [rng.random() for _ in range(400)]
    y = [float(rng.random() < v) for v in p]
    got = run_case(bce, files, p, y, None, "--binning", "mass", "--bins", "4")["metrics"]
    bins = got["calibration_bins"]
    assert got["binning"] == "mass" and [b["count"] for b in bins] == [100] * 4
    ranked = sorted(zip(p, y, strict=True))
    gaps = [abs(sum((Fraction(a) - Fraction(b) for a, b in ranked[k:k + 100]), Fraction(0)))
            for k in range(0, 400, 100)]
    assert got["ece"] == pytest.approx(float(sum(gaps) / 400), rel=1e-14)
    assert got["mce"] == pytest.approx(float(max(gaps) / 100), rel=1e-14)
    assert bins[1]["lower"] == ranked[100][0]  # a bin starts at its lowest score


def test_bootstrap_is_seeded_and_independent_of_blocks(bce: Run, files: Files,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from bcecli.readers import base

    rng = random.Random(9)
    p = [rng.random() for _ in range(500)]
    y = [float(rng.random() < v) for v in p]
    args = ("--bootstrap", "30")
    first = run_case(bce, files, p, y, None, *args)["metrics"]["bootstrap"]
    monkeypatch.setattr(base, "BLOCK_BYTES", 128)  # other blocks, the same rows' keys
    again = output(bce, "p.csv", "y.csv", "--metrics", *args)["metrics"]["bootstrap"]
    assert again.keys() == first.keys()
    for key, interval in first.items():  # each block's sums rounded once: equal to 1e-13
        assert again[key] == (interval if not isinstance(interval, list)
                              else pytest.approx(interval, rel=1e-13)), key
    assert (first["replicates"], first["seed"]) == (30, 0)
    other = output(bce, "p.csv", "y.csv", "--metrics", *args, "--seed", "1")
    assert other["metrics"]["bootstrap"]["loss_ci95"] != first["loss_ci95"]
    low, high = first["loss_ci95"]
    assert low < math.fsum(-math.log(v if t else 1 - v) for v, t in zip(p, y, strict=True)) \
        / 500 < high


def test_weights_and_class_weights_weigh_every_metric(bce: Run, files: Files) -> None:
    """Class weights multiply the row weights (PyTorch's weight of shape (C,)), for the
    metrics as for the loss: two classes weighted 2 and 0 are the first class twice."""
    files(p__csv="a,b\n0.9,0.3\n0.2,0.6\n0.7,0.1\n", y__csv="a,b\n1,0\n0,1\n1,1\n",
          a__csv="0.9\n0.2\n0.7\n", t__csv="1\n0\n1\n")
    both = output(bce, "p.csv", "y.csv", "--class-weights", "2,0", "--metrics")["metrics"]
    first = output(bce, "a.csv", "t.csv", "--metrics")["metrics"]
    for key in ("accuracy", "brier", "roc_auc", "average_precision", "ece", "calibration",
                "normalized_entropy", "mean_prediction", "mean_label"):
        assert both[key] == pytest.approx(first[key], rel=1e-15), key


@pytest.mark.parametrize(("args", "message"), [
    (["--bins", "5"], "--bins needs --metrics"),
    (["--binning", "mass"], "--binning needs --metrics"),
    (["--bootstrap", "10"], "--bootstrap needs --metrics"),
    (["--seed", "3"], "--seed needs --metrics"),
    (["--metrics", "--seed", "3"], "--seed needs --bootstrap"),
    (["--metrics", "--bins", "0"], "--bins must be in [1, 1000], not 0"),
    (["--metrics", "--bootstrap", "0"], "--bootstrap must be in [1, 10000], not 0"),
    (["--negative-sampling-rate", "0"], "--negative-sampling-rate must be in (0, 1], not 0.0"),
    (["--negative-sampling-rate", "1.5"],
     "--negative-sampling-rate must be in (0, 1], not 1.5"),
    (["--base", "2", "-r", "none"], "--base applies to a reduced loss: not with -r none"),
    (["--base", "2", "--baseline", "b.json"],
     "--base cannot be used with --baseline, which is in nats"),
    (["--partial", "--base", "2"], "--partial keeps losses in nats, as bce merge prints them: "
     "use --base without --partial"),
    (["--partial", "--metrics", "--bootstrap", "5"], "--bootstrap with --partial needs "
     "--id-col: each shard numbers its rows from 1, so only an id draws a row's replicates "
     "alike in every shard and in one run"),
])
def test_option_errors(bce: Run, files: Files, args: list[str], message: str) -> None:
    files(p__csv="0.9\n", y__csv="1\n", b__json='{"loss": 0.1}')
    assert refused(bce, "p.csv", "y.csv", *args).splitlines()[0] == f"bce: error: {message}"


def test_a_target_a_metric_cannot_take_is_one_error(bce: Run, files: Files) -> None:
    files(p__csv="0.5\n1.5\n", y__csv="1\n2\n")
    stderr = refused(bce, "p.csv", "y.csv", "--logits", "--like", "torch", "--metrics")
    assert stderr == "bce: error: y.csv:2: target 2.0 is outside [0, 1]: --metrics needs " \
        "targets in [0, 1] and weights >= 0\n"


def test_the_table_fits_80_columns(bce: Run, files: Files,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    rng = random.Random(2)
    p = [rng.random() for _ in range(300)]
    files(p__csv=lines(p), y__csv=lines([float(rng.random() < v) for v in p]))
    result = bce("compute", "p.csv", "y.csv", "--metrics", "--bootstrap", "20", "-f", "table")
    assert result.exit_code == 0, result.stderr
    shown = result.stdout.splitlines()
    assert max(len(line) for line in shown) <= 80
    assert any(line.startswith("Reliability (width)") for line in shown)
    assert sum("█" in line for line in shown) >= 8  # a bar per bin with positives
    assert any("normalized entropy" in line for line in shown)


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_metrics_on_10m_rows_stay_under_150_mib(tmp_path: Path) -> None:
    """10M rows of 8-decimal scores (more distinct ones than the sketch holds): peak
    RSS of the whole `bce compute --metrics` under 150 MiB, and certified AUC bounds."""
    rows = 10_000_000
    rng = np.random.default_rng(13)
    digits = rng.integers(0, 10**8, rows)
    text = np.empty((rows, 11), np.uint8)  # "0.dddddddd\n", written as bytes
    text[:, 0], text[:, 1], text[:, 10] = ord("0"), ord("."), ord("\n")
    for k in range(8):
        text[:, 9 - k] = ord("0") + digits % 10
        digits //= 10
    (tmp_path / "p.csv").write_bytes(text.tobytes())
    del text, digits
    labels = np.full((rows, 2), ord("\n"), np.uint8)
    labels[:, 0] = ord("0") + (rng.random(rows) < 0.3)
    (tmp_path / "y.csv").write_bytes(labels.tobytes())
    del labels
    measure = ("import resource, subprocess, sys; out = subprocess.run(sys.argv[1:], "
               "check=True, capture_output=True).stdout; print(resource.getrusage("
               "resource.RUSAGE_CHILDREN).ru_maxrss); sys.stdout.buffer.write(out)")
    done = subprocess.run([sys.executable, "-c", measure, BCE, "compute", "p.csv", "y.csv",
                           "--metrics", "--json"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=600, check=True)
    peak, result = done.stdout.split("\n", 1)
    assert int(peak) < 150 * 1024, peak  # KiB
    metrics = json.loads(result)["metrics"]
    low, high = metrics["roc_auc_bounds"]
    assert low <= metrics["roc_auc"] <= high and high - low < 1e-4
    assert abs(metrics["roc_auc"] - 0.5) < 1e-3  # labels independent of the scores


def test_weighted_equal_mass_bins_split_the_weight_and_have_no_interval(bce: Run,
                                                                       files: Files) -> None:
    """With weights an equal-mass bin holds about 1/N of the weight; Σw² per bin is not
    kept, so there is no Wilson interval (null, never a guess)."""
    p = [(k + 0.5) / 8 for k in range(8)]
    w = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 5.0]
    got = run_case(bce, files, p, [0.0, 1.0] * 4, w, "--binning", "mass", "--bins", "2")
    bins = got["metrics"]["calibration_bins"]
    assert [(b["count"], b["weight"]) for b in bins] == [(6, 6.0), (2, 6.0)]
    assert all(b["label_ci95"] is None for b in bins)
