"""CI gates: checks on the numbers bce prints that turn into exit code 1.

`--check 'METRIC OP NUMBER'` gates the loss or a number of `--metrics` (`auc > 0.7`,
`metrics.brier < 0.2`): a `Check`, read from the result's JSON keys, so it judges the
number printed. `--max-loss X` and `--min-loss X` are its shorthands for `loss <= X`
and `loss >= X` (with their own messages): `--max-loss` catches a model that got
bad, `--min-loss` one that is suspiciously good (label leakage). `--baseline FILE
--tolerance T` catches one that got worse than a saved `bce --json` result by more
than T, relative.

The options are checked, and the baseline read, before any input is: a typo fails
fast. A gate that no loss could pass (a NaN or negative bound, a minimum above the
maximum, a baseline whose loss is NaN, negative or infinite, a check against NaN) is
a usage error, not a failure on every run. A baseline computed on another number of
values is still a gate, with a warning saying both counts. Where a metric has
certified bounds (`roc_auc_bounds`: the score sketch merged scores), a check holds
only if it holds over the whole interval: one that straddles the number fails.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from bcecli.core import Reduction
from bcecli.errors import InputError, UsageError, format_float, plural, shown_path

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}
# The names a check may use for the JSON keys it reads ("metrics.KEY": a key of --metrics).
SHORT_NAMES = {"loss": "loss", "ne": "metrics.normalized_entropy",
               "calibration": "metrics.calibration", "auc": "metrics.roc_auc",
               "ap": "metrics.average_precision", "ece": "metrics.ece", "mce": "metrics.mce",
               "brier": "metrics.brier", "accuracy": "metrics.accuracy"}
# The numbers of `--metrics` (`diagnostics.Metrics.result`); a test keeps the list true.
METRIC_KEYS = ("threshold", "accuracy", "brier", "roc_auc", "average_precision", "ece", "mce",
               "normalized_entropy", "relative_information_gain", "calibration",
               "mean_prediction", "mean_label", "prior_entropy")
# What a slice holds of those (`slices.Slices.result`), for `each:`.
SLICE_KEYS = ("loss", "metrics.normalized_entropy", "metrics.calibration",
              "metrics.mean_prediction", "metrics.mean_label", "metrics.roc_auc")
# Patterns, compiled by `re` only when a check is given (start-up time).
EXPRESSION = r"(?s)\s*(?:(each)\s*:)?\s*([^<>=]*?)\s*(<=|>=|<|>)\s*(.*?)\s*"
NUMBER = r"(?i)[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|inf|infinity|nan)"
CHECK_HINT = ("a check is [each:]METRIC OP NUMBER; OP: <, <=, > or >=; METRIC: "
              + ", ".join(SHORT_NAMES) + " or metrics.KEY, KEY: " + ", ".join(METRIC_KEYS))
# What the shorthands say when they fail, after "loss X".
SHORTHANDS = {"--max-loss": "is above --max-loss {}",
              "--min-loss": "is below --min-loss {}: a result this good often means the "
                            "targets leaked into the predictions"}


@dataclass
class Gate:
    """A gate's verdict: what was checked, on which number, and whether it held."""

    expression: str  # `loss <= 0.3`
    option: str  # what asked for it: --check, --max-loss, --min-loss, --baseline
    value: float | None  # the number checked, as printed; None: undefined (null)
    held: bool
    failure: str  # the stderr line when it did not hold
    bounds: tuple[float, float] | None = None  # certified bounds it was checked over
    failed_slices: list[dict[str, Any]] | None = None  # each:, the slices it failed on

    def to_json(self) -> dict[str, Any]:
        """An item of the JSON's `checks`."""
        bounds = {} if self.bounds is None else {"bounds": list(self.bounds)}
        failed = {} if self.failed_slices is None else {"failed_slices": self.failed_slices}
        return {"expression": self.expression, "value": self.value, "passed": self.held,
                **bounds, "option": self.option, **failed}


