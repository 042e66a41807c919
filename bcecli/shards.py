"""Shards: `compute --partial` saves exact running totals, `bce merge` combines them.

A partial holds the count and the loss (and weight) sums as a few
non-overlapping floats whose exact sum is the shard's sum, so merging any
number of them gives the result one run over all the data would (within an
ulp), in any order. It also records every setting that changes the numbers;
shards computed differently are refused rather than mixed.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bcecli.core import LossTotal
from bcecli.errors import InputError, UsageError

FORMAT = 1


@dataclass(frozen=True)
class Partial:
    total: LossTotal
    shape: dict[str, Any]  # classes and flat: how count becomes a shape
    settings: dict[str, Any]  # everything that must agree between shards

    def to_json(self) -> str:
        return json.dumps({"bcecli_partial": FORMAT, **self.shape, **self.settings,
                           "count": self.total.count, "loss_parts": self.total.loss_parts,
                           "weight_parts": self.total.weight_parts})


def read(path: str) -> Partial:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", where=path) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or data.get("bcecli_partial") != FORMAT:
        raise InputError("not a partial result (make one with bce compute ... --partial)",
                         where=path)
    try:
        total = LossTotal(int(data.pop("count")), [float(v) for v in data.pop("loss_parts")],
                          [float(v) for v in data.pop("weight_parts")])
        shape = {"classes": int(data.pop("classes")), "flat": bool(data.pop("flat"))}
    except (KeyError, TypeError, ValueError):
        raise InputError("a partial result with missing or broken fields", where=path) from None
    if not all(math.isfinite(v) or v == math.inf for v in total.loss_parts):
        raise InputError("a partial result with broken sums", where=path)
    data.pop("bcecli_partial")
    return Partial(total, shape, data)


def merge(paths: list[str]) -> Partial:
    """All partials combined; they must have been computed the same way."""
    parts = [read(path) for path in paths]
    first = parts[0]
    total = LossTotal()
    for path, part in zip(paths, parts, strict=True):
        for key in sorted(set(first.settings) | set(part.settings) | set(first.shape)):
            mine = {**part.settings, **part.shape}.get(key)
            theirs = {**first.settings, **first.shape}.get(key)
            if mine != theirs:
                raise UsageError(f"{path} was computed with {key} = {json.dumps(mine)}, "
                                 f"{paths[0]} with {json.dumps(theirs)}: shards must agree")
        total.merge(part.total)
    return Partial(total, first.shape, first.settings)
