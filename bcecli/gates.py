"""CI gates: checks on the reduced loss that turn into exit code 1.

`--max-loss` catches a model that got bad, `--min-loss` one that is suspiciously
good (label leakage), and `--baseline FILE --tolerance T` one that got worse than
a saved `bce --json` result by more than T, relative. The options are checked,
and the baseline read, before any input is: a typo fails fast.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from bcecli.core import Reduction
from bcecli.errors import InputError, UsageError


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

    def check(self, reduction: Reduction) -> Gates:
        """These gates, once the options make sense together, with the baseline read."""
        if reduction == Reduction.NONE:
            for option, value in (("--max-loss", self.max_loss), ("--min-loss", self.min_loss),
                                  ("--baseline", self.baseline)):
                if value is not None:
                    raise UsageError(f"{option} needs a single loss; it cannot be used with "
                                     "-r none")
        if self.tolerance is not None and (self.baseline is None or not self.tolerance >= 0):
            raise UsageError("--tolerance needs --baseline" if self.baseline is None else
                             f"--tolerance must be a fraction >= 0, not {self.tolerance}")
        if self.baseline is None:
            return self
        return replace(self, baseline_loss=read_baseline(self.baseline, reduction))

    def fields(self) -> dict[str, Any]:
        """The JSON keys that record the gates."""
        return {"max_loss": self.max_loss, "min_loss": self.min_loss, "baseline": self.baseline,
                "baseline_loss": self.baseline_loss, "tolerance": self.tolerance}

    @property
    def asked(self) -> bool:
        return any(value is not None for value in self.fields().values())

    def evaluate(self, loss: float | None) -> list[Gate]:
        """Every gate that was asked for, held or not (none for `-r none`)."""
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
                              f"({self.baseline}), more than --tolerance {tolerance:g}"))
        return gates


def read_baseline(path: str, reduction: Reduction) -> float:
    """The loss of a saved `bce --json` result, computed with the same reduction."""
    import json  # here: most runs have no baseline, and json costs start-up time
    from pathlib import Path

    try:
        saved = json.loads(Path(path).read_text())
    except OSError as e:
        raise InputError(f"cannot read the baseline: {e.strerror or e}", where=path) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise InputError("the baseline is not JSON (save one with bce compute ... --json)",
                         where=path) from None
    loss = saved.get("loss") if isinstance(saved, dict) else None
    if not isinstance(loss, int | float) or isinstance(loss, bool):
        raise InputError("the baseline has no single 'loss' (save one with bce compute ... "
                         "--json, not -r none)", where=path)
    if saved.get("reduction", reduction) != reduction:
        raise UsageError(f"the baseline {path} was computed with -r {saved['reduction']}, "
                         f"this run with -r {reduction}")
    return float(loss)