@dataclass(repr=False, eq=False)
class Check:
    """`[each:]METRIC OP NUMBER`: a gate on one number of the result (`each:`, on every
    slice's). `verdict` judges it on a dict of numbers: the result's, or a slice's."""

    metric: str  # as written: loss, auc, metrics.brier
    op: str
    number: float
    each: bool = False
    option: str = "--check"  # or the shorthand that stands for it

    @classmethod
    def parse(cls, text: str, names: tuple[str, ...] | None = None) -> Check:
        """The check `text` writes, or a usage error quoting it and saying what is wrong.
        `names`: the metrics a command has instead of the loss's (`bce diff`'s)."""
        def refuse(what: str) -> UsageError:
            return UsageError(f"--check {text!r}: {what}", hint=CHECK_HINT if names is None
                              else "a check is METRIC OP NUMBER; OP: <, <=, > or >=; METRIC: "
                              + ", ".join(names))

        found = re.fullmatch(EXPRESSION, text)
        if found is None:
            raise refuse("not METRIC OP NUMBER (OP: <, <=, > or >=)")
        each, metric, op, number = found.groups()
        if not metric:
            raise refuse(f"no metric before {op}")
        if not number:
            raise refuse(f"no number after {op}")
        if number[0] in "<>=":  # `auc >> 0.7`, `auc <== 0.7`
            raise refuse("not METRIC OP NUMBER (OP: <, <=, > or >=)")
        if not re.fullmatch(NUMBER, number):
            raise refuse(f"{number!r} is not a number")
        value = float(number)
        if math.isnan(value):
            raise refuse("no value passes a comparison with NaN")
        known = metric in names if names is not None else metric in SHORT_NAMES or (
            metric.startswith("metrics.") and metric.removeprefix("metrics.") in METRIC_KEYS)
        if not known:
            raise refuse(f"unknown metric {metric!r}")
        return cls(metric, op, value, each=each is not None)

    @property
    def key(self) -> str:
        """The JSON key it reads: `loss`, or `metrics.KEY`."""
        return SHORT_NAMES.get(self.metric, self.metric)

    @property
    def expression(self) -> str:
        """How the JSON, the table and stderr show it."""
        return f"{'each:' if self.each else ''}{self.metric} {self.op} {self.number!r}"

    def verdict(self, numbers: Mapping[str, Any]) -> Gate:
        """Whether it holds on `numbers`, a result's JSON keys (`loss`, `metrics`, ...):
        the numbers as printed. It holds only on a number (never on null), and only if it
        holds on both certified bounds where the number has them. `each:` holds when it
        holds on every slice of `numbers["slices"]`."""
        if self.each:
            return self.on_slices(numbers.get("slices") or [])
        *path, name = self.key.split(".")
        holder: Mapping[str, Any] = numbers
        for part in path:
            holder = holder.get(part) or {}
        value, bounds = number_or_none(holder.get(name)), holder.get(f"{name}_bounds")
        bounds = None if bounds is None else (float(bounds[0]), float(bounds[1]))
        compare = OPERATORS[self.op]
        tested = [] if value is None else [value, *(bounds or ())]
        held = bool(tested) and all(compare(v, self.number) for v in tested)
        return Gate(self.expression, self.option, value, held,
                    "" if held else self.failure(value, bounds), bounds)

    def on_slices(self, slices: list[dict[str, Any]]) -> Gate:
        """`each:`: the check on every slice (a slice's numbers are its own keys: `loss`,
        `normalized_entropy`, `delta`, ...); the value is that of the first slice it
        fails on, the JSON lists them all and stderr the first three."""
        one = Check(self.metric, self.op, self.number, option=self.option)
        failed = []
        for entry in slices:
            gate = one.verdict({**entry, "metrics": entry})
            if not gate.held:
                failed.append((entry, gate))
        shown = "; ".join(f"{slice_name(entry)}: {gate.failure.split(' failed: ', 1)[-1]}"
                          for entry, gate in failed[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        return Gate(self.expression, self.option, failed[0][1].value if failed else None,
                    not failed, f"check {self.expression!r} failed on {len(failed)} of "
                    f"{plural(len(slices), 'slice')}: {shown}{more}" if failed else "",
                    failed_slices=[{"by": entry.get("by"), "value": gate.value}
                                   for entry, gate in failed])

    def failure(self, value: float | None, bounds: tuple[float, float] | None) -> str:
        """The stderr line when it did not hold on `value` (within `bounds`)."""
        if self.option in SHORTHANDS:
            shown = "nan" if value is None else repr(value)  # a loss is null only if NaN
            return f"loss {shown} {SHORTHANDS[self.option].format(repr(self.number))}"
        start = f"check {self.expression!r} failed: {self.metric}"
        if value is None:
            return f"{start} is undefined (null in the JSON)"
        if bounds is None:
            return f"{start} is {value!r}"
        low, high = bounds
        compare = OPERATORS[self.op]
        if compare(low, self.number) != compare(high, self.number):
            return (f"{start} is {value!r}, but its certified bounds [{low!r}, {high!r}] "
                    f"straddle {self.number!r}: the exact value may be on either side")
        return f"{start} is {value!r} (certified bounds [{low!r}, {high!r}])"


def slice_name(entry: Mapping[str, Any]) -> str:
    """A slice as messages name it: `country=FR, device=ios`, or `(other)`."""
    by = entry.get("by")
    if not isinstance(by, dict):
        return "(other)"
    return ", ".join(f"{column}={value}" for column, value in by.items())


def number_or_none(value: Any) -> float | None:
    """A number of the result as a float; None where the JSON has null (or no number)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return float(value)


@dataclass
class Gates:
    """The CI gates asked for (`compute` and `merge` share the options); `fields` are the
    JSON keys that record the options. `check` validates them and reads the baseline."""

    max_loss: float | None = None
    min_loss: float | None = None
    baseline: str | None = None  # the file's path
    tolerance: float | None = None
    baseline_loss: float | None = None  # read by `check`
    baseline_count: int | None = None  # read by `check`, if the baseline has one; not a key
    checks: tuple[str, ...] = ()  # --check, as given

    def check_options(self, metrics: bool | None = None, merging: bool = False,
                      slices: bool | None = None) -> None:
        """Refuse bounds no loss can pass (a loss is a number >= 0) and checks that cannot
        be read (`metrics`: whether --metrics was given, or the parts merged hold them;
        None: not known yet, the expressions alone are checked)."""
        for option, value in (("--max-loss", self.max_loss), ("--min-loss", self.min_loss)):
            if value is not None and not value >= 0:
                raise UsageError(f"{option} must be a number >= 0, not {format_float(value)}")
        if self.min_loss is not None and self.max_loss is not None \
                and self.min_loss > self.max_loss:
            raise UsageError(f"--min-loss {format_float(self.min_loss)} is above --max-loss "
                             f"{format_float(self.max_loss)}: no loss can pass both")
        for text in self.checks:
            check = Check.parse(text)
            if check.each and slices is False:
                raise UsageError(f"--check {text!r}: each: needs --by (a check on every "
                                 "slice)", hint="drop each: to check the whole input")
            if check.each and check.key not in SLICE_KEYS:
                raise UsageError(f"--check {text!r}: a slice has no {check.metric}",
                                 hint="each: checks " + ", ".join(
                                     name for name, key in SHORT_NAMES.items()
                                     if key in SLICE_KEYS) + " or metrics.KEY, KEY: " + ", ".join(
                                     key.removeprefix("metrics.") for key in SLICE_KEYS[1:]))
            if check.key != "loss" and metrics is False:
                if merging:
                    raise UsageError(f"--check {text!r} needs --metrics: the parts were "
                                     "computed without it",
                                     hint="make them with bce compute ... --metrics --partial")
                raise UsageError(f"--check {text!r} needs --metrics",
                                 hint="add --metrics: a check never turns it on")

    @property
    def expressions(self) -> list[Check]:
        """The --check options, parsed (a usage error on the first one malformed)."""
        return [Check.parse(text) for text in self.checks]

    def check(self, reduction: Reduction, metrics: bool, merging: bool = False,
              slices: bool = False) -> Gates:
        """These gates, once the options make sense together, with the baseline read."""
        self.check_options(metrics, merging, slices)
        if not reduction.single:
            for option, value in (("--max-loss", self.max_loss), ("--min-loss", self.min_loss),
                                  ("--baseline", self.baseline)):
                if value is not None:
                    raise UsageError(f"{option} needs a single loss; it cannot be used with "
                                     f"-r {reduction}")
            for text, check in zip(self.checks, self.expressions, strict=True):
                if check.key == "loss":
                    raise UsageError(f"--check {text!r} needs a single loss; it cannot be used "
                                     f"with -r {reduction}")
        if self.tolerance is not None and (self.baseline is None or not self.tolerance >= 0):
            raise UsageError("--tolerance needs --baseline" if self.baseline is None else
                             f"--tolerance must be a fraction >= 0, not {self.tolerance}")
        if self.baseline is None:
            return self
        loss, count = read_baseline(self.baseline, reduction)
        most = loss * (1 + (self.tolerance or 0.0))
        if self.min_loss is not None and self.min_loss > most:
            raise UsageError(f"--min-loss {format_float(self.min_loss)} is above the most the "
                             f"baseline {self.shown_baseline} allows ({format_float(most)}): no "
                             "loss can pass both")
        return replace(self, baseline_loss=loss, baseline_count=count)

    @property
    def shown_baseline(self) -> str:
        """The baseline's path as messages show it (one line, whatever its name)."""
        return shown_path(self.baseline or "")

    def warning(self, count: int) -> str | None:
        """The stderr line when the baseline was computed on another number of values."""
        if self.baseline_count is None or self.baseline_count == count:
            return None
        return (f"bce: warning: the baseline {self.shown_baseline} was computed on "
                f"{plural(self.baseline_count, 'value')}, this run on {count}")

    def fields(self) -> dict[str, Any]:
        """The JSON keys that record the gates' options (the JSON's `checks` their verdicts)."""
        return {"max_loss": self.max_loss, "min_loss": self.min_loss, "baseline": self.baseline,
                "baseline_loss": self.baseline_loss, "tolerance": self.tolerance}

    @property
    def asked(self) -> bool:
        return bool(self.checks) or any(value is not None for value in self.fields().values())

    def evaluate(self, numbers: Mapping[str, Any]) -> list[Gate]:
        """Every gate that was asked for, held or not, on a result's JSON keys (`loss`,
        `metrics`): `--max-loss`, `--min-loss`, `--baseline`, then each `--check`."""
        shorthands = [Check("loss", op, bound, option=option) for option, op, bound in (
            ("--max-loss", "<=", self.max_loss), ("--min-loss", ">=", self.min_loss))
            if bound is not None]
        gates = [check.verdict(numbers) for check in shorthands]
        if self.baseline is not None:
            gates.append(self.against_baseline(numbers["loss"]))
        return gates + [check.verdict(numbers) for check in self.expressions]

    def against_baseline(self, loss: float) -> Gate:
        """`--baseline`: the loss at most the baseline's, plus `--tolerance`."""
        base, tolerance = self.baseline_loss, self.tolerance or 0.0
        assert base is not None, "evaluate checked gates only"
        change = (loss - base) / base if base else float("inf")
        most = base * (1 + tolerance)
        held = loss <= most
        return Gate(f"loss <= {most!r}", "--baseline", loss, held,
                    f"loss {loss!r} is {change:+.2%} against the baseline {base!r} "
                    f"({self.shown_baseline}), more than --tolerance {tolerance:g}")


def read_baseline(path: str, reduction: Reduction) -> tuple[float, int | None]:
    """The loss of a saved `bce --json` result, computed with the same reduction, and its
    count (None when the file has none: a baseline written by hand)."""
    import json  # here: most runs have no baseline, and json costs start-up time

    from bcecli.readers import read_small_json

    where = shown_path(path)
    try:
        saved = read_small_json(path, "a baseline")
    except OSError as e:
        raise InputError(f"cannot read the baseline: {e.strerror or e}", where=where) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError("the baseline is not JSON (save one with bce compute ... --json)",
                         where=where) from None
    loss = saved.get("loss") if isinstance(saved, dict) else None
    if not isinstance(loss, int | float) or isinstance(loss, bool):
        raise InputError("the baseline has no single 'loss' (save one with bce compute ... "
                         "--json, not -r none or -r rows)", where=where)
    if saved.get("reduction", reduction) != reduction:
        raise UsageError(f"the baseline {where} was computed with -r {saved['reduction']}, "
                         f"this run with -r {reduction}")
    try:
        loss = float(loss)
    except OverflowError:  # an integer too large for a float
        loss = math.inf if loss > 0 else -math.inf
    if not 0 <= loss < math.inf:
        raise InputError(f"the baseline loss is {format_float(loss)}: "
                         + ("every loss would pass a gate against it" if loss == math.inf else
                            "no loss can pass a gate against it"),
                         where=where, hint="save a baseline from a run whose loss is finite: "
                         "bce compute ... --json > base.json")
    count = saved.get("count")
    if count is not None and (type(count) is not int or count < 1):
        raise InputError(f"the baseline count must be an integer >= 1, not "
                         f"{json.dumps(count)[:40]}", where=where)
    return loss, count
