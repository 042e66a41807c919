"""`--check 'METRIC OP NUMBER'` (issue 14): gates on any number bce prints.

Every number a check is compared with comes from the tool's own JSON output: the
contract is that a check judges the number printed. Expressions are validated before
any input is read; a failed check is exit 1 with one stderr line, a bad one exit 2.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

from bcecli.gates import METRIC_KEYS, Check
from tests.helpers import ROOT, Files, Run, output

HINT = ("hint: a check is [each:]METRIC OP NUMBER; OP: <, <=, > or >=; METRIC: loss, ne, "
        "calibration, auc, ap, ece, mce, brier, accuracy or metrics.KEY, KEY: threshold, "
        "accuracy, brier, roc_auc, average_precision, ece, mce, normalized_entropy, "
        "relative_information_gain, calibration, mean_prediction, mean_label, prior_entropy\n")
SHORT_NAMES = {"ne": "normalized_entropy", "calibration": "calibration", "auc": "roc_auc",
               "ap": "average_precision", "ece": "ece", "mce": "mce", "brier": "brier",
               "accuracy": "accuracy"}
# Whether `value OP number` holds, for a number just below, equal to and just above it.
HOLDS = {"<": (False, False, True), "<=": (False, True, True),
         ">": (True, False, False), ">=": (True, True, False)}


@pytest.fixture
def data(files: Files) -> list[str]:
    """Four rows with both labels: every metric defined."""
    files(p__csv="0.8\n0.3\n0.6\n0.4\n", y__csv="1\n0\n1\n1\n")
    return ["p.csv", "y.csv"]


def near(value: float) -> tuple[float, float, float]:
    """The float just below `value`, `value`, and the float just above."""
    return math.nextafter(value, -math.inf), value, math.nextafter(value, math.inf)


def gated(bce: Run, *args: str) -> tuple[int, dict[str, Any], str]:
    """Exit code, the JSON printed (a failed check still prints it) and stderr."""
    result = bce("compute", *args, "--json")
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout), result.stderr


def usage_error(bce: Run, *args: str) -> str:
    result = bce(*args)
    assert (result.exit_code, result.stdout) == (2, ""), result.stderr
    return result.stderr


@pytest.mark.parametrize("op", list(HOLDS))
def test_each_operator_both_ways_and_at_equality(bce: Run, data: list[str], op: str) -> None:
    loss = output(bce, *data)["loss"]
    for number, holds in zip(near(loss), HOLDS[op], strict=True):
        expression = f"loss {op} {number!r}"
        code, out, stderr = gated(bce, *data, "--check", f"loss{op}{number!r}")
        assert out["checks"] == [{"expression": expression, "value": loss, "passed": holds,
                                  "option": "--check"}]
        assert (code, out["passed"]) == ((0, True) if holds else (1, False))
        assert stderr == ("" if holds else
                          f"bce: check {expression!r} failed: loss is {loss!r}\n")


@pytest.mark.parametrize("name", list(SHORT_NAMES))
def test_every_short_name_reads_its_printed_metric(bce: Run, data: list[str], name: str) -> None:
    value = output(bce, *data, "--metrics")["metrics"][SHORT_NAMES[name]]
    code, out, stderr = gated(bce, *data, "--metrics", "--check", f"{name} >= {value!r}",
                              "--check", f"{name} > {value!r}")
    assert out["checks"] == [
        {"expression": f"{name} >= {value!r}", "value": value, "passed": True,
         "option": "--check"},
        {"expression": f"{name} > {value!r}", "value": value, "passed": False,
         "option": "--check"}]
    assert (code, stderr) == (1, f"bce: check '{name} > {value!r}' failed: {name} is "
                                 f"{value!r}\n")


def test_metrics_keys_are_every_number_metrics_prints(bce: Run, data: list[str]) -> None:
    metrics = output(bce, *data, "--metrics")["metrics"]
    numbers = {key for key, value in metrics.items()
               if isinstance(value, int | float) and not isinstance(value, bool)}
    assert set(METRIC_KEYS) == numbers
    checks = [arg for key in METRIC_KEYS for arg in ("--check", f"metrics.{key} <= "
                                                     f"{metrics[key]!r}")]
    code, out, _ = gated(bce, *data, "--metrics", *checks)
    assert code == 0 and [c["value"] for c in out["checks"]] == [metrics[k] for k in METRIC_KEYS]


def test_an_undefined_metric_fails_saying_so(bce: Run, files: Files) -> None:
    files(p__csv="0.2\n0.4\n", y__csv="1\n1\n")  # one label only: NE and AUC undefined
    metrics = output(bce, "p.csv", "y.csv", "--metrics")["metrics"]
    assert (metrics["normalized_entropy"], metrics["roc_auc"]) == (None, None)
    code, out, stderr = gated(bce, "p.csv", "y.csv", "--metrics", "--check", "ne < 10",
                              "--check", "metrics.roc_auc >= 0")
    assert code == 1 and [(c["value"], c["passed"]) for c in out["checks"]] == \
        [(None, False), (None, False)]
    assert stderr == ("bce: check 'ne < 10.0' failed: ne is undefined (null in the JSON)\n"
                      "bce: check 'metrics.roc_auc >= 0.0' failed: metrics.roc_auc is "
                      "undefined (null in the JSON)\n")


@pytest.fixture
def merged_scores(files: Files, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """200 distinct scores in a sketch of 8 buckets: AUC and AP with certified bounds."""
    import bcecli.diagnostics
    import bcecli.ranking

    monkeypatch.setattr(bcecli.ranking, "DEFAULT_CAP", 8)
    monkeypatch.setattr(bcecli.diagnostics, "ARROW_CAP", 8)  # once pyarrow is imported
    rng = random.Random(14)
    scores = [round(rng.random(), 6) for _ in range(200)]
    files(p__csv="".join(f"{p}\n" for p in scores),
          y__csv="".join(f"{int(rng.random() < p)}\n" for p in scores))
    return ["p.csv", "y.csv", "--metrics"]


@pytest.mark.parametrize(("name", "key"), [("auc", "roc_auc"), ("ap", "average_precision")])
def test_a_check_holds_only_over_the_whole_certified_interval(bce: Run, merged_scores: list[str],
                                                              name: str, key: str) -> None:
    metrics = output(bce, *merged_scores)["metrics"]
    value, (low, high) = metrics[key], metrics[f"{key}_bounds"]
    assert low < value < high
    below = math.nextafter(value, -math.inf)  # the value passes `> below`, the interval not
    cases = [(f"{name} >= {low!r}", True, ""),
             (f"{name} < {math.nextafter(high, math.inf)!r}", True, ""),
             (f"{name} > {below!r}", False,
              f"{name} is {value!r}, but its certified bounds [{low!r}, {high!r}] straddle "
              f"{below!r}: the exact value may be on either side"),
             (f"{name} > {high!r}", False,
              f"{name} is {value!r} (certified bounds [{low!r}, {high!r}])")]
    for expression, holds, why in cases:
        code, out, stderr = gated(bce, *merged_scores, "--check", expression)
        assert out["checks"] == [{"expression": expression, "value": value, "passed": holds,
                                  "bounds": [low, high], "option": "--check"}]
        assert (code, stderr) == ((0, "") if holds else
                                  (1, f"bce: check {expression!r} failed: {why}\n"))


@pytest.mark.parametrize(("expression", "message"), [
    ("auc >> 0.7", "not METRIC OP NUMBER (OP: <, <=, > or >=)"),
    ("auc => 0.7", "not METRIC OP NUMBER (OP: <, <=, > or >=)"),
    ("auc == 0.7", "not METRIC OP NUMBER (OP: <, <=, > or >=)"),
    ("auc 0.7", "not METRIC OP NUMBER (OP: <, <=, > or >=)"),
    ("", "not METRIC OP NUMBER (OP: <, <=, > or >=)"),
    ("< 0.7", "no metric before <"),
    ("loss <=", "no number after <="),
    ("loss < x", "'x' is not a number"),
    ("loss < 0.5 0.6", "'0.5 0.6' is not a number"),
    ("loss < 1_000", "'1_000' is not a number"),
    ("loss < nan", "no value passes a comparison with NaN"),
    ("acu > 0.7", "unknown metric 'acu'"),
    ("AUC > 0.7", "unknown metric 'AUC'"),
    ("roc_auc > 0.7", "unknown metric 'roc_auc'"),
    ("metrics.binning > 1", "unknown metric 'metrics.binning'"),
    ("metrics.loss_ci95 > 1", "unknown metric 'metrics.loss_ci95'"),
    ("metrics. > 1", "unknown metric 'metrics.'"),
    ("each loss < 1", "unknown metric 'each loss'"),
])
def test_a_malformed_expression_is_a_usage_error_quoting_it(bce: Run, expression: str,
                                                            message: str) -> None:
    # No input exists: the expression is refused before any is read.
    assert usage_error(bce, "compute", "missing.csv", "y.csv", "--metrics", "--check", "loss < 1",
                       "--check", expression) == \
        f"bce: error: --check {expression!r}: {message}\n{HINT}"


def test_an_expression_is_quoted_on_one_line(bce: Run) -> None:
    assert usage_error(bce, "compute", "missing.csv", "--check", "lo\nss < 1") == \
        f"bce: error: --check 'lo\\nss < 1': unknown metric 'lo\\nss'\n{HINT}"


@pytest.mark.parametrize(("expression", "parsed"), [
    ("loss<1", ("loss", "<", 1.0)), ("  loss  <=  -2.5e-1 ", ("loss", "<=", -0.25)),
    ("auc>.5", ("auc", ">", 0.5)), ("metrics.brier >= 1E3", ("metrics.brier", ">=", 1000.0)),
    ("loss < inf", ("loss", "<", math.inf)), ("each:loss < 1", ("loss", "<", 1.0)),
    ("each : auc > 0.5", ("auc", ">", 0.5)),
])
def test_spaces_are_optional(expression: str, parsed: tuple[str, str, float]) -> None:
    check = Check.parse(expression)
    assert (check.metric, check.op, check.number) == parsed
    assert check.each is expression.lstrip().startswith("each")


def test_verdict_is_a_function_of_a_dict_of_numbers() -> None:
    """A check judges a result's dict; `each:` judges each of its slices' dicts."""
    check = Check.parse("auc > 0.5")
    assert check.verdict({"metrics": {"roc_auc": 0.75}}).held
    assert not check.verdict({"metrics": {"roc_auc": 0.25}}).held
    assert not check.verdict({"metrics": {"roc_auc": None}}).held
    assert check.verdict({"metrics": {"roc_auc": 0.75}}).to_json() == {
        "expression": "auc > 0.5", "value": 0.75, "passed": True, "option": "--check"}
    each = Check.parse("each: auc > 0.5")
    slices = [{"by": {"c": "x"}, "roc_auc": 0.75}, {"by": {"c": "y"}, "roc_auc": 0.25},
              {"by": None, "other": True, "roc_auc": None}]
    gate = each.verdict({"slices": slices})
    assert not gate.held and gate.value == 0.25
    assert gate.failed_slices == [{"by": {"c": "y"}, "value": 0.25}, {"by": None, "value": None}]
    assert gate.failure == ("check 'each:auc > 0.5' failed on 2 of 3 slices: c=y: auc is 0.25; "
                            "(other): auc is undefined (null in the JSON)")
    assert each.verdict({"slices": slices[:1]}).held


def test_each_needs_by(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n", y__csv="1\n0\n")
    assert usage_error(bce, "compute", "p.csv", "y.csv", "--check", "each: loss < 1") == (
        "bce: error: --check 'each: loss < 1': each: needs --by (a check on every slice)\n"
        "hint: drop each: to check the whole input\n")
    files(part__json=bce("compute", "p.csv", "y.csv", "--partial").stdout)
    assert usage_error(bce, "merge", "part.json", "--check", "each: loss < 1") == (
        "bce: error: --check 'each: loss < 1': each: needs --by (a check on every slice)\n"
        "hint: drop each: to check the whole input\n")


def test_a_metrics_check_needs_metrics(bce: Run, data: list[str]) -> None:
    assert usage_error(bce, "compute", *data, "--check", "loss < 1", "--check", "ece<0.1") == (
        "bce: error: --check 'ece<0.1' needs --metrics\n"
        "hint: add --metrics: a check never turns it on\n")
    assert usage_error(bce, "compute", *data, "--check", "metrics.mean_label > 0") == (
        "bce: error: --check 'metrics.mean_label > 0' needs --metrics\n"
        "hint: add --metrics: a check never turns it on\n")


def test_a_loss_check_needs_a_single_loss(bce: Run, data: list[str]) -> None:
    for reduction in ("none", "rows"):
        assert usage_error(bce, "compute", *data, "-r", reduction, "--check", "loss < 1") == (
            f"bce: error: --check 'loss < 1' needs a single loss; it cannot be used with "
            f"-r {reduction}\n")
    auc = output(bce, *data, "--metrics")["metrics"]["roc_auc"]
    code, out, _ = gated(bce, *data, "-r", "none", "--metrics", "--check", f"auc >= {auc!r}")
    assert code == 0 and out["checks"][0]["passed"] is True


def test_checks_are_not_for_partial(bce: Run, data: list[str]) -> None:
    assert usage_error(bce, "compute", *data, "--partial", "--check", "loss < 1") == (
        "bce: error: --partial prints JSON for bce merge: use it without -r none or rows, "
        "--format and the CI gates (give those to bce merge)\n")


def test_merge_takes_loss_checks(bce: Run, files: Files) -> None:
    files(p1__csv="0.8\n0.3\n", y1__csv="1\n0\n", p2__csv="0.6\n", y2__csv="1\n")
    for k in (1, 2):
        files(**{f"part{k}__json": bce("compute", f"p{k}.csv", f"y{k}.csv", "--partial").stdout})
    parts = ["merge", "part1.json", "part2.json"]
    loss = json.loads(bce(*parts, "--json").stdout)["loss"]
    held = bce(*parts, "--check", f"loss <= {loss!r}", "--json")
    assert held.exit_code == 0 and json.loads(held.stdout)["checks"] == [
        {"expression": f"loss <= {loss!r}", "value": loss, "passed": True, "option": "--check"}]
    failed = bce(*parts, "--check", f"loss < {loss!r}", "-f", "plain")
    assert (failed.exit_code, failed.stdout, failed.stderr) == (
        1, f"{loss!r}\n", f"bce: check 'loss < {loss!r}' failed: loss is {loss!r}\n")
    assert usage_error(bce, *parts, "--check", "auc > 0.5") == \
        "bce: error: --check 'auc > 0.5' needs --metrics: the parts were computed without " \
        "it\nhint: make them with bce compute ... --metrics --partial\n"
    assert usage_error(bce, "merge", "missing.json", "--check", "loss <") == \
        f"bce: error: --check 'loss <': no number after <\n{HINT}"


def test_merge_checks_the_metrics_its_parts_hold(bce: Run, files: Files) -> None:
    """Parts computed with --metrics: a metric check judges the merged metrics, as one run's
    check judges its own."""
    files(p__csv="0.8\n0.3\n0.6\n0.2\n", y__csv="1\n0\n1\n1\n", p1__csv="0.8\n0.3\n",
          y1__csv="1\n0\n", p2__csv="0.6\n0.2\n", y2__csv="1\n1\n")
    for k in (1, 2):
        files(**{f"part{k}__json": bce("compute", f"p{k}.csv", f"y{k}.csv", "--metrics",
                                       "--partial").stdout})
    auc = output(bce, "p.csv", "y.csv", "--metrics")["metrics"]["roc_auc"]
    held = bce("merge", "part1.json", "part2.json", "--check", f"auc >= {auc!r}", "--json")
    assert held.exit_code == 0, held.stderr
    assert json.loads(held.stdout)["checks"] == [
        {"expression": f"auc >= {auc!r}", "value": auc, "passed": True, "option": "--check"}]
    failed = bce("merge", "part1.json", "part2.json", "--check", f"auc > {auc!r}", "--json")
    assert failed.exit_code == 1 and 0 < auc < 1
    assert failed.stderr == f"bce: check 'auc > {auc!r}' failed: auc is {auc!r}\n"


def test_the_json_lists_every_gate_and_keeps_the_old_keys(bce: Run, data: list[str],
                                                          files: Files) -> None:
    plain = output(bce, *data, "--metrics")
    loss, auc = plain["loss"], plain["metrics"]["roc_auc"]
    assert plain["checks"] == [] and plain["passed"] is None
    files(base__json=json.dumps({"loss": loss, "reduction": "mean"}))
    code, out, stderr = gated(bce, *data, "--metrics", "--check", f"auc < {auc!r}",
                              "--max-loss", "1", "--min-loss", "0.5", "--baseline", "base.json",
                              "--tolerance", "0.5", "--check", "loss > 0")
    assert {key: out[key] for key in ("max_loss", "min_loss", "baseline", "baseline_loss",
                                      "tolerance", "passed")} == \
        {"max_loss": 1.0, "min_loss": 0.5, "baseline": "base.json", "baseline_loss": loss,
         "tolerance": 0.5, "passed": False}
    assert out["checks"] == [
        {"expression": "loss <= 1.0", "value": loss, "passed": True, "option": "--max-loss"},
        {"expression": "loss >= 0.5", "value": loss, "passed": loss >= 0.5,
         "option": "--min-loss"},
        {"expression": f"loss <= {loss * 1.5!r}", "value": loss, "passed": True,
         "option": "--baseline"},
        {"expression": f"auc < {auc!r}", "value": auc, "passed": False, "option": "--check"},
        {"expression": "loss > 0.0", "value": loss, "passed": True, "option": "--check"}]
    keys = list(out)
    assert keys.index("tolerance") + 1 == keys.index("checks") == keys.index("passed") - 1
    assert code == 1 and stderr.endswith(f"bce: check 'auc < {auc!r}' failed: auc is {auc!r}\n")


def test_shorthands_are_loss_checks_with_their_own_messages(bce: Run, data: list[str]) -> None:
    loss = output(bce, *data)["loss"]
    for option, op, bound, message in (
            ("--max-loss", "<=", math.nextafter(loss, -math.inf), "is above --max-loss {}"),
            ("--min-loss", ">=", math.nextafter(loss, math.inf), "is below --min-loss {}: a "
             "result this good often means the targets leaked into the predictions")):
        short = gated(bce, *data, option, repr(bound))
        check = gated(bce, *data, "--check", f"loss {op} {bound!r}")
        assert short[0] == check[0] == 1
        assert short[1]["checks"] == [{**check[1]["checks"][0], "option": option}]
        assert short[2] == f"bce: loss {loss!r} {message.format(repr(bound))}\n"


def test_the_table_has_a_row_per_check(bce: Run, data: list[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")
    out = output(bce, *data, "--metrics")
    loss, ece = out["loss"], out["metrics"]["ece"]
    result = bce("compute", *data, "--metrics", "-f", "table", "--max-loss", "1",
                 "--check", f"ece<{ece!r}", "--check", "loss >= 0")
    assert result.exit_code == 1
    rows = [line.strip("│ ").rstrip(" │") for line in result.stdout.splitlines()
            if line.startswith("│ Check")]
    assert rows == [f"Check       │ ✓ loss <= 1.0 (--max-loss): {loss!r}",
                    f"Check       │ ✗ ece < {ece!r}: {ece!r}",
                    f"Check       │ ✓ loss >= 0.0: {loss!r}"]
    assert result.stderr == f"bce: check 'ece < {ece!r}' failed: ece is {ece!r}\n"


def test_the_table_shows_bounds_and_undefined(bce: Run, merged_scores: list[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    metrics = output(bce, *merged_scores)["metrics"]
    auc, (low, high) = metrics["roc_auc"], metrics["roc_auc_bounds"]
    result = bce("compute", *merged_scores, "-f", "table", "--check", f"auc >= {low!r}")
    assert result.exit_code == 0
    assert f"│ Check       │ ✓ auc >= {low!r}: {auc!r}, certified bounds {low!r} – {high!r} │" \
        in result.stdout


def test_plain_output_still_prints_the_number_and_the_exit_code_decides(
        bce: Run, data: list[str]) -> None:
    loss = output(bce, *data)["loss"]
    held = bce("compute", *data, "-f", "plain", "--check", f"loss <= {loss!r}")
    assert (held.exit_code, held.stdout, held.stderr) == (0, f"{loss!r}\n", "")
    failed = bce("compute", *data, "-f", "plain", "--check", "loss >= 1", "--check", "loss > 2")
    assert (failed.exit_code, failed.stdout) == (1, f"{loss!r}\n")
    assert failed.stderr == (f"bce: check 'loss >= 1.0' failed: loss is {loss!r}\n"
                             f"bce: check 'loss > 2.0' failed: loss is {loss!r}\n")


def test_a_check_reads_the_loss_in_the_base_printed(bce: Run, data: list[str]) -> None:
    bits = output(bce, *data, "--base", "2")["loss"]
    code, out, _ = gated(bce, *data, "--base", "2", "--check", f"loss >= {bits!r}")
    assert code == 0 and out["checks"][0]["value"] == bits


# -- each: a check on every slice (--by) ----------------------------------------------------

BY_COUNTRY = str(ROOT / "sample_data" / "by_country.csv")


def test_each_holds_only_when_every_slice_does(bce: Run) -> None:
    slices = output(bce, BY_COUNTRY, "--by", "country")["slices"]
    worst = max(entry["loss"] for entry in slices)
    held = bce("compute", BY_COUNTRY, "--by", "country", "--check", f"each:loss <= {worst!r}",
               "--json")
    assert held.exit_code == 0, held.stderr
    assert json.loads(held.stdout)["checks"] == [
        {"expression": f"each:loss <= {worst!r}", "value": None, "passed": True,
         "option": "--check", "failed_slices": []}]
    failed = bce("compute", BY_COUNTRY, "--by", "country", "--check", "each:loss < 0.3",
                 "--json")
    assert failed.exit_code == 1
    over = [entry for entry in slices if not entry["loss"] < 0.3]
    check = json.loads(failed.stdout)["checks"][0]
    assert check["failed_slices"] == [{"by": e["by"], "value": e["loss"]} for e in over]
    shown = "; ".join(f"country={e['by']['country']}: loss is {e['loss']!r}" for e in over)
    assert failed.stderr == (f"bce: check 'each:loss < 0.3' failed on {len(over)} of "
                             f"{len(slices)} slices: {shown}\n")


def test_each_reads_the_slices_metrics_and_merges(bce: Run, files: Files) -> None:
    """each:ne judges every slice's normalized entropy; merged parts give the same verdict."""
    lines = Path(BY_COUNTRY).read_text().splitlines(keepends=True)
    files(a__csv="".join(lines[:5]), b__csv=lines[0] + "".join(lines[5:]))
    slices = output(bce, BY_COUNTRY, "--by", "country", "--metrics")["slices"]
    defined = [e["normalized_entropy"] for e in slices if e["normalized_entropy"] is not None]
    check = ["--check", f"each:ne <= {max(defined)!r}"]
    whole = bce("compute", BY_COUNTRY, "--by", "country", "--metrics", *check, "--json")
    for name in ("a", "b"):
        files(**{f"{name}__part": bce("compute", f"{name}.csv", "--by", "country",
                                       "--metrics", "--partial").stdout})
    merged = bce("merge", "a.part", "b.part", *check, "--json")
    verdicts = [json.loads(r.stdout)["checks"] for r in (whole, merged)]
    assert verdicts[0] == verdicts[1]
    # slices with one class have no NE: null fails the check, as a null metric does
    assert (whole.exit_code == 1) == (len(defined) < len(slices))


