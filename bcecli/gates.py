"""CI gates: checks on the reduced loss that turn into exit code 1.

`--max-loss` catches a model that got bad, `--min-loss` one that is suspiciously
good (label leakage), and `--baseline FILE --tolerance T` one that got worse than
a saved `bce --json` result by more than T, relative.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bcecli.errors import InputError, UsageError


@dataclass(frozen=True)
class Gate:
    name: str  # how the table labels it
    held: bool
    failure: str  # the stderr line when it did not hold


@dataclass(frozen=True)
class Baseline:
    path: str
    loss: float


def read_baseline(path: str, reduction: str) -> Baseline:
    """The loss of a saved `bce --json` result, computed with the same reduction."""
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
    return Baseline(path, float(loss))


def evaluate(loss: float, *, max_loss: float | None, min_loss: float | None,
             baseline: Baseline | None, tolerance: float) -> list[Gate]:
    """Every gate that was asked for, held or not."""
    gates = []
    if max_loss is not None:
        gates.append(Gate(f"max loss {max_loss!r}", loss <= max_loss,
                          f"loss {loss!r} is above --max-loss {max_loss!r}"))
    if min_loss is not None:
        gates.append(Gate(f"min loss {min_loss!r}", loss >= min_loss,
                          f"loss {loss!r} is below --min-loss {min_loss!r}: a result this "
                          "good often means the targets leaked into the predictions"))
    if baseline is not None:
        limit = baseline.loss * (1 + tolerance)
        change = (loss - baseline.loss) / baseline.loss if baseline.loss else float("inf")
        gates.append(Gate(f"baseline {baseline.loss!r} + {tolerance:.1%}", loss <= limit,
                          f"loss {loss!r} is {change:+.2%} against the baseline "
                          f"{baseline.loss!r} ({baseline.path}), more than --tolerance "
                          f"{tolerance:g}"))
    return gates
