"""`bce diff A B [TARGETS]` (issue 14): Δ = B − A and its paired interval against numpy on
the paired differences, computed here from an independent formula; a model against itself
gives exactly 0 and [0, 0]; better/worse rows; pairing by id; errors; --max-regression;
the options apply to both models; memory stays flat in N."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import BCE, Files, Run

Z = 1.959963984540054  # Φ⁻¹(0.975), as the task gives it
FloatArray = np.ndarray[Any, np.dtype[np.float64]]


def bce_losses(p: FloatArray, y: FloatArray, w: FloatArray | None = None) -> FloatArray:
    """PyTorch's BCELoss per element, from its definition (the log clamped at −100)."""
    with np.errstate(divide="ignore"):
        losses = -(y * np.maximum(np.log(p), -100) + (1 - y) * np.maximum(np.log1p(-p), -100))
    return losses if w is None else w * losses


def logit_losses(x: FloatArray, y: FloatArray) -> FloatArray:
    """BCEWithLogitsLoss per element: (1 − y)·x + log(1 + e^−|x|) + max(−x, 0)."""
    return (1 - y) * x + np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)


def reference(a: FloatArray, b: FloatArray, reduction: str, w: FloatArray | None
              ) -> tuple[float, float, float, float, float]:
    """loss_a, loss_b, Δ and its interval, from the per-element (weighted) losses with
    numpy: the paired differences' variance (ddof=1), or the ratio estimator's."""
    d = (b - a).ravel()
    n = d.size
    if reduction == "weighted-mean":
        weights = np.broadcast_to(w if w is not None else 1.0, a.shape).ravel()
        total = weights.sum()
        ratio = d.sum() / total
        half = Z * math.sqrt(n / (n - 1) * np.sum((d - ratio * weights) ** 2) / total ** 2)
        return a.sum() / total, b.sum() / total, ratio, ratio - half, ratio + half
    scale = n if reduction == "sum" else 1
    centre = d.mean() * scale
    half = Z * math.sqrt(np.var(d, ddof=1) / n) * scale
    return a.mean() * scale, b.mean() * scale, centre, centre - half, centre + half


def column(values: FloatArray) -> str:
    """A CSV file: one value a line, or a row of values, with a header."""
    if values.ndim == 1:
        return "v\n" + "".join(f"{v!r}\n" for v in values.tolist())
    header = ",".join(f"c{j}" for j in range(values.shape[1]))
    return header + "\n" + "".join(",".join(map(repr, row)) + "\n" for row in values.tolist())


def diff_json(bce: Run, *args: str) -> dict[str, Any]:
    result = bce("diff", *args, "--json")
    assert result.exit_code == 0, result.stderr
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def close(got: float, expected: float, scale: float) -> bool:
    """Equal to rounding: relative to the loss's own size (a difference of two losses
    cancels, so its error is that of the losses)."""
    return abs(got - expected) <= 1e-12 * scale + 1e-15


@pytest.mark.parametrize("reduction", ["mean", "sum", "weighted-mean"])
@pytest.mark.parametrize("classes", [1, 3])
@pytest.mark.parametrize("weighted", [False, True])
def test_the_interval_is_numpys_on_the_paired_differences(
        bce: Run, files: Files, reduction: str, classes: int, weighted: bool) -> None:
    rng = np.random.default_rng(14 + classes)
    shape = (600,) if classes == 1 else (600, classes)
    y = (rng.random(shape) < 0.4).astype(float)
    pa = rng.uniform(0.01, 0.99, shape)
    pb = np.clip(pa + rng.normal(0, 0.05, shape), 0.001, 0.999)
    w = rng.uniform(0.1, 3.0, 600) if weighted else None
    files(a__csv=column(pa), b__csv=column(pb), y__csv=column(y),
          **({"w__csv": column(w)} if w is not None else {}))
    weight_args = ["--weights", "w.csv"] if weighted else []
    out = diff_json(bce, "a.csv", "b.csv", "y.csv", "-r", reduction, *weight_args)
    wide = None if w is None else (w if classes == 1 else w[:, np.newaxis])
    a, b = bce_losses(pa, y, wide), bce_losses(pb, y, wide)
    loss_a, loss_b, delta, low, high = reference(a, b, reduction, wide)
    scale = max(abs(loss_a), abs(loss_b))
    assert close(out["loss_a"], loss_a, scale) and close(out["loss_b"], loss_b, scale)
    assert close(out["delta"], delta, scale), (out["delta"], delta)
    assert close(out["delta_ci95"][0], low, scale) and close(out["delta_ci95"][1], high, scale)
    assert out["delta_ci95"][0] < out["delta"] < out["delta_ci95"][1]
    rows = (b - a) if classes == 1 else (b - a).sum(axis=1)
    assert (out["better_rows"], out["worse_rows"], out["rows"]) == \
        (int((rows < 0).sum()), int((rows > 0).sum()), 600)
    assert out["better"] == out["better_rows"] / 600 and out["worse"] == out["worse_rows"] / 600
    if classes == 1:
        assert "per_class" not in out
        return
    assert [item["class"] for item in out["per_class"]] == ["c0", "c1", "c2"]
    for j, item in enumerate(out["per_class"]):
        wj = None if wide is None else wide[:, 0]
        expected = reference(a[:, j], b[:, j], reduction, wj)
        got = (item["loss_a"], item["loss_b"], item["delta"], *item["delta_ci95"])
        assert all(close(g, e, scale) for g, e in zip(got, expected, strict=True)), (got, expected)


