"""CI gates that no loss could pass are usage errors; a baseline of another size warns.

Issue 9, item 12: `--max-loss nan` used to be a gate that failed on every run, and
a baseline computed on a different number of rows passed silently. `compute` and
`merge` share the gates, so each case runs through both.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import Result

from tests.helpers import TRUE, Files, Run

BASELINE_HINT = "hint: save a baseline from a run whose loss is finite: bce compute ... --json " \
    "> base.json\n"


@pytest.fixture(params=["compute", "merge"])
def run(request: pytest.FixtureRequest, bce: Run, files: Files) -> Run:
    """`run(*options)`: compute on [0.8, 0.3, 0.6] / [1, 0, 1], or merge its two shards."""
    files(p__csv="0.8\n0.3\n0.6\n", y__csv="1\n0\n1\n", p1__csv="0.8\n0.3\n", y1__csv="1\n0\n",
          p2__csv="0.6\n", y2__csv="1\n")
    if request.param == "compute":
        return lambda *options: bce("compute", "p.csv", "y.csv", *options)
    for k in (1, 2):
        files(**{f"part{k}__json": bce("compute", f"p{k}.csv", f"y{k}.csv", "--partial").stdout})
    return lambda *options: bce("merge", "part1.json", "part2.json", *options)


def refused(result: Result, message: str) -> None:
    assert (result.exit_code, result.stdout, result.stderr) == (2, "", message)


@pytest.mark.parametrize(("options", "message"), [
    (["--max-loss", "nan"], "--max-loss must be a number >= 0, not nan"),
    (["--min-loss", "nan"], "--min-loss must be a number >= 0, not nan"),
    (["--max-loss", "-0.5"], "--max-loss must be a number >= 0, not -0.5"),
    (["--min-loss", "-inf"], "--min-loss must be a number >= 0, not -inf"),
    (["--min-loss", "0.5", "--max-loss", "0.3"],
     "--min-loss 0.5 is above --max-loss 0.3: no loss can pass both"),
    (["--baseline", "base.json", "--tolerance", "nan"],
     "--tolerance must be a fraction >= 0, not nan"),
    (["--baseline", "base.json", "--tolerance", "0.1", "--min-loss", "0.5"],
     "--min-loss 0.5 is above the most the baseline base.json allows (0.44000000000000006): "
     "no loss can pass both"),
])
def test_a_gate_no_loss_can_pass_is_a_usage_error(run: Run, files: Files, options: list[str],
                                                  message: str) -> None:
    files(base__json='{"loss": 0.4, "reduction": "mean", "count": 3}')
    refused(run(*options), f"bce: error: {message}\n")


@pytest.mark.parametrize(("loss", "message"), [
    ("NaN", "the baseline loss is nan: no loss can pass a gate against it"),
    ("-0.25", "the baseline loss is -0.25: no loss can pass a gate against it"),
    ("-1e999", "the baseline loss is -inf: no loss can pass a gate against it"),
    ("Infinity", "the baseline loss is inf: every loss would pass a gate against it"),
    ("1e999", "the baseline loss is inf: every loss would pass a gate against it"),
    ("1" + "0" * 400, "the baseline loss is inf: every loss would pass a gate against it"),
    ("-1" + "0" * 400, "the baseline loss is -inf: no loss can pass a gate against it"),
])
def test_a_baseline_no_loss_can_be_compared_with_is_refused(run: Run, files: Files, loss: str,
                                                            message: str) -> None:
    files(base__json=f'{{"loss": {loss}, "reduction": "mean", "count": 3}}')
    refused(run("--baseline", "base.json"), f"bce: error: base.json: {message}\n{BASELINE_HINT}")


@pytest.mark.parametrize("count", ['"3"', "0", "true", "2.5"])
def test_a_baseline_count_must_be_a_count(run: Run, files: Files, count: str) -> None:
    files(base__json=f'{{"loss": 0.4, "reduction": "mean", "count": {count}}}')
    refused(run("--baseline", "base.json"),
            f"bce: error: base.json: the baseline count must be an integer >= 1, not {count}\n")


@pytest.mark.parametrize(("count", "warning"), [
    (4, "bce: warning: the baseline base.json was computed on 4 values, this run on 3\n"),
    (1, "bce: warning: the baseline base.json was computed on 1 value, this run on 3\n"),
    (3, ""),
    (None, ""),  # a baseline written by hand, without a count: nothing to compare
])
def test_a_baseline_of_another_size_warns_and_still_gates(run: Run, files: Files,
                                                          count: int | None,
                                                          warning: str) -> None:
    saved = {"loss": 0.4, "reduction": "mean", **({"count": count} if count else {})}
    files(base__json=json.dumps(saved))
    held = run("--baseline", "base.json", "--json")
    assert (held.exit_code, held.stderr) == (0, warning)
    assert json.loads(held.stdout)["passed"] is True
    files(base__json=json.dumps({**saved, "loss": 0.3}))
    failed = run("--baseline", "base.json", "-f", "plain")
    assert (failed.exit_code, failed.stdout) == (1, f"{TRUE!r}\n")
    assert failed.stderr == warning + (
        f"bce: loss {TRUE!r} is +21.18% against the baseline 0.3 (base.json), more than "
        "--tolerance 0\n")


def test_a_real_baseline_of_another_size(bce: Run, files: Files) -> None:
    files(p__csv="0.8\n0.3\n0.6\n0.9\n", y__csv="1\n0\n1\n1\n", q__csv="0.8\n0.3\n0.6\n",
          z__csv="1\n0\n1\n")
    files(base__json=bce("compute", "p.csv", "y.csv", "--json").stdout)
    result = bce("compute", "q.csv", "z.csv", "--baseline", "base.json", "--tolerance", "1",
                 "-f", "plain")
    assert (result.exit_code, result.stdout) == (0, f"{TRUE!r}\n")
    assert result.stderr == "bce: warning: the baseline base.json was computed on 4 values, " \
        "this run on 3\n"


@pytest.mark.parametrize("options", [["--max-loss", "inf"], ["--min-loss", "0"],
                                     ["--min-loss", "0.3", "--max-loss", "0.3"]])
def test_bounds_a_loss_can_meet_are_gates(run: Run, options: list[str]) -> None:
    result = run(*options, "--json")
    assert result.exit_code in (0, 1) and result.stdout.startswith('{"loss": ')


def test_merge_checks_gate_options_before_reading_parts(bce: Run, files: Files) -> None:
    refused(bce("merge", "missing.json", "--max-loss", "nan"),
            "bce: error: --max-loss must be a number >= 0, not nan\n")
