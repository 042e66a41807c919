"""CI gates: checks on the reduced loss that turn into exit code 1.

`--max-loss` catches a model that got bad, `--min-loss` one that is suspiciously
good (label leakage), and `--baseline FILE --tolerance T` one that got worse than
a saved `bce --json` result by more than T, relative. The options are checked,
and the baseline read, before any input is: a typo fails fast. A gate that no
loss could pass (a NaN or negative bound, a minimum above the maximum, a
baseline whose loss is NaN, negative or infinite) is a usage error, not a
failure on every run. A baseline computed on another number of values is
still a gate, with a warning saying both counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

from bcecli.core import Reduction
from bcecli.errors import InputError, UsageError, format_float, plural, shown_path


@dataclass
class Gate:
    name: str  # how the table labels it
    held: bool
    failure: str  # the stderr line when it did not hold


@dataclass
class Gates:
    """The CI gates asked for (`compute` and `merge` share the options); the fields are
    the JSON keys that record them. `check` validates them and reads the baseline."""

    max_loss: float | None = None
    min_loss: float | None = None
    baseline: str | None = None  # the file's path
    tolerance: float | None = None
    baseline_loss: float | None = None  # read by `check`
    baseline_count: int | None = None  # read by `check`, if the baseline has one; not a key

    def check_options(self) -> None:
        """Refuse bounds no loss can pass (a loss is a number >= 0)."""
        for option, value in (("--max-loss", self.max_loss), ("--min-loss", self.min_loss)):
            if value is not None and not value >= 0:
                raise UsageError(f"{option} must be a number >= 0, not {format_float(value)}")
        if self.min_loss is not None and self.max_loss is not None \
                and self.min_loss > self.max_loss:
            raise UsageError(f"--min-loss {format_float(self.min_loss)} is above --max-loss "
                             f"{format_float(self.max_loss)}: no loss can pass both")

    def check(self, reduction: Reduction) -> Gates:
        """These gates, once the options make sense together, with the baseline read."""
        self.check_options()
        if not reduction.single:
            for option, value in (("--max-loss", self.max_loss), ("--min-loss", self.min_loss),
                                  ("--baseline", self.baseline)):
                if value is not None:
                    raise UsageError(f"{option} needs a single loss; it cannot be used with "
                                     f"-r {reduction}")
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
        """The JSON keys that record the gates."""
        return {"max_loss": self.max_loss, "min_loss": self.min_loss, "baseline": self.baseline,
                "baseline_loss": self.baseline_loss, "tolerance": self.tolerance}

    @property
    def asked(self) -> bool:
        return any(value is not None for value in self.fields().values())

    def evaluate(self, loss: float | None) -> list[Gate]:
        """Every gate that was asked for, held or not (none for `-r none` and `-r rows`)."""
        if loss is None:
            return []
        gates = []
        if self.max_loss is not None:
            gates.append(Gate(f"max loss {self.max_loss!r}", loss <= self.max_loss,
                              f"loss {loss!r} is above --max-loss {self.max_loss!r}"))
        if self.min_loss is not None:
            gates.append(Gate(f"min loss {self.min_loss!r}", loss >= self.min_loss,
                              f"loss {loss!r} is below --min-loss {self.min_loss!r}: a result "
                              "this good often means the targets leaked into the predictions"))
        if self.baseline is not None:
            base, tolerance = self.baseline_loss, self.tolerance or 0.0
            assert base is not None, "evaluate checked gates only"
            change = (loss - base) / base if base else float("inf")
            held = loss <= base * (1 + tolerance)
            gates.append(Gate(f"baseline {base!r} + {tolerance:.1%}", held,
                              f"loss {loss!r} is {change:+.2%} against the baseline {base!r} "
                              f"({self.shown_baseline}), more than --tolerance {tolerance:g}"))
        return gates


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