probabilities = st.floats(0.0, 1.0)
rows = st.lists(st.tuples(probabilities, st.sampled_from([0.0, 1.0, 0.3]),
                          st.floats(0.0, 100.0)), min_size=2, max_size=40)


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=rows, reduction=st.sampled_from(["mean", "sum", "weighted-mean"]),
       weighted=st.booleans())
def test_a_model_against_itself_is_exactly_zero(bce: Run, files: Files,
                                                data: list[tuple[float, float, float]],
                                                reduction: str, weighted: bool) -> None:
    p, y, w = (np.array(v) for v in zip(*data, strict=True))
    if weighted and reduction == "weighted-mean" and not w.sum():
        w[0] = 1.0  # weights summing to 0 are an error of their own
    files(a__csv=column(p), y__csv=column(y), w__csv=column(w))
    out = diff_json(bce, "a.csv", "a.csv", "y.csv", "-r", reduction,
                    *(["--weights", "w.csv"] if weighted else []))
    assert out["delta"] == 0 and out["delta_ci95"] == [0, 0]
    assert out["loss_a"] == out["loss_b"]
    assert (out["better_rows"], out["worse_rows"]) == (0, 0)


def test_pairing_by_id_gives_what_pairing_in_order_gives(bce: Run, files: Files) -> None:
    rng = np.random.default_rng(7)
    p, q = rng.random(50).tolist(), rng.random(50).tolist()
    y = (rng.random(50) < 0.5).astype(float).tolist()
    order = rng.permutation(50).tolist()
    files(a__csv="v\n" + "".join(f"{v!r}\n" for v in p),
          b__csv="v\n" + "".join(f"{v!r}\n" for v in q),
          y__csv="v\n" + "".join(f"{v!r}\n" for v in y),
          ai__csv="id,p\n" + "".join(f"r{i},{p[i]!r}\n" for i in range(50)),
          bi__csv="id,p\n" + "".join(f"r{i},{q[i]!r}\n" for i in order),
          yi__csv="id,y\n" + "".join(f"r{i},{y[i]!r}\n" for i in range(50)))
    in_order = diff_json(bce, "a.csv", "b.csv", "y.csv")
    by_id = diff_json(bce, "ai.csv", "bi.csv", "yi.csv", "--id-col", "id")
    keys = ("loss_a", "loss_b", "delta", "delta_ci95", "better_rows", "worse_rows")
    assert {k: by_id[k] for k in keys} == {k: in_order[k] for k in keys}
    assert (by_id["id_col"], by_id["joined"]) == ("id", 50)


def test_one_file_of_predictions_and_targets_each(bce: Run, files: Files) -> None:
    """TARGETS omitted: A and B each hold a target column; B's must equal A's."""
    files(a__csv="p,y\n0.8,1\n0.3,0\n0.6,1\n", b__csv="p,y\n0.7,1\n0.4,0\n0.9,1\n",
          bad__csv="p,y\n0.7,1\n0.4,1\n0.9,1\n", two__csv="p\n0.8\n0.3\n0.6\n",
          y__csv="y\n1\n0\n1\n")
    together = diff_json(bce, "a.csv", "b.csv")
    apart = diff_json(bce, "two.csv", "b.csv", "y.csv")  # B's target column checked too
    assert together["delta"] == apart["delta"]
    result = bce("diff", "a.csv", "bad.csv")
    assert (result.exit_code, result.stdout) == (2, "")
    assert result.stderr == (
        "bce: error: bad.csv:3: target 1.0 here but 0.0 at a.csv:3: B's rows are not the "
        "targets' rows\nhint: give B the same rows in the same order, or pair them by id "
        "with --id-col\n")
    assert bce("diff", "two.csv", "bad.csv", "y.csv").stderr.startswith(
        "bce: error: bad.csv:3: target 1.0 here but 0.0 at y.csv:3:")