@pytest.mark.parametrize(("args", "message"), [
    (["--check", "each:loss < 1"], "--check 'each:loss < 1': each: needs --by (a check on "
     "every slice)\nhint: drop each: to check the whole input"),
    (["--by", "country", "--metrics", "--check", "each:ece < 1"], "--check 'each:ece < 1': a "
     "slice has no ece\nhint: each: checks loss, ne, calibration, auc or metrics.KEY, KEY: "
     "normalized_entropy, calibration, mean_prediction, mean_label, roc_auc"),
])
def test_each_refuses_what_no_slice_has(bce: Run, args: list[str], message: str) -> None:
    result = bce("compute", BY_COUNTRY, *args)
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", f"bce: error: {message}\n")


def test_each_in_diff_checks_every_slice_delta(bce: Run) -> None:
    same = bce("diff", BY_COUNTRY, BY_COUNTRY, "--by", "country", "--check", "each:delta <= 0",
               "--json")
    assert same.exit_code == 0, same.stderr
    assert json.loads(same.stdout)["checks"][0]["passed"] is True
    refused = bce("diff", BY_COUNTRY, BY_COUNTRY, "--by", "country", "--check", "each:better > 0")
    assert refused.stderr == ("bce: error: --check 'each:better > 0': a slice has no better\n"
                              "hint: each: checks delta, loss_a, loss_b\n")
