"""Shards: `compute --partial` saves exact running totals, `bce merge` combines them.

A partial holds the count and the loss (and weight) sums as a few
non-overlapping floats whose exact sum is the shard's sum, so merging any
number of them gives the result one run over all the data would (within an
ulp), in any order. It also records every setting that changes the numbers;
shards computed differently are refused rather than mixed.

A partial file is checked field by field when it is read: a file that was
edited, truncated or written by something else is an error naming the file and
the field, never a wrong number or an internal error.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

from bcecli.conventions import CONVENTIONS
from bcecli.core import DType, LossTotal, Reduction
from bcecli.errors import BceError, InputError, UsageError
from bcecli.settings import Settings

FORMAT = 1
REDUCTIONS = (Reduction.MEAN, Reduction.SUM, Reduction.WEIGHTED_MEAN)  # never -r none
MAX_COUNT = 2**63 - 1  # more elements than numpy can index


@dataclass(frozen=True)
class Partial:
    """One shard's totals, and what must agree between shards; fields in file order."""

    classes: int
    flat: bool  # one column read as N values: the shape is (N,), not (N, 1)
    reduction: Reduction
    dtype: DType
    from_logits: bool
    weighted: bool  # weights were given (--weights or --weight-col)
    settings: Settings
    count: int
    loss_parts: list[float]
    weight_parts: list[float]

    @classmethod
    def of(cls, total: LossTotal, *, classes: int, flat: bool, reduction: Reduction,
           dtype: DType, from_logits: bool, weighted: bool, settings: Settings) -> Partial:
        return cls(classes, flat, reduction, dtype, from_logits, weighted, settings,
                   total.count, total.loss_parts, total.weight_parts)

    @property
    def total(self) -> LossTotal:
        return LossTotal(self.count, list(self.loss_parts), list(self.weight_parts))

    def agreed(self) -> dict[str, Any]:
        """Everything but the totals: what every shard must have been computed with."""
        return {"classes": self.classes, "flat": self.flat, "reduction": self.reduction,
                "dtype": self.dtype, "from_logits": self.from_logits,
                "weighted": self.weighted, **self.settings.fields()}

    def to_json(self) -> str:
        return json.dumps({"bcecli_partial": FORMAT, **self.agreed(), "count": self.count,
                           "loss_parts": self.loss_parts, "weight_parts": self.weight_parts})


KEYS = ("classes", "flat", "reduction", "dtype", "from_logits", "weighted",
        *(field.name for field in fields(Settings)), "count", "loss_parts", "weight_parts")
NULLABLE = {field.name for field in fields(Settings) if field.default is None}