@pytest.mark.parametrize(("args", "message"), [
    (("a.csv", "short.csv", "y.csv"),
     "bce: error: a.csv:3: more predictions than B's predictions (short.csv has 2)\n"),
    (("short.csv", "a.csv", "y.csv"),
     "bce: error: y.csv:3: more targets than predictions (short.csv has 2)\n"),
    (("a.csv", "bad.csv", "y.csv"),
     "bce: error: bad.csv:3: prediction 1.5 is outside [0, 1]\n"
     "hint: if these are logits (raw scores), pass --logits\n"),
    (("a.csv", "gap.csv", "y.csv"),
     "bce: error: gap.csv:3: a missing value\nhint: pass --skip-missing to leave out every "
     "row with a missing value, in all the inputs alike\n"),
    (("ai.csv", "bi.csv", "yi.csv", "--id-col", "id"),
     "bce: error: ai.csv:3: id 'k2' of ai.csv is not in bi.csv\nhint: --id-col pairs every "
     "row with the row of the same id in each input: an id must be in all of them\n"),
    (("a.csv", "wide.csv", "y.csv"),
     "bce: error: wide.csv: B's predictions have shape (N, 2) but predictions have shape "
     "(N,)\n"),
    (("a.csv", "b.csv", "y.csv", "-r", "none"),
     "bce: error: Invalid value for '--reduction' / '-r': 'none' is not one of 'mean', "
     "'sum', 'weighted-mean'.\nhint: see 'bce diff --help'\n"),
    (("a.csv", "b.csv", "y.csv", "--max-regression", "inf"),
     "bce: error: --max-regression must be a finite number, not inf\n"),
    (("-", "-", "y.csv"), "bce: error: only one input can be read from stdin ('-')\n"),
])
def test_errors_name_the_file_and_line(bce: Run, files: Files, args: tuple[str, ...],
                                       message: str) -> None:
    files(a__csv="0.8\n0.3\n0.6\n", b__csv="0.7\n0.2\n0.5\n", short__csv="0.8\n0.3\n",
          bad__csv="0.8\n0.3\n1.5\n", gap__csv="0.8\n0.3\n\n0.5\n", y__csv="1\n0\n1\n",
          wide__csv="0.8,0.1\n0.3,0.2\n0.6,0.3\n",
          ai__csv="id,p\nk1,0.8\nk2,0.3\n", bi__csv="id,p\nk1,0.7\nk3,0.3\n",
          yi__csv="id,y\nk1,1\nk2,0\n")
    result = bce("diff", *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


def test_max_regression_exits_1_only_on_a_regression_beyond_noise(bce: Run, files: Files
                                                                   ) -> None:
    rng = np.random.default_rng(3)
    y = (rng.random(400) < 0.5).astype(float)
    good = np.where(y == 1, rng.uniform(0.6, 0.95, 400), rng.uniform(0.05, 0.4, 400))
    worse = np.clip(good + np.where(y == 1, -0.2, 0.2), 0.01, 0.99)
    files(good__csv=column(good), worse__csv=column(worse), y__csv=column(y))
    out = diff_json(bce, "good.csv", "worse.csv", "y.csv")
    low, high = out["delta_ci95"]
    assert low > 0  # B is worse, beyond noise
    failed = bce("diff", "good.csv", "worse.csv", "y.csv", "--max-regression", "0", "--json")
    assert failed.exit_code == 1 and json.loads(failed.stdout)["passed"] is False
    assert failed.stderr == (
        f"bce: Δ {out['delta']!r} is a regression beyond noise: its 95% interval "
        f"[{low!r}, {high!r}] lies above --max-regression 0.0\n")
    above = bce("diff", "good.csv", "worse.csv", "y.csv", "--max-regression", repr(low), "--json")
    assert (above.exit_code, above.stderr) == (0, "")  # the bound is the lower end: not above
    improved = bce("diff", "worse.csv", "good.csv", "y.csv", "--max-regression", "0", "-f",
                   "plain")
    assert (improved.exit_code, improved.stderr) == (0, "")
    assert float(improved.stdout) == -out["delta"]
    self_compare = bce("diff", "good.csv", "good.csv", "y.csv", "--max-regression", "0",
                       "--json")
    assert self_compare.exit_code == 0
    files(one__csv="p,y\n0.5,1\n")
    one = bce("diff", "one.csv", "one.csv", "--max-regression", "0")
    assert (one.exit_code, one.stdout) == (2, "")
    assert one.stderr == ("bce: error: --max-regression 0.0 cannot decide: Δ has no interval "
                          "(it needs two or more elements and finite losses)\n")


def test_check_gates_the_printed_delta_and_losses(bce: Run, files: Files) -> None:
    """`--check 'delta < X'` judges the Δ the JSON prints; several checks and
    --max-regression each get a line in `checks`; a failed one exits 1 with its line."""
    rng = np.random.default_rng(4)
    y = (rng.random(300) < 0.5).astype(float)
    a = np.where(y == 1, rng.uniform(0.5, 0.9, 300), rng.uniform(0.1, 0.5, 300))
    b = np.clip(a + np.where(y == 1, 0.05, -0.05), 0.01, 0.99)  # B better
    files(a__csv=column(a), b__csv=column(b), y__csv=column(y))
    out = diff_json(bce, "a.csv", "b.csv", "y.csv")
    delta, loss_b = out["delta"], out["loss_b"]
    held = bce("diff", "a.csv", "b.csv", "y.csv", "--check", f"delta <= {delta!r}", "--check",
               f"loss_b>={loss_b!r}", "--max-regression", "0", "--json")
    assert held.exit_code == 0, held.stderr
    result = json.loads(held.stdout)
    assert result["passed"] is True
    assert [(c["expression"], c["option"], c["passed"]) for c in result["checks"]] == [
        ("delta_ci95 low <= 0.0", "--max-regression", True),
        (f"delta <= {delta!r}", "--check", True), (f"loss_b >= {loss_b!r}", "--check", True)]
    failed = bce("diff", "a.csv", "b.csv", "y.csv", "--check", f"delta < {delta!r}", "--json")
    assert failed.exit_code == 1 and json.loads(failed.stdout)["passed"] is False
    assert failed.stderr == f"bce: check 'delta < {delta!r}' failed: delta is {delta!r}\n"


@pytest.mark.parametrize(("check", "message"), [
    ("auc > 0.5", "--check 'auc > 0.5': unknown metric 'auc'\nhint: a check is METRIC OP "
     "NUMBER; OP: <, <=, > or >=; METRIC: delta, loss_a, loss_b, better, worse"),
    ("each:delta < 0", "--check 'each:delta < 0': each: needs --by (a check on every slice)"
     "\nhint: drop each: to check the whole input"),
])
def test_check_refuses_what_diff_does_not_print(bce: Run, files: Files, check: str,
                                               message: str) -> None:
    result = bce("diff", "a.csv", "b.csv", "y.csv", "--check", check)  # before any input
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"bce: error: {message}\n")


@pytest.mark.parametrize("options", [
    ("--logits",), ("--like", "keras"), ("--like", "sklearn"), ("--dtype", "float32"),
    ("--eps", "0.01"), ("--focal-gamma", "2", "--focal-alpha", "0.25"),
    ("--pos-weight", "3", "--label-smoothing", "0.1"), ("--class-weights", "2"),
])
def test_every_compute_option_applies_to_both_models(bce: Run, files: Files,
                                                     options: tuple[str, ...]) -> None:
    """Each model's loss is what `bce compute` gives it under the same options."""
    logits = "--logits" in options
    rng = np.random.default_rng(5)
    a = rng.normal(0, 2, 200) if logits else rng.choice([0.0, 1.0, 0.3, 0.7, 1e-9], 200)
    b = rng.normal(0, 2, 200) if logits else rng.choice([0.0, 1.0, 0.2, 0.9], 200)
    y = (rng.random(200) < 0.5).astype(float)
    files(a__csv=column(a), b__csv=column(b), y__csv=column(y))
    out = diff_json(bce, "a.csv", "b.csv", "y.csv", *options)
    for name, key in (("a.csv", "loss_a"), ("b.csv", "loss_b")):
        result = bce("compute", name, "y.csv", *options, "--json")
        assert result.exit_code == 0, result.stderr
        assert out[key] == json.loads(result.stdout)["loss"]
    if logits:
        reference_a, reference_b = logit_losses(a, y).mean(), logit_losses(b, y).mean()
        assert close(out["loss_a"], reference_a, 1) and close(out["loss_b"], reference_b, 1)