def read(path: str) -> Partial:
    """A partial result file, every field checked."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror or e}", where=path) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        data = None
    if not isinstance(data, dict) or type(data.get("bcecli_partial")) is not int \
            or data["bcecli_partial"] != FORMAT:
        raise InputError("not a partial result (make one with bce compute ... --partial)",
                         where=path)
    return PartialFile(path, data).read()


def merge(paths: list[str]) -> Partial:
    """All partials combined; they must have been computed the same way."""
    parts = [read(path) for path in paths]
    first = parts[0].agreed()
    total = LossTotal()
    for path, part in zip(paths, parts, strict=True):
        mine = part.agreed()
        for key in sorted(mine):
            if mine[key] != first[key]:
                raise UsageError(f"{path} was computed with {key} = {json.dumps(mine[key])}, "
                                 f"{paths[0]} with {json.dumps(first[key])}: shards must agree")
        total.merge(part.total)
    return replace(parts[0], count=total.count, loss_parts=total.loss_parts,
                   weight_parts=total.weight_parts)


def real(value: Any) -> float | None:
    """A JSON number as a float; None for anything else (true is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer too large for a float
        return None


def is_sum(value: float) -> bool:
    """A sum of non-negative terms is finite, or +inf when a loss was."""
    return math.isfinite(value) or value == math.inf


def is_weight(value: float) -> bool:
    return math.isfinite(value) and value >= 0


def keys(names: list[str]) -> str:
    return f"key{'s' if len(names) > 1 else ''}: {', '.join(names)}"


T = TypeVar("T")


class PartialFile:
    """The JSON object of one partial file, read field by field into a `Partial`."""

    def __init__(self, path: str, data: dict[str, Any]):
        self.path = path
        self.data = data

    def read(self) -> Partial:
        missing = [key for key in KEYS if key not in self.data]
        if missing:
            raise self.broken(f"missing {keys(missing)}")
        unknown = [json.dumps(key) for key in self.data if key not in (*KEYS, "bcecli_partial")]
        if unknown:
            raise self.broken(f"unknown {keys(unknown)}")
        classes = self.integer("classes", 1)
        flat = self.flag("flat")
        if flat and classes != 1:
            raise self.wrong("flat", f"false with {classes} classes")
        reduction = Reduction(self.choice("reduction", REDUCTIONS))
        dtype = DType(self.choice("dtype", tuple(DType)))
        from_logits = self.flag("from_logits")
        weighted = self.flag("weighted")
        settings = Settings(
            self.optional("class_weights", self.weights), self.optional("pos_weight", self.weights),
            self.number("label_smoothing"), self.optional("eps", self.number),
            self.optional("focal_gamma", self.number), self.optional("focal_alpha", self.number),
            self.optional("like", lambda key: self.choice(key, tuple(CONVENTIONS))))
        try:
            settings.function(logits=from_logits, dtype=dtype)  # the core checks the ranges
        except BceError as e:
            raise self.broken(str(e)) from None
        count = self.integer("count", 1)
        if count % classes:
            raise self.wrong("count", f"a multiple of classes ({classes})")
        return Partial(classes, flat, reduction, dtype, from_logits, weighted, settings, count,
                       self.numbers("loss_parts", is_sum, "a list of finite numbers or Infinity"),
                       self.numbers("weight_parts", is_sum, "a list of finite numbers or Infinity"))

    def broken(self, what: str) -> InputError:
        return InputError(f"a broken partial result: {what}", where=self.path,
                          hint="make it again with bce compute ... --partial")

    def wrong(self, key: str, expected: str) -> InputError:
        """`<key> must be <expected>, not <the value as JSON>`."""
        shown = json.dumps(self.data[key])
        if len(shown) > 40:
            shown = shown[:39] + "…"
        nullable = "null or " if key in NULLABLE else ""
        return self.broken(f"{key} must be {nullable}{expected}, not {shown}")

    def optional(self, key: str, read: Callable[[str], T]) -> T | None:
        return None if self.data[key] is None else read(key)

    def integer(self, key: str, low: int) -> int:
        value = self.data[key]
        if type(value) is not int or value < low:
            raise self.wrong(key, f"an integer >= {low}")
        if value > MAX_COUNT:
            raise self.wrong(key, f"at most {MAX_COUNT}")
        return value

    def flag(self, key: str) -> bool:
        value = self.data[key]
        if not isinstance(value, bool):
            raise self.wrong(key, "true or false")
        return value

    def choice(self, key: str, choices: tuple[str, ...]) -> str:
        value = self.data[key]
        if not isinstance(value, str) or value not in choices:
            raise self.wrong(key, f"one of {', '.join(choices)}")
        return value

    def number(self, key: str) -> float:
        number = real(self.data[key])
        if number is None:
            raise self.wrong(key, "a number")
        return number

    def numbers(self, key: str, valid: Callable[[float], bool], expected: str) -> list[float]:
        value = self.data[key]
        numbers = [real(v) for v in value] if isinstance(value, list) else [None]
        checked = [n for n in numbers if n is not None and valid(n)]
        if len(checked) != len(numbers):
            raise self.wrong(key, expected)
        return checked

    def weights(self, key: str) -> list[float]:
        return self.numbers(key, is_weight, "a list of finite numbers >= 0")