def test_table_and_plain(bce: Run, files: Files) -> None:
    files(a__csv="p,y\n0.8,1\n0.3,0\n0.6,1\n", b__csv="p,y\n0.7,1\n0.4,0\n0.9,1\n")
    out = diff_json(bce, "a.csv", "b.csv")
    table = bce("diff", "a.csv", "b.csv", "-f", "table")
    assert table.exit_code == 0
    shown = table.stdout.splitlines()
    assert shown[0].startswith("Binary cross-entropy, B against A")
    assert any(line.split("│")[1:3] == [" Δ = B − A ", f" {out['delta']!r}".ljust(
        len(line.split("│")[2]))] for line in shown if "│" in line)
    assert any(f"[{out['delta_ci95'][0]!r}, {out['delta_ci95'][1]!r}]" in line for line in shown)
    assert any("B better" in line and "(1 of 3 rows)" in line for line in shown)
    plain = bce("diff", "a.csv", "b.csv", "-f", "plain")
    assert plain.stdout == f"{out['delta']!r}\n"


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss is in KiB on Linux")
def test_memory_stays_flat_on_a_2m_row_diff(tmp_path: Path) -> None:
    """Peak RSS of a whole `bce diff` on 2M rows is well under 150 MiB, and a diff of 6M
    rows peaks within a few MiB of it (the readers' blocks reach their full size before
    2M rows: below that the peak grows with them, for `compute` alike)."""
    def write(rows: int, folder: Path) -> None:
        folder.mkdir()
        rng = np.random.default_rng(rows)
        for name in ("a", "b"):
            digits = rng.integers(0, 10**6, rows)
            text = np.empty((rows, 9), np.uint8)  # "0.dddddd\n"
            text[:, 0], text[:, 1], text[:, 8] = ord("0"), ord("."), ord("\n")
            for k in range(6):
                text[:, 7 - k] = ord("0") + digits % 10
                digits //= 10
            (folder / f"{name}.csv").write_bytes(text.tobytes())
        labels = np.full((rows, 2), ord("\n"), np.uint8)
        labels[:, 0] = ord("0") + (rng.random(rows) < 0.3)
        (folder / "y.csv").write_bytes(labels.tobytes())

    measure = ("import resource, subprocess, sys; out = subprocess.run(sys.argv[1:], "
               "check=True, capture_output=True).stdout; print(resource.getrusage("
               "resource.RUSAGE_CHILDREN).ru_maxrss); sys.stdout.buffer.write(out)")
    peaks = []
    for rows in (2_000_000, 6_000_000):
        write(rows, tmp_path / str(rows))
        done = subprocess.run([sys.executable, "-c", measure, BCE, "diff", "a.csv", "b.csv",
                               "y.csv", "--json"], cwd=tmp_path / str(rows),
                              capture_output=True, text=True, timeout=600, check=True)
        peak, result = done.stdout.split("\n", 1)
        assert json.loads(result)["rows"] == rows
        peaks.append(int(peak) / 1024)  # MiB
    print(f"peak RSS: {peaks[0]:.1f} MiB at 2M rows, {peaks[1]:.1f} MiB at 6M")
    assert max(peaks) < 150, peaks
    assert peaks[1] - peaks[0] < 8, peaks


def test_infinite_losses_give_no_interval_and_the_gate_decides_only_infinity(
        bce: Run, files: Files) -> None:
    files(a__csv="x\n-inf\n1.0\n2\n", b__csv="x\n0.5\n1.0\n2\n", y__csv="y\n1\n0\n1\n")
    itself = diff_json(bce, "a.csv", "a.csv", "y.csv", "--logits")
    assert (itself["loss_a"], itself["delta"], itself["delta_ci95"]) == (math.inf, None, None)
    assert (itself["better_rows"], itself["worse_rows"]) == (0, 0)
    worse = bce("diff", "b.csv", "a.csv", "y.csv", "--logits", "--max-regression", "1",
                "-f", "plain")
    assert (worse.exit_code, worse.stdout) == (1, "1e999\n")
    assert worse.stderr == ("bce: Δ is +inf (B's loss is infinite): a regression beyond "
                            "--max-regression 1.0\n")
    better = bce("diff", "a.csv", "b.csv", "y.csv", "--logits", "--max-regression", "1",
                 "-f", "plain")
    assert (better.exit_code, better.stdout, better.stderr) == (0, "-1e999\n", "")
